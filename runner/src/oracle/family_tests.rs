//! Every family case is fed a good observation (a real x86_64 aio-on run of
//! 6.1.192, fixtures/aio-on-x86_64.jsonl) and a deviant one, and must fail on
//! the deviant one; missing fields are errors, never passes.

use super::judges::enosys::map_line as enosys_map_line;
use super::{Case, CellFacts, Verdict};
use crate::generic::{self, Expect};
use crate::spec;
use crate::stream::{parse, Stream};
use crate::syscalls::{number, NAMES};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const GOOD: &str = include_str!("fixtures/aio-on-x86_64.jsonl");

fn good() -> Stream {
    let s = parse(GOOD.as_bytes());
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    s
}

fn facts(aio: bool) -> CellFacts {
    CellFacts::new(aio)
}

/// The family's experiments (the fixtures hold only theirs).
fn family_experiment(id: &str) -> bool {
    kmatrix_proto::catalogue::EXPERIMENTS
        .iter()
        .skip_while(|x| x.id != "enosys.map")
        .any(|x| x.id == id)
}

/// The family's cases of one cell as judged, before known deviations.
fn judge(f: &CellFacts, s: &Stream) -> Vec<Case> {
    super::judge_with(f, s, &[])
        .into_iter()
        .filter(|c| family_experiment(&c.experiment))
        .collect()
}

/// The family's hand-written case ids (not generated from the spec).
fn hand() -> Vec<&'static str> {
    super::catalogue()
        .into_iter()
        .filter(|(e, c)| {
            family_experiment(e)
                && !e.ends_with(".generic")
                && !c.id.contains(".constraint.CONFIG_AIO")
        })
        .map(|(_, c)| c.id)
        .collect()
}

fn verdicts(f: &CellFacts, s: &Stream) -> BTreeMap<String, (Verdict, String)> {
    judge(f, s)
        .into_iter()
        .map(|c| (c.id, (c.verdict, c.observed)))
        .collect()
}

fn obs_mut<'a>(s: &'a mut Stream, exp: &str) -> &'a mut Value {
    &mut s
        .experiments
        .iter_mut()
        .find(|e| e.id == exp)
        .unwrap_or_else(|| panic!("no {exp} in the fixture"))
        .obs
}

/// The fixture as a CONFIG_AIO=n kernel would have produced it.
fn as_aio_off(mut s: Stream) -> Stream {
    for e in &mut s.experiments {
        if e.id == "enosys.map" || e.id.ends_with(".generic") {
            let key = if e.id == "enosys.map" {
                "calls"
            } else {
                "cases"
            };
            for c in e.obs[key].as_array_mut().unwrap() {
                c["ret"] = json!(-1);
                c["errno"] = json!(38);
            }
        } else {
            e.obs = json!({"setup_ret": -1, "setup_errno": 38});
        }
    }
    s
}

/// Cases that do not pass on 6.1.192 x86_64 aio-on, and why.
const NOT_PASSING: &[(&str, Verdict)] = &[
    // CONFIG_BLOCK=n there: ioprio_check_cap is the -ENOTBLK stub.
    ("io_submit.error.EPERM/rt-unprivileged", Verdict::Skip),
];

#[test]
fn real_run_judges_as_expected() {
    // As a cell reports it: no family case needs a known deviation (D-F1
    // went with the spec line no source gave).
    let shipped = super::judge(&facts(true), &good());
    let negative = shipped
        .iter()
        .find(|c| c.id == "io_getevents.param.timeout.negative");
    assert_eq!(negative.unwrap().verdict, Verdict::Pass);
    assert!(shipped.iter().all(|c| c.verdict != Verdict::KnownDeviation));
    let v = verdicts(&facts(true), &good());
    assert!(v.len() > 140, "{}", v.len());
    for (id, (verdict, obs)) in &v {
        let want = NOT_PASSING
            .iter()
            .find(|(i, _)| i == id)
            .map_or(Verdict::Pass, |x| x.1);
        assert_eq!(*verdict, want, "{id}: observed {obs}");
    }
}

#[test]
fn aio_off_everything_enosys() {
    let v = verdicts(&facts(false), &as_aio_off(good()));
    for (id, (verdict, obs)) in &v {
        let generic_or_map = id.contains(".constraint.CONFIG_AIO")
            || id.contains(".param.")
            || id.contains(".return.base");
        let hand = hand().contains(&id.as_str());
        if hand && !id.contains(".return.base") {
            assert_eq!(*verdict, Verdict::Skip, "{id}: {obs}");
        } else {
            assert!(generic_or_map, "{id}");
            assert_eq!(*verdict, Verdict::Pass, "{id}: {obs}");
        }
    }
    // The same ENOSYS observations on an aio-on kernel fail.
    let v = verdicts(&facts(true), &as_aio_off(good()));
    assert_eq!(v["io_submit.constraint.CONFIG_AIO"].0, Verdict::Fail);
    assert_eq!(v["io_cancel.param.iocb.null"].0, Verdict::Fail);
    // aio-off with a hand-written experiment whose io_setup did not fail
    // with ENOSYS: an error, not a silent skip.
    let mut s = as_aio_off(good());
    *obs_mut(&mut s, "io_destroy.twice") = json!({"setup_ret": -1, "setup_errno": 12});
    let v = verdicts(&facts(false), &s);
    assert_eq!(v["io_destroy.return.success/first"].0, Verdict::Error);
}

