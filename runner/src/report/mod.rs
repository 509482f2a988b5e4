//! Layer 6: the report. One record per cell (written to disk as soon as the
//! cell ends); each output format has its own file here (JSON is serde).

pub mod abi;
pub mod cell;
pub mod compare;

use crate::matrix::Cell;
use crate::oracle::{Case, Verdict};
use crate::stream::{Completeness, Hello, Sysctl};
use crate::vm::{Accel, Exit, Timings};
use serde::{Deserialize, Serialize};
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
    /// What each `--exec` reported: argv, status, stdout, stderr (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub execs: Vec<serde_json::Value>,
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

impl CellReport {
    /// The boot: cont to the guest's hello record (init reached), or to the
    /// first console byte if no hello came.
    pub fn boot_ms(&self) -> Option<(u64, &'static str)> {
        match (self.timings.first_result_ms, self.timings.first_console_ms) {
            (Some(h), _) if self.hello.is_some() => Some((h, "hello")),
            (_, Some(c)) => Some((c, "console")),
            _ => None,
        }
    }
}

/// Whether a case comes from `--exec`/`--share` rather than the spec.
pub fn is_suite_case(id: &str) -> bool {
    id.starts_with("exec:") || id.starts_with("share:")
}

/// How a cell name spells aio-max-nr = 2^64-1.
const MAX_U64_PART: &str = "max18446744073709551615";

/// Column titles that say what differs between `cells`: the parts of their
/// names (`Cell::parts`: arch, config, maxN, cpuN, memN) that are not the
/// same in all of them, never two alike; and the parts they share.
pub fn column_titles(cells: &[&crate::matrix::Cell]) -> (Vec<String>, String) {
    let owned: Vec<Vec<String>> = cells.iter().map(|c| c.parts()).collect();
    let parts: Vec<Vec<&str>> = owned
        .iter()
        .map(|p| p.iter().map(String::as_str).collect())
        .collect();
    let n = parts.iter().map(Vec::len).max().unwrap_or(0);
    let differs = |i: usize| parts.iter().any(|p| p.get(i) != parts[0].get(i));
    let varying: Vec<usize> = (0..n).filter(|&i| differs(i)).collect();
    let common: Vec<&str> = (0..n)
        .filter(|&i| !differs(i))
        .filter_map(|i| parts.first().and_then(|p| p.get(i).copied()))
        .collect();
    let mut titles: Vec<String> = parts
        .iter()
        .map(|p| {
            let t: Vec<&str> = varying
                .iter()
                .filter_map(|&i| p.get(i).copied())
                .map(|x| if x == MAX_U64_PART { "max2^64-1" } else { x })
                .collect();
            if t.is_empty() {
                p.join("/")
            } else {
                t.join("/")
            }
        })
        .collect();
    // Same name twice (a merged report with a repeated cell): number them.
    for i in 0..titles.len() {
        let dup = titles[..i].iter().filter(|t| **t == titles[i]).count();
        if dup > 0 {
            titles[i] = format!("{}#{}", titles[i], dup + 1);
        }
    }
    (titles, common.join("/"))
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
    /// This run's milestones (`crate::util::milestones`), CLOCK_MONOTONIC µs:
    /// what `kmatrix bench` splits a cell's time with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<(String, u64)>,
    /// Per syscall, the spec the cases were judged against: path, file
    /// hash, upstream or kmatrix (and the model, for `compare`).
    #[serde(default)]
    pub specs: Vec<crate::spec::source::SpecUsed>,
    /// Spec clauses this run's cells could not check, and why (e.g. no
    /// debug cell: no lockdep, might_sleep or kmemleak report to read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
}

impl Report {
    /// How many cases of each verdict, indexed by `Verdict as usize`.
    pub fn counts(&self) -> [usize; 5] {
        let mut n = [0usize; 5];
        for k in self.cells.iter().flat_map(|c| &c.cases) {
            n[k.verdict as usize] += 1;
        }
        n
    }

    pub fn new(cells: Vec<CellReport>, unfinished: Vec<String>) -> Self {
        let no_debug = !cells.is_empty() && cells.iter().all(|c| c.cell.variant.is_plain());
        let unchecked = match no_debug {
            true => vec![crate::oracle::splat::unchecked_without_debug()],
            false => vec![],
        };
        Report {
            unchecked,
            version: REPORT_VERSION,
            kmatrix: env!("CARGO_PKG_VERSION").into(),
            rules: crate::oracle::RULES
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            cells,
            unfinished,
            write_errors: vec![],
            milestones: vec![],
            // kmatrix's own unless the run says otherwise (run_matrix).
            specs: crate::spec::source::SpecSet::builtin()
                .map(|s| s.specs)
                .unwrap_or_default(),
        }
    }

    pub fn green(&self) -> bool {
        self.unfinished.is_empty()
            && self.write_errors.is_empty()
            && !self.cells.is_empty()
            && self.cells.iter().all(CellReport::green)
    }
}

pub mod html;
pub mod junit;
pub mod kcidb;
pub mod ktap;
pub mod table;

pub use junit::render_junit;
pub use ktap::render_ktap;
pub use table::{render_deviations, render_table};

/// A verdict as a short word for tables and pages.
pub fn short(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "FAIL",
        Verdict::KnownDeviation => "known",
        Verdict::Skip => "skip",
        Verdict::Error => "ERROR",
    }
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
