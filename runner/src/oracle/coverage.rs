//! The AIO family's syscalls as the CLI sees them: their numbers, which
//! experiments `--syscalls` selects, and `kmatrix spec` (each clause of a
//! spec with the case ids that check it, or why none can). The verdicts
//! themselves are the oracle's (runner/src/oracle/judges/).

use kmatrix_proto::catalogue::ids;
use std::fmt::Write as _;

use anyhow::{bail, Result};

use crate::spec::cases::{self, Expect, GenericCase};
use crate::spec::{self, Spec};
use kmatrix_proto::syscalls;

/// Patterns for io_setup's experiments of the original probe, which predate
/// the `<syscall>.` naming: one `<first word>.*` per catalogue entry that
/// names no syscall (`setup.*`, `nr.*`, ...), so a new one is selected too.
fn io_setup_patterns() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for x in kmatrix_proto::catalogue::EXPERIMENTS {
        let head = x.id.split('.').next().unwrap_or(x.id);
        let named = head == "enosys" || syscalls::find(head).is_some();
        let p = format!("{head}.*");
        if !named && !v.contains(&p) {
            v.push(p);
        }
    }
    v
}

/// Clauses no case checks, and why (locks need lockdep; some paths need
/// timing the guest cannot arrange).
pub const UNCHECKED: &[(&str, &str, &str, &str)] = &[(
    "*",
    "lock",
    "*",
    "a lock is not observable from user space: checked in debug cells only, where lockdep reports on the console (kernel.splat/<experiment>)",
)];

/// Which experiments `--syscalls` selects, as kmatrix.cases patterns.
pub fn select(cases: Option<String>, syscalls: Option<String>) -> Result<Option<String>> {
    let Some(list) = syscalls else {
        return Ok(cases);
    };
    if cases.is_some() {
        bail!("--cases and --syscalls both select experiments: give one of them");
    }
    let mut pats = vec![ids::ENOSYS_MAP.to_string()];
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if syscalls::find(s).is_none() {
            let known: Vec<&str> = syscalls::AIO.iter().map(|n| n.name).collect();
            bail!(
                "--syscalls: unknown syscall {s:?} (known: {})",
                known.join(", ")
            );
        }
        if s == syscalls::IO_SETUP.name {
            pats.extend(io_setup_patterns());
        }
        pats.push(format!("{s}.*"));
    }
    if pats.len() == 1 {
        bail!("--syscalls: empty list");
    }
    Ok(Some(pats.join(",")))
}

/// The case ids that check `clause` of `syscall`: generic ids (`generated`,
/// `cases::generate` of `s`, made once per spec by the caller) and the
/// oracle's own (`oracle::catalogue()`, ids starting with the syscall, plus
/// io_setup's original ones for io_setup).
pub fn cases_for(s: &Spec, generated: &[GenericCase], kind: &str, name: &str) -> Vec<String> {
    let mut v: Vec<String> = generated
        .iter()
        .filter(|c| c.clause.kind == kind && c.clause.name == name)
        .map(|c| c.id.clone())
        .collect();
    // Errors are also checked by every generic case that expects them.
    if kind == "error" {
        v.extend(
            generated
                .iter()
                .filter(|c| c.expect == Expect::Is(name.to_string()))
                .map(|c| c.id.clone()),
        );
    }
    let key = format!("{kind}:{name}");
    v.extend(
        crate::oracle::catalogue()
            .into_iter()
            .filter(|(_, c)| c.clauses.contains(&key.as_str()))
            .filter(|(_, c)| checks_syscall(c.id, &s.syscall))
            .map(|(_, c)| c.id.to_string()),
    );
    // A constraint between params is checked by their range cases.
    if let Some(c) = s
        .constraints
        .iter()
        .filter(|_| kind == "constraint")
        .find(|c| c.name == name)
    {
        let words: Vec<&str> = c
            .expr
            .split(|ch: char| !ch.is_ascii_alphanumeric() && ch != '_')
            .collect();
        v.extend(
            generated
                .iter()
                .filter(|g| {
                    g.clause.kind == "param"
                        && words.contains(&g.clause.name.as_str())
                        && g.id.contains(".range/")
                })
                .map(|g| g.id.clone()),
        );
    }
    v.sort();
    v.dedup();
    v
}