#[test]
fn every_generic_case_fails_on_a_deviant_outcome() {
    let base = good();
    let specs = spec::builtin().unwrap();
    for aio in [true, false] {
        let start = if aio {
            base.clone()
        } else {
            as_aio_off(base.clone())
        };
        for c in generic::generate_all(&specs).unwrap() {
            let mut s = start.clone();
            let exp = format!("{}.generic", c.syscall);
            let o = obs_mut(&mut s, &exp);
            let entry = o["cases"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|e| e["id"] == c.id.as_str())
                .unwrap_or_else(|| panic!("{} not in fixture", c.id));
            let (ret, errno) = match (aio, &c.expect) {
                (false, _) => (0, 0),
                (true, Expect::Is(e)) if e == "OK" => (-1, 22),
                // A count the spec fixes: any other count fails.
                (true, Expect::Is(e)) if e.parse::<i64>().is_ok() => {
                    (e.parse::<i64>().unwrap() + 1, 0)
                }
                (true, Expect::Is(_)) => (0, 0),
                (true, Expect::Not(_)) => (-1, 22),
            };
            entry["ret"] = json!(ret);
            entry["errno"] = json!(errno);
            let v = verdicts(&facts(aio), &s);
            assert_eq!(v[&c.id].0, Verdict::Fail, "aio {aio}: {}", c.id);
            // A missing errno is an error naming the field, never a pass.
            let mut s2 = start.clone();
            let o = obs_mut(&mut s2, &exp);
            for e in o["cases"].as_array_mut().unwrap() {
                if e["id"] == c.id.as_str() {
                    e.as_object_mut().unwrap().remove("ret");
                }
            }
            let v = verdicts(&facts(aio), &s2);
            assert_eq!(v[&c.id].0, Verdict::Error, "{}", c.id);
        }
    }
}

