//! Verdicts against another spec (oracle::against), on the real 6.1.192
//! x86_64 fixture: the same observations, judged against an edited spec.

use super::{against, judge_with, CellFacts, Verdict};
use crate::spec::source::{SpecSet, SpecUsed};
use crate::stream::parse;

const GOOD: &str = include_str!("fixtures/aio-on-x86_64.jsonl");

fn judged(set: Option<&SpecSet>) -> Vec<super::Case> {
    let s = parse(GOOD.as_bytes());
    let mut v = judge_with(&CellFacts::new(true), &s, &[]);
    if let Some(set) = set {
        against::apply(&mut v, set, true);
    }
    v
}

/// kmatrix's set with `sys`'s spec text replaced by `text` (a tree's block).
fn set_with(sys: &str, edit: impl Fn(&str) -> String) -> SpecSet {
    let mut set = SpecSet::builtin().unwrap();
    let (name, text) = crate::spec::EMBEDDED
        .iter()
        .find(|e| e.0.starts_with(&format!("{sys}-")))
        .unwrap();
    let edited = edit(text);
    let spec = crate::spec::hints::apply_builtin(crate::spec::parse(&edited).unwrap()).unwrap();
    let u: &mut SpecUsed = set.specs.iter_mut().find(|u| u.syscall == sys).unwrap();
    u.path = format!("/tree/fs/aio.c ({name} edited)");
    u.author = "upstream".into();
    u.sha256 = crate::spec::source::sha256_hex(edited.as_bytes());
    u.spec = spec;
    set
}

fn case<'a>(v: &'a [super::Case], id: &str) -> &'a super::Case {
    v.iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id}"))
}

#[test]
fn the_builtin_set_changes_nothing() {
    let plain = judged(None);
    let same = judged(Some(&SpecSet::builtin().unwrap()));
    assert_eq!(plain, same);
}

/// A tree's io_submit block whose nr range starts at 1: the kernel accepts
/// nr = 0, so the same observation is now a FAIL naming the tree's spec.
#[test]
fn an_edited_range_fails_against_the_tree_spec() {
    let set = set_with("io_submit", |t| {
        t.replace("range: 0, LONG_MAX", "range: 1, LONG_MAX")
    });
    let before = judged(None);
    assert_eq!(
        case(&before, "io_submit.param.nr.range/0").verdict,
        Verdict::Pass
    );
    let v = judged(Some(&set));
    let c = case(&v, "io_submit.param.nr.range/0");
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert_eq!(c.expected, "EINVAL");
    // io_submit(ctx, 0, ...) returns the count 0, which the hints demand.
    assert_eq!(c.observed, "0");
    assert!(c.detail.contains("/tree/fs/aio.c"), "{}", c.detail);
    // A case the tree's spec asks for that the guest never ran: a skip.
    let c = case(&v, "io_submit.param.nr.range/2");
    assert_eq!(c.verdict, Verdict::Skip);
    assert!(c.detail.starts_with("not run"), "{}", c.detail);
}

/// A tree's io_cancel block without EINPROGRESS: the hand-written case
/// that checks it is a skip that says so, not a pass.
#[test]
fn a_clause_the_tree_spec_lacks_is_a_skip_that_says_so() {
    let set = set_with("io_cancel", |t| {
        let a = t.find(" * error: EINPROGRESS").unwrap();
        let b = a + t[a..].find(" * error: EAGAIN").unwrap();
        format!("{}{}", &t[..a], &t[b..])
    });
    let before = judged(None);
    let ids: Vec<String> = before
        .iter()
        .filter(|c| super::clauses_of(&c.id).contains(&"error:EINPROGRESS"))
        .map(|c| c.id.clone())
        .collect();
    assert!(!ids.is_empty());
    let v = judged(Some(&set));
    for id in ids {
        let c = case(&v, &id);
        assert_eq!(c.verdict, Verdict::Skip, "{c:?}");
        assert!(
            c.detail.contains("has no clause error:EINPROGRESS"),
            "{}",
            c.detail
        );
    }
    // Other syscalls are untouched.
    let io_setup_before: Vec<_> = before
        .iter()
        .filter(|c| !c.id.starts_with("io_cancel"))
        .collect();
    let io_setup_after: Vec<_> = v
        .iter()
        .filter(|c| !c.id.starts_with("io_cancel"))
        .collect();
    assert_eq!(io_setup_before, io_setup_after);
}
