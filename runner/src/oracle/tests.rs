//! The spec model, and one test per finding of issue 10 (each failed, or
//! could not be written, against the old single-file oracle).

use super::testing::{good_but, obs_of, stream, H, MAPS};
use super::*;
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::key;
use serde_json::{json, Value};

fn verdict_in(cases: &[Case], id: &str) -> Verdict {
    cases
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id}: {cases:?}"))
        .verdict
}

/// The verdict of `id` when experiment `exp` observed `edit(good obs)`.
fn with_edit(aio: bool, exp: &str, id: &str, edit: impl FnOnce(&mut Value)) -> Verdict {
    let mut o = obs_of(aio, exp);
    edit(&mut o);
    verdict_in(&judge(&CellFacts::new(aio), &good_but(aio, exp, o)), id)
}

#[test]
fn spec_model_follows_the_spec_text() {
    let on = CellFacts::new(true);
    let only = CellFacts {
        selected: Some(vec!["einval.*".into()]),
        ..CellFacts::new(true)
    };
    let cases = judge(&only, &Stream::default());
    assert_eq!(verdict_in(&cases, case::RETURN_SUCCESS), Verdict::Skip);
    assert_eq!(
        verdict_in(&cases, case::ERROR_EINVAL_NR_EVENTS_ZERO),
        Verdict::Error
    );
    assert_eq!(spec_outcome(&on, 128, 0, 65536, false, false), vec!["OK"]);
    assert_eq!(spec_outcome(&on, 0, 0, 65536, false, false), vec!["EINVAL"]);
    assert_eq!(
        spec_outcome(&on, 65537, 0, 65536, false, false),
        vec!["EAGAIN"]
    );
    assert_eq!(
        spec_outcome(&on, 100, 65500, 65536, false, false),
        vec!["EAGAIN"]
    );
    assert_eq!(
        spec_outcome(&on, 36, 65500, 65536, false, false),
        vec!["OK"]
    );
    assert_eq!(
        spec_outcome(&on, SPEC_NR_MAX, 0, u64::MAX, false, false),
        vec!["OK", "ENOMEM"]
    );
    assert_eq!(
        spec_outcome(&on, SPEC_NR_MAX + 1, 0, u64::MAX, false, false),
        vec!["EINVAL"]
    );
    assert_eq!(spec_outcome(&on, 1, 0, 65536, false, true), vec!["EFAULT"]);
    assert_eq!(
        spec_outcome(&CellFacts::new(false), 0, 0, 0, true, true),
        vec!["ENOSYS"]
    );
}

#[test]
fn a_missing_measurement_is_an_error_naming_the_field_never_a_pass() {
    // Old oracle: a missing aio-nr read as 0, so "aio-nr unchanged" passed.
    let mut o = obs_of(true, ids::EINVAL_NR_ZERO);
    o.as_object_mut().unwrap().remove(key::AIO_NR_AFTER);
    let cases = judge(
        &CellFacts::new(true),
        &good_but(true, ids::EINVAL_NR_ZERO, o),
    );
    let c = cases
        .iter()
        .find(|c| c.id == case::ERROR_EINVAL_NR_EVENTS_ZERO)
        .unwrap();
    assert_eq!(c.verdict, Verdict::Error);
    assert!(
        c.detail.contains("einval.nr-zero.aio_nr_after"),
        "{}",
        c.detail
    );
    // null in an aio-on cell is no reading either.
    let v = with_edit(true, ids::SETUP_BASIC, case::SIDE_EFFECT_AIO_NR, |o| {
        o[key::AIO_NR_AFTER] = Value::Null
    });
    assert_eq!(v, Verdict::Error);
    // No aio-max-nr in hello: the judges that need it cannot judge.
    let mut s = stream(true, &super::testing::good(true));
    s.hello.as_mut().unwrap().aio_max_nr = None;
    assert_eq!(
        verdict_in(&judge(&CellFacts::new(true), &s), case::RETURN_SUCCESS),
        Verdict::Error
    );
}

