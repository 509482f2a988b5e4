//! io_getevents.timeouts: how the timeout and min_nr/nr shape a wait, the
//! events copy fault and a signal ending the wait
//! (spec/io_getevents-kapi-spec.txt). Waits the spec lets run for ever are
//! ended by a SIGALRM the guest arms; its length is part of the obs.

use super::super::obs::{Missing, Obs, Res};
use super::super::{CaseDef, Check, Ctx, Judge};
use super::family::{alarm_fired, cannot_run, outcome, ret, sysret, when};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::{key, Success};

/// {0, 0}: the already expired timeout.
const ZERO: &str = case::IO_GETEVENTS_PARAM_TIMEOUT_ZERO;
const NEGATIVE: &str = case::IO_GETEVENTS_PARAM_TIMEOUT_NEGATIVE;
const BEFORE_CTX: &str = case::IO_GETEVENTS_PARAM_TIMEOUT_READ_BEFORE_CTX;
const ELAPSES: &str = case::IO_GETEVENTS_PARAM_TIMEOUT_ELAPSES;
const NSEC: &str = case::IO_GETEVENTS_PARAM_TIMEOUT_NSEC_UNVALIDATED;
const MIN_NR: &str = case::IO_GETEVENTS_PARAM_MIN_NR_SEMANTICS;
const EFAULT: &str = case::IO_GETEVENTS_ERROR_EFAULT_EVENTS_COPY;
const EINTR: &str = case::IO_GETEVENTS_ERROR_EINTR_ALARM;

pub const TIMEOUTS: Judge = Judge {
    experiment: ids::IO_GETEVENTS_TIMEOUTS,
    only: None,
    cases: &[
        CaseDef {
            id: ZERO,
            clauses: &["param:timeout", "examples:io_getevents(ctx, 0, 8, ev, &ts)"],
        },
        CaseDef {
            id: NEGATIVE,
            clauses: &[
                "param:timeout",
                "long-desc:Reads *timeout first (if",
                "notes:The comment above sys_io_getevents",
            ],
        },
        CaseDef {
            id: BEFORE_CTX,
            clauses: &[
                "param:timeout",
                "error:EFAULT",
                "long-desc:Reads *timeout first (if",
            ],
        },
        CaseDef {
            id: ELAPSES,
            clauses: &["param:timeout"],
        },
        CaseDef {
            id: NSEC,
            clauses: &["param:timeout", "notes:The comment above sys_io_getevents"],
        },
        CaseDef {
            id: MIN_NR,
            clauses: &["param:min_nr", "param:nr", "state-trans:ring"],
        },
        CaseDef {
            id: EFAULT,
            clauses: &["error:EFAULT", "param:events"],
        },
        CaseDef {
            id: EINTR,
            clauses: &[
                "error:EINTR",
                "signal:any",
                "examples:io_getevents(ctx, 1, 8, ev, NULL)",
            ],
        },
    ],
    run,
};

/// ret, outcome and elapsed ms of the call recorded under `name`.
fn call(o: &Obs, name: &str) -> Res<(i64, String, i64)> {
    let v = o.obj(name)?;
    Ok((
        v.i64(key::RET)?,
        outcome(&v, Success::NonNegative)?,
        v.i64(key::ELAPSED_MS)?,
    ))
}

/// A call the guest ended with an alarm: how long the alarm was is part
/// of the measurement (a missing one is an error, not a guess).
fn alarmed(o: &Obs, name: &str) -> Res<(i64, String, i64, i64)> {
    let (r, g, ms) = call(o, name)?;
    let v = o.obj(name)?;
    if let Some(e) = v.raw().get(key::ALARM_ERRNO) {
        return Err(Missing(format!(
            "{name}: the guest could not arm its alarm (errno {e})"
        )));
    }
    Ok((r, g, ms, v.i64(key::ALARM_MS)?))
}

