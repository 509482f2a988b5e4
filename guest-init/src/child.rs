//! Running a closure in a forked child with a timeout, and collecting what
//! it wrote to a pipe.
//!
//! Protocol: the child writes zero or more complete JSON object lines to
//! the pipe (snapshots of its observations); the parent keeps the last
//! complete line. A child that is killed half-way therefore still yields
//! its latest snapshot, and a half-written line is never used.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::files;
use crate::json;
use crate::sys;

/// How a child ended: part of the record contract (the "fate" key).
pub use kmatrix_proto::record::Fate;

/// Decodes a waitpid status (the WIFEXITED/WIFSIGNALED bit layout, which
/// is the same on every Linux architecture).
pub fn decode_status(status: i32) -> Fate {
    let sig = status & 0x7f;
    if sig == 0 {
        match (status >> 8) & 0xff {
            0 => Fate::Exited,
            code => Fate::Exit(code),
        }
    } else if sig != 0x7f {
        Fate::Signal(sig)
    } else {
        Fate::Other(status)
    }
}

/// Result of `run`.
#[derive(Debug)]
pub struct Outcome {
    /// 0 if fork failed.
    pub pid: i32,
    pub timed_out: bool,
    pub fate: Fate,
    /// The last complete object line the child wrote, or "{}".
    pub obs: String,
}

impl Outcome {
    /// Timeout if we had to kill it, else the fate from the wait status.
    pub fn final_fate(&self) -> Fate {
        if self.timed_out {
            Fate::Timeout
        } else {
            self.fate
        }
    }

    pub fn label(&self) -> String {
        self.final_fate().label()
    }
}

/// The child's end of the pipe.
pub struct Sink {
    fd: i32,
}

impl Sink {
    /// Sends one snapshot line (write errors are ignored: the parent may
    /// be gone, and a child has nowhere better to report them).
    pub fn line(&self, json: &str) {
        let mut buf = String::with_capacity(json.len() + 1);
        buf.push_str(json);
        buf.push('\n');
        let _ = sys::write_all_fd(self.fd, buf.as_bytes());
    }
}

/// The last newline-terminated line in `buf` (without the newline).
pub fn last_complete_line(buf: &[u8]) -> Option<&[u8]> {
    let end = buf.iter().rposition(|&b| b == b'\n')?;
    let start = buf[..end]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    Some(&buf[start..end])
}

/// Drops everything before the last complete line so memory stays bounded
/// by one snapshot plus the line being written.
fn compact(buf: &mut Vec<u8>) {
    if let Some(end) = buf.iter().rposition(|&b| b == b'\n') {
        if let Some(p) = buf[..end].iter().rposition(|&b| b == b'\n') {
            buf.drain(..=p);
        }
    }
}

/// The object to report from the bytes a child wrote.
pub fn obs_from(buf: &[u8]) -> String {
    match last_complete_line(buf).map(String::from_utf8_lossy) {
        Some(line) if json::looks_like_object(&line) => line.into_owned(),
        _ => "{}".to_string(),
    }
}

/// Waits (polling) for `pid` to change state, for at most `limit`.
pub fn reap_within(pid: i32, limit: Duration) -> Fate {
    let start = Instant::now();
    loop {
        match sys::wait_pid(pid, true) {
            Ok(Some((_, status))) => return decode_status(status),
            Ok(None) if start.elapsed() < limit => sys::sleep(Duration::from_millis(2)),
            _ => return Fate::Unreaped,
        }
    }
}

/// What a forked process is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A whole experiment, forked by PID 1: it gets its own process group
    /// so PID 1 can kill whatever it leaves behind (see `kill_group`).
    Experiment,
    /// A step inside an experiment, which may exhaust memory on purpose:
    /// oom_score_adj=1000 makes the OOM killer take it rather than the
    /// experiment that records its fate.
    Step,
}

/// Forks; the child runs `f` with a Sink and then `_exit`s (0 on return,
/// 101 if `f` panicked, mirroring Rust's panic exit code). The parent
/// collects the child's lines until it exits or `timeout` passes, in which
/// case it SIGKILLs it (with its process group for an Experiment).
pub fn run<F: FnOnce(&Sink)>(role: Role, timeout: Duration, f: F) -> Outcome {
    let own_group = role == Role::Experiment;
    let (rfd, wfd) = match sys::make_pipe() {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let pid = match sys::fork_process() {
        Ok(pid) => pid,
        Err(e) => {
            sys::close_fd(rfd);
            sys::close_fd(wfd);
            return failed(e);
        }
    };
    if pid == 0 {
        // Child: never return into the caller's code, whatever happens.
        sys::close_fd(rfd);
        match role {
            Role::Experiment => {
                let _ = sys::set_pgid(0, 0);
            }
            Role::Step => {
                let _ = files::write_str("/proc/self/oom_score_adj", "1000");
            }
        }
        let sink = Sink { fd: wfd };
        let r = panic::catch_unwind(AssertUnwindSafe(|| f(&sink)));
        sys::exit_now(if r.is_ok() { 0 } else { 101 });
    }
    sys::close_fd(wfd);
    if own_group {
        // Also from the parent side, so a kill(-pid) right after fork works.
        let _ = sys::set_pgid(pid, pid);
    }
    let outcome = collect(pid, rfd, timeout, own_group);
    sys::close_fd(rfd);
    outcome
}

fn failed(errno: i32) -> Outcome {
    Outcome {
        pid: 0,
        timed_out: false,
        fate: Fate::ForkFailed(errno),
        obs: "{}".to_string(),
    }
}

/// Reads one chunk if the pipe is ready within `wait_ms`; false at EOF.
fn pump(rfd: i32, wait_ms: i32, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    match sys::poll_readable(rfd, wait_ms) {
        Ok(true) => match sys::read_fd(rfd, &mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                compact(buf);
                true
            }
            Err(e) => e == sys::EINTR,
        },
        Ok(false) => true,
        Err(e) => e == sys::EINTR,
    }
}

