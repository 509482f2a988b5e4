//! Test suites run in every cell (`--exec`): each program's output, sent
//! whole by the guest, is read here the way its suite writes it (plain exit
//! status, LTP, TAP, KTAP) and turned into a case plus one sub-case per
//! result line. Parsing lives on the host so that it can be tested without
//! a VM. Also the `--share` mount checks.

use crate::oracle::{errno_name, Case, Verdict};
use crate::stream::Stream;
use kmatrix_proto::obs::key;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a program's result is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExecFormat {
    /// Exit status 0 passes, anything else fails.
    #[default]
    Plain,
    /// LTP: exit bits TFAIL 1, TBROK 2, TWARN 4, TCONF 32; a sub-case per
    /// TPASS/TFAIL/TBROK/TWARN/TCONF line.
    Ltp,
    /// TAP 13/14: a sub-case per test point.
    Tap,
    /// KTAP (kselftest, KUnit): a sub-case per test point, subtests nested.
    Ktap,
}

/// One `--exec`: the command line and how to read its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub cmd: String,
    pub format: ExecFormat,
}

/// Pairs `--exec` values with `--exec-format` values: one format for all,
/// one per program (in order), or none (plain).
pub fn programs(cmds: &[String], formats: &[ExecFormat]) -> anyhow::Result<Vec<Program>> {
    let format_of = |i: usize| {
        match formats.len() {
        0 => Ok(ExecFormat::Plain),
        1 => Ok(formats[0]),
        n if n == cmds.len() => Ok(formats[i]),
        n => anyhow::bail!(
            "--exec-format given {n} times for {} --exec programs: give it once (for all) or once per program",
            cmds.len()
        ),
    }
    };
    cmds.iter()
        .enumerate()
        .map(|(i, c)| {
            if c.split_whitespace().next().is_none() {
                anyhow::bail!("--exec {c:?}: empty command");
            }
            Ok(Program {
                cmd: c.clone(),
                format: format_of(i)?,
            })
        })
        .collect()
}

/// The guest's record id for the i-th program.
pub fn record_id(i: usize) -> String {
    kmatrix_proto::catalogue::exec_id(i)
}

/// The guest arguments' words for the programs, `env` and `cwd` (how the
/// protocol crate writes them), to measure what they cost.
pub fn cmdline_words(programs: &[Program], env: &[String], cwd: &Option<String>) -> Vec<String> {
    use kmatrix_proto::args::{exec_hex, GuestArgs};
    let a = GuestArgs {
        exec_hex: programs.iter().map(|p| exec_hex(&p.cmd)).collect(),
        env_hex: env.iter().map(|e| exec_hex(e)).collect(),
        cwd_hex: cwd.as_deref().map(exec_hex),
        ..GuestArgs::default()
    };
    let base = GuestArgs::default().to_words();
    a.to_words()
        .into_iter()
        .filter(|w| !base.contains(w))
        .collect()
}

/// The kernel keeps 2048 bytes of command line (COMMAND_LINE_SIZE on x86_64
/// and arm64); kmatrix's own words and the console take a few hundred.
pub const CMDLINE_BUDGET: usize = 1400;

/// Refuses `--exec`/`--env`/`--cwd` that would not fit on the command line,
/// and malformed `--env`.
pub fn check_exec_options(
    programs: &[Program],
    env: &[String],
    cwd: &Option<String>,
) -> anyhow::Result<()> {
    for e in env {
        match e.split_once('=') {
            Some((k, _)) if !k.is_empty() && !k.contains(char::is_whitespace) => {}
            _ => anyhow::bail!("--env {e:?}: expected KEY=VALUE"),
        }
    }
    if let Some(d) = cwd {
        if !d.starts_with('/') {
            anyhow::bail!("--cwd {d:?}: must be an absolute path in the guest");
        }
    }
    let len: usize = cmdline_words(programs, env, cwd)
        .iter()
        .map(|w| w.len() + 1)
        .sum();
    if len > CMDLINE_BUDGET {
        anyhow::bail!(
            "--exec/--env/--cwd need {len} bytes of kernel command line (hex-encoded), more than the {CMDLINE_BUDGET} available: use fewer or shorter programs"
        );
    }
    Ok(())
}

