//! The CLI without booting anything: output into a closed pipe.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

/// A saved report big enough (several pipe buffers as a table) that
/// `kmatrix report` is still writing when the reader goes away.
fn big_report(dir: &std::path::Path) -> std::path::PathBuf {
    let mut axes = kmatrix::matrix::Axes::default_matrix(kmatrix::arch::all());
    axes.aio_max_nr = (1..=500).map(Some).collect();
    let cells = axes
        .cells()
        .iter()
        .map(|c| {
            kmatrix::run::empty_report(
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
