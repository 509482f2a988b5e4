//! The context's life: io_destroy undoes the mapping, process exit releases
//! everything, and a SIGKILL during io_setup leaves nothing behind.

use super::{aio_nr_check, maps_shape};
use crate::oracle::obs::{Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;
use kmatrix_proto::record::Fate;

pub const DESTROY: Judge = Judge {
    experiment: ids::SIDE_EFFECT_DESTROY,
    only: None,
    cases: &[CaseDef {
        id: case::SIDE_EFFECT_VMA_REMOVED_BY_IO_DESTROY,
        clauses: &["side-effect:process virtual memory"],
    }],
    run: destroy,
};

fn destroy(c: &mut Ctx, o: &Obs) -> Res<()> {
    let got = o.outcome()?;
    if got != "OK" {
        let nr = o.u64(key::NR_EVENTS)?;
        c.skip_rest(&format!(
            "io_setup({nr}) did not succeed in this cell ({got})"
        ));
        return Ok(());
    }
    let d = o.sysret(key::DESTROY)?;
    let line = o.opt_str(key::MAPS_LINE_AFTER_DESTROY)?;
    let (mb, ma) = (
        o.u64(key::AIO_MAPS_BEFORE)?,
        o.u64(key::AIO_MAPS_AFTER_DESTROY)?,
    );
    c.case(
        case::SIDE_EFFECT_VMA_REMOVED_BY_IO_DESTROY,
        vec![
            Check::eq("io_destroy", "OK".to_string(), d),
            Check::eq("mapping after", "no mapping".to_string(), maps_shape(line)),
            Check::eq("[aio] mappings", mb, ma),
        ],
    );
    Ok(())
}

pub const EINTR: Judge = Judge {
    experiment: ids::EINTR_SIGKILL,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_EINTR_SIGKILL_LEAVES_NO_TRACE,
        clauses: &["error:EINTR", "signal:SIGKILL", "lock:mmap_lock"],
    }],
    run: eintr,
};

/// A process spinning in io_setup(1) is SIGKILLed: it must die of that
/// signal, and every context it made (at least one) must be released.
fn eintr(c: &mut Ctx, o: &Obs) -> Res<()> {
    if !c.f.aio {
        c.skip_rest("CONFIG_AIO=n: io_setup returns ENOSYS at once, nothing to interrupt");
        return Ok(());
    }
    let before = c.aio_nr(o, key::AIO_NR_BEFORE)?;
    let after = c.aio_nr(o, key::AIO_NR_AFTER)?;
    let made = o.u64(key::SETUPS_OK)?;
    // No context before the kill: nothing whose release could be seen. A
    // slow cell (a debug kernel under TCG) gets there, and so would an
    // io_setup(1) that never returns: the case cannot tell, so it says so.
    if made == 0 {
        c.error(
            case::ERROR_EINTR_SIGKILL_LEAVES_NO_TRACE,
            format!(
                "no io_setup(1) returned before the kill ({} made): no context whose release could be checked",
                key::SETUPS_OK
            ),
        );
        return Ok(());
    }
    c.case(
        case::ERROR_EINTR_SIGKILL_LEAVES_NO_TRACE,
        vec![
            aio_nr_check(c, 0, before, after),
            Check::eq(
                "fate",
                Fate::Signal(9).label(),
                o.str(key::GRANDCHILD_FATE)?.to_string(),
            ),
            Check::eq("killed by the parent", true, o.bool(key::KILLED_BY_PARENT)?),
        ],
    );
    Ok(())
}

pub const EXIT_RELEASES: Judge = Judge {
    experiment: ids::SIDE_EFFECT_EXIT_RELEASES,
    only: None,
    cases: &[CaseDef {
        id: case::STATE_TRANS_PROCESS_EXIT_RELEASES,
        clauses: &[
            "state-trans:process AIO state",
            "side-effect:aio_nr (global counter)",
        ],
    }],
    run: |c, o| {
        let setup = o.obj(key::SETUP)?;
        let nr = setup.u64(key::NR_EVENTS)?;
        let before = c.aio_nr(o, key::AIO_NR_BEFORE)?;
        let want = c.want(nr, before, false, false)?;
        let got = setup.outcome()?;
        let mut checks = vec![
            Check::outcome(&want, &got),
            Check::eq(
                "fate",
                Fate::Exited.label(),
                o.str(key::GRANDCHILD_FATE)?.to_string(),
            ),
        ];
        if got == "OK" {
            let mut held = aio_nr_check(c, nr, before, c.aio_nr(o, key::AIO_NR_DURING)?);
            held.name = "aio-nr while held";
            checks.push(held);
            checks.push(aio_nr_check(
                c,
                0,
                before,
                c.aio_nr(o, key::AIO_NR_AFTER_EXIT)?,
            ));
        }
        c.case(case::STATE_TRANS_PROCESS_EXIT_RELEASES, checks);
        Ok(())
    },
};