/// The raw record of each program (argv, status, output), for the report.
pub fn exec_records(stream: &Stream, n: usize) -> Vec<Value> {
    (0..n)
        .filter_map(|i| {
            stream
                .experiment(&record_id(i))
                .or_else(|| (i == 0).then(|| stream.experiment("exec")).flatten())
                .map(|e| e.obs.clone())
        })
        .collect()
}

/// Case ids: `exec:PROGRAM`, with `#N` when a program runs more than once.
fn base_ids(programs: &[Program]) -> Vec<String> {
    let names: Vec<&str> = programs
        .iter()
        .map(|p| p.cmd.split_whitespace().next().unwrap_or(&p.cmd))
        .collect();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            if names.iter().filter(|m| *m == n).count() > 1 {
                format!("exec:{n}#{}", i + 1)
            } else {
                format!("exec:{n}")
            }
        })
        .collect()
}

/// A sub-case or case result before it becomes a `Case`.
#[derive(Debug, Clone, PartialEq)]
struct Point {
    name: String,
    observed: String,
    verdict: Verdict,
    /// The lines that say why (for anything but a pass).
    evidence: Vec<String>,
}

/// Every `--exec` program's case and sub-cases for one cell.
pub fn judge_exec(stream: &Stream, programs: &[Program]) -> Vec<Case> {
    let ids = base_ids(programs);
    let mut out = Vec::new();
    for (i, (p, id)) in programs.iter().zip(ids).enumerate() {
        let exp = record_id(i);
        // Streams from before repeatable --exec named the one record "exec".
        let rec = stream
            .experiment(&exp)
            .or_else(|| (i == 0).then(|| stream.experiment("exec")).flatten());
        out.extend(judge_one(
            &id,
            &exp,
            p.format,
            rec.map(|e| (&e.fate, &e.obs)),
        ));
    }
    out
}

fn expected_text(f: ExecFormat) -> &'static str {
    match f {
        ExecFormat::Plain => "exit:0",
        ExecFormat::Ltp => "exit:0 (no TFAIL/TBROK/TWARN/TCONF)",
        ExecFormat::Tap | ExecFormat::Ktap => "exit:0, every test point ok",
    }
}

