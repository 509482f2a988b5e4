//! Generic cases computed from a spec model: each call varies one parameter
//! of a baseline call (the params' `kmatrix-base` values). User pointers get
//! NULL, unmapped and read-only; ranges their boundaries, neighbours and the
//! u32/u64 wrap points; masks one unknown bit; context handles values that
//! name no context. The guest runs the same list from a catalogue generated
//! from this module (guest-init/src/family_catalogue.rs, kept equal by a
//! test) and reports raw ret/errno; the host judges with `expect`.

use std::fmt::Write as _;

use crate::spec::{Bound, Clause, Fault, ParamFlag, ParamType, Spec};
use anyhow::{bail, Result};

pub use kmatrix_proto::generic::Arg;

/// What the spec demands of one call with CONFIG_AIO=y.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// "OK" (ret >= 0) or this errno.
    Is(String),
    /// Anything but this errno (an in-range value must not be rejected as
    /// out of range; what else happens depends on the other arguments).
    Not(String),
}

#[derive(Debug, Clone)]
pub struct GenericCase {
    pub id: String,
    pub syscall: String,
    pub args: Vec<Arg>,
    pub clause: Clause,
    pub expect: Expect,
    /// Why this is the expected outcome (the clause text it follows).
    pub why: String,
}

/// Params whose range is judged by a hand-written experiment instead,
/// because the spec ties it to global state the generic baseline ignores.
pub const RANGES_BY_HAND: &[(&str, &str, &str)] = &[(
    "io_setup",
    "nr_events",
    "in-range results depend on fs.aio-max-nr and aio-nr; judged by the io_setup oracle's nr.sweep (param.nr_events.range/*)",
)];

