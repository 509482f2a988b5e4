//! The AIO family's syscalls by name and number, for every layer that names
//! them (the oracle's ENOSYS map, report order, the CLI's --syscalls).

/// Syscall numbers by arch, from arch/x86/entry/syscalls/syscall_64.tbl and
/// include/uapi/asm-generic/unistd.h (6.1 and 6.12 agree).
pub const NUMBERS: &[(&str, i64, i64)] = &[
    ("io_setup", 206, 0),
    ("io_destroy", 207, 1),
    ("io_submit", 209, 2),
    ("io_cancel", 210, 3),
    ("io_getevents", 208, 4),
    ("io_pgetevents", 333, 292),
];

/// Where a case id's syscall stands in NUMBERS, after 0 for io_setup's
/// original ids, which name no syscall.
pub fn syscall_rank(id: &str) -> usize {
    NUMBERS
        .iter()
        .position(|n| id.starts_with(n.0) && id[n.0.len()..].starts_with('.'))
        .map_or(0, |i| i + 1)
}
