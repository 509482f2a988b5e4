//! Compat cells: the abi.compat record against the kernel's config, each
//! rule fed a deviant start that must not pass.

use super::testing::{good, stream};
use super::{judge_with, Case, CellFacts, Verdict};
use crate::matrix::Abi;
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;
use serde_json::{json, Value};

fn compat(has: Option<bool>) -> CellFacts {
    CellFacts {
        abi: Abi::Compat,
        compat: has,
        time32: has,
        ..CellFacts::new(true)
    }
}

fn ran(bits: u64) -> Value {
    json!({key::EXEC_ERRNO: null, key::POINTER_BITS: bits, key::ARCH: "x86"})
}

fn no_exec(errno: i64) -> Value {
    json!({key::EXEC_ERRNO: errno, key::POINTER_BITS: null, key::ARCH: null})
}

/// The good aio-on stream with (or without) an abi.compat record.
fn cases(f: &CellFacts, start: Option<Value>) -> Vec<Case> {
    let mut exps = good(true);
    if let Some(v) = start {
        exps.insert(0, (ids::ABI_COMPAT, v));
    }
    judge_with(f, &stream(true, &exps), &[])
}

fn verdict(cs: &[Case], id: &str) -> Verdict {
    cs.iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id}"))
        .verdict
}

const MAP_CASE: &str = case::IO_SETUP_CONSTRAINT_CONFIG_AIO;

#[test]
fn a_kernel_without_compat_gives_enoexec_and_the_map_says_so() {
    let cs = cases(&compat(Some(false)), Some(no_exec(8)));
    for c in cs.iter().filter(|c| c.experiment == ids::ENOSYS_MAP) {
        assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
        assert!(c.observed.contains("ENOEXEC"), "{c:?}");
    }
    // Nothing else ran, and nothing else passes: each says why.
    let setup = cs.iter().find(|c| c.id == case::RETURN_SUCCESS).unwrap();
    assert_eq!(setup.verdict, Verdict::Skip);
    assert!(setup.detail.contains("no compat ABI"), "{setup:?}");
    assert!(cs
        .iter()
        .filter(|c| c.experiment != ids::ENOSYS_MAP && c.experiment != "hello")
        .all(|c| c.verdict == Verdict::Skip));
    let line = super::enosys_map_line(&cs).unwrap();
    assert!(line.contains("no compat ABI"), "{line}");
}

#[test]
fn deviant_starts_fail_or_error() {
    // The config has the compat ABI, yet the probe could not be exec'd.
    let cs = cases(&compat(Some(true)), Some(no_exec(8)));
    assert_eq!(verdict(&cs, MAP_CASE), Verdict::Fail);
    assert_eq!(verdict(&cs, case::RETURN_SUCCESS), Verdict::Skip);
    // No compat ABI in the config, yet a probe ran.
    let cs = cases(&compat(Some(false)), Some(ran(32)));
    assert_eq!(verdict(&cs, MAP_CASE), Verdict::Fail);
    assert_eq!(verdict(&cs, case::RETURN_SUCCESS), Verdict::Error);
    // A probe that is not 32-bit is no compat probe.
    let cs = cases(&compat(Some(true)), Some(ran(64)));
    assert_eq!(verdict(&cs, MAP_CASE), Verdict::Fail);
    assert_eq!(verdict(&cs, case::RETURN_SUCCESS), Verdict::Error);
    // Another errno than ENOEXEC where the config has no compat ABI.
    let cs = cases(&compat(Some(false)), Some(no_exec(2)));
    assert_eq!(verdict(&cs, MAP_CASE), Verdict::Fail);
}

#[test]
fn a_missing_start_or_config_is_an_error_naming_it() {
    let cs = cases(&compat(Some(true)), None);
    let c = cs.iter().find(|c| c.id == MAP_CASE).unwrap();
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains(ids::ABI_COMPAT), "{c:?}");
    assert_eq!(verdict(&cs, case::RETURN_SUCCESS), Verdict::Error);
    let cs = cases(&compat(None), Some(no_exec(8)));
    let c = cs.iter().find(|c| c.id == MAP_CASE).unwrap();
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains("config is unknown"), "{c:?}");
    let mut bad = no_exec(8);
    bad.as_object_mut().unwrap().remove(key::EXEC_ERRNO);
    let cs = cases(&compat(Some(false)), Some(bad));
    let c = cs.iter().find(|c| c.id == MAP_CASE).unwrap();
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.detail.contains(key::EXEC_ERRNO), "{c:?}");
}

#[test]
fn a_compat_probe_that_ran_is_judged_and_native_cells_ignore_the_record() {
    let on = compat(Some(true));
    let cs = cases(&on, Some(ran(32)));
    assert_eq!(verdict(&cs, case::RETURN_SUCCESS), Verdict::Pass);
    // Native cells never look for it.
    let native = cases(&CellFacts::new(true), None);
    assert_eq!(verdict(&native, case::RETURN_SUCCESS), Verdict::Pass);
}
