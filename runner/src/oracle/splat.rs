//! The kernel's own reports on a cell's console ("splats": lockdep,
//! might_sleep, KASAN, UBSAN, WARN/BUG, list corruption, hung tasks, RCU
//! stalls, kmemleak) as verdicts. The guest writes a start and an end
//! marker for each experiment to /dev/kmsg, so they reach the console in
//! the kernel's own order; a report between an experiment's markers is
//! that experiment's, anything else belongs to the boot.

use super::known::{known_deviations, Conditions};
use super::{Case, Verdict};
use crate::stream::Stream;

/// What the guest writes to /dev/kmsg around each experiment (the
/// contract with guest-init/src/kmsg.rs).
pub const START: &str = "kmatrix: start ";
pub const END: &str = "kmatrix: end ";

/// The experiment named for reports outside every experiment.
pub const BOOT: &str = "boot";

/// The guest's kmemleak scan after the probe (debug kernels).
pub const KMEMLEAK: &str = "kmemleak";

/// Case id prefix: `kernel.splat/<experiment>`.
pub const CASE: &str = "kernel.splat/";

/// Most lines of one report kept (a lockdep report is ~60).
const MAX_LINES: usize = 120;
/// Most call-trace frames shown as evidence.
const MAX_FRAMES: usize = 16;

/// One kernel report as it appeared on the console.
#[derive(Debug, Clone, PartialEq)]
pub struct Splat {
    /// lockdep, might-sleep, KASAN, UBSAN, WARNING, BUG, oops,
    /// list-corruption, debug-objects, hung-task, rcu-stall, kmemleak.
    pub kind: &'static str,
    /// The report's first line, without the printk timestamp.
    pub first: String,
    /// Call-trace frames, innermost first.
    pub frames: Vec<String>,
    /// The experiment that was running; None: outside every experiment.
    pub experiment: Option<String>,
    /// The last experiment that ended before a report outside them.
    pub after: Option<String>,
    /// 1-based console line of `first`.
    pub line: usize,
}

impl Splat {
    /// The reliable frames, or the guessed ones where the unwinder only
    /// guessed (x86's UNWINDER_GUESS marks every frame "?").
    fn trace(&self) -> Vec<&str> {
        let sure: Vec<&str> = (self.frames.iter())
            .filter(|f| !f.starts_with('?'))
            .map(String::as_str)
            .collect();
        match sure.is_empty() {
            true => self.frames.iter().map(String::as_str).collect(),
            false => sure,
        }
    }

    /// The evidence a case shows: the first line and the call trace.
    pub fn evidence(&self) -> String {
        let mut s = format!("{} report at console line {}", self.kind, self.line);
        if let (None, Some(a)) = (&self.experiment, &self.after) {
            s.push_str(&format!(", after experiment {a} ended"));
        }
        let trace = self.trace();
        if trace.is_empty() {
            s.push_str("; no call trace on the console");
        } else {
            s.push_str("; call trace: ");
            s.push_str(&trace[..trace.len().min(MAX_FRAMES)].join(" < "));
        }
        s
    }
}

/// Functions of the AIO code (fs/aio.c) as they appear in call traces.
const AIO_FRAMES: &[&str] = &[
    "aio",
    "ioctx",
    "io_setup",
    "io_submit",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_cancel",
    "lookup_ioctx",
    "kill_ioctx",
];

/// Whether a report counts: every kind does, except kmemleak's objects
/// whose allocation did not pass through the AIO code (kmemleak's false
/// positives from boot are not the AIO family's leaks).
pub fn counts(s: &Splat) -> bool {
    s.kind != "kmemleak"
        || s.frames.iter().any(|f| {
            let name = f.trim_start_matches('?');
            AIO_FRAMES.iter().any(|a| name.contains(a))
        })
}

/// What the console says about the experiments and the kernel's reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Console {
    pub splats: Vec<Splat>,
    /// Experiments with a start marker, in order, and whether they ended.
    pub marked: Vec<(String, bool)>,
    /// The experiment whose start marker has no end (a hang or a kill).
    pub running: Option<String>,
}

/// The text after a printk timestamp ("[   12.345678] "), if any.
fn body(line: &str) -> &str {
    let l = line.trim_end_matches('\r');
    if let Some(rest) = l.strip_prefix('[') {
        if let Some(i) = rest.find("] ") {
            let ts = &rest[..i];
            if ts.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
                return &rest[i + 2..];
            }
        }
    }
    l
}

