//! kmatrix's test hints, laid over a spec: `spec/hints/<syscall>.toml`.
//!
//! A hint is not spec text: it tells the generic cases (spec/cases.rs)
//! what the baseline call passes and what a bad value gives, so
//! the same hints serve kmatrix's own block and a kernel tree's block of
//! that syscall. A hint naming a param or error the spec lacks is an error
//! (the spec changed under it), and so is a hint that contradicts the same
//! hint written inline in a block.
//!
//! ```toml
//! [param.ctxp]
//! base = "buf"            # value in the baseline call: a number, ctx, buf, null, pending-poll
//! fault = "EFAULT"        # errno for NULL/unmapped (read-only if written), or "none"
//! invalid = "EINVAL"      # handle param: errno for a handle naming no context
//! out-of-range = "EINVAL" # errno outside range/mask
//! in-range = "0"          # outcome of another in-range value: OK, a count or an errno
//! [return]
//! base = "OK"             # outcome of the baseline call: OK, a count or an errno
//! [error.EAGAIN]
//! untestable = "why no case can provoke it from user space"
//! ```

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Deserialize;

use super::dsl::{is_errno, is_outcome};
use super::{Fault, Spec};

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hints {
    #[serde(default)]
    pub param: BTreeMap<String, ParamHints>,
    #[serde(default, rename = "return")]
    pub ret: Option<ReturnHints>,
    #[serde(default)]
    pub error: BTreeMap<String, ErrorHints>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ParamHints {
    pub base: Option<String>,
    pub fault: Option<String>,
    pub invalid: Option<String>,
    pub out_of_range: Option<String>,
    pub in_range: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReturnHints {
    pub base: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErrorHints {
    pub untestable: Option<String>,
}

/// The hint files compiled into the binary, by syscall.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "io_cancel",
        include_str!("../../../spec/hints/io_cancel.toml"),
    ),
    (
        "io_destroy",
        include_str!("../../../spec/hints/io_destroy.toml"),
    ),
    (
        "io_getevents",
        include_str!("../../../spec/hints/io_getevents.toml"),
    ),
    (
        "io_pgetevents",
        include_str!("../../../spec/hints/io_pgetevents.toml"),
    ),
    (
        "io_setup",
        include_str!("../../../spec/hints/io_setup.toml"),
    ),
    (
        "io_submit",
        include_str!("../../../spec/hints/io_submit.toml"),
    ),
];

/// Reads a hint file; `label` names it in errors.
pub fn parse(label: &str, text: &str) -> Result<Hints> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0);
        anyhow::anyhow!("{label}:{line}: {}", e.message())
    })
}

/// The line of `[kind.name]` in the hint file, for errors.
fn line_of(text: &str, kind: &str, name: &str) -> usize {
    let want = [format!("[{kind}.{name}]"), format!("[{kind}.\"{name}\"]")];
    text.lines()
        .position(|l| want.iter().any(|w| l.trim() == w))
        .map_or(0, |i| i + 1)
}

fn errno(label: &str, line: usize, what: &str, v: &str) -> Result<String> {
    if is_errno(v) {
        Ok(v.to_string())
    } else {
        bail!("{label}:{line}: {what} {v:?} is not an errno name")
    }
}

/// Sets `slot` to `v`, unless the block already says something else.
fn set<T: PartialEq + std::fmt::Debug>(
    slot: &mut Option<T>,
    v: T,
    label: &str,
    line: usize,
    what: &str,
) -> Result<()> {
    match slot {
        Some(old) if *old != v => {
            bail!("{label}:{line}: {what} is {v:?} here but {old:?} inline in the spec block")
        }
        _ => *slot = Some(v),
    }
    Ok(())
}

