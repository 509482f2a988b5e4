//! The matrix: which cells to run. A cell is one VM boot: an arch, a kernel
//! config, sysctls, CPUs and memory. Its children are the data a cell is
//! made of: arches (`arch`), their machines (`machine`), the kernel config
//! fragments and what they must set (`kconfig`), and the AIO syscalls'
//! numbers by arch (`syscalls`).

pub mod arch;
pub mod kconfig;
pub mod machine;
pub mod syscalls;

use crate::matrix::arch::Arch;
use crate::matrix::kconfig::KernelConfig;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The kernel config a cell boots: CONFIG_AIO on or off
/// (kernels/aio-on.config, kernels/aio-off.config), or a prebuilt image
/// (`--kernel`) taken as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Config {
    AioOn,
    AioOff,
    Prebuilt,
}

impl Config {
    /// The name in cell names, reports, matrix files and `--config`; for
    /// the built ones also their fragment's (kbuild::builtin_fragment).
    pub fn as_str(self) -> &'static str {
        match self {
            Config::AioOn => "aio-on",
            Config::AioOff => "aio-off",
            Config::Prebuilt => "prebuilt",
        }
    }
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `--config` and matrix files accept: the configs kmatrix builds.
impl std::str::FromStr for Config {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "aio-on" => Ok(Config::AioOn),
            "aio-off" => Ok(Config::AioOff),
            "prebuilt" => Err(
                "config 'prebuilt' is what --kernel IMAGE boots; it is not chosen by name".into(),
            ),
            other => Err(format!(
                "unknown kernel config '{other}' (known: aio-on, aio-off)"
            )),
        }
    }
}

/// The kernel variant a cell boots: `plain` (the config as it is) or
/// `debug` (kernels/debug.config and the arch's debug additions on top:
/// lockdep, might_sleep checks, KASAN, kmemleak, ...), whose reports on the
/// console become verdicts (oracle/splat.rs).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    #[default]
    Plain,
    Debug,
}

/// `as_str`, Display and FromStr for an axis enum whose values are named
/// words: one list of (value, word), and the noun its error names.
macro_rules! named_values {
    ($t:ident, $noun:literal, $($v:ident => $w:literal),+) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($t::$v => $w,)+
                }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> std::result::Result<Self, String> {
                match s {
                    $($w => Ok($t::$v),)+
                    other => Err(format!(
                        concat!("unknown ", $noun, " '{}' (known: ", named_values!(@join $($w),+), ")"),
                        other
                    )),
                }
            }
        }
    };
    (@join $first:literal $(, $rest:literal)*) => {
        concat!($first $(, ", ", $rest)*)
    };
}

named_values!(Variant, "kernel variant", Plain => "plain", Debug => "debug");

impl Variant {
    pub fn is_plain(&self) -> bool {
        *self == Variant::Plain
    }
}

/// The ABI a cell's probe is built for: `native` (the arch's own, 64-bit)
/// or `compat` (the arch's 32-bit ABI on the same kernel: i686 on x86_64,
/// armv7 hard-float on arm64), which enters the kernel through the compat
/// syscall table. The arch's `[compat]` table says what compat is there.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Abi {
    #[default]
    Native,
    Compat,
}

named_values!(Abi, "ABI", Native => "native", Compat => "compat");

impl Abi {
    pub fn is_native(&self) -> bool {
        *self == Abi::Native
    }
}

/// What a cell's kernel offers the arch's 32-bit programs: nothing (`off`:
/// the default kernels), or the compat ABI (the arch's `[compat]` table and
/// kernels/arch/<arch>.compat.config) with the entry points that take a
/// 32-bit time_t (`on`, kernels/time32-on.config) or without them
/// (`notime32`, kernels/time32-off.config). The matrix's `compat` and
/// `time32` axes make these; time32 means nothing without compat.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Compat {
    #[default]
    Off,
    On,
    #[serde(rename = "notime32")]
    NoTime32,
}

impl Compat {
    pub fn is_off(&self) -> bool {
        *self == Compat::Off
    }

    /// From the two axes' values: compat on or off, time32 on or off.
    pub fn of(compat: bool, time32: bool) -> Compat {
        match (compat, time32) {
            (false, _) => Compat::Off,
            (true, true) => Compat::On,
            (true, false) => Compat::NoTime32,
        }
    }

    /// Its part of a kernel's label (none for `off`).
    pub fn label(self) -> Option<&'static str> {
        match self {
            Compat::Off => None,
            Compat::On => Some("compat"),
            Compat::NoTime32 => Some("compat-notime32"),
        }
    }
}

/// `on` / `off`, as the compat and time32 axes take them.
pub fn parse_on_off(s: &str) -> std::result::Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("'{other}': expected on or off")),
    }
}

/// Arches that have a 32-bit ABI in kmatrix's data, for messages.
fn compat_arches() -> String {
    let v: Vec<String> = arch::all()
        .into_iter()
        .filter_map(|a| a.compat.map(|c| format!("{} ({})", a.name, c.name)))
        .collect();
    v.join(", ")
}

