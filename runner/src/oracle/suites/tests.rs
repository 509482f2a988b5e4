//! Every format is fed deviant output and must fail (or error) on it.

use super::*;
use crate::stream::Experiment;
use kmatrix_proto::obs::key;
use serde_json::json;

fn stream_with(recs: Vec<(&str, &str, Value)>) -> Stream {
    Stream {
        experiments: recs
            .into_iter()
            .map(|(id, fate, obs)| Experiment {
                id: id.into(),
                fate: fate.into(),
                obs,
            })
            .collect(),
        ..Default::default()
    }
}

fn rec(status: &str, stdout: &str, stderr: &str) -> Value {
    json!({key::ARGV: ["/opt/t/prog"], key::STATUS: status, key::STDOUT: stdout, key::STDERR: stderr,
           key::STDOUT_BYTES: stdout.len(), key::STDERR_BYTES: stderr.len()})
}

fn judge(f: ExecFormat, status: &str, stdout: &str, stderr: &str) -> Vec<Case> {
    let s = stream_with(vec![("exec/0", "exited", rec(status, stdout, stderr))]);
    judge_exec(
        &s,
        &[Program {
            cmd: "/opt/t/prog arg".into(),
            format: f,
        }],
    )
}

fn find<'a>(cases: &'a [Case], id: &str) -> &'a Case {
    cases
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no {id} in {cases:#?}"))
}

const LTP_BANNER: &str = "tst_test.c:1900: TINFO: LTP version: 20250130\n\
tst_test.c:1904: TINFO: Tested kernel: 6.1.0 #1 SMP x86_64\n\
tst_test.c:1735: TINFO: Timeout per run is 0h 00m 30s\n";

#[test]
fn plain_passes_on_zero_and_fails_otherwise_with_the_last_lines() {
    let c = judge(ExecFormat::Plain, "exit:0", "fine\n", "");
    assert_eq!((c.len(), c[0].verdict), (1, Verdict::Pass));
    let long_banner = "banner line\n".repeat(50);
    let c = judge(
        ExecFormat::Plain,
        "exit:3",
        "",
        &format!("{long_banner}the real reason\n"),
    );
    assert_eq!(c[0].verdict, Verdict::Fail);
    assert_eq!(c[0].id, "exec:/opt/t/prog");
    assert!(c[0].detail.ends_with("the real reason"), "{}", c[0].detail);
    assert_eq!(
        judge(ExecFormat::Plain, "signal:11", "", "")[0].verdict,
        Verdict::Fail
    );
    assert_eq!(
        judge(ExecFormat::Plain, "timeout", "", "")[0].verdict,
        Verdict::Error
    );
}

#[test]
fn missing_or_unrun_records_are_errors_naming_the_cause() {
    let none = judge_exec(
        &Stream::default(),
        &[Program {
            cmd: "/x".into(),
            format: ExecFormat::Ltp,
        }],
    );
    assert_eq!(none[0].verdict, Verdict::Error);
    assert!(none[0].detail.contains("no exec record"));
    let mut r = rec("not-run", "", "");
    r[key::ERROR] = json!("execv /opt/t/prog: Exec format error");
    let s = stream_with(vec![("exec/0", "exited", r)]);
    let c = judge_exec(
        &s,
        &[Program {
            cmd: "/opt/t/prog".into(),
            format: ExecFormat::Plain,
        }],
    );
    assert_eq!(c[0].verdict, Verdict::Error);
    assert!(c[0].detail.contains("Exec format error"));
    // A record without its output fields is not a pass.
    let s = stream_with(vec![("exec/0", "exited", json!({key::STATUS: "exit:0"}))]);
    let c = judge_exec(
        &s,
        &[Program {
            cmd: "/p".into(),
            format: ExecFormat::Plain,
        }],
    );
    assert_eq!(c[0].verdict, Verdict::Error);
    assert!(c[0].detail.contains(key::STDOUT));
}

#[test]
fn ltp_pass_lists_each_result_line() {
    let err = format!(
        "{LTP_BANNER}io_setup02.c:31: TPASS: io_setup() when ctxp is NULL : EFAULT (14)\n\
io_setup02.c:35: TPASS: io_setup() when ctxp is not initialized to 0 : EINVAL (22)\n\
\nSummary:\npassed   2\nfailed   0\nbroken   0\nskipped  0\nwarnings 0\n"
    );
    let c = judge(ExecFormat::Ltp, "exit:0", "", &err);
    assert_eq!(c[0].verdict, Verdict::Pass);
    assert_eq!(c.len(), 3, "{c:#?}");
    assert_eq!(
        find(&c, "exec:/opt/t/prog/io_setup02.c:31").verdict,
        Verdict::Pass
    );
    assert_eq!(
        find(&c, "exec:/opt/t/prog/io_setup02.c:35").observed,
        "TPASS"
    );
}

