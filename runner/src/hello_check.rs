//! Does the guest that answered match the cell that was asked for? The
//! hello record against the cell: arch, CPUs, memory, and debugfs and
//! fail-nth wherever the kernel's config has them. A mismatch means the
//! cell tested something else than its name says: a cell error naming the
//! field, not a silent skip later.

use crate::kconfig::KernelConfig;
use crate::matrix::Cell;
use crate::stream::Hello;

/// MemTotal is RAM minus what the kernel keeps for itself (its image,
/// page tables, reserved ranges); below this share of -m it is not the
/// memory the cell asked for. Measured: 512 MiB cells report about 95%.
const MIN_MEM_SHARE: f64 = 0.80;

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
    if h.ncpus_possible < h.ncpus_online {
        out.push(format!(
            "ncpus_possible: {} possible CPUs but {} online",
            h.ncpus_possible, h.ncpus_online
        ));
    }
    let asked_kb = u64::from(cell.mem_mb) * 1024;
    let floor_kb = (asked_kb as f64 * MIN_MEM_SHARE) as u64;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kconfig::Opt;

    fn cell() -> Cell {
        crate::matrix::Axes::default_matrix(vec![crate::arch::by_name("arm64").unwrap()]).cells()[0]
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
                ncpus_possible: 1,
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
}