/// The kind of report a line opens, if it opens one.
fn header(b: &str) -> Option<&'static str> {
    let t = b.trim_start();
    let starts = |p: &str| t.starts_with(p);
    if t.contains("BUG: KASAN:") {
        Some("KASAN")
    } else if t.contains("BUG: sleeping function called from invalid context") {
        Some("might-sleep")
    } else if starts("UBSAN:") {
        Some("UBSAN")
    } else if starts("unreferenced object 0x") {
        Some("kmemleak")
    } else if starts("INFO: task ") && t.contains("blocked for more than") {
        Some("hung-task")
    } else if t.contains("INFO: rcu_") && t.contains("stall") {
        Some("rcu-stall")
    } else if starts("list_") && t.contains("corruption") {
        Some("list-corruption")
    } else if starts("ODEBUG:") {
        Some("debug-objects")
    } else if starts("WARNING: CPU:") {
        Some("WARNING")
    } else if starts("WARNING: ") || starts("INFO: trying to register non-static key") {
        // Lockdep's own reports (circular/recursive locking, inconsistent
        // state, suspicious RCU usage, bad unlock balance, ...).
        Some("lockdep")
    } else if starts("BUG: ") || t.contains(": BUG: ") || starts("kernel BUG at") {
        Some("BUG")
    } else if starts("Unable to handle kernel")
        || starts("Internal error:")
        || starts("general protection fault")
        || starts("Oops:")
    {
        Some("oops")
    } else {
        None
    }
}

/// A "WARNING: CPU:" or "kernel BUG at" right after a report that prints
/// its own message first (WARN(cond, fmt)) belongs to that report.
fn continues(open: &Splat, kind: &str, lines_since: usize) -> bool {
    matches!(kind, "WARNING" | "BUG")
        && lines_since <= 3
        && matches!(open.kind, "list-corruption" | "debug-objects" | "UBSAN")
}

/// A call-trace frame: "func+0x12/0x40", from x86's " func+0x.." (" ?
/// func+0x.." when the unwinder only guessed it: marked with a leading
/// "?"), arm64's " func+0x..", kmemleak's "[<ffff..>] func+0x..", or a bare
/// address where the kernel has no symbols.
fn frame(b: &str) -> Option<String> {
    let t = b.trim();
    if t.is_empty() || t.starts_with('<') {
        return None;
    }
    if let Some(g) = t.strip_prefix("? ") {
        return frame(g).map(|f| format!("?{f}"));
    }
    let t = match t.strip_prefix("[<") {
        Some(r) => r.split_once(">] ").map_or(r, |x| x.1),
        None => t,
    };
    let word = t.split_whitespace().next()?;
    if word.contains("+0x") || word.starts_with("0x") {
        Some(word.to_string())
    } else {
        None
    }
}

