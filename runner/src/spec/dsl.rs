//! The KAPI kernel-doc DSL, long and short form, to a [`Spec`].
//!
//! A block runs from `/**` to `*/`; a leading `+` (patch form) is ignored.
//! Inside, ` * tag: value` (one space) opens a clause, ` *   key: value`
//! (three spaces) is a field of it, and deeper lines continue the field.
//! In a text clause (`long-desc`, `notes`, ...) every indented line
//! continues it. A field line whose key is not a field of its clause is an
//! error when the key looks like one (a typo must not become prose), and
//! continues the previous field when it is a sentence with a colon in it, as
//! upstream's documentation says.
//!
//! Long and short spellings map to one model: `context-flags: KAPI_CTX_A |
//! KAPI_CTX_B` = `contexts: a, b`; `type: KAPI_TYPE_UINT` + `flags:
//! KAPI_PARAM_IN` = `type: uint, input`; `constraint-type:
//! KAPI_CONSTRAINT_RANGE` + `range: lo, hi` = `constraint-type: range(lo,
//! hi)`; `lock: NAME` + `type:` = `lock: NAME, TYPE`; and so on.

use super::{
    err, Bound, Capability, Constraint, ErrorClause, Fault, Lock, Param, ParamFlag, ParamType,
    Return, SideEffect, Signal, Spec, SpecError, StateTrans, Success, Warning,
};

/// Top-level tags and, for structured ones, their fields.
const TAGS: &[(&str, &[&str])] = &[
    ("long-desc", &[]),
    ("kernel-read", &[]),
    ("context-flags", &[]),
    ("contexts", &[]),
    ("api-type", &[]),
    ("param-count", &[]),
    ("related", &[]),
    ("see-also", &[]),
    (
        "param",
        &[
            "type",
            "flags",
            "constraint-type",
            "range",
            "mask",
            "valid-mask",
            "valid-values",
            "arch-mask",
            "size",
            "size-param",
            "alignment",
            "constraint",
            "cdesc",
            "kmatrix-base",
            "kmatrix-fault",
            "kmatrix-invalid",
            "kmatrix-out-of-range",
            "kmatrix-in-range",
        ],
    ),
    (
        "return",
        &["type", "check-type", "success", "desc", "kmatrix-base"],
    ),
    ("error", &["desc", "condition", "kmatrix-untestable"]),
    (
        "lock",
        &[
            "type",
            "desc",
            "acquired",
            "released",
            "scope",
            "held-on-entry",
        ],
    ),
    (
        "signal",
        &[
            "direction",
            "action",
            "condition",
            "desc",
            "error",
            "errno",
            "timing",
            "priority",
            "restartable",
            "number",
            "interruptible",
            "queue",
            "target",
            "sa-flags-required",
            "sa-flags-forbidden",
            "state-required",
            "state-forbidden",
            "transform-to",
        ],
    ),
    (
        "side-effect",
        &["target", "desc", "reversible", "condition"],
    ),
    (
        "state-trans",
        &["from", "to", "object", "condition", "desc"],
    ),
    ("constraint", &["desc", "expr"]),
    (
        "capability",
        &[
            "type",
            "allows",
            "without",
            "condition",
            "priority",
            "desc",
            "alternatives",
        ],
    ),
    ("examples", &[]),
    ("notes", &[]),
    ("since-version", &[]),
];

/// Sections that, next to `contexts:`/`context-flags:`, make a kernel-doc
/// comment a KAPI spec (upstream's Kbuild selection rule).
const SELECTING: &[&str] = &[
    "api-type",
    "param",
    "error",
    "capability",
    "signal",
    "lock",
    "state-trans",
    "constraint",
    "side-effect",
    "long-desc",
];

/// Fields that may repeat.
const REPEATABLE: &[&str] = &["arch-mask"];

/// Text clauses: every indented line continues the value.
fn is_text(tag: &str) -> bool {
    TAGS.iter().any(|(t, f)| *t == tag && f.is_empty())
}

struct Raw {
    tag: String,
    value: String,
    line: usize,
    fields: Vec<(String, String, usize)>,
}

fn join(acc: &mut String, more: &str, paragraph: bool) {
    if acc.is_empty() {
        acc.push_str(more);
    } else if paragraph {
        acc.push_str("\n\n");
        acc.push_str(more);
    } else {
        acc.push(' ');
        acc.push_str(more);
    }
}

fn clean(l: &str) -> &str {
    l.strip_prefix('+').unwrap_or(l).trim_end()
}

/// Looks like a field name (`check-type`), not a sentence.
fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Parses the first kernel-doc block of `text` (a spec file), whatever it
/// holds: its header must be `sys_NAME - summary`.
pub fn parse(text: &str) -> Result<Spec, SpecError> {
    parse_with_warnings(text).map(|x| x.0)
}

