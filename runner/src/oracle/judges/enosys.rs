//! enosys.map: every AIO syscall, called by number with all-zero and
//! all-ones arguments, is ENOSYS exactly when CONFIG_AIO=n (R5-config), and
//! the guest used the number of its arch.

use super::super::obs::{Missing, Obs, Res};
use super::super::{Case, CaseDef, Check, Ctx, Judge};
use super::family::{outcome, rule_of};
use crate::matrix::syscalls::number;
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;
use kmatrix_proto::syscalls;

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

/// "io_setup(206)=ENOSYS io_destroy(207)=ENOSYS ..." for the report, from
/// the `<syscall>.constraint.CONFIG_AIO` cases of one cell (outcomes of the
/// all-zero and all-ones calls joined by '/' where they differ).
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
        // observed: "nr 206 zeros: ENOSYS, nr 206 ones: ENOSYS"
        let mut nr = "?";
        let mut outs: Vec<&str> = Vec::new();
        for call in c.observed.split(", ") {
            let (head, out) = call.split_once(": ")?;
            nr = head.split(' ').nth(1)?;
            if !outs.contains(&out) {
                outs.push(out);
            }
        }
        parts.push(format!("{}({nr})={}", s.name, outs.join("/")));
    }
    Some(parts.join(" "))
}
