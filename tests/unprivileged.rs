//! Issue 14: a normal user runs a cell with a share and an exec, and writes
//! nothing outside its cache, its --out and its TMPDIR.
//!
//! CI runs as root, so the test makes the user (`kmatrix-t`), gives it a copy
//! of this kmatrix and of root's cache entry for the one kernel it needs (no
//! kernel is built as the user; the small guest-init is), runs the cell as
//! that user with a clean environment, and lists every file the user owns
//! that is newer than the start. On main this failed: the share needed
//! virtiofsd from root's ~/.cargo/bin ("virtiofsd not found").

mod common;
use common::{case, is_root};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const USER: &str = "kmatrix-t";

fn sh(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{cmd:?}: {t}");
    t
}

fn root_cache() -> PathBuf {
    if let Some(p) = std::env::var_os("KMATRIX_CACHE") {
        return p.into();
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("kmatrix");
    }
    PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/kmatrix")
}

/// Copies the sealed files of root's x86_64 aio-on kernel entry (not its
/// build tree) into `cache`.
fn copy_kernel_entry(cache: &Path) {
    // Finds (or finishes and seals) the entry as root: cached, no real build.
    let o = sh(Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args(["build", "--arch", "x86_64", "--config", "aio-on"]));
    let image = PathBuf::from(
        o.lines()
            .find(|l| l.contains("aio-on"))
            .unwrap()
            .split(' ')
            .next_back()
            .unwrap(),
    );
    let entry = image.parent().unwrap();
    assert!(entry.starts_with(root_cache()), "{o}");
    let to = cache.join("kernels").join(entry.file_name().unwrap());
    std::fs::create_dir_all(&to).unwrap();
    for f in [
        "bzImage",
        "config",
        "kmatrix-built.json",
        "kmatrix-built.json.sha256",
    ] {
        std::fs::copy(entry.join(f), to.join(f)).unwrap();
    }
}

#[test]
fn a_normal_user_runs_a_cell_with_a_share_and_an_exec_and_writes_only_its_own_dirs() {
    if !is_root() {
        eprintln!("skipped: creating a user needs root (CI runs as root)");
        return;
    }
    assert!(
        ["/usr/local/bin", "/usr/bin", "/usr/libexec"]
            .iter()
            .any(|d| Path::new(d).join("virtiofsd").exists()),
        "virtiofsd is not installed for every user: run `sudo make setup`"
    );
    let _ = Command::new("userdel").args(["-r", USER]).output();
    sh(Command::new("useradd").args(["--create-home", "--shell", "/bin/sh", USER]));
    let home = PathBuf::from(format!("/home/{USER}"));
    let _cleanup = scopeguard(USER);

    let bin = home.join("bin/kmatrix");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_kmatrix"), &bin).unwrap();
    copy_kernel_entry(&home.join(".cache/kmatrix"));
    let share = home.join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(
        share.join("hi.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hi from the share\"); return 0; }\n",
    )
    .unwrap();
    sh(Command::new("cc")
        .args(["-static", "-o"])
        .arg(share.join("hi"))
        .arg(share.join("hi.c")));
    // Made now, so that the home dir itself changes only if the user writes
    // somewhere it should not.
    for d in ["tmp", "out"] {
        std::fs::create_dir_all(home.join(d)).unwrap();
    }
    sh(Command::new("chown")
        .args(["-R", &format!("{USER}:{USER}")])
        .arg(&home));
    let marker = home.join(".start");
    std::fs::write(&marker, "").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let args = [
        "run",
        "--arch",
        "x86_64",
        "--config",
        "aio-on",
        "--cases",
        "setup.basic",
        "--share",
        "/home/kmatrix-t/share:/opt/t",
        "--exec",
        "/opt/t/hi",
        "--format",
        "json",
        "--out",
        "/home/kmatrix-t/out",
    ];
    let o = Command::new("runuser")
        .args(["-u", USER, "--", "env", "-i"])
        .arg(format!("HOME={}", home.display()))
        .arg("PATH=/usr/local/bin:/usr/bin:/bin")
        .arg(format!("TMPDIR={}", home.join("tmp").display()))
        .arg(&bin)
        .args(args)
        .current_dir(&home)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // For the closing note: what the user ran and what it said.
    eprintln!("$ {} {}\n{err}", bin.display(), args.join(" "));
    let r: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("report ({e}): {err}"));
    let c = &r["cells"][0];
    assert_eq!(c["status"], "ok", "{c} {err}");
    assert_eq!(case(c, "exec:/opt/t/hi")["verdict"], "pass", "{c}");
    assert_eq!(case(c, "share:/opt/t")["verdict"], "pass", "{c}");
    assert_eq!(c["execs"][0]["stdout"], "hi from the share\n");
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("--sandbox none").count(), 1, "said once: {err}");

    // Everything the user owns that is newer than the start.
    // Other processes' temp files come and go meanwhile: stdout only.
    let found = Command::new("find")
        .args([
            "/",
            "-ignore_readdir_race",
            "(",
            "-path",
            "/proc",
            "-o",
            "-path",
            "/sys",
        ])
        .args([")", "-prune", "-o", "-user", USER, "-newer"])
        .arg(&marker)
        .arg("-print")
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&found.stdout);
    let allowed = ["out", ".cache/kmatrix", "tmp"].map(|d| home.join(d));
    let outside: Vec<&str> = found
        .lines()
        .filter(|p| !allowed.iter().any(|a| Path::new(p).starts_with(a)))
        .collect();
    eprintln!("files written by {USER}: {}", found.lines().count());
    assert!(
        outside.is_empty(),
        "written outside its cache and out: {outside:?}"
    );
}

/// Removes the user and its home when the test ends, pass or fail.
fn scopeguard(user: &'static str) -> impl Drop {
    struct G(&'static str);
    impl Drop for G {
        fn drop(&mut self) {
            let _ = Command::new("userdel").args(["-r", self.0]).output();
        }
    }
    G(user)
}