pub fn parse_with_warnings(text: &str) -> Result<(Spec, Vec<Warning>), SpecError> {
    let lines: Vec<&str> = text.lines().map(clean).collect();
    let Some(start) = lines.iter().position(|l| l.trim() == "/**") else {
        return err(1, "no kernel-doc block: no line is '/**'");
    };
    parse_block(&lines, start).map(|(s, w, _)| (s, w))
}

/// One KAPI block found in a file: its first line and what it parsed to.
pub struct Block {
    pub line: usize,
    pub result: Result<(Spec, Vec<Warning>), SpecError>,
}

/// Every KAPI block of a C file, patch or spec file: kernel-doc comments
/// with `contexts:`/`context-flags:` and one more KAPI section (upstream's
/// rule; other kernel-doc comments are not specs and are passed over).
/// A KAPI block of a function that is not a syscall gives a warning.
pub fn blocks(text: &str) -> (Vec<Block>, Vec<Warning>) {
    let lines: Vec<&str> = text.lines().map(clean).collect();
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "/**" {
            i += 1;
            continue;
        }
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_start().starts_with("*/"))
            .unwrap_or(lines.len());
        let tag_of = |l: &str| -> Option<String> {
            let rest = l.trim_start().strip_prefix("* ")?;
            if rest.starts_with(' ') {
                return None;
            }
            Some(rest.split_once(':')?.0.to_string())
        };
        let tags: Vec<String> = lines[i + 1..end].iter().filter_map(|l| tag_of(l)).collect();
        let has_ctx = tags.iter().any(|t| t == "contexts" || t == "context-flags");
        let has_more = tags.iter().any(|t| SELECTING.contains(&t.as_str()));
        if has_ctx && has_more {
            let header = lines
                .get(i + 1)
                .and_then(|l| l.trim_start().strip_prefix("* "))
                .unwrap_or("");
            let name = header.split(" - ").next().unwrap_or("").trim();
            if name.starts_with("sys_") || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                out.push(Block {
                    line: i + 1,
                    result: parse_block(&lines, i).map(|(s, w, _)| (s, w)),
                });
            } else {
                warnings.push(Warning {
                    line: i + 2,
                    msg: format!("KAPI block of {name}, not a syscall (no sys_ prefix): skipped"),
                });
            }
        }
        i = end + 1;
    }
    (out, warnings)
}

