//! Every clause of the spec, of every kind, is checked by a case of the
//! oracle (each case declares its clauses in `oracle::catalogue()`) or is
//! listed below as not checkable from user space, with the reason. The
//! clauses are parsed out of spec/io_setup-kapi-spec.txt, so a spec that
//! grows a clause turns this red until it is covered or explained.
//!
//! `clauses()` is the only spec-format knowledge here: swap it for a general
//! KAPI parser (runner/src/spec.rs) by producing the same `kind:name` keys.

use kmatrix::oracle::catalogue;
use std::collections::BTreeSet;

/// Clause kinds of the KAPI format (long-desc and since-version included:
/// they carry claims too).
const KINDS: &[&str] = &[
    "long-desc",
    "context-flags",
    "param",
    "return",
    "error",
    "lock",
    "signal",
    "side-effect",
    "state-trans",
    "constraint",
    "capability",
    "examples",
    "notes",
    "since-version",
];

/// A paragraph's key: its first four words.
fn para_key(text: &str) -> String {
    text.split_whitespace()
        .take(4)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `kind:name` for every clause. Names: param/lock/signal/state-trans/
/// constraint/capability by their title, error by errno, side-effect by its
/// target, return by its success value's field ("success"), context-flags
/// one per flag, examples one per io_setup(...) call, notes and long-desc one
/// per paragraph (first four words).
fn clauses(spec: &str) -> Vec<String> {
    // The kernel-doc block: " * tag: value" at top level, deeper lines are
    // fields or continuation text.
    let lines: Vec<&str> = spec
        .lines()
        .filter_map(|l| l.trim_start_matches('+').strip_prefix(" *"))
        .collect();
    let mut blocks: Vec<(String, String, Vec<&str>)> = Vec::new();
    for l in &lines {
        let top = l.strip_prefix(' ').filter(|r| !r.starts_with(' '));
        let tagged = top
            .and_then(|r| r.split_once(':'))
            .filter(|(t, _)| KINDS.contains(t));
        match tagged {
            Some((t, v)) => blocks.push((t.to_string(), v.trim().to_string(), Vec::new())),
            None => {
                if let Some(b) = blocks.last_mut() {
                    b.2.push(l.trim());
                }
            }
        }
    }
    let mut out = Vec::new();
    for (kind, value, body) in blocks {
        let field = |f: &str| {
            body.iter()
                .find_map(|l| l.strip_prefix(f).and_then(|r| r.strip_prefix(':')))
                .map(|r| r.trim().to_string())
        };
        let mut text = vec![value.clone()];
        text.extend(body.iter().map(|s| s.to_string()));
        match kind.as_str() {
            "side-effect" => out.push(format!(
                "side-effect:{}",
                field("target").expect("side-effect without target")
            )),
            "return" => {
                assert!(field("success").is_some(), "return clause without success");
                out.push("return:success".into())
            }
            "error" => out.push(format!("error:{}", value.split(',').next().unwrap().trim())),
            "context-flags" => out.extend(
                value
                    .split('|')
                    .map(|f| format!("context-flags:{}", f.trim())),
            ),
            "examples" => {
                for t in &text {
                    let mut rest = t.as_str();
                    while let Some(i) = rest.find("io_setup(") {
                        let end = rest[i..].find(')').expect("unclosed example") + i + 1;
                        out.push(format!("examples:{}", &rest[i..end]));
                        rest = &rest[end..];
                    }
                }
            }
            "notes" | "long-desc" => {
                for para in text.split(|l| l.is_empty()) {
                    if !para.is_empty() {
                        out.push(format!("{kind}:{}", para_key(&para.join(" "))));
                    }
                }
            }
            _ => out.push(format!("{kind}:{value}")),
        }
    }
    out
}

/// Clauses no user-space observation can check, and why.
const NOT_CHECKABLE: &[(&str, &str)] = &[
    ("lock:aio_nr_lock", "a kernel-internal spinlock; a broken one would show as aio-nr drift, which every aio-nr check would catch, but the lock itself is invisible"),
    ("lock:mm->ioctx_lock", "a kernel-internal spinlock around the ioctx table; not observable from user space"),
    ("lock:ctx->ring_lock", "a kernel-internal mutex held during ring setup against page migration; not observable from user space"),
    ("context-flags:KAPI_CTX_SLEEPABLE", "whether the syscall may sleep is not observable from user space (every caller is a process that may sleep)"),
    ("notes:Historical note: A race", "names a fix in the kernel's history (86b62a2cb4fc); the race window cannot be hit reliably from user space and the claim is about older kernels"),
    ("notes:io_uring (since Linux 5.1)", "advice to applications, not behaviour of io_setup"),
    ("notes:There is no glibc", "about user-space libraries (glibc, libaio), not the kernel"),
    ("since-version:2.5", "kmatrix boots 6.x kernels only"),
];

#[test]
fn the_parser_sees_every_clause_kind() {
    let found = clauses(include_str!("../spec/io_setup-kapi-spec.txt"));
    let kinds: BTreeSet<&str> = found.iter().map(|c| c.split_once(':').unwrap().0).collect();
    for k in KINDS.iter().filter(|k| **k != "capability") {
        assert!(kinds.contains(k), "no {k} clause parsed: {found:#?}");
    }
    for c in [
        "param:nr_events",
        "param:ctxp",
        "return:success",
        "error:EINTR",
        "lock:mmap_lock",
        "signal:SIGKILL",
        "side-effect:aio_nr (global counter)",
        "state-trans:system AIO resources",
        "constraint:Memory for ring buffer",
        "context-flags:KAPI_CTX_PROCESS",
        "examples:io_setup(1024, &ctx)",
        "notes:The kernel internally doubles",
        "long-desc:The context is bound",
    ] {
        assert!(found.iter().any(|f| f == c), "{c} not parsed: {found:#?}");
    }
    // capability: the io_setup spec has none; the parser still knows the kind.
    assert_eq!(
        clauses(" * capability: CAP_SYS_ADMIN\n *   desc: x\n"),
        vec!["capability:CAP_SYS_ADMIN"]
    );
}

#[test]
fn every_clause_has_a_case_or_a_reason() {
    let found = clauses(include_str!("../spec/io_setup-kapi-spec.txt"));
    let declared: BTreeSet<&str> = catalogue()
        .iter()
        .filter(|(_, c)| kmatrix::family::checks_syscall(c.id, "io_setup"))
        .filter(|(e, _)| !e.ends_with(".generic"))
        .flat_map(|(_, c)| c.clauses.iter().copied())
        .collect();
    let mut missing = Vec::new();
    for clause in &found {
        let excused = NOT_CHECKABLE.iter().any(|(c, _)| c == clause);
        if !declared.contains(clause.as_str()) && !excused {
            missing.push(clause.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "spec clauses no case checks: {missing:#?}"
    );
    // Every declared clause and every excuse names a real clause (no typos),
    // and nothing is both checked and excused.
    for c in declared
        .iter()
        .copied()
        .chain(NOT_CHECKABLE.iter().map(|(c, _)| *c))
    {
        assert!(
            found.iter().any(|f| f == c),
            "'{c}' is not a clause of the spec: {found:#?}"
        );
    }
    for (c, _) in NOT_CHECKABLE {
        assert!(
            !declared.contains(c),
            "{c} is checked by a case and listed as not checkable"
        );
    }
}
