//! The ring mapping as a VMA: mremap of it (R7-mremap) and the
//! vm.max_map_count limit on the number of contexts.

use super::aio_nr_check;
use crate::oracle::obs::{Missing, Obs, Res};
use crate::oracle::{CaseDef, Check, Ctx, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;

pub const MREMAP: Judge = Judge {
    experiment: ids::RING_MREMAP,
    only: None,
    cases: &[
        CaseDef {
            id: case::SIDE_EFFECT_VMA_MREMAP_MOVES_HANDLE,
            clauses: &[
                "notes:The returned context handle",
                "side-effect:process virtual memory",
            ],
        },
        CaseDef {
            id: case::SIDE_EFFECT_VMA_DONTEXPAND,
            clauses: &["side-effect:process virtual memory"],
        },
    ],
    run: mremap,
};

fn mremap(c: &mut Ctx, o: &Obs) -> Res<()> {
    let setup = o.obj(key::SETUP)?;
    let got = setup.outcome()?;
    if got != "OK" {
        if !c.f.aio {
            c.skip_rest("CONFIG_AIO=n: no ring to remap");
            return Ok(());
        }
        let want = c.want(setup.u64(key::NR_EVENTS)?, Some(0), false, false)?;
        for id in [
            case::SIDE_EFFECT_VMA_MREMAP_MOVES_HANDLE,
            case::SIDE_EFFECT_VMA_DONTEXPAND,
        ] {
            c.case(
                id,
                vec![
                    Check::outcome(&want, &got),
                    Check::new("ring", "a ring to remap", "none", false),
                ],
            );
        }
        return Ok(());
    }
    if o.has(key::ERROR) {
        return Err(Missing(format!("ring.mremap: {}", o.str(key::ERROR)?)));
    }
    c.case(
        case::SIDE_EFFECT_VMA_DONTEXPAND,
        vec![
            Check::eq("grow", "EFAULT".to_string(), o.obj(key::GROW)?.outcome()?),
            Check::eq(
                "MREMAP_DONTUNMAP",
                "EINVAL".to_string(),
                o.obj(key::DONTUNMAP)?.outcome()?,
            ),
        ],
    );
    let before = c.aio_nr(o, key::AIO_NR_BEFORE_DESTROY)?;
    let after = c.aio_nr(o, key::AIO_NR_AFTER_DESTROY)?;
    let nr = setup.u64(key::NR_EVENTS)?;
    let released = match (before, after) {
        (Some(b), Some(a)) => format!("-{}", b.saturating_sub(a)),
        _ => "unreadable".into(),
    };
    c.case(
        case::SIDE_EFFECT_VMA_MREMAP_MOVES_HANDLE,
        vec![
            Check::eq("move", "OK".to_string(), o.obj(key::MOVE)?.outcome()?),
            Check::eq(
                "at the requested address",
                true,
                o.bool(key::MOVED_TO_REQUESTED)?,
            ),
            Check::eq(
                "io_destroy(old handle)",
                "EINVAL".to_string(),
                o.sysret(key::OLD_DESTROY)?,
            ),
            Check::eq(
                "io_destroy(new address)",
                "OK".to_string(),
                o.sysret(key::NEW_DESTROY)?,
            ),
            Check::eq("aio-nr", format!("-{nr}"), released),
        ],
    );
    Ok(())
}

pub const MAX_MAP_COUNT: Judge = Judge {
    experiment: ids::LIMIT_MAX_MAP_COUNT,
    only: None,
    cases: &[CaseDef {
        id: case::ERROR_ENOMEM_MAX_MAP_COUNT,
        clauses: &["error:ENOMEM", "constraint:Memory for ring buffer"],
    }],
    run: max_map_count,
};

/// With vm.max_map_count below the process's mappings, io_setup(1) must
/// fail with ENOMEM ("could not establish the memory mapping"), leaving
/// aio-nr alone.
fn max_map_count(c: &mut Ctx, o: &Obs) -> Res<()> {
    let id = case::ERROR_ENOMEM_MAX_MAP_COUNT;
    if let Some(why) = super::skipped(o)? {
        if !c.f.aio {
            super::guest_skipped(c, o)?;
            return Ok(());
        }
        return Err(Missing(format!(
            "limit.max-map-count skipped in an aio-on cell: {why}"
        )));
    }
    let calls = o.arr(key::CALLS)?;
    let Some(last) = calls.last() else {
        return Err(Missing("limit.max-map-count made no call".into()));
    };
    let got = last.outcome()?;
    let before = c.aio_nr(last, key::AIO_NR_BEFORE)?;
    let after = c.aio_nr(last, key::AIO_NR_AFTER)?;
    let mut ok_calls = 0;
    for call in &calls[..calls.len() - 1] {
        if call.outcome()? == "OK" {
            ok_calls += 1;
        }
    }
    // EAGAIN first would mean aio-max-nr, not the map count, ran out.
    let nr_room = c
        .max()?
        .saturating_sub(before.ok_or_else(|| Missing(key::AIO_NR_BEFORE.into()))?);
    if nr_room == 0 {
        return Err(Missing(
            "aio-max-nr was reached before vm.max_map_count".into(),
        ));
    }
    c.case(
        id,
        vec![
            Check::outcome(&["ENOMEM"], &got),
            aio_nr_check(c, 0, before, after),
            Check::new(
                "calls before the failure",
                format!("< {}", calls.len().max(1)),
                ok_calls,
                ok_calls + 1 == calls.len(),
            ),
        ],
    );
    Ok(())
}
