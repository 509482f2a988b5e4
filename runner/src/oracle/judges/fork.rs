//! long-desc: the context is bound to its process (mm): a forked child
//! cannot use it, a CLONE_VM thread can.

use super::{aio_nr_check, maps_shape, AIO_MAPPING};
use crate::oracle::obs::{Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;
use kmatrix_proto::record::Fate;

pub const CHILD_USE: Judge = Judge {
    experiment: ids::FORK_CHILD_USE,
    only: None,
    cases: &[
        CaseDef {
            id: case::LONG_DESC_NOT_SHARED_ACROSS_PROCESSES,
            clauses: &["long-desc:The context is bound"],
        },
        CaseDef {
            id: case::LONG_DESC_SHARED_BY_CLONE_VM_THREAD,
            clauses: &[
                "long-desc:The context is bound",
                "context-flags:KAPI_CTX_PROCESS",
            ],
        },
    ],
    run: fork,
};

fn fork(c: &mut Ctx, o: &Obs) -> Res<()> {
    let setup = o.obj(key::SETUP)?;
    let got = setup.outcome()?;
    if got != "OK" {
        if !c.f.aio {
            c.skip_rest("CONFIG_AIO=n: no context to share");
            return Ok(());
        }
        let want = c.want(setup.u64(key::NR_EVENTS)?, Some(0), false, false)?;
        for id in [
            case::LONG_DESC_NOT_SHARED_ACROSS_PROCESSES,
            case::LONG_DESC_SHARED_BY_CLONE_VM_THREAD,
        ] {
            c.case(
                id,
                vec![
                    Check::outcome(&want, &got),
                    Check::new("context to share", "yes", "no", false),
                ],
            );
        }
        return Ok(());
    }
    let g = o.obj(key::GRANDCHILD)?;
    let held = c.aio_nr(o, key::AIO_NR_AFTER_SETUP)?;
    let child_map = maps_shape(g.opt_str(key::MAPS_LINE)?);
    let inherited_ok = child_map == AIO_MAPPING || child_map == "no mapping";
    c.case(
        case::LONG_DESC_NOT_SHARED_ACROSS_PROCESSES,
        vec![
            Check::eq(
                "child io_destroy",
                "EINVAL".to_string(),
                g.sysret(key::DESTROY)?,
            ),
            Check::eq(
                "child fate",
                Fate::Exited.label(),
                g.str(key::FATE)?.to_string(),
            ),
            Check::new(
                "child's copy of the mapping",
                format!("{AIO_MAPPING} or none"),
                &child_map,
                inherited_ok,
            ),
            aio_nr_check(c, 0, held, c.aio_nr(o, key::AIO_NR_AFTER_GRANDCHILD)?),
            Check::eq(
                "parent mapping after the child",
                AIO_MAPPING.to_string(),
                maps_shape(o.opt_str(key::PARENT_MAPS_LINE)?),
            ),
            Check::eq(
                "parent io_destroy",
                "OK".to_string(),
                o.sysret(key::PARENT_DESTROY)?,
            ),
        ],
    );
    thread(c, &o.obj(key::THREAD)?)
}

/// A thread (clone with CLONE_VM) destroys the context its process made;
/// the process then finds it gone.
fn thread(c: &mut Ctx, t: &Obs) -> Res<()> {
    let id = case::LONG_DESC_SHARED_BY_CLONE_VM_THREAD;
    let setup = t.obj(key::SETUP)?;
    let nr = setup.u64(key::NR_EVENTS)?;
    let before = c.aio_nr(t, key::AIO_NR_BEFORE)?;
    let want = c.want(nr, before, false, false)?;
    let got = setup.outcome()?;
    let mut checks = vec![Check::outcome(&want, &got)];
    if got == "OK" {
        checks.push(Check::eq(
            "thread io_destroy",
            "OK".to_string(),
            t.sysret(key::THREAD_DESTROY)?,
        ));
        checks.push(Check::eq(
            "io_destroy again",
            "EINVAL".to_string(),
            t.sysret(key::AGAIN_DESTROY)?,
        ));
        checks.push(aio_nr_check(c, 0, before, c.aio_nr(t, key::AIO_NR_AFTER)?));
    }
    c.case(id, checks);
    Ok(())
}
