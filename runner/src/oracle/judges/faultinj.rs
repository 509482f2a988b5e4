//! ENOMEM by fault injection: fail-nth (each allocation of the call in
//! turn) and failslab (the first slab allocation).

use super::aio_nr_check;
use crate::oracle::obs::{Missing, Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::{key, Ring};

const NO_AIO: &str = "CONFIG_AIO=n: no allocations to fail";

pub const FAIL_NTH: Judge = Judge {
    experiment: ids::ENOMEM_FAIL_NTH,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_ENOMEM_FAIL_NTH,
        clauses: &[
            "error:ENOMEM",
            "side-effect:kioctx structure",
            "side-effect:percpu kioctx_cpu structures",
            "side-effect:ring buffer pages",
            "side-effect:anonymous inode and file",
        ],
    }],
    run: fail_nth,
};

/// What one injected step left behind, or None if it was clean (R4).
fn injected_step(c: &Ctx, s: &Obs) -> Res<Vec<String>> {
    let k = s.u64(key::K)?;
    let nr = s.u64(key::NR_EVENTS)?;
    let got = s.outcome()?;
    let before = c.aio_nr(s, key::AIO_NR_BEFORE)?;
    let after = c.aio_nr(s, key::AIO_NR_AFTER)?;
    let (mb, ma) = (s.u64(key::AIO_MAPS_BEFORE)?, s.u64(key::AIO_MAPS_AFTER)?);
    let mut bad = Vec::new();
    match got.as_str() {
        "ENOMEM" => {
            let a = aio_nr_check(c, 0, before, after);
            if !a.holds {
                bad.push(format!(
                    "allocation {k}: aio-nr {} after ENOMEM",
                    a.observed
                ));
            }
            if ma != mb {
                bad.push(format!(
                    "allocation {k}: [aio] mappings {mb} -> {ma} after ENOMEM"
                ));
            }
        }
        "OK" => {
            // The kernel tolerated the failure: the context must work.
            let a = aio_nr_check(c, nr, before, after);
            if !a.holds {
                bad.push(format!("allocation {k}: aio-nr {} on success", a.observed));
            }
            let cap = match s.opt_obj(key::RING)? {
                Some(r) => u64::from(Ring::read(&r)?.nr),
                None => 0,
            };
            if cap < 2 * nr {
                bad.push(format!("allocation {k}: success with ring nr {cap}"));
            }
            let d = s.sysret(key::DESTROY)?;
            if d != "OK" {
                bad.push(format!("allocation {k}: io_destroy {d} after success"));
            }
            let back = c.aio_nr(s, key::AIO_NR_AFTER_DESTROY)?;
            if !aio_nr_check(c, 0, before, back).holds {
                bad.push(format!("allocation {k}: aio-nr not restored by io_destroy"));
            }
        }
        other => bad.push(format!("allocation {k} failed -> {other}")),
    }
    Ok(bad)
}

fn fail_nth(c: &mut Ctx, o: &Obs) -> Res<()> {
    let id = case::ERROR_ENOMEM_FAIL_NTH;
    if !c.f.aio {
        c.skip_rest(NO_AIO);
        return Ok(());
    }
    if super::guest_skipped(c, o)? {
        return Ok(());
    }
    let stop = o.str(key::STOP)?;
    if stop != "exhausted" {
        // Not every allocation of the call was failed: no conclusion.
        return Err(Missing(format!(
            "fail-nth stopped early ({stop}): {}",
            o.str(key::STOPPED)?
        )));
    }
    let mut seen = Vec::new();
    let mut bad = Vec::new();
    let mut injected = 0;
    for s in o.arr(key::STEPS)? {
        let k = s.u64(key::K)?;
        seen.push(format!("{k}:{}", s.outcome()?));
        // fail-nth reads 0 again once the armed allocation was failed.
        if s.u64(key::FAIL_NTH_AFTER)? == 0 {
            injected += 1;
            bad.extend(injected_step(c, &s)?);
        }
    }
    if injected == 0 {
        return Err(Missing(
            "fail-nth never fired: no allocation of io_setup was failed".into(),
        ));
    }
    c.case(
        id,
        vec![
            Check::new(
                "injected failures",
                "ENOMEM or a working context, nothing left behind (R4-fault-inject)",
                seen.join(" "),
                bad.is_empty(),
            ),
            Check::new(
                "leaks",
                "none",
                if bad.is_empty() {
                    "none".into()
                } else {
                    bad.join("; ")
                },
                bad.is_empty(),
            ),
        ],
    );
    Ok(())
}

pub const FAILSLAB: Judge = Judge {
    experiment: ids::ENOMEM_FAILSLAB,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_ENOMEM_FAILSLAB,
        clauses: &["error:ENOMEM", "side-effect:kioctx structure"],
    }],
    run: |c, o| {
        if !c.f.aio {
            c.skip_rest(NO_AIO);
            return Ok(());
        }
        if super::guest_skipped(c, o)? {
            return Ok(());
        }
        // times=1 counts down to 0 when the one failure was injected.
        match o.opt_str(key::TIMES_AFTER)? {
            Some("0") => {}
            t => return Err(Missing(format!("failslab never fired (times left: {t:?})"))),
        }
        let nr = o.u64(key::NR_EVENTS)?;
        let before = c.aio_nr(o, key::AIO_NR_BEFORE)?;
        let want = match c.want(nr, before, false, false)? {
            w if w[0] == "OK" => vec!["ENOMEM", "OK"],
            w => w,
        };
        let checks = super::call_checks(c, o, &want)?;
        c.case(case::ERROR_ENOMEM_FAILSLAB, checks);
        Ok(())
    },
};
