//! Pre-merge comparison: the same matrix on a baseline and a candidate
//! kernel, and what changed between them, cell by cell and case by case.

use crate::oracle::Verdict;
use crate::report::{CellStatus, Report};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// pass/known/skip before, fail/error now (or the cell broke).
    NewlyFailing,
    NewlyPassing,
    /// Same verdict, different observation (errno, capacity, accounting).
    Changed,
    /// Only in one report.
    Added,
    Removed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub cell: String,
    pub case: String,
    pub kind: Kind,
    pub baseline: String,
    pub candidate: String,
}

fn bad(v: Verdict) -> bool {
    matches!(v, Verdict::Fail | Verdict::Error)
}

/// A verdict as reports spell it (`pass`, `known-deviation`, ...).
pub fn verdict_name(v: Verdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn show(v: Verdict, observed: &str) -> String {
    format!("{} ({observed})", verdict_name(v))
}

/// Every difference between two reports of the same matrix.
pub fn compare(base: &Report, cand: &Report) -> Vec<Change> {
    let mut out = Vec::new();
    for bc in &base.cells {
        let Some(cc) = cand.cells.iter().find(|c| c.cell.name == bc.cell.name) else {
            out.push(Change {
                cell: bc.cell.name.clone(),
                case: "*".into(),
                kind: Kind::Removed,
                baseline: format!("{:?}", bc.status),
                candidate: "not run".into(),
            });
            continue;
        };
        if bc.status != cc.status {
            let kind = if cc.status != CellStatus::Ok {
                Kind::NewlyFailing
            } else {
                Kind::NewlyPassing
            };
            out.push(Change {
                cell: bc.cell.name.clone(),
                case: "status".into(),
                kind,
                baseline: format!("{:?} {}", bc.status, bc.status_detail),
                candidate: format!("{:?} {}", cc.status, cc.status_detail),
            });
        }
        for bk in &bc.cases {
            let Some(ck) = cc.cases.iter().find(|k| k.id == bk.id) else {
                out.push(Change {
                    cell: bc.cell.name.clone(),
                    case: bk.id.clone(),
                    kind: Kind::Removed,
                    baseline: show(bk.verdict, &bk.observed),
                    candidate: "-".into(),
                });
                continue;
            };
            let kind = match (bad(bk.verdict), bad(ck.verdict)) {
                (false, true) => Some(Kind::NewlyFailing),
                (true, false) => Some(Kind::NewlyPassing),
                _ if bk.verdict != ck.verdict || bk.observed != ck.observed => Some(Kind::Changed),
                _ => None,
            };
            if let Some(kind) = kind {
                out.push(Change {
                    cell: bc.cell.name.clone(),
                    case: bk.id.clone(),
                    kind,
                    baseline: show(bk.verdict, &bk.observed),
                    candidate: show(ck.verdict, &ck.observed),
                });
            }
        }
        for ck in cc
            .cases
            .iter()
            .filter(|k| !bc.cases.iter().any(|b| b.id == k.id))
        {
            out.push(Change {
                cell: cc.cell.name.clone(),
                case: ck.id.clone(),
                kind: Kind::Added,
                baseline: "-".into(),
                candidate: show(ck.verdict, &ck.observed),
            });
        }
    }
    for cc in cand
        .cells
        .iter()
        .filter(|c| !base.cells.iter().any(|b| b.cell.name == c.cell.name))
    {
        out.push(Change {
            cell: cc.cell.name.clone(),
            case: "*".into(),
            kind: Kind::Added,
            baseline: "not run".into(),
            candidate: format!("{:?}", cc.status),
        });
    }
    out
}

/// A regression: anything newly failing, or a case or cell that vanished.
pub fn regressed(changes: &[Change]) -> bool {
    changes
        .iter()
        .any(|c| matches!(c.kind, Kind::NewlyFailing | Kind::Removed))
}

pub fn render(changes: &[Change], base_desc: &str, cand_desc: &str) -> String {
    let mut s = format!("baseline:  {base_desc}\ncandidate: {cand_desc}\n");
    if changes.is_empty() {
        s.push_str("no change: every cell and case behaves the same\n");
        return s;
    }
    for c in changes {
        let _ = writeln!(
            s,
            "{:14} {:44} {:40} {} -> {}",
            format!("{:?}", c.kind).to_lowercase(),
            c.cell,
            c.case,
            c.baseline,
            c.candidate
        );
    }
    let n = |k: Kind| changes.iter().filter(|c| c.kind == k).count();
    let _ = writeln!(
        s,
        "{} newly failing, {} newly passing, {} changed, {} added, {} removed",
        n(Kind::NewlyFailing),
        n(Kind::NewlyPassing),
        n(Kind::Changed),
        n(Kind::Added),
        n(Kind::Removed)
    );
    s
}

fn kind_name(k: Kind) -> String {
    format!("{k:?}").to_lowercase()
}

/// JUnit XML: one test per change, failing where it regressed. With no
/// change, one passing test says so (an empty suite reads as "nothing ran").
pub fn render_junit(changes: &[Change], base_desc: &str, cand_desc: &str) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!("compare {base_desc} -> {cand_desc}"));
    if changes.is_empty() {
        suite.add_test_case(TestCase::new("no change", TestCaseStatus::success()));
    }
    for c in changes {
        let what = format!("{}: {} -> {}", kind_name(c.kind), c.baseline, c.candidate);
        let status = if regressed(std::slice::from_ref(c)) {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(what);
            st
        } else {
            let mut st = TestCaseStatus::success();
            st.set_description(what);
            st
        };
        let mut tc = TestCase::new(c.case.clone(), status);
        tc.set_classname(c.cell.clone());
        suite.add_test_case(tc);
    }
    let mut jr = JReport::new("kmatrix-compare");
    jr.add_test_suite(suite);
    jr.to_string().unwrap_or_default()
}