fn judge_one(id: &str, exp: &str, f: ExecFormat, rec: Option<(&String, &Value)>) -> Vec<Case> {
    let case = |observed: String, verdict: Verdict, detail: String| Case {
        id: id.to_string(),
        experiment: exp.to_string(),
        expected: expected_text(f).into(),
        observed,
        verdict,
        detail,
    };
    let Some((fate, o)) = rec else {
        return vec![case(
            "-".into(),
            Verdict::Error,
            "no exec record from the guest".into(),
        )];
    };
    let text = |k: &str| o.get(k).and_then(Value::as_str);
    let Some(status) = text(key::STATUS) else {
        return vec![case(
            "-".into(),
            Verdict::Error,
            "exec record without a status field".into(),
        )];
    };
    if fate != "exited" || status == "not-run" {
        let why = text(key::ERROR).unwrap_or("the guest's exec step did not finish");
        return vec![case(status.into(), Verdict::Error, why.into())];
    }
    let (Some(stdout), Some(stderr)) = (text(key::STDOUT), text(key::STDERR)) else {
        return vec![case(
            status.into(),
            Verdict::Error,
            "exec record without its stdout/stderr fields".into(),
        )];
    };
    let mut notes = Vec::new();
    for (k, kept) in [(key::STDOUT, stdout), (key::STDERR, stderr)] {
        let total = o.get(format!("{k}_bytes")).and_then(Value::as_u64);
        if let Some(total) = total.filter(|t| *t > kept.len() as u64) {
            notes.push(format!(
                "{k} cut to its first {} bytes of {total}: results past that are not judged",
                kept.len(),
            ));
        }
    }
    let exit = status
        .strip_prefix("exit:")
        .and_then(|n| n.parse::<i64>().ok());
    let (main, subs) = match f {
        ExecFormat::Plain => (plain(status, exit, stdout, stderr), vec![]),
        ExecFormat::Ltp => ltp(status, exit, stdout, stderr),
        ExecFormat::Tap | ExecFormat::Ktap => tap(status, exit, stdout, f == ExecFormat::Ktap),
    };
    let mut ev = main.evidence;
    let mut observed = main.observed;
    // Killed by a signal: named, with what the kernel said about it first.
    if let Some(sig) = status.strip_prefix("signal:").and_then(|n| n.parse().ok()) {
        let name = signal_name(sig);
        observed = format!("{name} ({status})");
        let kernel = o.get(key::KERNEL_LOG).and_then(Value::as_array);
        let lines = kernel.into_iter().flatten().filter_map(Value::as_str);
        let mut first = vec![format!("killed by {name}")];
        first.extend(lines.map(|l| format!("kernel: {l}")));
        ev.splice(0..0, first);
    }
    ev.extend(notes);
    let mut cases = vec![case(observed, main.verdict, ev.join("\n"))];
    for s in subs {
        cases.push(Case {
            id: format!("{id}/{}", s.name),
            experiment: exp.to_string(),
            expected: match f {
                ExecFormat::Ltp => "TPASS".into(),
                _ => "ok".into(),
            },
            observed: s.observed,
            verdict: s.verdict,
            detail: s.evidence.join("\n"),
        });
    }
    cases
}

/// A signal's name: the numbering of x86_64 and arm64 (asm-generic) for
/// 1-31 is the same; others are named by number.
pub fn signal_name(sig: i64) -> String {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match usize::try_from(sig).ok().and_then(|s| s.checked_sub(1)) {
        Some(i) if i < NAMES.len() => NAMES[i].to_string(),
        _ => format!("signal {sig}"),
    }
}

