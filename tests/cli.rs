//! The CLI without booting anything: output into a closed pipe.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

/// A saved report big enough (several pipe buffers as a table) that
/// `kmatrix report` is still writing when the reader goes away.
fn big_report(dir: &std::path::Path) -> std::path::PathBuf {
    let mut axes = kmatrix::matrix::Axes::default_matrix(kmatrix::matrix::arch::all());
    axes.aio_max_nr = (1..=500).map(Some).collect();
    let cells = axes
        .cells()
        .iter()
        .map(|c| {
            kmatrix::orchestration::run::empty_report(
                c,
                dir,
                kmatrix::report::CellStatus::Error,
                "never booted: this report is a fixture".into(),
            )
        })
        .collect();
    let r = kmatrix::report::Report::new(cells, vec![]);
    let p = dir.join("report.json");
    std::fs::write(&p, serde_json::to_vec(&r).unwrap()).unwrap();
    p
}

#[test]
fn report_into_a_closed_pipe_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let report = big_report(dir.path());
    for format in ["table", "json", "junit", "ktap"] {
        // What `kmatrix report X | head -c 100` does to kmatrix.
        let mut child = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
            .args(["report", report.to_str().unwrap(), "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut head = [0u8; 100];
        child.stdout.take().unwrap().read_exact(&mut head).unwrap();
        // The read end is closed here.
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{format}: {err}");
        // A report of errored cells exits 1, as it would into a terminal.
        assert_eq!(out.status.code(), Some(1), "{format}: {err}");
    }
}

#[test]
fn a_cases_pattern_that_selects_nothing_is_named_before_anything_runs() {
    let out = tempfile::tempdir().unwrap();
    let o = common::kmatrix(&[
        "run",
        "--arch",
        "x86_64",
        "--cases",
        "einval.*,einval.nr-zer0",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let t = common::text(&o);
    assert!(
        t.contains("--cases einval.nr-zer0: matches no experiment (known: setup.basic,"),
        "{t}"
    );
    assert!(!out.path().join("report.json").exists());
}

#[test]
fn family_experiments_are_cases_too_and_a_typo_is_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    // An --out that cannot be created: a run that got past --cases stops
    // there, before any kernel is built or booted.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let out = file.join("out");
    let run = |cases: &str| {
        let args = ["run", "--arch", "x86_64", "--cases", cases, "--out"];
        let mut args: Vec<&str> = args.to_vec();
        args.push(out.to_str().unwrap());
        common::text(&common::kmatrix(&args))
    };
    let t = run("io_getevents.generic");
    assert!(!t.contains("matches no experiment"), "{t}");
    assert!(t.contains(&format!("creating {}", out.display())), "{t}");
    let t = run("io_getevents.generic,io_getevents.genric");
    assert!(
        t.contains("--cases io_getevents.genric: matches no experiment (known: setup.basic,"),
        "{t}"
    );
    assert!(t.contains("io_getevents.generic"), "{t}");
}

fn upstream_aio() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/upstream-kapi/fs-aio-kapi-kerneldoc.txt");
    if p.exists() {
        Some(p)
    } else {
        println!("skipped: {} is absent (CI has ../shared)", p.display());
        None
    }
}

/// `kmatrix spec --source` on upstream's four AIO blocks: four models,
/// exit 0, the quirks as warnings naming file and line.
#[test]
fn spec_source_reads_the_upstream_aio_blocks() {
    let Some(p) = upstream_aio() else { return };
    let o = common::kmatrix(&["spec", "--source", p.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let heads: Vec<&str> = out.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(heads.len(), 4, "{out}");
    assert!(out.contains("(upstream, sha256 "));
    assert!(err.contains("fs-aio-kapi-kerneldoc.txt:885: error (driver-specific) names no errno"));
    let o = common::kmatrix(&[
        "spec",
        "--source",
        p.to_str().unwrap(),
        "--format",
        "json",
        "io_cancel",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["spec"]["syscall"], "io_cancel");
    assert_eq!(v[0]["origin"]["author"], "upstream");
    assert_eq!(v[0]["spec"]["ret"]["success_value"]["errno"], "EINPROGRESS");
}

/// A malformed block is an error naming file and line, exit 1, no panic.
#[test]
fn spec_source_names_a_malformed_block() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.c");
    std::fs::write(
        &f,
        "/**\n * sys_x - X\n * @a: a\n *\n * context-flags: KAPI_CTX_PROCESS\n *\n * param: a\n *   type: KAPI_TYPE_WIDGET\n */\n",
    )
    .unwrap();
    let o = common::kmatrix(&["spec", "--source", f.to_str().unwrap()]);
    let t = common::text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "{}:8: unknown param type \"KAPI_TYPE_WIDGET\"",
            f.display()
        )),
        "{t}"
    );
    assert!(!t.contains("panicked"));
}

/// `kmatrix spec diff builtin UPSTREAM`: per syscall, clause by clause.
#[test]
fn spec_diff_against_the_upstream_aio_blocks() {
    let Some(p) = upstream_aio() else { return };
    let o = common::kmatrix(&["spec", "diff", "builtin", p.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "differences exit 1: {out}");
    assert!(out.contains("== io_getevents: only in A"), "{out}");
    assert!(
        out.contains("  return success: 0 .. nr  ->  >= 0\n"),
        "{out}"
    );
    assert!(
        out.contains("  error EINPROGRESS: present  ->  (absent)\n"),
        "{out}"
    );
    let o = common::kmatrix(&[
        "spec",
        "diff",
        p.to_str().unwrap(),
        p.to_str().unwrap(),
        "io_setup",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("no structural difference"));
}
