//! Compat cells (a 32-bit probe): every compat rule is fed a good
//! observation and a deviant one that must fail; a missing measurement is
//! an error naming it; native cells never see these rules.

use super::judges::compat::NEXT_WORD_SENTINEL;
use super::judges::enosys::map_line;
use super::testing::{good_but, obs_of, ran_32bit, setup_basic_32};
use super::{judge, Case, CellFacts, Verdict};
use crate::matrix::Abi;
use crate::stream::{parse, Stream};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;
use kmatrix_proto::syscalls;
use serde_json::{json, Value};

const GOOD: &str = include_str!("fixtures/aio-on-x86_64.jsonl");

fn compat(aio: bool, time32: Option<bool>) -> CellFacts {
    CellFacts {
        abi: Abi::Compat,
        compat: Some(true),
        time32,
        ..CellFacts::new(aio)
    }
}

fn verdict(cases: &[Case], id: &str) -> (Verdict, String) {
    let c = cases
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id}: {cases:?}"));
    (
        c.verdict,
        format!("{} / {} / {}", c.expected, c.observed, c.detail),
    )
}

/// The abi.compat record of a 32-bit probe that ran.
fn ran32() -> crate::stream::Experiment {
    crate::stream::Experiment {
        id: ids::ABI_COMPAT.into(),
        fate: "exited".into(),
        obs: ran_32bit(),
    }
}

/// The recorded family stream, as if a 32-bit probe had written it.
fn fixture() -> Stream {
    let mut s = parse(GOOD.as_bytes());
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    s.experiments.insert(0, ran32());
    s
}

fn obs_mut<'a>(s: &'a mut Stream, exp: &str) -> &'a mut Value {
    &mut s.experiments.iter_mut().find(|e| e.id == exp).unwrap().obs
}

/// enosys.map as a 32-bit probe of `arch` writes it, each entry point's
/// calls answered by `errno(entry label)` (0: EINVAL, a real implementation).
fn compat_map(arch: &str, errno: impl Fn(Option<&str>) -> i64) -> Value {
    let row = syscalls::numbers(arch).unwrap();
    let mut calls = Vec::new();
    for s in syscalls::AIO {
        for e in row.entries(s) {
            let label = if e.time32 {
                Some("time32")
            } else if s.index == syscalls::IO_PGETEVENTS.index {
                Some("time64")
            } else {
                None
            };
            for args in ["zeros", "ones"] {
                let mut c = json!({key::SYSCALL: s.name});
                if let Some(l) = label {
                    c[key::ENTRY] = json!(l);
                }
                let e_no = match errno(label) {
                    0 => 22,
                    n => n,
                };
                c[key::NR] = json!(e.nr);
                c[key::ARGS] = json!(args);
                c[key::RET] = json!(-1);
                c[key::ERRNO] = json!(e_no);
                calls.push(c);
            }
        }
    }
    json!({key::ARCH: arch, key::CALLS: calls})
}

fn with_map(map: Value) -> Stream {
    let mut s = fixture();
    *obs_mut(&mut s, ids::ENOSYS_MAP) = map;
    s
}

fn time32_enosys(label: Option<&str>) -> i64 {
    if label == Some("time32") {
        38
    } else {
        0
    }
}

const GETEVENTS: &str = case::IO_GETEVENTS_CONSTRAINT_CONFIG_AIO;
const PGETEVENTS: &str = case::IO_PGETEVENTS_CONSTRAINT_CONFIG_AIO;

#[test]
fn compat_enosys_map_follows_aio_and_time32() {
    // time32 off: exactly the time32 entry points are ENOSYS.
    let s = with_map(compat_map("x86", time32_enosys));
    let cases = judge(&compat(true, Some(false)), &s);
    for sc in syscalls::AIO {
        let id = format!("{}.constraint.CONFIG_AIO", sc.name);
        assert_eq!(
            verdict(&cases, &id).0,
            Verdict::Pass,
            "{:?}",
            verdict(&cases, &id)
        );
    }
    assert_eq!(
        map_line(&cases).unwrap(),
        "io_setup(245)=EINVAL io_destroy(246)=EINVAL io_submit(248)=EINVAL \
         io_cancel(249)=EINVAL io_getevents/time32(247)=ENOSYS \
         io_pgetevents/time64(416)=EINVAL io_pgetevents/time32(385)=ENOSYS"
    );
    // Deviant: a time32 entry point answers although the option is off.
    let s = with_map(compat_map("x86", |_| 0));
    let cases = judge(&compat(true, Some(false)), &s);
    assert_eq!(verdict(&cases, GETEVENTS).0, Verdict::Fail);
    assert_eq!(verdict(&cases, PGETEVENTS).0, Verdict::Fail);
    assert_eq!(
        verdict(&cases, case::IO_SETUP_CONSTRAINT_CONFIG_AIO).0,
        Verdict::Pass
    );
    // time32 on: never ENOSYS, so the same ENOSYS entry points fail.
    let s = with_map(compat_map("x86", time32_enosys));
    let cases = judge(&compat(true, Some(true)), &s);
    assert_eq!(verdict(&cases, GETEVENTS).0, Verdict::Fail);
    assert_eq!(verdict(&cases, PGETEVENTS).0, Verdict::Fail);
    let s = with_map(compat_map("x86", |_| 0));
    assert_eq!(
        verdict(&judge(&compat(true, Some(true)), &s), PGETEVENTS).0,
        Verdict::Pass
    );
    // Deviant: io_pgetevents_time64 ENOSYS with time32 off.
    let s = with_map(compat_map("x86", |l| if l.is_some() { 38 } else { 0 }));
    let (v, seen) = verdict(&judge(&compat(true, Some(false)), &s), PGETEVENTS);
    assert_eq!(v, Verdict::Fail, "{seen}");
    // AIO off: every entry point ENOSYS; one that answers fails.
    let s = with_map(compat_map("x86", |_| 38));
    let cases = judge(&compat(false, Some(true)), &s);
    assert!(syscalls::AIO.iter().all(|sc| verdict(
        &cases,
        &format!("{}.constraint.CONFIG_AIO", sc.name)
    )
    .0 == Verdict::Pass));
    let s = with_map(compat_map(
        "x86",
        |l| if l == Some("time64") { 22 } else { 38 },
    ));
    assert_eq!(
        verdict(&judge(&compat(false, Some(true)), &s), PGETEVENTS).0,
        Verdict::Fail
    );
}