#[test]
fn ltp_tfail_evidence_is_the_failing_line_not_the_banner() {
    let err = format!(
        "{LTP_BANNER}io_setup01.c:42: TPASS: io_setup() failed as expected, returned -EINVAL\n\
io_setup01.c:45: TFAIL: io_setup() failed unexpectedly, returned -EAGAIN expected -EINVAL\n\
io_setup01.c:45: TFAIL: io_setup() failed unexpectedly, returned -ENOMEM expected -EINVAL\n\
\nSummary:\npassed   1\nfailed   2\n"
    );
    let c = judge(ExecFormat::Ltp, "exit:1", "", &err);
    assert_eq!(c[0].verdict, Verdict::Fail);
    assert!(c[0].detail.contains("returned -EAGAIN"), "{}", c[0].detail);
    assert!(!c[0].detail.contains("LTP version"), "{}", c[0].detail);
    let f = find(&c, "exec:/opt/t/prog/io_setup01.c:45");
    assert_eq!((f.verdict, f.observed.as_str()), (Verdict::Fail, "TFAIL"));
    assert!(f.detail.contains("-EAGAIN"));
    let f2 = find(&c, "exec:/opt/t/prog/io_setup01.c:45#2");
    assert!(f2.detail.contains("-ENOMEM"));
}

#[test]
fn ltp_exit_bits_map_to_verdicts() {
    let conf = format!("{LTP_BANNER}io_setup01.c:57: TCONF: io_setup(): AIO not supported by kernel: ENOSYS (38)\n");
    let c = judge(ExecFormat::Ltp, "exit:32", "", &conf);
    assert_eq!(c[0].verdict, Verdict::Skip);
    assert!(c[0].detail.contains("AIO not supported"), "{}", c[0].detail);
    assert_eq!(
        find(&c, "exec:/opt/t/prog/io_setup01.c:57").verdict,
        Verdict::Skip
    );
    // "see above" brings the lines above along (LTP's kconfig check).
    let kconf = format!(
        "{LTP_BANNER}tst_kconfig.c:611: TINFO: Constraint 'CONFIG_AIO=y' not satisfied!\n\
tst_kconfig.c:575: TINFO:  CONFIG_AIO=n\n\
tst_test.c:1459: TCONF: Aborting due to unsuitable kernel config, see above!\n"
    );
    let c = judge(ExecFormat::Ltp, "exit:32", "", &kconf);
    assert_eq!(c[0].verdict, Verdict::Skip);
    assert!(
        c[0].detail.contains("CONFIG_AIO=n") && c[0].detail.contains("see above"),
        "{}",
        c[0].detail
    );
    assert!(!c[0].detail.contains("TINFO: Timeout"), "{}", c[0].detail);
    let brok = format!("{LTP_BANNER}tst_kconfig.c:88: TBROK: Couldn't locate kernel config!\n");
    let c = judge(ExecFormat::Ltp, "exit:2", "", &brok);
    assert_eq!(c[0].verdict, Verdict::Error);
    assert!(c[0].detail.contains("kernel config"));
    assert_eq!(
        judge(ExecFormat::Ltp, "exit:4", "", "")[0].verdict,
        Verdict::Fail
    );
    // TFAIL with TCONF is a failure, not a skip.
    assert_eq!(
        judge(ExecFormat::Ltp, "exit:33", "", "")[0].verdict,
        Verdict::Fail
    );
    // TBROK with TCONF is broken.
    assert_eq!(
        judge(ExecFormat::Ltp, "exit:34", "", "")[0].verdict,
        Verdict::Error
    );
    let c = judge(ExecFormat::Ltp, "exit:127", "", "");
    assert_eq!(c[0].verdict, Verdict::Error);
    assert!(c[0].detail.contains("not an LTP result"));
    assert_eq!(
        judge(ExecFormat::Ltp, "signal:9", "", "")[0].verdict,
        Verdict::Fail
    );
}

