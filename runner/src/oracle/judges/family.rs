//! What the AIO family's judges share (io_destroy.rs ... io_cancel.rs,
//! generic.rs, enosys.rs): calls that return counts, errno names io_setup
//! never sees, and the context each experiment has to make first.

use super::super::obs::{Missing, Obs, Res};
use super::super::{errno_name, Check, Ctx, Verdict};
use kmatrix_proto::obs::{key, Success, SysRet};

/// "OK" when `ret` is a success under `rule` (the spec of the syscall
/// that was called), else `errno`'s name or the unexpected return value.
pub fn outcome(o: &Obs, rule: Success) -> Res<String> {
    Ok(SysRet::read(o)?.outcome(rule, errno_name))
}

/// The same for `<prefix>_ret` / `<prefix>_errno`.
pub fn sysret(o: &Obs, prefix: &str, rule: Success) -> Res<String> {
    Ok(SysRet::read_as(o, prefix)?.outcome(rule, errno_name))
}

/// The success rule of the AIO syscall `name`.
pub fn rule_of(name: &str) -> Res<Success> {
    Success::of(name).ok_or_else(|| Missing(format!("{name} is not an AIO syscall")))
}

/// `<prefix>_ret` as a number.
pub fn ret(o: &Obs, prefix: &str) -> Res<i64> {
    o.i64(&key::ret_of(prefix))
}

/// A check that the call recorded under `prefix` had outcome `want`.
pub fn outcome_is(
    name: &'static str,
    o: &Obs,
    prefix: &str,
    rule: Success,
    want: &str,
) -> Res<Check> {
    let got = sysret(o, prefix, rule)?;
    let holds = got == want;
    Ok(Check::new(name, want, got, holds))
}

/// Why the context an experiment or generic case needs is missing.
#[derive(Debug)]
pub enum NoCtx {
    /// Not checkable in this cell (CONFIG_AIO=n, or aio-max-nr reached).
    Skip(String),
    /// io_setup broke the spec making it: a FAIL of whoever made it.
    Fail(Check),
    /// Anything else: no verdict possible.
    Error(String),
}

/// Why the context an experiment or generic case needs is missing, from
/// its own io_setup result (`prefix`): CONFIG_AIO=n and ENOSYS make a skip;
/// EAGAIN is a skip only where aio-nr (read just before the call) plus
/// the nr_events asked for really exceeds fs.aio-max-nr, and otherwise a
/// FAIL (N1: the spec allows EAGAIN only there); anything else is an
/// error. None: the context is there.
pub fn no_ctx(c: &Ctx, o: &Obs, prefix: &str) -> Option<NoCtx> {
    match no_ctx_res(c, o, prefix) {
        Ok(r) => r,
        Err(Missing(m)) => Some(NoCtx::Error(m)),
    }
}

fn no_ctx_res(c: &Ctx, o: &Obs, prefix: &str) -> Res<Option<NoCtx>> {
    let got = sysret(o, prefix, Success::Zero)?;
    Ok(match (c.f.aio, got.as_str()) {
        (true, "OK") => None,
        (false, "ENOSYS") => Some(NoCtx::Skip(
            "CONFIG_AIO=n: io_setup is ENOSYS (see <syscall>.constraint.CONFIG_AIO)".into(),
        )),
        (true, "EAGAIN") => {
            let nr = o.u64(&key::nr_of(prefix))?;
            let before = o.u64(&key::aio_nr_of(prefix))?;
            let max = c.max()?;
            let sum = before.saturating_add(nr);
            let sizes = format!("aio-nr {before} + nr_events {nr}");
            if sum > max {
                Some(NoCtx::Skip(format!(
                    "no context to test with: io_setup EAGAIN, {sizes} > fs.aio-max-nr {max}"
                )))
            } else {
                Some(NoCtx::Fail(Check::new(
                    "context io_setup",
                    format!("OK ({sizes} <= fs.aio-max-nr {max})"),
                    "EAGAIN",
                    false,
                )))
            }
        }
        (aio, g) => Some(NoCtx::Error(format!(
            "io_setup for this experiment gave {g} (CONFIG_AIO={})",
            if aio { "y" } else { "n" }
        ))),
    })
}

/// For a hand-written experiment: true (and every case decided) when the
/// guest skipped it or its context could not be made. An io_setup that
/// broke the spec fails the experiment's first case (its first step), and
/// leaves the others without a context to judge.
pub fn cannot_run(c: &mut Ctx, o: &Obs) -> Res<bool> {
    if super::guest_skipped(c, o)? {
        return Ok(true);
    }
    match no_ctx(c, o, key::SETUP) {
        None => Ok(false),
        Some(NoCtx::Skip(why)) => {
            c.rest(Verdict::Skip, &why);
            Ok(true)
        }
        Some(NoCtx::Error(why)) => {
            c.rest(Verdict::Error, &why);
            Ok(true)
        }
        Some(NoCtx::Fail(check)) => {
            let first = c.cases[0].id;
            c.case(first, vec![check]);
            c.rest(
                Verdict::Error,
                &format!("no context: the experiment's io_setup broke the spec (see {first})"),
            );
            Ok(true)
        }
    }
}

/// A wait the guest's alarm ended, not the call itself: it lasted at least
/// the alarm's `alarm_ms`. The guest reads CLOCK_MONOTONIC (Instant) before
/// arming the ITIMER_REAL alarm, an hrtimer on the same clock that never
/// expires early, so a real alarm's wait is never measured shorter; timer
/// slack only makes it longer.
pub fn alarm_fired(ms: i64, alarm_ms: i64) -> bool {
    ms >= alarm_ms
}

/// Elapsed time in observed text without the exact milliseconds, so that
/// a known deviation matches, and two runs compare equal, run after run.
/// `alarm_ms`: the guest armed a SIGALRM that long after the call began.
pub fn when(ms: i64, alarm_ms: Option<i64>) -> String {
    match (ms, alarm_ms) {
        (_, Some(a)) if alarm_fired(ms, a) => "when the guest's alarm fired".to_string(),
        (..=89, _) => "at once".to_string(),
        (90..=99, _) => "after 90 to 99 ms".to_string(),
        _ => format!("after {}00 ms", ms / 100),
    }
}