/// Parses the block opening at `lines[start]` (`/**`); returns the spec,
/// its warnings and the index of the closing line.
fn parse_block(lines: &[&str], start: usize) -> Result<(Spec, Vec<Warning>, usize), SpecError> {
    let mut spec = Spec::default();
    let mut raws: Vec<Raw> = Vec::new();
    let mut header_done = false;
    let mut blank_before = false;
    let mut end = None;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        let n = i + 1;
        let t = l.trim_start();
        if t == "*/" {
            end = Some(i);
            break;
        }
        let Some(rest) = t.strip_prefix('*') else {
            return err(
                n,
                format!("expected a ' * ' line inside the block, got {t:?}"),
            );
        };
        if rest.trim().is_empty() {
            blank_before = true;
            continue;
        }
        // A tab after '*' counts as deep indentation (continuation).
        let rest = rest.replace('\t', "        ");
        let indent = rest.len() - rest.trim_start_matches(' ').len();
        if indent == 0 {
            return err(n, "expected a space after '*'");
        }
        let body = rest.trim();
        if indent == 1 {
            blank_before = false;
            if !header_done {
                let Some((name, summary)) = body.split_once(" - ") else {
                    return err(n, "first line must be 'sys_NAME - summary'");
                };
                let Some(sys) = name.trim().strip_prefix("sys_") else {
                    return err(n, format!("syscall name {name:?} must start with sys_"));
                };
                spec.syscall = sys.to_string();
                spec.summary = summary.trim().to_string();
                header_done = true;
                continue;
            }
            if let Some(arg) = body.strip_prefix('@') {
                let Some((a, doc)) = arg.split_once(':') else {
                    return err(n, "argument line must be '@name: text'");
                };
                spec.args
                    .push((a.trim().to_string(), doc.trim().to_string()));
                continue;
            }
            let Some((tag, value)) = body.split_once(':') else {
                return err(n, format!("expected 'tag: value', got {body:?}"));
            };
            if !TAGS.iter().any(|(t, _)| *t == tag) {
                return err(n, format!("unknown clause {tag:?}"));
            }
            raws.push(Raw {
                tag: tag.to_string(),
                value: value.trim().to_string(),
                line: n,
                fields: Vec::new(),
            });
            continue;
        }
        let Some(raw) = raws.last_mut() else {
            return err(n, "indented line before any clause");
        };
        if is_text(&raw.tag) {
            join(&mut raw.value, body, blank_before);
            blank_before = false;
            continue;
        }
        blank_before = false;
        let allowed = TAGS.iter().find(|(t, _)| *t == raw.tag).map(|x| x.1);
        let allowed = allowed.unwrap_or(&[]);
        let field = body
            .split_once(':')
            .filter(|(k, _)| indent == 3 && (allowed.contains(k) || is_key(k)));
        if let Some((key, value)) = field {
            if !allowed.contains(&key) {
                return err(
                    n,
                    format!(
                        "unknown field {key:?} in {} clause (allowed: {})",
                        raw.tag,
                        allowed.join(", ")
                    ),
                );
            }
            if !REPEATABLE.contains(&key) && raw.fields.iter().any(|(k, _, _)| k == key) {
                return err(n, format!("field {key:?} given twice"));
            }
            raw.fields
                .push((key.to_string(), value.trim().to_string(), n));
        } else if indent >= 3 {
            match raw.fields.last_mut() {
                Some((_, v, _)) => join(v, body, false),
                None if indent == 3 => {
                    return err(n, format!("expected 'field: value' in {} clause", raw.tag))
                }
                None => return err(n, "continuation line before any field"),
            }
        } else {
            return err(n, "fields are indented by three spaces after '*'");
        }
    }
    let Some(end) = end else {
        return err(lines.len().max(1), "block not closed with '*/'");
    };
    if !header_done {
        return err(start + 1, "block has no 'sys_NAME - summary' line");
    }
    let mut warnings = Vec::new();
    for raw in raws {
        build(&mut spec, raw, &mut warnings)?;
    }
    for (a, _) in &spec.args {
        if spec.param(a).is_none() {
            return err(start + 1, format!("@{a} has no 'param: {a}' clause"));
        }
    }
    for p in &spec.params {
        if !spec.args.iter().any(|(a, _)| *a == p.name) {
            return err(
                p.line,
                format!("param {} is not one of the @arguments", p.name),
            );
        }
        if let Some((lo, hi)) = &p.range {
            for b in [lo, hi] {
                if let Bound::Param(q) = b {
                    if spec.param(q).is_none() {
                        return err(p.line, format!("range bound {q:?} names no param"));
                    }
                }
            }
        }
        if let Some(i) = p.size_param {
            if i >= spec.params.len() {
                return err(p.line, format!("size-param {i} names no param"));
            }
        }
    }
    Ok((spec, warnings, end))
}

pub(crate) fn errno_name(line: usize, s: &str) -> Result<String, SpecError> {
    if is_errno(s) {
        Ok(s.to_string())
    } else {
        err(line, format!("{s:?} is not an errno name"))
    }
}

/// A call's outcome as a hint names it: `OK` (any count), a count the
/// call must return (`0`), or an errno name.
pub(crate) fn is_outcome(s: &str) -> bool {
    s == "OK" || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())) || is_errno(s)
}

fn outcome_name(line: usize, s: &str) -> Result<String, SpecError> {
    if is_outcome(s) {
        Ok(s.to_string())
    } else {
        err(line, format!("{s:?} is not OK, a count or an errno name"))
    }
}

pub(crate) fn is_errno(s: &str) -> bool {
    s.len() > 1
        && s.starts_with('E')
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Constants a bound may name, as the kernel's 64-bit types hold them.
fn named_constant(s: &str) -> Option<i128> {
    Some(match s {
        "INT_MAX" | "S32_MAX" => i32::MAX as i128,
        "INT_MIN" | "S32_MIN" => i32::MIN as i128,
        "UINT_MAX" | "U32_MAX" => u32::MAX as i128,
        "LONG_MAX" | "S64_MAX" | "SSIZE_MAX" => i64::MAX as i128,
        "LONG_MIN" | "S64_MIN" => i64::MIN as i128,
        "ULONG_MAX" | "U64_MAX" | "SIZE_MAX" => u64::MAX as i128,
        _ => return None,
    })
}

pub(crate) fn number(line: usize, s: &str) -> Result<i128, SpecError> {
    let s = s.trim();
    if let Some(v) = named_constant(s) {
        return Ok(v);
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d.trim()),
        None => (false, s),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(h) => i128::from_str_radix(h, 16),
        None => digits.parse::<i128>(),
    };
    match v {
        Ok(v) => Ok(if neg { -v } else { v }),
        Err(_) => err(line, format!("{s:?} is not a number")),
    }
}

