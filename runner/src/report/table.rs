//! The terminal table: cases x cells, then what did not pass, with evidence.

use super::{short, CellReport, CellStatus, Report};
use crate::oracle::{Case, Verdict};
use std::fmt::Write;

/// Cases as rows, cells as columns, then every non-pass with its evidence.
/// Unless `verbose`, rows that only pass or skip are folded: one line per
/// pattern of verdicts across the cells, with how many cases share it
/// (a default matrix has ~200 rows, nearly all "pass" or "pass/skip").
pub fn render_table(r: &Report, verbose: bool) -> String {
    let mut s = String::new();
    let cells: Vec<&crate::matrix::Cell> = r.cells.iter().map(|c| &c.cell).collect();
    let (cols, common) = super::column_titles(&cells);
    if !common.is_empty() && r.cells.len() > 1 {
        let _ = writeln!(s, "every cell: {common}");
    }
    for u in &r.specs {
        let _ = writeln!(s, "spec {}: {}", u.syscall, u.label());
    }
    let mut ids: Vec<&str> = Vec::new();
    for c in &r.cells {
        for k in &c.cases {
            if !ids.contains(&k.id.as_str()) {
                ids.push(&k.id);
            }
        }
    }
    let w0 = ids.iter().map(|i| i.len()).max().unwrap_or(4).max(10);
    let cw: Vec<usize> = cols.iter().map(|c| c.len().max(6)).collect();
    let _ = write!(s, "{:w0$}", "cell");
    for (c, w) in cols.iter().zip(&cw) {
        let _ = write!(s, "  {c:w$}");
    }
    s.push('\n');
    let mut line = |label: &str, vals: Vec<String>| {
        let _ = write!(s, "{label:w0$}");
        for (v, w) in vals.iter().zip(&cw) {
            let _ = write!(s, "  {v:w$}");
        }
        s.push('\n');
    };
    line(
        "status",
        r.cells
            .iter()
            .map(|c| format!("{:?}", c.status).to_lowercase())
            .collect(),
    );
    line(
        "accel",
        r.cells
            .iter()
            .map(|c| {
                c.accel
                    .map_or("-".into(), |a| format!("{a:?}").to_lowercase())
            })
            .collect(),
    );
    line(
        "boot (ms)",
        r.cells
            .iter()
            .map(|c| c.boot_ms().map_or("-".into(), |(ms, _)| ms.to_string()))
            .collect(),
    );
    line(
        "run (ms)",
        r.cells.iter().map(|c| c.run_ms.to_string()).collect(),
    );
    let verdicts = |id: &str| -> Vec<String> {
        r.cells
            .iter()
            .map(|c| {
                c.cases
                    .iter()
                    .find(|k| k.id == id)
                    .map_or("-".into(), |k| short(k.verdict).into())
            })
            .collect()
    };
    let rows: Vec<(&str, Vec<String>)> = ids.iter().map(|id| (*id, verdicts(id))).collect();
    let folds = if verbose { Vec::new() } else { folds(&rows) };
    let mut folded = 0;
    let mut shown: Vec<&Vec<String>> = Vec::new();
    for (id, vals) in &rows {
        // A folded pattern is one line where its first case would stand.
        match folds.iter().find(|(v, _)| v == vals) {
            Some((_, n)) if *n > 1 => {
                folded += 1;
                if !shown.contains(&vals) {
                    shown.push(vals);
                    line(&folded_label(*n, vals), vals.clone());
                }
            }
            _ => line(id, vals.clone()),
        }
    }
    if folded > 0 {
        let _ = writeln!(
            s,
            "({folded} cases that only pass or skip are folded into the (N cases) rows; --verbose lists each)"
        );
    }
    s.push('\n');
    for c in &r.cells {
        if c.status != CellStatus::Ok {
            let _ = writeln!(s, "{}: {:?}: {}", c.cell.name, c.status, c.status_detail);
            for e in &c.stream_errors {
                let _ = writeln!(s, "    stream: {e}");
            }
            if !c.console_excerpt.is_empty() {
                let _ = writeln!(
                    s,
                    "    console ({}):",
                    c.artifacts.join("console.log").display()
                );
                for l in c.console_excerpt.lines() {
                    let _ = writeln!(s, "    | {l}");
                }
            }
        }
        if let Some(m) = crate::oracle::enosys_map_line(&c.cases) {
            let _ = writeln!(s, "ENOSYS map {}: {m}", c.cell.name);
        }
        // Cases that could not be judged share one cause; say it once.
        let errors: Vec<&Case> = c
            .cases
            .iter()
            .filter(|k| k.verdict == Verdict::Error)
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(
                s,
                "ERROR {}: {} case(s) could not be judged, first: {}: {}",
                c.cell.name,
                errors.len(),
                errors[0].id,
                errors[0].detail
            );
        }
        for k in c.cases.iter().filter(|k| {
            matches!(k.verdict, Verdict::Fail | Verdict::KnownDeviation)
                && !super::is_suite_case(&k.id)
        }) {
            let _ = writeln!(
                s,
                "{} {}: {}: expected {}, observed {}{}",
                short(k.verdict),
                c.cell.name,
                k.id,
                k.expected,
                k.observed,
                if k.detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", k.detail)
                }
            );
        }
    }
    s.push_str(&render_deviations(r));
    s.push_str(&super::abi::render(r));
    s.push_str(&render_suites(r));
    for u in &r.unchecked {
        let _ = writeln!(s, "not checked: {u}");
    }
    let counts = r.counts();
    let _ = writeln!(
        s,
        "{} cells: {} passed, {} failed, {} known deviations, {} skipped, {} errors{}",
        r.cells.len(),
        counts[Verdict::Pass as usize],
        counts[Verdict::Fail as usize],
        counts[Verdict::KnownDeviation as usize],
        counts[Verdict::Skip as usize],
        counts[Verdict::Error as usize],
        if r.unfinished.is_empty() {
            String::new()
        } else {
            format!("; {} cells unfinished", r.unfinished.len())
        }
    );
    s
}