/// The last `n` non-empty lines of `text`.
fn tail(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// A program's own result (the case, not a sub-case).
fn result(status: &str, verdict: Verdict, evidence: Vec<String>) -> Point {
    Point {
        name: String::new(),
        observed: status.into(),
        verdict,
        evidence,
    }
}

/// Timeouts are not results: the program never finished.
fn unfinished(status: &str) -> Option<Point> {
    (status == "timeout").then(|| {
        let why = "the program did not finish within the guest's exec timeout";
        result(status, Verdict::Error, vec![why.into()])
    })
}

fn plain(status: &str, exit: Option<i64>, stdout: &str, stderr: &str) -> Point {
    if let Some(p) = unfinished(status) {
        return p;
    }
    let verdict = if exit == Some(0) {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    // What a failing program says last is usually why it failed.
    let evidence = match verdict {
        Verdict::Pass => vec![],
        _ if !stderr.trim().is_empty() => tail(stderr, 5),
        _ => tail(stdout, 5),
    };
    result(status, verdict, evidence)
}

// ---- LTP ----------------------------------------------------------------

const TFAIL: i64 = 1;
const TBROK: i64 = 2;
const TWARN: i64 = 4;
const TCONF: i64 = 32;

/// `file.c:LINE: TTYPE: message` -> (location, type, message).
fn ltp_line(l: &str) -> Option<(&str, &str, &str)> {
    let l = l.trim_start();
    let (file, rest) = l.split_once(':')?;
    let (line, rest) = rest.split_once(": ")?;
    if file.is_empty() || file.contains(' ') || !line.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (kind, msg) = rest.split_once(':')?;
    if !matches!(
        kind,
        "TPASS" | "TFAIL" | "TBROK" | "TWARN" | "TCONF" | "TINFO" | "TDEBUG"
    ) {
        return None;
    }
    Some((&l[..file.len() + 1 + line.len()], kind, msg.trim()))
}

fn ltp_verdict(kind: &str) -> Verdict {
    match kind {
        "TPASS" => Verdict::Pass,
        "TCONF" => Verdict::Skip,
        "TBROK" => Verdict::Error,
        _ => Verdict::Fail,
    }
}

fn ltp(status: &str, exit: Option<i64>, stdout: &str, stderr: &str) -> (Point, Vec<Point>) {
    // LTP reports on stderr; a test may print its own lines on stdout too.
    let lines: Vec<&str> = stderr.lines().chain(stdout.lines()).collect();
    let mut subs: Vec<Point> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut current: Option<usize> = None;
    // TINFO lines since the last result: the "above" a result may point to.
    let mut infos: Vec<&str> = Vec::new();
    for l in &lines {
        match ltp_line(l) {
            Some((loc, kind, msg)) if kind != "TINFO" && kind != "TDEBUG" => {
                seen.push(loc.to_string());
                let n = seen.iter().filter(|s| *s == loc).count();
                let name = if n > 1 {
                    format!("{loc}#{n}")
                } else {
                    loc.to_string()
                };
                let verdict = ltp_verdict(kind);
                let mut evidence = Vec::new();
                if verdict != Verdict::Pass {
                    // e.g. "Aborting due to unsuitable kernel config, see above!"
                    if msg.contains("above") {
                        let from = infos.len().saturating_sub(4);
                        evidence.extend(infos[from..].iter().map(|i| i.trim().to_string()));
                    }
                    evidence.push(l.trim().to_string());
                }
                infos.clear();
                subs.push(Point {
                    name,
                    observed: kind.into(),
                    verdict,
                    evidence,
                });
                current = Some(subs.len() - 1);
            }
            Some((loc, _, _)) => {
                // The harness's banner (version, kernel, timeout) is never why.
                if !loc.starts_with("tst_test.c:") && !loc.starts_with("tst_tmpdir.c:") {
                    infos.push(l);
                }
                current = None;
            }
            // A message that goes on over several lines (e.g. a diff).
            None if l.trim().is_empty() || l.starts_with("Summary:") => current = None,
            None => {
                if let Some(p) = current.and_then(|i| subs.get_mut(i)) {
                    if p.verdict != Verdict::Pass && p.evidence.len() < 6 {
                        p.evidence.push(l.trim_end().to_string());
                    }
                }
            }
        }
    }
    if let Some(p) = unfinished(status) {
        return (p, subs);
    }
    let why = |want: &[&str]| -> Vec<String> {
        subs.iter()
            .filter(|p| want.contains(&p.observed.as_str()))
            .flat_map(|p| p.evidence.iter().cloned())
            .take(8)
            .collect()
    };
    let (verdict, mut evidence) = match exit {
        Some(0) => (Verdict::Pass, vec![]),
        Some(e) if (0..64).contains(&e) && e & !(TFAIL | TBROK | TWARN | TCONF) == 0 => {
            if e & (TFAIL | TWARN) != 0 {
                (Verdict::Fail, why(&["TFAIL", "TWARN"]))
            } else if e & TBROK != 0 {
                (Verdict::Error, why(&["TBROK"]))
            } else {
                (Verdict::Skip, why(&["TCONF"]))
            }
        }
        Some(e) => (
            Verdict::Error,
            vec![format!(
                "exit {e} is not an LTP result (bits TFAIL 1, TBROK 2, TWARN 4, TCONF 32)"
            )],
        ),
        // Killed by a signal: LTP's own harness did not get to report.
        None => (Verdict::Fail, vec![]),
    };
    if verdict != Verdict::Pass && evidence.is_empty() {
        evidence = tail(stderr, 5);
    }
    (result(status, verdict, evidence), subs)
}

// ---- TAP / KTAP -----------------------------------------------------------

/// One test point line: `ok 1 - name # SKIP why`.
struct TapLine<'a> {
    ok: bool,
    name: &'a str,
    directive: Option<(String, &'a str)>,
}

fn tap_line(l: &str) -> Option<TapLine<'_>> {
    let (ok, rest) = if let Some(r) = l.strip_prefix("not ok") {
        (false, r)
    } else {
        (true, l.strip_prefix("ok")?)
    };
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    let rest = rest.trim_start();
    let num_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (num, rest) = rest.split_at(num_end);
    let (desc, directive) = match rest
        .find(" #")
        .or_else(|| rest.find('#').filter(|&i| i == 0))
    {
        Some(i) => {
            let d = rest[i..].trim_start_matches([' ', '#']).trim();
            let (word, why) = d.split_once(char::is_whitespace).unwrap_or((d, ""));
            (&rest[..i], Some((word.to_ascii_uppercase(), why.trim())))
        }
        None => (rest, None),
    };
    let name = desc.trim().trim_start_matches('-').trim();
    Some(TapLine {
        ok,
        name: if name.is_empty() { num } else { name },
        directive,
    })
}

/// A test point with its nested subtests.
struct Node {
    point: Point,
    children: Vec<Node>,
}

fn tap(status: &str, exit: Option<i64>, stdout: &str, ktap: bool) -> (Point, Vec<Point>) {
    let mut problems: Vec<String> = Vec::new();
    // (indent, node) of results not yet claimed by a parent.
    let mut open: Vec<(usize, Node)> = Vec::new();
    let mut diag: Vec<String> = Vec::new();
    let mut plan: Option<(usize, usize)> = None;
    let mut version = false;
    let mut in_yaml = false;
    for raw in stdout.lines() {
        let indent = raw.len() - raw.trim_start().len();
        let l = raw.trim();
        if in_yaml {
            in_yaml = l != "...";
            if let Some((_, n)) = open.last_mut() {
                if n.point.verdict != Verdict::Pass && n.point.evidence.len() < 10 {
                    n.point.evidence.push(l.to_string());
                }
            }
            continue;
        }
        if l.starts_with("KTAP version") || l.starts_with("TAP version") {
            version |= indent == 0;
        } else if let Some(p) = l.strip_prefix("1..") {
            if indent == 0 {
                let n = p.split_whitespace().next().and_then(|n| n.parse().ok());
                plan = n.map(|n| (n, 0));
            }
        } else if l.starts_with("Bail out!") {
            problems.push(l.to_string());
        } else if l == "---" {
            in_yaml = true;
        } else if let Some(t) = tap_line(l) {
            let (verdict, observed) = match (&t.directive, t.ok) {
                (Some((d, _)), _) if d == "SKIP" => (Verdict::Skip, "skip".to_string()),
                (Some((d, _)), false) if d == "TODO" || d == "XFAIL" => {
                    (Verdict::KnownDeviation, format!("not ok # {d}"))
                }
                (_, true) => (Verdict::Pass, "ok".into()),
                (_, false) => (Verdict::Fail, "not ok".into()),
            };
            let mut evidence = Vec::new();
            if verdict != Verdict::Pass {
                evidence.append(&mut diag);
                evidence.push(l.to_string());
            }
            diag.clear();
            let split = open
                .iter()
                .position(|(i, _)| *i > indent)
                .unwrap_or(open.len());
            let children = open.split_off(split).into_iter().map(|(_, n)| n).collect();
            if indent == 0 {
                if let Some((_, seen)) = plan.as_mut() {
                    *seen += 1;
                }
            }
            open.push((
                indent,
                Node {
                    point: Point {
                        name: t.name.replace('/', "_"),
                        observed,
                        verdict,
                        evidence,
                    },
                    children,
                },
            ));
        } else if l.starts_with('#') && !l.starts_with("# Subtest:") {
            diag.push(l.to_string());
            if diag.len() > 8 {
                diag.remove(0);
            }
        }
    }
    let mut subs = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (_, n) in open {
        flatten(n, "", &mut subs, &mut names);
    }
    if ktap && !version {
        problems.push("no \"KTAP version 1\" line: not KTAP output".into());
    }
    match plan {
        Some((want, seen)) if want != seen => {
            problems.push(format!("plan 1..{want} but {seen} top-level test points"))
        }
        None if subs.is_empty() => problems.push("no test points and no plan in stdout".into()),
        _ => {}
    }
    if let Some(p) = unfinished(status) {
        return (p, subs);
    }
    let failed: Vec<String> = subs
        .iter()
        .filter(|p| p.verdict == Verdict::Fail)
        .flat_map(|p| p.evidence.iter().cloned())
        .take(10)
        .collect();
    let all_skipped = !subs.is_empty() && subs.iter().all(|p| p.verdict == Verdict::Skip);
    // kselftest's KSFT_SKIP is 4.
    let (verdict, evidence) = if !problems.is_empty() {
        (Verdict::Error, problems)
    } else if !failed.is_empty() {
        (Verdict::Fail, failed)
    } else if exit == Some(0) {
        (
            if all_skipped {
                Verdict::Skip
            } else {
                Verdict::Pass
            },
            vec![],
        )
    } else if exit == Some(4) && all_skipped {
        (Verdict::Skip, vec![])
    } else {
        (
            Verdict::Fail,
            vec![format!(
                "every test point passed but the program ended with {status}"
            )],
        )
    };
    (result(status, verdict, evidence), subs)
}

fn flatten(n: Node, prefix: &str, out: &mut Vec<Point>, names: &mut Vec<String>) {
    let mut name = format!("{prefix}{}", n.point.name);
    names.push(name.clone());
    let k = names.iter().filter(|x| **x == name).count();
    if k > 1 {
        name = format!("{name}#{k}");
    }
    let child_prefix = format!("{name}/");
    out.push(Point { name, ..n.point });
    for c in n.children {
        flatten(c, &child_prefix, out, names);
    }
}

// ---- shares ---------------------------------------------------------------

/// Each `--share`: mounted, and writable exactly when `:rw` was asked for.
pub fn judge_shares(stream: &Stream, shares: &[crate::vm::share::Share]) -> Vec<Case> {
    let mut out = Vec::new();
    for (i, sh) in shares.iter().enumerate() {
        let exp = format!("share.mount/kmx{i}");
        let expected = if sh.rw {
            "mounted, writable"
        } else {
            "mounted, write fails with EROFS"
        };
        let mut case = |observed: String, verdict: Verdict, detail: &str| {
            out.push(Case {
                id: format!("share:{}", sh.guest_path),
                experiment: exp.clone(),
                expected: expected.into(),
                observed,
                verdict,
                detail: detail.into(),
            })
        };
        let Some(e) = stream.experiment(&exp) else {
            case("-".into(), Verdict::Error, "no mount record from the guest");
            continue;
        };
        let num = |k: &str| e.obs.get(k).and_then(Value::as_i64);
        let observed = match (num(key::MOUNT_RET), num(key::WRITE_RET)) {
            (Some(0), Some(0)) => "mounted, writable".to_string(),
            (Some(0), Some(_)) => match num(key::WRITE_ERRNO) {
                Some(30) => "mounted, write fails with EROFS".to_string(),
                Some(e) => format!("mounted, write fails with {}", errno_name(e)),
                None => {
                    case(
                        "-".into(),
                        Verdict::Error,
                        "mount record without write_errno",
                    );
                    continue;
                }
            },
            (Some(0), None) => {
                case("-".into(), Verdict::Error, "mount record without write_ret");
                continue;
            }
            (Some(_), _) => match num(key::MOUNT_ERRNO) {
                Some(e) => format!("mount failed: {}", errno_name(e)),
                None => {
                    case(
                        "-".into(),
                        Verdict::Error,
                        "mount record without mount_errno",
                    );
                    continue;
                }
            },
            (None, _) => {
                case("-".into(), Verdict::Error, "mount record without mount_ret");
                continue;
            }
        };
        let verdict = if observed == expected {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        case(observed, verdict, "");
    }
    out
}

#[cfg(test)]
mod tests;