fn bound(line: usize, s: &str, warnings: &mut Vec<Warning>) -> Result<Bound, SpecError> {
    let s = s.trim();
    let ident = |upper: bool| {
        !s.is_empty()
            && s.chars().all(|c| {
                c == '_'
                    || if upper {
                        c.is_ascii_uppercase() || c.is_ascii_digit()
                    } else {
                        c.is_ascii_lowercase()
                    }
            })
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
    };
    if ident(false) {
        Ok(Bound::Param(s.to_string()))
    } else if named_constant(s).is_none() && ident(true) {
        warnings.push(Warning {
            line,
            msg: format!("range bound {s} cannot be evaluated in user space: no range cases"),
        });
        Ok(Bound::Symbol(s.to_string()))
    } else {
        number(line, s).map(Bound::Num)
    }
}

fn range(line: usize, r: &str, warnings: &mut Vec<Warning>) -> Result<(Bound, Bound), SpecError> {
    let Some((lo, hi)) = r.split_once(',') else {
        return err(line, format!("range {r:?} must be 'low, high'"));
    };
    Ok((bound(line, lo, warnings)?, bound(line, hi, warnings)?))
}

/// `NAME(args)` of a function-call constraint.
fn call(s: &str) -> Option<(&str, &str)> {
    let (f, rest) = s.split_once('(')?;
    Some((f.trim(), rest.trim_end().strip_suffix(')')?))
}

/// The constraint types of upstream's KAPI_CONSTRAINT_* (both DSL forms and
/// both JSON shapes name them).
pub(crate) const CONSTRAINTS: &[&str] = &[
    "none",
    "range",
    "mask",
    "enum",
    "alignment",
    "power_of_two",
    "page_aligned",
    "nonzero",
    "user_string",
    "user_path",
    "user_ptr",
    "buffer",
    "custom",
];

/// `KAPI_CONSTRAINT_RANGE` or `range`: the upper-case long name.
pub(crate) fn constraint_token(t: &str) -> Option<String> {
    let l = t.trim().to_ascii_lowercase();
    let l = l.strip_prefix("kapi_constraint_").unwrap_or(&l);
    CONSTRAINTS
        .contains(&l)
        .then(|| format!("KAPI_CONSTRAINT_{}", l.to_ascii_uppercase()))
}

pub(crate) fn check_type_token(t: &str) -> Option<String> {
    let l = t.trim().to_ascii_lowercase();
    let l = l.strip_prefix("kapi_return_").unwrap_or(&l);
    let l = if l == "file_descriptor" { "fd" } else { l };
    ["exact", "range", "error_check", "fd", "custom", "no_return"]
        .contains(&l)
        .then(|| format!("KAPI_RETURN_{}", l.to_ascii_uppercase()))
}

/// The lock types of upstream's KAPI_LOCK_* (DSL and JSON alike).
pub(crate) const LOCK_TYPES: &[&str] = &[
    "none",
    "mutex",
    "spinlock",
    "rwlock",
    "seqlock",
    "rcu",
    "semaphore",
    "custom",
];

pub(crate) fn lock_token(t: &str) -> Option<String> {
    let l = t.trim().to_ascii_lowercase();
    let l = l.strip_prefix("kapi_lock_").unwrap_or(&l);
    LOCK_TYPES
        .contains(&l)
        .then(|| format!("KAPI_LOCK_{}", l.to_ascii_uppercase()))
}

pub(crate) const CONTEXTS: &[&str] = &[
    "process",
    "softirq",
    "hardirq",
    "nmi",
    "atomic",
    "sleepable",
    "preempt_disabled",
    "irq_disabled",
];

pub(crate) const EFFECTS: &[&str] = &[
    "alloc_memory",
    "free_memory",
    "modify_state",
    "signal_send",
    "file_position",
    "lock_acquire",
    "lock_release",
    "resource_create",
    "resource_destroy",
    "schedule",
    "hardware",
    "network",
    "filesystem",
    "process_state",
    "irreversible",
];

/// `KAPI_EFFECT_A | b` to `KAPI_EFFECT_A | KAPI_EFFECT_B`; an unknown
/// name is kept as written, with a warning (upstream's generator reads it
/// as MODIFY_STATE).
fn effects(line: usize, s: &str, warnings: &mut Vec<Warning>) -> String {
    let v: Vec<String> = s
        .split('|')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let l = t.to_ascii_lowercase();
            let l = l.strip_prefix("kapi_effect_").unwrap_or(&l);
            if EFFECTS.contains(&l) || l == "none" {
                format!("KAPI_EFFECT_{}", l.to_ascii_uppercase())
            } else {
                warnings.push(Warning {
                    line,
                    msg: format!("unknown side-effect type {t:?}: kept as written"),
                });
                t.to_string()
            }
        })
        .collect();
    v.join(" | ")
}

