//! The two JSON shapes upstream writes a spec in, to a [`Spec`]:
//! - the kernel's debugfs `kapi/specs-json/<name>`: one object, tokens for
//!   enumerations (`"type_class": "uint"`), hex strings for bit sets
//!   (`"flags": "0x1"`), `return`, errors' `code`;
//! - `kapi -f json NAME`: `{"api_details": {...}}`, numbers for
//!   enumerations and bit sets, `return_spec`, errors' `error_code`, and
//!   `null` for what is unset.
//!
//! A syntax error names its line and column; a key of the wrong type or an
//! unknown token names the key path and the line where its value is.

use serde_json::Value;

use super::dsl::{check_type_token, constraint_token, lock_token, CONTEXTS, EFFECTS};
use super::{
    err, Bound, Capability, Constraint, ErrorClause, Lock, Param, ParamFlag, ParamType, Return,
    SideEffect, Signal, Spec, SpecError, StateTrans, Success, Warning,
};

/// Which shape a document was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Debugfs,
    KapiTool,
}

/// Parses one JSON document: a debugfs `specs-json/<name>` object or a
/// `kapi -f json NAME` output.
pub fn parse(text: &str) -> Result<(Spec, Shape, Vec<Warning>), SpecError> {
    let v: Value = serde_json::from_str(text).map_err(|e| SpecError {
        line: e.line(),
        msg: format!("not JSON (column {}): {e}", e.column()),
    })?;
    let mut w = Vec::new();
    let top = J {
        v: &v,
        path: String::new(),
        text,
    };
    if !v.is_object() {
        return err(
            1,
            "a spec in JSON is an object (debugfs specs-json or kapi -f json)",
        );
    }
    if let Some(d) = v.get("api_details") {
        let j = top.at("api_details", d);
        return kapi_tool(&j, &mut w).map(|s| (s, Shape::KapiTool, w));
    }
    if v.get("apis").is_some() {
        return err(
            1,
            "kapi list output (\"apis\"): it names specs but holds none; save `kapi -f json NAME` instead",
        );
    }
    if v.get("name").is_some() && v.get("parameters").is_some() {
        return debugfs(&top, &mut w).map(|s| (s, Shape::Debugfs, w));
    }
    err(
        1,
        "neither a debugfs specs-json object (name, parameters, ...) nor kapi -f json ({\"api_details\": ...})",
    )
}

/// A JSON value with its key path, for errors.
struct J<'a> {
    v: &'a Value,
    path: String,
    text: &'a str,
}