/// KTAP: one line per change, `not ok` where it regressed.
pub fn render_ktap(changes: &[Change], base_desc: &str, cand_desc: &str) -> String {
    let mut s = String::from("KTAP version 1\n");
    let _ = writeln!(s, "# baseline: {base_desc}\n# candidate: {cand_desc}");
    if changes.is_empty() {
        s.push_str("1..1\nok 1 no change\n");
        return s;
    }
    let _ = writeln!(s, "1..{}", changes.len());
    for (i, c) in changes.iter().enumerate() {
        let ok = if regressed(std::slice::from_ref(c)) {
            "not ok"
        } else {
            "ok"
        };
        let _ = writeln!(
            s,
            "{ok} {} {} {} # {}: {} -> {}",
            i + 1,
            c.cell,
            c.case,
            kind_name(c.kind),
            c.baseline.replace('\n', " "),
            c.candidate.replace('\n', " ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Cell;
    use crate::oracle::Case;
    use crate::report::CellReport;

    fn report(verdict: Verdict, observed: &str) -> Report {
        let cell = Cell {
            name: "x86_64/aio-on".into(),
            arch: crate::matrix::arch::by_name("x86_64").unwrap(),
            config: crate::matrix::Config::AioOn,
            variant: Default::default(),
            compat: Default::default(),
            abi: Default::default(),
            aio_max_nr: None,
            cpus: 2,
            maxcpus: None,
            mem_mb: 512,
            timeout_s: 1,
            index: 0,
            kernel_config: Default::default(),
        };
        let mut c: CellReport = crate::orchestration::run::empty_report(
            &cell,
            std::path::Path::new("/x"),
            CellStatus::Ok,
            String::new(),
        );
        c.cases = vec![
            Case {
                id: "a".into(),
                experiment: "e".into(),
                expected: "EINVAL".into(),
                observed: observed.into(),
                verdict,
                detail: String::new(),
            },
            Case {
                id: "b".into(),
                experiment: "e".into(),
                expected: "OK".into(),
                observed: "OK".into(),
                verdict: Verdict::Pass,
                detail: String::new(),
            },
        ];
        Report::new(vec![c], vec![])
    }

    #[test]
    fn junit_and_ktap_mark_regressions() {
        let ch = compare(
            &report(Verdict::Pass, "EINVAL"),
            &report(Verdict::Fail, "OK"),
        );
        assert_eq!(ch.len(), 1);
        let j = render_junit(&ch, "6.1", "tree");
        assert!(j.contains("<testsuites") && j.contains("<failure"), "{j}");
        assert!(j.contains("newly"), "{j}");
        let k = render_ktap(&ch, "6.1", "tree");
        assert!(k.starts_with("KTAP version 1\n"), "{k}");
        assert!(
            k.contains("1..1\nnot ok 1 x86_64/aio-on a # newlyfailing"),
            "{k}"
        );
        let same = compare(
            &report(Verdict::Pass, "EINVAL"),
            &report(Verdict::Pass, "EINVAL"),
        );
        assert!(render_ktap(&same, "a", "b").ends_with("1..1\nok 1 no change\n"));
        assert!(!render_junit(&same, "a", "b").contains("<failure"));
    }

    #[test]
    fn reports_exactly_what_changed() {
        let base = report(Verdict::Pass, "EINVAL");
        assert!(compare(&base, &base).is_empty());
        let ch = compare(&base, &report(Verdict::Fail, "OK"));
        assert_eq!(ch.len(), 1);
        assert_eq!((ch[0].case.as_str(), ch[0].kind), ("a", Kind::NewlyFailing));
        assert!(regressed(&ch));
        let ch = compare(
            &report(Verdict::KnownDeviation, "EAGAIN"),
            &report(Verdict::KnownDeviation, "EINVAL"),
        );
        assert_eq!(ch[0].kind, Kind::Changed, "same verdict, new errno");
        assert!(!regressed(&ch));
    }
}

/// One side of a comparison, as the user named it.
#[derive(Debug, Clone)]
pub enum Side {
    /// A saved JSON report (typically the baseline).
    Report(std::path::PathBuf),
    /// A kernel to build or boot, run through the matrix.
    Kernel(crate::build::source::KernelChoice),
}

/// `REPORT.json`, or any kernel `crate::build::source::from_spec` accepts.
pub async fn resolve(spec: &str, arch: Option<&str>) -> anyhow::Result<Side> {
    let p = std::path::Path::new(spec);
    if p.is_file() && spec.ends_with(".json") {
        return Ok(Side::Report(p.to_path_buf()));
    }
    Ok(Side::Kernel(
        crate::build::source::from_spec(spec, arch).await?,
    ))
}

/// The spec clauses that differ between the specs each side was judged
/// against, per syscall (empty when both used the same files).
pub fn spec_changes(base: &Report, cand: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for b in &base.specs {
        let Some(c) = cand.specs.iter().find(|c| c.syscall == b.syscall) else {
            continue;
        };
        if b.sha256 == c.sha256 && b.path == c.path {
            continue;
        }
        let (changes, prose) = crate::spec::diff::diff(&b.spec, &c.spec);
        if changes.is_empty() && prose.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "== {}: baseline {}  candidate {}",
            b.syscall,
            b.label(),
            c.label()
        );
        s.push_str(&crate::spec::diff::render(&changes, &prose));
    }
    if s.is_empty() {
        return s;
    }
    format!("spec clauses that changed between baseline and candidate:\n{s}")
}

#[cfg(test)]
mod spec_change_tests {
    use super::*;

    #[test]
    fn compare_lists_the_spec_clauses_that_changed() {
        let base = Report::new(vec![], vec![]);
        let mut cand = base.clone();
        assert_eq!(spec_changes(&base, &cand), "");
        let u = cand
            .specs
            .iter_mut()
            .find(|u| u.syscall == "io_submit")
            .unwrap();
        u.path = "/tree/fs/aio.c".into();
        u.sha256 = "cd".repeat(32);
        let nr = u.spec.params.iter_mut().find(|p| p.name == "nr").unwrap();
        nr.range = Some((crate::spec::Bound::Num(1), crate::spec::Bound::Num(5)));
        let s = spec_changes(&base, &cand);
        assert!(s.starts_with("spec clauses that changed between baseline and candidate:\n== io_submit: baseline spec/io_submit-kapi-spec.txt"), "{s}");
        assert!(
            s.contains("  param nr range: 0..9223372036854775807  ->  1..5\n"),
            "{s}"
        );
    }
}
