//! io_cancel.cases: what io_cancel does to completed, foreign and pending
//! requests, and that it never writes `result` (spec/io_cancel-kapi-spec.txt).

use super::super::obs::{Missing, Obs, Res};
use super::super::{CaseDef, Check, Ctx, Judge};
use super::family::{cannot_run, outcome_is, ret, sysret};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::{key, Success};

const COMPLETED: &str = case::IO_CANCEL_ERROR_EINVAL_COMPLETED;
const FOREIGN: &str = case::IO_CANCEL_ERROR_EINVAL_FOREIGN_KEY;
const PENDING: &str = case::IO_CANCEL_ERROR_EINPROGRESS_PENDING_POLL;
const RESULT: &str = case::IO_CANCEL_PARAM_RESULT_UNTOUCHED;

pub const CASES: Judge = Judge {
    experiment: ids::IO_CANCEL_CASES,
    only: None,
    cases: &[
        CaseDef {
            id: COMPLETED,
            clauses: &["error:EINVAL", "notes:The man page (and"],
        },
        CaseDef {
            id: FOREIGN,
            clauses: &["error:EINVAL", "long-desc:Reads iocb->aio_key and requires"],
        },
        CaseDef {
            id: PENDING,
            clauses: &[
                "error:EINPROGRESS",
                "side-effect:pending request",
                "state-trans:request",
                "return:success",
                "long-desc:Reads iocb->aio_key and requires",
                "examples:io_cancel(ctx, &cb, &ev)",
                "notes:The man page (and",
            ],
        },
        CaseDef {
            id: RESULT,
            clauses: &["param:result"],
        },
    ],
    run,
};

fn run(c: &mut Ctx, o: &Obs) -> Res<()> {
    if cannot_run(c, o)? {
        return Ok(());
    }
    c.decide(
        COMPLETED,
        outcome_is("outcome", o, key::CANCEL_COMPLETED, Success::Zero, "EINVAL"),
    );
    // A never-submitted iocb is EINVAL with or without the key check; the
    // pending poll with aio_key 1 is refused by the key check alone.
    let r: Res<Vec<Check>> = (|| {
        Ok(vec![
            outcome_is(
                "outcome",
                o,
                key::CANCEL_FOREIGN_KEY,
                Success::Zero,
                "EINVAL",
            )?,
            outcome_is(
                "pending",
                o,
                key::CANCEL_FOREIGN_KEY_PENDING,
                Success::Zero,
                "EINVAL",
            )?,
        ])
    })();
    match r {
        Ok(checks) => c.case(FOREIGN, checks),
        Err(m) => c.error(FOREIGN, m.0),
    }
    let r = (|| {
        let s = ret(o, key::SUBMIT_POLL)?;
        let k = sysret(o, key::CANCEL_PENDING_POLL, Success::Zero)?;
        let g = ret(o, key::GETEVENTS_AFTER_CANCEL)?;
        let ev = o.obj(key::CANCELLED_EVENT)?;
        let (obj, data, res) = (ev.i64(key::OBJ)?, ev.i64(key::DATA)?, ev.i64(key::RES)?);
        let me = o.i64(key::POLL_IOCB)?;
        Ok(Check::new(
            "cancelled poll",
            "EINPROGRESS; the poll's event (res 0) comes through the ring",
            format!(
                "submit {s}, cancel {k}, then {g} event(s): data {data:#x} res {res} obj==iocb {}",
                obj == me
            ),
            s == 1 && k == "EINPROGRESS" && g == 1 && obj == me && data == 0x77 && res == 0,
        ))
    })();
    c.decide(PENDING, r);
    let r = (|| {
        // Only a cancellation that succeeded could have written result.
        let k = sysret(o, key::CANCEL_PENDING_POLL, Success::Zero)?;
        if k != "EINPROGRESS" {
            return Err(Missing(format!(
                "no io_cancel succeeded (the pending poll's gave {k}): nothing shows whether result is written"
            )));
        }
        let u = o.obj(key::RESULT_UNTOUCHED)?;
        let mut z = true;
        for k in [key::DATA, key::OBJ, key::RES, key::RES2] {
            z &= u.i64(k)? == 0;
        }
        Ok(Check::new(
            "result",
            "result not written",
            format!("result all zero: {z}"),
            z,
        ))
    })();
    c.decide(RESULT, r);
    Ok(())
}
