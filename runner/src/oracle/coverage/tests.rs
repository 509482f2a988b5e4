use super::*;
use kmatrix_proto::catalogue::{case, ids};

#[test]
fn syscalls_select_experiments() {
    assert_eq!(
        select(Some("x".into()), None).unwrap().as_deref(),
        Some("x")
    );
    assert_eq!(select(None, None).unwrap(), None);
    let p = select(None, Some("io_setup,io_submit".into()))
        .unwrap()
        .unwrap();
    assert!(p.starts_with("enosys.map,setup.*,"));
    // Every io_setup experiment is selected, the family's of io_submit too,
    // and nothing else.
    let pats: Vec<String> = p.split(',').map(str::to_string).collect();
    assert!(kmatrix_proto::catalogue::unmatched(&pats).is_empty());
    for x in kmatrix_proto::catalogue::EXPERIMENTS {
        let chosen = pats.iter().any(|q| kmatrix_proto::glob::matches(q, x.id));
        let io_setup = !x.id.starts_with("io_") && x.id != ids::ENOSYS_MAP;
        let want = io_setup
            || x.id == ids::ENOSYS_MAP
            || x.id.starts_with("io_setup.")
            || x.id.starts_with("io_submit.");
        assert_eq!(chosen, want, "{}", x.id);
    }
    assert!(p.contains("io_setup.*") && p.ends_with("io_submit.*"));
    let e = select(None, Some("io_setup,io_uring_enter".into())).unwrap_err();
    assert!(e.to_string().contains("io_uring_enter"));
    assert!(select(Some("a".into()), Some("io_setup".into())).is_err());
    assert!(select(None, Some(",".into())).is_err());
}

/// Which clause has a case is tests/spec_coverage.rs's job; this is what
/// `kmatrix spec` prints of it.
#[test]
fn spec_command_lists_cases_per_clause() {
    let o = spec_command(Some("io_getevents"), false, None, false).unwrap();
    let text = o.stdout;
    assert!(!text.contains("NO CASE"), "{text}");
    assert!(text.contains(case::IO_GETEVENTS_PARAM_TIMEOUT_ELAPSES));
    assert!(text.contains("source: spec/io_getevents-kapi-spec.txt:1 (kmatrix, sha256 "));
    let o = spec_command(Some("io_uring_setup"), false, None, false).unwrap();
    assert!(o.failed && o.stderr.contains("no spec for \"io_uring_setup\""));
}
