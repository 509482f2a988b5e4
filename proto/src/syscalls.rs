//! The AIO family's syscalls: their names, what each spec calls success,
//! and their numbers per arch, in the one table both sides read. The guest
//! picks its own arch's row when it is compiled (an arch without a row
//! does not compile); the runner names the calls from it (the ENOSYS map,
//! report order, the CLI's --syscalls) and checks (enosys.map) that the
//! guest used its arch's numbers. Each row is the kernel's own table
//! (x86_64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64:
//! include/uapi/asm-generic/unistd.h; s390x:
//! arch/s390/kernel/syscalls/syscall.tbl); a runner test compares every row
//! with those files.

use crate::obs::Success;

/// One syscall of the family and what its spec calls success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall {
    pub name: &'static str,
    /// Its place in `AIO` and in every row's `aio`.
    pub index: usize,
    pub success: Success,
}

impl Syscall {
    /// The number on the arch this crate is compiled for (the guest's).
    pub const fn here(&self) -> i64 {
        of_arch(std::env::consts::ARCH).aio[self.index]
    }

    /// The number on `arch` (a target_arch), if kmatrix has its row.
    pub fn on(&self, arch: &str) -> Option<i64> {
        numbers(arch).map(|n| n.aio[self.index])
    }
}

const fn sys(name: &'static str, index: usize, success: Success) -> Syscall {
    Syscall {
        name,
        index,
        success,
    }
}

// Success as each spec's return clause states it (`success:`): 0, or a
// count of iocbs or events (0 .. nr). io_cancel's spec gives -EINPROGRESS,
// which reads as that errno's name; 0 (its man page's success) stays the
// one return value that is no failure.
pub const IO_SETUP: Syscall = sys("io_setup", 0, Success::Zero);
pub const IO_DESTROY: Syscall = sys("io_destroy", 1, Success::Zero);
pub const IO_SUBMIT: Syscall = sys("io_submit", 2, Success::NonNegative);
pub const IO_CANCEL: Syscall = sys("io_cancel", 3, Success::Zero);
pub const IO_GETEVENTS: Syscall = sys("io_getevents", 4, Success::NonNegative);
pub const IO_PGETEVENTS: Syscall = sys("io_pgetevents", 5, Success::NonNegative);

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

/// One arch's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Numbers {
    /// Rust's target_arch (what the guest reports as its arch).
    pub arch: &'static str,
    /// The numbers of `AIO`, in that order.
    pub aio: [i64; 6],
    pub eventfd2: i64,
    pub gettid: i64,
}

pub const TABLE: &[Numbers] = &[
    Numbers {
        arch: "x86_64",
        aio: [206, 207, 209, 210, 208, 333],
        eventfd2: 290,
        gettid: 186,
    },
    Numbers {
        arch: "aarch64",
        aio: [0, 1, 2, 3, 4, 292],
        eventfd2: 19,
        gettid: 178,
    },
    Numbers {
        arch: "s390x",
        aio: [243, 244, 246, 247, 245, 382],
        eventfd2: 323,
        gettid: 236,
    },
];

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The row of `arch` (a target_arch); a const, so a guest compiled for an
/// arch without a row does not compile.
pub const fn of_arch(arch: &str) -> Numbers {
    let mut i = 0;
    while i < TABLE.len() {
        if same(TABLE[i].arch, arch) {
            return TABLE[i];
        }
        i += 1;
    }
    panic!("no syscall numbers for this arch in proto/src/syscalls.rs")
}

/// The row of `arch` (a target_arch), if there is one.
pub fn numbers(arch: &str) -> Option<&'static Numbers> {
    TABLE.iter().find(|n| n.arch == arch)
}

impl Numbers {
    /// The number of the AIO syscall `name` on this arch.
    pub fn aio_nr(&self, name: &str) -> Option<i64> {
        find(name).map(|s| self.aio[s.index])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_order() {
        assert_eq!(
            find("io_pgetevents").and_then(|s| s.on("aarch64")),
            Some(292)
        );
        assert!(find("read").is_none());
        assert_eq!(rank("io_setup.return.base"), 1);
        assert_eq!(rank("io_cancel.cases"), 4);
        assert_eq!(rank("return.success"), 0);
        assert_eq!(rank("io_setupx.y"), 0);
        assert_eq!(IO_SETUP.here(), of_arch(std::env::consts::ARCH).aio[0]);
        for (i, s) in AIO.iter().enumerate() {
            assert_eq!(s.index, i, "{}", s.name);
            assert!(AIO[..i].iter().all(|t| t.name != s.name));
        }
    }

    #[test]
    fn rows_are_distinct_and_found() {
        for n in TABLE {
            assert_eq!(of_arch(n.arch), *n);
            assert_eq!(numbers(n.arch), Some(n));
            assert_eq!(n.aio_nr("io_setup"), Some(n.aio[0]));
            let mut all = n.aio.to_vec();
            all.extend([n.eventfd2, n.gettid]);
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), 8, "{}: a number twice", n.arch);
        }
        assert_eq!(numbers("riscv64"), None);
        assert_eq!(TABLE[0].aio_nr("read"), None);
    }
}
