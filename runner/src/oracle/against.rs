//! Verdicts against a spec other than kmatrix's own (`run --kernel-src`
//! with KAPI blocks in the tree, `--spec-source PATH`).
//!
//! The judges decide with kmatrix's built-in specs; this pass then, per
//! syscall judged against another spec:
//! - a generic case (`<sys>.param.*`, `<sys>.return.base`) is decided
//!   again with that spec's expectation (kmatrix's hints laid over it),
//!   from the outcome the guest observed; an id that spec does not
//!   generate is a skip saying so, and an id it generates that the guest
//!   did not run (the guest's catalogue is built from spec/) is a skip
//!   saying that, never a pass;
//! - a hand-written case checking a clause that spec lacks is a skip
//!   "spec X has no clause Y": the tree's spec does not demand what the
//!   case checks, so neither a pass nor a fail would be honest.
//!
//! A known deviation stays excused only where the expectation is the one
//! it was accepted against.

use std::collections::BTreeMap;

use super::{clauses_of, Case, Verdict};
use crate::spec::cases::{self, Expect, GenericCase};
use crate::spec::source::{SpecSet, SpecUsed};

/// The syscall a case id is about (io_setup's original ids name none).
pub fn syscall_of(id: &str) -> Option<&'static str> {
    let head = id.split(['.', ':', '/']).next().unwrap_or("");
    if let Some(n) = kmatrix_proto::syscalls::find(head) {
        return Some(n.name);
    }
    // exec:, share:, hello and the config map are about no syscall.
    let none = ["exec", "share", "hello", "enosys", "cell", "boot"];
    if none.contains(&head) || clauses_of(id).is_empty() {
        return None;
    }
    Some("io_setup")
}

/// The first clause `id` checks that `used`'s spec does not have.
fn missing_clause(used: &SpecUsed, id: &str) -> Option<String> {
    let s = &used.spec;
    for c in clauses_of(id) {
        let Some((kind, name)) = c.split_once(':') else {
            continue;
        };
        let present = match kind {
            "param" | "return" | "error" | "lock" | "side-effect" | "state-trans"
            | "constraint" => s.has_clause(kind, name),
            // A signal named by number (signal:9) is the named one's twin.
            "signal" => name.parse::<u32>().is_ok() || s.has_clause(kind, name),
            "notes" => s.notes.contains(name),
            "examples" => s.examples.contains(name),
            "long-desc" => s.long_desc.contains(name),
            _ => true,
        };
        if !present {
            return Some(c.to_string());
        }
    }
    None
}

fn expect_text(e: &Expect) -> String {
    match e {
        Expect::Is(x) => x.clone(),
        Expect::Not(x) => format!("not {x}"),
    }
}

/// Re-decides `cases` (one cell's) against `set`; `aio` is the cell's
/// CONFIG_AIO (without it every call is ENOSYS, whatever the spec).
pub fn apply(cases: &mut Vec<Case>, set: &SpecSet, aio: bool) {
    let mut generated: BTreeMap<&str, Result<Vec<GenericCase>, String>> = BTreeMap::new();
    let mut seen: Vec<String> = Vec::new();
    for c in cases.iter_mut() {
        let Some(sys) = syscall_of(&c.id) else {
            continue;
        };
        let Some(used) = set.get(sys) else { continue };
        if used.author == "kmatrix" && used.path.starts_with("spec/") {
            continue;
        }
        let label = used.label();
        if c.experiment.ends_with(".generic") {
            seen.push(c.id.clone());
            if let Some(e) = &used.hint_error {
                c.verdict = Verdict::Error;
                c.detail = format!("spec {label}: kmatrix's hints do not fit it: {e}");
                continue;
            }
            let gen = generated
                .entry(sys)
                .or_insert_with(|| cases::generate(&used.spec).map_err(|e| e.to_string()));
            let g = match gen {
                Err(e) => {
                    c.verdict = Verdict::Error;
                    c.detail = format!("spec {label} gives no generic cases: {e}");
                    continue;
                }
                Ok(v) => v.iter().find(|g| g.id == c.id),
            };
            let Some(g) = g else {
                c.verdict = Verdict::Skip;
                c.detail = format!(
                    "spec {label} has no case {} (its params or ranges differ from spec/)",
                    c.id
                );
                continue;
            };
            let want = if aio {
                g.expect.clone()
            } else {
                Expect::Is("ENOSYS".into())
            };
            let decided = matches!(
                c.verdict,
                Verdict::Pass | Verdict::Fail | Verdict::KnownDeviation
            );
            let text = expect_text(&want);
            if !decided
                || c.observed == "-"
                || (text == c.expected && c.verdict == Verdict::KnownDeviation)
            {
                continue;
            }
            let holds = match &want {
                Expect::Is(e) => c.observed == *e,
                Expect::Not(e) => c.observed != *e,
            };
            c.expected = text;
            c.verdict = if holds { Verdict::Pass } else { Verdict::Fail };
            c.detail = if holds {
                String::new()
            } else {
                format!("spec {label}: {} ({})", g.why, g.clause.name)
            };
            continue;
        }
        if matches!(c.verdict, Verdict::Error) {
            continue; // an experiment that broke is an error against any spec
        }
        if let Some(missing) = missing_clause(used, &c.id) {
            c.verdict = Verdict::Skip;
            c.detail = format!("spec {label} has no clause {missing}");
        }
    }
    // Cases the chosen spec asks for that the guest never ran.
    for used in &set.specs {
        if used.author == "kmatrix" && used.path.starts_with("spec/") {
            continue;
        }
        let Some(Ok(v)) = generated.get(used.syscall.as_str()) else {
            continue;
        };
        for g in v {
            if !seen.contains(&g.id) {
                cases.push(Case {
                    id: g.id.clone(),
                    experiment: format!("{}.generic", used.syscall),
                    expected: expect_text(&g.expect),
                    observed: "-".into(),
                    verdict: Verdict::Skip,
                    detail: format!(
                        "not run: spec {} asks for it, and the guest's generic catalogue is built from spec/",
                        used.label()
                    ),
                });
            }
        }
    }
}