impl<'a> J<'a> {
    fn at(&self, key: &str, v: &'a Value) -> J<'a> {
        J {
            v,
            path: if self.path.is_empty() {
                key.to_string()
            } else {
                format!("{}.{key}", self.path)
            },
            text: self.text,
        }
    }

    /// The line of `"key": value` in the text (first match; 0 if unseen).
    fn line_of(&self, key: &str, v: &Value) -> usize {
        let needle = format!("\"{key}\"");
        let val = v.to_string();
        let lines: Vec<&str> = self.text.lines().collect();
        lines
            .iter()
            .position(|l| l.contains(&needle) && l.contains(&val))
            .or_else(|| lines.iter().position(|l| l.contains(&needle)))
            .map_or(0, |i| i + 1)
    }

    fn bad<T>(&self, key: &str, what: &str) -> Result<T, SpecError> {
        let v = self.v.get(key).unwrap_or(&Value::Null);
        err(
            self.line_of(key, v),
            format!("{}.{key}: {what}, got {v}", self.path),
        )
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.v.get(key).filter(|v| !v.is_null())
    }

    /// A string, `""` when absent or null.
    fn str(&self, key: &str) -> Result<String, SpecError> {
        match self.get(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => self.bad(key, "expected a string"),
        }
    }

    fn need_str(&self, key: &str) -> Result<String, SpecError> {
        match self.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => self.bad(key, "expected a string"),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i128>, SpecError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                match n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)) {
                    Some(x) => Ok(Some(x)),
                    None => self.bad(key, "expected an integer"),
                }
            }
            Some(_) => self.bad(key, "expected a number"),
        }
    }

    /// A bit set: a hex string (`"0x21"`) or a number.
    fn bits(&self, key: &str) -> Result<u64, SpecError> {
        match self.get(key) {
            None => Ok(0),
            Some(Value::String(s)) => {
                match s.strip_prefix("0x").map(|h| u64::from_str_radix(h, 16)) {
                    Some(Ok(b)) => Ok(b),
                    _ => self.bad(key, "expected a hex string \"0x..\""),
                }
            }
            Some(Value::Number(n)) => match n.as_u64() {
                Some(b) => Ok(b),
                None => self.bad(key, "expected an unsigned number"),
            },
            Some(_) => self.bad(key, "expected a hex string or a number"),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, SpecError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => self.bad(key, "expected true or false"),
        }
    }

    fn arr(&self, key: &str) -> Result<Vec<J<'a>>, SpecError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a
                .iter()
                .enumerate()
                .map(|(i, v)| self.at(&format!("{key}[{i}]"), v))
                .collect()),
            Some(_) => self.bad(key, "expected an array"),
        }
    }

    /// An enumeration: a token (debugfs) or its number (kapi tool).
    fn token(&self, key: &str, table: &[&str]) -> Result<Option<String>, SpecError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if table.contains(&s.as_str()) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => match n.as_u64().and_then(|i| table.get(i as usize)) {
                Some(t) => Ok(Some(t.to_string())),
                None => self.bad(
                    key,
                    &format!("unknown value (known: 0..{})", table.len() - 1),
                ),
            },
            Some(_) => self.bad(key, &format!("unknown token (known: {})", table.join(", "))),
        }
    }
}

const TYPE_CLASSES: &[&str] = &[
    "void",
    "int",
    "uint",
    "pointer",
    "struct",
    "union",
    "enum",
    "function_pointer",
    "array",
    "file_descriptor",
    "user_pointer",
    "pathname",
    "custom",
];
const CHECK_TYPES: &[&str] = &[
    "exact",
    "range",
    "error_check",
    "file_descriptor",
    "custom",
    "no_return",
];
const LOCK_SCOPES: &[&str] = &["internal", "acquires", "releases", "caller_held"];
const SIGNAL_ACTIONS: &[&str] = &[
    "default",
    "terminate",
    "coredump",
    "stop",
    "continue",
    "custom",
    "return",
    "restart",
    "queue",
    "discard",
    "transform",
];
const SIGNAL_DIRECTIONS: &[&str] = &["receive", "send", "handle", "block", "ignore"];

/// Negative errno values user space sees, by number (asm-generic/errno*.h,
/// the same on x86_64 and arm64).
const ERRNOS: &[(i128, &str)] = &[
    (1, "EPERM"),
    (2, "ENOENT"),
    (3, "ESRCH"),
    (4, "EINTR"),
    (5, "EIO"),
    (6, "ENXIO"),
    (7, "E2BIG"),
    (8, "ENOEXEC"),
    (9, "EBADF"),
    (10, "ECHILD"),
    (11, "EAGAIN"),
    (12, "ENOMEM"),
    (13, "EACCES"),
    (14, "EFAULT"),
    (16, "EBUSY"),
    (17, "EEXIST"),
    (19, "ENODEV"),
    (20, "ENOTDIR"),
    (21, "EISDIR"),
    (22, "EINVAL"),
    (23, "ENFILE"),
    (24, "EMFILE"),
    (25, "ENOTTY"),
    (27, "EFBIG"),
    (28, "ENOSPC"),
    (29, "ESPIPE"),
    (30, "EROFS"),
    (32, "EPIPE"),
    (34, "ERANGE"),
    (38, "ENOSYS"),
    (75, "EOVERFLOW"),
    (95, "EOPNOTSUPP"),
    (110, "ETIMEDOUT"),
    (115, "EINPROGRESS"),
    (125, "ECANCELED"),
    (512, "ERESTARTSYS"),
];

fn errno_of(code: i128) -> Option<&'static str> {
    ERRNOS.iter().find(|e| e.0 == code.abs()).map(|e| e.1)
}

