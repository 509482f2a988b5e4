//! Fault drills: each causes the fault for real and checks that the runner
//! keeps its word (clear verdicts, partial reports, no orphans left behind).

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Processes whose command line mentions `needle` (our private TMPDIR).
fn procs_mentioning(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let zombie = std::fs::read_to_string(e.path().join("stat")).map_or(false, |s| s.contains(") Z "));
            if cmd.contains(needle) && !zombie {
                out.push(cmd);
            }
        }
    }
    out
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
}

fn interrupt_run_with(signal: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args(["run", "--arch", "x86_64", "--config", "aio-on", "--cpus", "1,2", "--format", "json", "--out"])
        .arg(&out)
        .env("TMPDIR", &scratch)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both VMs are up (their QMP sockets live in our TMPDIR).
    let t0 = Instant::now();
    while procs_mentioning(scratch.to_str().unwrap()).iter().filter(|c| c.contains("qemu-system")).count() < 2 {
        assert!(t0.elapsed() < Duration::from_secs(600), "VMs never started");
        assert!(child.try_wait().unwrap().is_none(), "kmatrix ended before the VMs started");
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
    assert!(entries(&scratch).is_empty(), "temp dirs or sockets left behind: {:?}", entries(&scratch));
    let report: Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let unfinished = report["unfinished"].as_array().unwrap();
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(unfinished.len() + cells.len(), 2, "every cell is accounted for: {report}");
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