pub(crate) fn parse_success(s: &str) -> Option<Success> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let num = |x: &str| number(0, x).ok();
    if let Some(n) = s.strip_prefix(">=").and_then(num) {
        return Some(Success::AtLeast(n));
    }
    let exact = s
        .strip_prefix("==")
        .or_else(|| s.strip_prefix('='))
        .unwrap_or(s);
    if let Some(n) = num(exact) {
        return Some(Success::Exact(n));
    }
    if let Some(e) = s.strip_prefix('-').filter(|e| is_errno(e)) {
        return Some(Success::Errno(e.to_string()));
    }
    if let Some((a, b)) = s.split_once("..") {
        let mut w = Vec::new();
        if let (Ok(a), Ok(b)) = (bound(0, a, &mut w), bound(0, b, &mut w)) {
            return Some(Success::Between(a, b));
        }
    }
    Some(Success::Text(s.to_string()))
}

/// A `mask:`/`mask(...)`: a number, or an expression only the kernel's
/// compiler can evaluate (`O_RDONLY | O_WRONLY`), kept with a warning.
fn mask(p: &mut Param, m: &str, ml: usize, warnings: &mut Vec<Warning>) -> Result<(), SpecError> {
    match number(ml, m).map(u64::try_from) {
        Ok(Ok(v)) => p.mask = Some(v),
        Ok(Err(_)) => return err(ml, format!("mask {m:?} is not a u64")),
        Err(_) if !m.trim().starts_with(|c: char| c.is_ascii_digit()) => {
            warnings.push(Warning {
                line: ml,
                msg: format!("mask {m:?} cannot be evaluated in user space: no mask case"),
            });
            p.symbolic = Some(m.trim().to_string());
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

impl Raw {
    /// A field's value and the line it is on.
    fn get(&self, k: &str) -> Option<(String, usize)> {
        self.fields
            .iter()
            .find(|(key, _, _)| key == k)
            .map(|(_, v, l)| (v.clone(), *l))
    }

    fn text(&self, k: &str) -> String {
        self.get(k).map(|(v, _)| v).unwrap_or_default()
    }

    fn need(&self, k: &str) -> Result<(String, usize), SpecError> {
        match self.get(k) {
            Some(v) => Ok(v),
            None => err(
                self.line,
                format!("{} clause {:?} has no {k} field", self.tag, self.value),
            ),
        }
    }

    fn named(&self, what: &str) -> Result<String, SpecError> {
        if self.value.is_empty() {
            err(self.line, format!("{what} clause needs a name"))
        } else {
            Ok(self.value.clone())
        }
    }
}

/// One clause into the model: the one-line ones here, the others each in
/// a function of their own below.
fn build(spec: &mut Spec, raw: Raw, warnings: &mut Vec<Warning>) -> Result<(), SpecError> {
    let n = raw.line;
    match raw.tag.as_str() {
        "long-desc" => spec.long_desc = raw.value,
        "kernel-read" => spec.kernel_read = raw.value,
        "examples" => spec.examples = raw.value,
        "notes" => spec.notes = raw.value,
        "since-version" => spec.since = raw.value,
        "api-type" | "param-count" | "related" | "see-also" => {}
        "context-flags" => context_flags(spec, &raw)?,
        "contexts" => contexts(spec, &raw)?,
        "param" => param(spec, &raw, warnings)?,
        "return" => return_clause(spec, &raw, warnings)?,
        "error" => error(spec, &raw, warnings)?,
        "lock" => lock(spec, &raw)?,
        "signal" => signal(spec, &raw, warnings)?,
        "side-effect" => spec.side_effects.push(SideEffect {
            kind: effects(n, &raw.value, warnings),
            target: raw.need("target")?.0,
            desc: raw.text("desc"),
            reversible: raw.text("reversible"),
            condition: raw.text("condition"),
        }),
        "state-trans" => state_trans(spec, &raw)?,
        "constraint" => spec.constraints.push(Constraint {
            name: raw.named("constraint")?,
            desc: raw.text("desc"),
            expr: raw.text("expr"),
        }),
        "capability" => capability(spec, &raw)?,
        other => return err(n, format!("unknown clause {other:?}")),
    }
    Ok(())
}

/// `context-flags: KAPI_CTX_A | KAPI_CTX_B`.
fn context_flags(spec: &mut Spec, raw: &Raw) -> Result<(), SpecError> {
    for f in raw
        .value
        .split('|')
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        let short = f.to_ascii_lowercase();
        let ok = short
            .strip_prefix("kapi_ctx_")
            .is_some_and(|s| CONTEXTS.contains(&s));
        if !ok {
            return err(raw.line, format!("unknown context flag {f:?}"));
        }
        spec.context_flags.push(f.to_ascii_uppercase());
    }
    Ok(())
}

/// `contexts: process, sleepable`.
fn contexts(spec: &mut Spec, raw: &Raw) -> Result<(), SpecError> {
    for f in raw
        .value
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        let l = f.to_ascii_lowercase();
        if !CONTEXTS.contains(&l.as_str()) {
            return err(
                raw.line,
                format!("unknown context {f:?} (known: {})", CONTEXTS.join(", ")),
            );
        }
        spec.context_flags
            .push(format!("KAPI_CTX_{}", l.to_ascii_uppercase()));
    }
    Ok(())
}

/// `constraint-type: range(a, b)`, `mask(m)`, `enum(...)`, `buffer(i)`,
/// `alignment(a)`, or a bare type token.
fn constraint_type(
    p: &mut Param,
    ct: &str,
    cl: usize,
    warnings: &mut Vec<Warning>,
) -> Result<(), SpecError> {
    match call(ct) {
        Some((f, args)) => {
            let Some(tok) = constraint_token(f) else {
                return err(cl, format!("unknown constraint type {f:?}"));
            };
            match f.trim().to_ascii_lowercase().as_str() {
                "range" => p.range = Some(range(cl, args, warnings)?),
                "user_string" if args.contains(',') => p.range = Some(range(cl, args, warnings)?),
                "user_string" => p.range = Some((Bound::Num(0), bound(cl, args, warnings)?)),
                "mask" => mask(p, args, cl, warnings)?,
                "enum" => p.enum_values = args.split(',').map(|v| v.trim().to_string()).collect(),
                "buffer" => match number(cl, args).map(usize::try_from) {
                    Ok(Ok(i)) => p.size_param = Some(i),
                    _ => return err(cl, format!("buffer({args}) must name a param index")),
                },
                "alignment" => match number(cl, args).map(u64::try_from) {
                    Ok(Ok(a)) => p.alignment = Some(a),
                    _ => return err(cl, format!("alignment({args}) is not a number")),
                },
                other => return err(cl, format!("constraint {other}(...) takes no arguments")),
            }
            p.constraint_type = Some(tok);
        }
        None => match constraint_token(ct) {
            Some(tok) => p.constraint_type = Some(tok),
            None => return err(cl, format!("unknown constraint type {ct:?}")),
        },
    }
    Ok(())
}

fn param(spec: &mut Spec, raw: &Raw, warnings: &mut Vec<Warning>) -> Result<(), SpecError> {
    let name = raw.named("param")?;
    if spec.param(&name).is_some() {
        return err(raw.line, format!("param {name} given twice"));
    }
    // `type: KAPI_TYPE_UINT` or `type: uint, input, user`.
    let (ty_s, tl) = raw.need("type")?;
    let mut words = ty_s.split(',').map(str::trim);
    let first = words.next().unwrap_or("");
    let Some(ty) = ParamType::from_token(first) else {
        return err(tl, format!("unknown param type {first:?}"));
    };
    let mut flags = Vec::new();
    for w in words.filter(|w| !w.is_empty()) {
        match ParamFlag::from_token(w) {
            Some(f) => flags.push(f),
            None => return err(tl, format!("unknown param flag {w:?}")),
        }
    }
    if ty.is_user_pointer() && !flags.is_empty() && !flags.contains(&ParamFlag::User) {
        flags.push(ParamFlag::User);
    }
    // A `flags:` line replaces what `type:` set.
    if let Some((flags_s, fl)) = raw.get("flags") {
        flags.clear();
        for f in flags_s
            .split(['|', ','])
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            match ParamFlag::from_token(f) {
                Some(x) => flags.push(x),
                None => return err(fl, format!("unknown param flag {f:?}")),
            }
        }
    }
    let mut p = Param {
        name,
        line: raw.line,
        ty,
        flags,
        constraint_type: None,
        range: None,
        mask: None,
        symbolic: None,
        enum_values: Vec::new(),
        size: raw.get("size").map(|x| x.0),
        size_param: None,
        alignment: None,
        constraint: raw
            .get("constraint")
            .or_else(|| raw.get("cdesc"))
            .map(|x| x.0)
            .unwrap_or_default(),
        base: None,
        fault: None,
        invalid: None,
        out_of_range: None,
        in_range: None,
    };
    if let Some((ct, cl)) = raw.get("constraint-type") {
        constraint_type(&mut p, &ct, cl, warnings)?;
    }
    if let Some((r, rl)) = raw.get("range") {
        if p.range.is_some() {
            return err(rl, "range given twice (range: and constraint-type)");
        }
        p.range = Some(range(rl, &r, warnings)?);
    }
    for k in ["mask", "valid-mask"] {
        if let Some((m, ml)) = raw.get(k) {
            if p.mask.is_some() || p.symbolic.is_some() {
                return err(ml, "mask given twice");
            }
            mask(&mut p, &m, ml, warnings)?;
        }
    }
    if let Some((v, _)) = raw.get("valid-values") {
        p.enum_values = v.split(',').map(|v| v.trim().to_string()).collect();
    }
    if let Some((v, vl)) = raw.get("size-param") {
        match number(vl, &v).map(usize::try_from) {
            Ok(Ok(i)) => p.size_param = Some(i),
            _ => return err(vl, format!("size-param {v:?} is not a param index")),
        }
    }
    if let Some((v, vl)) = raw.get("alignment") {
        match number(vl, &v).map(u64::try_from) {
            Ok(Ok(a)) => p.alignment = Some(a),
            _ => return err(vl, format!("alignment {v:?} is not a number")),
        }
    }
    if raw.get("arch-mask").is_some() {
        warnings.push(Warning {
            line: raw.line,
            msg: format!(
                "param {}: arch-mask bits are not modelled (mask cases use the common mask)",
                p.name
            ),
        });
    }
    if p.ty.is_user_pointer() && p.range.is_some() {
        return err(
            raw.line,
            format!("param {}: a user pointer has no range", p.name),
        );
    }
    // Inline hints (kmatrix's own files only; spec/hints/ is where
    // they belong).
    let opt_errno = |k: &str| -> Result<Option<String>, SpecError> {
        match raw.get(k) {
            None => Ok(None),
            Some((v, l)) => errno_name(l, &v).map(Some),
        }
    };
    p.base = raw.get("kmatrix-base").map(|x| x.0);
    p.fault = match raw.get("kmatrix-fault") {
        None => None,
        Some((v, _)) if v == "none" => Some(Fault::None),
        Some((v, l)) => Some(Fault::Errno(errno_name(l, &v)?)),
    };
    p.invalid = opt_errno("kmatrix-invalid")?;
    p.out_of_range = opt_errno("kmatrix-out-of-range")?;
    p.in_range = match raw.get("kmatrix-in-range") {
        None => None,
        Some((v, l)) => Some(outcome_name(l, &v)?),
    };
    spec.params.push(p);
    Ok(())
}