/// (case, experiment, JSON pointer, deviant value)
const DEVIANT: &[(&str, &str, &str, i64)] = &[
    (
        "io_destroy.return.success/first",
        "io_destroy.twice",
        "/first_ret",
        -1,
    ),
    (
        "io_destroy.state-trans.context/second-EINVAL",
        "io_destroy.twice",
        "/second_ret",
        0,
    ),
    (
        "io_destroy.side-effect.aio_nr",
        "io_destroy.twice",
        "/aio_nr_after",
        99_999,
    ),
    (
        "io_destroy.side-effect.in-flight/polls",
        "io_submit.errors",
        "/destroy_ret",
        -1,
    ),
    (
        "io_submit.return.success/rw",
        "io_submit.rw",
        "/read/submit_ret",
        0,
    ),
    (
        "io_submit.side-effect.aio_key",
        "io_submit.rw",
        "/write/key_after",
        0x5a5a,
    ),
    (
        "io_submit.side-effect.completion-ring",
        "io_submit.rw",
        "/write/event/res",
        3,
    ),
    (
        "io_submit.side-effect.completion-ring",
        "io_submit.rw",
        "/read/ring_after_submit/tail",
        0,
    ),
    (
        "io_getevents.return.success/rw",
        "io_getevents.timeouts",
        "/none",
        0,
    ),
    (
        "io_getevents.side-effect.ring-head",
        "io_submit.rw",
        "/write/ring_after_get/head",
        0,
    ),
    (
        "io_submit.constraint.CONFIG_EVENTFD",
        "io_submit.resfd",
        "/submit_resfd_regular_errno",
        38,
    ),
    (
        "io_submit.error.EBADF/closed-fd",
        "io_submit.errors",
        "/calls/closed-fd/errno",
        22,
    ),
    (
        "io_submit.error.EBADF/read-on-wronly",
        "io_submit.errors",
        "/calls/read-on-wronly/errno",
        14,
    ),
    (
        "io_submit.error.EINVAL/opcode-noop",
        "io_submit.errors",
        "/calls/opcode-noop/ret",
        1,
    ),
    (
        "io_submit.error.EINVAL/reserved2",
        "io_submit.errors",
        "/calls/reserved2/errno",
        9,
    ),
    (
        "io_submit.error.EFAULT/iocb-unmapped",
        "io_submit.errors",
        "/calls/iocb-unmapped/errno",
        22,
    ),
    (
        "io_submit.error.EAGAIN/slots-full",
        "io_submit.errors",
        "/one_more_ret",
        1,
    ),
    (
        "io_submit.error.EAGAIN/slots-full",
        "io_submit.errors",
        "/polls_ret",
        1024,
    ),
    // A negative timeout that returned at once (what the old spec line
    // said) or without EINTR.
    (
        "io_getevents.param.timeout.negative",
        "io_getevents.timeouts",
        "/empty_negative_timeout/elapsed_ms",
        0,
    ),
    (
        "io_getevents.param.timeout.negative",
        "io_getevents.timeouts",
        "/empty_negative_timeout/errno",
        0,
    ),
    // The context looked up before the timeout was read.
    (
        "io_getevents.param.timeout.read-before-ctx",
        "io_getevents.timeouts",
        "/bad_ctx_unmapped_timeout_errno",
        22,
    ),
    // Timeouts never expire early (V6): 95 and 99 ms for 100 ms fail.
    (
        "io_getevents.param.timeout.elapses",
        "io_getevents.timeouts",
        "/empty_100ms/elapsed_ms",
        95,
    ),
    (
        "io_getevents.param.timeout.elapses",
        "io_getevents.timeouts",
        "/empty_100ms/elapsed_ms",
        99,
    ),
    (
        "io_getevents.param.min_nr.semantics",
        "io_getevents.timeouts",
        "/min2_nr5_100ms_one_left/elapsed_ms",
        95,
    ),
    // Nor does the guest's alarm: a 199 ms wait was not its 200 ms alarm.
    (
        "io_getevents.error.EINTR/alarm",
        "io_getevents.timeouts",
        "/empty_no_timeout_alarm/elapsed_ms",
        199,
    ),
    // An alarm armed for longer than the wait lasted: not the alarm's EINTR.
    (
        "io_getevents.error.EINTR/alarm",
        "io_getevents.timeouts",
        "/empty_no_timeout_alarm/alarm_ms",
        1000,
    ),
    (
        "io_getevents.param.timeout.zero",
        "io_getevents.timeouts",
        "/empty_zero_timeout/elapsed_ms",
        500,
    ),
    (
        "io_getevents.param.timeout.elapses",
        "io_getevents.timeouts",
        "/empty_100ms/elapsed_ms",
        3,
    ),
    (
        "io_getevents.param.timeout.nsec-unvalidated",
        "io_getevents.timeouts",
        "/empty_nsec_unvalidated/ret",
        -1,
    ),
    (
        "io_getevents.param.min_nr.semantics",
        "io_getevents.timeouts",
        "/min1_nr2/ret",
        1,
    ),
    (
        "io_getevents.param.min_nr.semantics",
        "io_getevents.timeouts",
        "/min2_nr5_100ms_one_left/elapsed_ms",
        1,
    ),
    (
        "io_getevents.error.EINTR/alarm",
        "io_getevents.timeouts",
        "/empty_no_timeout_alarm/errno",
        0,
    ),
    (
        "io_getevents.error.EINTR/alarm",
        "io_getevents.timeouts",
        "/empty_no_timeout_alarm/elapsed_ms",
        3,
    ),
    (
        "io_getevents.error.EFAULT/events-copy",
        "io_getevents.timeouts",
        "/events_unmapped/ring/head",
        4,
    ),
    // The SIGALRM the temporary mask held back was lost, ended the wait,
    // came early, or was one the caller itself blocked (V5).
    (
        "io_pgetevents.signal.any/blocked-stays-pending",
        "io_pgetevents.sigmask",
        "/mask_blocks_open_alarm/alarm_runs",
        0,
    ),
    (
        "io_pgetevents.signal.any/blocked-stays-pending",
        "io_pgetevents.sigmask",
        "/mask_blocks_open_alarm/ret",
        -1,
    ),
    (
        "io_pgetevents.signal.any/blocked-stays-pending",
        "io_pgetevents.sigmask",
        "/mask_blocks_open_alarm/elapsed_ms",
        199,
    ),
    (
        "io_pgetevents.signal.any/blocked-stays-pending",
        "io_pgetevents.sigmask",
        "/mask_before",
        0x2200,
    ),
    (
        "io_pgetevents.side-effect.ring-head",
        "io_pgetevents.sigmask",
        "/head/ring_after_get/head",
        0,
    ),
    (
        "io_pgetevents.side-effect.ring-head",
        "io_pgetevents.sigmask",
        "/head/pgetevents_ret",
        2,
    ),
    (
        "io_pgetevents.side-effect.ring-head",
        "io_pgetevents.sigmask",
        "/head/ring_after_submit/tail",
        1,
    ),
    (
        "io_destroy.signal.any/interval-timer",
        "io_destroy.signal",
        "/destroy_ret",
        -1,
    ),
    // The later iocb's EBADF reported instead of the count.
    (
        "io_submit.notes.later-error-hidden",
        "io_submit.rw",
        "/good_then_closed_fd_ret",
        -1,
    ),
    (
        "io_submit.error.EOPNOTSUPP/rw-flags-unknown",
        "io_submit.errors",
        "/calls/rw-flags-unknown/errno",
        22,
    ),
    (
        "io_submit.error.EFAULT/buf-not-user",
        "io_submit.errors",
        "/calls/buf-not-user/ret",
        1,
    ),
    // Pinned to one CPU the count is exact (N4): one short fails too.
    (
        "io_submit.error.EAGAIN/slots-full",
        "io_submit.errors",
        "/polls_ret",
        119,
    ),
    (
        "io_submit.error.EAGAIN/slots-full",
        "io_submit.errors",
        "/ring_nr",
        255,
    ),
    (
        "io_submit.error.ENOTBLK/no-block-layer",
        "io_submit.ioprio",
        "/rt_root_errno",
        1,
    ),
    (
        "io_submit.error.ENOTBLK/no-block-layer",
        "io_submit.ioprio",
        "/be_nobody_ret",
        1,
    ),
    (
        "io_pgetevents.error.EINTR/unblocked-signal",
        "io_pgetevents.sigmask",
        "/mask_unblocks_usr1/ret",
        0,
    ),
    (
        "io_pgetevents.state-trans.signal-mask/restored",
        "io_pgetevents.sigmask",
        "/bad_sigsetsize/mask_after",
        0,
    ),
    (
        "io_pgetevents.constraint.sigsetsize",
        "io_pgetevents.sigmask",
        "/bad_sigsetsize/ret",
        0,
    ),
    (
        "io_pgetevents.error.EFAULT/sigmask-unmapped",
        "io_pgetevents.sigmask",
        "/mask_unmapped/errno",
        22,
    ),
    (
        "io_cancel.error.EINVAL/completed",
        "io_cancel.cases",
        "/cancel_completed_errno",
        11,
    ),
    (
        "io_cancel.error.EINVAL/foreign-key",
        "io_cancel.cases",
        "/cancel_foreign_key_ret",
        0,
    ),
    (
        "io_cancel.error.EINPROGRESS/pending-poll",
        "io_cancel.cases",
        "/cancel_pending_poll_errno",
        11,
    ),
    (
        "io_cancel.error.EINPROGRESS/pending-poll",
        "io_cancel.cases",
        "/cancelled_event/res",
        1,
    ),
    (
        "io_cancel.param.result.untouched",
        "io_cancel.cases",
        "/result_untouched/res",
        -125,
    ),
];

