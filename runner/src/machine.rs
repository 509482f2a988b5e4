//! Machine profiles: the QEMU board a cell boots and what follows from it
//! (virtio transport, panic device, how the guest ends, extra kernel config).
//! They are data in kernels/arch/<arch>.toml under [machines.NAME]; the arch's
//! `machine` key names the one cells boot unless another is chosen.

use crate::vm::Exit;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GuestExit {
    /// reboot(POWER_OFF) ends QEMU (ACPI on q35, PSCI on arm64 virt).
    Poweroff,
    /// No way to power off (microvm without ACPI): the guest resets and
    /// QEMU's -no-reboot turns the reset into an exit.
    Reset,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// QEMU's -machine value (",accel=..." is appended).
    pub qemu_machine: String,
    /// Bus of the virtio devices: "pci" (virtio-serial-pci, vhost-user-fs-pci)
    /// or "device" (virtio-mmio: virtio-serial-device, vhost-user-fs-device).
    pub virtio: String,
    /// A pvpanic device turns a guest panic into GUEST_PANICKED; "" for none
    /// (then the reset and the console's "Kernel panic" line name it).
    pub panic_device: String,
    pub exit: GuestExit,
    /// Extra kernel command-line words.
    #[serde(default)]
    pub cmdline: Vec<String>,
    /// Extra QEMU arguments (firmware, board options).
    #[serde(default)]
    pub qemu_args: Vec<String>,
    /// kernels/machine/<name>.config merged into this machine's kernels, "" for none.
    #[serde(default)]
    pub fragment: String,
    /// Kernel parameter that sets num_possible_cpus() where the firmware
    /// tables list only the CPUs present (x86's MP table: `possible_cpus`),
    /// "" where none does; a cell's maxcpus is passed through it.
    #[serde(default)]
    pub possible_cpus_param: String,
}

impl Machine {
    /// The word that gives the guest `max_cpus` possible CPUs, if this
    /// machine needs one (the hello check compares what the guest counted).
    pub fn possible_cpus_word(&self, max_cpus: Option<u32>) -> Option<String> {
        match (max_cpus, self.possible_cpus_param.as_str()) {
            (Some(m), p) if !p.is_empty() => Some(format!("{p}={m}")),
            _ => None,
        }
    }

    pub fn virtio_device(&self, kind: &str) -> String {
        format!("{kind}-{}", self.virtio)
    }

    /// The kernel command-line words this machine needs.
    pub fn kernel_words(&self) -> Vec<String> {
        let mut v = self.cmdline.clone();
        if self.exit == GuestExit::Reset {
            v.push(kmatrix_proto::args::EXIT_RESET_WORD.into());
        }
        v
    }

    /// Names how a VM ended, given what was seen on the way: a reset is the
    /// normal end on a machine that cannot power off, unless the console
    /// printed a kernel panic (panic=-1 also resets).
    pub fn classify(&self, exit: Exit, console_panic: bool) -> Exit {
        match exit {
            Exit::Panicked { how } if how.starts_with(RESET) => {
                if console_panic {
                    Exit::Panicked {
                        how: "kernel panic on the console (the machine reset: panic=-1)".into(),
                    }
                } else if self.exit == GuestExit::Reset {
                    Exit::PoweredOff
                } else {
                    Exit::Panicked { how }
                }
            }
            other => other,
        }
    }
}

