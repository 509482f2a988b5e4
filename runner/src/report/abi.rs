//! Native against compat: each compat cell beside the native cell that
//! booted the same kernel with the same parameters, and every case whose
//! verdict differs between the two ABIs. The spec's clauses hold for
//! 32-bit callers too, so a difference is a finding like any other.

use super::compare::verdict_name;
use super::{CellReport, Report};
use crate::matrix::Cell;
use crate::oracle::{Case, Verdict};
use std::fmt::Write;

/// One case whose verdict differs between a native cell and its compat twin.
#[derive(Debug, Clone, PartialEq)]
pub struct AbiDiff {
    pub compat_cell: String,
    pub case: String,
    /// verdict (observed) in the native cell, or "not run".
    pub native: String,
    pub compat: String,
    /// Judged in both cells (a finding); else one side skipped it or has
    /// no such case (what one ABI can check and the other cannot).
    pub judged_in_both: bool,
    /// For a one-sided difference: the skip's reason, or which ABI alone has the case.
    pub why: String,
}

/// The same kernel and parameters, the other ABI.
fn twins(a: &Cell, b: &Cell) -> bool {
    a.abi != b.abi
        && a.arch.name == b.arch.name
        && a.arch.machine == b.arch.machine
        && a.config == b.config
        && a.variant == b.variant
        && a.compat == b.compat
        && a.aio_max_nr == b.aio_max_nr
        && a.cpus == b.cpus
        && a.maxcpus == b.maxcpus
        && a.mem_mb == b.mem_mb
}

fn shown(c: &CellReport, id: &str) -> String {
    c.cases
        .iter()
        .find(|k| k.id == id)
        .map_or("not run".into(), |k| {
            format!("{} ({})", verdict_name(k.verdict), k.observed)
        })
}

/// Every case whose verdict differs between a compat cell and its native
/// twin, and how many compat cells had a twin.
pub fn differences<'a>(r: &'a Report) -> (Vec<AbiDiff>, usize) {
    let mut out = Vec::new();
    let mut paired = 0;
    for c in r.cells.iter().filter(|c| !c.cell.abi.is_native()) {
        let Some(n) = r.cells.iter().find(|n| twins(&n.cell, &c.cell)) else {
            continue;
        };
        paired += 1;
        let mut ids: Vec<&str> = n.cases.iter().map(|k| k.id.as_str()).collect();
        for k in &c.cases {
            if !ids.contains(&k.id.as_str()) {
                ids.push(&k.id);
            }
        }
        for id in ids {
            let find = |x: &'a CellReport| x.cases.iter().find(|k| k.id == id);
            let (a, b) = (find(n), find(c));
            if a.map(|k| k.verdict) == b.map(|k| k.verdict) {
                continue;
            }
            let judged = |k: Option<&Case>| k.is_some_and(|k| k.verdict != Verdict::Skip);
            let skipped = [a, b]
                .into_iter()
                .flatten()
                .find(|k| k.verdict == Verdict::Skip);
            out.push(AbiDiff {
                compat_cell: c.cell.name.clone(),
                case: id.to_string(),
                native: shown(n, id),
                compat: shown(c, id),
                judged_in_both: judged(a) && judged(b),
                why: match (skipped, a) {
                    (Some(k), _) => k.detail.clone(),
                    (None, None) => "a case of compat cells only".into(),
                    (None, Some(_)) => "a case of native cells only".into(),
                },
            });
        }
    }
    (out, paired)
}

/// The report's native-against-compat section (empty without compat cells
/// that have a native twin): every case judged in both ABIs with different
/// verdicts, then how many cases only one ABI judged, by reason.
pub fn render(r: &Report) -> String {
    let (diffs, paired) = differences(r);
    let mut s = String::new();
    if paired == 0 {
        return s;
    }
    let (both, one): (Vec<&AbiDiff>, Vec<&AbiDiff>) = diffs.iter().partition(|d| d.judged_in_both);
    let _ = writeln!(
        s,
        "native vs compat: {paired} compat cell(s) beside their native twin: {} case(s) judged in both differ, {} judged in one ABI only",
        both.len(),
        one.len()
    );
    for d in &both {
        let _ = writeln!(
            s,
            "  {}: {}: native {}, compat {}",
            d.compat_cell, d.case, d.native, d.compat
        );
    }
    let mut reasons: Vec<(&str, usize)> = Vec::new();
    for d in &one {
        match reasons.iter_mut().find(|(w, _)| *w == d.why) {
            Some((_, n)) => *n += 1,
            None => reasons.push((&d.why, 1)),
        }
    }
    for (why, n) in reasons {
        let _ = writeln!(s, "  in one ABI only: {n} x {why}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::{arch, Abi, Axes};
    use crate::oracle::{Case, Verdict};
    use crate::report::CellStatus;

    fn case(id: &str, verdict: Verdict, observed: &str) -> Case {
        Case {
            id: id.into(),
            experiment: "e".into(),
            expected: "-".into(),
            observed: observed.into(),
            verdict,
            detail: String::new(),
        }
    }

    #[test]
    fn a_verdict_that_differs_between_the_abis_is_listed_with_both_sides() {
        let mut axes = Axes::default_matrix(vec![arch::by_name("x86_64").unwrap()]);
        axes.abis = vec![Abi::Native, Abi::Compat];
        let cells: Vec<CellReport> = axes
            .cells()
            .iter()
            .map(|c| {
                let mut r = crate::report::cell::empty_report(
                    c,
                    std::path::Path::new("/x"),
                    CellStatus::Ok,
                    String::new(),
                );
                let compat = !c.abi.is_native();
                let mut skip = case("c", Verdict::Skip, "-");
                skip.detail = "a 32-bit caller cannot pass it".into();
                r.cases = vec![
                    case("a", Verdict::Pass, "OK"),
                    match compat {
                        true => case("b", Verdict::Fail, "EFAULT"),
                        false => case("b", Verdict::Pass, "OK"),
                    },
                    match compat {
                        true => skip,
                        false => case("c", Verdict::Pass, "EINVAL"),
                    },
                ];
                r
            })
            .collect();
        let r = Report::new(cells, vec![]);
        let (d, paired) = differences(&r);
        // aio-on and aio-off: two compat cells, each beside its twin.
        assert_eq!(paired, 2);
        assert_eq!(d.len(), 4);
        assert_eq!(d[0].case, "b");
        assert!(!d[1].judged_in_both);
        assert_eq!(d[1].why, "a 32-bit caller cannot pass it");
        assert_eq!(d[0].native, "pass (OK)");
        assert_eq!(d[0].compat, "fail (EFAULT)");
        assert!(d[0].judged_in_both);
        assert!(d[0].compat_cell.starts_with("x86_64/i686/aio-on+compat/"));
        let text = render(&r);
        assert!(
            text.contains("2 case(s) judged in both differ, 2 judged in one ABI only"),
            "{text}"
        );
        assert!(
            text.contains("in one ABI only: 2 x a 32-bit caller cannot pass it"),
            "{text}"
        );
        // No compat cells, no section.
        let native = Report::new(r.cells[..1].to_vec(), vec![]);
        assert_eq!(render(&native), "");
    }
}