/// Lays `hints` (read from `label`, whose text is `text`) over `spec`.
pub fn apply(mut spec: Spec, hints: &Hints, label: &str, text: &str) -> Result<Spec> {
    let sys = spec.syscall.clone();
    for (name, h) in &hints.param {
        let line = line_of(text, "param", name);
        let Some(p) = spec.params.iter_mut().find(|p| p.name == *name) else {
            bail!(
                "{label}:{line}: hint for param {name}, but the spec of {sys} has no param {name}"
            );
        };
        if let Some(b) = &h.base {
            let ok = matches!(b.as_str(), "ctx" | "buf" | "null" | "pending-poll")
                || b.parse::<i128>().is_ok();
            if !ok {
                bail!("{label}:{line}: param {name}: base {b:?} is not a number, ctx, buf, null or pending-poll");
            }
            set(
                &mut p.base,
                b.clone(),
                label,
                line,
                &format!("param {name} base"),
            )?;
        }
        if let Some(f) = &h.fault {
            if !p.ty.is_user_pointer() {
                bail!("{label}:{line}: param {name}: fault is for user pointers, and {name} is not one");
            }
            let f = if f == "none" {
                Fault::None
            } else {
                Fault::Errno(errno(label, line, "fault", f)?)
            };
            set(&mut p.fault, f, label, line, &format!("param {name} fault"))?;
        }
        if let Some(e) = &h.invalid {
            let e = errno(label, line, "invalid", e)?;
            set(
                &mut p.invalid,
                e,
                label,
                line,
                &format!("param {name} invalid"),
            )?;
        }
        if let Some(e) = &h.out_of_range {
            if p.range.is_none() && p.mask.is_none() {
                bail!("{label}:{line}: param {name}: out-of-range, but the spec gives {name} no range or mask");
            }
            let e = errno(label, line, "out-of-range", e)?;
            set(
                &mut p.out_of_range,
                e,
                label,
                line,
                &format!("param {name} out-of-range"),
            )?;
        }
        if let Some(o) = &h.in_range {
            if !is_outcome(o) {
                bail!("{label}:{line}: param {name}: in-range {o:?} is not OK, a count or an errno name");
            }
            set(
                &mut p.in_range,
                o.clone(),
                label,
                line,
                &format!("param {name} in-range"),
            )?;
        }
    }
    if let Some(r) = &hints.ret {
        let line = text
            .lines()
            .position(|l| l.trim() == "[return]")
            .map_or(0, |i| i + 1);
        let Some(ret) = spec.ret.as_mut() else {
            bail!(
                "{label}:{line}: hint for the return, but the spec of {sys} has no return clause"
            );
        };
        if let Some(b) = &r.base {
            if !is_outcome(b) {
                bail!("{label}:{line}: return base {b:?} is not OK, a count or an errno name");
            }
            let b = b.clone();
            set(&mut ret.base, b, label, line, "return base")?;
        }
    }
    for (name, h) in &hints.error {
        let line = line_of(text, "error", name);
        let Some(e) = spec.errors.iter_mut().find(|e| e.name == *name) else {
            bail!(
                "{label}:{line}: hint for error {name}, but the spec of {sys} has no error {name}"
            );
        };
        if let Some(u) = &h.untestable {
            set(
                &mut e.untestable,
                u.clone(),
                label,
                line,
                &format!("error {name} untestable"),
            )?;
        }
    }
    Ok(spec)
}

/// Lays kmatrix's built-in hints for `spec.syscall` (if any) over `spec`.
pub fn apply_builtin(spec: Spec) -> Result<Spec> {
    match EMBEDDED.iter().find(|(s, _)| *s == spec.syscall) {
        None => Ok(spec),
        Some((sys, text)) => {
            let label = format!("spec/hints/{sys}.toml");
            let h = parse(&label, text)?;
            apply(spec, &h, &label, text)
        }
    }
}

/// Lays the hint file of `dir/hints/<syscall>.toml` (if any) over `spec`.
pub fn apply_from_dir(spec: Spec, dir: &std::path::Path) -> Result<Spec> {
    let p = dir.join("hints").join(format!("{}.toml", spec.syscall));
    if !p.exists() {
        return Ok(spec);
    }
    let text = std::fs::read_to_string(&p)?;
    let label = p.display().to_string();
    let h = parse(&label, &text)?;
    apply(spec, &h, &label, &text)
}
