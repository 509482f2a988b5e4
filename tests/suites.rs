//! Test suites in a real VM: a small static LTP-style program and a KTAP
//! program (written here, built static with gcc) through every --exec-format in an
//! x86_64 VM, with
//! --env, --cwd and the kernel config where LTP looks for it; and the CLI's
//! refusals of bad axis values and exec options, before anything is built.

mod common;
use common::*;

use serde_json::Value;

/// LTP's conventions: result lines on stderr, exit bits TFAIL 1, TCONF 32.
const LTPISH: &str = r#"#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "pass";
    fprintf(stderr, "tst_test.c:1900: TINFO: LTP version: kmatrix-test\n");
    fprintf(stderr, "tst_test.c:1904: TINFO: a long banner line that is not the reason\n");
    fprintf(stderr, "ltpish.c:10: TPASS: first check\n");
    if (!strcmp(mode, "fail")) {
        fprintf(stderr, "ltpish.c:20: TFAIL: io_setup() returned -EAGAIN, expected -EINVAL\n");
        fprintf(stderr, "\nSummary:\npassed   1\nfailed   1\n");
        return 1;
    }
    if (!strcmp(mode, "conf")) {
        fprintf(stderr, "ltpish.c:30: TCONF: AIO not supported by kernel\n");
        return 32;
    }
    fprintf(stderr, "\nSummary:\npassed   1\nfailed   0\n");
    return 0;
}
"#;

/// KTAP with a nested suite; checks its environment, working directory
/// and the kernel config that LTP's tst_kconfig reads.
const KTAPISH: &str = r##"#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    char cwd[256] = "", line[256];
    const char *kp = getenv("KCONFIG_PATH");
    const char *t = getenv("KMX_T");
    int aio = 0;
    FILE *f = kp ? fopen(kp, "r") : NULL;
    while (f && fgets(line, sizeof line, f))
        if (!strcmp(line, "CONFIG_AIO=y\n")) aio = 1;
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    printf("KTAP version 1\n1..3\n");
    printf("    KTAP version 1\n    # Subtest: env\n    1..3\n");
    printf("    %sok 1 kmx_t\n", t && !strcmp(t, "yes") ? "" : "not ");
    printf("    # cwd is %s\n", cwd);
    printf("    %sok 2 cwd\n", !strcmp(cwd, "/tmp") ? "" : "not ");
    printf("    %sok 3 kconfig\n", aio ? "" : "not ");
    printf("%sok 1 env\n", t && !strcmp(t, "yes") && !strcmp(cwd, "/tmp") && aio ? "" : "not ");
    printf("# the next one fails on purpose\nnot ok 2 deliberate\nok 3 skipped # SKIP not here\n");
    return 1;
}
"##;

fn find<'a>(cell: &'a Value, id: &str) -> &'a Value {
    case(cell, id)
}

