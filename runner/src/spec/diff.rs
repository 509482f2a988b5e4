//! Where two specs of one syscall differ, clause by clause: context flags,
//! each param's type, flags and constraint (range, mask, enum, size), the
//! return's check type and success value, the error list, locks, signals,
//! side effects, state transitions, constraints and capabilities. Prose
//! (desc, long-desc, notes) is only counted: two specs written by different
//! people never share it. Hints (spec/hints/) are not spec text and are
//! not compared.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use super::source::{self, Loaded};
use super::{ParamType, Spec};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `param nr_events`, `error EINTR`, `return`, ...
    pub clause: String,
    /// Which part (`range`, `success`, ...); empty when the whole clause
    /// is in one spec only.
    pub field: String,
    /// The value in A and in B (`(absent)` when one lacks the clause).
    pub a: String,
    pub b: String,
}

const ABSENT: &str = "(absent)";

fn ch(out: &mut Vec<Change>, clause: &str, field: &str, a: String, b: String) {
    if a != b {
        out.push(Change {
            clause: clause.to_string(),
            field: field.to_string(),
            a,
            b,
        });
    }
}

/// The return type as a type, whichever form (`int`, `KAPI_TYPE_INT`).
fn ret_type(t: &str) -> String {
    ParamType::from_token(t).map_or(t.to_string(), |t| format!("{t:?}"))
}

/// A named part of a clause and how to print it.
type Field<'a, T> = (&'a str, &'a dyn Fn(&T) -> String);

/// Clauses keyed by name, compared field by field.
fn keyed<T>(
    out: &mut Vec<Change>,
    kind: &str,
    a: &[T],
    b: &[T],
    key: impl Fn(&T) -> String,
    fields: &[Field<T>],
) {
    let names: BTreeSet<String> = a.iter().chain(b).map(&key).collect();
    for n in names {
        let x = a.iter().find(|t| key(t) == n);
        let y = b.iter().find(|t| key(t) == n);
        let clause = format!("{kind} {n}");
        match (x, y) {
            (Some(x), Some(y)) => {
                for (f, get) in fields {
                    ch(out, &clause, f, get(x), get(y));
                }
            }
            (Some(_), None) => ch(out, &clause, "", "present".into(), ABSENT.into()),
            (None, Some(_)) => ch(out, &clause, "", ABSENT.into(), "present".into()),
            (None, None) => {}
        }
    }
}

