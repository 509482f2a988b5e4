//! Per-architecture data. Every arch difference (QEMU binary, machine,
//! console, kernel image, cross prefix, guest target) lives in
//! `kernels/arch/<name>.toml`; code does not branch on the arch name, except
//! the ENOSYS judge, which takes the syscall numbers of the arch the guest
//! reports.

use anyhow::{bail, Context, Result};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Arch {
    pub name: String,
    pub kernel_arch: String,
    pub cross_compile: String,
    pub image_target: String,
    pub image_path: String,
    pub image_magic_offset: u64,
    pub image_magic: String,
    pub rust_target: String,
    pub linker: String,
    /// Debian packages of the cross compiler (kernel and guest link, with
    /// the static libc), named when the compiler is missing.
    pub cc_package: String,
    /// Debian package of the guest's Rust std, named when it is missing.
    pub std_package: String,
    pub qemu: String,
    /// Debian package that ships `qemu`, named in "not found" errors.
    pub qemu_package: String,
    /// The machine profile cells boot (a key of `machines`).
    pub machine: String,
    pub machines: std::collections::BTreeMap<String, crate::matrix::machine::Machine>,
    pub cpu: String,
    pub console: String,
    pub kvm_host_arch: String,
    pub kvm_cpu: String,
    /// The kernel tree's syscall table for this arch (a `.tbl`, or
    /// asm-generic's unistd.h); kmatrix_proto::syscalls is checked against it.
    pub syscall_table: String,
    /// What guest-init reports as its arch and the kernel as uname's
    /// machine (Rust's target_arch, e.g. aarch64 for arm64).
    pub guest_arch: String,
    /// Other names users type for this arch (e.g. amd64).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The guest's byte order is big-endian (s390x).
    #[serde(default)]
    pub big_endian: bool,
    /// `kmatrix bench`'s target for this arch's ping boot, in percent of its
    /// own plain-QEMU floor (none: the row is shown without one).
    #[serde(default)]
    pub ping_floor_percent: Option<u32>,
    /// Whether a run that names no arch boots it (the first run stays
    /// short); `--arch all` or naming it boots it anyway.
    #[serde(default = "yes")]
    pub default_matrix: bool,
    /// Config fragment for this arch (kernels/arch/<name>.config).
    #[serde(skip)]
    pub fragment: String,
    /// What this arch adds to kernels/debug.config in debug cells
    /// (kernels/arch/<name>.debug.config; empty when it has none).
    #[serde(skip)]
    pub debug_fragment: String,
    /// The arch's 32-bit ABI (compat cells); none: kmatrix has no data for one.
    #[serde(default)]
    pub compat: Option<CompatAbi>,
}

/// A 64-bit arch's 32-bit ABI: what builds its probe and what lets its
/// kernel run it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CompatAbi {
    /// How messages and cell names call it (i686, armhf).
    pub name: String,
    pub rust_target: String,
    pub linker: String,
    /// Debian packages of the 32-bit cross compiler and static libc.
    pub cc_package: String,
    /// Debian package of the 32-bit Rust std.
    pub std_package: String,
    /// What the 32-bit probe reports as its arch (Rust's target_arch).
    pub guest_arch: String,
    /// The kernel's table of the compat syscall numbers, which
    /// kmatrix_proto::syscalls is checked against.
    pub syscall_table: String,
    /// The option without which the kernel cannot exec 32-bit programs.
    pub kernel_option: String,
    /// What compat kernels add (kernels/arch/<name>.compat.config).
    #[serde(skip)]
    pub fragment: String,
}

// ARCH_TABLES: (toml, fragment, debug fragment, compat fragment) of every kernels/arch/*.toml, found and
// embedded by build.rs so the binary works outside the checkout.
include!(concat!(env!("OUT_DIR"), "/arch_tables.rs"));

fn yes() -> bool {
    true
}

/// Every arch, parsed once (a report of thousands of cells looks each up).
fn tables() -> &'static [Arch] {
    static ALL: std::sync::OnceLock<Vec<Arch>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        ARCH_TABLES
            .iter()
            .map(|(t, f, d, c)| {
                let mut a: Arch = toml::from_str(t).expect("built-in arch table is valid TOML");
                a.fragment = f.to_string();
                a.debug_fragment = d.to_string();
                if let Some(abi) = a.compat.as_mut() {
                    assert!(
                        !c.is_empty(),
                        "built-in arch {}: a [compat] table needs kernels/arch/{}.compat.config",
                        a.name,
                        a.name
                    );
                    abi.fragment = c.to_string();
                }
                assert!(
                    a.machines.contains_key(&a.machine),
                    "built-in arch {}: default machine {} has no [machines] entry",
                    a.name,
                    a.machine
                );
                a
            })
            .collect()
    })
}

pub fn all() -> Vec<Arch> {
    tables().to_vec()
}

/// Looks an arch up by its kmatrix name, its guest name or an alias users
/// type (aarch64, amd64).
pub fn by_name(name: &str) -> Result<Arch> {
    let all = tables();
    let found = all.iter().find(|a| a.name == name).or_else(|| {
        all.iter()
            .find(|a| a.guest_arch == name || a.aliases.iter().any(|x| x == name))
    });
    if let Some(a) = found {
        return Ok(a.clone());
    }
    let names: Vec<_> = all.iter().map(|a| a.name.as_str()).collect();
    bail!("unknown arch '{name}' (known: {})", names.join(", "))
}

