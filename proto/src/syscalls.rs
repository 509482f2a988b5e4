//! The AIO family's syscalls by name and number: the one table the guest
//! calls them by and the runner names them from (the oracle's ENOSYS map,
//! report order, the CLI's --syscalls).

use crate::obs::Success;

/// One syscall, its number on each arch the guest is built for, and what
/// its spec calls success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall {
    pub name: &'static str,
    pub x86_64: i64,
    pub aarch64: i64,
    pub success: Success,
}

impl Syscall {
    /// The number on the arch this crate is compiled for (the guest's).
    pub const fn here(&self) -> i64 {
        if cfg!(target_arch = "aarch64") {
            self.aarch64
        } else {
            self.x86_64
        }
    }
}

const fn sys(name: &'static str, x86_64: i64, aarch64: i64, success: Success) -> Syscall {
    Syscall {
        name,
        x86_64,
        aarch64,
        success,
    }
}

// Numbers from arch/x86/entry/syscalls/syscall_64.tbl and
// include/uapi/asm-generic/unistd.h (6.1 and 6.12 agree).
// Success as each spec's return clause states it (`success:`): 0, or a
// count of iocbs or events (0 .. nr). io_cancel's spec gives -EINPROGRESS,
// which reads as that errno's name; 0 (its man page's success) stays the
// one return value that is no failure.
pub const IO_SETUP: Syscall = sys("io_setup", 206, 0, Success::Zero);
pub const IO_DESTROY: Syscall = sys("io_destroy", 207, 1, Success::Zero);
pub const IO_SUBMIT: Syscall = sys("io_submit", 209, 2, Success::NonNegative);
pub const IO_CANCEL: Syscall = sys("io_cancel", 210, 3, Success::Zero);
pub const IO_GETEVENTS: Syscall = sys("io_getevents", 208, 4, Success::NonNegative);
pub const IO_PGETEVENTS: Syscall = sys("io_pgetevents", 333, 292, Success::NonNegative);

/// The family in report order: io_setup first.
pub const AIO: &[Syscall] = &[
    IO_SETUP,
    IO_DESTROY,
    IO_SUBMIT,
    IO_CANCEL,
    IO_GETEVENTS,
    IO_PGETEVENTS,
];

/// The syscall called `name`, if it is one of the family.
pub fn find(name: &str) -> Option<&'static Syscall> {
    AIO.iter().find(|s| s.name == name)
}

/// Where a case id's syscall stands in AIO, after 0 for io_setup's
/// original ids, which name no syscall.
pub fn rank(id: &str) -> usize {
    AIO.iter()
        .position(|s| id.starts_with(s.name) && id[s.name.len()..].starts_with('.'))
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_order() {
        assert_eq!(find("io_pgetevents").map(|s| s.aarch64), Some(292));
        assert!(find("read").is_none());
        assert_eq!(rank("io_setup.return.base"), 1);
        assert_eq!(rank("io_cancel.cases"), 4);
        assert_eq!(rank("return.success"), 0);
        assert_eq!(rank("io_setupx.y"), 0);
        let here = IO_SETUP.here();
        assert!(here == IO_SETUP.x86_64 || here == IO_SETUP.aarch64);
        for (i, s) in AIO.iter().enumerate() {
            assert!(AIO[..i]
                .iter()
                .all(|t| t.name != s.name && t.x86_64 != s.x86_64));
        }
    }
}
