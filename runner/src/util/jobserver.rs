//! A GNU make jobserver (make 4.3 pipe protocol) shared by every kernel build
//! of this process: `jobs` slots in all, so concurrent builds together keep
//! each core busy and no more, and the last build left gets every slot.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;
use tokio::process::Command;

pub struct Jobserver {
    read: OwnedFd,
    write: OwnedFd,
    jobs: usize,
}

static SHARED: OnceLock<Jobserver> = OnceLock::new();

/// The process's jobserver, created with `jobs` slots on first use.
pub fn shared(jobs: usize) -> &'static Jobserver {
    SHARED.get_or_init(|| Jobserver::new(jobs.max(1)).expect("creating the make jobserver pipe"))
}

impl Jobserver {
    pub fn new(jobs: usize) -> std::io::Result<Jobserver> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two fds we then own; O_CLOEXEC keeps them out of
        // every child but the makes that join (see `join`).
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        use std::os::fd::FromRawFd;
        // SAFETY: fresh fds from pipe2, owned here only.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // Each make holds one implicit slot; the pipe holds the rest. With
        // several makes at once the implicit slots add up (one per build),
        // which only matters while more builds than cores run.
        let tokens = vec![b'+'; jobs - 1];
        // SAFETY: writing our own buffer to our own pipe (a few bytes, far
        // below the pipe's capacity, so it cannot block).
        let n = unsafe { libc::write(write.as_raw_fd(), tokens.as_ptr().cast(), tokens.len()) };
        if n != tokens.len() as isize {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Jobserver { read, write, jobs })
    }

    /// Makes `cmd` (a make without -j) a client of this jobserver.
    pub fn join(&self, cmd: &mut Command) {
        let (r, w) = (self.read.as_raw_fd(), self.write.as_raw_fd());
        cmd.env(
            "MAKEFLAGS",
            format!("-j{} --jobserver-auth={r},{w}", self.jobs),
        );
        // SAFETY: only async-signal-safe fcntl calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                for fd in [r, w] {
                    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
}

/// CPU seconds (user + system) of this process's finished children so far:
/// the difference across a build phase is that phase's CPU time.
pub fn children_cpu_secs() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn make_sees_the_jobserver_and_runs_jobs_in_parallel() {
        // Two 1 s jobs finish together in well under 2 s only with 2 slots.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Makefile"),
            "all: a b\na:\n\tsleep 1\nb:\n\tsleep 1\n",
        )
        .unwrap();
        let js = Jobserver::new(2).unwrap();
        let mut c = Command::new("make");
        c.arg("-C").arg(dir.path()).arg("-s");
        js.join(&mut c);
        let t = std::time::Instant::now();
        let out = c.output().await.unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("jobserver unavailable"), "{stderr}");
        assert!(t.elapsed().as_secs_f64() < 1.8, "{:?}", t.elapsed());
    }
}