/// How a kernel's config, compat options and variant are named in cells,
/// builds and progress: `aio-on` (plain kernels without compat keep their
/// old names), `aio-on+compat`, `aio-on+compat-notime32+debug`.
pub fn config_label(config: Config, variant: Variant, compat: Compat) -> String {
    let mut s = config.to_string();
    for part in [
        compat.label(),
        (!variant.is_plain()).then(|| variant.as_str()),
    ]
    .into_iter()
    .flatten()
    {
        s.push('+');
        s.push_str(part);
    }
    s
}

/// Debug cells run slower (lockdep, KASAN, kmemleak under TCG): their
/// timeout is the matrix's times this.
pub const DEBUG_TIMEOUT_FACTOR: u64 = 3;
/// Least memory a debug cell boots with: KASAN keeps 1/8 of memory as
/// shadow, and lockdep's and kmemleak's tables come on top.
pub const DEBUG_MIN_MEM_MB: u32 = 512;

/// The checks a debug kernel brings, by the option that turns each on: an
/// arch whose debug fragments lack one is named when the matrix is read.
pub const DEBUG_CHECKS: &[(&str, &str)] = &[
    (
        "CONFIG_PROVE_LOCKING",
        "lock order and lock context (lockdep)",
    ),
    (
        "CONFIG_DEBUG_ATOMIC_SLEEP",
        "sleeping in atomic context (might_sleep)",
    ),
    (
        "CONFIG_KASAN",
        "out-of-bounds and use-after-free accesses (KASAN)",
    ),
    ("CONFIG_DEBUG_KMEMLEAK", "leaked allocations (kmemleak)"),
    ("CONFIG_DEBUG_LIST", "list corruption"),
    (
        "CONFIG_DEBUG_OBJECTS",
        "objects freed while in use (debugobjects)",
    ),
];

/// For each arch among `cells`' debug cells, what its debug kernel cannot
/// check (an option neither kernels/debug.config nor the arch's
/// kernels/arch/<arch>.debug.config turns on), with what it still checks.
pub fn debug_gaps(cells: &[Cell]) -> Vec<String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    let common = include_str!("../../../kernels/debug.config");
    for c in cells.iter().filter(|c| !c.variant.is_plain()) {
        if seen.contains(&c.arch.name.as_str()) {
            continue;
        }
        seen.push(&c.arch.name);
        let on = |opt: &str| {
            [common, c.arch.debug_fragment.as_str()]
                .iter()
                .flat_map(|t| t.lines())
                .filter(|l| l.trim() == format!("{opt}=y"))
                .count()
                > 0
        };
        let (have, lack): (Vec<_>, Vec<_>) = DEBUG_CHECKS.iter().partition(|(o, _)| on(o));
        if !lack.is_empty() {
            let names = |v: &[&(&str, &str)]| v.iter().map(|x| x.1).collect::<Vec<_>>().join(", ");
            out.push(format!(
                "{} debug cells cannot check {} (kernels/arch/{}.debug.config does not turn on {}); they check {}",
                c.arch.name,
                names(&lack),
                c.arch.name,
                lack.iter().map(|x| x.0).collect::<Vec<_>>().join(", "),
                names(&have),
            ));
        }
    }
    out
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cell {
    /// Stable name, e.g. "x86_64/aio-on/max65536/cpu2/mem512": `parts()`
    /// joined by '/', set by `named()` and never parsed back.
    pub name: String,
    /// Written as the arch's name; reading a report looks it up again.
    #[serde(with = "arch::serde_by_name")]
    pub arch: Arch,
    pub config: Config,
    /// plain or debug; reports from before the variant axis are plain.
    #[serde(default, skip_serializing_if = "Variant::is_plain")]
    pub variant: Variant,
    /// What the kernel offers 32-bit programs; reports from before the
    /// compat axes are `off`.
    #[serde(default, skip_serializing_if = "Compat::is_off")]
    pub compat: Compat,
    /// native or compat; reports from before the ABI axis are native.
    #[serde(default, skip_serializing_if = "Abi::is_native")]
    pub abi: Abi,
    /// Value written to fs.aio-max-nr before the probe; None leaves the
    /// kernel default.
    pub aio_max_nr: Option<u64>,
    pub cpus: u32,
    /// Possible CPUs (`-smp cpus,maxcpus=M`): num_possible_cpus() in the
    /// guest; None means the same as `cpus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxcpus: Option<u32>,
    pub mem_mb: u32,
    pub timeout_s: u64,
    /// Position in the full matrix: shards and merges keep this order.
    #[serde(default)]
    pub index: usize,
    /// The kernel's config as built (or found beside a prebuilt image);
    /// unknown until the kernel is prepared.
    #[serde(default)]
    pub kernel_config: KernelConfig,
}

