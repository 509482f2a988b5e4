//! One run per output dir. Two `kmatrix run` with the same `--out` (the
//! default, `kmatrix-out`, in one checkout) would overwrite each other's
//! cells; the second refuses, naming the first's pid. The lock is an flock,
//! so a run killed by SIGKILL releases it with its last descriptor.

use anyhow::{bail, Context, Result};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

const NAME: &str = ".kmatrix-run.lock";

/// Held for the run's lifetime; the lock goes when it is dropped.
#[derive(Debug)]
pub struct OutLock(#[allow(dead_code)] std::fs::File);

/// Takes `out`'s lock, or fails naming the run that holds it.
pub fn lock_out(out: &Path) -> Result<OutLock> {
    let path = out.join(NAME);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let mut holder = String::new();
        let _ = f.read_to_string(&mut holder);
        let holder = holder.trim();
        bail!(
            "{} is in use by another kmatrix run ({}); wait for it, or pass a different --out DIR",
            out.display(),
            if holder.is_empty() {
                "pid unknown".to_string()
            } else {
                holder.to_string()
            }
        );
    }
    f.set_len(0)?;
    f.rewind()?;
    write!(f, "pid {}", std::process::id())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(OutLock(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_naming_the_first() {
        let d = tempfile::tempdir().unwrap();
        let first = lock_out(d.path()).unwrap();
        let e = lock_out(d.path()).unwrap_err().to_string();
        assert!(
            e.contains(&format!("pid {}", std::process::id())) && e.contains("--out"),
            "{e}"
        );
        drop(first);
        lock_out(d.path()).expect("free again once the first is gone");
    }
}
