//! io_pgetevents.sigmask: the signal mask it installs for the wait, and
//! restores after (spec/io_pgetevents-kapi-spec.txt).

use super::super::obs::{Missing, Obs, Res};
use super::super::{CaseDef, Check, Ctx, Judge};
use super::family::{cannot_run, outcome, ret, when};

const BLOCKED: &str = "io_pgetevents.signal.any/blocked-stays-pending";
const UNBLOCKED: &str = "io_pgetevents.error.EINTR/unblocked-signal";
const RESTORED: &str = "io_pgetevents.state-trans.signal-mask/restored";
const SIGSETSIZE: &str = "io_pgetevents.constraint.sigsetsize";
const EFAULT: &str = "io_pgetevents.error.EFAULT/sigmask-unmapped";
const RING_HEAD: &str = "io_pgetevents.side-effect.ring-head";

pub const SIGMASK: Judge = Judge {
    experiment: "io_pgetevents.sigmask",
    only: None,
    cases: &[
        CaseDef {
            id: BLOCKED,
            clauses: &[
                "signal:any",
                "long-desc:Like io_getevents(), but while",
                "examples:io_pgetevents(ctx, 1, 8, ev, &ts, &s)",
            ],
        },
        CaseDef {
            id: UNBLOCKED,
            clauses: &[
                "error:EINTR",
                "signal:any",
                "long-desc:Like io_getevents(), but while",
            ],
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
        CaseDef {
            id: RING_HEAD,
            clauses: &["side-effect:ring head", "return:success"],
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
    // SIGALRM: open in the caller's mask, blocked by the temporary one,
    // due MASKED_ALARM into a longer wait. It must neither end the wait
    // nor be lost: its handler runs once, on the way out.
    let r = (|| {
        let name = "mask_blocks_open_alarm";
        let (g, ms, _, _) = call(o, name)?;
        let v = o.obj(name)?;
        if let Some(e) = v.raw().get("alarm_errno") {
            return Err(Missing(format!(
                "{name}: the guest could not arm its alarm (errno {e})"
            )));
        }
        let before = o.i64("mask_before")?;
        let (runs, timeout) = (v.i64("alarm_runs")?, v.i64("timeout_ms")?);
        const SIGALRM: i64 = 14; // the same on x86_64 and arm64
        let alrm_open = before & (1 << (SIGALRM - 1)) == 0;
        Ok(Check::new(
            "blocked signal",
            format!("OK (0 events) after the {timeout} ms timeout; the caller's open SIGALRM handled once, after"),
            format!(
                "{g} {}, SIGALRM handled {runs}x, open in the caller's mask: {alrm_open}",
                when(ms, None)
            ),
            g == "OK" && ms >= timeout && runs == 1 && alrm_open,
        ))
    })();
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
            "mask_blocks_open_alarm",
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
    let r = (|| {
        let h = o.obj("head")?;
        let (b, s, g) = (
            h.obj("ring_after_submit")?,
            ret(&h, "submit")?,
            ret(&h, "pgetevents")?,
        );
        let a = h.obj("ring_after_get")?;
        let (h0, t0) = (b.i64("head")?, b.i64("tail")?);
        let (h1, t1) = (a.i64("head")?, a.i64("tail")?);
        Ok(Check::new(
            "ring head",
            "2 ready polls in the ring; io_pgetevents(min 1, nr 1) returns 1, head +1, tail unchanged",
            format!("submit {s}, head {h0} tail {t0}; pgetevents {g}, head {h1} tail {t1}"),
            s == 2 && t0 == h0 + 2 && g == 1 && h1 == h0 + 1 && t1 == t0,
        ))
    })();
    c.decide(RING_HEAD, r);
    Ok(())
}
