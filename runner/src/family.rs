//! The AIO family's syscalls as the CLI sees them: their numbers, which
//! experiments `--syscalls` selects, and `kmatrix spec` (each clause of a
//! spec with the case ids that check it, or why none can). The verdicts
//! themselves are the oracle's (runner/src/oracle/judges/).

use std::fmt::Write as _;

use anyhow::{bail, Result};

use crate::generic::{self, Expect};
use crate::spec::{self, Spec};
use crate::syscalls::NUMBERS;

/// Patterns for io_setup's experiments of the original probe, which predate
/// the `<syscall>.` naming: one `<first word>.*` per catalogue entry that
/// names no syscall (`setup.*`, `nr.*`, ...), so a new one is selected too.
fn io_setup_patterns() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for x in kmatrix_proto::catalogue::EXPERIMENTS {
        let head = x.id.split('.').next().unwrap_or(x.id);
        let named = head == "enosys" || NUMBERS.iter().any(|n| n.0 == head);
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
    "a lock is not observable from user space (it would take lockdep in the guest kernel)",
)];

/// Which experiments `--syscalls` selects, as kmatrix.cases patterns.
pub fn select(cases: Option<String>, syscalls: Option<String>) -> Result<Option<String>> {
    let Some(list) = syscalls else {
        return Ok(cases);
    };
    if cases.is_some() {
        bail!("--cases and --syscalls both select experiments: give one of them");
    }
    let mut pats = vec!["enosys.map".to_string()];
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !NUMBERS.iter().any(|(n, _, _)| *n == s) {
            let known: Vec<&str> = NUMBERS.iter().map(|n| n.0).collect();
            bail!(
                "--syscalls: unknown syscall {s:?} (known: {})",
                known.join(", ")
            );
        }
        if s == "io_setup" {
            pats.extend(io_setup_patterns());
        }
        pats.push(format!("{s}.*"));
    }
    if pats.len() == 1 {
        bail!("--syscalls: empty list");
    }
    Ok(Some(pats.join(",")))
}

/// The case ids that check `clause` of `syscall`: generic ids (from the
/// spec) and the oracle's own (`oracle::catalogue()`, ids starting with the
/// syscall, plus io_setup's original ones for io_setup).
pub fn cases_for(s: &Spec, kind: &str, name: &str) -> Vec<String> {
    let generated = generic::generate(s).unwrap_or_default();
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
        Some((head, _)) if NUMBERS.iter().any(|n| n.0 == head) => head == syscall,
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
        if let Some((_, _, why)) = generic::RANGES_BY_HAND
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

/// `kmatrix spec [SYSCALL]`: the model and, per clause, its case ids.
pub fn spec_command(syscall: Option<&str>, guest_catalogue: bool) -> Result<String> {
    let specs = spec::builtin()?;
    if guest_catalogue {
        return Ok(generic::guest_catalogue(&generic::generate_all(&specs)?));
    }
    let chosen: Vec<&Spec> = specs
        .iter()
        .filter(|s| syscall.is_none_or(|n| s.syscall == n))
        .collect();
    if chosen.is_empty() {
        let known: Vec<&str> = specs.iter().map(|s| s.syscall.as_str()).collect();
        bail!(
            "no spec for {:?} (known: {})",
            syscall.unwrap_or(""),
            known.join(", ")
        );
    }
    let mut out = String::new();
    for s in chosen {
        let _ = writeln!(out, "== {} - {}", s.syscall, s.summary);
        let _ = writeln!(out, "kernel read: {}", s.kernel_read);
        for p in &s.params {
            let _ = writeln!(
                out,
                "param {}: {:?} {:?} range {:?} mask {:?} base {:?} fault {:?}",
                p.name, p.ty, p.flags, p.range, p.mask, p.base, p.fault
            );
        }
        for e in &s.errors {
            let _ = writeln!(out, "error {}: {}", e.name, e.summary);
        }
        if s.syscall == "io_setup" {
            let _ = writeln!(
                out,
                "(io_setup's clauses are also judged by the io_setup oracle; see tests/spec_coverage.rs)"
            );
        }
        let _ = writeln!(out, "clauses:");
        for c in s.clauses() {
            let ids = cases_for(s, c.kind, &c.name);
            let why = unchecked_reason(s, c.kind, &c.name);
            let tail = match (ids.is_empty(), why) {
                (false, _) => ids.join(", "),
                (true, Some(w)) => format!("no case: {w}"),
                (true, None) => "NO CASE".into(),
            };
            let _ = writeln!(out, "  {} {}: {}", c.kind, c.name, tail);
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