fn run(c: &mut Ctx, o: &Obs) -> Res<()> {
    if cannot_run(c, o)? {
        return Ok(());
    }
    // "Checks the ring once without sleeping": the thread's voluntary
    // context switches during the call, not wall time, which a loaded host
    // stretches under TCG (the elapsed time is shown, not judged).
    let r = (|| {
        let (r, g, ms) = call(o, key::EMPTY_ZERO_TIMEOUT)?;
        let sw = o.obj(key::EMPTY_ZERO_TIMEOUT)?.u64(key::NVCSW)?;
        Ok(Check::new(
            "zero-timeout",
            "0 events without sleeping (no voluntary context switch)",
            format!("{g} ret {r}, {sw} voluntary context switch(es), {ms} ms"),
            r == 0 && sw == 0,
        ))
    })();
    c.decide(ZERO, r);
    // ktime_add_safe saturates now + negative to KTIME_SEC_MAX: no limit.
    let r = alarmed(o, key::EMPTY_NEGATIVE_TIMEOUT).map(|(r, g, ms, a)| {
        Check::new(
            "negative-timeout",
            "EINTR when the guest's alarm fires (no limit, like NULL)",
            format!("{g} ret {r} {}", when(ms, Some(a))),
            g == "EINTR" && alarm_fired(ms, a),
        )
    });
    c.decide(NEGATIVE, r);
    let r = sysret(o, key::BAD_CTX_UNMAPPED_TIMEOUT, Success::NonNegative).map(|g| {
        let holds = g == "EFAULT";
        Check::new(
            "order",
            "EFAULT (timeout read before the ctx lookup)",
            g,
            holds,
        )
    });
    c.decide(BEFORE_CTX, r);
    // An hrtimer on CLOCK_MONOTONIC never expires early.
    let r = call(o, key::EMPTY_100MS).map(|(r, g, ms)| {
        Check::new(
            "100ms-timeout",
            "0 events after >= 100 ms",
            format!("{g} ret {r} {}", when(ms, None)),
            r == 0 && ms >= 100,
        )
    });
    c.decide(ELAPSES, r);
    // {-1 s, 1.1e9 ns}: invalid in both fields, accepted, and read as
    // their sum, a 100 ms wait (the guest's alarm, far later, ends a wait
    // read any other way).
    let r = alarmed(o, key::EMPTY_NSEC_UNVALIDATED).map(|(r, g, ms, a)| {
        Check::new(
            "tv_nsec",
            "0 events after >= 100 ms ({-1 s, 1.1e9 ns} not validated, read as 100 ms)",
            format!("{g} ret {r} {}", when(ms, Some(a))),
            r == 0 && ms >= 100 && !alarm_fired(ms, a),
        )
    });
    c.decide(NSEC, r);
    let r = (|| {
        let s = ret(o, key::SUBMIT3)?;
        let (a, _, _) = call(o, key::MIN1_NR2)?;
        let (b, _, ms) = call(o, key::MIN2_NR5_100MS_ONE_LEFT)?;
        let tail = o.obj(key::RING_AFTER_SUBMIT3)?.i64(key::TAIL)?;
        let h1 = o.obj(key::MIN1_NR2)?.obj(key::RING)?.i64(key::HEAD)?;
        let h2 = o
            .obj(key::MIN2_NR5_100MS_ONE_LEFT)?
            .obj(key::RING)?
            .i64(key::HEAD)?;
        Ok(Check::new(
            "min_nr/nr",
            "3 submitted; min 1 nr 2 -> 2; min 2 with 1 left -> 1 after the timeout; head follows",
            format!(
                "submit {s}; (1,2) -> {a}, head {h1}; (2,5,100ms) -> {b} {}, head {h2}; tail {tail}",
                when(ms, None)
            ),
            s == 3 && a == 2 && b == 1 && ms >= 100 && h1 == tail - 1 && h2 == tail,
        ))
    })();
    c.decide(MIN_NR, r);
    let r = (|| {
        let v = o.obj(key::EVENTS_UNMAPPED)?;
        let g = outcome(&v, Success::NonNegative)?;
        let ring = v.obj(key::RING)?;
        let (h, t) = (ring.i64(key::HEAD)?, ring.i64(key::TAIL)?);
        Ok(Check::new(
            "events copy",
            "EFAULT, event left in the ring",
            format!("{g}, head {h} tail {t}"),
            g == "EFAULT" && h != t,
        ))
    })();
    c.decide(EFAULT, r);
    let r = alarmed(o, key::EMPTY_NO_TIMEOUT_ALARM).map(|(r, g, ms, a)| {
        let holds = g == "EINTR" && alarm_fired(ms, a);
        Check::new(
            "signal",
            "EINTR when the guest's alarm fires",
            format!("{g} ret {r} {}", when(ms, Some(a))),
            holds,
        )
    });
    c.decide(EINTR, r);
    Ok(())
}
