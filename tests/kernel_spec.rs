//! A kernel tree that carries its own KAPI blocks: Debian 6.1 with blocks
//! added above fs/aio.c's SYSCALL_DEFINEs (comments only, so the staging
//! place recompiles one object), run with --kernel-src. Each syscall is
//! judged against the tree's block, the report says so per syscall, and
//! the one block edited to demand what 6.1 does not do (io_submit rejecting
//! nr = 0) is a FAIL with the observation as evidence.

mod common;
use common::trees::{debian_tree, tree_with_aio};
use common::*;

use serde_json::Value;

/// kmatrix's own block texts (this project's, not upstream's), placed above
/// each SYSCALL_DEFINE of fs/aio.c; io_submit's range edited.
fn with_blocks(aio: &str) -> String {
    // Only the block (a file may have text around it, or a patch's '+').
    let spec = |name: &str| {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../spec/{name}-kapi-spec.txt")),
        )
        .unwrap();
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.strip_prefix('+').unwrap_or(l))
            .skip_while(|l| l.trim() != "/**")
            .collect();
        let end = lines.iter().position(|l| l.trim() == "*/").unwrap();
        lines[..=end].join("\n") + "\n"
    };
    let mut text = aio.to_string();
    for (sys, define) in [
        ("io_setup", "\nSYSCALL_DEFINE2(io_setup,"),
        ("io_destroy", "\nSYSCALL_DEFINE1(io_destroy,"),
        ("io_submit", "\nSYSCALL_DEFINE3(io_submit,"),
        ("io_cancel", "\nSYSCALL_DEFINE3(io_cancel,"),
    ] {
        let mut block = spec(sys);
        if sys == "io_submit" {
            // The deviation: 6.1 returns 0 for nr = 0.
            block = block.replace("range: 0, LONG_MAX", "range: 1, LONG_MAX");
        }
        assert_eq!(text.matches(define).count(), 1, "{define} once in fs/aio.c");
        text = text.replacen(define, &format!("\n{}{define}", block.trim_end()), 1);
    }
    text
}

#[test]
fn a_tree_is_judged_against_its_own_kapi_blocks() {
    let debian = debian_tree();
    // The staging place at the baseline, so the tree below is comments off it.
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
    let tree = tree_with_aio(&debian, "aio-kapi-blocks", with_blocks);
    let out = tempfile::tempdir().unwrap();
    let o = kmatrix(&[
        "run",
        "--kernel-src",
        tree.to_str().unwrap(),
        "--arch",
        "x86_64",
        "--config",
        "aio-on",
        "--syscalls",
        "io_submit,io_destroy",
        "--format",
        "json",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    let aio_c = tree.join("fs/aio.c").display().to_string();
    assert!(
        err.contains(&format!("judging io_submit against {aio_c}:")),
        "{err}"
    );
    // Per syscall, the spec judged against.
    let spec = |sys: &str| {
        r["specs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["syscall"] == sys)
            .unwrap()
            .clone()
    };
    for sys in ["io_setup", "io_destroy", "io_submit", "io_cancel"] {
        assert_eq!(spec(sys)["path"], aio_c.as_str(), "{sys}");
        assert_eq!(spec(sys)["author"], "upstream", "{sys}");
    }
    assert_eq!(
        spec("io_getevents")["author"],
        "kmatrix",
        "no block in the tree"
    );
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "ok", "{err}");
    // The edited clause: the kernel accepts nr = 0, the tree's spec does not.
    let c = case(cell, "io_submit.param.nr.range/0");
    assert_eq!(c["verdict"], "fail", "{c}");
    assert_eq!(c["expected"], "EINVAL");
    // io_submit(ctx, 0, ...) returns the count 0 (the hints fix counts).
    assert_eq!(c["observed"], "0");
    assert!(c["detail"].as_str().unwrap().contains(&aio_c), "{c}");
    // The rest of io_submit and io_destroy holds against the tree's blocks.
    let bad: Vec<&Value> = cell["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["verdict"] == "fail" && k["id"] != "io_submit.param.nr.range/0")
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(o.status.code(), Some(1), "a FAIL fails the run");
}
