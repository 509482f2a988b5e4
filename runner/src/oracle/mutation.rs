//! Mutation test: every check of every case id the oracle can emit (from
//! `catalogue()`) must fail under some fabricated deviant observation, and
//! the case must turn to `error` when some field it reads is removed. A
//! check no observation can fail is a defect.

use super::testing::{good, stream};
use super::{catalogue, judge, judge_checks, CellFacts, Verdict};
use crate::stream::{Hello, Stream};
use kmatrix_proto::catalogue::ids;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// JSON pointers of every leaf (non-container value) under `v`.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| leaves(x, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| leaves(x, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

/// Deviant values for one leaf: wrong errnos and return values, off-by-one
/// counters, other fates and mappings, nulls.
fn deviants(v: &Value) -> Vec<Value> {
    let mut d = vec![Value::Null];
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                for x in [i + 1, i - 1, 0, 1, -1, 4, 11, 12, 14, 22, 38, 1 << 40] {
                    if x != i {
                        d.push(json!(x));
                    }
                }
            } else if let Some(u) = n.as_u64() {
                // Above i64::MAX (aio-max-nr 2^64-1): its neighbours and small values.
                for x in [u - 1, u / 2, 0, 1] {
                    d.push(json!(x));
                }
            }
        }
        Value::String(s) => {
            for x in [
                "x",
                "0",
                "1",
                "exited",
                "signal:9",
                "timeout",
                "limit",
                "exhausted",
                super::testing::MAPS,
            ] {
                if x != s {
                    d.push(json!(x));
                }
            }
        }
        Value::Bool(b) => d.push(json!(!b)),
        Value::Null => d.extend([json!(0), json!(1), json!("x")]),
        _ => {}
    }
    d
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(key);
        }
        Some(Value::Array(a)) => {
            a.remove(key.parse::<usize>().unwrap());
        }
        _ => {}
    }
}

