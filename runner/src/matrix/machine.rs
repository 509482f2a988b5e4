//! Machine profiles: the QEMU board a cell boots and what follows from it
//! (virtio transport, panic device, how the guest ends, extra kernel config).
//! They are data in kernels/arch/<arch>.toml under [machines.NAME]; the arch's
//! `machine` key names the one cells boot unless another is chosen.

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
}

/// A microvm-like profile that ends as `exit` (for tests here and in vm).
#[cfg(test)]
pub(crate) fn test_profile(exit: GuestExit) -> Machine {
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

#[cfg(test)]
mod tests {
    use super::*;
    use test_profile as m;

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
        let a = crate::matrix::arch::by_name("x86_64").unwrap();
        for (name, m) in &a.machines {
            assert_eq!(m.possible_cpus_param, "possible_cpus", "{name}");
        }
    }

    #[test]
    fn reset_machines_ask_the_guest_to_reset() {
        assert!(m(GuestExit::Reset)
            .kernel_words()
            .contains(&kmatrix_proto::args::EXIT_RESET_WORD.to_string()));
        assert!(m(GuestExit::Poweroff).kernel_words().is_empty());
    }
}
