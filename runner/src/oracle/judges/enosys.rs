//! enosys.map: every AIO syscall, called by number with all-zero and
//! all-ones arguments, is ENOSYS exactly when CONFIG_AIO=n (R5-config), and
//! the guest used the number of its arch. In a compat cell (a 32-bit probe)
//! every entry point of a call is judged: the ones with 32-bit time
//! (io_getevents, io_pgetevents's time32 one) are also ENOSYS without
//! CONFIG_COMPAT_32BIT_TIME, io_pgetevents_time64 never for that; and the
//! probe is the 32-bit one of the cell's arch, using its numbers.

use super::super::obs::{Missing, Obs, Res};
use super::super::{Case, CaseDef, Check, Ctx, Judge};
use super::family::{outcome, rule_of};
use crate::matrix::syscalls::number;
use crate::matrix::Abi;
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;
use kmatrix_proto::syscalls::{self, Entry, Syscall};

const CLAUSES: &[&str] = &["constraint:CONFIG_AIO required", "error:ENOSYS"];

const fn def(id: &'static str) -> CaseDef {
    CaseDef {
        id,
        clauses: CLAUSES,
    }
}

pub const MAP: Judge = Judge {
    experiment: ids::ENOSYS_MAP,
    only: None,
    cases: &[
        // io_setup's spec names no ENOSYS error, only the constraint.
        CaseDef {
            id: case::IO_SETUP_CONSTRAINT_CONFIG_AIO,
            clauses: &["constraint:CONFIG_AIO required"],
        },
        def(case::IO_DESTROY_CONSTRAINT_CONFIG_AIO),
        def(case::IO_SUBMIT_CONSTRAINT_CONFIG_AIO),
        def(case::IO_CANCEL_CONSTRAINT_CONFIG_AIO),
        def(case::IO_GETEVENTS_CONSTRAINT_CONFIG_AIO),
        // The notes give its numbers (333, 292), which this map checks.
        CaseDef {
            id: case::IO_PGETEVENTS_CONSTRAINT_CONFIG_AIO,
            clauses: &[
                "constraint:CONFIG_AIO required",
                "error:ENOSYS",
                "notes:glibc has no wrapper;",
            ],
        },
    ],
    run,
};

fn case_id(syscall: &str) -> String {
    format!("{syscall}.constraint.CONFIG_AIO")
}

fn run(c: &mut Ctx, o: &Obs) -> Res<()> {
    if c.f.abi == Abi::Compat {
        return run_compat(c, o);
    }
    let arch = o.str(key::ARCH)?;
    let calls = o.arr(key::CALLS)?;
    let want_enosys = !c.f.aio;
    let expected = if want_enosys {
        "ENOSYS for every argument"
    } else {
        "never ENOSYS"
    };
    for s in syscalls::AIO {
        let name = &s.name;
        let r = (|| {
            let want_nr = number(arch, name)
                .ok_or_else(|| Missing(format!("no syscall numbers for arch {arch:?}")))?;
            let mut ok = true;
            let mut seen = Vec::new();
            for k in &calls {
                if k.str(key::SYSCALL)? != *name {
                    continue;
                }
                let nr = k.i64(key::NR)?;
                let got = outcome(k, rule_of(name)?)?;
                ok &= nr == want_nr && (got == "ENOSYS") == want_enosys;
                seen.push(format!("nr {nr} {}: {got}", k.str(key::ARGS)?));
            }
            if seen.is_empty() {
                return Err(Missing(format!("no call of {name} in enosys.map")));
            }
            Ok(Check::new("calls", expected, seen.join(", "), ok))
        })();
        c.decide(&case_id(name), r);
    }
    Ok(())
}

/// The 32-bit guest arch of the cell's arch (what its compat probe must
/// report), if kmatrix has a 32-bit ABI for it.
fn compat_guest_arch(arch: &str) -> Option<String> {
    crate::matrix::arch::by_name(arch)
        .ok()?
        .compat
        .map(|c| c.guest_arch)
}

/// How a 32-bit probe names an entry point in its calls: None where the
/// call has a single one with no time argument.
fn entry_label(s: &Syscall, e: &Entry) -> Option<&'static str> {
    if e.time32 {
        Some("time32")
    } else if s.index == syscalls::IO_PGETEVENTS.index {
        Some("time64")
    } else {
        None
    }
}

/// The entry point a call names; absent where the probe names none (a
/// call with one entry point, or a 64-bit probe).
fn entry_of<'a>(k: &Obs<'a>) -> Res<Option<&'a str>> {
    if k.has(key::ENTRY) {
        k.str(key::ENTRY).map(Some)
    } else {
        Ok(None)
    }
}

/// Whether entry point `e` must be ENOSYS in this compat cell.
fn compat_wants_enosys(c: &Ctx, e: &Entry) -> Res<bool> {
    if !c.f.aio {
        return Ok(true);
    }
    if !e.time32 {
        return Ok(false);
    }
    match c.f.time32 {
        Some(on) => Ok(!on),
        None => Err(Missing(format!(
            "CONFIG_COMPAT_32BIT_TIME of this cell is unknown: {}({}) takes 32-bit time \
             and is ENOSYS without it",
            e.table_name, e.nr
        ))),
    }
}