fn collect(pid: i32, rfd: i32, timeout: Duration, own_group: bool) -> Outcome {
    let start = Instant::now();
    let mut buf = Vec::new();
    let mut open = true;
    let mut timed_out = false;
    let fate = loop {
        let left = timeout.saturating_sub(start.elapsed());
        if open {
            // Short slices: a grandchild holding the write end can delay
            // EOF indefinitely, so the exit of `pid` is what ends the wait.
            let ms = left.as_millis().clamp(1, 20) as i32;
            open = pump(rfd, ms, &mut buf);
        } else {
            sys::sleep(Duration::from_millis(1));
        }
        match sys::wait_pid(pid, true) {
            Ok(Some((_, status))) => break decode_status(status),
            Ok(None) => {}
            Err(_) => break Fate::Unreaped,
        }
        if start.elapsed() >= timeout {
            timed_out = true;
            let target = if own_group { -pid } else { pid };
            if sys::send_signal(target, sys::SIGKILL).is_err() {
                let _ = sys::send_signal(pid, sys::SIGKILL);
            }
            break reap_within(pid, Duration::from_secs(5));
        }
    };
    // Whatever the child wrote just before exiting is still in the pipe;
    // take what is there now (bounded, in case a grandchild keeps writing).
    for _ in 0..1024 {
        if !open || sys::poll_readable(rfd, 0) != Ok(true) {
            break;
        }
        open = pump(rfd, 0, &mut buf);
    }
    Outcome {
        pid,
        timed_out,
        fate,
        obs: obs_from(&buf),
    }
}

/// Forks a process that only sleeps, with the given oom_score_adj. The
/// caller owns it (kills and reaps it). Used as OOM ballast by nr.sweep.
pub fn spawn_sleeper(oom_score_adj: i32) -> Result<i32, i32> {
    let pid = sys::fork_process()?;
    if pid == 0 {
        let _ = files::write_str("/proc/self/oom_score_adj", &oom_score_adj.to_string());
        loop {
            sys::sleep(Duration::from_secs(3600));
        }
    }
    Ok(pid)
}

/// SIGKILLs what is left of process group `pgid` (grandchildren that
/// outlived their experiment, now our children) and reaps it for at most
/// `limit`. Returns (processes reaped, whether some are still there).
pub fn kill_group(pgid: i32, limit: Duration) -> (u32, bool) {
    if pgid <= 0 {
        return (0, false);
    }
    // ESRCH (nobody left) is fine: zombies of the group may still need reaping.
    let _ = sys::send_signal(-pgid, sys::SIGKILL);
    let start = Instant::now();
    let mut reaped = 0;
    loop {
        match sys::wait_pid(-pgid, true) {
            Ok(Some(_)) => reaped += 1,
            Ok(None) if start.elapsed() < limit => sys::sleep(Duration::from_millis(2)),
            Ok(None) => return (reaped, true),
            Err(_) => return (reaped, false),
        }
    }
}

/// Reaps any other zombie children without blocking (PID 1 inherits orphans).
pub fn reap_zombies() {
    while let Ok(Some(_)) = sys::wait_pid(-1, true) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(decode_status(0), Fate::Exited);
        assert_eq!(decode_status(3 << 8), Fate::Exit(3));
        assert_eq!(decode_status(9), Fate::Signal(9));
        assert_eq!(decode_status(11 | 0x80), Fate::Signal(11)); // core dumped
        assert_eq!(decode_status(0x137f), Fate::Other(0x137f)); // stopped
        assert_eq!(Fate::Exit(3).label(), "exit:3");
        assert_eq!(Fate::Signal(9).label(), "signal:9");
        assert_eq!(Fate::Exited.label(), "exited");
        let o = Outcome {
            pid: 5,
            timed_out: true,
            fate: Fate::Signal(9),
            obs: "{}".to_string(),
        };
        assert_eq!(o.label(), "timeout");
    }

    #[test]
    fn lines() {
        assert_eq!(last_complete_line(b""), None);
        assert_eq!(last_complete_line(b"{\"a\":1}"), None);
        assert_eq!(last_complete_line(b"{\"a\":1}\n"), Some(&b"{\"a\":1}"[..]));
        assert_eq!(
            last_complete_line(b"{\"a\":1}\n{\"a\":2}\n{\"a\""),
            Some(&b"{\"a\":2}"[..])
        );
        assert_eq!(obs_from(b"{\"a\":1}\n{\"a\":2}\n{\"a\""), "{\"a\":2}");
        assert_eq!(obs_from(b"{\"a\":"), "{}");
        assert_eq!(obs_from(b"junk\n"), "{}");
    }

    #[test]
    fn compaction_keeps_last_line_and_tail() {
        let mut b = b"{\"a\":1}\n{\"a\":2}\n{\"a\"".to_vec();
        compact(&mut b);
        assert_eq!(b, b"{\"a\":2}\n{\"a\"".to_vec());
        let mut one = b"{\"a\":1}\n".to_vec();
        compact(&mut one);
        assert_eq!(one, b"{\"a\":1}\n".to_vec());
    }
}
