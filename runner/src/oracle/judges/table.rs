//! constraint.per-process.table-grows: many contexts in one process.

use super::aio_nr_check;
use crate::oracle::obs::{Missing, Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};

pub const MANY: Judge = Judge {
    experiment: "table.many",
    only: None,
    cases: &[CaseDef {
        id: "constraint.per-process.table-grows",
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
    let id = "constraint.per-process.table-grows";
    let req = o.u64("requested")?;
    let created = o.u64("created")?;
    let ff = o.opt_obj("first_failure")?;
    if !c.f.aio {
        let got = match &ff {
            Some(f) => f.outcome()?,
            None => "no failure".into(),
        };
        c.case(id, vec![Check::outcome(&["ENOSYS"], &got)]);
        return Ok(());
    }
    let before = c.aio_nr(o, "aio_nr_before")?;
    // Each context counts 1 (nr_events = 1) toward aio-max-nr.
    let fit = c
        .max()?
        .saturating_sub(before.ok_or_else(|| Missing("aio_nr_before".into()))?)
        .min(req);
    let first = match &ff {
        Some(f) => f.outcome()?,
        None => "no failure".into(),
    };
    let want_first = if fit < req { "EAGAIN" } else { "no failure" };
    let with_all = c.aio_nr(o, "aio_nr_with_all")?;
    let explicit = o.u64("explicit_destroys")?;
    let after_explicit = c.aio_nr(o, "aio_nr_after_explicit")?;
    let mut exp = aio_nr_check(c, 0, with_all.map(|w| w - explicit.min(w)), after_explicit);
    exp.name = "aio-nr after explicit io_destroy";
    let mut grown = aio_nr_check(c, created, before, with_all);
    grown.name = "aio-nr with all";
    c.case(
        id,
        vec![
            Check::eq("created", fit, created),
            Check::eq("distinct handles", created, o.u64("distinct_handles")?),
            Check::eq("distinct ring ids", created, o.u64("distinct_ring_ids")?),
            Check::eq("first failure", want_first.to_string(), first),
            grown,
            Check::eq(
                "explicit io_destroy failures",
                0,
                o.u64("explicit_destroy_failures")?,
            ),
            exp,
            Check::eq("fate", "exited", o.str("child_fate")?),
            aio_nr_check(c, 0, before, c.aio_nr(o, "aio_nr_after_exit")?),
        ],
    );
    Ok(())
}
