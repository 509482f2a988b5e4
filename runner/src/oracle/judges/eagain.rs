//! EAGAIN: nr_events above aio-max-nr, and the aio_nr + nr_events boundary.

use super::aio_nr_check;
use crate::oracle::obs::{Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};

/// One observed call judged against the spec from the aio-nr before it:
/// its outcome, and aio-nr moved by nr_events exactly when it succeeded
/// (then io_destroy works and gives them back).
pub fn judged_call(c: &Ctx, o: &Obs) -> Res<Vec<Check>> {
    let nr = o.u64("nr_events")?;
    let before = c.aio_nr(o, "aio_nr_before")?;
    let after = c.aio_nr(o, "aio_nr_after")?;
    let want = c.want(nr, before, false, false)?;
    let got = o.outcome()?;
    let ok = got == "OK";
    let mut checks = vec![
        Check::outcome(&want, &got),
        aio_nr_check(c, if ok { nr } else { 0 }, before, after),
    ];
    if ok {
        checks.push(Check::eq(
            "io_destroy",
            "OK".to_string(),
            o.sysret("destroy")?,
        ));
        let back = c.aio_nr(o, "aio_nr_after_destroy")?;
        let mut k = aio_nr_check(c, 0, before, back);
        k.name = "aio-nr after io_destroy";
        checks.push(k);
    }
    Ok(checks)
}

pub const EXCEEDS_MAX: Judge = Judge {
    experiment: "eagain.exceeds-max",
    only: None,
    cases: &[CaseDef {
        id: "error.EAGAIN.exceeds-aio-max-nr",
        clauses: &["error:EAGAIN"],
    }],
    run: |c, o| {
        if let Some(why) = super::skipped(o)? {
            c.skip_rest(why);
            return Ok(());
        }
        let checks = judged_call(c, o)?;
        c.case("error.EAGAIN.exceeds-aio-max-nr", checks);
        Ok(())
    },
};

pub const BOUNDARY: Judge = Judge {
    experiment: "eagain.boundary",
    only: None,
    cases: &[
        CaseDef {
            id: "constraint.aio-max-nr.over",
            clauses: &[
                "constraint:System-wide AIO limit (aio-max-nr)",
                "error:EAGAIN",
            ],
        },
        CaseDef {
            id: "constraint.aio-max-nr.exact",
            clauses: &["constraint:System-wide AIO limit (aio-max-nr)"],
        },
    ],
    run: boundary,
};

fn boundary(c: &mut Ctx, o: &Obs) -> Res<()> {
    if let Some(why) = super::skipped(o)? {
        c.skip_rest(why);
        return Ok(());
    }
    for (id, key) in [
        ("constraint.aio-max-nr.over", "over"),
        ("constraint.aio-max-nr.exact", "exact"),
    ] {
        let call = o.obj(key)?;
        if let Some(why) = super::skipped(&call)? {
            c.skip(id, why);
            continue;
        }
        let checks = judged_call(c, &call)?;
        c.case(id, checks);
    }
    Ok(())
}
