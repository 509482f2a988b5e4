//! EINVAL: nr_events 0, *ctxp not 0, *ctxp holding a live context.

use super::aio_nr_check;
use crate::oracle::obs::{Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;

/// One call that must fail and leave aio-nr alone.
fn failing_call(c: &mut Ctx, o: &Obs, id: &str, ctx_nonzero: bool) -> Res<()> {
    let nr = o.u64(key::NR_EVENTS)?;
    let before = c.aio_nr(o, key::AIO_NR_BEFORE)?;
    let after = c.aio_nr(o, key::AIO_NR_AFTER)?;
    let want = c.want(nr, before, ctx_nonzero, false)?;
    let got = o.outcome()?;
    c.case(
        id,
        vec![
            Check::outcome(&want, &got),
            aio_nr_check(c, 0, before, after),
        ],
    );
    Ok(())
}

pub const NR_ZERO: Judge = Judge {
    experiment: ids::EINVAL_NR_ZERO,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_EINVAL_NR_EVENTS_ZERO,
        clauses: &["error:EINVAL", "param:nr_events"],
    }],
    run: |c, o| failing_call(c, o, case::ERROR_EINVAL_NR_EVENTS_ZERO, false),
};

pub const CTX_NONZERO: Judge = Judge {
    experiment: ids::EINVAL_CTX_NONZERO,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_EINVAL_CTXP_NONZERO,
        clauses: &["error:EINVAL", "param:ctxp"],
    }],
    run: |c, o| failing_call(c, o, case::ERROR_EINVAL_CTXP_NONZERO, true),
};

pub const CTX_EXISTING: Judge = Judge {
    experiment: ids::EINVAL_CTX_EXISTING,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_EINVAL_CTXP_EXISTING,
        clauses: &["error:EINVAL", "param:ctxp"],
    }],
    run: ctx_existing,
};

/// io_setup with *ctxp = a live handle: EINVAL, *ctxp untouched, aio-nr
/// unchanged, and the first context still there to destroy.
fn ctx_existing(c: &mut Ctx, o: &Obs) -> Res<()> {
    let id = case::ERROR_EINVAL_CTXP_EXISTING;
    let first = o.obj(key::FIRST)?;
    let got_first = first.outcome()?;
    if !c.f.aio {
        c.case(id, vec![Check::outcome(&["ENOSYS"], &got_first)]);
        return Ok(());
    }
    let nr = first.u64(key::NR_EVENTS)?;
    if got_first != "OK" {
        // The guest sizes the first context to fit aio-max-nr: it must work.
        c.case(
            id,
            vec![Check::new("first io_setup", "OK", &got_first, false)],
        );
        return Ok(());
    }
    let handle = first.u64(key::HANDLE)?;
    let second = o.obj(key::SECOND)?;
    let before = c.aio_nr(o, key::AIO_NR_BEFORE)?;
    let after = c.aio_nr(o, key::AIO_NR_AFTER)?;
    let after_destroy = c.aio_nr(o, key::AIO_NR_AFTER_DESTROY)?;
    let want = c.want(second.u64(key::NR_EVENTS)?, before, true, false)?;
    let kept = second.u64(key::HANDLE)?;
    let fd = o.obj(key::FIRST_DESTROY)?.outcome()?;
    let released = match (before, after_destroy) {
        (Some(b), Some(a)) => format!("-{}", b.saturating_sub(a)),
        _ => "unreadable".into(),
    };
    c.case(
        id,
        vec![
            Check::outcome(&want, &second.outcome()?),
            aio_nr_check(c, 0, before, after),
            Check::eq("*ctxp", format!("{handle:#x}"), format!("{kept:#x}")),
            Check::eq("first io_destroy", "OK".to_string(), fd),
            Check::eq("aio-nr after destroy", format!("-{nr}"), released),
        ],
    );
    Ok(())
}