fn return_clause(spec: &mut Spec, raw: &Raw, warnings: &mut Vec<Warning>) -> Result<(), SpecError> {
    if spec.ret.is_some() {
        return err(raw.line, "second return clause");
    }
    let base = match raw.get("kmatrix-base") {
        None => None,
        Some((v, l)) => Some(outcome_name(l, &v)?),
    };
    let check_type = match raw.get("check-type") {
        None => String::new(),
        Some((c, cl)) => match check_type_token(&c) {
            Some(t) => t,
            None => return err(cl, format!("unknown return check-type {c:?}")),
        },
    };
    let success = raw.text("success");
    let success_value = parse_success(&success);
    if let (Some(Success::Errno(e)), Some((_, sl))) = (&success_value, raw.get("success")) {
        warnings.push(Warning {
            line: sl,
            msg: format!(
                "success: -{e} (success reported as an errno): read as written; upstream's generator drops a success value unless check-type is exact or range"
            ),
        });
    }
    spec.ret = Some(Return {
        ty: raw.need("type")?.0,
        check_type,
        success,
        success_value,
        desc: raw.text("desc"),
        base,
    });
    Ok(())
}

fn error(spec: &mut Spec, raw: &Raw, warnings: &mut Vec<Warning>) -> Result<(), SpecError> {
    let (name, summary) = match raw.value.split_once(',') {
        Some((a, b)) => (a.trim().to_string(), b.trim().to_string()),
        None => (raw.value.clone(), String::new()),
    };
    // `error: (driver-specific), ...`: a class of errors, no errno.
    if name.starts_with('(') && name.ends_with(')') {
        warnings.push(Warning {
            line: raw.line,
            msg: format!("error {name} names no errno: skipped"),
        });
        return Ok(());
    }
    let name = errno_name(raw.line, &name)?;
    let mut desc = raw
        .get("desc")
        .or_else(|| raw.get("condition"))
        .map(|x| x.0);
    if desc.is_none() {
        desc = Some(summary.clone());
    }
    let desc = desc.unwrap_or_default();
    let untestable = raw.get("kmatrix-untestable").map(|x| x.0);
    // Upstream lists one errno once per condition (io_cancel: three
    // EINVAL): one clause, its conditions joined.
    if let Some(e) = spec.errors.iter_mut().find(|e| e.name == name) {
        if !summary.is_empty() {
            e.summary = if e.summary.is_empty() {
                summary
            } else {
                format!("{}; {summary}", e.summary)
            };
        }
        e.desc.push_str("\n\n");
        e.desc.push_str(&desc);
        if e.untestable.is_none() {
            e.untestable = untestable;
        }
        return Ok(());
    }
    spec.errors.push(ErrorClause {
        name,
        summary,
        desc,
        untestable,
        line: raw.line,
    });
    Ok(())
}

