//! setup.basic (the plain success path), ENOSYS in aio-off cells, and the
//! spec's 1024-event example.

use super::{aio_nr_check, maps_shape, AIO_MAPPING};
use crate::oracle::obs::{Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::{key, Call, Ring};

const FOLLOW_UPS: [&str; 5] = [
    case::SIDE_EFFECT_AIO_NR,
    case::SIDE_EFFECT_VMA,
    case::NOTES_HANDLE_IS_RING,
    case::NOTES_CAPACITY,
    case::SIDE_EFFECT_REVERSIBLE_IO_DESTROY,
];

pub const SETUP_BASIC: Judge = Judge {
    experiment: ids::SETUP_BASIC,
    only: None,
    cases: &[
        CaseDef {
            id: case::RETURN_SUCCESS,
            clauses: &[
                "return:success",
                "examples:io_setup(128, &ctx)",
                "state-trans:process AIO state",
                "long-desc:Creates an asynchronous I/O",
            ],
        },
        CaseDef {
            id: case::SIDE_EFFECT_AIO_NR,
            clauses: &[
                "side-effect:aio_nr (global counter)",
                "state-trans:system AIO resources",
            ],
        },
        CaseDef {
            id: case::SIDE_EFFECT_VMA,
            clauses: &[
                "side-effect:process virtual memory",
                "side-effect:anonymous inode and file",
            ],
        },
        CaseDef {
            id: case::NOTES_HANDLE_IS_RING,
            clauses: &["notes:The returned context handle", "param:ctxp"],
        },
        CaseDef {
            id: case::NOTES_CAPACITY,
            clauses: &[
                "notes:The kernel internally doubles",
                "long-desc:The AIO context consists",
                "side-effect:ring buffer pages",
            ],
        },
        CaseDef {
            id: case::SIDE_EFFECT_REVERSIBLE_IO_DESTROY,
            clauses: &[
                "side-effect:aio_nr (global counter)",
                "state-trans:process AIO state",
            ],
        },
    ],
    run: setup_basic,
};

/// return.success plus, when a context exists, what it looks like. Also
/// used for the 1024-event example (`prefix` names its cases).
fn setup_basic(c: &mut Ctx, o: &Obs) -> Res<()> {
    let call = Call::read(o)?;
    let nr = call.nr_events;
    let before = c.aio_nr(o, key::AIO_NR_BEFORE)?;
    let want = c.want(nr, before, false, false)?;
    let got = o.outcome()?;
    let mut checks = vec![Check::outcome(&want, &got)];
    if got == "OK" {
        let h = call.handle;
        checks.push(Check::new("handle", "!= 0", format!("{h:#x}"), h != 0));
    }
    c.case(case::RETURN_SUCCESS, checks);
    if got != "OK" {
        for id in FOLLOW_UPS {
            c.skip(
                id,
                &format!("io_setup({nr}) did not succeed in this cell ({got})"),
            );
        }
        return Ok(());
    }
    let after = c.aio_nr(o, key::AIO_NR_AFTER)?;
    c.case(
        case::SIDE_EFFECT_AIO_NR,
        vec![aio_nr_check(c, nr, before, after)],
    );
    let maps = o.opt_str(key::MAPS_LINE)?;
    c.case(
        case::SIDE_EFFECT_VMA,
        vec![Check::eq(
            "mapping",
            AIO_MAPPING.to_string(),
            maps_shape(maps),
        )],
    );
    ring_cases(c, o, nr)?;
    let d = o.sysret(key::DESTROY)?;
    let after_destroy = c.aio_nr(o, key::AIO_NR_AFTER_DESTROY)?;
    c.case(
        case::SIDE_EFFECT_REVERSIBLE_IO_DESTROY,
        vec![
            Check::eq("io_destroy", "OK".to_string(), d),
            aio_nr_check(c, 0, before, after_destroy),
        ],
    );
    Ok(())
}

/// notes.handle-is-ring and notes.capacity from the ring header.
fn ring_cases(c: &mut Ctx, o: &Obs, nr: u64) -> Res<()> {
    let cpus = c.possible_cpus()?;
    let need = (2 * nr).max(cpus * 8);
    let Some(ring) = o.opt_obj(key::RING)? else {
        c.case(
            case::NOTES_HANDLE_IS_RING,
            vec![Check::new(
                "ring",
                "ring header at the handle",
                "no readable mapping",
                false,
            )],
        );
        c.case(
            case::NOTES_CAPACITY,
            vec![Check::new("ring", format!(">= {need}"), "no ring", false)],
        );
        return Ok(());
    };
    let ring = Ring::read(&ring)?;
    let (magic, hl) = (ring.magic, ring.header_length);
    c.case(
        case::NOTES_HANDLE_IS_RING,
        vec![
            Check::eq("magic", "0xa10a10a1".to_string(), format!("{magic:#x}")),
            Check::eq("header_length", 32, hl),
        ],
    );
    let cap = u64::from(ring.nr);
    c.case(
        case::NOTES_CAPACITY,
        vec![Check::new(
            "ring",
            format!(">= {need} (2 x {nr}, {cpus} possible CPUs x 8)"),
            format!("ring nr {cap}"),
            cap >= need,
        )],
    );
    Ok(())
}

/// ENOSYS is its own clause: every call in an aio-off cell.
pub const ENOSYS: Judge = Judge {
    experiment: ids::SETUP_BASIC,
    only: Some(false),
    cases: &[CaseDef {
        id: case::CONSTRAINT_CONFIG_AIO_ENOSYS,
        clauses: &["constraint:CONFIG_AIO required"],
    }],
    run: |c, o| {
        let got = o.outcome()?;
        c.case(
            case::CONSTRAINT_CONFIG_AIO_ENOSYS,
            vec![Check::outcome(&["ENOSYS"], &got)],
        );
        Ok(())
    },
};

/// The spec's second example, io_setup(1024, &ctx): the outcome the spec
/// demands in this cell, and a ring for at least 2048 events.
pub const EXAMPLE_1024: Judge = Judge {
    experiment: ids::EXAMPLE_1024,
    only: None,
    cases: &[CaseDef {
        id: case::EXAMPLES_IO_SETUP_1024,
        clauses: &["examples:io_setup(1024, &ctx)"],
    }],
    run: |c, o| {
        let checks = super::spec_call_checks(c, o)?;
        c.case(case::EXAMPLES_IO_SETUP_1024, checks);
        Ok(())
    },
};
