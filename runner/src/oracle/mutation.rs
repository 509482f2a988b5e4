//! Mutation test: every case id the oracle can emit (from `catalogue()`)
//! must turn to `fail` under some fabricated deviant observation, and to
//! `error` when some field it reads is removed. A case no observation can
//! fail is a defect.

use super::testing::{good, stream};
use super::{catalogue, judge, CellFacts, Verdict};
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

/// Case id -> the verdicts reached under value mutations and under removals.
type Reached = BTreeMap<String, (BTreeSet<&'static str>, BTreeSet<&'static str>)>;

fn name(v: Verdict) -> &'static str {
    v.name()
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
            if *exp == "io_submit.ioprio" {
                *obs = super::testing::ioprio_block_y();
            }
        }
        run_with(facts, base, Some("io_submit.ioprio"), reached);
    }
}

fn run_with(
    facts: CellFacts,
    base: Vec<(&'static str, Value)>,
    only: Option<&str>,
    reached: &mut Reached,
) {
    let aio = facts.aio;
    // The hello record: the sysctls present in the wrong config.
    let mut s = stream(aio, &base);
    let h = s.hello.as_mut().unwrap();
    h.aio_nr_present = !aio;
    for c in judge(&facts, &s).into_iter().filter(|_| only.is_none()) {
        reached.entry(c.id).or_default().0.insert(name(c.verdict));
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
            for c in judge(&facts, &stream(aio, &exps)) {
                let e = reached.entry(c.id).or_default();
                if removal { &mut e.1 } else { &mut e.0 }.insert(name(c.verdict));
            }
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

#[test]
fn every_case_id_fails_under_some_mutation_and_errors_without_its_fields() {
    let mut reached = Reached::new();
    run(true, &mut reached);
    run(false, &mut reached);
    let mut bad = Vec::new();
    for (exp, def) in catalogue() {
        let hits: Vec<_> = reached.iter().filter(|(id, _)| def.matches(id)).collect();
        if hits.is_empty() {
            bad.push(format!("{} ({exp}): never emitted by the fixtures", def.id));
            continue;
        }
        let fails = hits.iter().any(|(_, (v, _))| v.contains("fail"));
        let errors = hits.iter().any(|(_, (_, r))| r.contains("error"));
        if !fails {
            bad.push(format!(
                "{} ({exp}): no deviant observation makes it fail",
                def.id
            ));
        }
        if !errors && exp != "hello" {
            bad.push(format!(
                "{} ({exp}): no missing field makes it an error",
                def.id
            ));
        }
    }
    assert!(bad.is_empty(), "unfalsifiable cases:\n{}", bad.join("\n"));
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
