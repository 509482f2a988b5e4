use super::*;

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
    let text = spec_command(Some("io_getevents"), false).unwrap();
    assert!(!text.contains("NO CASE"), "{text}");
    assert!(text.contains("io_getevents.param.timeout.elapses"));
    assert!(spec_command(Some("io_uring_setup"), false).is_err());
}