/// Whether an oracle case id is about `syscall`: ids start with it, except
/// io_setup's original ones (`error.EINVAL.nr_events-zero`), which name no
/// syscall.
pub fn checks_syscall(id: &str, syscall: &str) -> bool {
    match id.split_once('.') {
        Some((head, _)) if syscalls::find(head).is_some() => head == syscall,
        _ => syscall == "io_setup",
    }
}

/// Why a clause has no case, if the spec or UNCHECKED says so.
pub fn unchecked_reason(s: &Spec, kind: &str, name: &str) -> Option<String> {
    if kind == "error" {
        if let Some(e) = s.errors.iter().find(|e| e.name == name) {
            if let Some(u) = &e.untestable {
                return Some(u.clone());
            }
        }
    }
    if kind == "param" {
        if let Some((_, _, why)) = cases::RANGES_BY_HAND
            .iter()
            .find(|(sys, p, _)| *sys == s.syscall && *p == name)
        {
            return Some(why.to_string());
        }
    }
    UNCHECKED
        .iter()
        .find(|(sys, k, n, _)| {
            (*sys == "*" || *sys == s.syscall) && *k == kind && (*n == "*" || *n == name)
        })
        .map(|x| x.3.to_string())
}

pub use crate::spec::SpecOutput;

/// Specs to show: kmatrix's built-in ones, or every spec in `source`
/// (a C file, kernel tree, kapi JSON or debugfs specs-json), optionally
/// only `syscall`'s. Errors of other blocks do not matter when `syscall`
/// is found.
pub fn specs_from(
    source: Option<&std::path::Path>,
    syscall: Option<&str>,
) -> Result<(Vec<spec::source::Loaded>, Vec<String>, Vec<String>)> {
    let Some(path) = source else {
        let all = spec::source::builtin_loaded()?;
        let chosen = all
            .into_iter()
            .filter(|l| syscall.is_none_or(|n| l.spec.syscall == n))
            .collect();
        return Ok((chosen, vec![], vec![]));
    };
    let found = spec::source::load(path)?;
    let mut notes = found.warnings.clone();
    if path.is_dir() {
        notes.push(format!(
            "note: {}: {} files scanned, {} with a KAPI context line parsed",
            path.display(),
            found.files_scanned,
            found.files_parsed
        ));
    }
    let mut errors = found.errors.clone();
    let chosen: Vec<spec::source::Loaded> = found
        .specs
        .iter()
        .filter(|l| syscall.is_none_or(|n| l.spec.syscall == n))
        .cloned()
        .collect();
    if syscall.is_some() && !chosen.is_empty() {
        // The blocks that failed are other syscalls': say so, go on.
        notes.extend(errors.drain(..).map(|e| format!("(other block) {e}")));
    }
    for l in &chosen {
        notes.extend(l.warnings.iter().cloned());
    }
    Ok((chosen, notes, errors))
}