#[test]
fn every_hand_written_case_fails_on_a_deviant_observation() {
    let base = good();
    for (id, exp, ptr, val) in DEVIANT {
        if *ptr == "/none" {
            continue;
        }
        let mut s = base.clone();
        let o = obs_mut(&mut s, exp);
        *o.pointer_mut(ptr)
            .unwrap_or_else(|| panic!("{exp} has no {ptr}")) = json!(val);
        let v = verdicts(&facts(true), &s);
        assert_eq!(
            v[*id].0,
            Verdict::Fail,
            "{id} with {ptr} = {val}: {}",
            v[*id].1
        );
        // And without the field: an error that names it.
        let mut s = base.clone();
        let o = obs_mut(&mut s, exp);
        let (parent, key) = ptr.rsplit_once('/').unwrap();
        let p = if parent.is_empty() {
            o
        } else {
            o.pointer_mut(parent).unwrap()
        };
        p.as_object_mut().unwrap().remove(key);
        let c = judge(&facts(true), &s)
            .into_iter()
            .find(|c| c.id == *id)
            .unwrap();
        assert_eq!(c.verdict, Verdict::Error, "{id} without {ptr}");
        assert!(c.detail.contains(key), "{id}: {}", c.detail);
    }
    // Bool-valued observations.
    for (id, exp, key) in [
        (
            "io_destroy.side-effect.vma",
            "io_destroy.twice",
            "ring_mapped_after",
        ),
        (
            "io_submit.side-effect.file-data",
            "io_submit.rw",
            "read_back_matches",
        ),
    ] {
        let mut s = base.clone();
        let o = obs_mut(&mut s, exp);
        let b = o[key].as_bool().unwrap();
        o[key] = json!(!b);
        assert_eq!(verdicts(&facts(true), &s)[id].0, Verdict::Fail, "{id}");
    }
    // An alarm the guest could not arm leaves nothing to judge.
    let mut s = base.clone();
    obs_mut(&mut s, "io_getevents.timeouts")["empty_no_timeout_alarm"]["alarm_errno"] = json!(22);
    let c = judge(&facts(true), &s)
        .into_iter()
        .find(|c| c.id == "io_getevents.error.EINTR/alarm")
        .unwrap();
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains("alarm"), "{}", c.detail);
    // A wait exactly as long as its timeout or alarm is not early.
    let mut s = base.clone();
    let o = obs_mut(&mut s, "io_getevents.timeouts");
    o["empty_100ms"]["elapsed_ms"] = json!(100);
    o["empty_no_timeout_alarm"]["elapsed_ms"] = json!(200);
    let v = verdicts(&facts(true), &s);
    assert_eq!(v["io_getevents.param.timeout.elapses"].0, Verdict::Pass);
    assert_eq!(v["io_getevents.error.EINTR/alarm"].0, Verdict::Pass);
    // getevents count for the rw experiment.
    let mut s = base.clone();
    obs_mut(&mut s, "io_submit.rw")["write"]["getevents_ret"] = json!(0);
    assert_eq!(
        verdicts(&facts(true), &s)["io_getevents.return.success/rw"].0,
        Verdict::Fail
    );
    // eventfd: with a working eventfd, a count other than 1 fails; a
    // regular-file resfd must then be EINVAL, not ENOSYS.
    let mut s = base.clone();
    let o = obs_mut(&mut s, "io_submit.resfd");
    o["eventfd_ret"] = json!(3);
    o["eventfd_errno"] = json!(0);
    o["submit_ret"] = json!(1);
    o["submit_errno"] = json!(0);
    o["eventfd_count"] = json!(2);
    o["submit_resfd_regular_errno"] = json!(38);
    let v = verdicts(&facts(true), &s);
    assert_eq!(v["io_submit.side-effect.eventfd"].0, Verdict::Fail);
    assert_eq!(v["io_submit.constraint.CONFIG_EVENTFD"].0, Verdict::Fail);
    obs_mut(&mut s, "io_submit.resfd")["eventfd_count"] = json!(1);
    assert_eq!(
        verdicts(&facts(true), &s)["io_submit.side-effect.eventfd"].0,
        Verdict::Pass
    );
    // CONFIG_EVENTFD=n (the kernel's config; eventfd2 ENOSYS): nothing to
    // count, and a resfd must then be ENOSYS; EINVAL there fails.
    let no_eventfd = CellFacts {
        eventfd: Some(false),
        ..facts(true)
    };
    let mut s = base.clone();
    let o = obs_mut(&mut s, "io_submit.resfd");
    o["eventfd_ret"] = json!(-1);
    o["eventfd_errno"] = json!(38);
    o["submit_resfd_regular_ret"] = json!(-1);
    o["submit_resfd_regular_errno"] = json!(38);
    let v = verdicts(&no_eventfd, &s);
    assert_eq!(v["io_submit.side-effect.eventfd"].0, Verdict::Skip);
    assert_eq!(v["io_submit.constraint.CONFIG_EVENTFD"].0, Verdict::Pass);
    obs_mut(&mut s, "io_submit.resfd")["submit_resfd_regular_errno"] = json!(22);
    let v = verdicts(&no_eventfd, &s);
    assert_eq!(v["io_submit.constraint.CONFIG_EVENTFD"].0, Verdict::Fail);
}