/// The named arches; `all` is every arch, and naming none is the arches
/// of the default matrix.
pub fn by_names(names: &[String]) -> Result<Vec<Arch>> {
    if names.is_empty() {
        return Ok(all().into_iter().filter(|a| a.default_matrix).collect());
    }
    if names.iter().any(|n| n == "all") {
        return Ok(all());
    }
    names.iter().map(|n| by_name(n)).collect()
}

/// Serde for a cell's arch: written as its name, looked up when read.
pub mod serde_by_name {
    use super::Arch;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(a: &Arch, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&a.name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arch, D::Error> {
        let name = String::deserialize(d)?;
        super::by_name(&name).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Arch {
    /// The selected machine profile (checked to exist when the arch is built).
    pub fn profile(&self) -> &crate::matrix::machine::Machine {
        &self.machines[&self.machine]
    }

    /// Whether this arch boots the machine its data names as the default
    /// (an unknown arch counts as on its default: there is no other).
    pub fn on_default_machine(&self) -> bool {
        by_name(&self.name).map_or(true, |a| a.machine == self.machine)
    }

    /// This arch on another of its machine profiles.
    pub fn on_machine(&self, name: &str) -> Result<Arch> {
        if !self.machines.contains_key(name) {
            let known: Vec<_> = self.machines.keys().map(String::as_str).collect();
            bail!(
                "unknown machine '{name}' for {} (known: {})",
                self.name,
                known.join(", ")
            );
        }
        let mut a = self.clone();
        a.machine = name.to_string();
        Ok(a)
    }

    /// Checks that a kernel image file is a boot image for this arch, so a
    /// wrong `--kernel` fails here with a clear message, not as a silent hang.
    pub fn check_image(&self, path: &std::path::Path) -> Result<()> {
        std::fs::File::open(path)
            .with_context(|| format!("kernel image {} cannot be opened", path.display()))?;
        if !self.has_magic(path) {
            let other = all()
                .into_iter()
                .filter(|a| a.name != self.name)
                .find(|a| a.has_magic(path));
            match other {
                Some(o) => bail!(
                    "kernel image {} is an {} image, not {} (wrong --arch?)",
                    path.display(),
                    o.name,
                    self.name
                ),
                None => bail!(
                    "kernel image {} is not a {} boot image ({} expected at offset {:#x})",
                    path.display(),
                    self.name,
                    self.image_target,
                    self.image_magic_offset
                ),
            }
        }
        Ok(())
    }

    fn has_magic(&self, path: &std::path::Path) -> bool {
        use std::io::{Read, Seek, SeekFrom};
        let mut buf = vec![0u8; self.image_magic.len()];
        std::fs::File::open(path)
            .and_then(|mut f| {
                f.seek(SeekFrom::Start(self.image_magic_offset))
                    .and_then(|_| f.read_exact(&mut buf))
            })
            .is_ok()
            && buf == self.image_magic.as_bytes()
    }

    /// True when this host can run the guest under KVM at all (it is still
    /// probed before use: /dev/kvm existing proves little).
    pub fn kvm_possible(&self) -> bool {
        std::env::consts::ARCH == self.kvm_host_arch && std::path::Path::new("/dev/kvm").exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_and_differ_only_in_data() {
        let all = all();
        assert!(all.len() >= 3);
        assert!(all.iter().all(|a| !a.fragment.is_empty()));
        assert_ne!(all[0].qemu, all[1].qemu);
        assert_eq!(by_name("aarch64").unwrap().name, "arm64");
        assert_eq!(by_name("amd64").unwrap().name, "x86_64");
        for a in &all {
            assert_eq!(&by_name(&a.guest_arch).unwrap(), a);
            for m in a.machines.keys() {
                assert_eq!(a.on_machine(m).unwrap().profile(), &a.machines[m]);
            }
            let e = a.on_machine("pc-1.0").unwrap_err().to_string();
            assert!(e.contains("unknown machine 'pc-1.0'"), "{e}");
        }
        assert!(by_name("riscv64")
            .unwrap_err()
            .to_string()
            .contains("known"));
    }

    #[test]
    fn default_matrix_is_the_two_little_endian_arches_and_all_is_every_arch() {
        let names = |v: Vec<Arch>| v.into_iter().map(|a| a.name).collect::<Vec<_>>();
        assert_eq!(names(by_names(&[]).unwrap()), ["arm64", "x86_64"]);
        assert_eq!(names(by_names(&["all".into()]).unwrap()), names(all()));
        assert!(names(all()).contains(&"s390x".to_string()));
        assert_eq!(names(by_names(&["s390x".into()]).unwrap()), ["s390x"]);
    }

    #[test]
    fn image_magic_tells_arches_apart() {
        let dir = tempfile::tempdir().unwrap();
        let arm = by_name("arm64").unwrap();
        let x86 = by_name("x86_64").unwrap();
        let mut img = vec![0u8; 0x400];
        img[0x38..0x3c].copy_from_slice(b"ARMd");
        let p = dir.path().join("Image");
        std::fs::write(&p, &img).unwrap();
        arm.check_image(&p).unwrap();
        let e = x86.check_image(&p).unwrap_err().to_string();
        assert!(e.contains("arm64 image, not x86_64"), "{e}");
        std::fs::write(&p, b"garbage").unwrap();
        assert!(arm
            .check_image(&p)
            .unwrap_err()
            .to_string()
            .contains("not a arm64"));
    }
}