/// `kmatrix spec [--source PATH] [--format json] [SYSCALL]`: the model
/// and, per clause, its case ids.
pub fn spec_command(
    syscall: Option<&str>,
    guest_catalogue: bool,
    source: Option<&std::path::Path>,
    json: bool,
) -> Result<SpecOutput> {
    if guest_catalogue {
        let specs = spec::builtin()?;
        return Ok(SpecOutput {
            stdout: cases::guest_catalogue(&cases::generate_all(&specs)?),
            stderr: String::new(),
            failed: false,
        });
    }
    let (chosen, notes, errors) = specs_from(source, syscall)?;
    let mut stderr = String::new();
    for n in &notes {
        match n.strip_prefix("note: ") {
            Some(n) => writeln!(stderr, "note: {n}"),
            None => writeln!(stderr, "warning: {n}"),
        }
        .ok();
    }
    for e in &errors {
        let _ = writeln!(stderr, "error: {e}");
    }
    if chosen.is_empty() {
        let from = source.map_or("kmatrix's built-in specs".to_string(), |p| {
            p.display().to_string()
        });
        let known: Vec<String> = spec::builtin()?.into_iter().map(|s| s.syscall).collect();
        let _ = match syscall {
            Some(n) if source.is_none() => writeln!(
                stderr,
                "error: no spec for {n:?} (known: {})",
                known.join(", ")
            ),
            Some(n) => writeln!(stderr, "error: no spec for {n:?} in {from}"),
            None => writeln!(stderr, "error: no spec in {from}"),
        };
        return Ok(SpecOutput {
            stdout: String::new(),
            stderr,
            failed: true,
        });
    }
    if json {
        let v: Vec<&spec::source::Loaded> = chosen.iter().collect();
        return Ok(SpecOutput {
            stdout: serde_json::to_string_pretty(&v)? + "\n",
            stderr,
            failed: !errors.is_empty(),
        });
    }
    let mut out = String::new();
    for l in &chosen {
        let s = &l.spec;
        let _ = writeln!(out, "== {} - {}", s.syscall, s.summary);
        let _ = writeln!(out, "source: {}", l.origin);
        if !s.kernel_read.is_empty() {
            let _ = writeln!(out, "kernel read: {}", s.kernel_read);
        }
        let _ = writeln!(out, "contexts: {}", s.context_flags.join(" | "));
        for p in &s.params {
            let range = p
                .range
                .as_ref()
                .map(|(a, b)| format!(" range {a}..{b}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "param {}: {:?} {:?}{range} mask {:?} base {:?} fault {:?}",
                p.name, p.ty, p.flags, p.mask, p.base, p.fault
            );
        }
        if let Some(r) = &s.ret {
            let _ = writeln!(
                out,
                "return: {} {} success {}",
                r.ty,
                r.check_type,
                r.success_value
                    .as_ref()
                    .map_or("(not given)".to_string(), |v| v.to_string())
            );
        }
        for e in &s.errors {
            let _ = writeln!(out, "error {}: {}", e.name, e.summary);
        }
        for t in &s.state_trans {
            let _ = writeln!(out, "state-trans {}: {} -> {}", t.name, t.from, t.to);
        }
        // Case ids need kmatrix's hints for this syscall over this spec.
        let hinted = if l.origin.author == spec::source::Author::Kmatrix {
            Ok(s.clone())
        } else {
            spec::hints::apply_builtin(s.clone())
        };
        let s = match hinted {
            Ok(h) => h,
            Err(e) => {
                let _ = writeln!(out, "hints: {e}");
                let _ = writeln!(out);
                continue;
            }
        };
        if s.syscall == "io_setup" {
            let _ = writeln!(
                out,
                "(io_setup's clauses are also judged by the io_setup oracle; see tests/spec_coverage.rs)"
            );
        }
        let generated = match cases::generate(&s) {
            Ok(g) => g,
            Err(e) => {
                let _ = writeln!(out, "cases: {e}");
                let _ = writeln!(out);
                continue;
            }
        };
        let _ = writeln!(out, "clauses:");
        for c in s.clauses() {
            let ids = cases_for(&s, &generated, c.kind, &c.name);
            let why = unchecked_reason(&s, c.kind, &c.name);
            let tail = match (ids.is_empty(), why) {
                (false, _) => ids.join(", "),
                (true, Some(w)) => format!("no case: {w}"),
                (true, None) => "NO CASE".into(),
            };
            let _ = writeln!(out, "  {} {}: {}", c.kind, c.name, tail);
        }
        out.push('\n');
    }
    Ok(SpecOutput {
        stdout: out,
        stderr,
        failed: !errors.is_empty(),
    })
}

#[cfg(test)]
mod tests;