#[test]
fn return_success_does_not_accept_enomem_for_a_small_ring_in_512_mib() {
    let v = with_edit(true, ids::SETUP_BASIC, case::RETURN_SUCCESS, |o| {
        *o = json!({key::NR_EVENTS: 128, key::RET: -1, key::ERRNO: 12, key::HANDLE: 0, key::AIO_NR_BEFORE: 0, key::AIO_NR_AFTER: 0,
            key::RING: null, key::MAPS_LINE: null, key::ret_of(key::DESTROY): null, key::errno_of(key::DESTROY): null, key::AIO_NR_AFTER_DESTROY: null})
    });
    assert_eq!(v, Verdict::Fail);
    // A 256 MiB ring in a 256 MiB guest may fail with ENOMEM (R2-enomem).
    let small = CellFacts {
        mem_mb: 256,
        ..CellFacts::new(true)
    };
    assert!(spec_outcome(&small, 4_194_304, 0, u64::MAX, false, false).contains(&"ENOMEM"));
}

#[test]
fn eintr_is_not_a_pass_without_aio_and_looks_at_how_the_child_died() {
    assert_eq!(
        verdict_in(
            &judge(
                &CellFacts::new(false),
                &stream(false, &super::testing::good(false))
            ),
            case::ERROR_EINTR_SIGKILL_LEAVES_NO_TRACE
        ),
        Verdict::Skip
    );
    let id = case::ERROR_EINTR_SIGKILL_LEAVES_NO_TRACE;
    assert_eq!(
        with_edit(true, ids::EINTR_SIGKILL, id, |o| o[key::GRANDCHILD_FATE] =
            json!("exit:1")),
        Verdict::Fail
    );
    // Killed before any context: nothing was checked, which is no pass
    // and no finding either.
    assert_eq!(
        with_edit(true, ids::EINTR_SIGKILL, id, |o| o[key::SETUPS_OK] =
            json!(0)),
        Verdict::Error
    );
    assert_eq!(
        with_edit(true, ids::EINTR_SIGKILL, id, |o| o[key::AIO_NR_AFTER] =
            json!(3)),
        Verdict::Fail
    );
}

#[test]
fn ctxp_existing_checks_aio_nr_and_that_ctxp_was_left_alone() {
    let id = case::ERROR_EINVAL_CTXP_EXISTING;
    assert_eq!(
        with_edit(true, ids::EINVAL_CTX_EXISTING, id, |o| o[key::SECOND]
            [key::HANDLE] =
            json!(0)),
        Verdict::Fail
    );
    assert_eq!(
        with_edit(true, ids::EINVAL_CTX_EXISTING, id, |o| o
            [key::AIO_NR_AFTER] =
            json!(256)),
        Verdict::Fail
    );
    assert_eq!(
        with_edit(true, ids::EINVAL_CTX_EXISTING, id, |o| o
            [key::AIO_NR_AFTER_DESTROY] =
            json!(128)),
        Verdict::Fail
    );
}

#[test]
fn failed_calls_leave_aio_nr_unchanged() {
    let leak = |o: &mut Value| o[key::AIO_NR_AFTER] = json!(5);
    assert_eq!(
        with_edit(
            true,
            ids::EAGAIN_EXCEEDS_MAX,
            case::ERROR_EAGAIN_EXCEEDS_AIO_MAX_NR,
            leak
        ),
        Verdict::Fail
    );
    assert_eq!(
        with_edit(
            true,
            ids::EAGAIN_BOUNDARY,
            case::CONSTRAINT_AIO_MAX_NR_OVER,
            |o| { o[key::OVER][key::AIO_NR_AFTER] = json!(129) }
        ),
        Verdict::Fail
    );
    assert_eq!(
        with_edit(true, ids::NR_SWEEP, "param.nr_events.range/4194303", |o| {
            o[key::STEPS][4][key::AIO_NR_AFTER] = json!(9)
        }),
        Verdict::Fail
    );
}

