//! Does the guest that answered match the cell that was asked for? The
//! hello record against the cell: arch, CPUs, memory, and debugfs and
//! fail-nth wherever the kernel's config has them. A mismatch means the
//! cell tested something else than its name says: a cell error naming the
//! field, not a silent skip later.

use crate::matrix::kconfig::KernelConfig;
use crate::matrix::Cell;
use crate::stream::{Hello, Sysctl};

/// MemTotal is RAM minus what the kernel keeps for itself (its image,
/// page tables, reserved ranges), a roughly fixed amount: measured (6.1,
/// TCG) 18-21 MiB short of 512 MiB and 13 MiB short of 64 MiB on x86_64,
/// 13 MiB short of 512 MiB on arm64.
/// A guest short by more than this (or a quarter of RAM, if more) did not
/// get the memory the cell asked for.
const MAX_MEM_DEFICIT_KB: u64 = 48 * 1024;

/// One mismatch per field, each naming the field, what the cell expects
/// and what the guest reported. Empty when the guest is the cell's.
pub fn mismatches(cell: &Cell, kernel: &KernelConfig, h: &Hello) -> Vec<String> {
    let mut out = Vec::new();
    let want = &cell.arch.guest_arch;
    if &h.arch != want {
        out.push(format!(
            "arch: guest-init reports {}, cell {} expects {want}",
            h.arch, cell.arch
        ));
    }
    if &h.uname_machine != want {
        out.push(format!(
            "uname_machine: the kernel reports {:?}, cell {} expects {want}",
            h.uname_machine, cell.arch
        ));
    }
    // CONFIG_NR_CPUS or a machine limit can quietly cap the vCPUs.
    if h.ncpus_online != u64::from(cell.cpus) {
        out.push(format!(
            "ncpus_online: the cell asked for {} vCPUs but the guest brought up {} (possible: {}); check CONFIG_NR_CPUS",
            cell.cpus, h.ncpus_online, h.ncpus_possible
        ));
    }
    // num_possible_cpus() sizes the kernel's per-CPU request batches (the
    // oracle reads it): it must be what `-smp ...,maxcpus=` asked for.
    let possible = cell.maxcpus.unwrap_or(cell.cpus);
    if h.ncpus_possible != u64::from(possible) {
        out.push(format!(
            "ncpus_possible: the cell asked for {possible} possible CPUs (maxcpus) but the guest has {} ({} online)",
            h.ncpus_possible, h.ncpus_online
        ));
    }
    // The guest reads fs.aio-max-nr after applying the cell's value: any
    // other value (or none in a kernel with CONFIG_AIO) is another cell.
    if let Some(want) = cell.aio_max_nr {
        let aio = kernel.aio.known().unwrap_or(h.aio_max_nr_present);
        match h.aio_max_nr {
            Some(got) if got != want => out.push(format!(
                "aio_max_nr: the cell asked for fs.aio-max-nr {want} but the guest runs with {got}"
            )),
            None if aio => out.push(format!(
                "aio_max_nr: the cell asked for fs.aio-max-nr {want} but the guest could not read it"
            )),
            _ => {}
        }
    }
    let asked_kb = u64::from(cell.mem_mb) * 1024;
    let floor_kb = asked_kb.saturating_sub(MAX_MEM_DEFICIT_KB.max(asked_kb / 4));
    if h.mem_total_kb > asked_kb || h.mem_total_kb < floor_kb {
        out.push(format!(
            "mem_total_kb: the cell asked for {} MiB ({asked_kb} kB) but the guest has MemTotal {} kB (expected {floor_kb}..={asked_kb})",
            cell.mem_mb, h.mem_total_kb
        ));
    }
    let config_says =
        |field: &str, option: &str, set: Option<bool>, seen: bool, what: &str| match set {
            Some(true) if !seen => Some(format!(
                "{field}: the kernel's config has {option}=y but the guest found no {what}"
            )),
            Some(false) if seen => Some(format!(
                "{field}: the guest found {what} but the kernel's config does not set {option}"
            )),
            _ => None,
        };
    out.extend(config_says(
        "debugfs",
        "CONFIG_DEBUG_FS",
        kernel.debug_fs.known(),
        h.debugfs,
        "debugfs at /sys/kernel/debug",
    ));
    // fail-nth exists exactly with CONFIG_FAULT_INJECTION (fs/proc/base.c);
    // FAULT_INJECTION_DEBUG_FS depends on it, so it demands fail-nth too.
    let fail_nth_expected = match (
        kernel.fault_injection.known(),
        kernel.fault_injection_debug_fs.known(),
    ) {
        (_, Some(true)) => Some(true),
        (f, _) => f,
    };
    out.extend(config_says(
        "fail_nth",
        "CONFIG_FAULT_INJECTION",
        fail_nth_expected,
        h.fail_nth,
        "/proc/self/task/TID/fail-nth",
    ));
    out
}