fn syscall_name(j: &J, key: &str) -> Result<String, SpecError> {
    let name = j.need_str(key)?;
    match name.strip_prefix("sys_") {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => j.bad(key, "expected a syscall spec name sys_NAME"),
    }
}

fn upper(prefix: &str, t: &str) -> String {
    format!("{prefix}{}", t.to_ascii_uppercase())
}

fn bit_names(bits: u64, names: &[&str], prefix: &str) -> (Vec<String>, u64) {
    let mut v = Vec::new();
    let mut left = bits;
    for (i, n) in names.iter().enumerate() {
        if bits & (1 << i) != 0 {
            v.push(upper(prefix, n));
            left &= !(1 << i);
        }
    }
    (v, left)
}

fn context_flags(j: &J) -> Result<Vec<String>, SpecError> {
    match j.get("context_flags") {
        None => Ok(Vec::new()),
        // kapi tool: ["KAPI_CTX_PROCESS", ...] (older: one "A | B" string).
        Some(Value::Array(a)) => {
            let mut v = Vec::new();
            for x in a {
                let Some(s) = x.as_str() else {
                    return j.bad("context_flags", "expected strings");
                };
                v.extend(
                    s.split('|')
                        .map(|f| f.trim().to_string())
                        .filter(|f| !f.is_empty()),
                );
            }
            Ok(v)
        }
        Some(_) => {
            let (v, left) = bit_names(j.bits("context_flags")?, CONTEXTS, "KAPI_CTX_");
            if left != 0 {
                return j.bad("context_flags", &format!("unknown bits {left:#x}"));
            }
            Ok(v)
        }
    }
}

