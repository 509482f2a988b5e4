//! Helpers shared by the end-to-end test files.
#![allow(dead_code)] // each test file uses its own subset

pub mod trees;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

pub fn kmatrix(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args(args)
        .output()
        .expect("kmatrix runs")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A directory of links to everything on PATH except names starting with `prefix`.
pub fn path_without(prefix: &str) -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap()) {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let n = e.file_name();
            if !n.to_string_lossy().starts_with(prefix) && !bin.path().join(&n).exists() {
                let _ = std::os::unix::fs::symlink(e.path(), bin.path().join(&n));
            }
        }
    }
    bin
}

pub fn case<'a>(cell: &'a Value, id: &str) -> &'a Value {
    cell["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id} in {}", cell["cell"]["name"]))
}

/// Processes whose command line mentions `needle` (our private TMPDIR).
pub fn procs_mentioning(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let zombie =
                std::fs::read_to_string(e.path().join("stat")).is_ok_and(|s| s.contains(") Z "));
            if cmd.contains(needle) && !zombie {
                out.push(cmd);
            }
        }
    }
    out
}

pub fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A tmpfs mounted with `opts` (e.g. "size=1m") on a new temp dir (root
/// only), unmounted when dropped: a disk that fills on cue.
pub struct Tmpfs(tempfile::TempDir);
impl Tmpfs {
    pub fn new(opts: &str) -> Tmpfs {
        let d = tempfile::tempdir().unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "kmatrix-test"])
            .arg(d.path())
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs {opts}");
        Tmpfs(d)
    }
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

/// One aio-on cell of `arch` (only setup.basic, to be quick) with `extra`
/// arguments: the JSON report's cell, stderr, and the out dir kept alive.
pub fn run_cell(arch: &str, extra: &[&str]) -> (Value, String, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec![
        "run",
        "--arch",
        arch,
        "--config",
        "aio-on",
        "--cases",
        "setup.basic",
        "--format",
        "json",
        "--out",
    ];
    args.push(out.path().to_str().unwrap());
    args.extend(extra);
    let o = kmatrix(&args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let r: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("JSON report ({e}): {err}"));
    (r["cells"][0].clone(), err, out)
}

/// Compiles `src` with `cc -static -O2` into `dir/name` (the C file is
/// removed again): programs for a share.
pub fn build_static(cc: &str, dir: &std::path::Path, name: &str, src: &str) {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let st = std::process::Command::new(cc)
        .args(["-static", "-O2", "-o"])
        .arg(dir.join(name))
        .arg(&c)
        .status()
        .unwrap();
    assert!(st.success(), "{cc} -static {name}");
    std::fs::remove_file(c).unwrap();
}