#[test]
fn fork_wants_einval_in_the_child_a_sane_mapping_and_a_working_thread() {
    let id = case::LONG_DESC_NOT_SHARED_ACROSS_PROCESSES;
    assert_eq!(
        with_edit(true, ids::FORK_CHILD_USE, id, |o| o[key::GRANDCHILD]
            [&key::errno_of(key::DESTROY)] =
            json!(1)),
        Verdict::Fail
    );
    assert_eq!(
        with_edit(true, ids::FORK_CHILD_USE, id, |o| o[key::GRANDCHILD]
            [key::MAPS_LINE] =
            json!("7f00-7f01 r--p 0 00:00 0 /x")),
        Verdict::Fail
    );
    assert_eq!(
        with_edit(true, ids::FORK_CHILD_USE, id, |o| o[key::GRANDCHILD]
            [key::FATE] =
            json!("signal:11")),
        Verdict::Fail
    );
    let t = case::LONG_DESC_SHARED_BY_CLONE_VM_THREAD;
    assert_eq!(
        with_edit(true, ids::FORK_CHILD_USE, t, |o| o[key::THREAD]
            [&key::ret_of(key::THREAD_DESTROY)] =
            json!(-1)),
        Verdict::Fail
    );
}

#[test]
fn table_many_checks_the_errno_of_its_first_failure() {
    let id = case::CONSTRAINT_PER_PROCESS_TABLE_GROWS;
    let mut s = stream(true, &super::testing::good(true));
    s.hello.as_mut().unwrap().aio_max_nr = Some(100);
    let mut o = obs_of(true, ids::TABLE_MANY);
    for k in [
        key::CREATED,
        key::DISTINCT_HANDLES,
        key::DISTINCT_RING_IDS,
        key::AIO_NR_WITH_ALL,
    ] {
        o[k] = json!(100);
    }
    o[key::AIO_NR_AFTER_EXPLICIT] = json!(97);
    o[key::FIRST_FAILURE] = json!({key::INDEX: 100, key::RET: -1, key::ERRNO: 11});
    s.experiments
        .iter_mut()
        .find(|e| e.id == ids::TABLE_MANY)
        .unwrap()
        .obs = o.clone();
    assert_eq!(
        verdict_in(&judge(&CellFacts::new(true), &s), id),
        Verdict::Pass
    );
    o[key::FIRST_FAILURE][key::ERRNO] = json!(12);
    s.experiments
        .iter_mut()
        .find(|e| e.id == ids::TABLE_MANY)
        .unwrap()
        .obs = o;
    assert_eq!(
        verdict_in(&judge(&CellFacts::new(true), &s), id),
        Verdict::Fail
    );
}

#[test]
fn capacity_can_fail_when_possible_cpus_are_the_binding_term() {
    let mut s = stream(true, &super::testing::good(true));
    assert_eq!(
        verdict_in(&judge(&CellFacts::new(true), &s), case::NOTES_CAPACITY),
        Verdict::Pass
    );
    s.hello.as_mut().unwrap().ncpus_possible = 64; // 64 x 8 = 512 > the 258 slots
    assert_eq!(
        verdict_in(&judge(&CellFacts::new(true), &s), case::NOTES_CAPACITY),
        Verdict::Fail
    );
}

#[test]
fn fail_nth_needs_injections_a_finished_walk_working_contexts_and_no_leaks() {
    let id = case::ERROR_ENOMEM_FAIL_NTH;
    let e = ids::ENOMEM_FAIL_NTH;
    assert_eq!(
        with_edit(true, e, id, |o| {
            for s in o[key::STEPS].as_array_mut().unwrap() {
                s[key::FAIL_NTH_AFTER] = json!(1)
            }
        }),
        Verdict::Error,
        "zero injections"
    );
    assert_eq!(
        with_edit(true, e, id, |o| o[key::STOP] = json!("limit")),
        Verdict::Error,
        "step limit"
    );
    assert_eq!(
        with_edit(true, e, id, |o| o[key::STEPS][1][key::RING] = Value::Null),
        Verdict::Fail,
        "success without a ring"
    );
    assert_eq!(
        with_edit(true, e, id, |o| o[key::STEPS][1]
            [&key::ret_of(key::DESTROY)] =
            json!(-1)),
        Verdict::Fail
    );
    assert_eq!(
        with_edit(true, e, id, |o| o[key::STEPS][0][key::AIO_MAPS_AFTER] =
            json!(1)),
        Verdict::Fail,
        "[aio] mapping leaked"
    );
    assert_eq!(
        with_edit(true, e, id, |o| o[key::STEPS][0][key::ERRNO] = json!(22)),
        Verdict::Fail
    );
}

