//! The step judgment: what a revision's run is reduced to (each selected
//! case's verdict, or its observation with --observed), and whether that
//! is the good revision's. A revision that did not build or whose cells did
//! not run to the end is not judged: it is skipped, with the reason.

use crate::oracle::catalogue;
use crate::report::{CellStatus, Report};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which cases decide, and by what.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Criterion {
    /// --case: an id or a '*' pattern; None: every case.
    pub case: Option<String>,
    /// Compare observations (errno, ring capacity, aio-nr) instead of verdicts.
    pub observed: bool,
}

/// One case in one cell as a step saw it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Seen {
    pub verdict: String,
    pub observed: String,
}

impl Seen {
    pub fn show(&self) -> String {
        format!("{} ({})", self.verdict, self.observed)
    }
}

/// A revision reduced to its selected cases, keyed `cell case`.
pub type Seens = BTreeMap<String, Seen>;

fn matches(pattern: &str, id: &str) -> bool {
    crate::matrix::glob(pattern, id)
}

impl Criterion {
    /// The guest experiments behind the selected cases, as --cases
    /// patterns (None: the whole probe); an error if the pattern names no
    /// case the oracle can emit.
    pub fn experiments(&self) -> Result<Option<String>> {
        let Some(p) = &self.case else {
            return Ok(None);
        };
        let mut exps: Vec<&str> = Vec::new();
        for pat in p.split(',').filter(|s| !s.is_empty()) {
            let hits: Vec<&str> = catalogue()
                .into_iter()
                // `param.nr_events.range/4194305` is one of `.../*`.
                .filter(|(_, c)| matches(pat, c.id) || c.matches(pat))
                .map(|(x, _)| x)
                .collect();
            if hits.is_empty() {
                bail!("--case {pat}: matches no case (`kmatrix spec` lists each clause with its case ids)");
            }
            exps.extend(hits);
        }
        // The hello record comes with every boot; it is not an experiment.
        exps.retain(|x| *x != "hello");
        exps.sort();
        exps.dedup();
        if exps.is_empty() {
            // Only hello cases: the shortest experiment, so the cell boots.
            exps.push("setup.basic");
        }
        Ok(Some(exps.join(",")))
    }

    fn selects(&self, id: &str) -> bool {
        self.case
            .as_deref()
            .is_none_or(|p| p.split(',').any(|pat| matches(pat, id)))
    }

    /// The selected cases of a finished run; Err(why) if the revision
    /// cannot be judged (a cell that did not run to the end).
    pub fn seens(&self, r: &Report) -> Result<Seens, String> {
        let mut out = Seens::new();
        for c in &r.cells {
            if c.status != CellStatus::Ok {
                let detail = c.status_detail.lines().next().unwrap_or("");
                return Err(format!(
                    "cell {} {}: {detail}",
                    c.cell.name,
                    crate::orchestration::progress::status_name(c.status)
                ));
            }
            for k in c.cases.iter().filter(|k| self.selects(&k.id)) {
                let seen = Seen {
                    verdict: crate::report::compare::verdict_name(k.verdict),
                    observed: k.observed.clone(),
                };
                out.insert(format!("{} {}", c.cell.name, k.id), seen);
            }
        }
        if !r.unfinished.is_empty() {
            return Err(format!("cells not run: {}", r.unfinished.join(", ")));
        }
        Ok(out)
    }

    /// The selected cases whose verdict (or observation) differs: `key`,
    /// before, after.
    pub fn differences(&self, a: &Seens, b: &Seens) -> Vec<(String, String, String)> {
        let none = Seen {
            verdict: "-".into(),
            observed: "not run".into(),
        };
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|k| {
                let (x, y) = (a.get(k).unwrap_or(&none), b.get(k).unwrap_or(&none));
                let differ = if self.observed {
                    x.observed != y.observed || (x == &none) != (y == &none)
                } else {
                    x.verdict != y.verdict
                };
                differ.then(|| (k.clone(), x.show(), y.show()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seens(pairs: &[(&str, &str, &str)]) -> Seens {
        pairs
            .iter()
            .map(|(k, v, o)| {
                (
                    k.to_string(),
                    Seen {
                        verdict: v.to_string(),
                        observed: o.to_string(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn cases_select_their_experiments_and_typos_are_refused() {
        let by = |c: &str| Criterion {
            case: Some(c.into()),
            observed: false,
        };
        assert_eq!(
            by("error.EINVAL.nr_events-zero").experiments().unwrap(),
            Some("einval.nr-zero".into())
        );
        assert_eq!(
            by("param.nr_events.range/4194305").experiments().unwrap(),
            Some("nr.sweep".into())
        );
        let e = by("error.EINVAL.*").experiments().unwrap().unwrap();
        assert!(
            e.contains("einval.nr-zero") && e.contains("einval.ctx-existing"),
            "{e}"
        );
        assert!(!e.contains("setup.basic"), "{e}");
        let e = by("no.such-case").experiments().unwrap_err();
        assert!(
            e.to_string()
                .contains("--case no.such-case: matches no case"),
            "{e}"
        );
        let all = Criterion {
            case: None,
            observed: false,
        };
        assert_eq!(all.experiments().unwrap(), None);
    }

    /// The deviant observations: a changed verdict is a difference by
    /// verdict; a changed errno with the same verdict only with --observed.
    #[test]
    fn verdicts_or_observations_decide() {
        let good = seens(&[("c a", "known", "EINVAL"), ("c b", "pass", "OK")]);
        let same_verdict = seens(&[("c a", "known", "EAGAIN"), ("c b", "pass", "OK")]);
        let new_verdict = seens(&[("c a", "known", "EINVAL"), ("c b", "fail", "ENOMEM")]);
        let by_verdict = Criterion {
            case: None,
            observed: false,
        };
        let by_obs = Criterion {
            case: None,
            observed: true,
        };
        assert!(by_verdict.differences(&good, &same_verdict).is_empty());
        assert_eq!(
            by_obs.differences(&good, &same_verdict),
            vec![(
                "c a".into(),
                "known (EINVAL)".into(),
                "known (EAGAIN)".into()
            )]
        );
        assert_eq!(
            by_verdict.differences(&good, &new_verdict),
            vec![("c b".into(), "pass (OK)".into(), "fail (ENOMEM)".into())]
        );
        let gone = seens(&[("c a", "known", "EINVAL")]);
        assert_eq!(
            by_verdict.differences(&good, &gone).len(),
            1,
            "a case that vanished"
        );
    }
}