impl Cell {
    /// The parts of the cell's name, in order: the arch (`arch@machine`
    /// off the arch's default machine), the 32-bit ABI's name in compat
    /// cells (`i686`), the kernel (`config_label`: `aio-on+debug`), `maxN`
    /// or `maxdefault`, `cpuN` (`cpuN-M` with M possible CPUs), `memN`.
    pub fn parts(&self) -> Vec<String> {
        let mut arch = if self.arch.on_default_machine() {
            self.arch.name.clone()
        } else {
            format!("{}@{}", self.arch.name, self.arch.machine)
        };
        if !self.abi.is_native() {
            let abi = self.arch.compat.as_ref().map_or("compat", |c| &c.name);
            arch = format!("{arch}/{abi}");
        }
        let max = self
            .aio_max_nr
            .map_or("maxdefault".to_string(), |v| format!("max{v}"));
        let possible = self.maxcpus.map_or(String::new(), |p| format!("-{p}"));
        vec![
            arch,
            config_label(self.config, self.variant, self.compat),
            max,
            format!("cpu{}{possible}", self.cpus),
            format!("mem{}", self.mem_mb),
        ]
    }

    /// The cell with its name made from its fields.
    pub fn named(mut self) -> Cell {
        self.name = self.parts().join("/");
        self
    }
}

/// Axes of a matrix; the cells are their product.
#[derive(Debug, Clone)]
pub struct Axes {
    pub arches: Vec<Arch>,
    pub configs: Vec<Config>,
    pub variants: Vec<Variant>,
    /// Kernels with the compat ABI (on) or without (off); None: on exactly
    /// when some cell's probe is compat, so the native cells of such a run
    /// boot the same kernels and the two ABIs compare.
    pub compat: Option<Vec<bool>>,
    /// Compat kernels with the 32-bit time entry points (on) or without.
    pub time32: Vec<bool>,
    pub abis: Vec<Abi>,
    pub aio_max_nr: Vec<Option<u64>>,
    pub cpus: Vec<u32>,
    pub maxcpus: Vec<Option<u32>>,
    pub mem_mb: Vec<u32>,
    pub timeout_s: u64,
}

impl Axes {
    /// The default matrix: both arches, CONFIG_AIO on and off.
    pub fn default_matrix(arches: Vec<Arch>) -> Self {
        Axes {
            arches,
            configs: vec![Config::AioOn, Config::AioOff],
            variants: vec![Variant::Plain],
            compat: None,
            time32: vec![true],
            abis: vec![Abi::Native],
            aio_max_nr: vec![None],
            cpus: vec![2],
            maxcpus: vec![None],
            mem_mb: vec![512],
            timeout_s: 120,
        }
    }

    /// Refuses axis values no cell could run with, naming the reason.
    pub fn validate(&self) -> Result<()> {
        if self.cpus.contains(&0) {
            bail!("cpus 0: a cell needs at least one vCPU");
        }
        if let Some(m) = self.mem_mb.iter().find(|&&m| m < MIN_MEM_MB) {
            bail!("mem {m} MiB: a cell needs at least {MIN_MEM_MB} MiB (the kernel, the unpacked initramfs with the guest, and the probe's rings)");
        }
        let wants_compat = self.abis.contains(&Abi::Compat)
            || self.compat.as_ref().is_some_and(|c| c.contains(&true));
        if wants_compat {
            if let Some(a) = self.arches.iter().find(|a| a.compat.is_none()) {
                bail!(
                    "{}: kmatrix has no 32-bit ABI for it, so it has no compat cells or kernels (arches with one: {})",
                    a.name,
                    compat_arches()
                );
            }
        }
        if self.time32.contains(&false) && !self.compat_axis().contains(&true) {
            bail!("time32 off: the 32-bit time entry points exist only in compat kernels; add compat on (or abi compat)");
        }
        Ok(())
    }

    /// The compat axis as it is given, or on exactly for a run with compat probes.
    fn compat_axis(&self) -> Vec<bool> {
        match &self.compat {
            Some(c) => c.clone(),
            None => vec![self.abis.contains(&Abi::Compat)],
        }
    }

