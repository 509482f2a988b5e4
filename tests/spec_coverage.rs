//! Every clause of the spec, of every kind, is checked by a case of the
//! oracle (each case declares its clauses in `oracle::catalogue()`) or is
//! listed below as not checkable from user space, with the reason. The
//! clauses are parsed out of spec/io_setup-kapi-spec.txt, so a spec that
//! grows a clause turns this red until it is covered or explained.
//!
//! `clauses()` is the only spec-format knowledge here for io_setup's prose
//! kinds (long-desc, notes, examples, context-flags), which the general KAPI
//! parser (runner/src/spec/) does not model. Every spec, io_setup's
//! included, is also read with that parser (`kmatrix::spec`) below, and each
//! of its clauses needs a case (generated from the spec or declared by an
//! oracle judge) or a reason no case can check it
//! (`kmatrix::oracle::coverage::unchecked_reason`: the hint `untestable` in spec/hints/,
//! ranges judged by hand, and `family::UNCHECKED`), the same lookups
//! `kmatrix spec` prints.

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
    clauses_of(spec, "io_setup")
}

/// The same for the spec of `syscall`: its examples are its own calls.
fn clauses_of(spec: &str, syscall: &str) -> Vec<String> {
    let call = format!("{syscall}(");
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
            .filter(|(t, _)| KINDS.contains(t) || *t == "kernel-read");
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
                    while let Some(i) = rest.find(&call) {
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
            // Which sources were read: provenance, not a claim.
            "kernel-read" => {}
            _ => out.push(format!("{kind}:{value}")),
        }
    }
    out
}

/// Clauses only debug cells check (lockdep, might_sleep on the console):
/// user space cannot see a lock or whether a call may sleep.
const DEBUG_ONLY: &[&str] = &[
    "lock:aio_nr_lock",
    "lock:mm->ioctx_lock",
    "lock:ctx->ring_lock",
    "context-flags:KAPI_CTX_SLEEPABLE",
];