fn lock(spec: &mut Spec, raw: &Raw) -> Result<(), SpecError> {
    // `lock: NAME` + `type:`, or `lock: NAME, TYPE`.
    let (name, flat) = match raw.value.rsplit_once(',') {
        Some((a, b)) if lock_token(b).is_some() => (a.trim().to_string(), Some(b)),
        _ => (raw.named("lock")?, None),
    };
    let (ty_s, tl) = match (flat, raw.get("type")) {
        (Some(t), None) => (t.trim().to_string(), raw.line),
        (_, Some(x)) => x,
        (None, None) => raw.need("type")?,
    };
    let Some(ty) = lock_token(&ty_s) else {
        return err(tl, format!("unknown lock type {ty_s:?}"));
    };
    let scope = match (raw.get("acquired"), raw.get("released")) {
        (Some(a), None) if a.0 == "true" => "acquires".into(),
        (None, Some(r)) if r.0 == "true" => "releases".into(),
        _ => raw.text("scope"),
    };
    spec.locks.push(Lock {
        name,
        ty,
        scope,
        desc: raw.text("desc"),
    });
    Ok(())
}

fn signal(spec: &mut Spec, raw: &Raw, warnings: &mut Vec<Warning>) -> Result<(), SpecError> {
    let errno = match (raw.get("errno"), raw.get("error")) {
        (Some(e), _) => e.0,
        (None, Some((e, el))) => {
            warnings.push(Warning {
                line: el,
                msg: format!(
                    "'error: {e}' inside signal {}: read as its errno (the newer DSL says 'errno:'; kernel-doc would make it an error section)",
                    raw.value
                ),
            });
            e
        }
        (None, None) => String::new(),
    };
    spec.signals.push(Signal {
        name: raw.named("signal")?,
        direction: raw.text("direction"),
        action: raw.text("action"),
        condition: raw.text("condition"),
        desc: raw.text("desc"),
        error: errno,
        timing: raw.text("timing"),
        restartable: raw.text("restartable"),
    });
    Ok(())
}

