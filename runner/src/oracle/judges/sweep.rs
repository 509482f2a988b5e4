//! param.nr_events.range: one case per nr_events of the sweep.

use super::aio_nr_check;
use crate::oracle::obs::{Missing, Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};

pub const SWEEP: Judge = Judge {
    experiment: "nr.sweep",
    only: None,
    cases: &[CaseDef {
        id: "param.nr_events.range/*",
        clauses: &[
            "param:nr_events",
            "error:EINVAL",
            "constraint:Memory for ring buffer",
        ],
    }],
    run: sweep,
};

fn sweep(c: &mut Ctx, o: &Obs) -> Res<()> {
    let steps = o.arr("steps")?;
    if steps.is_empty() {
        return Err(Missing("nr.sweep reported no steps".into()));
    }
    for s in &steps {
        let nr = s.u64("nr_events")?;
        let id = format!("param.nr_events.range/{nr}");
        if let Err(Missing(why)) = step(c, s, &id, nr) {
            c.error(&id, why);
        }
    }
    Ok(())
}

fn step(c: &mut Ctx, s: &Obs, id: &str, nr: u64) -> Res<()> {
    match s.str("fate")? {
        "exited" => {}
        "timeout" => {
            c.error(
                id,
                "the call outlived the guest's per-step limit (kmatrix.timeout)".into(),
            );
            return Ok(());
        }
        fate => {
            let mut k = Check::new("fate", "a return value", format!("process {fate}"), false);
            k.expected = "a return value (ENOMEM if the ring does not fit)".into();
            c.case(id, vec![k]);
            return Ok(());
        }
    }
    let before = c.aio_nr(s, "aio_nr_before")?;
    let after = c.aio_nr(s, "aio_nr_after")?;
    let want = c.want(nr, before, false, false)?;
    let got = s.outcome()?;
    let mut checks = vec![Check::outcome(&want, &got)];
    if got == "OK" {
        let cap = match s.opt_obj("ring")? {
            Some(r) => r.u64("nr")?.to_string(),
            None => "no ring".into(),
        };
        let holds = cap.parse::<u64>().is_ok_and(|n| n >= 2 * nr);
        checks.push(Check::new("ring", format!(">= {}", 2 * nr), cap, holds));
        checks.push(aio_nr_check(c, nr, before, after));
    } else {
        checks.push(aio_nr_check(c, 0, before, after));
    }
    c.case(id, checks);
    Ok(())
}
