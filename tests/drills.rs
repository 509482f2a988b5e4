//! Fault drills: each causes the fault for real and checks that the runner
//! keeps its word (clear verdicts, partial reports, no orphans left behind).

mod common;
use common::*;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn interrupt_run_with(signal: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args([
            "run", "--arch", "x86_64", "--config", "aio-on", "--cpus", "1,2", "--format", "json",
            "--out",
        ])
        .arg(&out)
        .env("TMPDIR", &scratch)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both VMs are up (their QMP sockets live in our TMPDIR).
    let t0 = Instant::now();
    while procs_mentioning(scratch.to_str().unwrap())
        .iter()
        .filter(|c| c.contains("qemu-system"))
        .count()
        < 2
    {
        assert!(t0.elapsed() < Duration::from_secs(600), "VMs never started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "kmatrix ended before the VMs started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let left = procs_mentioning(scratch.to_str().unwrap());
    assert!(left.is_empty(), "orphans left behind: {left:?}");
    assert!(
        entries(&scratch).is_empty(),
        "temp dirs or sockets left behind: {:?}",
        entries(&scratch)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let unfinished = report["unfinished"].as_array().unwrap();
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(
        unfinished.len() + cells.len(),
        2,
        "every cell is accounted for: {report}"
    );
    assert!(!unfinished.is_empty(), "the interrupted cells are named");
}

#[test]
fn sigterm_reaps_every_vm_and_writes_the_partial_report() {
    interrupt_run_with(libc::SIGTERM);
}

#[test]
fn ctrl_c_reaps_every_vm_and_writes_the_partial_report() {
    interrupt_run_with(libc::SIGINT);
}

/// One x86_64 aio-on cell with extra kernel command-line words: the JSON
/// report, the exit status, stderr, and the out dir (kept while in scope).
fn drill(append: &[&str], extra: &[&str]) -> (Value, Option<i32>, String, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = vec![
        "run",
        "--arch",
        "x86_64",
        "--config",
        "aio-on",
        "--format",
        "json",
        "--out",
        tmp.path().to_str().unwrap(),
    ];
    for a in append {
        args.extend(["--append", a]);
    }
    args.extend(extra);
    // A private TMPDIR: the QMP socket, FIFOs and temp dirs of this run live
    // there, so anything left behind is ours to find.
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args(&args)
        .env("TMPDIR", &scratch)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let left = procs_mentioning(scratch.to_str().unwrap());
    assert!(left.is_empty(), "orphans left behind: {left:?}");
    assert!(
        entries(&scratch).is_empty(),
        "left behind: {:?}",
        entries(&scratch)
    );
    let report: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("JSON report ({e}): {err}"));
    (report, o.status.code(), err, tmp)
}

fn only_cell(r: &Value) -> &Value {
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{r}");
    &cells[0]
}

#[test]
fn guest_panic_is_a_panic_verdict_with_console_evidence() {
    let (r, code, _, _out) = drill(&["kmatrix.drill=panic"], &[]);
    let c = only_cell(&r);
    assert_eq!(c["status"], "panic", "{c}");
    // pvpanic (q35) reports over QMP; microvm has no pvpanic, so the reset
    // and the console's panic line name it.
    let detail = c["status_detail"].as_str().unwrap();
    assert!(
        detail.contains("GUEST_PANICKED") || detail.contains("kernel panic on the console"),
        "the panic is named: {c}"
    );
    assert!(
        c["console_excerpt"]
            .as_str()
            .unwrap()
            .contains("Kernel panic"),
        "{c}"
    );
    assert_eq!(
        c["hello"]["mode"], "probe",
        "what the guest sent before dying is kept"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn hung_guest_times_out_and_is_stopped_over_qmp() {
    let t = Instant::now();
    let (r, code, _, _out) = drill(&["kmatrix.drill=hang"], &["--timeout", "8"]);
    let c = only_cell(&r);
    assert_eq!(c["status"], "timeout", "{c}");
    assert_eq!(c["exit"]["stopped_by"], "qmp quit", "{c}");
    assert!(t.elapsed() < Duration::from_secs(60), "the limit is kept");
    assert_eq!(code, Some(1));
}

#[test]
fn silent_guest_is_incomplete() {
    let (r, _, _, _out) = drill(&["kmatrix.drill=silent"], &[]);
    let c = only_cell(&r);
    assert_eq!(c["status"], "incomplete", "{c}");
    assert!(
        c["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["verdict"] == "error"),
        "no case passes on no data"
    );
}

#[test]
fn truncated_stream_is_incomplete_naming_the_offset() {
    let (r, _, _, _out) = drill(&["kmatrix.drill=truncate"], &[]);
    let c = only_cell(&r);
    assert_eq!(c["status"], "incomplete", "{c}");
    assert!(
        c["status_detail"].as_str().unwrap().contains("offset"),
        "{c}"
    );
}

#[test]
fn garbage_is_a_protocol_error_naming_the_offset() {
    let (r, _, _, _out) = drill(&["kmatrix.drill=garbage"], &[]);
    let c = only_cell(&r);
    assert_eq!(c["status"], "protocol-error", "{c}");
    assert!(
        c["status_detail"].as_str().unwrap().starts_with("offset "),
        "{c}"
    );
}

#[test]
fn result_flood_is_bounded() {
    let (r, _, _, _out) = drill(&["kmatrix.drill=flood"], &["--timeout", "15"]);
    let c = only_cell(&r);
    assert_eq!(c["status"], "timeout", "{c}");
    let kept = std::fs::metadata(Path::new(c["artifacts"].as_str().unwrap()).join("results.jsonl"))
        .unwrap()
        .len();
    assert!(kept <= 8 << 20, "kept {kept} bytes");
    assert!(
        c["timings"]["results_bytes"].as_u64().unwrap() > kept,
        "the flood went past the cap and was counted"
    );
    assert!(
        c["stream_errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("flood")),
        "{c}"
    );
}

#[test]
fn console_flood_is_bounded() {
    let (r, _, _, _out) = drill(&["kmatrix.drill=flood-console"], &["--timeout", "15"]);
    let c = only_cell(&r);
    assert_eq!(c["status"], "timeout", "{c}");
    let kept = std::fs::metadata(Path::new(c["artifacts"].as_str().unwrap()).join("console.log"))
        .unwrap()
        .len();
    assert!(kept <= 4 << 20, "kept {kept} bytes");
}

#[test]
fn qemu_that_fails_to_start_fails_its_cell_only() {
    // 9999 vCPUs is more than q35 allows: QEMU refuses to start.
    let (r, code, _, _out) = drill(&[], &["--cpus", "2,9999", "--cases", "setup.basic"]);
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    let bad = cells.iter().find(|c| c["cell"]["cpus"] == 9999).unwrap();
    assert_eq!(bad["status"], "error", "{bad}");
    assert!(
        bad["status_detail"].as_str().unwrap().contains("CPUs"),
        "QEMU's own words: {bad}"
    );
    let good = cells.iter().find(|c| c["cell"]["cpus"] == 2).unwrap();
    assert_eq!(good["status"], "ok", "the other cell goes on: {good}");
    assert_eq!(code, Some(1));
}

#[test]
fn sigterm_during_a_kernel_build_kills_make_and_its_compilers() {
    let tmp = tempfile::tempdir().unwrap();
    // A fragment of its own gives this build its own cache entry, whose name
    // (and so every make/cc command line) carries "drill-interrupt".
    let frag = tmp.path().join("drill-interrupt.config");
    std::fs::write(
        &frag,
        "# kmatrix drill: a build that is always interrupted\nCONFIG_AIO=y\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args([
            "build",
            "--arch",
            "x86_64",
            "--config",
            "aio-on",
            "--fragment",
        ])
        .arg(&frag)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while procs_mentioning("drill-interrupt")
        .iter()
        .all(|c| !c.starts_with("make"))
    {
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "make never started"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "kmatrix ended before make started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // SIGKILL is delivered at once, but give the kernel a moment to reap.
    let t1 = Instant::now();
    while !procs_mentioning("drill-interrupt").is_empty() && t1.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let left = procs_mentioning("drill-interrupt");
    assert!(left.is_empty(), "build processes left behind: {left:?}");
}
