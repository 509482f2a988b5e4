//! setup.basic (the plain success path), ENOSYS in aio-off cells, and the
//! spec's 1024-event example.

use super::{aio_nr_check, maps_shape, AIO_MAPPING};
use crate::oracle::obs::{Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};
use kmatrix_proto::catalogue::ids;
use kmatrix_proto::obs::{key, Call, Ring};

const FOLLOW_UPS: [&str; 5] = [
    "side-effect.aio-nr",
    "side-effect.vma",
    "notes.handle-is-ring",
    "notes.capacity",
    "side-effect.reversible.io_destroy",
];

pub const SETUP_BASIC: Judge = Judge {
    experiment: ids::SETUP_BASIC,
    only: None,
    cases: &[
        CaseDef {
            id: "return.success",
            clauses: &[
                "return:success",
                "examples:io_setup(128, &ctx)",
                "state-trans:process AIO state",
                "long-desc:Creates an asynchronous I/O",
            ],
        },
        CaseDef {
            id: "side-effect.aio-nr",
            clauses: &[
                "side-effect:aio_nr (global counter)",
                "state-trans:system AIO resources",
            ],
        },
        CaseDef {
            id: "side-effect.vma",
            clauses: &[
                "side-effect:process virtual memory",
                "side-effect:anonymous inode and file",
            ],
        },
        CaseDef {
            id: "notes.handle-is-ring",
            clauses: &["notes:The returned context handle", "param:ctxp"],
        },
        CaseDef {
            id: "notes.capacity",
            clauses: &[
                "notes:The kernel internally doubles",
                "long-desc:The AIO context consists",
                "side-effect:ring buffer pages",
            ],
        },
        CaseDef {
            id: "side-effect.reversible.io_destroy",
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
    c.case("return.success", checks);
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
        "side-effect.aio-nr",
        vec![aio_nr_check(c, nr, before, after)],
    );
    let maps = o.opt_str(key::MAPS_LINE)?;
    c.case(
        "side-effect.vma",
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
        "side-effect.reversible.io_destroy",
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
            "notes.handle-is-ring",
            vec![Check::new(
                "ring",
                "ring header at the handle",
                "no readable mapping",
                false,
            )],
        );
        c.case(
            "notes.capacity",
            vec![Check::new("ring", format!(">= {need}"), "no ring", false)],
        );
        return Ok(());
    };
    let ring = Ring::read(&ring)?;
    let (magic, hl) = (ring.magic, ring.header_length);
    c.case(
        "notes.handle-is-ring",
        vec![
            Check::eq("magic", "0xa10a10a1".to_string(), format!("{magic:#x}")),
            Check::eq("header_length", 32, hl),
        ],
    );
    let cap = u64::from(ring.nr);
    c.case(
        "notes.capacity",
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
        id: "constraint.CONFIG_AIO.enosys",
        clauses: &["constraint:CONFIG_AIO required"],
    }],
    run: |c, o| {
        let got = o.outcome()?;
        c.case(
            "constraint.CONFIG_AIO.enosys",
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
        id: "examples.io_setup-1024",
        clauses: &["examples:io_setup(1024, &ctx)"],
    }],
    run: |c, o| {
        let checks = super::spec_call_checks(c, o)?;
        c.case("examples.io_setup-1024", checks);
        Ok(())
    },
};