fn state_trans(spec: &mut Spec, raw: &Raw) -> Result<(), SpecError> {
    // `state-trans: OBJ` + fields, or `state-trans: OBJ, FROM, TO, DESC`.
    let parts: Vec<&str> = raw.value.splitn(4, ',').map(str::trim).collect();
    let flat = raw.get("from").is_none() && raw.get("to").is_none() && parts.len() >= 3;
    let (name, from, to, desc) = if flat {
        (
            parts[0].to_string(),
            parts[1].to_string(),
            parts[2].to_string(),
            parts.get(3).map(|s| s.to_string()).unwrap_or_default(),
        )
    } else {
        (
            raw.named("state-trans")?,
            raw.need("from")?.0,
            raw.need("to")?.0,
            raw.text("desc"),
        )
    };
    spec.state_trans.push(StateTrans {
        name: raw.get("object").map(|x| x.0).unwrap_or(name),
        from,
        to,
        condition: raw.text("condition"),
        desc,
    });
    Ok(())
}

fn capability(spec: &mut Spec, raw: &Raw) -> Result<(), SpecError> {
    let parts: Vec<&str> = raw.value.splitn(3, ',').map(str::trim).collect();
    let name = parts[0].to_string();
    if name.is_empty() {
        return err(raw.line, "capability clause needs a name");
    }
    if name == "none" {
        return Ok(());
    }
    let action = raw
        .get("type")
        .map(|x| x.0)
        .or_else(|| parts.get(1).map(|s| s.to_string()))
        .unwrap_or_default();
    spec.capabilities.push(Capability {
        name,
        action: if action.is_empty() || action.starts_with("KAPI_CAP_") {
            action
        } else {
            format!("KAPI_CAP_{}", action.to_ascii_uppercase())
        },
        allows: raw
            .get("allows")
            .or_else(|| raw.get("desc"))
            .map(|x| x.0)
            .or_else(|| parts.get(2).map(|s| s.to_string()))
            .unwrap_or_default(),
        without: raw.text("without"),
        condition: raw.text("condition"),
    });
    Ok(())
}