/// Reads a console log: the experiments' markers and every report.
pub fn parse(text: &str) -> Console {
    let mut c = Console::default();
    let mut running: Option<String> = None;
    let mut last_ended: Option<String> = None;
    // The open report: its splat, lines kept, and whether we are in its trace.
    let mut open: Option<(Splat, usize, bool)> = None;
    let close = |c: &mut Console, open: &mut Option<(Splat, usize, bool)>| {
        if let Some((s, _, _)) = open.take() {
            c.splats.push(s);
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let b = body(raw);
        if let Some(at) = b.find(START) {
            close(&mut c, &mut open);
            let id = b[at + START.len()..].trim().to_string();
            c.marked.push((id.clone(), false));
            running = Some(id);
            continue;
        }
        if let Some(at) = b.find(END) {
            close(&mut c, &mut open);
            let id = b[at + END.len()..].split_whitespace().next().unwrap_or("");
            if let Some(m) = c.marked.iter_mut().rev().find(|m| m.0 == id) {
                m.1 = true;
            }
            last_ended = Some(id.to_string());
            running = None;
            continue;
        }
        if b.contains("---[ end trace") || b.contains("---[ end Kernel panic") {
            close(&mut c, &mut open);
            continue;
        }
        if let Some(kind) = header(b) {
            if let Some((s, n, _)) = &mut open {
                if continues(s, kind, *n) {
                    *n += 1;
                    continue;
                }
            }
            close(&mut c, &mut open);
            open = Some((
                Splat {
                    kind,
                    first: b.trim().to_string(),
                    frames: Vec::new(),
                    experiment: running.clone(),
                    after: last_ended.clone(),
                    line: i + 1,
                },
                1,
                // kmemleak's trace has no "Call Trace:" header of its own.
                false,
            ));
            continue;
        }
        let Some((s, n, in_trace)) = &mut open else {
            continue;
        };
        *n += 1;
        let t = b.trim();
        if t == "Call Trace:"
            || t == "Call trace:"
            || t == "backtrace:"
            || t.starts_with("backtrace (crc")
        {
            *in_trace = true;
        } else if *in_trace {
            if let Some(f) = frame(b) {
                if s.frames.len() < 4 * MAX_FRAMES {
                    s.frames.push(f);
                }
            } else if !b.starts_with(' ') && !b.starts_with('\t') && !t.starts_with('<') {
                // The trace ended; lockdep may print another one later.
                *in_trace = false;
            }
        }
        if *n >= MAX_LINES {
            close(&mut c, &mut open);
        }
    }
    close(&mut c, &mut open);
    c.running = running;
    c
}

/// The reports a known deviation accepts: an entry for case
/// `kernel.splat/<experiment>` whose `splat` text is in the report's first
/// line. Returns the entry's id and reason.
pub type Accepts<'a> = &'a dyn Fn(&str, &Splat) -> Option<String>;

/// Adds `kernel.splat/<experiment>` for every experiment the console marked
/// (and `kernel.splat/boot`), and fails the cases of every experiment
/// during which the kernel reported something. `console` is None when the
/// cell has no console log (then the splat cases are errors saying so).
pub fn apply(cases: &mut Vec<Case>, console: Option<&Console>, ran: &[String], accepts: Accepts) {
    let Some(con) = console else {
        cases.push(Case {
            id: format!("{CASE}{BOOT}"),
            experiment: BOOT.into(),
            expected: "no kernel report on the console".into(),
            observed: "-".into(),
            verdict: Verdict::Error,
            detail: "the cell has no console log to read kernel reports from".into(),
        });
        return;
    };
    let mut ids: Vec<String> = vec![BOOT.to_string()];
    ids.extend(con.marked.iter().map(|m| m.0.clone()));
    for r in ran {
        if !ids.contains(r) {
            ids.push(r.clone());
        }
    }
    for id in ids {
        let marked = id == BOOT || con.marked.iter().any(|m| m.0 == id);
        let here: Vec<&Splat> = con
            .splats
            .iter()
            .filter(|s| s.experiment.as_deref().unwrap_or(BOOT) == id)
            .filter(|s| counts(s))
            .collect();
        let case_id = format!("{CASE}{id}");
        let expected = match id.as_str() {
            KMEMLEAK => "no unreferenced object allocated through the AIO code after the probe (io_destroy and exit release everything)",
            _ => "no kernel report on the console",
        };
        let mut case = Case {
            id: case_id.clone(),
            experiment: id.clone(),
            expected: expected.into(),
            observed: "none".into(),
            verdict: Verdict::Pass,
            detail: String::new(),
        };
        if !marked {
            case.verdict = Verdict::Error;
            case.observed = "-".into();
            case.detail = format!(
                "the experiment ran but the console has no \"{START}{id}\" marker: kernel reports during it cannot be attributed"
            );
            cases.push(case);
            continue;
        }
        if let Some(first) = here.first() {
            // Every report excused, or the case fails: the first excuse is shown.
            let excused: Option<Vec<String>> = here.iter().map(|s| accepts(&case_id, s)).collect();
            case.observed = first.first.clone();
            case.detail = here
                .iter()
                .map(|s| format!("{}: {}", s.first, s.evidence()))
                .collect::<Vec<_>>()
                .join(" | ");
            if let Some(why) = excused.as_ref().and_then(|e| e.first()) {
                case.verdict = Verdict::KnownDeviation;
                case.detail = format!("{why}; {}", case.detail);
            } else {
                case.verdict = Verdict::Fail;
                fail_experiment(cases, &id, first);
            }
        }
        cases.push(case);
    }
}

/// An experiment during which the kernel reported something: its passing
/// and known cases FAIL with the report as evidence (a known deviation
/// excuses an outcome, not a kernel report); skips and errors keep their
/// verdict and gain the report in their detail.
fn fail_experiment(cases: &mut [Case], exp: &str, s: &Splat) {
    for c in cases.iter_mut().filter(|c| c.experiment == exp) {
        let note = format!("kernel report during {exp}: {}; {}", s.first, s.evidence());
        match c.verdict {
            Verdict::Pass | Verdict::KnownDeviation => {
                c.verdict = Verdict::Fail;
                c.detail = match c.detail.is_empty() {
                    true => note,
                    false => format!("{note}; was: {}", c.detail),
                };
            }
            Verdict::Fail | Verdict::Skip | Verdict::Error => {
                c.detail = match c.detail.is_empty() {
                    true => note,
                    false => format!("{}; {note}", c.detail),
                };
            }
        }
    }
}

/// Spec clauses only a debug kernel can check, as (kind, name; `*`: every
/// name of the kind) and how: user space cannot see a lock or whether a
/// call may sleep, but lockdep and might_sleep report on the console.
pub const DEBUG_CLAUSES: &[(&str, &str, &str)] = &[
    ("lock", "*", "checked in debug cells only: no lockdep report (lock order, lock held in the wrong context, suspicious RCU use) while the experiments that call this syscall ran (kernel.splat/<experiment>)"),
    ("context-flags", "KAPI_CTX_SLEEPABLE", "checked in debug cells only: the call sleeps (io_destroy always waits for RCU), so a might_sleep or lockdep report while the experiments that call this syscall ran means it slept where it must not (kernel.splat/<experiment>)"),
];

/// How a debug cell checks a clause, if only a debug cell can.
pub fn debug_reason(kind: &str, name: &str) -> Option<&'static str> {
    DEBUG_CLAUSES
        .iter()
        .find(|(k, n, _)| *k == kind && (*n == "*" || *n == name))
        .map(|x| x.2)
}

