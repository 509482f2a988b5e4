//! EAGAIN: nr_events above aio-max-nr, and the aio_nr + nr_events boundary.

use crate::oracle::obs::{Obs, Res};
use crate::oracle::{CaseDef, Ctx, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;

pub const EXCEEDS_MAX: Judge = Judge {
    experiment: ids::EAGAIN_EXCEEDS_MAX,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_EAGAIN_EXCEEDS_AIO_MAX_NR,
        clauses: &["error:EAGAIN"],
    }],
    run: |c, o| {
        if super::guest_skipped(c, o)? {
            return Ok(());
        }
        let checks = super::spec_call_checks(c, o)?;
        c.case(case::ERROR_EAGAIN_EXCEEDS_AIO_MAX_NR, checks);
        Ok(())
    },
};

pub const BOUNDARY: Judge = Judge {
    experiment: ids::EAGAIN_BOUNDARY,
    only: None,
    cases: &[
        CaseDef {
            id: case::CONSTRAINT_AIO_MAX_NR_OVER,
            clauses: &[
                "constraint:System-wide AIO limit (aio-max-nr)",
                "error:EAGAIN",
            ],
        },
        CaseDef {
            id: case::CONSTRAINT_AIO_MAX_NR_EXACT,
            clauses: &["constraint:System-wide AIO limit (aio-max-nr)"],
        },
    ],
    run: boundary,
};

fn boundary(c: &mut Ctx, o: &Obs) -> Res<()> {
    if super::guest_skipped(c, o)? {
        return Ok(());
    }
    for (id, key) in [
        (case::CONSTRAINT_AIO_MAX_NR_OVER, key::OVER),
        (case::CONSTRAINT_AIO_MAX_NR_EXACT, key::EXACT),
    ] {
        let call = o.obj(key)?;
        if super::call_skipped(c, &call, id)? {
            continue;
        }
        let checks = super::spec_call_checks(c, &call)?;
        c.case(id, checks);
    }
    Ok(())
}