#[test]
fn every_hand_case_has_a_deviant_test() {
    let v = verdicts(&facts(true), &good());
    let bools = [
        "io_destroy.side-effect.vma",
        "io_submit.side-effect.file-data",
        "io_submit.side-effect.eventfd",
        // Skipped on the fixture's CONFIG_BLOCK=n kernel; its deviants are
        // in ioprio_follows_config_block (CONFIG_BLOCK=y).
        "io_submit.error.EPERM/rt-unprivileged",
    ];
    for id in &hand() {
        assert!(
            v.contains_key(*id),
            "the catalogue lists {id}, which judge() never produces"
        );
        assert!(
            DEVIANT.iter().any(|d| d.0 == *id) || bools.contains(id),
            "{id} has no deviant observation in DEVIANT"
        );
    }
}

#[test]
fn enosys_map_numbers_and_line() {
    let s = as_aio_off(good());
    assert_eq!(
        enosys_map_line(&judge(&facts(false), &s)).unwrap(),
        "io_setup(206)=ENOSYS io_destroy(207)=ENOSYS io_submit(209)=ENOSYS io_cancel(210)=ENOSYS io_getevents(208)=ENOSYS io_pgetevents(333)=ENOSYS"
    );
    assert_eq!(
        enosys_map_line(&judge(&facts(true), &good())).unwrap(),
        "io_setup(206)=EFAULT io_destroy(207)=EINVAL io_submit(209)=EINVAL io_cancel(210)=EFAULT io_getevents(208)=EINVAL/EFAULT io_pgetevents(333)=EINVAL/EFAULT"
    );
    // A wrong syscall number in the guest fails the map.
    let mut s = as_aio_off(good());
    obs_mut(&mut s, "enosys.map")["calls"][4]["nr"] = json!(4);
    let v = verdicts(&facts(false), &s);
    assert_eq!(v["io_submit.constraint.CONFIG_AIO"].0, Verdict::Fail);
    // One argument set answered by a real implementation fails it too.
    let mut s = as_aio_off(good());
    obs_mut(&mut s, "enosys.map")["calls"][1]["errno"] = json!(22);
    assert_eq!(
        verdicts(&facts(false), &s)["io_setup.constraint.CONFIG_AIO"].0,
        Verdict::Fail
    );
    // Each other arch's own numbers, and x86_64's are wrong there.
    for arch in ["aarch64", "s390x"] {
        let mut s = as_aio_off(good());
        obs_mut(&mut s, "enosys.map")["arch"] = json!(arch);
        assert_eq!(
            verdicts(&facts(false), &s)["io_setup.constraint.CONFIG_AIO"].0,
            Verdict::Fail,
            "x86_64 numbers are wrong on {arch}"
        );
        let o = obs_mut(&mut s, "enosys.map");
        for c in o["calls"].as_array_mut().unwrap() {
            let name = c["syscall"].as_str().unwrap().to_string();
            c["nr"] = json!(number(arch, &name).unwrap());
        }
        let v = verdicts(&facts(false), &s);
        assert!(NAMES
            .iter()
            .all(|n| v[&format!("{n}.constraint.CONFIG_AIO")].0 == Verdict::Pass));
        // The map line names this arch's numbers.
        let line = enosys_map_line(&judge(&facts(false), &s)).unwrap();
        let nr = number(arch, "io_setup").unwrap();
        assert!(line.contains(&format!("io_setup({nr})=ENOSYS")), "{line}");
    }
    // An arch without numbers is an error naming it, not a pass.
    let mut s = as_aio_off(good());
    obs_mut(&mut s, "enosys.map")["arch"] = json!("riscv64");
    assert_eq!(
        verdicts(&facts(false), &s)["io_setup.constraint.CONFIG_AIO"].0,
        Verdict::Error
    );
}

