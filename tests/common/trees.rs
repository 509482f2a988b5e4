//! Kernel trees for pre-merge tests: Debian 6.1 from kmatrix's cache, and
//! hard-linked copies of it with fs/aio.c edited.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::kmatrix;

pub fn cache_root() -> PathBuf {
    std::env::var_os("KMATRIX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
            base.join("kmatrix")
        })
}

/// The unpacked Debian 6.1 tree kmatrix keeps in its cache.
pub fn debian_tree() -> PathBuf {
    let o = kmatrix(&["build", "--arch", "x86_64", "--config", "aio-on"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_dir(cache_root().join("src"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("linux-source-6.1"))
        .find(|p| p.join("Makefile").exists())
        .expect("unpacked linux-source-6.1 in the cache")
}

/// `dst`, emptied, becomes a hard-linked copy of `src` (cheap: the kernel
/// tree's files are shared, only edited ones are replaced).
fn hardlink_copy(src: &Path, dst: &Path) {
    let _ = std::fs::remove_dir_all(dst);
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    let st = Command::new("cp")
        .arg("-al")
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(st.success());
}

/// A hard-linked copy of `src` at a fixed place (`test-trees/NAME`, so its
/// out-of-tree build is reused across runs) whose fs/aio.c is `edit` of
/// the original.
pub fn tree_with_aio(src: &Path, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let dst = cache_root().join("test-trees").join(name);
    if !dst.join("Makefile").exists() {
        hardlink_copy(src, &dst);
    }
    let aio = dst.join("fs/aio.c");
    let text = std::fs::read_to_string(src.join("fs/aio.c")).unwrap();
    let changed = edit(&text);
    assert_ne!(text, changed, "the edit applies to fs/aio.c");
    if std::fs::read_to_string(&aio).unwrap() != changed {
        // Unlink first: writing through the hard link would edit the baseline.
        std::fs::remove_file(&aio).unwrap();
        std::fs::write(&aio, changed).unwrap();
    }
    dst
}

/// A git history on top of Debian 6.1 (`test-trees/bisect-history`, kept
/// between runs, with fixed dates so its commit ids are the same each
/// time): c0 the tree, then c1..c16, each touching README or a comment in
/// fs/aio.c, except c5 (more slack in the ring: io_setup's ring capacity
/// changes, no verdict does), c8 (does not compile; c9 fixes it) and c10
/// (io_setup accepts nr_events == 0). Returns the tree and c0..c16's ids.
pub fn bisect_history(src: &Path) -> (PathBuf, Vec<String>) {
    let dst = cache_root().join("test-trees").join("bisect-history");
    let git = |args: &[&str]| -> String {
        let o = Command::new("git")
            .arg("-C")
            .arg(&dst)
            .args(args)
            .env("GIT_AUTHOR_NAME", "kmatrix test")
            .env("GIT_AUTHOR_EMAIL", "test@kmatrix.invalid")
            .env("GIT_COMMITTER_NAME", "kmatrix test")
            .env("GIT_COMMITTER_EMAIL", "test@kmatrix.invalid")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    const TAG: &str = "refs/tags/kmatrix-fixture-v1";
    let ids = |git: &dyn Fn(&[&str]) -> String| -> Vec<String> {
        git(&["rev-list", "--reverse", TAG])
            .lines()
            .map(str::to_string)
            .collect()
    };
    if dst.join(".git").exists()
        && Command::new("git")
            .arg("-C")
            .arg(&dst)
            .args(["rev-parse", "-q", "--verify", TAG])
            .output()
            .is_ok_and(|o| o.status.success())
    {
        return (dst.clone(), ids(&git));
    }
    hardlink_copy(src, &dst);
    git(&["init", "-q"]);
    // No background gc repacking 500 MB while the test builds kernels.
    git(&["config", "gc.auto", "0"]);
    git(&["config", "maintenance.auto", "false"]);
    // Debian's .gitignore ends with `/*` (its packaging ignores the whole
    // top level): a plain `git add` stages nothing, so -f.
    git(&["add", "-A"]);
    assert_eq!(
        git(&["ls-files"]).lines().count(),
        0,
        "Debian's .gitignore no longer ignores the tree"
    );
    git(&["add", "-f", "-A"]);
    let date = |i: usize| format!("2024-01-01T00:{i:02}:00+0000");
    let commit = |i: usize, msg: &str| {
        let o = Command::new("git")
            .arg("-C")
            .arg(&dst)
            .args(["commit", "-q", "-a", "-m", msg])
            .env("GIT_AUTHOR_NAME", "kmatrix test")
            .env("GIT_AUTHOR_EMAIL", "test@kmatrix.invalid")
            .env("GIT_COMMITTER_NAME", "kmatrix test")
            .env("GIT_COMMITTER_EMAIL", "test@kmatrix.invalid")
            .env("GIT_AUTHOR_DATE", date(i))
            .env("GIT_COMMITTER_DATE", date(i))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    commit(0, "Debian linux-source-6.1");
    let base_aio = std::fs::read_to_string(src.join("fs/aio.c")).unwrap();
    let base_readme = std::fs::read_to_string(src.join("README")).unwrap();
    // Unlink first: writing through the hard link would edit the cache's tree.
    let put = |rel: &str, text: &str| {
        let p = dst.join(rel);
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, text).unwrap();
    };
    let subjects = [
        "",
        "README: a note",
        "aio: a comment",
        "README: another note",
        "aio: another comment",
        "aio: more slack in the ring",
        "README: a third note",
        "aio: a third comment",
        "aio: a typo that does not build",
        "aio: fix the build",
        "aio: let io_setup take nr_events == 0",
        "README: a fourth note",
        "aio: a fourth comment",
        "README: a fifth note",
        "aio: a fifth comment",
        "README: a sixth note",
        "aio: a sixth comment",
    ];
    for (i, subject) in subjects.iter().enumerate().skip(1) {
        let mut aio = base_aio.clone();
        if i >= 5 {
            aio = aio.replacen(
                "nr_events += 2;\t/* 1 is required, 2 for good luck */",
                "nr_events += 130;\t/* 1 is required, the rest for good luck */",
                1,
            );
            assert_ne!(aio, base_aio, "the ring edit applies");
        }
        if i >= 10 {
            aio = aio.replacen(
                "if (unlikely(ctx || nr_events == 0)) {",
                "if (unlikely(ctx)) {",
                1,
            );
        }
        let mut readme = base_readme.clone();
        for (j, s) in subjects.iter().enumerate().take(i + 1).skip(1) {
            if s.starts_with("README") {
                readme.push_str(&format!("\nNote {j}.\n"));
            } else if s.ends_with("comment") {
                aio.push_str(&format!("\n/* Comment {j}. */\n"));
            }
        }
        if i == 8 {
            aio.push_str("\nthis line is not C;\n");
        }
        put("fs/aio.c", &aio);
        put("README", &readme);
        commit(i, subject);
    }
    git(&["tag", "kmatrix-fixture-v1"]);
    (dst.clone(), ids(&git))
}