const KTAP: &str = "KTAP version 1
1..2
    KTAP version 1
    # Subtest: aio
    1..3
    ok 1 setup
    # ring too small: 126 < 128
    not ok 2 ring
    ok 3 destroy # SKIP no io_destroy
# aio: pass:1 fail:1 skip:1
not ok 1 aio
ok 2 - misc # TODO not done
";

#[test]
fn ktap_points_nest_and_failures_keep_their_diagnostics() {
    let c = judge(ExecFormat::Ktap, "exit:1", KTAP, "");
    assert_eq!(c[0].verdict, Verdict::Fail);
    assert!(c[0].detail.contains("ring too small"), "{}", c[0].detail);
    let ring = find(&c, "exec:/opt/t/prog/aio/ring");
    assert_eq!(ring.verdict, Verdict::Fail);
    assert!(ring.detail.contains("ring too small: 126 < 128"));
    assert_eq!(
        find(&c, "exec:/opt/t/prog/aio/setup").verdict,
        Verdict::Pass
    );
    let skip = find(&c, "exec:/opt/t/prog/aio/destroy");
    assert_eq!(skip.verdict, Verdict::Skip);
    assert_eq!(find(&c, "exec:/opt/t/prog/aio").verdict, Verdict::Fail);
    // "ok # TODO" passes; TODO only matters on a failing point.
    assert_eq!(find(&c, "exec:/opt/t/prog/misc").verdict, Verdict::Pass);
    assert_eq!(c.len(), 6);
}

#[test]
fn tap_all_ok_passes_and_deviant_output_does_not() {
    let good = "TAP version 13\n1..2\nok 1 - a\nok 2 - b # SKIP not here\n";
    let c = judge(ExecFormat::Tap, "exit:0", good, "");
    assert_eq!(c[0].verdict, Verdict::Pass);
    assert_eq!(find(&c, "exec:/opt/t/prog/b").verdict, Verdict::Skip);
    // Plan says 3, two points ran: the program stopped early.
    let short = "TAP version 13\n1..3\nok 1 - a\nok 2 - b\n";
    let c = judge(ExecFormat::Tap, "exit:0", short, "");
    assert_eq!(c[0].verdict, Verdict::Error);
    assert!(c[0].detail.contains("plan 1..3"));
    // No TAP at all.
    let c = judge(ExecFormat::Tap, "exit:0", "hello\n", "");
    assert_eq!(c[0].verdict, Verdict::Error);
    // All ok but a non-zero exit.
    let c = judge(ExecFormat::Tap, "exit:1", good, "");
    assert_eq!(c[0].verdict, Verdict::Fail);
    // Bail out.
    let c = judge(ExecFormat::Tap, "exit:0", "1..1\nBail out! no disk\n", "");
    assert_eq!(c[0].verdict, Verdict::Error);
    // KTAP demands its version line; TAP does not.
    let c = judge(ExecFormat::Ktap, "exit:0", "1..1\nok 1 a\n", "");
    assert_eq!(c[0].verdict, Verdict::Error);
    assert_eq!(
        judge(ExecFormat::Tap, "exit:0", "1..1\nok 1 a\n", "")[0].verdict,
        Verdict::Pass
    );
    // kselftest: everything skipped and exit 4 (KSFT_SKIP).
    let c = judge(
        ExecFormat::Tap,
        "exit:4",
        "1..1\nok 1 a # SKIP no aio\n",
        "",
    );
    assert_eq!(c[0].verdict, Verdict::Skip);
    // not ok # TODO is an expected failure, not a pass.
    let c = judge(
        ExecFormat::Tap,
        "exit:0",
        "1..1\nnot ok 1 a # TODO later\n",
        "",
    );
    assert_eq!(
        find(&c, "exec:/opt/t/prog/a").verdict,
        Verdict::KnownDeviation
    );
}

#[test]
fn cut_output_is_said() {
    let mut r = rec("exit:0", "1..1\nok 1 a\n", "");
    r[key::STDOUT_BYTES] = json!(1_000_000);
    let s = stream_with(vec![("exec/0", "exited", r)]);
    let c = judge_exec(
        &s,
        &[Program {
            cmd: "/p".into(),
            format: ExecFormat::Tap,
        }],
    );
    assert!(c[0].detail.contains("stdout cut"), "{}", c[0].detail);
}

