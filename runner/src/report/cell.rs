//! A cell's report: the constructor, the status classification from how
//! the VM ended and what the stream holds, the checks that the guest was
//! the cell's, and the verdicts. run.rs only schedules and boots.

use crate::matrix::kconfig;
use crate::matrix::Cell;
use crate::oracle::hello;
use crate::oracle::{self, CellFacts};
use crate::report::{CellReport, CellStatus};
use crate::stream::{self, Completeness, Stream};
use crate::vm::{Exit, Outcome};
use anyhow::Result;
use std::path::Path;

/// What a run adds to every cell besides the matrix parameters.
#[derive(Debug, Clone, Default)]
pub struct CellOptions {
    /// Guest experiment patterns (kmatrix.cases).
    pub cases: Option<String>,
    pub shares: Vec<crate::vm::share::Share>,
    /// Programs (and arguments) from a share, run in order after the probe.
    pub exec: Vec<crate::oracle::suites::Program>,
    /// KEY=VALUE environment and working directory for those programs.
    pub env: Vec<String>,
    pub cwd: Option<String>,
    /// Extra kernel command-line words, passed as they are.
    pub append: Vec<String>,
    /// The specs to judge against when not kmatrix's own (--kernel-src
    /// with KAPI blocks, --spec-source).
    pub specs: Option<std::sync::Arc<crate::spec::source::SpecSet>>,
}