/// Every structural difference between `a` and `b`, and the clauses whose
/// prose alone differs.
pub fn diff(a: &Spec, b: &Spec) -> (Vec<Change>, Vec<String>) {
    let mut out = Vec::new();
    let set = |v: &[String]| {
        let s: BTreeSet<&String> = v.iter().collect();
        s.into_iter().cloned().collect::<Vec<_>>().join(" | ")
    };
    ch(
        &mut out,
        "contexts",
        "",
        set(&a.context_flags),
        set(&b.context_flags),
    );
    let order = |s: &Spec| {
        s.args
            .iter()
            .map(|x| x.0.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    ch(&mut out, "arguments", "order", order(a), order(b));
    let opt = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    keyed(
        &mut out,
        "param",
        &a.params,
        &b.params,
        |p| p.name.clone(),
        &[
            ("type", &|p| format!("{:?}", p.ty)),
            ("flags", &|p| {
                let mut f: Vec<String> = p.flags.iter().map(|f| format!("{f:?}")).collect();
                f.sort();
                f.join(" | ")
            }),
            ("constraint-type", &|p| opt(p.constraint_type.clone())),
            ("range", &|p| {
                opt(p.range.as_ref().map(|(lo, hi)| format!("{lo}..{hi}")))
            }),
            ("mask", &|p| {
                opt(p.mask.map(|m| format!("{m:#x}")).or(p.symbolic.clone()))
            }),
            ("enum", &|p| p.enum_values.join(", ")),
            ("size", &|p| opt(p.size.clone())),
            ("size-param", &|p| opt(p.size_param.map(|i| i.to_string()))),
            ("alignment", &|p| opt(p.alignment.map(|i| i.to_string()))),
        ],
    );
    match (&a.ret, &b.ret) {
        (Some(x), Some(y)) => {
            ch(&mut out, "return", "type", ret_type(&x.ty), ret_type(&y.ty));
            ch(
                &mut out,
                "return",
                "check-type",
                x.check_type.clone(),
                y.check_type.clone(),
            );
            let sv = |r: &super::Return| {
                r.success_value
                    .as_ref()
                    .map_or("-".into(), |v| v.to_string())
            };
            ch(&mut out, "return", "success", sv(x), sv(y));
        }
        (Some(_), None) => ch(&mut out, "return", "", "present".into(), ABSENT.into()),
        (None, Some(_)) => ch(&mut out, "return", "", ABSENT.into(), "present".into()),
        (None, None) => {}
    }
    keyed(
        &mut out,
        "error",
        &a.errors,
        &b.errors,
        |e| e.name.clone(),
        &[],
    );
    keyed(
        &mut out,
        "lock",
        &a.locks,
        &b.locks,
        |l| l.name.clone(),
        &[("type", &|l| l.ty.clone())],
    );
    keyed(
        &mut out,
        "signal",
        &a.signals,
        &b.signals,
        |s| s.name.clone(),
        &[
            ("direction", &|s| s.direction.clone()),
            ("action", &|s| s.action.clone()),
            ("errno", &|s| s.error.clone()),
            ("timing", &|s| s.timing.clone()),
            ("restartable", &|s| s.restartable.clone()),
        ],
    );
    keyed(
        &mut out,
        "side-effect",
        &a.side_effects,
        &b.side_effects,
        |s| s.target.clone(),
        &[
            ("type", &|s| {
                let mut k: Vec<&str> = s.kind.split('|').map(str::trim).collect();
                k.sort();
                k.join(" | ")
            }),
            ("reversible", &|s| s.reversible.clone()),
        ],
    );
    keyed(
        &mut out,
        "state-trans",
        &a.state_trans,
        &b.state_trans,
        |s| s.name.clone(),
        &[
            ("from", &|s| s.from.clone()),
            ("to", &|s| s.to.clone()),
            ("condition", &|s| s.condition.clone()),
        ],
    );
    keyed(
        &mut out,
        "constraint",
        &a.constraints,
        &b.constraints,
        |c| c.name.clone(),
        &[("expr", &|c| c.expr.clone())],
    );
    keyed(
        &mut out,
        "capability",
        &a.capabilities,
        &b.capabilities,
        |c| c.name.clone(),
        &[("action", &|c| c.action.clone())],
    );
    // Prose: only where the clause is in both.
    let mut prose = Vec::new();
    let mut text = |what: String, x: &str, y: &str| {
        if x.split_whitespace().ne(y.split_whitespace()) {
            prose.push(what);
        }
    };
    text("long-desc".into(), &a.long_desc, &b.long_desc);
    text("notes".into(), &a.notes, &b.notes);
    for x in &a.params {
        if let Some(y) = b.param(&x.name) {
            text(format!("param {}", x.name), &x.constraint, &y.constraint);
        }
    }
    for x in &a.errors {
        if let Some(y) = b.errors.iter().find(|e| e.name == x.name) {
            text(format!("error {}", x.name), &x.desc, &y.desc);
        }
    }
    (out, prose)
}

/// One side of `kmatrix spec diff`: `builtin` or a source path.
pub fn side(which: &str) -> Result<(Vec<Loaded>, Vec<String>)> {
    if which == "builtin" {
        return Ok((source::builtin_loaded()?, vec![]));
    }
    let found = source::load(std::path::Path::new(which))?;
    Ok((found.specs, found.errors))
}

/// The text of the changes of one syscall, indented.
pub fn render(changes: &[Change], prose: &[String]) -> String {
    let mut s = String::new();
    for c in changes {
        let field = if c.field.is_empty() {
            String::new()
        } else {
            format!(" {}", c.field)
        };
        let _ = writeln!(s, "  {}{field}: {}  ->  {}", c.clause, c.a, c.b);
    }
    if !prose.is_empty() {
        let _ = writeln!(s, "  prose differs in: {}", prose.join(", "));
    }
    s
}

/// `kmatrix spec diff A B [SYSCALL]`.
pub fn command(a: &str, b: &str, syscall: Option<&str>) -> Result<super::SpecOutput> {
    let (sa, ea) = side(a)?;
    let (sb, eb) = side(b)?;
    let mut stderr = String::new();
    for e in ea.iter().chain(&eb) {
        let _ = writeln!(stderr, "error: {e}");
    }
    let names: BTreeSet<String> = sa
        .iter()
        .chain(&sb)
        .map(|l| l.spec.syscall.clone())
        .filter(|n| syscall.is_none_or(|s| s == n))
        .collect();
    let mut out = String::new();
    let mut differ = false;
    if names.is_empty() {
        let _ = writeln!(
            stderr,
            "error: no spec{} in {a} or {b}",
            syscall.map_or(String::new(), |s| format!(" for {s}"))
        );
        return Ok(super::SpecOutput {
            stdout: out,
            stderr,
            failed: true,
        });
    }
    for n in names {
        let x = sa.iter().find(|l| l.spec.syscall == n);
        let y = sb.iter().find(|l| l.spec.syscall == n);
        match (x, y) {
            (Some(x), Some(y)) => {
                let (c, p) = diff(&x.spec, &y.spec);
                let _ = writeln!(out, "== {n}: A {}  B {}", x.origin, y.origin);
                if c.is_empty() {
                    let _ = writeln!(out, "  no structural difference");
                } else {
                    differ = true;
                }
                out.push_str(&render(&c, &p));
            }
            (Some(x), None) => {
                differ = true;
                let _ = writeln!(out, "== {n}: only in A ({})", x.origin);
            }
            (None, Some(y)) => {
                differ = true;
                let _ = writeln!(out, "== {n}: only in B ({})", y.origin);
            }
            (None, None) => {}
        }
    }
    Ok(super::SpecOutput {
        stdout: out,
        stderr,
        failed: differ || !ea.is_empty() || !eb.is_empty(),
    })
}