#[test]
fn repeated_programs_and_format_pairing() {
    let cmds = vec!["/a x".to_string(), "/a y".to_string(), "/b".to_string()];
    let p = programs(&cmds, &[ExecFormat::Ltp]).unwrap();
    assert!(p.iter().all(|p| p.format == ExecFormat::Ltp));
    let p = programs(
        &cmds,
        &[ExecFormat::Ltp, ExecFormat::Tap, ExecFormat::Plain],
    )
    .unwrap();
    assert_eq!(p[1].format, ExecFormat::Tap);
    assert!(programs(&cmds, &[ExecFormat::Ltp, ExecFormat::Tap])
        .unwrap_err()
        .to_string()
        .contains("once per program"));
    assert!(programs(&["  ".to_string()], &[]).is_err());
    let ids = base_ids(&p);
    assert_eq!(ids, ["exec:/a#1", "exec:/a#2", "exec:/b"]);
    // Old single-exec streams name their record "exec".
    let s = stream_with(vec![("exec", "exited", rec("exit:0", "", ""))]);
    assert_eq!(judge_exec(&s, &p[2..])[0].verdict, Verdict::Pass);
}

#[test]
fn share_records_missing_fields_are_errors() {
    let sh = crate::vm::share::Share {
        host: "/tmp".into(),
        guest_path: "/mnt/x".into(),
        rw: false,
    };
    let ok = stream_with(vec![(
        "share.mount/kmx0",
        "exited",
        json!({key::MOUNT_RET: 0, key::WRITE_RET: -1, key::WRITE_ERRNO: 30}),
    )]);
    assert_eq!(
        judge_shares(&ok, std::slice::from_ref(&sh))[0].verdict,
        Verdict::Pass
    );
    let writable = stream_with(vec![(
        "share.mount/kmx0",
        "exited",
        json!({key::MOUNT_RET: 0, key::WRITE_RET: 0, key::WRITE_ERRNO: 0}),
    )]);
    assert_eq!(
        judge_shares(&writable, std::slice::from_ref(&sh))[0].verdict,
        Verdict::Fail
    );
    let no_errno = stream_with(vec![(
        "share.mount/kmx0",
        "exited",
        json!({key::MOUNT_RET: -1}),
    )]);
    let c = judge_shares(&no_errno, &[sh]);
    assert_eq!(c[0].verdict, Verdict::Error);
    assert!(c[0].detail.contains(key::MOUNT_ERRNO));
}

#[test]
fn a_program_killed_by_a_signal_is_named_with_the_kernel_lines_first() {
    for f in [ExecFormat::Plain, ExecFormat::Ltp, ExecFormat::Ktap] {
        let mut r = rec("signal:11", "", "about to crash\n");
        r[key::KERNEL_LOG] = json!(["crasher[77]: segfault at 8 ip 401136 sp 7ffd error 6"]);
        let s = stream_with(vec![("exec/0", "exited", r)]);
        let prog = Program {
            cmd: "/opt/t/crasher".into(),
            format: f,
        };
        let c = &judge_exec(&s, &[prog])[0];
        assert_ne!(c.verdict, Verdict::Pass, "{f:?}");
        assert_eq!(c.observed, "SIGSEGV (signal:11)", "{f:?}");
        assert!(
            c.detail.starts_with(
                "killed by SIGSEGV\nkernel: crasher[77]: segfault at 8 ip 401136 sp 7ffd error 6"
            ),
            "{f:?}: {}",
            c.detail
        );
    }
    // Without kernel lines (older guests, a ratelimited printk) the name stays.
    let c = judge(ExecFormat::Plain, "signal:4", "", "");
    assert_eq!(c[0].observed, "SIGILL (signal:4)");
    assert_eq!(c[0].detail, "killed by SIGILL");
    // An exit is not a signal, even one with a signal's number.
    let c = judge(ExecFormat::Plain, "exit:11", "", "");
    assert_eq!(
        (c[0].observed.as_str(), c[0].verdict),
        ("exit:11", Verdict::Fail)
    );
    assert!(!c[0].detail.contains("SIGSEGV"));
}

#[test]
fn signal_names() {
    assert_eq!(signal_name(1), "SIGHUP");
    assert_eq!(signal_name(6), "SIGABRT");
    assert_eq!(signal_name(9), "SIGKILL");
    assert_eq!(signal_name(31), "SIGSYS");
    assert_eq!(signal_name(0), "signal 0");
    assert_eq!(signal_name(34), "signal 34");
    assert_eq!(signal_name(-1), "signal -1");
}