/// Clauses no user-space observation can check, and why.
const NOT_CHECKABLE: &[(&str, &str)] = &[
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
        .filter(|(_, c)| kmatrix::oracle::coverage::checks_syscall(c.id, "io_setup"))
        .filter(|(e, _)| !e.ends_with(".generic"))
        .flat_map(|(_, c)| c.clauses.iter().copied())
        .collect();
    let mut missing = Vec::new();
    for clause in &found {
        let excused = NOT_CHECKABLE.iter().any(|(c, _)| c == clause);
        let (kind, name) = clause.split_once(':').unwrap();
        let debug = kmatrix::oracle::splat::debug_reason(kind, name).is_some();
        assert_eq!(
            debug && !declared.contains(clause.as_str()),
            DEBUG_ONLY.contains(&clause.as_str()),
            "{clause}: only debug cells check it, or they do not"
        );
        if !declared.contains(clause.as_str()) && !excused && !debug {
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

/// Every spec/*-kapi-spec.txt of the tree, read with kmatrix::spec.
fn every_spec() -> Vec<kmatrix::spec::Spec> {
    let specs = kmatrix::spec::load_dir(&kmatrix::spec::default_dir()).unwrap();
    // The binary judges with its embedded copies: none may be left out.
    let builtin: Vec<String> = kmatrix::spec::builtin()
        .unwrap()
        .into_iter()
        .map(|s| s.syscall)
        .collect();
    let on_disk: Vec<String> = specs.iter().map(|s| s.syscall.clone()).collect();
    assert_eq!(on_disk, builtin, "spec/ and spec::EMBEDDED disagree");
    assert!(on_disk.len() >= 6, "{on_disk:?}");
    specs
}

#[test]
fn every_clause_of_every_spec_has_a_case_or_a_reason() {
    let mut missing = Vec::new();
    let mut both = Vec::new();
    for s in every_spec() {
        let generated = kmatrix::spec::cases::generate(&s)
            .unwrap_or_else(|e| panic!("{}: no generic cases: {e}", s.syscall));
        for c in s.clauses() {
            let ids = kmatrix::oracle::coverage::cases_for(&s, &generated, c.kind, &c.name);
            let why = kmatrix::oracle::coverage::unchecked_reason(&s, c.kind, &c.name);
            let key = format!("{} {}:{}", s.syscall, c.kind, c.name);
            match (ids.is_empty(), why) {
                (true, None) => missing.push(key),
                // A reason for a clause some case checks is stale, except the
                // blanket one for locks, an error's untestable path and a
                // param range judged by hand (why no *generic* case).
                (false, Some(w)) if !["lock", "error", "param"].contains(&c.kind) => {
                    both.push(format!("{key}: {w} / {ids:?}"))
                }
                _ => {}
            }
        }
    }
    assert!(missing.is_empty(), "clauses no case checks: {missing:#?}");
    assert!(both.is_empty(), "checked and excused: {both:#?}");
}

#[test]
fn every_clause_a_family_case_declares_is_in_its_syscalls_spec() {
    let specs = every_spec();
    let mut bad = Vec::new();
    for (exp, def) in catalogue() {
        let Some(s) = specs
            .iter()
            .find(|s| def.id.starts_with(&format!("{}.", s.syscall)))
        else {
            continue; // io_setup's original ids: checked above with clauses()
        };
        let keys: Vec<String> = s
            .clauses()
            .iter()
            .map(|c| format!("{}:{}", c.kind, c.name))
            .collect();
        for cl in def.clauses {
            // A generic pattern's clause is the param its id names.
            if *cl == "param:*" && exp.ends_with(".generic") {
                continue;
            }
            // Prose: checked by family_prose_clauses_have_a_case_or_a_reason.
            if PROSE.contains(&cl.split_once(':').map_or("", |x| x.0)) {
                assert!(
                    prose_of(&s.syscall).iter().any(|p| p == cl),
                    "{} ({exp}): {cl} is not a prose clause of {}",
                    def.id,
                    s.syscall
                );
                continue;
            }
            if !keys.iter().any(|k| k == cl) {
                bad.push(format!("{} ({exp}): {cl}", def.id));
            }
        }
    }
    assert!(bad.is_empty(), "declared clauses not in the spec: {bad:#?}");
    // And the reasons name real clauses too.
    for (sys, kind, name, _) in kmatrix::oracle::coverage::UNCHECKED {
        let hit = specs
            .iter()
            .filter(|s| *sys == "*" || s.syscall == *sys)
            .flat_map(|s| s.clauses())
            .any(|c| c.kind == *kind && (*name == "*" || c.name == *name));
        assert!(hit, "UNCHECKED names no clause: {sys} {kind} {name}");
    }
}

/// The prose kinds the general parser (kmatrix::spec) does not model.
const PROSE: &[&str] = &["long-desc", "context-flags", "examples", "notes"];

/// The five family specs, by syscall.
const FAMILY: &[(&str, &str)] = &[
    (
        "io_destroy",
        include_str!("../spec/io_destroy-kapi-spec.txt"),
    ),
    ("io_submit", include_str!("../spec/io_submit-kapi-spec.txt")),
    (
        "io_getevents",
        include_str!("../spec/io_getevents-kapi-spec.txt"),
    ),
    (
        "io_pgetevents",
        include_str!("../spec/io_pgetevents-kapi-spec.txt"),
    ),
    ("io_cancel", include_str!("../spec/io_cancel-kapi-spec.txt")),
];

/// A family spec's prose clauses, as `kind:name`.
fn prose_of(syscall: &str) -> Vec<String> {
    let text = FAMILY.iter().find(|f| f.0 == syscall).map_or("", |f| f.1);
    clauses_of(text, syscall)
        .into_iter()
        .filter(|c| PROSE.contains(&c.split_once(':').unwrap().0))
        .collect()
}

/// Prose checked by generic cases (generated from the spec, so not
/// declared by a judge): (syscall, clause, the id prefix of its cases).
const BY_GENERIC: &[(&str, &str, &str)] = &[(
    "io_destroy",
    "long-desc:The handle is the",
    "io_destroy.param.ctx.invalid/",
)];

const PROCESS: &str = "the handle names a context of the caller's mm (lookup_ioctx reads current->mm), the lookup fork.child-use shows a child cannot use; no family experiment calls from another process";

/// Family prose no user-space observation checks, and why.
const FAMILY_NOT_CHECKABLE: &[(&str, &str, &str)] = &[
    ("io_destroy", "context-flags:KAPI_CTX_PROCESS", PROCESS),
    ("io_submit", "context-flags:KAPI_CTX_PROCESS", PROCESS),
    ("io_getevents", "context-flags:KAPI_CTX_PROCESS", PROCESS),
    ("io_pgetevents", "context-flags:KAPI_CTX_PROCESS", PROCESS),
    ("io_cancel", "context-flags:KAPI_CTX_PROCESS", PROCESS),
];

#[test]
fn family_prose_clauses_have_a_case_or_a_reason() {
    let generated: Vec<String> = kmatrix::spec::cases::generate_all(&every_spec())
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    let mut missing = Vec::new();
    let mut seen = 0;
    for (sys, _) in FAMILY {
        let found = prose_of(sys);
        seen += found.len();
        let declared: BTreeSet<&str> = catalogue()
            .iter()
            .filter(|(_, c)| kmatrix::oracle::coverage::checks_syscall(c.id, sys))
            .flat_map(|(_, c)| c.clauses.iter().copied())
            .filter(|c| PROSE.contains(&c.split_once(':').unwrap().0))
            .collect();
        let by_generic: Vec<&str> = BY_GENERIC
            .iter()
            .filter(|g| g.0 == *sys)
            .map(|g| {
                assert!(
                    generated.iter().any(|id| id.starts_with(g.2)),
                    "{sys} {}: no generic case {}*",
                    g.1,
                    g.2
                );
                g.1
            })
            .collect();
        let mut excused: Vec<&str> = FAMILY_NOT_CHECKABLE
            .iter()
            .filter(|n| n.0 == *sys)
            .map(|n| n.1)
            .collect();
        // What only debug cells check (might_sleep, lockdep) needs no case.
        let debug_only: Vec<&str> = (found.iter())
            .filter(|c| {
                let (k, n) = c.split_once(':').unwrap();
                kmatrix::oracle::splat::debug_reason(k, n).is_some()
            })
            .map(String::as_str)
            .collect();
        assert!(
            debug_only.iter().all(|c| c.ends_with("KAPI_CTX_SLEEPABLE")),
            "{sys}: {debug_only:?}"
        );
        excused.extend(debug_only);
        for c in &found {
            let checked = declared.contains(c.as_str()) || by_generic.contains(&c.as_str());
            if !checked && !excused.contains(&c.as_str()) {
                missing.push(format!("{sys} {c}"));
            }
            assert!(
                !(checked && excused.contains(&c.as_str())),
                "{sys} {c}: checked by a case and listed as not checkable"
            );
        }
        // Every declaration and excuse names a real clause (no typos).
        for c in declared.iter().copied().chain(by_generic).chain(excused) {
            assert!(
                found.iter().any(|f| f == c),
                "{sys}: '{c}' is not a prose clause of its spec: {found:#?}"
            );
        }
    }
    assert!(seen >= 25, "only {seen} prose clauses parsed");
    assert!(
        missing.is_empty(),
        "prose clauses no case checks: {missing:#?}"
    );
}
