//! KAPI spec blocks (spec/*-kapi-spec.txt) as data: one parser from a
//! kernel-doc block to a typed model, and the list of its clauses.
//!
//! A block runs from `/**` to `*/`; a leading `+` (patch form, as in the
//! io_setup seed) is ignored, and so is everything outside the block.
//! Inside, ` * tag: value` (one space) opens a clause, ` *   key: value`
//! (three spaces) is a field of it, and deeper lines continue the field.
//! Anything else is an error naming the line: never a guess, never a panic.
//!
//! Fields starting with `kmatrix-` are this project's, for generic cases:
//! `kmatrix-base` (the value a generic call passes when another param
//! varies), `kmatrix-fault` (errno for a NULL/unmapped pointer, or `none`
//! when the baseline call does not dereference it), `kmatrix-invalid`
//! (errno for a handle that names no context), `kmatrix-out-of-range`
//! (errno outside `range`), and on errors `kmatrix-untestable` (why no
//! case can provoke it from user space).

use std::fmt;
use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// 1-based line in the file (0: the file as a whole).
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for SpecError {}

fn err<T>(line: usize, msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError {
        line,
        msg: msg.into(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamType {
    Uint,
    Int,
    UserPtr,
    Fd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamFlag {
    In,
    Out,
    Inout,
    User,
    Optional,
}

/// One end of a range: a number or another parameter's (baseline) value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    Num(i128),
    Param(String),
}

/// What a bad pointer gives in the baseline call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Not dereferenced in the baseline call: the baseline outcome stands.
    None,
    Errno(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    pub name: String,
    pub line: usize,
    pub ty: ParamType,
    pub flags: Vec<ParamFlag>,
    pub constraint_type: Option<String>,
    pub range: Option<(Bound, Bound)>,
    /// Valid bits; any other bit is unknown.
    pub mask: Option<u64>,
    pub size: Option<String>,
    pub constraint: String,
    pub base: Option<String>,
    pub fault: Option<Fault>,
    pub invalid: Option<String>,
    pub out_of_range: Option<String>,
    /// Outcome of an in-range value other than the baseline's
    /// (`kmatrix-in-range`): `OK`, a count the call returns, or an errno.
    pub in_range: Option<String>,
}

impl Param {
    pub fn has(&self, f: ParamFlag) -> bool {
        self.flags.contains(&f)
    }
    /// The kernel writes through this pointer.
    pub fn written(&self) -> bool {
        self.has(ParamFlag::Out) || self.has(ParamFlag::Inout)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Return {
    pub ty: String,
    pub check_type: String,
    pub success: String,
    pub desc: String,
    /// Outcome of the generic baseline call ("OK" or an errno name).
    pub base: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorClause {
    pub name: String,
    pub summary: String,
    pub desc: String,
    pub untestable: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lock {
    pub name: String,
    pub ty: String,
    pub desc: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    pub name: String,
    pub direction: String,
    pub action: String,
    pub condition: String,
    pub desc: String,
    pub error: String,
    pub timing: String,
    pub restartable: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideEffect {
    pub kind: String,
    pub target: String,
    pub desc: String,
    pub reversible: String,
    pub condition: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateTrans {
    pub name: String,
    pub from: String,
    pub to: String,
    pub condition: String,
    pub desc: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Constraint {
    pub name: String,
    pub desc: String,
    pub expr: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Spec {
    pub syscall: String,
    pub summary: String,
    /// `@name: text` lines, in order (the C argument order).
    pub args: Vec<(String, String)>,
    pub long_desc: String,
    pub kernel_read: String,
    pub context_flags: Vec<String>,
    pub params: Vec<Param>,
    pub ret: Option<Return>,
    pub errors: Vec<ErrorClause>,
    pub locks: Vec<Lock>,
    pub signals: Vec<Signal>,
    pub side_effects: Vec<SideEffect>,
    pub state_trans: Vec<StateTrans>,
    pub constraints: Vec<Constraint>,
    pub examples: String,
    pub notes: String,
    pub since: String,
}

/// One checkable clause: kind and name, as `kmatrix spec` lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Clause {
    pub kind: &'static str,
    pub name: String,
}

impl Spec {
    /// Every clause a case must check (params, return, errors, locks,
    /// signals, side effects, state transitions, constraints).
    pub fn clauses(&self) -> Vec<Clause> {
        let c = |kind, name: &str| Clause {
            kind,
            name: name.to_string(),
        };
        let mut v: Vec<Clause> = self.params.iter().map(|p| c("param", &p.name)).collect();
        if self.ret.is_some() {
            v.push(c("return", "success"));
        }
        v.extend(self.errors.iter().map(|e| c("error", &e.name)));
        v.extend(self.locks.iter().map(|l| c("lock", &l.name)));
        v.extend(self.signals.iter().map(|s| c("signal", &s.name)));
        v.extend(
            self.side_effects
                .iter()
                .map(|s| c("side-effect", &s.target)),
        );
        v.extend(self.state_trans.iter().map(|s| c("state-trans", &s.name)));
        v.extend(self.constraints.iter().map(|s| c("constraint", &s.name)));
        v
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// Top-level tags and, for structured ones, their allowed fields.
const TAGS: &[(&str, &[&str])] = &[
    ("long-desc", &[]),
    ("kernel-read", &[]),
    ("context-flags", &[]),
    (
        "param",
        &[
            "type",
            "flags",
            "constraint-type",
            "range",
            "mask",
            "size",
            "constraint",
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
    ("error", &["desc", "kmatrix-untestable"]),
    ("lock", &["type", "desc"]),
    (
        "signal",
        &[
            "direction",
            "action",
            "condition",
            "desc",
            "error",
            "timing",
            "priority",
            "restartable",
        ],
    ),
    (
        "side-effect",
        &["target", "desc", "reversible", "condition"],
    ),
    ("state-trans", &["from", "to", "condition", "desc"]),
    ("constraint", &["desc", "expr"]),
    ("examples", &[]),
    ("notes", &[]),
    ("since-version", &[]),
];

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

/// Parses the first KAPI kernel-doc block of `text`.
pub fn parse(text: &str) -> Result<Spec, SpecError> {
    let lines: Vec<&str> = text.lines().collect();
    let clean = |l: &str| l.strip_prefix('+').unwrap_or(l).trim_end().to_string();
    let start = match lines.iter().position(|l| clean(l).trim() == "/**") {
        Some(i) => i,
        None => return err(1, "no kernel-doc block: no line is '/**'"),
    };
    let mut spec = Spec::default();
    let mut raws: Vec<Raw> = Vec::new();
    let mut header_done = false;
    let mut blank_before = false;
    let mut closed = false;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        let n = i + 1;
        let l = clean(l);
        let t = l.trim_start();
        if t == "*/" {
            closed = true;
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
        if indent == 3 {
            let Some((key, value)) = body.split_once(':') else {
                return err(n, format!("expected 'field: value' in {} clause", raw.tag));
            };
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
            if raw.fields.iter().any(|(k, _, _)| k == key) {
                return err(n, format!("field {key:?} given twice"));
            }
            raw.fields
                .push((key.to_string(), value.trim().to_string(), n));
        } else if indent > 3 {
            match raw.fields.last_mut() {
                Some((_, v, _)) => join(v, body, false),
                None => return err(n, "continuation line before any field"),
            }
        } else {
            return err(n, "fields are indented by three spaces after '*'");
        }
    }
    if !closed {
        return err(lines.len().max(1), "block not closed with '*/'");
    }
    if !header_done {
        return err(start + 1, "block has no 'sys_NAME - summary' line");
    }
    for raw in raws {
        build(&mut spec, raw)?;
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
    }
    Ok(spec)
}

pub fn parse_file(path: &Path) -> anyhow::Result<Spec> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading spec {}: {e}", path.display()))?;
    parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Every spec/*-kapi-spec.txt under `dir`, sorted by syscall name.
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Spec>> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.display()))?;
    for e in entries {
        let p = e?.path();
        let is_spec = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("-kapi-spec.txt"));
        if is_spec {
            out.push(parse_file(&p)?);
        }
    }
    out.sort_by(|a, b| a.syscall.cmp(&b.syscall));
    Ok(out)
}

/// The specs compiled into the binary (so a run does not depend on the
/// working directory). A seventh syscall adds its file here.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "io_cancel-kapi-spec.txt",
        include_str!("../../spec/io_cancel-kapi-spec.txt"),
    ),
    (
        "io_destroy-kapi-spec.txt",
        include_str!("../../spec/io_destroy-kapi-spec.txt"),
    ),
    (
        "io_getevents-kapi-spec.txt",
        include_str!("../../spec/io_getevents-kapi-spec.txt"),
    ),
    (
        "io_pgetevents-kapi-spec.txt",
        include_str!("../../spec/io_pgetevents-kapi-spec.txt"),
    ),
    (
        "io_setup-kapi-spec.txt",
        include_str!("../../spec/io_setup-kapi-spec.txt"),
    ),
    (
        "io_submit-kapi-spec.txt",
        include_str!("../../spec/io_submit-kapi-spec.txt"),
    ),
];

/// The embedded specs, parsed, sorted by syscall.
pub fn builtin() -> anyhow::Result<Vec<Spec>> {
    let mut v = Vec::new();
    for (name, text) in EMBEDDED {
        v.push(parse(text).map_err(|e| anyhow::anyhow!("spec/{name}: {e}"))?);
    }
    v.sort_by(|a, b| a.syscall.cmp(&b.syscall));
    Ok(v)
}

/// The spec directory of this source tree.
pub fn default_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

fn errno_name(line: usize, s: &str) -> Result<String, SpecError> {
    let ok = s.len() > 1
        && s.starts_with('E')
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok {
        Ok(s.to_string())
    } else {
        err(line, format!("{s:?} is not an errno name"))
    }
}

/// A call's outcome as the spec names it: `OK` (any count), a count the
/// call must return (`0`), or an errno name.
fn outcome_name(line: usize, s: &str) -> Result<String, SpecError> {
    if s == "OK" || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())) {
        return Ok(s.to_string());
    }
    errno_name(line, s)
}

fn number(line: usize, s: &str) -> Result<i128, SpecError> {
    let s = s.trim();
    let named = match s {
        "INT_MAX" => Some(i32::MAX as i128),
        "UINT_MAX" => Some(u32::MAX as i128),
        "LONG_MAX" => Some(i64::MAX as i128),
        "LONG_MIN" => Some(i64::MIN as i128),
        "ULONG_MAX" => Some(u64::MAX as i128),
        _ => None,
    };
    if let Some(v) = named {
        return Ok(v);
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let v = match digits.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16),
        None => digits.parse::<i128>(),
    };
    match v {
        Ok(v) => Ok(if neg { -v } else { v }),
        Err(_) => err(line, format!("{s:?} is not a number")),
    }
}

fn bound(line: usize, s: &str) -> Result<Bound, SpecError> {
    let s = s.trim();
    let ident = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        && s.starts_with(|c: char| c.is_ascii_lowercase());
    if ident {
        Ok(Bound::Param(s.to_string()))
    } else {
        number(line, s).map(Bound::Num)
    }
}

fn build(spec: &mut Spec, raw: Raw) -> Result<(), SpecError> {
    let n = raw.line;
    let get = |k: &str| {
        raw.fields
            .iter()
            .find(|(key, _, _)| key == k)
            .map(|(_, v, l)| (v.clone(), *l))
    };
    let text = |k: &str| get(k).map(|(v, _)| v).unwrap_or_default();
    let need = |k: &str| match get(k) {
        Some(v) => Ok(v),
        None => err(
            n,
            format!("{} clause {:?} has no {k} field", raw.tag, raw.value),
        ),
    };
    let named = |what: &str| {
        if raw.value.is_empty() {
            err(n, format!("{what} clause needs a name"))
        } else {
            Ok(raw.value.clone())
        }
    };
    match raw.tag.as_str() {
        "long-desc" => spec.long_desc = raw.value,
        "kernel-read" => spec.kernel_read = raw.value,
        "examples" => spec.examples = raw.value,
        "notes" => spec.notes = raw.value,
        "since-version" => spec.since = raw.value,
        "context-flags" => {
            spec.context_flags = raw.value.split('|').map(|s| s.trim().to_string()).collect()
        }
        "param" => {
            let name = named("param")?;
            if spec.param(&name).is_some() {
                return err(n, format!("param {name} given twice"));
            }
            let (ty, tl) = need("type")?;
            let ty = match ty.as_str() {
                "KAPI_TYPE_UINT" => ParamType::Uint,
                "KAPI_TYPE_INT" => ParamType::Int,
                "KAPI_TYPE_USER_PTR" => ParamType::UserPtr,
                "KAPI_TYPE_FD" => ParamType::Fd,
                other => return err(tl, format!("unknown param type {other:?}")),
            };
            let (flags_s, fl) = need("flags")?;
            let mut flags = Vec::new();
            for f in flags_s.split('|').map(str::trim) {
                flags.push(match f {
                    "KAPI_PARAM_IN" => ParamFlag::In,
                    "KAPI_PARAM_OUT" => ParamFlag::Out,
                    "KAPI_PARAM_INOUT" => ParamFlag::Inout,
                    "KAPI_PARAM_USER" => ParamFlag::User,
                    "KAPI_PARAM_OPTIONAL" => ParamFlag::Optional,
                    other => return err(fl, format!("unknown param flag {other:?}")),
                });
            }
            let range = match get("range") {
                None => None,
                Some((r, rl)) => {
                    let Some((lo, hi)) = r.split_once(',') else {
                        return err(rl, format!("range {r:?} must be 'low, high'"));
                    };
                    Some((bound(rl, lo)?, bound(rl, hi)?))
                }
            };
            let mask = match get("mask") {
                None => None,
                Some((m, ml)) => {
                    let v = number(ml, &m)?;
                    match u64::try_from(v) {
                        Ok(v) => Some(v),
                        Err(_) => return err(ml, format!("mask {m:?} is not a u64")),
                    }
                }
            };
            let opt_errno = |k: &str| -> Result<Option<String>, SpecError> {
                match get(k) {
                    None => Ok(None),
                    Some((v, l)) => errno_name(l, &v).map(Some),
                }
            };
            let in_range = match get("kmatrix-in-range") {
                None => None,
                Some((v, l)) => Some(outcome_name(l, &v)?),
            };
            let fault = match get("kmatrix-fault") {
                None => None,
                Some((v, _)) if v == "none" => Some(Fault::None),
                Some((v, l)) => Some(Fault::Errno(errno_name(l, &v)?)),
            };
            let p = Param {
                name,
                line: n,
                ty,
                flags,
                constraint_type: get("constraint-type").map(|x| x.0),
                range,
                mask,
                size: get("size").map(|x| x.0),
                constraint: text("constraint"),
                base: get("kmatrix-base").map(|x| x.0),
                fault,
                invalid: opt_errno("kmatrix-invalid")?,
                out_of_range: opt_errno("kmatrix-out-of-range")?,
                in_range,
            };
            if p.ty == ParamType::UserPtr && p.range.is_some() {
                return err(n, format!("param {}: a user pointer has no range", p.name));
            }
            spec.params.push(p);
        }
        "return" => {
            if spec.ret.is_some() {
                return err(n, "second return clause");
            }
            let base = match get("kmatrix-base") {
                None => None,
                Some((v, l)) => Some(outcome_name(l, &v)?),
            };
            spec.ret = Some(Return {
                ty: need("type")?.0,
                check_type: text("check-type"),
                success: text("success"),
                desc: text("desc"),
                base,
            });
        }
        "error" => {
            let (name, summary) = match raw.value.split_once(',') {
                Some((a, b)) => (a.trim().to_string(), b.trim().to_string()),
                None => (raw.value.clone(), String::new()),
            };
            let name = errno_name(n, &name)?;
            if spec.errors.iter().any(|e| e.name == name) {
                return err(n, format!("error {name} given twice"));
            }
            spec.errors.push(ErrorClause {
                name,
                summary,
                desc: need("desc")?.0,
                untestable: get("kmatrix-untestable").map(|x| x.0),
                line: n,
            });
        }
        "lock" => spec.locks.push(Lock {
            name: named("lock")?,
            ty: need("type")?.0,
            desc: text("desc"),
        }),
        "signal" => spec.signals.push(Signal {
            name: named("signal")?,
            direction: text("direction"),
            action: text("action"),
            condition: text("condition"),
            desc: text("desc"),
            error: text("error"),
            timing: text("timing"),
            restartable: text("restartable"),
        }),
        "side-effect" => spec.side_effects.push(SideEffect {
            kind: raw.value.clone(),
            target: need("target")?.0,
            desc: text("desc"),
            reversible: text("reversible"),
            condition: text("condition"),
        }),
        "state-trans" => spec.state_trans.push(StateTrans {
            name: named("state-trans")?,
            from: need("from")?.0,
            to: need("to")?.0,
            condition: text("condition"),
            desc: text("desc"),
        }),
        "constraint" => spec.constraints.push(Constraint {
            name: named("constraint")?,
            desc: text("desc"),
            expr: text("expr"),
        }),
        other => return err(n, format!("unknown clause {other:?}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Spec> {
        load_dir(&default_dir()).expect("every spec/ file parses")
    }

    #[test]
    fn every_spec_file_parses() {
        let specs = all();
        let names: Vec<&str> = specs.iter().map(|s| s.syscall.as_str()).collect();
        assert_eq!(
            names,
            [
                "io_cancel",
                "io_destroy",
                "io_getevents",
                "io_pgetevents",
                "io_setup",
                "io_submit"
            ]
        );
        for s in &specs {
            assert!(!s.params.is_empty(), "{}", s.syscall);
            assert!(!s.errors.is_empty(), "{}", s.syscall);
            assert!(s.ret.is_some(), "{}", s.syscall);
            assert!(
                s.errors.iter().any(|e| e.name == "ENOSYS") || s.syscall == "io_setup",
                "{} lists ENOSYS",
                s.syscall
            );
        }
    }

    #[test]
    fn embedded_is_every_file() {
        let mut files: Vec<String> = std::fs::read_dir(default_dir())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with("-kapi-spec.txt"))
            .collect();
        files.sort();
        let embedded: Vec<&str> = EMBEDDED.iter().map(|e| e.0).collect();
        assert_eq!(files, embedded, "spec::EMBEDDED must list every spec file");
        assert_eq!(builtin().unwrap(), all());
    }

    #[test]
    fn io_setup_seed_model() {
        let s = all().into_iter().find(|s| s.syscall == "io_setup").unwrap();
        let nr = s.param("nr_events").unwrap();
        assert_eq!(nr.ty, ParamType::Uint);
        assert_eq!(nr.range, Some((Bound::Num(1), Bound::Num(8388608))));
        let ctxp = s.param("ctxp").unwrap();
        assert!(ctxp.written() && ctxp.has(ParamFlag::User));
        let errs: Vec<&str> = s.errors.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(errs, ["EFAULT", "EINVAL", "EAGAIN", "ENOMEM", "EINTR"]);
        assert_eq!(s.locks.len(), 4);
        assert_eq!(s.signals[0].name, "SIGKILL");
        assert_eq!(s.signals[0].error, "-EINTR");
        assert_eq!(s.side_effects.len(), 7);
        assert_eq!(s.side_effects[6].target, "aio_nr (global counter)");
        assert_eq!(s.state_trans[1].to, "aio_nr = N + nr_events");
        assert_eq!(s.constraints[0].expr, "aio_nr + nr_events <= aio_max_nr");
        assert!(s.notes.contains("\n\n"), "paragraphs kept");
        assert!(nr.constraint.ends_with("percpu batching."));
        assert!(s.clauses().contains(&Clause {
            kind: "error",
            name: "EAGAIN".into()
        }));
    }

    #[test]
    fn family_models() {
        let specs = all();
        let ge = specs.iter().find(|s| s.syscall == "io_getevents").unwrap();
        let min = ge.param("min_nr").unwrap();
        assert_eq!(min.range, Some((Bound::Num(0), Bound::Param("nr".into()))));
        assert_eq!(min.out_of_range.as_deref(), Some("EINVAL"));
        let t = ge.param("timeout").unwrap();
        assert!(t.has(ParamFlag::Optional));
        assert_eq!(t.fault, Some(Fault::Errno("EFAULT".into())));
        let cancel = specs.iter().find(|s| s.syscall == "io_cancel").unwrap();
        assert_eq!(
            cancel.ret.as_ref().unwrap().base.as_deref(),
            Some("EINPROGRESS")
        );
        assert_eq!(
            cancel.param("iocb").unwrap().base.as_deref(),
            Some("pending-poll")
        );
        // Outcomes the spec fixes: a count, not just "OK".
        let sub = specs.iter().find(|s| s.syscall == "io_submit").unwrap();
        assert_eq!(sub.ret.as_ref().unwrap().base.as_deref(), Some("0"));
        assert_eq!(sub.param("nr").unwrap().in_range.as_deref(), Some("EFAULT"));
        assert_eq!(ge.param("nr").unwrap().in_range.as_deref(), Some("0"));
        assert!(cancel
            .errors
            .iter()
            .any(|e| e.name == "EAGAIN" && e.untestable.is_some()));
        assert!(cancel.kernel_read.contains("6.12"));
    }

    const GOOD: &str = "/**\n * sys_x - X\n * @a: the a\n *\n * param: a\n *   type: KAPI_TYPE_UINT\n *   flags: KAPI_PARAM_IN\n *   range: 0, 4\n *\n * error: EINVAL, bad\n *   desc: when a > 4\n *     really.\n */\n";

    fn bad(text: &str) -> SpecError {
        match parse(text) {
            Ok(s) => panic!("parsed: {s:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn small_block() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.syscall, "x");
        assert_eq!(s.errors[0].desc, "when a > 4 really.");
        assert_eq!(
            s.clauses(),
            vec![
                Clause {
                    kind: "param",
                    name: "a".into()
                },
                Clause {
                    kind: "error",
                    name: "EINVAL".into()
                }
            ]
        );
    }

    #[test]
    fn malformed_blocks_name_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("nothing here", 1, "no kernel-doc block"),
            (&GOOD.replace(" */\n", ""), 12, "not closed"),
            (&GOOD.replace("sys_x - X", "x - X"), 2, "sys_"),
            (&GOOD.replace("sys_x - X", "sys_x"), 2, "first line"),
            (
                &GOOD.replace("KAPI_TYPE_UINT", "KAPI_TYPE_BLOB"),
                6,
                "unknown param type",
            ),
            (
                &GOOD.replace("KAPI_PARAM_IN", "KAPI_PARAM_SIDEWAYS"),
                7,
                "unknown param flag",
            ),
            (&GOOD.replace("0, 4", "0 4"), 8, "low, high"),
            (&GOOD.replace("0, 4", "0, 4x"), 8, "not a number"),
            (&GOOD.replace("0, 4", "0, b"), 5, "names no param"),
            (
                &GOOD.replace("EINVAL, bad", "EWHAT?, bad"),
                10,
                "errno name",
            ),
            (
                &GOOD.replace("   desc: when", "   colour: when"),
                11,
                "unknown field",
            ),
            (
                &GOOD.replace(" * error:", " * mistake:"),
                10,
                "unknown clause",
            ),
            (
                &GOOD.replace("   desc: when", "  desc: when"),
                11,
                "three spaces",
            ),
            (&GOOD.replace(" *   range", "    range"), 8, "' * ' line"),
            (
                &GOOD.replace(" * @a: the a\n", ""),
                4,
                "not one of the @arguments",
            ),
            (
                &GOOD.replace(" *   desc: when a > 4\n *     really.\n", ""),
                10,
                "no desc field",
            ),
            (
                &GOOD.replace(
                    " *   flags: KAPI_PARAM_IN\n",
                    " *   flags: KAPI_PARAM_IN\n *   flags: KAPI_PARAM_IN\n",
                ),
                8,
                "twice",
            ),
            (
                &GOOD.replace(" * param: a\n", " *   stray: 1\n * param: a\n"),
                5,
                "before any clause",
            ),
        ];
        for (text, line, needle) in cases {
            let e = bad(text);
            assert!(
                e.msg.contains(needle) && e.line == *line,
                "want line {line} with {needle:?}, got {e}"
            );
        }
    }

    #[test]
    fn arbitrary_text_never_panics() {
        for n in 0..GOOD.len() {
            let _ = parse(&GOOD[..n]);
            let mut s = GOOD.to_string();
            s.insert(n, ':');
            let _ = parse(&s);
        }
    }
}
