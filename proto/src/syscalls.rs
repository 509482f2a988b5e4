//! The AIO family's syscalls: their names, what each spec calls success,
//! and their numbers per arch, in the one table both sides read. The guest
//! picks its own arch's row when it is compiled (an arch without a row
//! does not compile); the runner names the calls from it (the ENOSYS map,
//! report order, the CLI's --syscalls) and checks (enosys.map) that the
//! guest used its arch's numbers. Each row is the kernel's own table
//! (x86_64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64:
//! include/uapi/asm-generic/unistd.h; s390x:
//! arch/s390/kernel/syscalls/syscall.tbl; the 32-bit ABIs of x86_64 and
//! arm64, x86 and arm: syscall_32.tbl's i386 rows and
//! arch/arm64/include/asm/unistd32.h); a runner test compares every row
//! with those files.
//!
//! A 32-bit ABI has two io_pgetevents: one with 32-bit time, built only
//! with CONFIG_COMPAT_32BIT_TIME, and io_pgetevents_time64. Its row's
//! io_pgetevents is the _time64 one (what the probe calls, as modern libcs
//! do) and `time32` names the rest; io_getevents there exists only with
//! 32-bit time.

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
    /// On a 32-bit ABI, the entry points that take a 32-bit time_t
    /// (ENOSYS without CONFIG_COMPAT_32BIT_TIME); None on a 64-bit one.
    pub time32: Option<Time32>,
}

/// The entry points of a 32-bit ABI that take 32-bit time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time32 {
    /// io_pgetevents with struct old_timespec32 (the row's io_pgetevents
    /// is io_pgetevents_time64). io_getevents is the row's own aio[4].
    pub pgetevents: i64,
    /// clock_nanosleep_time64, which the 32-bit probe sleeps with: glibc
    /// takes the time32 call for a short sleep, ENOSYS without
    /// CONFIG_COMPAT_32BIT_TIME.
    pub clock_nanosleep64: i64,
}

/// One entry point of an AIO call as the ENOSYS map names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The call of `AIO` it belongs to.
    pub syscall: &'static str,
    /// The kernel table's name of this number.
    pub table_name: &'static str,
    pub nr: i64,
    /// Takes a 32-bit time_t: ENOSYS without CONFIG_COMPAT_32BIT_TIME.
    pub time32: bool,
}

pub const TABLE: &[Numbers] = &[
    Numbers {
        arch: "x86_64",
        aio: [206, 207, 209, 210, 208, 333],
        eventfd2: 290,
        gettid: 186,
        time32: None,
    },
    Numbers {
        arch: "aarch64",
        aio: [0, 1, 2, 3, 4, 292],
        eventfd2: 19,
        gettid: 178,
        time32: None,
    },
    Numbers {
        arch: "s390x",
        aio: [243, 244, 246, 247, 245, 382],
        eventfd2: 323,
        gettid: 236,
        time32: None,
    },
    // i686 on x86_64 (IA32_EMULATION): io_pgetevents is _time64 (416).
    Numbers {
        arch: "x86",
        aio: [245, 246, 248, 249, 247, 416],
        eventfd2: 328,
        gettid: 224,
        time32: Some(Time32 {
            pgetevents: 385,
            clock_nanosleep64: 407,
        }),
    },
    // armhf on arm64 (COMPAT): io_pgetevents is _time64 (416).
    Numbers {
        arch: "arm",
        aio: [243, 244, 246, 247, 245, 416],
        eventfd2: 356,
        gettid: 224,
        time32: Some(Time32 {
            pgetevents: 399,
            clock_nanosleep64: 407,
        }),
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

    /// Every entry point of the call `s` on this ABI: one on a 64-bit ABI;
    /// on a 32-bit one io_getevents's is time32 and io_pgetevents has the
    /// _time64 one and the time32 one, in that order.
    pub fn entries(&self, s: &Syscall) -> Vec<Entry> {
        let nr = self.aio[s.index];
        let one = |table_name, nr, time32| Entry {
            syscall: s.name,
            table_name,
            nr,
            time32,
        };
        match (self.time32, s.index) {
            (Some(_), 4) => vec![one(s.name, nr, true)],
            (Some(t), 5) => vec![
                one("io_pgetevents_time64", nr, false),
                one(s.name, t.pgetevents, true),
            ],
            _ => vec![one(s.name, nr, false)],
        }
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
            all.extend(n.time32.map(|t| t.pgetevents));
            all.extend(n.time32.map(|t| t.clock_nanosleep64));
            let len = all.len();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), len, "{}: a number twice", n.arch);
        }
        assert_eq!(numbers("riscv64"), None);
        let x86 = numbers("x86").unwrap();
        let e: Vec<(&str, i64, bool)> = x86
            .entries(&IO_PGETEVENTS)
            .iter()
            .map(|e| (e.table_name, e.nr, e.time32))
            .collect();
        assert_eq!(
            e,
            [
                ("io_pgetevents_time64", 416, false),
                ("io_pgetevents", 385, true)
            ]
        );
        assert!(x86.entries(&IO_GETEVENTS)[0].time32);
        assert!(!of_arch("x86_64").entries(&IO_GETEVENTS)[0].time32);
        assert_eq!(of_arch("aarch64").entries(&IO_PGETEVENTS).len(), 1);
        assert_eq!(TABLE[0].aio_nr("read"), None);
    }
}
