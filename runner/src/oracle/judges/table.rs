//! constraint.per-process.table-grows: many contexts in one process.

use super::aio_nr_check;
use crate::oracle::obs::{Missing, Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;
use kmatrix_proto::record::Fate;

pub const MANY: Judge = Judge {
    experiment: ids::TABLE_MANY,
    only: None,
    cases: &[CaseDef {
        id: case::CONSTRAINT_PER_PROCESS_TABLE_GROWS,
        clauses: &[
            "constraint:Per-process context limit",
            "side-effect:mm->ioctx_table",
        ],
    }],
    run: many,
};

/// A child creates contexts of nr_events 1 until `requested` or a failure,
/// destroys a few explicitly and exits (exit_aio releases the rest); the
/// parent reads aio-nr after it.
fn many(c: &mut Ctx, o: &Obs) -> Res<()> {
    let id = case::CONSTRAINT_PER_PROCESS_TABLE_GROWS;
    let req = o.u64(key::REQUESTED)?;
    let created = o.u64(key::CREATED)?;
    let ff = o.opt_obj(key::FIRST_FAILURE)?;
    if !c.f.aio {
        let got = match &ff {
            Some(f) => f.outcome()?,
            None => "no failure".into(),
        };
        c.case(id, vec![Check::outcome(&["ENOSYS"], &got)]);
        return Ok(());
    }
    let before = c.aio_nr(o, key::AIO_NR_BEFORE)?;
    // Each context counts 1 (nr_events = 1) toward aio-max-nr.
    let fit = c
        .max()?
        .saturating_sub(before.ok_or_else(|| Missing(key::AIO_NR_BEFORE.into()))?)
        .min(req);
    let first = match &ff {
        Some(f) => f.outcome()?,
        None => "no failure".into(),
    };
    let want_first = if fit < req { "EAGAIN" } else { "no failure" };
    let with_all = c.aio_nr(o, key::AIO_NR_WITH_ALL)?;
    let explicit = o.u64(key::EXPLICIT_DESTROYS)?;
    let after_explicit = c.aio_nr(o, key::AIO_NR_AFTER_EXPLICIT)?;
    let mut exp = aio_nr_check(c, 0, with_all.map(|w| w - explicit.min(w)), after_explicit);
    exp.name = "aio-nr after explicit io_destroy";
    let mut grown = aio_nr_check(c, created, before, with_all);
    grown.name = "aio-nr with all";
    c.case(
        id,
        vec![
            Check::eq("created", fit, created),
            Check::eq("distinct handles", created, o.u64(key::DISTINCT_HANDLES)?),
            Check::eq("distinct ring ids", created, o.u64(key::DISTINCT_RING_IDS)?),
            Check::eq("first failure", want_first.to_string(), first),
            grown,
            Check::eq(
                "explicit io_destroy failures",
                0,
                o.u64(key::EXPLICIT_DESTROY_FAILURES)?,
            ),
            exp,
            Check::eq(
                "fate",
                Fate::Exited.label(),
                o.str(key::CHILD_FATE)?.to_string(),
            ),
            aio_nr_check(c, 0, before, c.aio_nr(o, key::AIO_NR_AFTER_EXIT)?),
        ],
    );
    Ok(())
}
