//! The syscall numbers the guest calls by number, per arch, in one table
//! that both sides read: the guest picks its own row when it is compiled,
//! the host checks (enosys.map) that the guest used its arch's numbers and
//! names them in the ENOSYS map line. Each row is the kernel's own table
//! (x86_64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64:
//! include/uapi/asm-generic/unistd.h; s390x:
//! arch/s390/kernel/syscalls/syscall.tbl); the runner's tests compare every
//! row with those files.

/// The AIO family, in the order of `Numbers::aio` (and of the report).
pub const AIO: [&str; 6] = [
    "io_setup",
    "io_destroy",
    "io_submit",
    "io_cancel",
    "io_getevents",
    "io_pgetevents",
];

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
pub fn find(arch: &str) -> Option<&'static Numbers> {
    TABLE.iter().find(|n| n.arch == arch)
}

impl Numbers {
    /// The number of the AIO syscall `name` on this arch.
    pub fn aio_nr(&self, name: &str) -> Option<i64> {
        AIO.iter().position(|n| *n == name).map(|i| self.aio[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_distinct_and_found() {
        for n in TABLE {
            assert_eq!(of_arch(n.arch), *n);
            assert_eq!(find(n.arch), Some(n));
            assert_eq!(n.aio_nr("io_setup"), Some(n.aio[0]));
            let mut all = n.aio.to_vec();
            all.extend([n.eventfd2, n.gettid]);
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), 8, "{}: a number twice", n.arch);
        }
        assert_eq!(find("riscv64"), None);
        assert_eq!(TABLE[0].aio_nr("read"), None);
    }
}
