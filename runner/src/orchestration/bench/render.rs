//! Rendering: the bench's tables as text. Nothing here measures or decides.

use super::measure::{CellSplit, Row};
use std::fmt::Write;

/// One line of the targets table.
pub struct Target {
    pub figure: String,
    pub measured: String,
    pub floor: String,
    pub target: String,
    pub verdict: String,
}

/// "met", or "not met: WHY".
pub fn verdict(ok: bool, why_not: impl FnOnce() -> String) -> String {
    if ok {
        "met".into()
    } else {
        format!("not met: {}", why_not())
    }
}

pub fn machine_rows(out: &mut String, rows: &[(Row, bool)], runs: usize) {
    let _ = writeln!(
        out,
        "per cell and machine, ping guest (boots, reports, powers off); medians of {runs} runs, ms from QEMU start:"
    );
    let _ = writeln!(
        out,
        "{:34} {:>8} {:>8} {:>8} {:>6} {:>8} {:>8}",
        "cell / machine", "console", "exit", "floor", "ratio", "probe", "+probe"
    );
    for (r, _) in rows {
        let _ = writeln!(
            out,
            "{:34} {:>8.0} {:>8.0} {:>8.0} {:>6.2} {:>8.0} {:>8.0}",
            r.label,
            r.first_console_ms,
            r.ping_ms,
            r.floor_ms,
            r.ping_ms / r.floor_ms,
            r.probe_ms,
            r.probe_ms - r.ping_ms
        );
    }
    let _ = writeln!(out, "(console: first console byte; exit: QEMU gone, ping guest; floor: the same machine, kernel and guest from a plain qemu command line; ratio: exit / floor; probe: full probe; +probe: probe - exit)");
}

/// The median run's split, each part with its median over all runs.
pub fn cell_split(out: &mut String, splits: &[CellSplit], floor_ms: f64) {
    let Some(first) = splits.first() else { return };
    let med =
        |f: &dyn Fn(&CellSplit) -> f64| super::measure::median(splits.iter().map(f).collect());
    let wall = med(&|s| s.wall_ms);
    let _ = writeln!(
        out,
        "\none cell as a whole process ({}), medians of {} runs:",
        first.label,
        splits.len()
    );
    for (i, p) in first.parts.iter().enumerate() {
        let _ = writeln!(out, "  {:>7.1} ms  {}", med(&|s| s.parts[i].ms), p.what);
    }
    let _ = writeln!(
        out,
        "  {wall:>7.1} ms  whole process; floor {floor_ms:.1} ms (plain qemu, same kernel and ping guest), ratio {:.2}",
        wall / floor_ms
    );
}

pub fn slowest_experiments(out: &mut String, rows: &[(Row, bool)]) {
    let _ = writeln!(
        out,
        "\nslowest guest experiments (full probe, guest's own clock):"
    );
    let mut all: Vec<(String, String, f64)> = rows
        .iter()
        .flat_map(|(r, _)| {
            r.experiments
                .iter()
                .map(|(id, s)| (r.label.clone(), id.clone(), *s))
        })
        .collect();
    all.sort_by(|a, b| b.2.total_cmp(&a.2));
    for (label, id, s) in all.iter().take(10) {
        let _ = writeln!(out, "  {s:>7.2} s  {id:40} {label}");
    }
}

pub fn targets(out: &mut String, targets: &[Target]) {
    let _ = writeln!(out, "\ntargets:");
    let _ = writeln!(
        out,
        "{:52} {:>12} {:>36} {:>15}  verdict",
        "figure", "measured", "floor", "target"
    );
    for t in targets {
        let _ = writeln!(
            out,
            "{:52} {:>12} {:>36} {:>15}  {}",
            t.figure, t.measured, t.floor, t.target, t.verdict
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missed_target_says_why() {
        assert_eq!(verdict(true, || unreachable!()), "met");
        assert_eq!(verdict(false, || "slow".into()), "not met: slow");
    }
}