#[test]
fn missing_or_unselected_experiments() {
    let mut s = good();
    s.experiments.retain(|e| e.id != "io_cancel.cases");
    let v = verdicts(&facts(true), &s);
    assert_eq!(v["io_cancel.error.EINVAL/completed"].0, Verdict::Error);
    let f = CellFacts {
        selected: Some(vec!["io_submit.*".into()]),
        ..facts(true)
    };
    let v = verdicts(&f, &s);
    assert_eq!(v["io_cancel.error.EINVAL/completed"].0, Verdict::Skip);
    assert_eq!(v["io_submit.error.EBADF/closed-fd"].0, Verdict::Pass);
    // A child that timed out is an error, not a pass.
    let mut s = good();
    s.experiments
        .iter_mut()
        .find(|e| e.id == "io_submit.rw")
        .unwrap()
        .fate = "timeout".into();
    assert_eq!(
        verdicts(&facts(true), &s)["io_submit.return.success/rw"].0,
        Verdict::Error
    );
}

#[test]
fn no_context_is_a_skip_with_evidence_or_an_error() {
    // N1 (issue 20): an EAGAIN from the case's own io_setup where aio-nr +
    // nr_events is within aio-max-nr (65536 here) is the kernel's fault:
    // a FAIL of the case that made the context, an ERROR of those that
    // borrow it; a skip only where the cell's limit really is reached.
    let mut s = good();
    let o = obs_mut(&mut s, "io_submit.generic");
    let eagain = |c: &mut Value, aio_nr: u64, own: bool| {
        c["ctx_setup_ret"] = json!(-1);
        c["ctx_setup_errno"] = json!(11);
        c["ctx_setup_nr"] = json!(1);
        c["ctx_setup_aio_nr"] = json!(aio_nr);
        c["ctx_setup_own"] = json!(own);
    };
    eagain(&mut o["cases"][0], 0, true);
    eagain(&mut o["cases"][6], 0, false);
    let id = o["cases"][0]["id"].as_str().unwrap().to_string();
    let borrower = o["cases"][6]["id"].as_str().unwrap().to_string();
    let find = |s: &Stream, id: &str| {
        judge(&facts(true), s)
            .into_iter()
            .find(|c| c.id == id)
            .unwrap()
    };
    let c = find(&s, &id);
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert!(c.observed.contains("EAGAIN"), "{c:?}");
    let c = find(&s, &borrower);
    assert_eq!(c.verdict, Verdict::Error, "{c:?}");
    assert!(c.detail.contains(&id), "{c:?}");
    // The cell's limit reached (aio-nr 65536 + 1 > 65536): a skip saying so.
    let o = obs_mut(&mut s, "io_submit.generic");
    eagain(&mut o["cases"][0], 65536, true);
    eagain(&mut o["cases"][6], 65536, false);
    for i in [&id, &borrower] {
        let c = find(&s, i);
        assert_eq!(c.verdict, Verdict::Skip, "{c:?}");
        assert!(
            c.detail.contains("EAGAIN") && c.detail.contains("65536"),
            "{c:?}"
        );
    }
    // Without the sizes the guest records, no conclusion: an error naming them.
    obs_mut(&mut s, "io_submit.generic")["cases"][0]
        .as_object_mut()
        .unwrap()
        .remove("ctx_setup_aio_nr");
    let c = find(&s, &id);
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains("ctx_setup_aio_nr"), "{c:?}");
    // Any other failure to make the context is an error.
    obs_mut(&mut s, "io_submit.generic")["cases"][0]["ctx_setup_errno"] = json!(12);
    assert_eq!(find(&s, &id).verdict, Verdict::Error);
    // The same for a hand-written experiment: its first case fails, the
    // others cannot be judged.
    let mut s = good();
    let setup = |aio_nr: u64| json!({"setup_ret": -1, "setup_errno": 11, "setup_nr": 1, "setup_aio_nr": aio_nr});
    *obs_mut(&mut s, "io_cancel.cases") = setup(0);
    let v = verdicts(&facts(true), &s);
    assert_eq!(v["io_cancel.error.EINVAL/completed"].0, Verdict::Fail);
    assert_eq!(v["io_cancel.error.EINVAL/foreign-key"].0, Verdict::Error);
    *obs_mut(&mut s, "io_cancel.cases") = setup(65536);
    let v = verdicts(&facts(true), &s);
    assert_eq!(v["io_cancel.error.EINVAL/completed"].0, Verdict::Skip);
    assert_eq!(v["io_cancel.error.EINVAL/foreign-key"].0, Verdict::Skip);
    *obs_mut(&mut s, "io_cancel.cases") = json!({"setup_ret": -1, "setup_errno": 38});
    assert_eq!(
        verdicts(&facts(true), &s)["io_cancel.error.EINVAL/completed"].0,
        Verdict::Error,
        "ENOSYS from an aio-on kernel is not a reason to skip"
    );
    // io_setup's generic baseline with aio-max-nr 1 (V3): the limit is
    // charged the nr_events asked for (1), so with aio-nr 0 it is judged;
    // only where aio-nr + 1 really exceeds the limit is it the cell's.
    let mut s = good();
    s.hello.as_mut().unwrap().aio_max_nr = Some(1);
    let v = verdicts(&facts(true), &s);
    assert_eq!(v["io_setup.return.base"].0, Verdict::Pass);
    assert_eq!(v["io_setup.param.ctxp.readonly"].0, Verdict::Pass);
    assert_eq!(v["io_setup.param.ctxp.null"].0, Verdict::Pass);
    assert_eq!(v["io_submit.return.base"].0, Verdict::Pass);
    for c in obs_mut(&mut s, "io_setup.generic")["cases"]
        .as_array_mut()
        .unwrap()
    {
        c["aio_nr_before"] = json!(1);
    }
    let v = verdicts(&facts(true), &s);
    assert_eq!(v["io_setup.return.base"].0, Verdict::Skip);
    assert_eq!(v["io_setup.param.ctxp.readonly"].0, Verdict::Skip);
    assert_eq!(v["io_setup.param.ctxp.null"].0, Verdict::Pass);
    // Unrecorded: an error naming the field, not a guess.
    obs_mut(&mut s, "io_setup.generic")["cases"][0]
        .as_object_mut()
        .unwrap()
        .remove("aio_nr_before");
    let c = judge(&facts(true), &s)
        .into_iter()
        .find(|c| c.id == "io_setup.return.base")
        .unwrap();
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains("aio_nr_before"), "{c:?}");
}

