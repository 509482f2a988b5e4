//! virtiofs: host directories shared into real VMs of both arches, a static
//! program built here run from the share, and read-only really read-only.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

/// Builds a static C program for `cc` into `dir/hello`.
fn build_hello(cc: &str, dir: &Path) {
    let src = dir.join("hello.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
int main(int argc, char **argv) {
    printf("hello from %s, argc=%d, arg1=%s\n", argv[0], argc, argc > 1 ? argv[1] : "-");
    fprintf(stderr, "to stderr\n");
    return 3;
}
"#,
    )
    .unwrap();
    let st = Command::new(cc)
        .args(["-static", "-O2", "-o"])
        .arg(dir.join("hello"))
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success(), "{cc} -static");
    std::fs::remove_file(src).unwrap();
}

#[test]
fn program_from_a_share_runs_in_both_arches_and_lands_in_the_report() {
    for (arch, cc) in [("x86_64", "cc"), ("arm64", "aarch64-linux-gnu-gcc")] {
        let share = tempfile::tempdir().unwrap();
        build_hello(cc, share.path());
        let spec = format!("{}:/opt/t", share.path().display());
        let (c, err, _out) = run_cell(arch, &["--share", &spec, "--exec", "/opt/t/hello world"]);
        assert_eq!(c["status"], "ok", "{arch}: {c} {err}");
        let exec = case(&c, "exec:/opt/t/hello");
        assert_eq!(exec["observed"], "exit:3", "{arch}: {exec}");
        assert_eq!(exec["verdict"], "fail", "a non-zero exit is a failing case");
        assert_eq!(
            c["execs"][0]["stdout"], "hello from /opt/t/hello, argc=2, arg1=world\n",
            "{arch}"
        );
        assert_eq!(c["execs"][0]["stderr"], "to stderr\n", "{arch}");
        assert_eq!(
            case(&c, "share:/opt/t")["verdict"],
            "pass",
            "{arch}: read-only share mounted"
        );
        let left: Vec<_> = std::fs::read_dir(share.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            left,
            ["hello"],
            "{arch}: the guest wrote nothing into a read-only share"
        );
    }
}

#[test]
fn read_only_share_cannot_be_written_and_rw_share_can() {
    let ro = tempfile::tempdir().unwrap();
    let rw = tempfile::tempdir().unwrap();
    let ro_spec = format!("{}:/mnt/ro", ro.path().display());
    let rw_spec = format!("{}:/mnt/rw:rw", rw.path().display());
    let (c, err, _out) = run_cell("arm64", &["--share", &ro_spec, "--share", &rw_spec]);
    assert_eq!(c["status"], "ok", "{c} {err}");
    let ro_case = case(&c, "share:/mnt/ro");
    assert_eq!(
        ro_case["observed"], "mounted, write fails with EROFS",
        "{ro_case}"
    );
    assert_eq!(ro_case["verdict"], "pass");
    assert_eq!(case(&c, "share:/mnt/rw")["observed"], "mounted, writable");
    assert_eq!(std::fs::read_dir(ro.path()).unwrap().count(), 0);
}

#[test]
fn exec_without_share_and_missing_share_dir_are_clear_errors() {
    let o = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args(["run", "--exec", "/mnt/host/x"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("--exec runs a program from a share"));
    let o = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args(["run", "--share", "/nonexistent-dir"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent-dir is not a directory"));
}