/// The verdict patterns (one per cell) that fold, with how many rows have
/// each, in first-seen order: only patterns of pass, skip and "-" (the case
/// is not in that cell) fold; a row with a FAIL, known or ERROR is always
/// its own line.
fn folds(rows: &[(&str, Vec<String>)]) -> Vec<(Vec<String>, usize)> {
    let quiet = |v: &[String]| v.iter().all(|x| x == "pass" || x == "skip" || x == "-");
    let mut out: Vec<(Vec<String>, usize)> = Vec::new();
    for (_, vals) in rows.iter().filter(|(_, v)| quiet(v)) {
        match out.iter_mut().find(|(v, _)| v == vals) {
            Some((_, n)) => *n += 1,
            None => out.push((vals.clone(), 1)),
        }
    }
    out
}

/// The label of a folded row (a pattern only one case has keeps its name).
fn folded_label(n: usize, vals: &[String]) -> String {
    if vals.iter().all(|v| v == "pass") {
        format!("({n} cases pass in every cell)")
    } else {
        format!("({n} cases)")
    }
}

/// Every case where the kernel disagrees with the spec, grouped by case,
/// with what each cell observed, arch by arch.
pub fn render_deviations(r: &Report) -> String {
    let mut by_case: std::collections::BTreeMap<&str, Vec<(&CellReport, &Case)>> =
        Default::default();
    for c in &r.cells {
        for k in c.cases.iter().filter(|k| {
            matches!(k.verdict, Verdict::Fail | Verdict::KnownDeviation)
                && !super::is_suite_case(&k.id)
        }) {
            by_case.entry(k.id.as_str()).or_default().push((c, k));
        }
    }
    if by_case.is_empty() {
        return String::new();
    }
    let mut s = String::from("\nspec deviations (kernel != spec):\n");
    for (id, mut hits) in by_case {
        hits.sort_by(|a, b| {
            (&a.0.cell.arch.name, a.0.cell.index).cmp(&(&b.0.cell.arch.name, b.0.cell.index))
        });
        let known = hits.iter().all(|h| h.1.verdict == Verdict::KnownDeviation);
        let _ = writeln!(
            s,
            "  {id}{}: spec says {}",
            if known { " (known)" } else { "" },
            hits[0].1.expected
        );
        for (c, k) in hits {
            let kernel = c.hello.as_ref().map_or(String::new(), |h| {
                format!(" [{} {}]", h.uname_release, h.uname_machine)
            });
            let _ = writeln!(
                s,
                "    {:44} observed {}{kernel}{}",
                c.cell.name,
                k.observed,
                if k.detail.is_empty() || k.verdict == Verdict::KnownDeviation {
                    String::new()
                } else {
                    format!(" ({})", k.detail)
                }
            );
        }
    }
    s
}

/// `--exec` and `--share` results that did not pass, cell by cell, with
/// the lines that say why (kept apart from the spec's deviations).
pub fn render_suites(r: &Report) -> String {
    let mut s = String::new();
    for c in &r.cells {
        for k in c
            .cases
            .iter()
            .filter(|k| super::is_suite_case(&k.id) && k.verdict != Verdict::Pass)
        {
            if s.is_empty() {
                s.push_str("\ntest programs and shares (--exec, --share), not passed:\n");
            }
            let _ = writeln!(
                s,
                "  {:5} {}: {}: observed {} (expected {})",
                short(k.verdict),
                c.cell.name,
                k.id,
                k.observed,
                k.expected
            );
            for l in k.detail.lines().take(8) {
                let _ = writeln!(s, "        | {l}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::matrix::{arch, Axes, Variant};
    use crate::report::{cell::empty_report, CellStatus, Report};

    fn report(variants: Vec<Variant>) -> Report {
        let mut axes = Axes::default_matrix(vec![arch::by_name("x86_64").unwrap()]);
        axes.variants = variants;
        let cells = (axes.cells().iter())
            .map(|c| empty_report(c, std::path::Path::new("/x"), CellStatus::Ok, String::new()))
            .collect();
        Report::new(cells, vec![])
    }

    #[test]
    fn a_run_without_a_debug_cell_says_what_it_could_not_check_in_every_format() {
        let plain = report(vec![Variant::Plain]);
        assert_eq!(plain.unchecked.len(), 1);
        assert!(plain.unchecked[0].contains("lock clauses"));
        let json = serde_json::to_value(&plain).unwrap();
        assert!(json["unchecked"][0].as_str().unwrap().contains("kmemleak"));
        assert!(super::render_table(&plain, false).contains("not checked: no debug cell"));
        let both = report(vec![Variant::Plain, Variant::Debug]);
        assert!(both.unchecked.is_empty());
        assert!(serde_json::to_value(&both)
            .unwrap()
            .get("unchecked")
            .is_none());
    }
}