/// Register values worth trying on every range: where 32- and 64-bit
/// arithmetic wraps.
const WRAPS: &[u64] = &[
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

fn default_err(spec: &Spec, errno: &str) -> Option<String> {
    spec.errors
        .iter()
        .any(|e| e.name == errno)
        .then(|| errno.to_string())
}

fn base_arg(spec: &Spec, i: usize) -> Result<Arg> {
    let p = &spec.params[i];
    let base = match p.base.as_deref() {
        Some(b) => b.to_string(),
        None => match (&p.ty, &p.range) {
            (t, _) if t.is_user_pointer() => "buf".into(),
            (_, Some((Bound::Num(lo), _))) => lo.to_string(),
            // No flag set is inside every mask.
            _ if p.mask.is_some() => "0".into(),
            _ => bail!(
                "{}: param {} has no kmatrix-base and no default",
                spec.syscall,
                p.name
            ),
        },
    };
    Ok(match base.as_str() {
        "ctx" => Arg::Ctx,
        "buf" => Arg::Buf,
        "null" => Arg::Null,
        "pending-poll" => Arg::PendingPoll,
        n => match n.parse::<i128>() {
            Ok(v) => Arg::Int(v as u64),
            Err(_) => bail!("{}: param {}: bad kmatrix-base {n:?}", spec.syscall, p.name),
        },
    })
}

/// The register value of `v` (two's complement for negatives).
fn reg(v: i128) -> u64 {
    v as u64
}

/// How the kernel reads a register value for this param.
fn semantic(ty: ParamType, r: u64) -> i128 {
    match ty {
        ParamType::Int | ParamType::Fd => r as i64 as i128,
        _ => r as i128,
    }
}

fn base_value(spec: &Spec, name: &str, base: &[Arg]) -> Result<i128> {
    let i = spec.params.iter().position(|p| p.name == name);
    match i.map(|i| (i, base[i])) {
        Some((i, Arg::Int(r))) => Ok(semantic(spec.params[i].ty, r)),
        _ => bail!(
            "{}: range bound {name} needs a numeric kmatrix-base",
            spec.syscall
        ),
    }
}

/// Every generic case for one syscall, in a stable order.
pub fn generate(spec: &Spec) -> Result<Vec<GenericCase>> {
    let sys = spec.syscall.as_str();
    let base: Vec<Arg> = (0..spec.params.len())
        .map(|i| base_arg(spec, i))
        .collect::<Result<_>>()?;
    let base_out = spec
        .ret
        .as_ref()
        .and_then(|r| r.base.clone())
        .unwrap_or_else(|| "OK".into());
    let mut out = vec![GenericCase {
        id: format!("{sys}.return.base"),
        syscall: sys.into(),
        args: base.clone(),
        clause: Clause {
            kind: "return",
            name: "success".into(),
        },
        expect: Expect::Is(base_out.clone()),
        why: "the baseline call (every param at its kmatrix-base)".into(),
    }];
    for (i, p) in spec.params.iter().enumerate() {
        let clause = Clause {
            kind: "param",
            name: p.name.clone(),
        };
        let mut push = |tag: String, arg: Arg, expect: Expect, why: String| {
            let mut args = base.clone();
            args[i] = arg;
            out.push(GenericCase {
                id: format!("{sys}.param.{}.{tag}", p.name),
                syscall: sys.into(),
                args,
                clause: clause.clone(),
                expect,
                why,
            });
        };
        if p.ty.is_user_pointer() {
            let fault = match &p.fault {
                Some(Fault::Errno(e)) => Some(e.clone()),
                Some(Fault::None) => None,
                None => match default_err(spec, "EFAULT") {
                    Some(e) => Some(e),
                    None => bail!(
                        "{sys}: pointer {} has no kmatrix-fault and no EFAULT error",
                        p.name
                    ),
                },
            };
            let bad = fault.clone().unwrap_or_else(|| base_out.clone());
            let null = if p.has(ParamFlag::Optional) {
                base_out.clone()
            } else {
                bad.clone()
            };
            push(
                "null".into(),
                Arg::Null,
                Expect::Is(null),
                "NULL pointer".into(),
            );
            push(
                "unmapped".into(),
                Arg::Unmapped,
                Expect::Is(bad.clone()),
                "unmapped pointer".into(),
            );
            let ro = match (&fault, p.written()) {
                (Some(e), true) => e.clone(),
                _ => base_out.clone(),
            };
            // A read-only copy of what the baseline passes, so that only
            // the page's protection differs from the baseline.
            let ro_arg = match base[i] {
                Arg::PendingPoll => Arg::ReadOnlyPendingPoll,
                _ => Arg::ReadOnly,
            };
            push(
                "readonly".into(),
                ro_arg,
                Expect::Is(ro),
                format!("read-only page; written by the kernel: {}", p.written()),
            );
            continue;
        }
        if let Some(inv) = p.invalid.clone() {
            for (tag, arg) in [
                ("zero", Arg::Int(0)),
                ("ones", Arg::Int(u64::MAX)),
                ("unmapped", Arg::Unmapped),
                ("not-a-ring", Arg::Buf),
                ("destroyed", Arg::DeadCtx),
            ] {
                push(
                    format!("invalid/{tag}"),
                    arg,
                    Expect::Is(inv.clone()),
                    "handle that names no live context".into(),
                );
            }
        }
        if let Some(mask) = p.mask {
            let e = match p
                .out_of_range
                .clone()
                .or_else(|| default_err(spec, "EINVAL"))
            {
                Some(e) => e,
                None => bail!("{sys}: mask {} has no kmatrix-out-of-range", p.name),
            };
            if let Some(bit) = (0..64).find(|b| mask & (1u64 << b) == 0) {
                let b0 = match base[i] {
                    Arg::Int(v) => v,
                    _ => 0,
                };
                push(
                    format!("mask/unknown-bit-{bit}"),
                    Arg::Int(b0 | 1u64 << bit),
                    Expect::Is(e),
                    format!("bit {bit} is outside mask {mask:#x}"),
                );
            }
        }
        let Some((lo, hi)) = &p.range else { continue };
        if let Some((_, _, why)) = RANGES_BY_HAND
            .iter()
            .find(|(s, n, _)| *s == sys && *n == p.name)
        {
            let _ = why; // listed in `kmatrix spec`; no generic range cases
            continue;
        }
        // A bound only the kernel's compiler can evaluate: no range cases.
        if matches!(lo, Bound::Symbol(_)) || matches!(hi, Bound::Symbol(_)) {
            continue;
        }
        let resolve = |b: &Bound| match b {
            Bound::Num(v) => Ok(*v),
            Bound::Param(q) => base_value(spec, q, &base),
            Bound::Symbol(s) => bail!("{sys}: range bound {s} cannot be evaluated"),
        };
        let (lo, hi) = (resolve(lo)?, resolve(hi)?);
        let e = match p
            .out_of_range
            .clone()
            .or_else(|| default_err(spec, "EINVAL"))
        {
            Some(e) => e,
            None => bail!("{sys}: range {} has no kmatrix-out-of-range", p.name),
        };
        let mut regs: Vec<u64> = Vec::new();
        for v in [lo - 1, lo, lo + 1, hi - 1, hi, hi + 1] {
            if v >= i64::MIN as i128 && v <= u64::MAX as i128 {
                regs.push(reg(v));
            }
        }
        regs.extend_from_slice(WRAPS);
        let mut seen = Vec::new();
        for r in regs {
            let v = semantic(p.ty, r);
            if seen.contains(&v) {
                continue;
            }
            seen.push(v);
            let inside = lo <= v && v <= hi;
            // Inside the range: the baseline's own value gives the
            // baseline's outcome; another one what the spec's
            // kmatrix-in-range fixes, else only "not out of range".
            let at_base = base[i] == Arg::Int(r);
            let expect = match (inside, at_base, &p.in_range) {
                (false, ..) => Expect::Is(e.clone()),
                (true, true, _) => Expect::Is(base_out.clone()),
                (true, false, Some(o)) => Expect::Is(o.clone()),
                (true, false, None) => Expect::Not(e.clone()),
            };
            push(
                format!("range/{v}"),
                Arg::Int(r),
                expect,
                format!(
                    "range {lo}..{hi}: {}",
                    if inside { "inside" } else { "outside" }
                ),
            );
        }
    }
    Ok(out)
}

/// Every generic case of every spec.
pub fn generate_all(specs: &[Spec]) -> Result<Vec<GenericCase>> {
    let mut v = Vec::new();
    for s in specs {
        v.extend(generate(s)?);
    }
    Ok(v)
}

/// The guest's copy of the list (guest-init/src/family_catalogue.rs):
/// std-only Rust the guest compiles in; ids and arguments only.
pub fn guest_catalogue(cases: &[GenericCase]) -> String {
    let mut s = String::from(
        "//! @generated by `kmatrix spec --guest-catalogue` from spec/*-kapi-spec.txt\n\
         //! (runner/src/spec/cases.rs); do not edit. A runner test fails when it is stale.\n\n\
         use kmatrix_proto::generic::Arg as A;\n\n\
         pub const GENERIC: &[(&str, &str, &[A])] = &[\n",
    );
    for c in cases {
        let args: Vec<String> = c
            .args
            .iter()
            .map(|a| match a {
                Arg::Int(v) => format!("A::Int({v:#x})"),
                other => format!("A::{other:?}"),
            })
            .collect();
        let _ = writeln!(
            s,
            "    ({:?}, {:?}, &[{}]),",
            c.id,
            c.syscall,
            args.join(", ")
        );
    }
    s.push_str("];\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{default_dir, load_dir};

    fn all() -> Vec<GenericCase> {
        generate_all(&load_dir(&default_dir()).unwrap()).unwrap()
    }

    fn find<'a>(v: &'a [GenericCase], id: &str) -> &'a GenericCase {
        v.iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no case {id}"))
    }

    #[test]
    fn guest_catalogue_is_current() {
        let path = default_dir().join("../guest-init/src/family_catalogue.rs");
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        let want = guest_catalogue(&all());
        assert!(
            have == want,
            "{} is stale: run `kmatrix spec --guest-catalogue > {}`",
            path.display(),
            path.display()
        );
    }

    #[test]
    fn ids_unique_and_prefixed() {
        let v = all();
        let mut ids: Vec<&str> = v.iter().map(|c| c.id.as_str()).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate generic ids");
        assert!(v
            .iter()
            .all(|c| c.id.starts_with(&format!("{}.", c.syscall))));
    }

    #[test]
    fn expectations_follow_the_spec() {
        let v = all();
        // pointers
        let ex = |id: &str| find(&v, id).expect.clone();
        let is = |s: &str| Expect::Is(s.into());
        assert_eq!(ex("io_setup.param.ctxp.null"), is("EFAULT"));
        assert_eq!(ex("io_setup.param.ctxp.readonly"), is("EFAULT"));
        assert_eq!(ex("io_getevents.param.timeout.null"), is("0"));
        assert_eq!(ex("io_getevents.param.timeout.unmapped"), is("EFAULT"));
        assert_eq!(ex("io_getevents.param.timeout.readonly"), is("0"));
        assert_eq!(ex("io_submit.param.iocbpp.null"), is("0"));
        assert_eq!(ex("io_cancel.param.iocb.null"), is("EFAULT"));
        // io_cancel's baseline cancels a pending poll (EINPROGRESS), so a
        // bad ctx_id or iocb must change the outcome, and result is never
        // touched.
        assert_eq!(ex("io_cancel.param.result.unmapped"), is("EINPROGRESS"));
        assert_eq!(ex("io_cancel.param.ctx_id.invalid/zero"), is("EINVAL"));
        assert_eq!(ex("io_cancel.param.iocb.readonly"), is("EINPROGRESS"));
        assert_eq!(
            find(&v, "io_cancel.param.iocb.readonly").args[1],
            Arg::ReadOnlyPendingPoll
        );
        assert_eq!(
            find(&v, "io_cancel.param.ctx_id.invalid/zero").args[1],
            Arg::PendingPoll
        );
        // ranges, with wrap points read as the kernel's long
        assert_eq!(ex("io_submit.param.nr.range/-1"), is("EINVAL"));
        // In range: the baseline's own value gives its outcome (0 iocbs);
        // any other reads iocbpp[0], NULL in the zeroed array: EFAULT.
        assert_eq!(ex("io_submit.param.nr.range/0"), is("0"));
        assert_eq!(ex("io_submit.param.nr.range/1"), is("EFAULT"));
        assert_eq!(
            ex("io_submit.param.nr.range/9223372036854775807"),
            is("EFAULT")
        );
        // An empty ring, min_nr 0, a zero timeout: 0 events for any nr.
        assert_eq!(ex("io_getevents.param.nr.range/1"), is("0"));
        assert_eq!(ex("io_pgetevents.param.nr.range/2147483648"), is("0"));
        assert!(!v.iter().any(|c| matches!(c.expect, Expect::Not(_))));
        assert_eq!(
            ex("io_submit.param.nr.range/-9223372036854775808"),
            is("EINVAL")
        );
        assert_eq!(
            find(&v, "io_submit.param.nr.range/-1").args[1],
            Arg::Int(u64::MAX)
        );
        assert_eq!(ex("io_getevents.param.min_nr.range/1"), is("EINVAL"));
        assert_eq!(ex("io_getevents.param.min_nr.range/0"), is("0"));
        assert_eq!(ex("io_destroy.param.ctx.invalid/destroyed"), is("EINVAL"));
        assert_eq!(ex("io_cancel.return.base"), is("EINPROGRESS"));
        assert!(!v
            .iter()
            .any(|c| c.id.starts_with("io_setup.param.nr_events.range")));
    }

    #[test]
    fn mask_gets_one_unknown_bit() {
        let text = "/**\n * sys_x - X\n * @f: flags\n *\n * param: f\n *   type: KAPI_TYPE_UINT\n *   flags: KAPI_PARAM_IN\n *   mask: 0x3\n *   kmatrix-base: 1\n *   kmatrix-out-of-range: EINVAL\n *\n * return:\n *   type: KAPI_TYPE_INT\n */\n";
        let s = crate::spec::parse(text).unwrap();
        let v = generate(&s).unwrap();
        let c = find(&v, "x.param.f.mask/unknown-bit-2");
        assert_eq!(c.args, vec![Arg::Int(0b101)]);
        assert_eq!(c.expect, Expect::Is("EINVAL".into()));
    }
}
