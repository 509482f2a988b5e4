//! Host directories shared into a cell with virtiofsd (vhost-user-fs). Each
//! virtiofsd is owned by its cell: it dies and its socket goes with the VM.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub host: PathBuf,
    pub guest_path: String,
    pub rw: bool,
}

pub const DEFAULT_GUEST_PATH: &str = "/mnt/host";

impl Share {
    /// Parses `HOST_DIR[:GUEST_PATH][:rw|:ro]`.
    pub fn parse(s: &str) -> Result<Share> {
        let mut parts: Vec<&str> = s.split(':').collect();
        let mut rw = false;
        if let Some(last) = parts.last() {
            if *last == "rw" || *last == "ro" {
                rw = *last == "rw";
                parts.pop();
            }
        }
        let (host, guest) = match parts.as_slice() {
            [h] => (*h, DEFAULT_GUEST_PATH),
            [h, g] => (*h, *g),
            _ => bail!("--share {s}: expected HOST_DIR[:GUEST_PATH][:rw]"),
        };
        let host = PathBuf::from(host);
        if !host.is_dir() {
            bail!("--share {s}: {} is not a directory", host.display());
        }
        // The guest checks the same rule: refuse here what it would refuse.
        if let Err(e) = kmatrix_proto::args::check_guest_path(guest) {
            bail!("--share {s}: {e}");
        }
        Ok(Share {
            host: host.canonicalize()?,
            guest_path: guest.to_string(),
            rw,
        })
    }
}

/// Where virtiofsd is, or an error that says how to get it.
pub fn virtiofsd_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("KMATRIX_VIRTIOFSD") {
        return Ok(PathBuf::from(p));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/libexec".into());
    if let Some(h) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(h).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("virtiofsd"))
        .find(|p| p.is_file())
        .context("virtiofsd not found (PATH, /usr/libexec): as root, run `sudo make setup` once (it installs virtiofsd to /usr/local/bin for every user)")
}

/// virtiofsd for this run, or None after saying once why shares are off:
/// the cells still run, and each share's case and the exec are errors.
pub fn available() -> Option<PathBuf> {
    match virtiofsd_binary() {
        Ok(p) => Some(p),
        Err(e) => {
            crate::util::notice::once(
                "virtiofsd-missing",
                &format!(
                    "{e:#}; the cells run without their shares (share and exec cases are errors)"
                ),
            );
            None
        }
    }
}

/// A running virtiofsd; killed (whole process group) when dropped.
pub struct Daemon {
    child: Child,
    pub socket: PathBuf,
    pub tag: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: signalling the process group we created for it.
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
        }
    }
}

/// Starts virtiofsd for `share` with its socket in `dir`, and waits until
/// the socket exists (QEMU refuses to start without it).
pub async fn start(share: &Share, index: usize, dir: &Path, log: &Path) -> Result<Daemon> {
    let bin = virtiofsd_binary()?;
    let socket = dir.join(format!("vfs{index}.sock"));
    let mut c = Command::new(&bin);
    c.arg("--socket-path")
        .arg(&socket)
        .arg("--shared-dir")
        .arg(&share.host);
    // No sandbox: kmatrix already runs as the user who owns the share; the
    // guest is the test subject, not an adversary of the host. The
    // namespace sandbox also needs root (or user namespaces) to set up.
    c.args(["--sandbox", "none", "--cache", "never"]);
    if !crate::util::notice::is_root() {
        crate::util::notice::once(
            "virtiofsd-sandbox",
            "virtiofsd runs as you with --sandbox none (its namespace sandbox needs root); it can only read what you can, and without CAP_DAC_READ_SEARCH it serves paths instead of file handles (its log, virtiofsd0.log, says so)",
        );
    }
    if !share.rw {
        c.arg("--readonly");
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?);
    c.process_group(0).kill_on_drop(true);
    // Dies with the runner, even by SIGKILL (reaper.rs).
    let child = crate::util::reaper::spawn_owned(c)
        .await
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut d = Daemon {
        child,
        socket,
        tag: kmatrix_proto::share_tag(index),
    };
    let t = Instant::now();
    while !d.socket.exists() {
        if let Some(st) = d.child.try_wait()? {
            let err = std::fs::read_to_string(log).unwrap_or_default();
            bail!(
                "virtiofsd for {} exited ({st}): {}",
                share.host.display(),
                err.lines().last().unwrap_or("")
            );
        }
        if t.elapsed() > Duration::from_secs(10) {
            bail!(
                "virtiofsd for {} did not create its socket within 10 s",
                share.host.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_share_forms() {
        let d = tempfile::tempdir().unwrap();
        let h = d.path().to_str().unwrap();
        let s = Share::parse(h).unwrap();
        assert_eq!((s.guest_path.as_str(), s.rw), (DEFAULT_GUEST_PATH, false));
        let s = Share::parse(&format!("{h}:/opt/ltp:rw")).unwrap();
        assert_eq!((s.guest_path.as_str(), s.rw), ("/opt/ltp", true));
        assert!(Share::parse(&format!("{h}:relative")).is_err());
        assert!(Share::parse(&format!("{h}:/a b")).is_err());
        assert!(Share::parse("/nonexistent-dir")
            .unwrap_err()
            .to_string()
            .contains("not a directory"));
    }
}