#[test]
fn failslab_that_never_fired_is_not_a_pass() {
    let v = with_edit(
        true,
        ids::ENOMEM_FAILSLAB,
        case::ERROR_ENOMEM_FAILSLAB,
        |o| o[key::TIMES_AFTER] = json!("1"),
    );
    assert_eq!(v, Verdict::Error);
}

#[test]
fn aio_off_cells_get_enosys_everywhere() {
    let cases = judge(
        &CellFacts::new(false),
        &stream(false, &super::testing::good(false)),
    );
    assert_eq!(
        verdict_in(&cases, case::CONSTRAINT_CONFIG_AIO_ENOSYS),
        Verdict::Pass
    );
    assert_eq!(
        verdict_in(&cases, "constraint.CONFIG_AIO.sysctls"),
        Verdict::Pass
    );
    assert_eq!(
        verdict_in(&cases, case::ERROR_EINVAL_NR_EVENTS_ZERO),
        Verdict::Pass,
        "ENOSYS beats EINVAL"
    );
    // The same success on an aio-off kernel is a failure of R5-config.
    let ok = json!({key::NR_EVENTS: 128, key::RET: 0, key::ERRNO: 0, key::HANDLE: H, key::AIO_NR_BEFORE: null, key::AIO_NR_AFTER: null,
        key::RING: null, key::MAPS_LINE: MAPS, key::ret_of(key::DESTROY): 0, key::errno_of(key::DESTROY): 0, key::AIO_NR_AFTER_DESTROY: null});
    let cases = judge(
        &CellFacts::new(false),
        &good_but(false, ids::SETUP_BASIC, ok),
    );
    assert_eq!(verdict_in(&cases, case::RETURN_SUCCESS), Verdict::Fail);
    assert_eq!(
        verdict_in(&cases, case::CONSTRAINT_CONFIG_AIO_ENOSYS),
        Verdict::Fail
    );
}

#[test]
fn shipped_known_deviations_excuse_d3_only_with_its_ring_and_honest_accounting() {
    let nr: u64 = 2_147_483_649;
    let mut s = stream(true, &super::testing::good(true));
    s.hello.as_mut().unwrap().aio_max_nr = Some(u64::MAX);
    let step = json!({key::FATE: "exited", key::NR_EVENTS: nr, key::RET: 0, key::ERRNO: 0, key::HANDLE: H, key::AIO_NR_BEFORE: 0, key::AIO_NR_AFTER: nr,
        key::RING: {key::ID: 0, key::NR: 127, key::HEAD: 0, key::TAIL: 0, key::MAGIC: 0xa10a10a1u32, key::COMPAT_FEATURES: 1, key::INCOMPAT_FEATURES: 0, key::HEADER_LENGTH: 32},
        key::MAPS_LINE: MAPS, key::ret_of(key::DESTROY): 0, key::errno_of(key::DESTROY): 0, key::AIO_NR_AFTER_DESTROY: 0});
    let set = |s: &mut Stream, step: Value| {
        s.experiments
            .iter_mut()
            .find(|e| e.id == ids::NR_SWEEP)
            .unwrap()
            .obs = json!({key::AIO_MAX_NR: u64::MAX, key::STEPS: [step]});
    };
    let id = format!("param.nr_events.range/{nr}");
    set(&mut s, step.clone());
    assert_eq!(
        verdict_in(&judge(&CellFacts::new(true), &s), &id),
        Verdict::KnownDeviation
    );
    let mut leak = step;
    leak[key::AIO_NR_AFTER] = json!(2);
    set(&mut s, leak);
    assert_eq!(
        verdict_in(&judge(&CellFacts::new(true), &s), &id),
        Verdict::Fail,
        "an aio-nr jump is not excused by D3"
    );
}

