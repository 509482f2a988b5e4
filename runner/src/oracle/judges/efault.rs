//! EFAULT: a null, an unmapped and a read-only *ctxp.

use super::aio_nr_check;
use crate::oracle::obs::{Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;

fn bad_pointer(c: &mut Ctx, o: &Obs, id: &str, readonly: bool) -> Res<()> {
    if super::guest_skipped(c, o)? {
        return Ok(());
    }
    let nr = o.u64(key::NR_EVENTS)?;
    let before = c.aio_nr(o, key::AIO_NR_BEFORE)?;
    let after = c.aio_nr(o, key::AIO_NR_AFTER)?;
    // A read-only page holding 0 passes get_user; the spec's EFAULT "from
    // put_user()" then applies, and everything must be undone.
    let want = if readonly {
        match c.want(nr, before, false, false)? {
            w if w[0] == "OK" => vec!["EFAULT"],
            w => w,
        }
    } else {
        c.want(nr, before, false, true)?
    };
    let mut checks = vec![
        Check::outcome(&want, &o.outcome()?),
        aio_nr_check(c, 0, before, after),
    ];
    if readonly {
        let (mb, ma) = (o.u64(key::AIO_MAPS_BEFORE)?, o.u64(key::AIO_MAPS_AFTER)?);
        checks.push(Check::eq("[aio] mappings", mb, ma));
    }
    c.case(id, checks);
    Ok(())
}

pub const NULL: Judge = Judge {
    experiment: ids::EFAULT_NULL,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_EFAULT_NULL,
        clauses: &["error:EFAULT", "param:ctxp"],
    }],
    run: |c, o| bad_pointer(c, o, case::ERROR_EFAULT_NULL, false),
};

pub const UNMAPPED: Judge = Judge {
    experiment: ids::EFAULT_UNMAPPED,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_EFAULT_UNMAPPED,
        clauses: &["error:EFAULT", "param:ctxp"],
    }],
    run: |c, o| bad_pointer(c, o, case::ERROR_EFAULT_UNMAPPED, false),
};

pub const READONLY: Judge = Judge {
    experiment: ids::EFAULT_READONLY,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_EFAULT_READONLY_WRITEBACK,
        clauses: &[
            "error:EFAULT",
            "param:ctxp",
            "side-effect:process virtual memory",
        ],
    }],
    run: |c, o| bad_pointer(c, o, case::ERROR_EFAULT_READONLY_WRITEBACK, true),
};
