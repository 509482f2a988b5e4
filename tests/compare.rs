//! Pre-merge: a candidate kernel built from the 6.1 tree with a one-line
//! change to fs/aio.c, compared with the unmodified baseline. `compare` must
//! report exactly the case the change affects, and nothing else.

mod common;
use common::trees::{cache_root, debian_tree};
use common::*;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// A copy of `src` whose fs/aio.c accepts nr_events == 0.
fn candidate_tree(src: &Path) -> PathBuf {
    trees::tree_with_aio(src, "aio-nr-zero-accepted", |text| {
        text.replacen(
            "if (unlikely(ctx || nr_events == 0)) {",
            "if (unlikely(ctx)) {",
            1,
        )
    })
}

/// The build log of the cache entry built from tree `dir`.
fn build_log_of(dir: &Path) -> String {
    let want = format!("tree:{}", dir.canonicalize().unwrap().display());
    for e in std::fs::read_dir(cache_root().join("kernels"))
        .unwrap()
        .flatten()
    {
        let meta = std::fs::read_to_string(e.path().join("kmatrix-built.json")).unwrap_or_default();
        let meta: Value = serde_json::from_str(&meta).unwrap_or(Value::Null);
        if meta["source"] == want.as_str() {
            return std::fs::read_to_string(e.path().join("build.log")).unwrap();
        }
    }
    panic!("no cache entry built from {want}");
}

#[test]
fn compare_reports_exactly_what_a_one_line_change_affects() {
    let debian = debian_tree();
    // The staging place of x86_64/aio-on set to the baseline's tree (a
    // no-op build when it already holds it), so the candidate below is one
    // line off what was built there last.
    let o = kmatrix(&[
        "build",
        "--arch",
        "x86_64",
        "--config",
        "aio-on",
        "--kernel-src",
        debian.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cand = candidate_tree(&debian);
    let out = tempfile::tempdir().unwrap();
    let o = kmatrix(&[
        "compare",
        "--baseline",
        "6.1",
        "--candidate",
        cand.to_str().unwrap(),
        "--arch",
        "x86_64",
        "--config",
        "aio-on",
        "--cases",
        "setup.basic,einval.*,efault.*",
        "--format",
        "json",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    let changes: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 1, "exactly one case changed: {changes:#?}");
    assert_eq!(changes[0]["case"], "error.EINVAL.nr_events-zero");
    assert_eq!(changes[0]["kind"], "newly-failing");
    assert_eq!(changes[0]["baseline"], "pass (EINVAL)");
    assert_eq!(changes[0]["candidate"], "fail (OK)");
    assert_eq!(o.status.code(), Some(1), "a regression fails the command");
    // The candidate reused the baseline's objects: it compiled its one
    // changed file and the few that embed the build's time, not ~600.
    let log = build_log_of(&cand);
    let cc: Vec<_> = log.lines().filter(|l| l.starts_with("  CC ")).collect();
    assert!(
        log.contains("1 file(s) written") && cc.iter().any(|l| l.ends_with(" fs/aio.o")),
        "fs/aio.c staged and recompiled:\n{log}"
    );
    assert!(
        cc.len() < 20,
        "{} objects compiled:\n{}",
        cc.len(),
        cc.join("\n")
    );
    // The same comparison against the saved baseline report needs no reboot of it.
    let base = out.path().join("baseline/report.json");
    let o2 = kmatrix(&[
        "compare",
        "--baseline",
        base.to_str().unwrap(),
        "--candidate",
        base.to_str().unwrap(),
        "--arch",
        "x86_64",
    ]);
    assert!(String::from_utf8_lossy(&o2.stdout).contains("no change"));
    assert!(o2.status.success());
}