/// The cell's fs.aio-max-nr against the guest's sysctl record of it: the
/// value it wrote and what it read back afterwards must both be the
/// cell's. `aio`: the kernel has CONFIG_AIO (without it the file is absent
/// and there is nothing to read back).
pub fn sysctl_mismatches(cell: &Cell, aio: bool, sysctls: &[Sysctl]) -> Vec<String> {
    let (Some(want), true) = (cell.aio_max_nr, aio) else {
        return Vec::new();
    };
    let want = want.to_string();
    let Some(rec) = sysctls.iter().rev().find(|x| x.key == "fs.aio-max-nr") else {
        return vec![format!(
            "fs.aio-max-nr: the cell asked for {want} but the guest sent no sysctl record of it"
        )];
    };
    let mut out = Vec::new();
    if rec.value != want {
        out.push(format!(
            "fs.aio-max-nr: the cell asked for {want} but the guest wrote {:?}",
            rec.value
        ));
    }
    match rec.readback.as_deref() {
        Some(got) if got == want => {}
        Some(got) => out.push(format!(
            "fs.aio-max-nr: the cell asked for {want:?} but the guest read back {got}"
        )),
        None => out.push(format!(
            "fs.aio-max-nr: the cell asked for {want:?} but the guest could not read it back"
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::kconfig::Opt;

    fn cell() -> Cell {
        crate::matrix::Axes::default_matrix(vec![crate::matrix::arch::by_name("arm64").unwrap()])
            .cells()[0]
            .clone()
    }

    fn hello() -> Hello {
        Hello {
            arch: "aarch64".into(),
            uname_release: "6.1.0".into(),
            uname_machine: "aarch64".into(),
            ncpus_online: 2,
            ncpus_possible: 2,
            page_size: 4096,
            mem_total_kb: 490_000,
            aio_nr_present: true,
            aio_max_nr_present: true,
            aio_max_nr: Some(65536),
            debugfs: true,
            fail_nth: true,
            mode: "probe".into(),
        }
    }

    fn config() -> KernelConfig {
        KernelConfig {
            debug_fs: Opt::Set,
            fault_injection: Opt::Set,
            fault_injection_debug_fs: Opt::Set,
            ..KernelConfig::default()
        }
    }

    /// The single mismatch for `h`, which must name `field`.
    fn one(c: &Cell, k: &KernelConfig, h: &Hello, field: &str) {
        let m = mismatches(c, k, h);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].starts_with(&format!("{field}: ")), "{m:?}");
    }

    #[test]
    fn the_cells_own_guest_matches() {
        assert_eq!(
            mismatches(&cell(), &config(), &hello()),
            Vec::<String>::new()
        );
        // Unknown config: debugfs and fail-nth are not demanded.
        let h = Hello {
            debugfs: false,
            fail_nth: false,
            ..hello()
        };
        assert!(mismatches(&cell(), &KernelConfig::default(), &h).is_empty());
    }

    #[test]
    fn each_mismatch_names_its_field() {
        let (c, k) = (cell(), config());
        let x86 = Hello {
            arch: "x86_64".into(),
            ..hello()
        };
        one(&c, &k, &x86, "arch");
        let m = Hello {
            uname_machine: "x86_64".into(),
            ..hello()
        };
        one(&c, &k, &m, "uname_machine");
        one(
            &c,
            &k,
            &Hello {
                ncpus_online: 1,
                ..hello()
            },
            "ncpus_online",
        );
        one(
            &c,
            &k,
            &Hello {
                ncpus_possible: 1,
                ..hello()
            },
            "ncpus_possible",
        );
        one(
            &c,
            &k,
            &Hello {
                mem_total_kb: 300_000,
                ..hello()
            },
            "mem_total_kb",
        );
        one(
            &c,
            &k,
            &Hello {
                mem_total_kb: 600_000,
                ..hello()
            },
            "mem_total_kb",
        );
        one(
            &c,
            &k,
            &Hello {
                debugfs: false,
                ..hello()
            },
            "debugfs",
        );
        one(
            &c,
            &k,
            &Hello {
                fail_nth: false,
                ..hello()
            },
            "fail_nth",
        );
        // And the other way: present although the config does not set it.
        let off = KernelConfig {
            debug_fs: Opt::NotSet,
            fault_injection: Opt::NotSet,
            fault_injection_debug_fs: Opt::NotSet,
            ..KernelConfig::default()
        };
        let m = mismatches(&c, &off, &hello());
        assert!(m.len() == 2 && m[0].starts_with("debugfs: ") && m[1].starts_with("fail_nth: "));
    }

    /// Issue 20: the guest's possible CPUs are the cell's maxcpus (or its
    /// cpus), and its fs.aio-max-nr the value the cell asked for; a guest
    /// running with another value names both.
    #[test]
    fn possible_cpus_and_aio_max_nr_are_the_cells() {
        let k = config();
        let mut c = cell();
        let m = mismatches(
            &c,
            &k,
            &Hello {
                ncpus_possible: 4,
                ..hello()
            },
        );
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].starts_with("ncpus_possible: ") && m[0].contains(" 2 ") && m[0].contains(" 4"),
            "{m:?}"
        );
        c.maxcpus = Some(4);
        assert!(mismatches(
            &c,
            &k,
            &Hello {
                ncpus_possible: 4,
                ..hello()
            }
        )
        .is_empty());
        one(&c, &k, &hello(), "ncpus_possible");
        let mut c = cell();
        c.aio_max_nr = Some(1);
        let m = mismatches(&c, &k, &hello());
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].starts_with("aio_max_nr: ") && m[0].contains("65536") && m[0].contains(" 1"),
            "{m:?}"
        );
        let h = Hello {
            aio_max_nr: Some(1),
            ..hello()
        };
        assert!(mismatches(&c, &k, &h).is_empty());
        // Unread in an aio-on kernel: that too is not the cell's value.
        let h = Hello {
            aio_max_nr: None,
            ..hello()
        };
        one(
            &c,
            &KernelConfig {
                aio: Opt::Set,
                ..k.clone()
            },
            &h,
            "aio_max_nr",
        );
        // No request (the kernel default): nothing to compare.
        assert!(mismatches(
            &cell(),
            &k,
            &Hello {
                aio_max_nr: Some(7),
                ..hello()
            }
        )
        .is_empty());
    }

    fn sysctl(value: &str, readback: Option<&str>) -> Sysctl {
        Sysctl {
            key: "fs.aio-max-nr".into(),
            value: value.into(),
            ok: true,
            errno: 0,
            readback: readback.map(str::to_string),
        }
    }

    #[test]
    fn the_sysctl_readback_is_the_requested_value() {
        let mut c = cell();
        c.aio_max_nr = Some(1);
        assert!(sysctl_mismatches(&c, true, &[sysctl("1", Some("1"))]).is_empty());
        let m = sysctl_mismatches(&c, true, &[sysctl("1", Some("65536"))]);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("fs.aio-max-nr") && m[0].contains("65536") && m[0].contains("\"1\""),
            "{m:?}"
        );
        assert_eq!(sysctl_mismatches(&c, true, &[sysctl("1", None)]).len(), 1);
        // The guest never applied it.
        let m = sysctl_mismatches(&c, true, &[]);
        assert!(m.len() == 1 && m[0].contains("no sysctl record"), "{m:?}");
        // aio-off: the file does not exist, nothing to read back.
        assert!(sysctl_mismatches(&c, false, &[]).is_empty());
        assert!(sysctl_mismatches(&cell(), true, &[]).is_empty());
    }
}