#[test]
fn ltp_and_ktap_programs_through_every_exec_format_in_a_real_vm() {
    let share = tempfile::tempdir().unwrap();
    build_static("cc", share.path(), "ltpish", LTPISH);
    build_static("cc", share.path(), "ktapish", KTAPISH);
    let spec = format!("{}:/opt/t", share.path().display());
    // x86_64: its kernels are the first ones built (arm64 runs the same guest code).
    let (c, err, out) = run_cell(
        "x86_64",
        &[
            "--share",
            &spec,
            "--env",
            "KMX_T=yes",
            "--cwd",
            "/tmp",
            "--exec",
            "/opt/t/ltpish pass",
            "--exec-format",
            "ltp",
            "--exec",
            "/opt/t/ltpish fail",
            "--exec-format",
            "ltp",
            "--exec",
            "/opt/t/ltpish conf",
            "--exec-format",
            "ltp",
            "--exec",
            "/opt/t/ktapish",
            "--exec-format",
            "ktap",
            "--exec",
            "/opt/t/ktapish",
            "--exec-format",
            "tap",
            "--exec",
            "/opt/t/ltpish fail",
            "--exec-format",
            "plain",
        ],
    );
    let c = &c;
    assert_eq!(c["status"], "ok", "{c} {err}");
    assert_eq!(c["execs"].as_array().unwrap().len(), 6);
    // LTP: pass, fail (evidence is the TFAIL line, not the banner), skip.
    assert_eq!(find(c, "exec:/opt/t/ltpish#1")["verdict"], "pass");
    assert_eq!(
        find(c, "exec:/opt/t/ltpish#1/ltpish.c:10")["verdict"],
        "pass"
    );
    let fail = find(c, "exec:/opt/t/ltpish#2");
    assert_eq!(fail["verdict"], "fail", "{fail}");
    assert!(fail["detail"]
        .as_str()
        .unwrap()
        .contains("TFAIL: io_setup() returned -EAGAIN"));
    assert!(!fail["detail"].as_str().unwrap().contains("banner"));
    assert_eq!(
        find(c, "exec:/opt/t/ltpish#2/ltpish.c:20")["observed"],
        "TFAIL"
    );
    assert_eq!(find(c, "exec:/opt/t/ltpish#3")["verdict"], "skip");
    assert_eq!(
        find(c, "exec:/opt/t/ltpish#3/ltpish.c:30")["verdict"],
        "skip"
    );
    // KTAP and TAP read the same output: env, cwd and kconfig pass in the
    // guest, the deliberate failure fails with its diagnostic.
    for f in ["exec:/opt/t/ktapish#4", "exec:/opt/t/ktapish#5"] {
        assert_eq!(find(c, f)["verdict"], "fail", "{f}");
        for sub in ["env", "env/kmx_t", "env/cwd", "env/kconfig"] {
            let k = find(c, &format!("{f}/{sub}"));
            assert_eq!(k["verdict"], "pass", "{f}/{sub}: {k}");
        }
        let d = find(c, &format!("{f}/deliberate"));
        assert_eq!(d["verdict"], "fail");
        assert!(d["detail"].as_str().unwrap().contains("fails on purpose"));
        assert_eq!(find(c, &format!("{f}/skipped"))["verdict"], "skip");
    }
    // Plain: exit status only, last stderr lines as evidence.
    let plain = find(c, "exec:/opt/t/ltpish#6");
    assert_eq!(
        (plain["verdict"].as_str(), plain["observed"].as_str()),
        (Some("fail"), Some("exit:1"))
    );
    // The table keeps exec results out of the spec deviations.
    let t = kmatrix(&["report", out.path().join("report.json").to_str().unwrap()]);
    let table = String::from_utf8_lossy(&t.stdout);
    let (spec_part, exec_part) = table
        .split_once("test programs and shares")
        .unwrap_or_else(|| panic!("no exec section:\n{table}"));
    // The grid lists every case; the spec's FAIL lines and deviations
    // (after the grid's blank line) do not list exec cases.
    let spec_lines = spec_part
        .lines()
        .skip_while(|l| !l.is_empty())
        .filter(|l| l.contains("exec:"));
    assert_eq!(
        spec_lines.count(),
        0,
        "exec cases among spec results:\n{table}"
    );
    assert!(
        exec_part.contains("TFAIL: io_setup() returned -EAGAIN"),
        "{table}"
    );
}

#[test]
fn bad_axis_values_and_exec_options_are_refused_before_anything_is_built() {
    for (args, want) in [
        (&["list", "--cpus", "0"][..], "cpus 0"),
        (&["list", "--mem", "16"][..], "mem 16 MiB"),
        (&["list", "--aio-max-nr", "-1"][..], "unsigned long"),
        (
            &["list", "--aio-max-nr", "18446744073709551616"][..],
            "unsigned long",
        ),
        (&["list", "--aio-max-nr", "many"][..], "unsigned long"),
        (
            &[
                "run",
                "--share",
                "/tmp",
                "--exec",
                "/a",
                "--exec",
                "/b",
                "--exec",
                "/c",
                "--exec-format",
                "ltp",
                "--exec-format",
                "tap",
            ][..],
            "once per program",
        ),
        (
            &["run", "--share", "/tmp", "--exec", "/a", "--env", "NOVALUE"][..],
            "KEY=VALUE",
        ),
        (
            &["run", "--share", "/tmp", "--exec", "/a", "--cwd", "rel"][..],
            "absolute",
        ),
    ] {
        let o = kmatrix(args);
        assert!(!o.status.success(), "{args:?} accepted");
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
    }
    let long = format!("/opt/{}", "x".repeat(800));
    let o = kmatrix(&["run", "--share", "/tmp", "--exec", &long]);
    assert!(text(&o).contains("kernel command line"), "{}", text(&o));
    // aio-off cells get no aio-max-nr axis, from the CLI too.
    let o = kmatrix(&["list", "--aio-max-nr", "1,65536"]);
    let names = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = names.lines().collect();
    assert_eq!(lines.len(), 2 * 3, "{names}");
    assert!(lines
        .iter()
        .filter(|l| l.contains("aio-off"))
        .all(|l| l.contains("maxdefault")));
}