#[test]
fn boundary_einval_is_known_only_where_aio_max_nr_is_large() {
    let over = json!({key::NR_EVENTS: 8388481u64, key::RET: -1, key::ERRNO: 22, key::HANDLE: 0, key::AIO_NR_BEFORE: 128, key::AIO_NR_AFTER: 128,
        key::RING: null, key::MAPS_LINE: null, key::ret_of(key::DESTROY): null, key::errno_of(key::DESTROY): null, key::AIO_NR_AFTER_DESTROY: null});
    let mut o = obs_of(true, ids::EAGAIN_BOUNDARY);
    o[key::OVER] = over;
    let mut s = good_but(true, ids::EAGAIN_BOUNDARY, o);
    assert_eq!(
        verdict_in(
            &judge(&CellFacts::new(true), &s),
            case::CONSTRAINT_AIO_MAX_NR_OVER
        ),
        Verdict::Fail,
        "aio-max-nr 65536"
    );
    s.hello.as_mut().unwrap().aio_max_nr = Some(8_388_608);
    assert_eq!(
        verdict_in(
            &judge(&CellFacts::new(true), &s),
            case::CONSTRAINT_AIO_MAX_NR_OVER
        ),
        Verdict::KnownDeviation
    );
}

#[test]
fn d4_is_known_only_in_256_mib() {
    let mut s = stream(true, &super::testing::good(true));
    s.hello.as_mut().unwrap().aio_max_nr = Some(u64::MAX);
    s.experiments
        .iter_mut()
        .find(|e| e.id == ids::NR_SWEEP)
        .unwrap()
        .obs = json!({key::AIO_MAX_NR: u64::MAX, key::STEPS: [{key::FATE: "signal:9", key::NR_EVENTS: 4194304}]});
    let id = "param.nr_events.range/4194304";
    let small = CellFacts {
        mem_mb: 256,
        ..CellFacts::new(true)
    };
    assert_eq!(verdict_in(&judge(&small, &s), id), Verdict::KnownDeviation);
    assert_eq!(
        verdict_in(&judge(&CellFacts::new(true), &s), id),
        Verdict::Fail
    );
}

#[test]
fn every_case_declares_clauses_and_ids_are_unique() {
    let cat = catalogue();
    for (exp, c) in &cat {
        assert!(!c.clauses.is_empty(), "{exp}/{} declares no clause", c.id);
    }
    let mut ids: Vec<_> = cat.iter().map(|(_, c)| c.id).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(n, ids.len(), "duplicate case ids");
    assert_eq!(clauses_of("param.nr_events.range/7")[0], "param:nr_events");
}

#[test]
fn the_judges_and_the_protocol_catalogue_name_the_same_cases() {
    use std::collections::BTreeSet;
    let norm = |id: &str| id.trim_end_matches('*').trim_end_matches('/').to_string();
    for x in kmatrix_proto::catalogue::EXPERIMENTS {
        if x.generic.is_some() {
            // Generated ids: each is one of the judge's patterns, and each
            // pattern matches some generated id.
            let defs: Vec<CaseDef> = catalogue()
                .into_iter()
                .filter(|(e, _)| *e == x.id)
                .map(|(_, c)| c)
                .collect();
            let ids = judges::generic::cases_of(x.id);
            assert!(!ids.is_empty(), "{}: nothing generated", x.id);
            for g in &ids {
                assert!(defs.iter().any(|d| d.matches(&g.id)), "{}", g.id);
            }
            for d in &defs {
                assert!(ids.iter().any(|g| d.matches(&g.id)), "{}", d.id);
            }
            continue;
        }
        let ours: BTreeSet<String> = catalogue()
            .iter()
            .filter(|(e, _)| *e == x.id)
            .map(|(_, c)| norm(c.id))
            .collect();
        let theirs: BTreeSet<String> = x.clauses.iter().map(|c| norm(c)).collect();
        assert_eq!(ours, theirs, "experiment {}", x.id);
    }
    for (e, c) in catalogue() {
        assert!(
            e == "hello" || kmatrix_proto::catalogue::find(e).is_some(),
            "{e} ({}) is not in the protocol catalogue",
            c.id
        );
    }
}