/// For a run without a debug cell: what it could not check, for the report.
pub fn unchecked_without_debug() -> String {
    "no debug cell in this run (--variant debug): lock clauses, KAPI_CTX_SLEEPABLE and leaks found by kmemleak were not checked".into()
}

/// Judges a cell's console log (None: there is none) with the shipped
/// known deviations.
pub fn judge_console(cases: &mut Vec<Case>, console: Option<&str>, s: &Stream, cond: &Conditions) {
    let con = console.map(parse);
    // The probe's experiments are marked; share mounts are not experiments.
    let ran: Vec<String> = (s.experiments.iter())
        .filter(|e| {
            kmatrix_proto::catalogue::EXPERIMENTS
                .iter()
                .any(|c| c.id == e.id)
        })
        .map(|e| e.id.clone())
        .collect();
    let accepts = |case: &str, sp: &Splat| {
        known_deviations()
            .iter()
            .find(|k| k.accepts_splat(case, &sp.first, cond))
            .map(|k| format!("known {}: {}", k.id, k.reason))
    };
    let from = cases.len();
    apply(cases, con.as_ref(), &ran, &accepts);
    // A cell that did not finish never printed what came after the cut: a
    // clean console so far proves nothing (a report seen still fails).
    if s.completeness() != crate::stream::Completeness::Complete {
        for c in cases[from..]
            .iter_mut()
            .filter(|c| c.verdict == Verdict::Pass)
        {
            c.verdict = Verdict::Error;
            c.detail = "the cell did not finish (its results stream is incomplete): no kernel report up to the cut, and nothing is known after it".into();
        }
    }
}

/// For a cell that did not end: the experiment the console says was running
/// and the kernel's last lines, for the cell's status.
pub fn hang_note(console: Option<&str>, lines: usize) -> String {
    let Some(text) = console else {
        return "the cell has no console log".into();
    };
    let con = parse(text);
    let last: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = last[last.len().saturating_sub(lines)..].join(" | ");
    let running = match (&con.running, con.marked.last()) {
        (Some(r), _) => format!("experiment {r} was running (its start marker has no end)"),
        (None, Some((m, _))) => format!("no experiment was running; the last to end was {m}"),
        (None, None) => "no experiment had started (no marker on the console)".into(),
    };
    format!("{running}; the console's last lines: {last}")
}

#[cfg(test)]
#[path = "splat_tests.rs"]
mod tests;
