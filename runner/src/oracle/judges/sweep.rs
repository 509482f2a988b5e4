//! param.nr_events.range: one case per nr_events of the sweep.

use crate::oracle::obs::{Missing, Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::{self, key};
use kmatrix_proto::record::Fate;

pub const SWEEP: Judge = Judge {
    experiment: ids::NR_SWEEP,
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
    let steps = o.arr(key::STEPS)?;
    if steps.is_empty() {
        return Err(Missing("nr.sweep reported no steps".into()));
    }
    for s in &steps {
        let nr = s.u64(key::NR_EVENTS)?;
        let id = format!("{}{nr}", case::PARAM_NR_EVENTS_RANGE);
        if let Err(Missing(why)) = step(c, s, &id, nr) {
            c.error(&id, why);
        }
    }
    Ok(())
}

fn step(c: &mut Ctx, s: &Obs, id: &str, nr: u64) -> Res<()> {
    let fate = s.str(key::FATE)?;
    match obs::fate_of(fate) {
        Ok(Fate::Exited) => {}
        Ok(Fate::Timeout) => {
            c.error(
                id,
                "the call outlived the guest's per-step limit (kmatrix.timeout)".into(),
            );
            return Ok(());
        }
        _ => {
            let mut k = Check::new("fate", "a return value", format!("process {fate}"), false);
            k.expected = "a return value (ENOMEM if the ring does not fit)".into();
            c.case(id, vec![k]);
            return Ok(());
        }
    }
    let want = c.want(nr, c.aio_nr(s, key::AIO_NR_BEFORE)?, false, false)?;
    let checks = super::call_checks(c, s, &want)?;
    c.case(id, checks);
    Ok(())
}
