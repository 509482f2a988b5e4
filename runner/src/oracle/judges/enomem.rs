//! ENOMEM from a real limit: RLIMIT_AS, alone and together with aio-max-nr.

use super::aio_nr_check;
use crate::oracle::obs::{Missing, Obs, Res};
use crate::oracle::{CaseDef, Check, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;

pub const RLIMIT_AS: Judge = Judge {
    experiment: ids::ENOMEM_RLIMIT_AS,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_ENOMEM_RLIMIT_AS,
        clauses: &["error:ENOMEM", "constraint:Memory for ring buffer"],
    }],
    run: |c, o| {
        if super::guest_skipped(c, o)? {
            return Ok(());
        }
        limit_set(o)?;
        let nr = o.u64(key::NR_EVENTS)?;
        let before = c.aio_nr(o, key::AIO_NR_BEFORE)?;
        let after = c.aio_nr(o, key::AIO_NR_AFTER)?;
        // No room for the ring mapping: whatever would succeed is ENOMEM.
        let want = match c.want(nr, before, false, false)? {
            w if w[0] == "OK" => vec!["ENOMEM"],
            w => w,
        };
        c.case(
            case::ERROR_ENOMEM_RLIMIT_AS,
            vec![
                Check::outcome(&want, &o.outcome()?),
                aio_nr_check(c, 0, before, after),
            ],
        );
        Ok(())
    },
};

/// The experiment is meaningless if the limit was never set.
fn limit_set(o: &Obs) -> Res<()> {
    match o.i64(key::SETRLIMIT_ERRNO)? {
        0 => Ok(()),
        e => Err(Missing(format!(
            "setrlimit(RLIMIT_AS) failed with errno {e}: no limit to observe"
        ))),
    }
}

/// R6-order-limits: RLIMIT_AS leaves no room for the ring and aio_nr +
/// nr_events exceeds aio-max-nr. The spec does not order the two: either
/// error, never success, nothing left behind.
pub const BOTH_LIMITS: Judge = Judge {
    experiment: ids::ENOMEM_VS_EAGAIN,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_ENOMEM_OR_EAGAIN_BOTH_LIMITS,
        clauses: &["error:ENOMEM", "error:EAGAIN"],
    }],
    run: |c, o| {
        if super::guest_skipped(c, o)? {
            return Ok(());
        }
        limit_set(o)?;
        let call = o.obj(key::CALL)?;
        let before = c.aio_nr(&call, key::AIO_NR_BEFORE)?;
        let after = c.aio_nr(&call, key::AIO_NR_AFTER)?;
        let want: &[&str] = if c.f.aio {
            &["EAGAIN", "ENOMEM"]
        } else {
            &["ENOSYS"]
        };
        if c.f.aio {
            // The call really is over the policy limit (else this tests nothing).
            let (nr, max, b) = (
                call.u64(key::NR_EVENTS)?,
                c.max()?,
                before.ok_or_else(|| Missing(key::AIO_NR_BEFORE.into()))?,
            );
            if b.saturating_add(nr) <= max {
                return Err(Missing(format!("aio-nr {b} + nr_events {nr} is within aio-max-nr {max}: the policy limit does not apply")));
            }
        }
        c.case(
            case::ERROR_ENOMEM_OR_EAGAIN_BOTH_LIMITS,
            vec![
                Check::outcome(want, &call.outcome()?),
                aio_nr_check(c, 0, before, after),
            ],
        );
        Ok(())
    },
};