fn param(p: &J) -> Result<Param, SpecError> {
    let name = p.need_str("name")?;
    let ty = match p.token("type_class", TYPE_CLASSES)? {
        Some(t) => t,
        None => p
            .token("param_type", TYPE_CLASSES)?
            .unwrap_or_else(|| "void".into()),
    };
    let ty = ParamType::from_token(&ty).expect("every TYPE_CLASSES token is a type");
    let ct = p.token("constraint_type", super::dsl::CONSTRAINTS)?;
    let min = p.int("min_value")?;
    let max = p.int("max_value")?;
    let mut range = None;
    if matches!(ct.as_deref(), Some("range") | Some("user_string")) {
        if let (Some(lo), Some(hi)) = (min, max) {
            range = Some((Bound::Num(lo), Bound::Num(hi)));
        }
    }
    let mask = match ct.as_deref() {
        Some("mask") => Some(p.bits("valid_mask")?),
        _ => None,
    };
    let enum_values = p
        .arr("enum_values")?
        .iter()
        .map(|e| match e.v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let size = p.int("size")?.filter(|s| *s != 0).map(|s| s.to_string());
    let size_param = p.int("size_param_idx")?.map(|i| i as usize);
    let flags = ParamFlag::from_bits(p.bits("flags")?);
    let constraint = match p.get("constraint_desc") {
        Some(_) => p.str("constraint_desc")?,
        None => p.str("constraint")?,
    };
    Ok(Param {
        name,
        line: 0,
        ty,
        flags,
        constraint_type: ct.as_deref().and_then(constraint_token),
        range,
        mask,
        symbolic: None,
        enum_values,
        size,
        size_param,
        alignment: p.int("alignment")?.filter(|a| *a != 0).map(|a| a as u64),
        constraint,
        base: None,
        fault: None,
        invalid: None,
        out_of_range: None,
        in_range: None,
    })
}

fn ret(r: &J, kernel: bool) -> Result<Option<Return>, SpecError> {
    let ty = if kernel {
        r.str("type")?
    } else {
        r.str("type_name")?
    };
    let check = r
        .token("check_type", CHECK_TYPES)?
        .unwrap_or_else(|| "exact".into());
    let class = r
        .token(
            if kernel { "type_class" } else { "return_type" },
            TYPE_CLASSES,
        )?
        .unwrap_or_else(|| "void".into());
    if ty.is_empty() && check == "exact" && class == "void" {
        // No return block upstream: an all-zero object.
        return Ok(None);
    }
    let success_value = match check.as_str() {
        "exact" => r.int("success_value")?.map(Success::Exact),
        "range" => match (r.int("success_min")?, r.int("success_max")?) {
            (Some(lo), Some(hi)) if hi == i64::MAX as i128 => Some(Success::AtLeast(lo)),
            (Some(lo), Some(hi)) => Some(Success::Between(Bound::Num(lo), Bound::Num(hi))),
            (Some(lo), None) => Some(Success::AtLeast(lo)),
            _ => None,
        },
        _ => None,
    };
    Ok(Some(Return {
        ty,
        check_type: check_type_token(&check).expect("every CHECK_TYPES token is known"),
        success: success_value
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        success_value,
        desc: r.str("description")?,
        base: None,
    }))
}

fn body(j: &J, kernel: bool, w: &mut Vec<Warning>) -> Result<Spec, SpecError> {
    let mut s = Spec {
        syscall: syscall_name(j, "name")?,
        summary: j.str("description")?,
        long_desc: j.str("long_description")?,
        context_flags: context_flags(j)?,
        examples: j.str("examples")?,
        notes: j.str("notes")?,
        since: j.str("since_version")?,
        ..Spec::default()
    };
    for p in j.arr("parameters")?.iter() {
        let mut x = param(p)?;
        s.args.push((x.name.clone(), p.str("description")?));
        x.line = p.line_of("name", &Value::String(x.name.clone()));
        s.params.push(x);
    }
    let rkey = if kernel { "return" } else { "return_spec" };
    if let Some(r) = j.get(rkey) {
        s.ret = ret(&j.at(rkey, r), kernel)?;
    }
    errors(j, kernel, &mut s, w)?;
    locks(j, kernel, &mut s)?;
    signals(j, &mut s)?;
    side_effects(j, kernel, &mut s)?;
    for t in j.arr("state_transitions")? {
        s.state_trans.push(StateTrans {
            name: t.str("object")?,
            from: t.str("from_state")?,
            to: t.str("to_state")?,
            condition: t.str("condition")?,
            desc: t.str("description")?,
        });
    }
    for c in j.arr("constraints")? {
        s.constraints.push(Constraint {
            name: c.str("name")?,
            desc: c.str("description")?,
            expr: c.str("expression")?,
        });
    }
    capabilities(j, &mut s)?;
    Ok(s)
}

/// Error clauses; upstream lists an errno once per condition, joined here into one.
fn errors(j: &J, kernel: bool, s: &mut Spec, w: &mut Vec<Warning>) -> Result<(), SpecError> {
    for e in j.arr("errors")? {
        let name = e.str("name")?;
        let code = e.int(if kernel { "code" } else { "error_code" })?;
        if !super::dsl::is_errno(&name) {
            w.push(Warning {
                line: e.line_of("name", &Value::String(name.clone())),
                msg: format!("{}: error {name:?} names no errno: skipped", e.path),
            });
            continue;
        }
        if let (Some(c), Some(known)) = (code, errno_of(code.unwrap_or(0))) {
            if known != name && c != 0 {
                return e.bad("name", &format!("code {c} is {known}"));
            }
        }
        let summary = e.str("condition")?;
        let desc = e.str("description")?;
        if let Some(x) = s.errors.iter_mut().find(|x| x.name == name) {
            x.summary = format!("{}; {summary}", x.summary);
            x.desc = format!("{}\n\n{desc}", x.desc);
            continue;
        }
        s.errors.push(ErrorClause {
            line: e.line_of("name", &Value::String(name.clone())),
            name,
            summary,
            desc,
            untestable: None,
        });
    }
    Ok(())
}

/// Lock clauses (the two formats name the keys differently).
fn locks(j: &J, kernel: bool, s: &mut Spec) -> Result<(), SpecError> {
    for l in j.arr("locks")? {
        let (nk, tk) = if kernel {
            ("name", "type")
        } else {
            ("lock_name", "lock_type")
        };
        let ty = l
            .token(tk, super::dsl::LOCK_TYPES)?
            .unwrap_or_else(|| "none".into());
        s.locks.push(Lock {
            name: l.need_str(nk)?,
            ty: lock_token(&ty).expect("every LOCK_TYPES token is known"),
            scope: l.token("scope", LOCK_SCOPES)?.unwrap_or_default(),
            desc: l.str("description")?,
        });
    }
    Ok(())
}

/// Signal clauses: direction bits, action, timing and errno by name.
fn signals(j: &J, s: &mut Spec) -> Result<(), SpecError> {
    for g in j.arr("signals")? {
        let (dir, left) = bit_names(g.bits("direction")?, SIGNAL_DIRECTIONS, "KAPI_SIGNAL_");
        if left != 0 {
            return g.bad("direction", &format!("unknown bits {left:#x}"));
        }
        let action = g
            .token("action", SIGNAL_ACTIONS)?
            .map(|a| upper("KAPI_SIGNAL_ACTION_", &a))
            .unwrap_or_default();
        let timing = match g.get("timing") {
            Some(Value::Number(n)) => match n.as_u64() {
                Some(0) => "KAPI_SIGNAL_TIME_BEFORE".into(),
                Some(1) => "KAPI_SIGNAL_TIME_DURING".into(),
                Some(2) => "KAPI_SIGNAL_TIME_AFTER".into(),
                _ => return g.bad("timing", "expected 0, 1 or 2"),
            },
            _ => match g.str("timing")? {
                t if t.is_empty() => t,
                t => upper("KAPI_SIGNAL_TIME_", &t),
            },
        };
        let error = match g.int("error_on_signal")? {
            None | Some(0) => String::new(),
            Some(c) => match errno_of(c) {
                Some(n) => format!("-{n}"),
                None => c.to_string(),
            },
        };
        s.signals.push(Signal {
            name: g.need_str("signal_name")?,
            direction: dir.join(" | "),
            action,
            condition: g.str("condition")?,
            desc: g.str("description")?,
            error,
            timing,
            restartable: match g.bool("restartable")? {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => String::new(),
            },
        });
    }
    Ok(())
}

/// Side effects: the effect bits by name.
fn side_effects(j: &J, kernel: bool, s: &mut Spec) -> Result<(), SpecError> {
    for e in j.arr("side_effects")? {
        let key = if kernel { "type" } else { "effect_type" };
        let (kinds, left) = bit_names(e.bits(key)?, EFFECTS, "KAPI_EFFECT_");
        if left != 0 {
            return e.bad(key, &format!("unknown bits {left:#x}"));
        }
        s.side_effects.push(SideEffect {
            kind: if kinds.is_empty() {
                "KAPI_EFFECT_NONE".into()
            } else {
                kinds.join(" | ")
            },
            target: e.str("target")?,
            desc: e.str("description")?,
            reversible: match e.bool("reversible")? {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => String::new(),
            },
            condition: e.str("condition")?,
        });
    }
    Ok(())
}

/// Capabilities, named as the DSL names them.
fn capabilities(j: &J, s: &mut Spec) -> Result<(), SpecError> {
    for c in j.arr("capabilities")? {
        let name = c.str("name")?;
        let action = match c.get("action") {
            Some(Value::String(a)) if a.starts_with("KAPI_CAP_") => a.clone(),
            Some(Value::String(a)) => upper("KAPI_CAP_", a),
            _ => String::new(),
        };
        s.capabilities.push(Capability {
            name: match c.int("capability")? {
                Some(n) if !name.starts_with("CAP_") => format!("capability {n}"),
                _ => name.clone(),
            },
            action,
            allows: if name.starts_with("CAP_") {
                c.str("allows")?
            } else {
                name
            },
            without: c.str("without_cap")?,
            condition: c.str("check_condition")?,
        });
    }
    Ok(())
}

fn debugfs(j: &J, w: &mut Vec<Warning>) -> Result<Spec, SpecError> {
    body(j, true, w)
}

fn kapi_tool(j: &J, w: &mut Vec<Warning>) -> Result<Spec, SpecError> {
    if !j.v.is_object() {
        return err(1, "api_details: expected an object");
    }
    body(j, false, w)
}