/// enosys.map in a compat cell: per call, every entry point of the 32-bit
/// row of the arch the probe reports, which must be the cell's arch's
/// 32-bit ABI.
fn run_compat(c: &mut Ctx, o: &Obs) -> Res<()> {
    let arch = o.str(key::ARCH)?;
    let calls = o.arr(key::CALLS)?;
    let want_arch = compat_guest_arch(&c.f.arch);
    for s in syscalls::AIO {
        let r = (|| {
            let row = syscalls::numbers(arch)
                .filter(|r| r.time32.is_some())
                .ok_or_else(|| Missing(format!("no 32-bit syscall numbers for arch {arch:?}")))?;
            let mut ok = want_arch.as_deref() == Some(arch);
            let mut expected = Vec::new();
            let mut seen = Vec::new();
            let entries = row.entries(s);
            for e in &entries {
                let label = entry_label(s, e);
                let want_enosys = compat_wants_enosys(c, e)?;
                let mut any = false;
                for k in &calls {
                    if k.str(key::SYSCALL)? != s.name || entry_of(k)? != label {
                        continue;
                    }
                    any = true;
                    let nr = k.i64(key::NR)?;
                    let got = outcome(k, rule_of(s.name)?)?;
                    ok &= nr == e.nr && (got == "ENOSYS") == want_enosys;
                    let head = label.map_or(String::new(), |l| format!("{l} "));
                    seen.push(format!("{head}nr {nr} {}: {got}", k.str(key::ARGS)?));
                }
                if !any {
                    return Err(Missing(format!(
                        "no call of {} ({} entry) in enosys.map",
                        e.table_name,
                        label.unwrap_or("its")
                    )));
                }
                let head = label.map_or(String::new(), |l| format!("{l} "));
                expected.push(format!(
                    "{head}nr {}: {}",
                    e.nr,
                    if want_enosys {
                        "ENOSYS"
                    } else {
                        "never ENOSYS"
                    }
                ));
            }
            // A call with an entry point the row does not have.
            for k in &calls {
                let label = entry_of(k)?;
                if k.str(key::SYSCALL)? == s.name
                    && !entries.iter().any(|e| entry_label(s, e) == label)
                {
                    ok = false;
                    seen.push(format!("unknown entry {label:?} nr {}", k.i64(key::NR)?));
                }
            }
            let expected = format!(
                "{}: {} (probe arch {})",
                c.f.abi,
                expected.join(", "),
                want_arch
                    .as_deref()
                    .unwrap_or("none: this arch has no 32-bit ABI")
            );
            let observed = format!("probe arch {arch}: {}", seen.join(", "));
            Ok(Check::new("calls", expected, observed, ok))
        })();
        c.decide(&case_id(s.name), r);
    }
    Ok(())
}

/// "io_setup(206)=ENOSYS io_destroy(207)=ENOSYS ..." for the report, from
/// the `<syscall>.constraint.CONFIG_AIO` cases of one cell (outcomes of the
/// all-zero and all-ones calls joined by '/' where they differ). A compat
/// cell's entry points with a time argument are named by it:
/// "io_getevents/time32(247)=ENOSYS io_pgetevents/time64(416)=EINVAL ...".
pub fn map_line(cases: &[Case]) -> Option<String> {
    // A compat cell whose kernel could not exec the 32-bit probe (abi.rs).
    let first = cases
        .iter()
        .find(|c| c.id == case_id(syscalls::AIO[0].name))?;
    if first.observed.starts_with("execv ") {
        return Some(format!("no compat ABI ({})", first.observed));
    }
    let mut parts = Vec::new();
    for s in syscalls::AIO {
        let id = case_id(s.name);
        let c = cases.iter().find(|c| c.id == id)?;
        // observed: "nr 206 zeros: ENOSYS, nr 206 ones: ENOSYS", in a
        // compat cell "probe arch x86: time32 nr 247 zeros: ENOSYS, ...".
        let calls = c
            .observed
            .split_once(": ")
            .filter(|(h, _)| h.starts_with("probe arch "))
            .map_or(c.observed.as_str(), |(_, rest)| rest);
        // (entry label, nr) -> outcomes, in the order seen.
        let mut groups: Vec<(Option<&str>, &str, Vec<&str>)> = Vec::new();
        for call in calls.split(", ") {
            let (head, out) = call.split_once(": ")?;
            let w: Vec<&str> = head.split(' ').collect();
            let (label, nr) = match w.as_slice() {
                ["nr", nr, ..] => (None, *nr),
                [label, "nr", nr, ..] => (Some(*label), *nr),
                _ => return None,
            };
            match groups.iter_mut().find(|g| g.0 == label && g.1 == nr) {
                Some(g) if !g.2.contains(&out) => g.2.push(out),
                Some(_) => {}
                None => groups.push((label, nr, vec![out])),
            }
        }
        for (label, nr, outs) in groups {
            let name = label.map_or(s.name.to_string(), |l| format!("{}/{l}", s.name));
            parts.push(format!("{name}({nr})={}", outs.join("/")));
        }
    }
    Some(parts.join(" "))
}
