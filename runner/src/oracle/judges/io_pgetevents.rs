//! io_pgetevents.sigmask: the signal mask it installs for the wait, and
//! restores after (spec/io_pgetevents-kapi-spec.txt).

use super::super::obs::{Missing, Obs, Res};
use super::super::{CaseDef, Check, Ctx, Judge};
use super::family::{cannot_run, outcome, ret, when};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::{key, Success};

const BLOCKED: &str = case::IO_PGETEVENTS_SIGNAL_ANY_BLOCKED_STAYS_PENDING;
const UNBLOCKED: &str = case::IO_PGETEVENTS_ERROR_EINTR_UNBLOCKED_SIGNAL;
const RESTORED: &str = case::IO_PGETEVENTS_STATE_TRANS_SIGNAL_MASK_RESTORED;
const SIGSETSIZE: &str = case::IO_PGETEVENTS_CONSTRAINT_SIGSETSIZE;
const EFAULT: &str = case::IO_PGETEVENTS_ERROR_EFAULT_SIGMASK_UNMAPPED;
const RING_HEAD: &str = case::IO_PGETEVENTS_SIDE_EFFECT_RING_HEAD;

pub const SIGMASK: Judge = Judge {
    experiment: ids::IO_PGETEVENTS_SIGMASK,
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
        outcome(&v, Success::NonNegative)?,
        v.i64(key::ELAPSED_MS)?,
        v.i64(key::HANDLER_RUNS)?,
        v.i64(key::MASK_AFTER)?,
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
        let name = key::MASK_BLOCKS_OPEN_ALARM;
        let (g, ms, _, _) = call(o, name)?;
        let v = o.obj(name)?;
        if let Some(e) = v.raw().get(key::ALARM_ERRNO) {
            return Err(Missing(format!(
                "{name}: the guest could not arm its alarm (errno {e})"
            )));
        }
        // A vCPU stalled past the alarm before the call: the handler ran
        // first and the call had nothing to hold back.
        if v.i64(key::ALARM_RUNS_BEFORE_CALL)? != 0 {
            return Err(Missing(format!(
                "{name}: the alarm fired before io_pgetevents was entered (a stalled vCPU): nothing shows the temporary mask"
            )));
        }
        let before = o.i64(key::MASK_BEFORE)?;
        let (runs, timeout) = (v.i64(key::ALARM_RUNS)?, v.i64(key::TIMEOUT_MS)?);
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
    let r = call(o, key::MASK_UNBLOCKS_USR1).map(|(g, ms, h, _)| {
        Check::new(
            "unblocked signal",
            "EINTR; handler ran once",
            format!("{g} {}, handler ran {h}x", when(ms, None)),
            g == "EINTR" && h == 1,
        )
    });
    c.decide(UNBLOCKED, r);
    let r = (|| {
        let before = o.i64(key::MASK_BEFORE)?;
        let mut afters = Vec::new();
        for n in [
            key::MASK_BLOCKS_OPEN_ALARM,
            key::BAD_SIGSETSIZE,
            key::MASK_UNMAPPED,
            key::MASK_UNBLOCKS_USR1,
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
    let r = call(o, key::BAD_SIGSETSIZE).map(|(g, ..)| {
        let holds = g == "EINVAL";
        Check::new("outcome", "EINVAL", g, holds)
    });
    c.decide(SIGSETSIZE, r);
    let r = call(o, key::MASK_UNMAPPED).map(|(g, ..)| {
        let holds = g == "EFAULT";
        Check::new("outcome", "EFAULT", g, holds)
    });
    c.decide(EFAULT, r);
    let r = (|| {
        let h = o.obj(key::HEAD)?;
        let (b, s, g) = (
            h.obj(key::RING_AFTER_SUBMIT)?,
            ret(&h, key::SUBMIT)?,
            ret(&h, key::PGETEVENTS)?,
        );
        let a = h.obj(key::RING_AFTER_GET)?;
        let (h0, t0) = (b.i64(key::HEAD)?, b.i64(key::TAIL)?);
        let (h1, t1) = (a.i64(key::HEAD)?, a.i64(key::TAIL)?);
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