/// Puts every cell whose arch has a machine profile `name` on it, and names
/// the machine in the cell name (x86_64@q35/aio-on/...), since the kernel
/// and the verdict may differ; an error if no cell's arch has it.
pub fn select(cells: &mut [crate::matrix::Cell], name: &str) -> anyhow::Result<()> {
    let mut any = false;
    for c in cells.iter_mut() {
        if !c.arch.machines.contains_key(name) {
            continue;
        }
        any = true;
        if c.arch.machine != name {
            let arch = c.arch.name.clone();
            c.arch = c.arch.on_machine(name)?;
            c.name = c
                .name
                .replacen(&format!("{arch}/"), &format!("{arch}@{name}/"), 1);
        }
    }
    if !any {
        let known: std::collections::BTreeSet<String> = cells
            .iter()
            .flat_map(|c| c.arch.machines.keys().cloned())
            .collect();
        anyhow::bail!(
            "--machine {name}: no selected arch has it (known: {})",
            known.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// How vm.rs spells a reset that QEMU turned into an exit.
pub const RESET: &str = "guest reset";

#[cfg(test)]
mod tests {
    use super::*;

    fn m(exit: GuestExit) -> Machine {
        Machine {
            qemu_machine: "microvm".into(),
            virtio: "device".into(),
            panic_device: String::new(),
            exit,
            cmdline: vec![],
            qemu_args: vec![],
            fragment: String::new(),
            possible_cpus_param: String::new(),
        }
    }

    #[test]
    fn maxcpus_reaches_the_kernel_where_the_machine_needs_a_word() {
        let mut x = m(GuestExit::Reset);
        assert_eq!(x.possible_cpus_word(Some(64)), None);
        x.possible_cpus_param = "possible_cpus".into();
        assert_eq!(x.possible_cpus_word(None), None);
        assert_eq!(
            x.possible_cpus_word(Some(64)).as_deref(),
            Some("possible_cpus=64")
        );
        // Both x86_64 machines list only present CPUs (MP table / MADT).
        let a = crate::arch::by_name("x86_64").unwrap();
        for (name, m) in &a.machines {
            assert_eq!(m.possible_cpus_param, "possible_cpus", "{name}");
        }
    }

    fn reset() -> Exit {
        Exit::Panicked {
            how: format!("{RESET} (kernel panic=-1 reboot)"),
        }
    }

    #[test]
    fn reset_is_the_end_only_where_the_machine_ends_that_way() {
        assert_eq!(
            m(GuestExit::Reset).classify(reset(), false),
            Exit::PoweredOff
        );
        assert_eq!(m(GuestExit::Poweroff).classify(reset(), false), reset());
    }

    #[test]
    fn a_console_panic_is_a_panic_even_on_a_reset_machine() {
        for e in [GuestExit::Reset, GuestExit::Poweroff] {
            match m(e).classify(reset(), true) {
                Exit::Panicked { how } => assert!(how.contains("kernel panic on the console")),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn other_ends_pass_through() {
        let p = Exit::Panicked {
            how: "GUEST_PANICKED (pause)".into(),
        };
        assert_eq!(m(GuestExit::Reset).classify(p.clone(), false), p);
        let t = Exit::TimedOut {
            stopped_by: "qmp quit".into(),
        };
        assert_eq!(m(GuestExit::Reset).classify(t.clone(), true), t);
    }

    #[test]
    fn select_moves_the_arches_that_have_the_machine_and_names_it() {
        let mut cells = crate::matrix::Axes::default_matrix(crate::arch::all()).cells();
        select(&mut cells, "q35").unwrap();
        for c in &cells {
            if c.arch.name == "x86_64" {
                assert_eq!(c.arch.machine, "q35");
                assert!(c.name.starts_with("x86_64@q35/"), "{}", c.name);
            } else {
                assert_eq!(c.arch.machine, "virt", "{}", c.name);
                assert!(!c.name.contains('@'), "{}", c.name);
            }
        }
        let e = select(&mut cells, "pc-1.0").unwrap_err().to_string();
        assert!(
            e.contains("no selected arch has it") && e.contains("q35"),
            "{e}"
        );
    }

    #[test]
    fn reset_machines_ask_the_guest_to_reset() {
        assert!(m(GuestExit::Reset)
            .kernel_words()
            .contains(&kmatrix_proto::args::EXIT_RESET_WORD.to_string()));
        assert!(m(GuestExit::Poweroff).kernel_words().is_empty());
    }
}