/// V9 (issue 20): a judge that returns Ok without deciding one of its
/// declared cases must not drop it: the case is an ERROR that says so.
#[test]
fn an_undecided_declared_case_is_an_error() {
    const CASES: &[CaseDef] = &[
        CaseDef {
            id: "x.decided",
            clauses: &[],
        },
        CaseDef {
            id: "x.forgotten",
            clauses: &[],
        },
        CaseDef {
            id: "x.steps/*",
            clauses: &[],
        },
    ];
    let j = Judge {
        experiment: ids::SETUP_BASIC,
        cases: CASES,
        only: None,
        run: |c, _| {
            c.case("x.decided", vec![Check::eq("outcome", "OK", "OK")]);
            Ok(())
        },
    };
    let s = stream(true, &[(ids::SETUP_BASIC, json!({}))]);
    let f = CellFacts::new(true);
    let mut c = Ctx {
        f: &f,
        stream: &s,
        exp: "hello",
        cases: &[],
        start: 0,
        out: Vec::new(),
    };
    run_judge(&mut c, &j);
    let got: Vec<(String, Verdict, String)> = c
        .out
        .iter()
        .map(|j| (j.case.id.clone(), j.case.verdict, j.case.detail.clone()))
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].1, Verdict::Pass);
    for (id, v, why) in &got[1..] {
        assert_eq!(*v, Verdict::Error, "{id}");
        assert!(why.contains("without deciding"), "{id}: {why}");
    }
    assert_eq!(got[1].0, "x.forgotten");
    assert_eq!(got[2].0, "x.steps");
}

/// V4 (issue 20): a guest "skipped" is a skip only for a reason the
/// catalogue lists for that experiment; any other reason (a tmpfs mount
/// that failed, an mmap that failed) is an ERROR naming it.
#[test]
fn only_catalogued_skip_reasons_are_skips() {
    let judged =
        |aio: bool, exp: &str, obs: Value| judge(&CellFacts::new(aio), &good_but(aio, exp, obs));
    let tmpfs = "mount tmpfs on /mnt/kmx-aio: errno 19";
    let cases = judged(true, ids::IO_SUBMIT_RW, json!({key::SKIPPED: tmpfs}));
    let rw: Vec<&Case> = cases
        .iter()
        .filter(|c| c.experiment == ids::IO_SUBMIT_RW)
        .collect();
    assert!(!rw.is_empty());
    for c in rw {
        assert_eq!(c.verdict, Verdict::Error, "{c:?}");
        assert!(c.detail.contains(tmpfs), "{c:?}");
    }
    let cases = judged(
        true,
        ids::EFAULT_NULL,
        json!({key::SKIPPED: "mmap failed: errno 12"}),
    );
    assert_eq!(verdict_in(&cases, case::ERROR_EFAULT_NULL), Verdict::Error);
    // A listed reason stays a skip, with its words.
    let why = kmatrix_proto::catalogue::skip::MAX_PLUS_ONE_TOO_BIG;
    let cases = judged(
        true,
        ids::EAGAIN_EXCEEDS_MAX,
        json!({key::AIO_MAX_NR: 65536, key::SKIPPED: why}),
    );
    let c = cases
        .iter()
        .find(|c| c.id == case::ERROR_EAGAIN_EXCEEDS_AIO_MAX_NR)
        .unwrap();
    assert_eq!((c.verdict, c.detail.as_str()), (Verdict::Skip, why));
    // ... but not for another experiment.
    let cases = judged(true, ids::ENOMEM_RLIMIT_AS, json!({key::SKIPPED: why}));
    assert_eq!(
        verdict_in(&cases, case::ERROR_ENOMEM_RLIMIT_AS),
        Verdict::Error
    );
    // The same for one call of eagain.boundary.
    let mut o = obs_of(true, ids::EAGAIN_BOUNDARY);
    o[key::EXACT] = json!({key::SKIPPED: "exact: something else"});
    let cases = judged(true, ids::EAGAIN_BOUNDARY, o);
    assert_eq!(
        verdict_in(&cases, case::CONSTRAINT_AIO_MAX_NR_EXACT),
        Verdict::Error
    );
    assert_eq!(
        verdict_in(&cases, case::CONSTRAINT_AIO_MAX_NR_OVER),
        Verdict::Pass
    );
}
