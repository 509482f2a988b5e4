//! The AIO family's numbers as the runner names them: by kmatrix arch name
//! (or the guest's target_arch) from the table the guest was compiled with
//! (kmatrix_proto::syscalls), and read from a kernel's own syscall table to
//! check that table.

/// The number of `name` on `arch` (a kmatrix arch name or the guest's
/// target_arch, as the hello record gives it).
pub fn number(arch: &str, name: &str) -> Option<i64> {
    let guest = crate::matrix::arch::by_name(arch).map_or(arch.to_string(), |a| a.guest_arch);
    kmatrix_proto::syscalls::numbers(&guest)?.aio_nr(name)
}
/// The number of syscall `name` in a kernel syscall table: a `.tbl`
/// ("NR ABI NAME ENTRY", 64-bit or common ABI) or asm-generic's unistd.h
/// ("#define __NR_NAME NR").
pub fn number_in_table(table: &str, name: &str) -> Option<i64> {
    number_of_abi(table, name, &["common", "64"])
}

/// The number of syscall `name` in a kernel's table of its 32-bit ABI: a
/// `.tbl`'s i386 rows (x86's syscall_32.tbl) or a unistd32.h's defines.
pub fn number_in_compat_table(table: &str, name: &str) -> Option<i64> {
    number_of_abi(table, name, &["i386"])
}

fn number_of_abi(table: &str, name: &str, abis: &[&str]) -> Option<i64> {
    let define = format!("__NR_{name}");
    table.lines().find_map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            ["#define", n, nr, ..] if *n == define => nr.parse().ok(),
            [nr, abi, n, ..] if *n == name && abis.contains(abi) => nr.parse().ok(),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lines_are_read_by_abi() {
        let tbl = "206\t64\tio_setup\tsys_io_setup\n543\tx32\tio_setup\tcompat_sys_io_setup\n";
        assert_eq!(number_in_table(tbl, "io_setup"), Some(206));
        assert_eq!(number_in_table("543 x32 io_setup x\n", "io_setup"), None);
        let h = "#define __NR_io_setup 0\n__SC_COMP(__NR_io_setup, sys_io_setup)\n";
        assert_eq!(number_in_table(h, "io_setup"), Some(0));
        assert_eq!(number_in_table(h, "io_destroy"), None);
        let tbl32 = "385\ti386\tio_pgetevents\tsys_io_pgetevents_time32\n";
        assert_eq!(number_in_compat_table(tbl32, "io_pgetevents"), Some(385));
        assert_eq!(number_in_table(tbl32, "io_pgetevents"), None);
    }

    /// Every row of the table the guest is compiled with equals the
    /// kernel's own syscall table of its arch (Debian's 6.1 source, from the
    /// cache's unpacked tree or straight from the tarball).
    #[test]
    fn numbers_are_the_kernels_own() {
        let unpacked = std::fs::read_dir(crate::util::cache::root().join("src"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("linux-source-6.1"))
            .find(|p| p.join("Makefile").exists());
        let read = |rel: &str| -> String {
            if let Some(dir) = &unpacked {
                return std::fs::read_to_string(dir.join(rel)).unwrap();
            }
            let o = std::process::Command::new("tar")
                .args(["-xJOf", crate::build::kbuild::DEFAULT_TARBALL])
                .arg(format!("linux-source-6.1/{rel}"))
                .output()
                .expect("tar runs");
            assert!(
                o.status.success(),
                "{rel} in {}",
                crate::build::kbuild::DEFAULT_TARBALL
            );
            String::from_utf8(o.stdout).unwrap()
        };
        for a in crate::matrix::arch::all() {
            let table = read(&a.syscall_table);
            let row = kmatrix_proto::syscalls::numbers(&a.guest_arch)
                .unwrap_or_else(|| panic!("{}: no row in proto/src/syscalls.rs", a.name));
            for name in kmatrix_proto::syscalls::AIO.iter().map(|s| s.name) {
                assert_eq!(
                    number_in_table(&table, name),
                    row.aio_nr(name),
                    "{} {name} ({})",
                    a.name,
                    a.syscall_table
                );
            }
            assert_eq!(number_in_table(&table, "eventfd2"), Some(row.eventfd2));
            assert_eq!(number_in_table(&table, "gettid"), Some(row.gettid));
            assert_eq!(number(&a.name, "io_setup"), Some(row.aio[0]));
            assert_eq!(
                row.time32, None,
                "{}: a 64-bit ABI has no time32 entries",
                a.name
            );
            if let Some(c) = &a.compat {
                compat_row_is_the_kernels_own(&c.guest_arch, &read(&c.syscall_table));
            }
        }
    }

    /// A 32-bit ABI's row against its kernel table: every entry point by
    /// the table's own name (io_pgetevents_time64 and the time32 ones).
    fn compat_row_is_the_kernels_own(guest_arch: &str, table: &str) {
        let row = kmatrix_proto::syscalls::numbers(guest_arch)
            .unwrap_or_else(|| panic!("{guest_arch}: no row in proto/src/syscalls.rs"));
        assert!(row.time32.is_some(), "{guest_arch}: no time32 entries");
        for s in kmatrix_proto::syscalls::AIO {
            for e in row.entries(s) {
                assert_eq!(
                    number_in_compat_table(table, e.table_name),
                    Some(e.nr),
                    "{guest_arch} {}",
                    e.table_name
                );
            }
        }
        assert_eq!(
            number_in_compat_table(table, "eventfd2"),
            Some(row.eventfd2)
        );
        assert_eq!(number_in_compat_table(table, "gettid"), Some(row.gettid));
        assert_eq!(
            number_in_compat_table(table, "clock_nanosleep_time64"),
            row.time32.map(|t| t.clock_nanosleep64)
        );
        // The time32 entry points are the kernel's io_getevents and
        // io_pgetevents, the _time64 one its own name.
        assert_eq!(
            number_in_compat_table(table, "io_getevents"),
            Some(row.aio[4])
        );
        assert_eq!(
            number_in_compat_table(table, "io_pgetevents_time64"),
            Some(row.aio[5])
        );
    }
}
