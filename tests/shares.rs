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

/// Program `i` of the many-programs test: its own code (a .text pad of
/// i * 1237 bytes shifts all of libc, so no two programs have the same code
/// at the same address) and its own constants, checks its own arithmetic,
/// forks, and reads a file next to it in the share (cwd is the program's
/// directory there, argv[0] the path the user gave).
fn distinct_program(i: usize) -> String {
    let pad = i * 1237;
    let sum = 499_500u64 * i as u64;
    format!(
        r#"#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
__asm__(".text\n.fill {pad}, 1, 0\n");
static int cmp(const void *a, const void *b) {{ return *(const int *)a - *(const int *)b; }}
int main(int argc, char **argv) {{
    unsigned sum = 0; char buf[64]; int a[512];
    for (unsigned j = 0; j < 1000; j++) sum += j * {i};
    if (sum != {sum}u) {{ fprintf(stderr, "bad sum %u\n", sum); return 1; }}
    snprintf(buf, sizeof buf, "%d", {i} * 7);
    if (strtol(buf, 0, 10) != {i} * 7) {{ fprintf(stderr, "bad strtol\n"); return 1; }}
    for (int j = 0; j < 512; j++) a[j] = (j * 7919 + {i}) % 1009;
    qsort(a, 512, sizeof a[0], cmp);
    for (int j = 1; j < 512; j++) if (a[j-1] > a[j]) {{ fprintf(stderr, "unsorted\n"); return 1; }}
    pid_t p = fork();
    if (p == 0) {{ printf("child of p{i}\n"); fflush(stdout); _exit({i} % 7); }}
    int st; waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != {i} % 7) {{ fprintf(stderr, "child status %x\n", st); return 1; }}
    FILE *f = fopen("data.txt", "r");
    if (!f || !fgets(buf, sizeof buf, f) || strcmp(buf, "share data\n")) {{ fprintf(stderr, "no data.txt in the cwd\n"); return 1; }}
    if (strcmp(argv[0], "/opt/t/p{i}")) {{ fprintf(stderr, "argv[0] is %s\n", argv[0]); return 1; }}
    printf("p{i} ok\n");
    return 0;
}}
"#
    )
}

/// Dies of SIGSEGV on purpose: the deviant for the crash report.
const CRASHER: &str = r#"#include <stdio.h>
int main(void) {
    fprintf(stderr, "about to crash\n");
    fflush(stderr);
    *(volatile int *)8 = 1;
    return 0;
}
"#;

/// Issue 21: distinct programs run from one share in one cell crashed at
/// random under TCG (stale translated code of page frames virtiofsd
/// refilled). Sixteen distinct static programs, twice, per arch: every run
/// must pass. And a program that crashes is reported as SIGSEGV with the
/// kernel's own line about it.
#[test]
fn many_distinct_programs_from_one_share_run_without_a_crash() {
    const N: usize = 16;
    for (arch, cc, kernel_says) in [
        ("x86_64", "cc", "segfault at"),
        ("arm64", "aarch64-linux-gnu-gcc", "unhandled"),
    ] {
        let share = tempfile::tempdir().unwrap();
        for i in 1..=N {
            build_static(cc, share.path(), &format!("p{i}"), &distinct_program(i));
        }
        build_static(cc, share.path(), "crasher", CRASHER);
        std::fs::write(share.path().join("data.txt"), "share data\n").unwrap();
        let spec = format!("{}:/opt/t", share.path().display());
        let mut args = vec!["--share".to_string(), spec];
        for _round in 0..2 {
            for i in 1..=N {
                args.extend(["--exec".to_string(), format!("/opt/t/p{i}")]);
            }
        }
        args.extend(["--exec".to_string(), "/opt/t/crasher".to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (c, err, _out) = run_cell(arch, &args);
        assert_eq!(c["status"], "ok", "{arch}: {c} {err}");
        let mut crashed = Vec::new();
        for (k, round) in [(0, 1), (N, 2)] {
            for i in 1..=N {
                let id = format!("exec:/opt/t/p{i}#{}", k + i);
                let x = case(&c, &id);
                if x["verdict"] != "pass" {
                    crashed.push(format!(
                        "round {round}: {id}: {} {}",
                        x["observed"], x["detail"]
                    ));
                }
            }
        }
        assert!(
            crashed.is_empty(),
            "{arch}: {} of {} runs failed:\n{}",
            crashed.len(),
            2 * N,
            crashed.join("\n")
        );
        let crash = case(&c, "exec:/opt/t/crasher");
        assert_eq!(crash["verdict"], "fail", "{arch}: {crash}");
        assert_eq!(crash["observed"], "SIGSEGV (signal:11)", "{arch}: {crash}");
        let detail = crash["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("killed by SIGSEGV\nkernel: crasher["),
            "{arch}: {detail}"
        );
        assert!(detail.contains(kernel_says), "{arch}: {detail}");
        assert!(detail.contains("about to crash"), "{arch}: {detail}");
    }
}