#[test]
fn real_aio_off_run() {
    // 6.1.192 x86_64 with CONFIG_AIO=n (kmatrix run, re-recorded 2026-12-04).
    let s = parse(include_str!("fixtures/aio-off-x86_64.jsonl").as_bytes());
    let cases = judge(&facts(false), &s);
    for c in &cases {
        assert!(
            matches!(c.verdict, Verdict::Pass | Verdict::Skip),
            "{}: {:?} {}",
            c.id,
            c.verdict,
            c.detail
        );
    }
    assert_eq!(
        enosys_map_line(&cases).unwrap(),
        "io_setup(206)=ENOSYS io_destroy(207)=ENOSYS io_submit(209)=ENOSYS io_cancel(210)=ENOSYS io_getevents(208)=ENOSYS io_pgetevents(333)=ENOSYS"
    );
    // The same stream judged as an aio-on kernel fails everywhere it can.
    let on = judge(&facts(true), &s);
    assert!(on
        .iter()
        .filter(|c| c.id.ends_with(".constraint.CONFIG_AIO"))
        .all(|c| c.verdict == Verdict::Fail));
}

/// N3 (issue 20): CONFIG_EVENTFD comes from the kernel's config, not from
/// eventfd2's answer. A kernel whose eventfd2 is ENOSYS although its config
/// has CONFIG_EVENTFD=y is a finding; with CONFIG_EVENTFD=n an eventfd2
/// that works is one too; an unknown config skips the check, saying why.
#[test]
fn config_eventfd_comes_from_the_config() {
    let enosys = |s: &mut Stream| {
        let o = obs_mut(s, "io_submit.resfd");
        o["eventfd_ret"] = json!(-1);
        o["eventfd_errno"] = json!(38);
        o["submit_resfd_regular_errno"] = json!(38);
        for k in [
            "submit_ret",
            "submit_errno",
            "getevents_ret",
            "getevents_errno",
            "eventfd_count",
        ] {
            o.as_object_mut().unwrap().remove(k);
        }
    };
    let id = "io_submit.constraint.CONFIG_EVENTFD";
    let mut s = good();
    enosys(&mut s);
    // Config y (the aio-on kernels): ENOSYS is a FAIL, never a skip.
    let v = verdicts(&facts(true), &s);
    assert_eq!(v[id].0, Verdict::Fail, "{:?}", v[id]);
    assert_eq!(v["io_submit.side-effect.eventfd"].0, Verdict::Error);
    // Config n: the same observation passes, the eventfd case is skipped.
    let off = CellFacts {
        eventfd: Some(false),
        ..facts(true)
    };
    let v = verdicts(&off, &s);
    assert_eq!(v[id].0, Verdict::Pass, "{:?}", v[id]);
    assert_eq!(v["io_submit.side-effect.eventfd"].0, Verdict::Skip);
    // Config n but eventfd2 works: a finding.
    let v = verdicts(&off, &good());
    assert_eq!(v[id].0, Verdict::Fail, "{:?}", v[id]);
    // Unknown config: not checkable, said so.
    let unknown = CellFacts {
        eventfd: None,
        ..facts(true)
    };
    let c = judge(&unknown, &good())
        .into_iter()
        .find(|c| c.id == id)
        .unwrap();
    assert_eq!(c.verdict, Verdict::Skip);
    assert!(c.detail.contains("CONFIG_EVENTFD"), "{}", c.detail);
}

fn case_of(f: &CellFacts, s: &Stream, id: &str) -> Case {
    judge(f, s)
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} not judged"))
}

