//! io_destroy.twice: a context destroyed once works and gives its events
//! back; the second call finds nothing (spec/io_destroy-kapi-spec.txt).
//! (io_destroy.side-effect.in-flight/polls is judged in io_submit.rs, from
//! the experiment that fills a context with polls.)

use super::super::obs::{Missing, Obs, Res};
use super::super::{CaseDef, Check, Ctx, Judge};
use super::family::{cannot_run, outcome_is};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::{key, Success};

const FIRST: &str = case::IO_DESTROY_RETURN_SUCCESS_FIRST;
const SECOND: &str = case::IO_DESTROY_STATE_TRANS_CONTEXT_SECOND_EINVAL;
const AIO_NR: &str = case::IO_DESTROY_SIDE_EFFECT_AIO_NR;
const VMA: &str = case::IO_DESTROY_SIDE_EFFECT_VMA;

pub const TWICE: Judge = Judge {
    experiment: ids::IO_DESTROY_TWICE,
    only: None,
    cases: &[
        CaseDef {
            id: FIRST,
            clauses: &["return:success", "examples:io_destroy(ctx)"],
        },
        CaseDef {
            id: SECOND,
            clauses: &[
                "state-trans:context",
                "error:EINVAL",
                "long-desc:Looks ctx up in",
            ],
        },
        CaseDef {
            id: AIO_NR,
            clauses: &[
                "side-effect:aio_nr (global counter)",
                "notes:The man page's EFAULT",
            ],
        },
        CaseDef {
            id: VMA,
            clauses: &["side-effect:process virtual memory"],
        },
    ],
    run,
};

fn run(c: &mut Ctx, o: &Obs) -> Res<()> {
    if cannot_run(c, o)? {
        return Ok(());
    }
    c.decide(
        FIRST,
        outcome_is("outcome", o, key::FIRST, Success::Zero, "OK"),
    );
    c.decide(
        SECOND,
        outcome_is("outcome", o, key::SECOND, Success::Zero, "EINVAL"),
    );
    let r = (|| {
        let (b, l, a) = (
            o.i64(key::AIO_NR_BEFORE)?,
            o.i64(key::AIO_NR_LIVE)?,
            o.i64(key::AIO_NR_AFTER)?,
        );
        Ok(Check::new(
            "aio-nr",
            "aio-nr rises, then back to its value before",
            format!("aio-nr {b} -> {l} -> {a}"),
            a == b && l > b,
        ))
    })();
    c.decide(AIO_NR, r);
    let r = o.bool(key::RING_MAPPED_AFTER).map(|m| {
        Check::new(
            "ring mapping",
            "ring unmapped",
            format!("ring mapped after destroy: {m}"),
            !m,
        )
    });
    c.decide(VMA, r);
    Ok(())
}

const UNDER_TIMER: &str = case::IO_DESTROY_SIGNAL_ANY_INTERVAL_TIMER;

pub const SIGNAL: Judge = Judge {
    experiment: ids::IO_DESTROY_SIGNAL,
    only: None,
    cases: &[CaseDef {
        id: UNDER_TIMER,
        clauses: &["signal:any"],
    }],
    run: signal,
};

/// io_destroy under a 1 ms interval timer: 0, not EINTR, with at least one
/// SIGALRM handled on the way out (else nothing landed in the wait and the
/// case tested nothing: an error naming that).
fn signal(c: &mut Ctx, o: &Obs) -> Res<()> {
    if cannot_run(c, o)? {
        return Ok(());
    }
    let r = (|| {
        if let Some(e) = o.raw().get(key::TIMER_ERRNO) {
            return Err(Missing(format!(
                "the guest could not start its interval timer (errno {e})"
            )));
        }
        let ticks = o.i64(key::TICKS_DURING)?;
        let (us, tries) = (o.i64(key::ELAPSED_US)?, o.i64(key::TRIES)?);
        if ticks == 0 {
            return Err(Missing(format!(
                "ticks_during: no SIGALRM arrived during io_destroy in {tries} tries (last one took {us} us): nothing tested"
            )));
        }
        let mut k = outcome_is("outcome", o, key::DESTROY, Success::Zero, "OK")?;
        k.expected = "OK with a signal arriving during the wait (uninterruptible)".into();
        // No tick count: it differs run to run, the verdict does not.
        k.observed = format!("{}, SIGALRM during the call", k.observed);
        Ok(k)
    })();
    c.decide(UNDER_TIMER, r);
    Ok(())
}
