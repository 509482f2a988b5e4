//! What kmatrix knows of a cell kernel's configuration: read from the
//! .config it built, or for a prebuilt image from a .config found next to
//! it; otherwise each option is `unknown`, and checks that depend on one
//! say so instead of guessing from what the guest observed.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One option's state: set (y or m), not set, or unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Opt {
    Set,
    NotSet,
    #[default]
    Unknown,
}

impl Opt {
    /// Some(true/false) when known.
    pub fn known(self) -> Option<bool> {
        match self {
            Opt::Set => Some(true),
            Opt::NotSet => Some(false),
            Opt::Unknown => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelConfig {
    /// The .config read; empty when there was none.
    #[serde(default)]
    pub source: PathBuf,
    #[serde(default)]
    pub aio: Opt,
    #[serde(default)]
    pub debug_fs: Opt,
    /// /proc/PID/task/TID/fail-nth exists exactly with this.
    #[serde(default)]
    pub fault_injection: Opt,
    #[serde(default)]
    pub fault_injection_debug_fs: Opt,
    /// eventfd2 and IOCB_FLAG_RESFD work exactly with this.
    #[serde(default)]
    pub eventfd: Opt,
    /// CONFIG_BLOCK: without it, ioprio_check_cap is the -ENOTBLK stub.
    #[serde(default)]
    pub block: Opt,
    /// 32-bit programs run (x86_64: CONFIG_IA32_EMULATION; arm64 and the
    /// others: CONFIG_COMPAT).
    #[serde(default)]
    pub compat: Opt,
    /// CONFIG_COMPAT_32BIT_TIME: the compat entry points that take a 32-bit
    /// time (io_getevents, io_pgetevents) exist exactly with this.
    #[serde(default)]
    pub time32: Opt,
}

impl KernelConfig {
    /// From the text of a full .config: an option it does not mention is
    /// not set (olddefconfig writes every option that can be set).
    pub fn parse(text: &str, source: &Path) -> KernelConfig {
        let m = parse_config(text);
        let opt = |name: &str| match m.get(name).map(String::as_str) {
            Some("y") | Some("m") => Opt::Set,
            _ => Opt::NotSet,
        };
        KernelConfig {
            source: source.to_path_buf(),
            aio: opt("CONFIG_AIO"),
            debug_fs: opt("CONFIG_DEBUG_FS"),
            fault_injection: opt("CONFIG_FAULT_INJECTION"),
            fault_injection_debug_fs: opt("CONFIG_FAULT_INJECTION_DEBUG_FS"),
            eventfd: opt("CONFIG_EVENTFD"),
            block: opt("CONFIG_BLOCK"),
            compat: match opt("CONFIG_IA32_EMULATION") {
                Opt::Set => Opt::Set,
                _ => opt("CONFIG_COMPAT"),
            },
            time32: opt("CONFIG_COMPAT_32BIT_TIME"),
        }
    }

    pub fn read(path: &Path) -> Result<KernelConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading kernel config {}", path.display()))?;
        Ok(KernelConfig::parse(&text, path))
    }

    /// The config of a prebuilt image if one is found beside it (see
    /// `find_for_image`), else every option unknown.
    pub fn for_image(image: &Path) -> Result<KernelConfig> {
        match find_for_image(image) {
            Some(p) => KernelConfig::read(&p),
            None => Ok(KernelConfig::default()),
        }
    }
}

/// Where a prebuilt image's .config usually is: IMAGE.config, `config` or
/// `.config` beside it, or the `.config` of the kernel tree it sits in
/// (arch/ARCH/boot/IMAGE is three levels below it).
pub fn find_for_image(image: &Path) -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from(format!("{}.config", image.display()))];
    let dir = image.parent()?;
    candidates.push(dir.join("config"));
    candidates.extend(dir.ancestors().take(4).map(|d| d.join(".config")));
    candidates.into_iter().find(|p| p.is_file())
}

/// Parses `CONFIG_X=v` and `# CONFIG_X is not set` lines; `n` for the latter.
pub fn parse_config(text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("# ") {
            if let Some(name) = rest.strip_suffix(" is not set") {
                if name.starts_with("CONFIG_") {
                    m.insert(name.to_string(), "n".to_string());
                }
            }
        } else if let Some((k, v)) = line.split_once('=') {
            if k.starts_with("CONFIG_") {
                m.insert(k.to_string(), v.to_string());
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_options_and_treats_unmentioned_as_not_set() {
        let c = KernelConfig::parse(
            "CONFIG_DEBUG_FS=y\n# CONFIG_AIO is not set\nCONFIG_FAULT_INJECTION=m\nCONFIG_EVENTFD=y\n",
            Path::new("x"),
        );
        assert_eq!(
            (
                c.aio,
                c.debug_fs,
                c.fault_injection,
                c.fault_injection_debug_fs
            ),
            (Opt::NotSet, Opt::Set, Opt::Set, Opt::NotSet)
        );
        assert_eq!(c.eventfd, Opt::Set);
        assert_eq!(KernelConfig::default().aio.known(), None);
        assert_eq!(KernelConfig::default().eventfd.known(), None);
    }

    #[test]
    fn finds_the_config_of_a_kernel_tree() {
        let d = tempfile::tempdir().unwrap();
        let boot = d.path().join("arch/x86/boot");
        std::fs::create_dir_all(&boot).unwrap();
        let image = boot.join("bzImage");
        std::fs::write(&image, b"").unwrap();
        let c = KernelConfig::for_image(&image).unwrap();
        assert_eq!((c.aio, c.source), (Opt::Unknown, PathBuf::new()));
        std::fs::write(d.path().join(".config"), "CONFIG_AIO=y\n").unwrap();
        let c = KernelConfig::for_image(&image).unwrap();
        assert_eq!((c.aio, c.source), (Opt::Set, d.path().join(".config")));
        // One beside the image wins over the tree's.
        std::fs::write(boot.join("bzImage.config"), "# CONFIG_AIO is not set\n").unwrap();
        assert_eq!(KernelConfig::for_image(&image).unwrap().aio, Opt::NotSet);
    }
}
