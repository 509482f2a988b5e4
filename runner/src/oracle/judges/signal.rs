//! signal clause: non-fatal signals do not interrupt io_setup.

use crate::oracle::obs::Missing;
use crate::oracle::{CaseDef, Check, Judge};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;
use kmatrix_proto::record::Fate;

/// A process calls io_setup(1) in a loop while an interval timer keeps
/// delivering SIGALRM to a handler: no call may fail with EINTR (nor with
/// anything but the EAGAIN of a full aio-max-nr).
pub const NONFATAL: Judge = Judge {
    experiment: ids::SIGNAL_NONFATAL,
    only: None,
    cases: &[CaseDef {
        id: case::SIGNAL_NONFATAL_DOES_NOT_INTERRUPT,
        clauses: &["signal:SIGKILL", "error:EINTR"],
    }],
    run: |c, o| {
        if !c.f.aio {
            c.skip_rest("CONFIG_AIO=n: io_setup returns ENOSYS at once, nothing to interrupt");
            return Ok(());
        }
        let g = o.obj(key::GRANDCHILD)?;
        let signals = g.u64(key::SIGNALS)?;
        let calls = g.u64(key::CALLS)?;
        if signals == 0 || calls == 0 {
            return Err(Missing(format!(
                "no signal arrived during io_setup ({signals} signals, {calls} calls): nothing was tested"
            )));
        }
        let eintr = g.u64(key::EINTR)?;
        let other = g.u64(key::OTHER_ERRORS)?;
        c.case(
            case::SIGNAL_NONFATAL_DOES_NOT_INTERRUPT,
            vec![
                Check::eq("EINTR returns", 0, eintr),
                Check::eq("other errors", 0, other),
                Check::eq(
                    "fate",
                    Fate::Exited.label(),
                    o.str(key::GRANDCHILD_FATE)?.to_string(),
                ),
            ],
        );
        Ok(())
    },
};