#[test]
fn compat_enosys_map_unknown_time32_is_an_error_naming_it() {
    let s = with_map(compat_map("x86", time32_enosys));
    let cases = judge(&compat(true, None), &s);
    for id in [GETEVENTS, PGETEVENTS] {
        let (v, why) = verdict(&cases, id);
        assert_eq!(v, Verdict::Error);
        assert!(why.contains("CONFIG_COMPAT_32BIT_TIME"), "{why}");
    }
    // Calls without a time argument are still judged.
    assert_eq!(
        verdict(&cases, case::IO_SUBMIT_CONSTRAINT_CONFIG_AIO).0,
        Verdict::Pass
    );
}

#[test]
fn compat_enosys_map_numbers_and_arch() {
    // arm64's compat probe with arm's numbers.
    let arm64 = CellFacts {
        arch: "arm64".into(),
        ..compat(true, Some(false))
    };
    let s = with_map(compat_map("arm", time32_enosys));
    let cases = judge(&arm64, &s);
    assert_eq!(verdict(&cases, PGETEVENTS).0, Verdict::Pass);
    assert!(map_line(&cases)
        .unwrap()
        .contains("io_pgetevents/time32(399)=ENOSYS"));
    // Deviant: arm's 32-bit probe in an x86_64 cell.
    let cases = judge(&compat(true, Some(false)), &s);
    assert_eq!(
        verdict(&cases, case::IO_SETUP_CONSTRAINT_CONFIG_AIO).0,
        Verdict::Fail
    );
    // Deviant: the time32 io_pgetevents called by the _time64 number.
    let mut map = compat_map("x86", time32_enosys);
    for c in map[key::CALLS].as_array_mut().unwrap() {
        if c[key::ENTRY] == json!("time32") && c[key::SYSCALL] == json!("io_pgetevents") {
            c[key::NR] = json!(416);
        }
    }
    let cases = judge(&compat(true, Some(false)), &with_map(map));
    assert_eq!(verdict(&cases, PGETEVENTS).0, Verdict::Fail);
    // A native probe in a compat cell: no 32-bit numbers, an error.
    let cases = judge(&compat(true, Some(false)), &fixture());
    assert_eq!(
        verdict(&cases, case::IO_SETUP_CONSTRAINT_CONFIG_AIO).0,
        Verdict::Error
    );
    // An entry point missing from the map is an error naming it.
    let mut map = compat_map("x86", time32_enosys);
    map[key::CALLS]
        .as_array_mut()
        .unwrap()
        .retain(|c| c[key::ENTRY] != json!("time32") || c[key::SYSCALL] != json!("io_pgetevents"));
    let (v, why) = verdict(
        &judge(&compat(true, Some(false)), &with_map(map)),
        PGETEVENTS,
    );
    assert_eq!(v, Verdict::Error);
    assert!(why.contains("io_pgetevents (time32 entry)"), "{why}");
}

