//! Nothing outlives the runner, however it ends.
//!
//! SIGINT/SIGTERM are handled in `run.rs` (futures dropped, children killed).
//! SIGKILL cannot be handled, so every QEMU and virtiofsd is started with
//! PR_SET_PDEATHSIG=SIGKILL. That signal fires when the *thread* that forked
//! the child exits, not the process: tokio's blocking-pool threads come and
//! go, so spawning from whatever thread a task runs on is not enough. Every
//! such child is therefore forked from one dedicated spawner thread that is
//! never joined and lives exactly as long as the process. The spawn itself
//! runs inside the caller's runtime context (`Handle::enter`), so the
//! returned `tokio::process::Child` is awaited as usual.
//!
//! Temp dirs (QMP socket, FIFOs, virtiofsd sockets) are left behind by a
//! SIGKILLed run; `VmDir` holds an flock on a file inside its dir for as long
//! as the run lives, and `sweep_stale` removes only dirs whose lock nobody
//! holds, so a run still alive keeps its own.

use anyhow::{Context, Result};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};
use tokio::process::{Child, Command};

type Job = (
    Command,
    tokio::runtime::Handle,
    tokio::sync::oneshot::Sender<io::Result<Child>>,
);

fn spawner() -> &'static Mutex<mpsc::Sender<Job>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("kmatrix-spawner".into())
            .spawn(move || {
                // The sender lives in a static: this loop never ends, and
                // the thread (the children's parent) dies with the process.
                while let Ok((mut cmd, handle, reply)) = rx.recv() {
                    let _rt = handle.enter();
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("starting the spawner thread");
        Mutex::new(tx)
    })
}

/// Spawns `cmd` so that it is SIGKILLed when the runner dies, by any signal.
pub async fn spawn_owned(mut cmd: Command) -> io::Result<Child> {
    let runner = std::process::id() as libc::pid_t;
    // SAFETY: prctl and getppid are async-signal-safe; nothing allocates.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The runner may have died between fork and prctl.
            if libc::getppid() != runner {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    spawner()
        .lock()
        .unwrap()
        .send((cmd, tokio::runtime::Handle::current(), tx))
        .map_err(|_| io::Error::other("spawner thread is gone"))?;
    rx.await
        .map_err(|_| io::Error::other("spawner thread dropped the request"))?
}

const PREFIX: &str = "kmatrix-vm-";
const LOCK: &str = "owner.lock";

/// A VM's private temp dir, flocked for as long as it exists.
pub struct VmDir {
    dir: tempfile::TempDir,
    _lock: std::fs::File,
}

impl VmDir {
    /// Creates one in $TMPDIR, after removing dirs of runs that are gone.
    pub fn new() -> Result<VmDir> {
        sweep_stale(&std::env::temp_dir());
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir()
            .context("creating a VM temp dir in $TMPDIR")?;
        // Locked under another name, then renamed into place: a sweep in
        // another run never sees the lock file unlocked (it would take the
        // lock in that moment and remove a live dir).
        let fresh = dir.path().join(".owner.lock.new");
        let lock = std::fs::File::create(&fresh)?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(io::Error::last_os_error()).context("locking the VM temp dir");
        }
        std::fs::rename(&fresh, dir.path().join(LOCK)).context("placing the VM temp dir's lock")?;
        Ok(VmDir { dir, _lock: lock })
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes `kmatrix-vm-*` dirs in `tmp` whose owner is gone: the lock file
/// can be taken, or (a run killed before it locked) there is none and the
/// dir is older than a minute. Returns what it removed.
pub fn sweep_stale(tmp: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(rd) = std::fs::read_dir(tmp) else {
        return removed;
    };
    for e in rd.flatten() {
        let p = e.path();
        let is_ours = e.file_name().to_string_lossy().starts_with(PREFIX)
            && e.file_type().is_ok_and(|t| t.is_dir());
        if is_ours && owner_gone(&p) && std::fs::remove_dir_all(&p).is_ok() {
            removed.push(p);
        }
    }
    removed
}

fn owner_gone(dir: &Path) -> bool {
    match std::fs::File::open(dir.join(LOCK)) {
        // SAFETY: flock on a descriptor we own; released when `f` drops.
        Ok(f) => unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 },
        Err(_) => std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > Duration::from_secs(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_only_dirs_whose_owner_is_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let alive = tmp.path().join("kmatrix-vm-alive");
        let dead = tmp.path().join("kmatrix-vm-dead");
        let fresh = tmp.path().join("kmatrix-vm-fresh");
        let other = tmp.path().join("not-ours");
        for d in [&alive, &dead, &fresh, &other] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(dead.join("qmp.sock"), "").unwrap();
        std::fs::File::create(dead.join(LOCK)).unwrap();
        let held = std::fs::File::create(alive.join(LOCK)).unwrap();
        // SAFETY: flock on a descriptor we own.
        assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX) }, 0);
        let removed = sweep_stale(tmp.path());
        assert_eq!(removed, vec![dead.clone()]);
        assert!(alive.exists() && fresh.exists() && other.exists());
        drop(held);
        assert_eq!(sweep_stale(tmp.path()), vec![alive]);
    }

    #[test]
    fn a_sweep_beside_a_new_dir_never_removes_it() {
        // Another run's sweep racing the creation of a live dir (seen in
        // e2e as "mkfifo for the results port: No such file or directory").
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let sweeper = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                sweep_stale(&std::env::temp_dir());
            }
        });
        for _ in 0..300 {
            let d = VmDir::new().unwrap();
            assert!(d.path().join(LOCK).exists(), "{}", d.path().display());
        }
        stop.store(true, Ordering::Relaxed);
        sweeper.join().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_child_outlives_the_thread_that_asked_for_it() {
        // Asked for from a thread that then exits (as tokio's blocking
        // threads do): with PDEATHSIG set on that thread's fork, the child
        // would be SIGKILLed here.
        let handle = tokio::runtime::Handle::current();
        let mut child = std::thread::spawn(move || {
            let mut c = Command::new("sleep");
            c.arg("30").kill_on_drop(true);
            handle.block_on(spawn_owned(c)).unwrap()
        })
        .join()
        .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "killed with its asking thread"
        );
        child.kill().await.unwrap();
    }
}