/// What the mutations reached.
#[derive(Default)]
struct Reached {
    /// Case id -> the verdicts reached under value mutations and under removals.
    verdicts: BTreeMap<String, (BTreeSet<&'static str>, BTreeSet<&'static str>)>,
    /// Case id -> the checks that decided it on a good observation.
    checks: BTreeMap<String, BTreeSet<&'static str>>,
    /// (case id, check) pairs some mutation made fail.
    failed: BTreeSet<(String, &'static str)>,
}

impl Reached {
    fn add(&mut self, facts: &CellFacts, s: &Stream, removal: bool) {
        for (c, checks) in judge_checks(facts, s) {
            for k in checks.iter().filter(|k| !k.holds) {
                self.failed.insert((c.id.clone(), k.name));
            }
            let e = self.verdicts.entry(c.id).or_default();
            if removal { &mut e.1 } else { &mut e.0 }.insert(c.verdict.name());
        }
    }
}

fn run(aio: bool, reached: &mut Reached) {
    run_with(CellFacts::new(aio), good(aio), None, reached);
    // CONFIG_BLOCK=y decides io_submit.ioprio's EPERM case; the recorded
    // kernels have CONFIG_BLOCK=n, so its good obs is fabricated from the
    // spec (testing::ioprio_block_y) and only that experiment is mutated.
    if aio {
        let facts = CellFacts {
            block: Some(true),
            ..CellFacts::new(aio)
        };
        let mut base = good(aio);
        for (exp, obs) in base.iter_mut() {
            if *exp == ids::IO_SUBMIT_IOPRIO {
                *obs = super::testing::ioprio_block_y();
            }
        }
        run_with(facts, base, Some(ids::IO_SUBMIT_IOPRIO), reached);
        // A compat cell judges what a 32-bit probe's setup.basic reports.
        let facts = CellFacts {
            abi: crate::matrix::Abi::Compat,
            compat: Some(true),
            time32: Some(true),
            ..CellFacts::new(aio)
        };
        let mut base = good(aio);
        for (exp, obs) in base.iter_mut() {
            if *exp == ids::SETUP_BASIC {
                *obs = super::testing::setup_basic_32();
            }
        }
        base.insert(0, (ids::ABI_COMPAT, super::testing::ran_32bit()));
        run_with(facts, base, Some(ids::SETUP_BASIC), reached);
    }
}

/// Mutates every experiment of `base` (or only the one named `only`, whose
/// cases alone then count as decided).
fn run_with(
    facts: CellFacts,
    base: Vec<(&'static str, Value)>,
    only: Option<&str>,
    reached: &mut Reached,
) {
    let aio = facts.aio;
    let mine =
        |id: &str| only.is_none_or(|o| catalogue().iter().any(|(e, d)| *e == o && d.matches(id)));
    for (c, checks) in judge_checks(&facts, &stream(aio, &base)) {
        if mine(&c.id) {
            reached
                .checks
                .entry(c.id)
                .or_default()
                .extend(checks.iter().map(|k| k.name));
        }
    }
    // The hello record: each sysctl present in the wrong config.
    if only.is_none() {
        for flip in [
            |h: &mut Hello| h.aio_nr_present = !h.aio_nr_present,
            |h: &mut Hello| h.aio_max_nr_present = !h.aio_max_nr_present,
        ] {
            let mut s = stream(aio, &base);
            flip(s.hello.as_mut().unwrap());
            reached.add(&facts, &s, false);
        }
    }
    for (i, (exp, obs)) in base.iter().enumerate() {
        if only.is_some_and(|o| o != *exp) {
            continue;
        }
        let mut ptrs = Vec::new();
        leaves(obs, String::new(), &mut ptrs);
        let mut try_one = |o: Value, removal: bool| {
            let mut exps = base.clone();
            exps[i] = (exp, o);
            reached.add(&facts, &stream(aio, &exps), removal);
        };
        for p in &ptrs {
            for d in deviants(obs.pointer(p).unwrap()) {
                let mut o = obs.clone();
                *o.pointer_mut(p).unwrap() = d;
                try_one(o, false);
            }
            let mut o = obs.clone();
            remove(&mut o, p);
            try_one(o, true);
        }
    }
}

/// V8 (issue 20): check by check. For every case id the fixtures decide,
/// each named check that decided it must fail under some deviant value of
/// a field it reads, not merely the case under some mutation (a sub-check
/// that can never fail would hide behind one that can). Every case id of
/// the catalogue must be decided by checks in some fixture, and must be an
/// error when some field it reads is removed.
#[test]
fn every_check_of_every_case_fails_under_some_mutation() {
    let mut reached = Reached::default();
    run(true, &mut reached);
    run(false, &mut reached);
    let mut bad = Vec::new();
    for (exp, def) in catalogue() {
        let hits: Vec<_> = reached
            .verdicts
            .iter()
            .filter(|(id, _)| def.matches(id))
            .collect();
        if hits.is_empty() {
            bad.push(format!("{} ({exp}): never emitted by the fixtures", def.id));
            continue;
        }
        // Every id the good fixtures emit, not just one per pattern
        // (`param.*` is one case per value; mutated values make new ids).
        let (decided, undecided): (Vec<_>, Vec<_>) = reached
            .checks
            .iter()
            .filter(|(id, _)| def.matches(id))
            .partition(|(_, k)| !k.is_empty());
        if decided.is_empty() && undecided.is_empty() {
            bad.push(format!("{} ({exp}): not in the good fixtures", def.id));
        }
        for (id, _) in &undecided {
            bad.push(format!(
                "{id} ({exp}): no fixture decides it by a check (only skips or errors)"
            ));
        }
        for (id, _) in &decided {
            for k in &reached.checks[*id] {
                if !reached.failed.contains(&(id.to_string(), *k)) {
                    bad.push(format!(
                        "{id} ({exp}): check {k:?} holds under every mutation"
                    ));
                }
            }
        }
        let errors = hits.iter().any(|(_, (_, r))| r.contains("error"));
        if !errors && exp != "hello" {
            bad.push(format!(
                "{} ({exp}): no missing field makes it an error",
                def.id
            ));
        }
    }
    assert!(bad.is_empty(), "unfalsifiable checks:\n{}", bad.join("\n"));
}

#[test]
fn the_fixtures_pass() {
    for aio in [true, false] {
        let cases = judge(&CellFacts::new(aio), &stream(aio, &good(aio)));
        let bad: Vec<_> = cases
            .iter()
            .filter(|c| !matches!(c.verdict, Verdict::Pass | Verdict::Skip))
            .collect();
        assert!(bad.is_empty(), "aio {aio}: {bad:#?}");
    }
}