#[test]
fn io_getevents_is_skipped_without_compat_32bit_time() {
    let s = fixture();
    let getevents_cases = |cases: &[Case]| -> Vec<(Verdict, String)> {
        cases
            .iter()
            .filter(|c| {
                c.experiment == ids::IO_GETEVENTS_GENERIC
                    || c.experiment == ids::IO_GETEVENTS_TIMEOUTS
            })
            .map(|c| (c.verdict, c.detail.clone()))
            .collect()
    };
    let off = getevents_cases(&judge(&compat(true, Some(false)), &s));
    assert!(!off.is_empty());
    for (v, why) in &off {
        assert_eq!(*v, Verdict::Skip);
        assert!(why.contains("CONFIG_COMPAT_32BIT_TIME"), "{why}");
    }
    let unknown = getevents_cases(&judge(&compat(true, None), &s));
    assert!(unknown.iter().all(|(v, _)| *v == Verdict::Error));
    // Deviant: with the option on, an io_getevents that is ENOSYS is
    // judged, and fails, not skipped.
    let mut s = fixture();
    for c in obs_mut(&mut s, ids::IO_GETEVENTS_GENERIC)[key::CASES]
        .as_array_mut()
        .unwrap()
    {
        c[key::RET] = json!(-1);
        c[key::ERRNO] = json!(38);
    }
    let on = getevents_cases(&judge(&compat(true, Some(true)), &s));
    assert!(on.iter().any(|(v, _)| *v == Verdict::Fail), "{on:?}");
    // The other calls' experiments are judged in a time32-off cell.
    let cases = judge(&compat(true, Some(false)), &fixture());
    assert!(cases
        .iter()
        .filter(|c| c.experiment == ids::IO_SUBMIT_RW)
        .all(|c| c.verdict == Verdict::Pass));
}

/// setup.basic as a 32-bit probe reports it, with `next` as the word
/// after the handle.
fn setup_32(next: Value) -> Value {
    let mut o = setup_basic_32();
    o[key::CTX_NEXT_WORD] = next;
    o
}

fn handle_case(f: &CellFacts, o: Value) -> (Verdict, String) {
    let mut s = good_but(true, ids::SETUP_BASIC, o);
    s.experiments.insert(0, ran32());
    verdict(&judge(f, &s), case::IO_SETUP_COMPAT_HANDLE_32BIT)
}

#[test]
fn compat_handle_is_32_bits() {
    let f = compat(true, Some(true));
    let good = setup_32(json!(NEXT_WORD_SENTINEL));
    assert_eq!(handle_case(&f, good.clone()).0, Verdict::Pass);
    // Deviant: the kernel wrote 8 bytes (the word after the handle).
    assert_eq!(handle_case(&f, setup_32(json!(0))).0, Verdict::Fail);
    // Deviant: a handle above 4 GiB (the native fixture's).
    let mut o = obs_of(true, ids::SETUP_BASIC);
    o[key::CTX_NEXT_WORD] = json!(NEXT_WORD_SENTINEL);
    assert_eq!(handle_case(&f, o).0, Verdict::Fail);
    // Deviant: the handle is not where the ring is mapped.
    let mut o = good.clone();
    o[key::MAPS_LINE] = json!("f7e00000-f7e02000 rw-s 00000000 00:0e 2 /[aio] (deleted)");
    assert_eq!(handle_case(&f, o).0, Verdict::Fail);
    // Missing (a 64-bit probe's null, or absent): an error naming it.
    for o in [setup_32(Value::Null), {
        let mut o = good.clone();
        o.as_object_mut().unwrap().remove(key::CTX_NEXT_WORD);
        o
    }] {
        let (v, why) = handle_case(&f, o);
        assert_eq!(v, Verdict::Error);
        assert!(why.contains(key::CTX_NEXT_WORD), "{why}");
    }
    // Native cells never judge it: their verdicts are what they were.
    let native = judge(
        &CellFacts::new(true),
        &good_but(true, ids::SETUP_BASIC, good),
    );
    assert!(native
        .iter()
        .all(|c| c.id != case::IO_SETUP_COMPAT_HANDLE_32BIT));
}

#[test]
fn generic_values_a_32bit_long_cannot_carry_are_skipped() {
    let s = fixture();
    let wide = "io_submit.param.nr.range/4294967296";
    let narrow = "io_submit.param.nr.range/1";
    let cases = judge(&compat(true, Some(true)), &s);
    let (v, why) = verdict(&cases, wide);
    assert_eq!(v, Verdict::Skip);
    assert!(
        why.contains("cannot pass 0x100000000") && why.ends_with("gets 0"),
        "{why}"
    );
    // -1 (all ones) is the same value for a 32-bit caller: judged.
    assert_eq!(
        verdict(&cases, "io_cancel.param.ctx_id.invalid/ones").0,
        Verdict::Pass
    );
    assert_eq!(verdict(&cases, narrow).0, Verdict::Pass);
    // Native cells judge the wide value; a deviant narrow one still fails.
    assert_eq!(
        verdict(&judge(&CellFacts::new(true), &s), wide).0,
        Verdict::Pass
    );
    let mut s = fixture();
    for c in obs_mut(&mut s, ids::IO_SUBMIT_GENERIC)[key::CASES]
        .as_array_mut()
        .unwrap()
    {
        if c[key::ID] == json!(narrow) {
            c[key::RET] = json!(-1);
            c[key::ERRNO] = json!(22);
        }
    }
    let (v, why) = verdict(&judge(&compat(true, Some(true)), &s), narrow);
    assert_eq!(v, Verdict::Fail, "{why}");
}