    /// The kernels' compat options for a config: without CONFIG_AIO every
    /// AIO entry point is ENOSYS, so time32 makes no difference there.
    fn compats(&self, config: Config) -> Vec<Compat> {
        let mut out = Vec::new();
        for on in self.compat_axis() {
            for &t in &self.time32 {
                let c = Compat::of(on, t || config == Config::AioOff);
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }

    pub fn cells(&self) -> Vec<Cell> {
        let mut out = Vec::new();
        let default_only = [None];
        let kernels: Vec<(&Config, Compat, Variant)> = (self.configs.iter())
            .flat_map(|c| self.compats(*c).into_iter().map(move |k| (c, k)))
            .flat_map(|(c, k)| self.variants.iter().map(move |v| (c, k, *v)))
            .collect();
        for a in &self.arches {
            for (&(c, compat, variant), &abi) in kernels
                .iter()
                .flat_map(|k| self.abis.iter().map(move |a| (k, a)))
            {
                // Without CONFIG_AIO there is no fs.aio-max-nr to set.
                let maxes = if *c == Config::AioOff {
                    &default_only[..]
                } else {
                    &self.aio_max_nr[..]
                };
                for m in maxes {
                    for (&cpus, &maxcpus) in self
                        .cpus
                        .iter()
                        .flat_map(|c| self.maxcpus.iter().map(move |m| (c, m)))
                    {
                        for &mem in &self.mem_mb {
                            let cell = Cell {
                                name: String::new(),
                                arch: a.clone(),
                                config: *c,
                                variant,
                                compat,
                                abi,
                                aio_max_nr: *m,
                                cpus,
                                maxcpus,
                                mem_mb: mem,
                                timeout_s: match variant {
                                    Variant::Plain => self.timeout_s,
                                    Variant::Debug => self.timeout_s * DEBUG_TIMEOUT_FACTOR,
                                },
                                index: out.len(),
                                kernel_config: KernelConfig::default(),
                            };
                            out.push(cell.named());
                        }
                    }
                }
            }
        }
        out
    }
}

/// Refuses debug cells with less than DEBUG_MIN_MEM_MB, naming the first.
pub fn check_debug_cells(cells: &[Cell]) -> Result<()> {
    let small = cells
        .iter()
        .find(|c| !c.variant.is_plain() && c.mem_mb < DEBUG_MIN_MEM_MB);
    if let Some(c) = small {
        bail!("{}: a debug cell needs at least {DEBUG_MIN_MEM_MB} MiB (KASAN's shadow is 1/8 of memory, lockdep's and kmemleak's tables come on top); exclude such cells (variant = \"debug\" in an [[exclude]]) or give them more memory", c.name);
    }
    Ok(())
}

/// Smallest guest memory accepted for a cell, in MiB.
pub const MIN_MEM_MB: u32 = 64;

/// An fs.aio-max-nr value as the sysctl takes it: an unsigned long.
pub fn parse_aio_max_nr(s: &str) -> std::result::Result<u64, String> {
    s.trim().parse::<u64>().map_err(|_| {
        format!("aio-max-nr {s:?}: fs.aio-max-nr is an unsigned long, 0..=18446744073709551615")
    })
}

/// A matrix file (TOML). Axes multiply; `exclude` entries drop every cell
/// that matches all of their keys; `timeouts` set per-cell limits.
///
/// ```toml
/// timeout = 120
/// [axes]
/// arch = ["x86_64", "arm64"]
/// config = ["aio-on", "aio-off"]
/// aio_max_nr = ["default", 1, 65536, "18446744073709551615"]
/// cpus = [1, 2, 4]
/// mem = [512]
/// [[exclude]]
/// config = "aio-off"
/// aio_max_nr = 1
/// [[timeouts]]
/// arch = "x86_64"
/// timeout = 300
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixFile {
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    pub axes: FileAxes,
    #[serde(default)]
    pub exclude: Vec<Match>,
    #[serde(default)]
    pub timeouts: Vec<TimeoutRule>,
}

fn default_timeout() -> u64 {
    120
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAxes {
    #[serde(default)]
    pub arch: Vec<String>,
    #[serde(default)]
    pub config: Vec<Config>,
    /// plain, debug; default plain.
    #[serde(default)]
    pub variant: Vec<Variant>,
    /// native, compat; default native.
    #[serde(default)]
    pub abi: Vec<Abi>,
    /// "on", "off"; default on exactly when abi has compat.
    #[serde(default)]
    pub compat: Vec<OnOff>,
    /// "on", "off" (compat kernels only); default on.
    #[serde(default)]
    pub time32: Vec<OnOff>,
    #[serde(default)]
    pub aio_max_nr: Vec<MaxNr>,
    #[serde(default)]
    pub cpus: Vec<u32>,
    /// Possible CPUs, 1..=64 (the kernels' NR_CPUS), at least `cpus`.
    #[serde(default)]
    pub maxcpus: Vec<u32>,
    #[serde(default)]
    pub mem: Vec<u32>,
}

/// "on" or "off" in a matrix file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    pub fn on(self) -> bool {
        self == OnOff::On
    }
}

/// TOML integers stop at i64; aio-max-nr is an unsigned long, so large
/// values (and "default") come as strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MaxNr {
    Int(i64),
    Text(String),
}

