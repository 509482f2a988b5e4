//! io_pgetevents.sigmask: the signal mask it installs for the wait, and
//! restores after (spec/io_pgetevents-kapi-spec.txt).

use super::super::obs::{Obs, Res};
use super::super::{CaseDef, Check, Ctx, Judge};
use super::family::{cannot_run, outcome, when};

const BLOCKED: &str = "io_pgetevents.signal.any/blocked-stays-pending";
const UNBLOCKED: &str = "io_pgetevents.error.EINTR/unblocked-signal";
const RESTORED: &str = "io_pgetevents.state-trans.signal-mask/restored";
const SIGSETSIZE: &str = "io_pgetevents.constraint.sigsetsize";
const EFAULT: &str = "io_pgetevents.error.EFAULT/sigmask-unmapped";

pub const SIGMASK: Judge = Judge {
    experiment: "io_pgetevents.sigmask",
    only: None,
    cases: &[
        CaseDef {
            id: BLOCKED,
            clauses: &["signal:any"],
        },
        CaseDef {
            id: UNBLOCKED,
            clauses: &["error:EINTR", "signal:any"],
        },
        CaseDef {
            id: RESTORED,
            clauses: &["state-trans:signal mask", "side-effect:signal mask"],
        },
        CaseDef {
            id: SIGSETSIZE,
            clauses: &["constraint:sigsetsize", "error:EINVAL"],
        },
        CaseDef {
            id: EFAULT,
            clauses: &["error:EFAULT"],
        },
    ],
    run,
};

/// Outcome, elapsed ms, handler runs and the mask after, of one call.
fn call(o: &Obs, name: &str) -> Res<(String, i64, i64, i64)> {
    let v = o.obj(name)?;
    Ok((
        outcome(&v)?,
        v.i64("elapsed_ms")?,
        v.i64("handler_runs")?,
        v.i64("mask_after")?,
    ))
}

fn run(c: &mut Ctx, o: &Obs) -> Res<()> {
    if cannot_run(c, o)? {
        return Ok(());
    }
    let r = call(o, "mask_keeps_usr1_blocked").map(|(g, ms, h, _)| {
        Check::new(
            "blocked signal",
            "OK (0 events) after the timeout; handler not run",
            format!("{g} {}, handler ran {h}x", when(ms, None)),
            g == "OK" && ms >= 90 && h == 0,
        )
    });
    c.decide(BLOCKED, r);
    let r = call(o, "mask_unblocks_usr1").map(|(g, ms, h, _)| {
        Check::new(
            "unblocked signal",
            "EINTR; handler ran once",
            format!("{g} {}, handler ran {h}x", when(ms, None)),
            g == "EINTR" && h == 1,
        )
    });
    c.decide(UNBLOCKED, r);
    let r = (|| {
        let before = o.i64("mask_before")?;
        let mut afters = Vec::new();
        for n in [
            "mask_keeps_usr1_blocked",
            "bad_sigsetsize",
            "mask_unmapped",
            "mask_unblocks_usr1",
        ] {
            afters.push(call(o, n)?.3);
        }
        Ok(Check::new(
            "mask after",
            "caller's mask unchanged after every call",
            format!("mask {before:#x} -> {afters:x?}"),
            afters.iter().all(|a| *a == before),
        ))
    })();
    c.decide(RESTORED, r);
    let r = call(o, "bad_sigsetsize").map(|(g, ..)| {
        let holds = g == "EINVAL";
        Check::new("outcome", "EINVAL", g, holds)
    });
    c.decide(SIGSETSIZE, r);
    let r = call(o, "mask_unmapped").map(|(g, ..)| {
        let holds = g == "EFAULT";
        Check::new("outcome", "EFAULT", g, holds)
    });
    c.decide(EFAULT, r);
    Ok(())
}
