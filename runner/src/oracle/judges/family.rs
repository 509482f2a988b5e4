//! What the AIO family's judges share (io_destroy.rs ... io_cancel.rs,
//! generic.rs, enosys.rs): calls that return counts, errno names io_setup
//! never sees, and the context each experiment has to make first.

use super::super::obs::{Missing, Obs, Res};
use super::super::{Check, Ctx, Verdict};

/// The io_setup oracle's names plus the ones the family adds. A failed
/// call without an errno is not "OK".
pub fn errno_name(e: i64) -> String {
    match e {
        0 => "failed with errno 0".into(),
        9 => "EBADF".into(),
        15 => "ENOTBLK".into(),
        95 => "EOPNOTSUPP".into(),
        115 => "EINPROGRESS".into(),
        _ => super::super::errno_name(e),
    }
}

/// "OK" for `ret` >= 0 (a count of iocbs or events), else `errno`'s name.
pub fn outcome(o: &Obs) -> Res<String> {
    outcome_of(o, "ret", "errno")
}

/// The same for `<prefix>_ret` / `<prefix>_errno`.
pub fn sysret(o: &Obs, prefix: &str) -> Res<String> {
    outcome_of(o, &format!("{prefix}_ret"), &format!("{prefix}_errno"))
}

fn outcome_of(o: &Obs, ret: &str, errno: &str) -> Res<String> {
    if o.i64(ret)? >= 0 {
        return Ok("OK".into());
    }
    Ok(errno_name(o.i64(errno)?))
}

/// `<prefix>_ret` as a number.
pub fn ret(o: &Obs, prefix: &str) -> Res<i64> {
    o.i64(&format!("{prefix}_ret"))
}

/// A check that the call recorded under `prefix` had outcome `want`.
pub fn outcome_is(name: &'static str, o: &Obs, prefix: &str, want: &str) -> Res<Check> {
    let got = sysret(o, prefix)?;
    let holds = got == want;
    Ok(Check::new(name, want, got, holds))
}

/// fs.aio-max-nr as the guest reported it, for reasons.
pub fn max_nr(c: &Ctx) -> String {
    c.stream
        .hello
        .as_ref()
        .and_then(|h| h.aio_max_nr)
        .map_or("?".into(), |m| m.to_string())
}

/// Why the context an experiment or generic case needs is missing, from
/// its own io_setup result (`prefix`): CONFIG_AIO=n and ENOSYS, or an
/// fs.aio-max-nr too small (EAGAIN), make a skip that says so; anything
/// else is an error. None: the context is there.
pub fn no_ctx(c: &Ctx, o: &Obs, prefix: &str) -> Option<(Verdict, String)> {
    let got = match sysret(o, prefix) {
        Ok(g) => g,
        Err(Missing(m)) => return Some((Verdict::Error, m)),
    };
    match (c.f.aio, got.as_str()) {
        (true, "OK") => None,
        (false, "ENOSYS") => Some((
            Verdict::Skip,
            "CONFIG_AIO=n: io_setup is ENOSYS (see <syscall>.constraint.CONFIG_AIO)".into(),
        )),
        (true, "EAGAIN") => Some((
            Verdict::Skip,
            format!(
                "no context to test with: io_setup EAGAIN under fs.aio-max-nr={}",
                max_nr(c)
            ),
        )),
        (aio, g) => Some((
            Verdict::Error,
            format!(
                "io_setup for this experiment gave {g} (CONFIG_AIO={})",
                if aio { "y" } else { "n" }
            ),
        )),
    }
}

/// For a hand-written experiment: true (and every case skipped or errored
/// with the reason) when the guest skipped it or its context could not be
/// made.
pub fn cannot_run(c: &mut Ctx, o: &Obs) -> Res<bool> {
    if super::guest_skipped(c, o)? {
        return Ok(true);
    }
    match no_ctx(c, o, "setup") {
        Some((v, why)) => {
            c.rest(v, &why);
            Ok(true)
        }
        None => Ok(false),
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