impl MaxNr {
    fn value(&self) -> Result<Option<u64>> {
        match self {
            MaxNr::Int(i) => Ok(Some(u64::try_from(*i).with_context(|| {
                format!("aio_max_nr {i}: fs.aio-max-nr is an unsigned long, it cannot be negative")
            })?)),
            MaxNr::Text(t) if t == "default" => Ok(None),
            MaxNr::Text(t) => Ok(Some(parse_aio_max_nr(t).map_err(anyhow::Error::msg)?)),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    pub arch: Option<String>,
    pub config: Option<Config>,
    pub variant: Option<Variant>,
    pub abi: Option<Abi>,
    pub compat: Option<OnOff>,
    pub time32: Option<OnOff>,
    pub aio_max_nr: Option<MaxNr>,
    pub cpus: Option<u32>,
    pub maxcpus: Option<u32>,
    pub mem: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct TimeoutRule {
    #[serde(flatten)]
    pub when: Match,
    pub timeout: u64,
}

impl Match {
    fn matches(&self, c: &Cell) -> bool {
        self.arch
            .as_ref()
            .is_none_or(|a| arch::by_name(a).is_ok_and(|a| a.name == c.arch.name))
            && self.config.as_ref().is_none_or(|x| *x == c.config)
            && self.variant.is_none_or(|x| x == c.variant)
            && self.abi.is_none_or(|x| x == c.abi)
            && self.compat.is_none_or(|x| x.on() != c.compat.is_off())
            && (self.time32)
                .is_none_or(|x| !c.compat.is_off() && x.on() == (c.compat == Compat::On))
            && self
                .aio_max_nr
                .as_ref()
                .is_none_or(|m| m.value().ok() == Some(c.aio_max_nr))
            && self.cpus.is_none_or(|x| x == c.cpus)
            && self.maxcpus.is_none_or(|x| Some(x) == c.maxcpus)
            && self.mem.is_none_or(|x| x == c.mem_mb)
    }
}

impl MatrixFile {
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("matrix file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("matrix file {}", path.display()))
    }

    pub fn cells(&self) -> Result<Vec<Cell>> {
        let a = &self.axes;
        let mut axes = Axes::default_matrix(arch::by_names(&a.arch)?);
        if !a.config.is_empty() {
            if a.config.contains(&Config::Prebuilt) {
                bail!("config 'prebuilt' is what --kernel IMAGE boots; a matrix names aio-on or aio-off");
            }
            axes.configs = a.config.clone();
        }
        if !a.variant.is_empty() {
            axes.variants = a.variant.clone();
        }
        if !a.abi.is_empty() {
            axes.abis = a.abi.clone();
        }
        if !a.compat.is_empty() {
            axes.compat = Some(a.compat.iter().map(|x| x.on()).collect());
        }
        if !a.time32.is_empty() {
            axes.time32 = a.time32.iter().map(|x| x.on()).collect();
        }
        if !a.aio_max_nr.is_empty() {
            axes.aio_max_nr = a
                .aio_max_nr
                .iter()
                .map(MaxNr::value)
                .collect::<Result<_>>()?;
        }
        if !a.cpus.is_empty() {
            axes.cpus = a.cpus.clone();
        }
        if !a.mem.is_empty() {
            axes.mem_mb = a.mem.clone();
        }
        if let Some(m) = a.maxcpus.iter().find(|&&m| m == 0 || m > 64) {
            bail!("maxcpus {m}: must be 1..=64 (the kernels' NR_CPUS)");
        }
        if !a.maxcpus.is_empty() {
            axes.maxcpus = a.maxcpus.iter().map(|&m| Some(m)).collect();
        }
        axes.timeout_s = self.timeout;
        axes.validate()?;
        let mut cells: Vec<Cell> = axes
            .cells()
            .into_iter()
            .filter(|c| !self.exclude.iter().any(|e| e.matches(c)))
            // Fewer possible than online CPUs is no machine at all.
            .filter(|c| c.maxcpus.is_none_or(|m| m >= c.cpus))
            .collect();
        if cells.is_empty() {
            bail!("the matrix has no cells left after excludes");
        }
        check_debug_cells(&cells)?;
        for (i, c) in cells.iter_mut().enumerate() {
            c.index = i;
            if let Some(t) = self.timeouts.iter().rev().find(|t| t.when.matches(c)) {
                c.timeout_s = t.timeout;
            }
        }
        Ok(cells)
    }
}

/// `*` matches any run of characters; anything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// Shard `k` of `n` (1-based): every n-th cell, so shards stay balanced
/// across arches and the union of all shards is the whole matrix.
pub fn shard(cells: Vec<Cell>, k: usize, n: usize) -> Vec<Cell> {
    cells.into_iter().filter(|c| c.index % n == k - 1).collect()
}

pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s.split_once('/').ok_or("--shard takes K/N, e.g. 1/2")?;
    let (k, n): (usize, usize) = (
        k.parse().map_err(|_| "bad K in --shard K/N")?,
        n.parse().map_err(|_| "bad N in --shard K/N")?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(format!("--shard {s}: K must be in 1..=N"));
    }
    Ok((k, n))
}

/// Puts every cell whose arch has a machine profile `name` on it, and names
/// the machine in the cell name (x86_64@q35/aio-on/...), since the kernel
/// and the verdict may differ; an error if no cell's arch has it.
pub fn select_machine(cells: &mut [Cell], name: &str) -> Result<()> {
    let mut any = false;
    for c in cells.iter_mut() {
        if !c.arch.machines.contains_key(name) {
            continue;
        }
        any = true;
        if c.arch.machine != name {
            c.arch = c.arch.on_machine(name)?;
            c.name = c.parts().join("/");
        }
    }
    if !any {
        let known: std::collections::BTreeSet<String> = cells
            .iter()
            .flat_map(|c| c.arch.machines.keys().cloned())
            .collect();
        bail!(
            "--machine {name}: no selected arch has it (known: {})",
            known.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn default_matrix_is_four_cells_with_unique_names() {
        let cells = Axes::default_matrix(crate::matrix::arch::by_names(&[]).unwrap()).cells();
        assert_eq!(cells.len(), 4);
        let mut names: Vec<_> = cells.iter().map(|c| c.name.clone()).collect();
        names.dedup();
        assert_eq!(names.len(), 4);
        assert!(cells
            .iter()
            .any(|c| c.arch.name == "arm64" && c.config == Config::AioOff));
    }

    #[test]
    fn matrix_file_axes_excludes_and_timeouts() {
        let f: MatrixFile = toml::from_str(
            r#"
            timeout = 60
            [axes]
            arch = ["x86_64", "aarch64"]
            config = ["aio-on", "aio-off"]
            aio_max_nr = ["default", 1, "18446744073709551615"]
            [[exclude]]
            config = "aio-off"
            aio_max_nr = 1
            [[exclude]]
            config = "aio-off"
            aio_max_nr = "18446744073709551615"
            [[timeouts]]
            arch = "arm64"
            timeout = 7
            "#,
        )
        .unwrap();
        let cells = f.cells().unwrap();
        assert_eq!(cells.len(), 2 * (3 + 1));
        assert!(cells.iter().any(|c| c.aio_max_nr == Some(u64::MAX)));
        assert!(cells
            .iter()
            .all(|c| c.timeout_s == if c.arch.name == "arm64" { 7 } else { 60 }));
        assert!(cells.iter().enumerate().all(|(i, c)| c.index == i));
        assert!(toml::from_str::<MatrixFile>("[axes]\nbogus = 1").is_err());
    }

    #[test]
    fn maxcpus_axis_names_cells_and_is_bounded() {
        let f: MatrixFile = toml::from_str(include_str!("../../../matrices/maxcpus.toml")).unwrap();
        let cells = f.cells().unwrap();
        // x86_64, arm64 and s390x (which counts maxcpus from SCLP's max cores).
        assert_eq!(cells.len(), 3);
        assert!(cells
            .iter()
            .all(|c| c.maxcpus == Some(64) && c.name.contains("/cpu1-64/")));
        let f: MatrixFile = toml::from_str("[axes]\ncpus = [1, 4]\nmaxcpus = [2]").unwrap();
        assert!(
            f.cells().unwrap().iter().all(|c| c.cpus == 1),
            "maxcpus below cpus is dropped"
        );
        let f: MatrixFile = toml::from_str("[axes]\nmaxcpus = [65]").unwrap();
        assert!(f.cells().unwrap_err().to_string().contains("maxcpus 65"));
    }

    #[test]
    fn bad_axis_values_are_refused_with_the_reason() {
        let mut axes = Axes::default_matrix(crate::matrix::arch::by_names(&[]).unwrap());
        axes.cpus = vec![2, 0];
        assert!(axes.validate().unwrap_err().to_string().contains("cpus 0"));
        axes.cpus = vec![2];
        axes.mem_mb = vec![16];
        assert!(axes
            .validate()
            .unwrap_err()
            .to_string()
            .contains("mem 16 MiB"));
        for bad in ["-1", "18446744073709551616", "lots", ""] {
            assert!(
                parse_aio_max_nr(bad).unwrap_err().contains("unsigned long"),
                "{bad}"
            );
        }
        assert_eq!(parse_aio_max_nr("18446744073709551615"), Ok(u64::MAX));
        let f: MatrixFile = toml::from_str("[axes]\naio_max_nr = [-5]").unwrap();
        assert!(format!("{:#}", f.cells().unwrap_err()).contains("cannot be negative"));
        let f: MatrixFile = toml::from_str("[axes]\ncpus = [0]").unwrap();
        assert!(f.cells().is_err());
    }

    /// The name is spelled once (`Cell::parts`), and reads as it always did.
    #[test]
    fn names_come_from_the_typed_parts() {
        let mut axes = Axes::default_matrix(crate::matrix::arch::by_names(&[]).unwrap());
        axes.aio_max_nr = vec![Some(u64::MAX)];
        axes.maxcpus = vec![Some(8)];
        let names: Vec<String> = axes.cells().iter().map(|c| c.name.clone()).collect();
        assert!(
            names.contains(&"x86_64/aio-on/max18446744073709551615/cpu2-8/mem512".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"arm64/aio-off/maxdefault/cpu2-8/mem512".to_string()),
            "{names:?}"
        );
        for c in axes.cells() {
            assert_eq!(c.name, c.parts().join("/"));
        }
    }

    /// A config is one of the built ones: a typo is refused where it is
    /// written (before, a misspelt exclude silently matched no cell).
    #[test]
    fn a_config_name_is_checked_wherever_it_is_written() {
        assert_eq!("aio-off".parse::<Config>(), Ok(Config::AioOff));
        let e = "aoi-on".parse::<Config>().unwrap_err();
        assert!(
            e.contains("unknown kernel config 'aoi-on'") && e.contains("aio-on, aio-off"),
            "{e}"
        );
        assert!("prebuilt"
            .parse::<Config>()
            .unwrap_err()
            .contains("--kernel"));
        let typo = toml::from_str::<MatrixFile>("[axes]\n[[exclude]]\nconfig = \"aoi-off\"");
        assert!(format!("{:#}", typo.unwrap_err()).contains("aoi-off"));
        assert!(toml::from_str::<MatrixFile>("[axes]\nconfig = [\"aio-of\"]").is_err());
        let f: MatrixFile = toml::from_str("[axes]\nconfig = [\"prebuilt\"]").unwrap();
        assert!(f.cells().unwrap_err().to_string().contains("--kernel"));
        // Reports written before the type keep reading.
        let c: Config = serde_json::from_str("\"prebuilt\"").unwrap();
        assert_eq!(
            (c, serde_json::to_string(&Config::AioOn).unwrap()),
            (Config::Prebuilt, "\"aio-on\"".to_string())
        );
    }

    #[test]
    fn aio_off_cells_have_no_aio_max_nr_axis() {
        let mut axes = Axes::default_matrix(crate::matrix::arch::by_names(&[]).unwrap());
        axes.aio_max_nr = vec![Some(1), Some(65536)];
        let cells = axes.cells();
        assert_eq!(cells.len(), 2 * (2 + 1));
        assert!(cells
            .iter()
            .filter(|c| c.config == Config::AioOff)
            .all(|c| c.aio_max_nr.is_none()));
    }

    #[test]
    fn the_variant_axis_names_cells_and_gives_debug_cells_time_and_memory() {
        let f: MatrixFile = toml::from_str(
            "timeout = 100\n[axes]\narch = [\"x86_64\"]\nconfig = [\"aio-on\"]\nvariant = [\"plain\", \"debug\"]\nmem = [256, 512]\n[[exclude]]\nvariant = \"debug\"\nmem = 256",
        )
        .unwrap();
        let cells = f.cells().unwrap();
        let names: Vec<&str> = cells.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "x86_64/aio-on/maxdefault/cpu2/mem256",
                "x86_64/aio-on/maxdefault/cpu2/mem512",
                "x86_64/aio-on+debug/maxdefault/cpu2/mem512"
            ]
        );
        assert_eq!(cells[2].timeout_s, 100 * DEBUG_TIMEOUT_FACTOR);
        assert_eq!(cells[1].timeout_s, 100);
        // Without the exclude, the 256 MiB debug cell is refused by name.
        let f: MatrixFile = toml::from_str("[axes]\nvariant = [\"debug\"]\nmem = [256]").unwrap();
        let e = format!("{:#}", f.cells().unwrap_err());
        assert!(e.contains("aio-on+debug") && e.contains("512 MiB"), "{e}");
        assert!(toml::from_str::<MatrixFile>("[axes]\nvariant = [\"debgu\"]").is_err());
        assert_eq!(
            "debgu".parse::<Variant>().unwrap_err(),
            "unknown kernel variant 'debgu' (known: plain, debug)"
        );
        // Plain cells serialize as before (no variant key).
        let json = serde_json::to_value(&cells[0]).unwrap();
        assert!(json.get("variant").is_none(), "{json}");
    }

    #[test]
    fn an_arch_without_kasan_is_named_with_what_its_debug_cells_check() {
        // x86_64 and arm64 have generic KASAN (an arch added without
        // kernels/arch/<arch>.debug.config would be named here).
        let both = ["x86_64", "arm64"].map(|a| crate::matrix::arch::by_name(a).unwrap());
        let mut axes = Axes::default_matrix(both.to_vec());
        axes.variants = vec![Variant::Debug];
        let cells = axes.cells();
        assert!(debug_gaps(&cells).is_empty(), "{:?}", debug_gaps(&cells));
        let mut cells = cells;
        for c in &mut cells {
            c.arch.debug_fragment = String::new();
        }
        let gaps = debug_gaps(&cells);
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        assert!(
            gaps[0].contains("cannot check out-of-bounds and use-after-free accesses (KASAN)")
                && gaps[0].contains("they check lock order"),
            "{gaps:?}"
        );
        // Plain cells need nothing.
        assert!(debug_gaps(&Axes::default_matrix(crate::matrix::arch::all()).cells()).is_empty());
    }

    #[test]
    fn glob_matches() {
        assert!(glob("x86_64/*", "x86_64/aio-on/max1"));
        assert!(glob("*aio-off*", "arm64/aio-off/cpu2"));
        assert!(!glob("arm64/*", "x86_64/aio-on"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
    }

    #[test]
    fn shards_partition_the_matrix() {
        let mut axes = Axes::default_matrix(crate::matrix::arch::by_names(&[]).unwrap());
        axes.cpus = vec![1, 2, 4];
        let all = axes.cells();
        let mut joined: Vec<Cell> = (1..=3).flat_map(|k| shard(all.clone(), k, 3)).collect();
        joined.sort_by_key(|c| c.index);
        assert_eq!(joined, all);
        assert_eq!(shard(all.clone(), 1, 3).len(), 4);
        assert!(parse_shard("3/2").is_err());
        assert_eq!(parse_shard("2/5"), Ok((2, 5)));
    }

    #[test]
    fn select_moves_the_arches_that_have_the_machine_and_names_it() {
        let mut cells = Axes::default_matrix(crate::matrix::arch::by_names(&[]).unwrap()).cells();
        select_machine(&mut cells, "q35").unwrap();
        for c in &cells {
            if c.arch.name == "x86_64" {
                assert_eq!(c.arch.machine, "q35");
                assert!(c.name.starts_with("x86_64@q35/"), "{}", c.name);
            } else {
                assert_eq!(c.arch.machine, "virt", "{}", c.name);
                assert!(!c.name.contains('@'), "{}", c.name);
            }
        }
        let e = select_machine(&mut cells, "pc-1.0")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no selected arch has it") && e.contains("q35"),
            "{e}"
        );
    }

    #[test]
    fn the_abi_and_compat_axes_name_cells_and_share_kernels() {
        let names = |toml: &str| -> Vec<String> {
            let f: MatrixFile = toml::from_str(toml).unwrap();
            f.cells().unwrap().into_iter().map(|c| c.name).collect()
        };
        // abi compat alone: compat kernels for both ABIs, so they compare.
        let n = names(
            "[axes]\narch = [\"x86_64\"]\nconfig = [\"aio-on\"]\nabi = [\"native\", \"compat\"]",
        );
        assert_eq!(
            n,
            [
                "x86_64/aio-on+compat/maxdefault/cpu2/mem512",
                "x86_64/i686/aio-on+compat/maxdefault/cpu2/mem512"
            ]
        );
        // Without compat probes the kernels stay the default ones (names unchanged).
        let n = names("[axes]\narch = [\"arm64\"]\nconfig = [\"aio-on\"]");
        assert_eq!(n, ["arm64/aio-on/maxdefault/cpu2/mem512"]);
        // compat off and time32 off: the ENOEXEC cell and the time32-less kernel;
        // time32 means nothing for aio-off (every entry point is ENOSYS there).
        let n = names(
            "[axes]\narch = [\"arm64\"]\nabi = [\"compat\"]\ncompat = [\"on\", \"off\"]\ntime32 = [\"on\", \"off\"]\n[[exclude]]\ncompat = \"on\"\ntime32 = \"on\"\nconfig = \"aio-on\"",
        );
        assert_eq!(
            n,
            [
                "arm64/armhf/aio-on+compat-notime32/maxdefault/cpu2/mem512",
                "arm64/armhf/aio-on/maxdefault/cpu2/mem512",
                "arm64/armhf/aio-off+compat/maxdefault/cpu2/mem512",
                "arm64/armhf/aio-off/maxdefault/cpu2/mem512",
            ]
        );
        let f: MatrixFile =
            toml::from_str("[axes]\narch = [\"x86_64\"]\nabi = [\"compat\"]\ncompat = [\"off\"]")
                .unwrap();
        let c = &f.cells().unwrap()[0];
        assert_eq!((c.abi, c.compat), (Abi::Compat, Compat::Off));
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["abi"], "compat");
        // Native cells of default kernels write neither field (old reports read the same).
        let plain = &Axes::default_matrix(vec![arch::by_name("x86_64").unwrap()]).cells()[0];
        let json = serde_json::to_value(plain).unwrap();
        assert!(
            json.get("abi").is_none() && json.get("compat").is_none(),
            "{json}"
        );
    }

    #[test]
    fn compat_is_refused_where_kmatrix_has_no_32_bit_abi_and_time32_alone() {
        let err = |toml: &str| {
            let f: MatrixFile = toml::from_str(toml).unwrap();
            format!("{:#}", f.cells().unwrap_err())
        };
        let e = err("[axes]\narch = [\"s390x\"]\nabi = [\"compat\"]");
        assert!(
            e.contains("s390x") && e.contains("x86_64 (i686)") && e.contains("arm64 (armhf)"),
            "{e}"
        );
        let e = err("[axes]\narch = [\"s390x\"]\ncompat = [\"on\"]");
        assert!(e.contains("no 32-bit ABI"), "{e}");
        let e = err("[axes]\ntime32 = [\"off\"]");
        assert!(e.contains("compat kernels"), "{e}");
        assert!(toml::from_str::<MatrixFile>("[axes]\nabi = [\"x32\"]").is_err());
        assert!(toml::from_str::<MatrixFile>("[axes]\ncompat = [\"yes\"]").is_err());
        assert_eq!(parse_on_off("on"), Ok(true));
        assert!(parse_on_off("1").is_err());
        assert_eq!(
            config_label(Config::AioOn, Variant::Debug, Compat::NoTime32),
            "aio-on+compat-notime32+debug"
        );
    }
}
