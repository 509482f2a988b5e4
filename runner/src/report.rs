//! Layer 6: the report. One record per cell (written to disk as soon as the
//! cell ends), rendered as a terminal table or JSON.

use crate::matrix::Cell;
use crate::oracle::{Case, Verdict};
use crate::stream::{Completeness, Hello, Sysctl};
use crate::vm::{Accel, Exit, Timings};
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::PathBuf;

pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellStatus {
    /// The guest ran the probe and the stream is complete.
    Ok,
    Panic,
    Timeout,
    /// The stream ended early or never started.
    Incomplete,
    ProtocolError,
    /// QEMU failed to start or died, or the cell could not be set up.
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KernelInfo {
    pub image: PathBuf,
    pub version: String,
    pub source: String,
    /// sha256 of the source tarball (Debian sources), empty for trees.
    #[serde(default)]
    pub source_sha256: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellReport {
    pub cell: Cell,
    pub kernel: Option<KernelInfo>,
    pub accel: Option<Accel>,
    pub accel_reason: String,
    pub status: CellStatus,
    pub status_detail: String,
    pub exit: Option<Exit>,
    /// QEMU start to `cont`, and `cont` to QEMU exit.
    pub start_ms: u64,
    pub run_ms: u64,
    #[serde(default)]
    pub timings: Timings,
    pub artifacts: PathBuf,
    pub hello: Option<Hello>,
    pub sysctls: Vec<Sysctl>,
    pub guest_logs: Vec<String>,
    pub stream: Option<Completeness>,
    pub stream_errors: Vec<String>,
    /// Tail of the console when something went wrong.
    pub console_excerpt: String,
    pub cases: Vec<Case>,
    /// What `--exec` reported: argv, status, stdout, stderr (bounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<serde_json::Value>,
}

impl CellReport {
    /// A cell is green when it ran to the end and no case failed or errored.
    pub fn green(&self) -> bool {
        self.status == CellStatus::Ok
            && self.cases.iter().all(|c| {
                matches!(
                    c.verdict,
                    Verdict::Pass | Verdict::KnownDeviation | Verdict::Skip
                )
            })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    pub kmatrix: String,
    pub rules: Vec<(String, String)>,
    pub cells: Vec<CellReport>,
    /// Cells that never reported (interrupted run).
    #[serde(default)]
    pub unfinished: Vec<String>,
    /// Files of this run that could not be written (a full disk), each with
    /// its path and cause; a run with any is not green.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write_errors: Vec<String>,
}

impl Report {
    pub fn new(cells: Vec<CellReport>, unfinished: Vec<String>) -> Self {
        Report {
            version: REPORT_VERSION,
            kmatrix: env!("CARGO_PKG_VERSION").into(),
            rules: crate::oracle::RULES
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            cells,
            unfinished,
            write_errors: vec![],
        }
    }

    pub fn green(&self) -> bool {
        self.unfinished.is_empty()
            && self.write_errors.is_empty()
            && !self.cells.is_empty()
            && self.cells.iter().all(CellReport::green)
    }
}

fn short(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "FAIL",
        Verdict::KnownDeviation => "known",
        Verdict::Skip => "skip",
        Verdict::Error => "ERROR",
    }
}

/// Cases as rows, cells as columns, then every non-pass with its evidence.
pub fn render_table(r: &Report) -> String {
    let mut s = String::new();
    let cols: Vec<String> = r
        .cells
        .iter()
        .map(|c| format!("{}/{}", c.cell.arch, c.cell.config))
        .collect();
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
        r.cells.iter().map(|c| c.run_ms.to_string()).collect(),
    );
    for id in &ids {
        line(
            id,
            r.cells
                .iter()
                .map(|c| {
                    c.cases
                        .iter()
                        .find(|k| k.id == *id)
                        .map_or("-".into(), |k| short(k.verdict).into())
                })
                .collect(),
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
        if let Some(m) = crate::judge_family::enosys_map_line(&c.cases) {
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
        for k in c
            .cases
            .iter()
            .filter(|k| matches!(k.verdict, Verdict::Fail | Verdict::KnownDeviation))
        {
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
    let mut counts = [0usize; 5];
    for k in r.cells.iter().flat_map(|c| &c.cases) {
        counts[k.verdict as usize] += 1;
    }
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

/// Every case where the kernel disagrees with the spec, grouped by case,
/// with what each cell observed, arch by arch.
pub fn render_deviations(r: &Report) -> String {
    let mut by_case: std::collections::BTreeMap<&str, Vec<(&CellReport, &Case)>> =
        Default::default();
    for c in &r.cells {
        for k in c
            .cases
            .iter()
            .filter(|k| matches!(k.verdict, Verdict::Fail | Verdict::KnownDeviation))
        {
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

/// JUnit XML for CI dashboards: a suite per cell, a testcase per case.
pub fn render_junit(r: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut jr = JReport::new("kmatrix");
    for c in &r.cells {
        let mut suite = TestSuite::new(c.cell.name.clone());
        if c.status != CellStatus::Ok {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(format!("cell {:?}: {}", c.status, c.status_detail));
            st.set_description(c.console_excerpt.clone());
            suite.add_test_case(TestCase::new("cell", st));
        }
        for k in &c.cases {
            let status = match k.verdict {
                Verdict::Pass => TestCaseStatus::success(),
                Verdict::KnownDeviation => {
                    let mut s = TestCaseStatus::success();
                    s.set_description(format!(
                        "known deviation: expected {}, observed {}; {}",
                        k.expected, k.observed, k.detail
                    ));
                    s
                }
                Verdict::Skip => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(k.detail.clone());
                    s
                }
                Verdict::Fail | Verdict::Error => {
                    let kind = if k.verdict == Verdict::Fail {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(format!("expected {}, observed {}", k.expected, k.observed));
                    s.set_description(k.detail.clone());
                    s
                }
            };
            let mut tc = TestCase::new(k.id.clone(), status);
            tc.set_classname(c.cell.name.clone());
            suite.add_test_case(tc);
        }
        jr.add_test_suite(suite);
    }
    jr.to_string().unwrap_or_default()
}

/// KTAP (Documentation/dev-tools/ktap.rst): a subtest per cell.
pub fn render_ktap(r: &Report) -> String {
    let mut s = String::from("KTAP version 1\n");
    let _ = writeln!(s, "1..{}", r.cells.len());
    for (i, c) in r.cells.iter().enumerate() {
        let _ = writeln!(s, "    KTAP version 1\n    # Subtest: {}", c.cell.name);
        let _ = writeln!(s, "    1..{}", c.cases.len());
        if c.status != CellStatus::Ok {
            let _ = writeln!(
                s,
                "    # cell {:?}: {}",
                c.status,
                c.status_detail.replace('\n', " ")
            );
        }
        for (j, k) in c.cases.iter().enumerate() {
            let (ok, directive) = match k.verdict {
                Verdict::Pass => ("ok", String::new()),
                Verdict::KnownDeviation => ("ok", format!(" # XFAIL observed {}", k.observed)),
                Verdict::Skip => ("ok", format!(" # SKIP {}", k.detail)),
                Verdict::Fail => ("not ok", String::new()),
                Verdict::Error => ("not ok", String::new()),
            };
            if matches!(k.verdict, Verdict::Fail | Verdict::Error) {
                let _ = writeln!(
                    s,
                    "    # {}: expected {}, observed {} {}",
                    k.id, k.expected, k.observed, k.detail
                );
            }
            let _ = writeln!(s, "    {ok} {} {}{directive}", j + 1, k.id);
        }
        let _ = writeln!(
            s,
            "{} {} {}",
            if c.green() { "ok" } else { "not ok" },
            i + 1,
            c.cell.name
        );
    }
    s
}

/// Joins shard reports into one, in matrix order.
pub fn merge(parts: Vec<Report>) -> Report {
    let mut cells: Vec<CellReport> = Vec::new();
    let mut unfinished = Vec::new();
    for p in parts {
        cells.extend(p.cells);
        unfinished.extend(p.unfinished);
    }
    cells.sort_by_key(|c| c.cell.index);
    cells.dedup_by(|a, b| a.cell.name == b.cell.name);
    unfinished.retain(|n| !cells.iter().any(|c| &c.cell.name == n));
    Report::new(cells, unfinished)
}