impl CellOptions {
    /// The --cases patterns, one per comma-separated item.
    pub fn case_patterns(&self) -> Vec<String> {
        (self.cases.iter().flat_map(|c| c.split(',')))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// The report of a cell before (or instead of) its boot: `status` and why.
pub fn empty_report(
    cell: &Cell,
    artifacts: &Path,
    status: CellStatus,
    detail: String,
) -> CellReport {
    CellReport {
        cell: cell.clone(),
        kernel: None,
        accel: None,
        accel_reason: String::new(),
        status,
        status_detail: detail,
        exit: None,
        start_ms: 0,
        run_ms: 0,
        timings: Default::default(),
        artifacts: artifacts.to_path_buf(),
        hello: None,
        sysctls: vec![],
        guest_logs: vec![],
        stream: None,
        stream_errors: vec![],
        console_excerpt: String::new(),
        cases: vec![],
        execs: vec![],
    }
}

/// A cell's console log as text (None: there is none), read once for the
/// panic check, the excerpt, the hang note and the kernel reports.
fn read_console(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The last `lines` lines within the console's last 64 KiB.
fn console_tail(text: &str, lines: usize) -> String {
    let mut start = text.len().saturating_sub(64 * 1024);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let all: Vec<&str> = text[start..].lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// How the cell ended, from the VM's exit and the stream's completeness.
pub fn classify(cell: &Cell, exit: &Exit, s: &Stream, console_panic: bool) -> (CellStatus, String) {
    match (exit, s.completeness()) {
        (Exit::Panicked { how }, _) => (CellStatus::Panic, how.clone()),
        (_, _) if console_panic => (CellStatus::Panic, "kernel panic on the console".into()),
        // Stalled mid-record: the guest's stream is cut, whoever stopped it.
        (Exit::TimedOut { stopped_by }, Completeness::Incomplete) if s.truncated_at.is_some() => (
            CellStatus::Incomplete,
            format!(
                "results stream stalled mid-record at offset {} for longer than the {} s timeout (stopped by {stopped_by})",
                s.truncated_at.map_or_else(String::new, |at| at.to_string()),
                cell.timeout_s
            ),
        ),
        (Exit::TimedOut { stopped_by }, _) => (
            CellStatus::Timeout,
            format!(
                "no power-off within {} s (stopped by {stopped_by})",
                cell.timeout_s
            ),
        ),
        (Exit::QemuFailed { status, stderr }, _) => (
            CellStatus::Error,
            format!("QEMU {status}: {}", stderr.lines().last().unwrap_or("")),
        ),
        (Exit::PoweredOff, Completeness::Complete) => (CellStatus::Ok, String::new()),
        (Exit::PoweredOff, Completeness::Incomplete) => (
            CellStatus::Incomplete,
            match s.truncated_at {
                Some(at) => format!(
                    "results stream cut off mid-record at offset {at} ({} bytes, no end record)",
                    s.bytes
                ),
                None if s.bytes == 0 => {
                    "results stream is empty: the guest powered off without writing a record"
                        .into()
                }
                None => format!(
                    "results stream has no end record: the guest powered off after the record ending at offset {}",
                    s.bytes
                ),
            },
        ),
        (Exit::PoweredOff, Completeness::ProtocolError) => (
            CellStatus::ProtocolError,
            s.errors.first().cloned().unwrap_or_default(),
        ),
    }
}

/// Fills `rep` from a booted VM's outcome and its stream: status, the
/// checks that the guest was the cell's, and every verdict.
pub fn finish(
    rep: &mut CellReport,
    cell: &Cell,
    outcome: &Outcome,
    s: &Stream,
    opts: &CellOptions,
) {
    rep.stream = Some(s.completeness());
    rep.stream_errors = s.errors.clone();
    rep.hello = s.hello.clone();
    rep.sysctls = s.sysctls.clone();
    rep.guest_logs = s.logs.clone();
    let console = read_console(&outcome.console);
    let text = console.as_deref().unwrap_or_default();
    let console_panic = console_tail(text, 200).contains("Kernel panic");
    (rep.status, rep.status_detail) = classify(cell, &outcome.exit, s, console_panic);
    if rep.status != CellStatus::Ok {
        rep.console_excerpt = console_tail(text, 25);
    }
    // A hang names what was running and what the kernel said last.
    if matches!(outcome.exit, Exit::TimedOut { .. }) {
        let note = oracle::splat::hang_note(console.as_deref(), 4);
        rep.status_detail = format!("{}: {note}", rep.status_detail);
        let regs = outcome.console.with_file_name("vcpus-at-timeout.txt");
        if regs.exists() {
            rep.status_detail
                .push_str(&format!("; every vCPU's registers: {}", regs.display()));
        }
    }
    // The guest must be the one the cell asked for, or it tests something else.
    if let Some(h) = &s.hello {
        let bad = hello::mismatches(cell, &cell.kernel_config, h);
        if rep.status == CellStatus::Ok && !bad.is_empty() {
            rep.status = CellStatus::Error;
            rep.status_detail = format!("the guest is not the cell's: {}", bad.join("; "));
        }
    }
    // Sysctls the cell asked for must have taken, or the cell tests the wrong thing.
    let aio = cell_has_aio(cell, s);
    if aio {
        if let Some(bad) = s.sysctls.iter().find(|x| !x.ok) {
            rep.status = CellStatus::Error;
            rep.status_detail = format!(
                "sysctl {}={} failed in the guest (errno {})",
                bad.key, bad.value, bad.errno
            );
        }
    }
    // ... and must read back as the cell's value (a complete stream only:
    // a cut one is already the cell's error).
    let readback = hello::sysctl_mismatches(cell, aio, &s.sysctls);
    if rep.status == CellStatus::Ok && !readback.is_empty() {
        rep.status = CellStatus::Error;
        rep.status_detail = format!("the guest is not the cell's: {}", readback.join("; "));
    }
    // Judge whatever arrived, even from a broken cell: partial evidence is kept.
    rep.cases = judge_cell(cell, s, opts.cases.as_deref(), &opts.exec);
    if let Some(set) = &opts.specs {
        oracle::against::apply(&mut rep.cases, set, aio);
    }
    judge_console(&mut rep.cases, cell, s, console.as_deref());
    rep.cases
        .extend(crate::oracle::suites::judge_shares(s, &opts.shares));
    // The user's program's own words belong in the report, not just a verdict.
    rep.execs = crate::oracle::suites::exec_records(s, opts.exec.len());
}

/// Every verdict for one cell's stream: spec cases, known deviations, exec.
pub fn judge_cell(
    cell: &Cell,
    s: &stream::Stream,
    cases: Option<&str>,
    exec: &[crate::oracle::suites::Program],
) -> Vec<oracle::Case> {
    let selected = cases.map(|c| c.split(',').map(str::to_string).collect());
    let facts = CellFacts {
        aio: cell_has_aio(cell, s),
        selected,
        arch: cell.arch.name.clone(),
        mem_mb: cell.mem_mb,
        cpus: cell.cpus,
        eventfd: cell.kernel_config.eventfd.known(),
        block: cell.kernel_config.block.known(),
        abi: cell.abi,
        compat: cell.kernel_config.compat.known(),
        time32: cell.kernel_config.time32.known(),
    };
    let mut out = oracle::judge(&facts, s);
    skip_unknown_config(cell, &mut out);
    out.extend(crate::oracle::suites::judge_exec(s, exec));
    out
}

/// Judges a saved report again from each cell's raw results.jsonl, with
/// this build's oracle and known deviations (no VM is booted).
pub fn rejudge(mut r: crate::report::Report) -> Result<crate::report::Report> {
    // Against the specs the report names (a tree's blocks stay the tree's);
    // a report from before reports named them was judged against spec/.
    let set = crate::spec::source::SpecSet {
        specs: r.specs.clone(),
    };
    let against = (!r.specs.is_empty() && !set.is_builtin()).then_some(set);
    for c in &mut r.cells {
        let path = c.artifacts.join("results.jsonl");
        if !path.exists() {
            continue; // a cell that never booted has nothing to judge
        }
        let s = stream::read_file(&path)?;
        // Reports from before cells carried their config: the build cache
        // keeps it beside the image.
        if c.cell.kernel_config.source.as_os_str().is_empty() {
            if let Some(k) = &c.kernel {
                c.cell.kernel_config = kconfig::KernelConfig::for_image(&k.image)?;
            }
        } else if c.cell.kernel_config.eventfd == kconfig::Opt::Unknown
            && c.cell.kernel_config.source.is_file()
        {
            // Reports from before CONFIG_EVENTFD was read: the .config is still there.
            c.cell.kernel_config = kconfig::KernelConfig::read(&c.cell.kernel_config.source)?;
        }
        let kept: Vec<_> = c
            .cases
            .iter()
            .filter(|k| k.id.starts_with("exec:") || k.id.starts_with("share:"))
            .cloned()
            .collect();
        c.cases = judge_cell(&c.cell, &s, None, &[]);
        if let Some(set) = &against {
            oracle::against::apply(&mut c.cases, set, cell_has_aio(&c.cell, &s));
        }
        let console = read_console(&c.artifacts.join("console.log"));
        judge_console(&mut c.cases, &c.cell, &s, console.as_deref());
        c.cases.extend(kept);
    }
    Ok(r)
}

/// The kernel's reports on the console, judged per experiment (last: they
/// override what the experiment's cases said).
fn judge_console(cases: &mut Vec<oracle::Case>, cell: &Cell, s: &Stream, console: Option<&str>) {
    let cond = oracle::known::Conditions {
        arch: cell.arch.name.clone(),
        kernel: s
            .hello
            .as_ref()
            .and_then(|h| oracle::known::major_minor(&h.uname_release)),
        aio_max_nr: s.hello.as_ref().and_then(|h| h.aio_max_nr),
        mem_mb: cell.mem_mb,
        cpus: cell.cpus,
    };
    oracle::splat::judge_console(cases, console, s, &cond);
}

/// CONFIG_AIO of the cell's kernel, from its config. When that is unknown
/// (a prebuilt image without a .config) the observed fs.aio-nr stands in
/// as the model for the other cases, and judge_cell skips the CONFIG_AIO
/// checks, which would otherwise check the observation against itself.
pub fn cell_has_aio(cell: &Cell, s: &stream::Stream) -> bool {
    cell.kernel_config
        .aio
        .known()
        .unwrap_or_else(|| s.hello.as_ref().is_some_and(|h| h.aio_nr_present))
}

/// Turns the CONFIG_AIO cases to skips when the cell's config is unknown.
fn skip_unknown_config(cell: &Cell, cases: &mut [oracle::Case]) {
    if cell.kernel_config.aio.known().is_some() {
        return;
    }
    for c in cases
        .iter_mut()
        .filter(|c| c.id.starts_with("constraint.CONFIG_AIO."))
    {
        c.verdict = oracle::Verdict::Skip;
        c.detail = "the kernel's config is unknown (a prebuilt image without a .config beside it), so whether it has CONFIG_AIO cannot be checked".into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::kconfig::{KernelConfig, Opt};
    use kmatrix_proto::record as wire;

    fn hello_line(aio_sysctls: bool) -> String {
        let h = wire::Hello {
            arch: "x86_64".into(),
            uname_release: "6.1.0".into(),
            uname_machine: "x86_64".into(),
            ncpus_online: Some(2),
            ncpus_possible: Some(2),
            page_size: Some(4096),
            mem_total_kb: Some(490_000),
            aio_nr_present: aio_sysctls,
            aio_max_nr_present: aio_sysctls,
            aio_max_nr: aio_sysctls.then_some(65536),
            debugfs: true,
            fail_nth: true,
            mode: kmatrix_proto::args::Mode::Probe,
        };
        h.to_json()
    }

    fn stream(aio_sysctls: bool) -> Stream {
        let end = wire::end_json(0);
        stream::parse(format!("{}\n{end}\n", hello_line(aio_sysctls)).as_bytes())
    }

    fn cell(aio: Opt) -> Cell {
        let mut c =
            crate::matrix::Axes::default_matrix(vec![
                crate::matrix::arch::by_name("x86_64").unwrap()
            ])
            .cells()[0]
                .clone();
        c.kernel_config = KernelConfig {
            aio,
            ..KernelConfig::default()
        };
        c
    }

    fn verdict(cell: &Cell, s: &Stream) -> oracle::Verdict {
        let cases = judge_cell(cell, s, None, &[]);
        let c = cases
            .iter()
            .find(|c| c.id == "constraint.CONFIG_AIO.sysctls")
            .expect("the CONFIG_AIO case");
        c.verdict
    }

    #[test]
    fn config_aio_comes_from_the_config_not_the_sysctl() {
        // The config says no AIO, the guest shows the sysctls: a failure,
        // which trusting the observation would have called a pass.
        assert_eq!(
            verdict(&cell(Opt::NotSet), &stream(true)),
            oracle::Verdict::Fail
        );
        assert_eq!(
            verdict(&cell(Opt::Set), &stream(true)),
            oracle::Verdict::Pass
        );
        assert!(!cell_has_aio(&cell(Opt::NotSet), &stream(true)));
    }

    #[test]
    fn unknown_config_skips_the_config_aio_checks_and_says_why() {
        for observed in [true, false] {
            let cases = judge_cell(&cell(Opt::Unknown), &stream(observed), None, &[]);
            let c: Vec<_> = cases
                .iter()
                .filter(|c| c.id.starts_with("constraint.CONFIG_AIO."))
                .collect();
            assert!(!c.is_empty());
            for c in c {
                assert_eq!(c.verdict, oracle::Verdict::Skip, "{c:?}");
                assert!(c.detail.contains("config is unknown"), "{c:?}");
            }
        }
    }

    #[test]
    fn status_classification() {
        let c = cell(Opt::Set);
        let done = stream(true);
        assert_eq!(
            classify(&c, &Exit::PoweredOff, &done, false).0,
            CellStatus::Ok
        );
        assert_eq!(
            classify(&c, &Exit::PoweredOff, &done, true).0,
            CellStatus::Panic
        );
        let cut = stream::parse(b"{\"v\":1");
        assert_eq!(
            classify(&c, &Exit::PoweredOff, &cut, false).0,
            CellStatus::Incomplete
        );
        let garbage = stream::parse(b"garbage\n");
        let (st, why) = classify(&c, &Exit::PoweredOff, &garbage, false);
        assert_eq!(st, CellStatus::ProtocolError);
        assert!(why.starts_with("offset 0:"), "{why}");
    }

    #[test]
    fn a_stall_mid_record_and_a_power_off_without_end_name_the_offset() {
        let c = cell(Opt::Set);
        // A whole hello record, and no end record.
        let text = format!("{}\n", hello_line(true));
        let no_end = stream::parse(text.as_bytes());
        let (st, why) = classify(&c, &Exit::PoweredOff, &no_end, false);
        assert_eq!(st, CellStatus::Incomplete);
        assert!(why.contains(&format!("offset {}", text.len())), "{why}");
        let stalled = stream::parse(format!("{text}{{\"v\":1,\"ty").as_bytes());
        let timeout = Exit::TimedOut {
            stopped_by: "qmp quit".into(),
        };
        let (st, why) = classify(&c, &timeout, &stalled, false);
        assert_eq!(st, CellStatus::Incomplete, "{why}");
        assert!(
            why.contains(&format!("stalled mid-record at offset {}", text.len())),
            "{why}"
        );
        // A hang after whole records stays a timeout.
        assert_eq!(
            classify(&c, &timeout, &no_end, false).0,
            CellStatus::Timeout
        );
    }

    /// Issue 20: a cell whose guest read back another fs.aio-max-nr than
    /// the cell asked for is an error naming both values.
    #[test]
    fn a_guest_with_another_aio_max_nr_is_a_cell_error() {
        let mut c = cell(Opt::Set);
        c.aio_max_nr = Some(1);
        let d = tempfile::tempdir().unwrap();
        let outcome = Outcome {
            exit: Exit::PoweredOff,
            run_ms: 0,
            start_ms: 0,
            spawned_us: 0,
            console: d.path().join("console.log"),
            results: d.path().join("results.jsonl"),
            events: vec![],
            timings: Default::default(),
        };
        let run = |readback: &str| {
            let sys = wire::Sysctl {
                key: "fs.aio-max-nr".into(),
                value: "1".into(),
                ok: true,
                errno: 0,
                readback: Some(readback.into()),
            };
            let text = format!(
                "{}\n{}\n{}\n",
                hello_line(true).replace("\"aio_max_nr\":65536", "\"aio_max_nr\":1"),
                sys.to_json(),
                wire::end_json(0)
            );
            let s = stream::parse(text.as_bytes());
            let mut rep = empty_report(&c, d.path(), CellStatus::Ok, String::new());
            finish(&mut rep, &c, &outcome, &s, &CellOptions::default());
            (rep.status, rep.status_detail)
        };
        assert_eq!(run("1").0, CellStatus::Ok, "{}", run("1").1);
        let (st, why) = run("65536");
        assert_eq!(st, CellStatus::Error);
        assert!(why.contains("65536") && why.contains("\"1\""), "{why}");
    }
}
