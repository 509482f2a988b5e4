//! What a 32-bit caller (a compat cell's probe) must see and a 64-bit one
//! cannot: judged only in compat cells (see COMPAT_JUDGES).

use super::super::obs::{Missing, Obs, Res};
use super::super::{CaseDef, Check, Ctx, Judge};
use crate::matrix::Abi;
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::{key, Call};

/// The word guest-init puts after a 32-bit build's handle
/// (guest-init/src/aio.rs NEXT_WORD_SENTINEL).
pub const NEXT_WORD_SENTINEL: u64 = 0x5e17_1e15;

/// io_setup's ctxp is an aio_context_t, an unsigned long: 4 bytes in a
/// 32-bit caller. The kernel stores a 32-bit handle (the word after it is
/// the caller's, and stays as it was), below 4 GiB, and it is the ring's
/// address like any handle (the `[aio]` mapping's start).
pub const SETUP_HANDLE: Judge = Judge {
    experiment: ids::SETUP_BASIC,
    only: Some(true),
    cases: &[CaseDef {
        id: case::IO_SETUP_COMPAT_HANDLE_32BIT,
        // ctxp's size is sizeof(aio_context_t); the handle is the ring's.
        clauses: &["param:ctxp"],
    }],
    run: setup_handle,
};

/// Start of the mapping a /proc/self/maps line names ("start-end ...").
fn maps_start(line: &str) -> Option<u64> {
    let range = line.split_whitespace().next()?;
    u64::from_str_radix(range.split('-').next()?, 16).ok()
}

fn setup_handle(c: &mut Ctx, o: &Obs) -> Res<()> {
    let id = case::IO_SETUP_COMPAT_HANDLE_32BIT;
    debug_assert_eq!(c.f.abi, Abi::Compat);
    let call = Call::read(o)?;
    let got = o.outcome()?;
    if got != "OK" {
        c.skip(
            id,
            &format!(
                "io_setup({}) did not succeed in this cell ({got})",
                call.nr_events
            ),
        );
        return Ok(());
    }
    let r = (|| {
        let next = o.opt_u64(key::CTX_NEXT_WORD)?.ok_or_else(|| {
            Missing(format!(
                "{} missing: a compat cell's probe reports the word after its 32-bit handle",
                key::CTX_NEXT_WORD
            ))
        })?;
        let h = call.handle;
        let mut checks = vec![
            Check::eq(
                "word after the handle",
                format!("{NEXT_WORD_SENTINEL:#x}"),
                format!("{next:#x}"),
            ),
            Check::new("handle", "< 4 GiB", format!("{h:#x}"), h >> 32 == 0),
        ];
        if let Some(line) = o.opt_str(key::MAPS_LINE)? {
            let start = maps_start(line);
            checks.push(Check::new(
                "[aio] mapping start",
                format!("{h:#x}"),
                start.map_or_else(|| format!("unreadable: {line}"), |s| format!("{s:#x}")),
                start == Some(h),
            ));
        }
        Ok(checks)
    })();
    match r {
        Ok(checks) => c.case(id, checks),
        Err(Missing(why)) => c.error(id, why),
    }
    Ok(())
}