/// IOCB_FLAG_IOPRIO: what the cell's CONFIG_BLOCK makes of it.
#[test]
fn ioprio_follows_config_block() {
    const EPERM: &str = "io_submit.error.EPERM/rt-unprivileged";
    const ENOTBLK: &str = "io_submit.error.ENOTBLK/no-block-layer";
    let block = |b: Option<bool>| CellFacts {
        block: b,
        ..facts(true)
    };
    // The real CONFIG_BLOCK=n run judged as CONFIG_BLOCK=y fails EPERM.
    let v = verdicts(&block(Some(true)), &good());
    assert_eq!(v[EPERM].0, Verdict::Fail, "{}", v[EPERM].1);
    assert_eq!(v[ENOTBLK].0, Verdict::Skip);
    // What CONFIG_BLOCK=y must show: RT refused only without capabilities.
    let mut s = good();
    *obs_mut(&mut s, "io_submit.ioprio") = json!({
        "setup_ret": 0, "setup_errno": 0,
        "rt_root_ret": 1, "rt_root_errno": 0,
        "setresuid_ret": 0,
        "rt_nobody_ret": -1, "rt_nobody_errno": 1,
        "be_nobody_ret": 1, "be_nobody_errno": 0,
    });
    assert_eq!(verdicts(&block(Some(true)), &s)[EPERM].0, Verdict::Pass);
    for (ptr, val) in [
        ("/rt_nobody_ret", 1),
        ("/rt_root_errno", 1),
        ("/be_nobody_ret", -1),
    ] {
        let mut d = s.clone();
        *obs_mut(&mut d, "io_submit.ioprio")
            .pointer_mut(ptr)
            .unwrap() = json!(val);
        if ptr == "/rt_root_errno" {
            obs_mut(&mut d, "io_submit.ioprio")["rt_root_ret"] = json!(-1);
        }
        assert_eq!(
            verdicts(&block(Some(true)), &d)[EPERM].0,
            Verdict::Fail,
            "{ptr}"
        );
    }
    // The same obs on CONFIG_BLOCK=n fails ENOTBLK; unknown config skips.
    assert_eq!(verdicts(&block(Some(false)), &s)[ENOTBLK].0, Verdict::Fail);
    let v = verdicts(&block(None), &s);
    assert_eq!((v[EPERM].0, v[ENOTBLK].0), (Verdict::Skip, Verdict::Skip));
    // A caller that kept its capabilities tested nothing: an error.
    obs_mut(&mut s, "io_submit.ioprio")["setresuid_ret"] = json!(-1);
    obs_mut(&mut s, "io_submit.ioprio")["setresuid_errno"] = json!(1);
    let c = case_of(&block(Some(true)), &s, EPERM);
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains("setresuid"), "{}", c.detail);
}

/// Conditions an experiment could not arrange are errors naming them.
#[test]
fn unarranged_conditions_are_errors() {
    // No SIGALRM landed inside io_destroy.
    let mut s = good();
    obs_mut(&mut s, "io_destroy.signal")["ticks_during"] = json!(0);
    let c = case_of(&facts(true), &s, "io_destroy.signal.any/interval-timer");
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains("ticks_during"), "{}", c.detail);
    // Not pinned to one CPU: the slot count is not fixed.
    let mut s = good();
    let o = obs_mut(&mut s, "io_submit.errors");
    o.as_object_mut().unwrap().remove("pin_cpu");
    o["pin_errno"] = json!(22);
    let c = case_of(&facts(true), &s, "io_submit.error.EAGAIN/slots-full");
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains("sched_setaffinity"), "{}", c.detail);
    // io_cancel's pending poll was not submitted: the case is an error,
    // whatever io_cancel answered.
    let mut s = good();
    let o = obs_mut(&mut s, "io_cancel.generic");
    let e = o["cases"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["id"] == "io_cancel.param.ctx_id.invalid/zero")
        .unwrap();
    e["poll_submit_ret"] = json!(-1);
    e["poll_submit_errno"] = json!(11);
    let c = case_of(&facts(true), &s, "io_cancel.param.ctx_id.invalid/zero");
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains("poll_submit_ret"), "{}", c.detail);
}

/// An earlier call of the experiment that the kernel accepted (s390x takes
/// the buf-not-user write, D5) keeps its slot: one poll fewer, exactly.
#[test]
fn slots_held_by_accepted_earlier_calls_are_counted() {
    let slots = |buf_ret: i64, polls: i64| {
        let mut s = good();
        let o = obs_mut(&mut s, "io_submit.errors");
        o["calls"]["buf-not-user"] = json!({"ret": buf_ret, "errno": 0});
        o["polls_ret"] = json!(polls);
        case_of(&facts(true), &s, "io_submit.error.EAGAIN/slots-full")
    };
    let c = slots(1, 119);
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert!(c.expected.contains("1 slot(s) held"), "{}", c.expected);
    // Deviant counts fail either way.
    assert_eq!(slots(1, 120).verdict, Verdict::Fail);
    assert_eq!(slots(0, 119).verdict, Verdict::Fail);
    // A call without its ret is an error naming it.
    let mut s = good();
    obs_mut(&mut s, "io_submit.errors")["calls"]["buf-not-user"] = json!({"errno": 0});
    let c = case_of(&facts(true), &s, "io_submit.error.EAGAIN/slots-full");
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains("calls.buf-not-user.ret"), "{}", c.detail);
}

/// N4: the exact count a pinned caller gets, from ioctx_alloc's req_batch.
#[test]
fn pinned_slots_follow_req_batch() {
    use super::judges::io_submit::pinned_slots;
    // io_setup(1): a one-page ring of 127 events.
    assert_eq!(pinned_slots(127, 1), 124); // batch 31
    assert_eq!(pinned_slots(127, 2), 120); // batch 15
    assert_eq!(pinned_slots(127, 4), 126); // batch 7
    assert_eq!(pinned_slots(127, 64), 126); // batch 1
}
