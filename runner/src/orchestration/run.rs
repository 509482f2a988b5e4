//! Drives cells through the layers: prepares kernels, guests and
//! accelerators once per (arch, config), then boots cells in parallel and
//! hands each VM's outcome to report::cell, which makes the cell report.

use crate::build::kbuild::{self, Built};
pub use crate::build::source::KernelChoice;
use crate::matrix::arch::Arch;
use crate::matrix::kconfig::{self, KernelConfig};
use crate::matrix::{Abi, Cell, Compat, Config, Variant};
use crate::orchestration::accel::{self, Choice, Decision};
use crate::orchestration::progress::{Event, KernelEnd};
pub use crate::report::cell::{cell_has_aio, empty_report, judge_cell, rejudge, CellOptions};
use crate::report::{CellReport, CellStatus, KernelInfo};
use crate::stream;
use crate::vm::{self, VmSpec};
use crate::{image::guest, image::initramfs, report::cell};
use anyhow::{bail, Result};
use kmatrix_proto::args::{exec_hex, GuestArgs, Share as ProtoShare};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything a cell of one (arch, config) needs, prepared once.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub arch: Arch,
    pub kernel: PathBuf,
    pub kernel_config: KernelConfig,
    pub kernel_info: KernelInfo,
    pub initrd: PathBuf,
    /// The initramfs with the 32-bit probe too, for compat cells (None: the
    /// run has none of this arch); its build's failure fails those cells only.
    pub initrd_compat: Option<Result<PathBuf, String>>,
    pub accel: Decision,
}

impl Prepared {
    /// The initramfs a cell boots: with the 32-bit probe for compat cells.
    pub fn initrd_for(&self, cell: &Cell) -> Result<PathBuf> {
        if cell.abi.is_native() {
            return Ok(self.initrd.clone());
        }
        match &self.initrd_compat {
            Some(Ok(p)) => Ok(p.clone()),
            Some(Err(e)) => bail!("the compat probe: {e}"),
            None => bail!("no compat probe was prepared for {}", cell.arch.name),
        }
    }
}

pub type Progress<'a> = &'a (dyn Fn(Event) + Sync);

/// One kernel: (arch name, config, variant, compat options).
pub type KernelKey = (String, Config, Variant, Compat);

/// The kernel a cell boots.
pub fn key_of(c: &Cell) -> KernelKey {
    (c.arch.name.clone(), c.config, c.variant, c.compat)
}

/// Builds (or finds) the kernel for `arch` x `config`, plus any user fragments.
#[allow(clippy::too_many_arguments)]
pub async fn kernel(
    arch: &Arch,
    config: Config,
    variant: Variant,
    compat: Compat,
    choice: &KernelChoice,
    extra: &[kbuild::Fragment],
    jobs: usize,
    progress: Progress<'_>,
) -> Result<Built> {
    match choice {
        KernelChoice::Prebuilt { image, arch: a } => {
            if a != &arch.name {
                bail!(
                    "--kernel {} was given for {a}, not {}",
                    image.display(),
                    arch.name
                );
            }
            if !image.exists() {
                bail!("--kernel {}: no such file", image.display());
            }
            arch.check_image(image)?;
            Ok(Built {
                image: image.clone(),
                // Its config only if one is beside it; else unknown.
                config: kconfig::find_for_image(image).unwrap_or_default(),
                key: "prebuilt".into(),
                source: format!("prebuilt:{}", image.display()),
                version: String::new(),
                source_sha256: String::new(),
                cached: true,
                checksums: Default::default(),
            })
        }
        KernelChoice::Build(src) => {
            let label = format!(
                "kernel {}/{}",
                arch.name,
                crate::matrix::config_label(config, variant, compat)
            );
            let t0 = std::time::Instant::now();
            let on_step = |s: &str| match s {
                kbuild::STARTED => progress(Event::KernelStarted {
                    label: label.clone(),
                }),
                s => progress(Event::step(&label, s)),
            };
            let fragments = vec![
                kbuild::builtin_fragment("base")?,
                kbuild::Fragment {
                    name: format!("arch-{}.config", arch.name),
                    text: arch.fragment.clone(),
                    shares_staging: false,
                },
                kbuild::builtin_fragment(config.as_str())?,
            ];
            let machine = &arch.profile().fragment;
            let fragments = match machine.is_empty() {
                true => fragments,
                false => [fragments, vec![kbuild::builtin_fragment(machine)?]].concat(),
            };
            let compat = match (compat, &arch.compat) {
                (Compat::Off, _) => vec![],
                (_, None) => bail!("{}: kmatrix has no 32-bit ABI for it", arch.name),
                (c, Some(abi)) => vec![
                    kbuild::Fragment {
                        name: format!("{}.compat.config", arch.name),
                        text: abi.fragment.clone(),
                        shares_staging: true,
                    },
                    kbuild::builtin_fragment(match c {
                        Compat::NoTime32 => "time32-off",
                        _ => "time32-on",
                    })?,
                ],
            };
            // The debug checks after everything kmatrix sets (they turn
            // some of the arch's trims back on), the user's last.
            let debug = match variant {
                Variant::Plain => vec![],
                Variant::Debug => {
                    let mut v = vec![kbuild::builtin_fragment("debug")?];
                    if !arch.debug_fragment.is_empty() {
                        v.push(kbuild::Fragment {
                            name: format!("{}.debug.config", arch.name),
                            text: arch.debug_fragment.clone(),
                            shares_staging: false,
                        });
                    }
                    v
                }
            };
            let fragments = (fragments.into_iter().chain(compat).chain(debug))
                .chain(extra.iter().cloned())
                .collect();
            let b = kbuild::Builder {
                arch,
                source: src,
                fragments,
                jobs,
                on_step: &on_step,
            };
            let built = b.build().await;
            let end = match &built {
                Ok(b) if b.cached => KernelEnd::Cached,
                Ok(_) => KernelEnd::Built,
                Err(e) => KernelEnd::Failed(format!("{e:#}").lines().next().unwrap_or("").into()),
            };
            let secs = t0.elapsed().as_secs_f64();
            progress(Event::KernelDone { label, end, secs });
            built
        }
    }
}

/// Builds (or finds) every kernel the cells need, side by side: at most
/// `jobs` builds at once, all drawing on one make jobserver of `jobs` slots,
/// so no core idles while kernels remain. Kernels that differ only in
/// their compat options share a staging place (kbuild::Fragment::
/// shares_staging), so they are built one after the other, the first
/// without compat: each next one is an incremental make there, not a full
/// build beside it. A failure is kept per key.
pub async fn kernels(
    cells: &[Cell],
    choice: &KernelChoice,
    extra: &[kbuild::Fragment],
    jobs: usize,
    progress: Progress<'_>,
) -> BTreeMap<KernelKey, Result<Built, String>> {
    let mut todo: Vec<Vec<&Cell>> = Vec::new();
    for c in cells {
        let place =
            |t: &&Cell| (&t.arch.name, t.config, t.variant) == (&c.arch.name, c.config, c.variant);
        match todo.iter_mut().find(|g| place(&g[0])) {
            Some(g) if !g.iter().any(|t| key_of(t) == key_of(c)) => g.push(c),
            Some(_) => {}
            None => todo.push(vec![c]),
        }
    }
    for g in &mut todo {
        g.sort_by_key(|c| c.compat);
    }
    let sem = tokio::sync::Semaphore::new(jobs.max(1));
    let builds = todo.into_iter().map(|group| {
        let sem = &sem;
        async move {
            let _slot = sem.acquire().await;
            let mut out = Vec::new();
            for c in group {
                let r = kernel(
                    &c.arch, c.config, c.variant, c.compat, choice, extra, jobs, progress,
                )
                .await;
                out.push((key_of(c), r.map_err(|e| format!("{e:#}"))));
            }
            out
        }
    });
    futures::future::join_all(builds)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Prepares every (arch, config) the cells need: kernels first, all at once
/// (see `kernels`), then guests and accelerators; a failure is kept per key
/// so other cells go on.
pub async fn prepare(
    cells: &[Cell],
    choice: &KernelChoice,
    extra: &[kbuild::Fragment],
    accel_choice: Choice,
    jobs: usize,
    progress: Progress<'_>,
) -> BTreeMap<KernelKey, Result<Prepared, String>> {
    let mut arches: Vec<&Arch> = Vec::new();
    for c in cells {
        if !arches.iter().any(|a| a.name == c.arch.name) {
            arches.push(&c.arch);
        }
    }
    // The guests need nothing from the kernels: both are checked (or built)
    // at once, so a cached run waits for the slower, not for the sum.
    let images = futures::future::join_all(arches.iter().map(|a| {
        let compat = (cells.iter()).any(|c| c.arch.name == a.name && !c.abi.is_native());
        guest_images(a, compat, progress)
    }));
    let (mut built_kernels, images) =
        tokio::join!(kernels(cells, choice, extra, jobs, progress), images);
    let (guests, compat_guests): (BTreeMap<&str, _>, BTreeMap<&str, _>) = (arches.iter())
        .zip(images)
        .map(|(a, (native, compat))| ((a.name.as_str(), native), (a.name.as_str(), compat)))
        .unzip();
    // One accelerator decision per arch, with the first of its kernels
    // that built.
    let accels = futures::future::join_all(arches.iter().map(|a| {
        let image = cells
            .iter()
            .filter(|c| c.arch.name == a.name)
            .filter_map(|c| built_kernels.get(&key_of(c)))
            .find_map(|b| b.as_ref().ok())
            .map(|b| b.image.clone());
        let initrd = guests[a.name.as_str()].clone();
        async move {
            // Each cell names its own kernel's or guest's failure first.
            let (Some(image), Ok(initrd)) = (image, initrd) else {
                return Err("no kernel or guest of this arch to probe the accelerator with".into());
            };
            accel::decide(accel_choice, a, &image, &initrd)
                .await
                .map_err(|e| format!("{e:#}"))
        }
    }))
    .await;
    let accels: BTreeMap<&str, Result<Decision, String>> =
        arches.iter().map(|a| a.name.as_str()).zip(accels).collect();
    let mut out = BTreeMap::new();
    for cell in cells {
        let key = key_of(cell);
        if out.contains_key(&key) {
            continue;
        }
        let r: Result<Prepared> = (|| {
            let arch = cell.arch.clone();
            let built = built_kernels
                .remove(&key)
                .expect("a kernel for every key")
                .map_err(anyhow::Error::msg)?;
            let initrd = guests[arch.name.as_str()]
                .clone()
                .map_err(anyhow::Error::msg)?;
            let accel = accels[arch.name.as_str()]
                .clone()
                .map_err(anyhow::Error::msg)?;
            let kernel_config = if built.config.as_os_str().is_empty() {
                KernelConfig::default()
            } else {
                KernelConfig::read(&built.config)?
            };
            Ok(Prepared {
                kernel: built.image.clone(),
                kernel_config,
                kernel_info: KernelInfo {
                    image: built.image,
                    version: built.version,
                    source: built.source,
                    source_sha256: built.source_sha256,
                    key: built.key,
                },
                initrd,
                initrd_compat: compat_guests[arch.name.as_str()].clone(),
                accel,
                arch,
            })
        })();
        out.insert(key, r.map_err(|e| format!("{e:#}")));
    }
    out
}

/// The guest-init initramfs of `arch`'s native cells and, with `compat`,
/// the one of its compat cells (the same /init, and the 32-bit build beside
/// it as /init32), each built (or found cached); the native guest-init is
/// built once for both.
async fn guest_images(
    arch: &Arch,
    compat: bool,
    progress: Progress<'_>,
) -> (Result<PathBuf, String>, Option<Result<PathBuf, String>>) {
    let (native, bin32) = tokio::join!(guest_bin(arch, Abi::Native, progress), async {
        match compat {
            true => Some(guest_bin(arch, Abi::Compat, progress).await),
            false => None,
        }
    });
    let assemble = |init: &Result<PathBuf, String>, init32: Option<PathBuf>| {
        let init = init.clone();
        async move {
            let init = init?;
            tokio::task::spawn_blocking(move || initramfs::assemble(&init, init32.as_deref()))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("{e:#}"))
        }
    };
    let native_cpio = assemble(&native, None).await;
    let compat_cpio = match bin32 {
        Some(Ok(b)) => Some(assemble(&native, Some(b)).await),
        Some(Err(e)) => Some(Err(e)),
        None => None,
    };
    (native_cpio, compat_cpio)
}

/// One guest-init binary of `arch` for `abi`, built (or found cached).
async fn guest_bin(arch: &Arch, abi: Abi, progress: Progress<'_>) -> Result<PathBuf, String> {
    let target = guest::Target::of(arch, abi).map_err(|e| format!("{e:#}"))?;
    let label = format!("guest {}", target.name);
    progress(Event::step(&label, "building guest-init"));
    let g = guest::build_for(&target)
        .await
        .map_err(|e| format!("{e:#}"));
    progress(Event::GuestDone {
        label,
        ok: g.is_ok(),
    });
    g
}

/// The guest arguments that carry a cell's parameters to guest-init.
pub fn guest_args(cell: &Cell, opts: &CellOptions) -> GuestArgs {
    GuestArgs {
        // The guest's per-experiment limit grows with the cell's: big rings
        // (nr_events 4194304 is 256 MiB) take long under TCG with many vCPUs.
        timeout_s: (cell.timeout_s / 6).max(20),
        sysctls: cell
            .aio_max_nr
            .map(|m| ("fs.aio-max-nr".to_string(), m.to_string()))
            .into_iter()
            .collect(),
        cases: opts.case_patterns(),
        shares: (opts.shares.iter().enumerate())
            .map(|(i, s)| ProtoShare::new(i, &s.guest_path, s.rw))
            .collect(),
        exec_hex: opts.exec.iter().map(|p| exec_hex(&p.cmd)).collect(),
        env_hex: opts.env.iter().map(|e| exec_hex(e)).collect(),
        cwd_hex: opts.cwd.as_deref().map(exec_hex),
        compat: !cell.abi.is_native(),
        ..GuestArgs::default()
    }
}

/// Kernel word for cells with a share: every page the kernel allocates is
/// zeroed by the guest CPU first (mm/page_alloc.c, early_param
/// "init_on_alloc", present whatever CONFIG_INIT_ON_ALLOC_DEFAULT_ON says).
/// Under TCG that store goes through QEMU, which drops the translated code
/// of the frame before virtiofsd (vhost-user, outside QEMU) fills it with
/// file data; so what the --exec programs themselves exec or map from the
/// share runs fresh code. Complete on x86_64; on arm64 the kernel zeroes
/// with DC ZVA, whose QEMU 7.2 helper reports one byte per 64-byte block
/// to the code tracking (probe_write -> notdirty_write(size 1)), so only
/// some stale code goes (README, "Programs from a share under TCG").
/// The programs named by --exec are safe on both arches: the guest copies
/// them into its RAM first (guest-init/src/exec.rs).
pub const SHARE_KERNEL_WORD: &str = "init_on_alloc=1";

/// The kernel command line words for a cell: its guest arguments, the
/// share word if it has a share, then the user's extra words as they are
/// (the last word for a parameter wins, so the user can override).
pub fn guest_cmdline(cell: &Cell, opts: &CellOptions) -> Vec<String> {
    let mut v = guest_args(cell, opts).to_words();
    if !opts.shares.is_empty() {
        v.push(SHARE_KERNEL_WORD.to_string());
    }
    v.extend(opts.append.iter().cloned());
    v
}

/// Boots one cell and judges it. Never fails: every problem becomes the
/// cell's status with its cause, and whatever the guest sent is kept.
pub async fn run_cell(
    cell: &Cell,
    prep: &Prepared,
    out_root: &Path,
    opts: &CellOptions,
    progress: Progress<'_>,
) -> CellReport {
    let artifacts = out_root.join(cell.name.replace('/', "_"));
    let cell = &Cell {
        kernel_config: prep.kernel_config.clone(),
        ..cell.clone()
    };
    let mut rep = empty_report(cell, &artifacts, CellStatus::Error, String::new());
    rep.kernel = Some(prep.kernel_info.clone());
    rep.accel = Some(prep.accel.accel);
    rep.accel_reason = prep.accel.reason.clone();
    let initrd = match prep.initrd_for(cell) {
        Ok(i) => i,
        Err(e) => {
            rep.status_detail = format!("{e:#}");
            return rep;
        }
    };
    let spec = VmSpec {
        arch: prep.arch.clone(),
        kernel: prep.kernel.clone(),
        initrd,
        cmdline: guest_cmdline(cell, opts),
        cpus: cell.cpus,
        max_cpus: cell.maxcpus,
        mem_mb: cell.mem_mb,
        accel: prep.accel.accel,
        timeout: Duration::from_secs(cell.timeout_s),
        out_dir: artifacts.clone(),
        shares: opts.shares.clone(),
    };
    progress(Event::step(&cell.name, "booting"));
    let outcome = match vm::launch(&spec).await {
        Ok(o) => o,
        Err(e) => {
            rep.status_detail = format!("{e:#}");
            return rep;
        }
    };
    crate::util::milestones::mark_at(format!("{}: spawn", cell.name), outcome.spawned_us);
    rep.start_ms = outcome.start_ms;
    rep.run_ms = outcome.run_ms;
    rep.exit = Some(outcome.exit.clone());
    rep.timings = outcome.timings.clone();
    // Up to 8 MiB of parsing: off the async workers.
    let results = outcome.results.clone();
    let read = tokio::task::spawn_blocking(move || stream::read_file(&results))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
    let s = match read {
        Ok(mut s) => {
            if outcome.timings.results_bytes > vm::RESULTS_CAP {
                s.errors.push(format!(
                    "the guest sent {} bytes on the results port; kept the first {} (flood)",
                    outcome.timings.results_bytes,
                    vm::RESULTS_CAP
                ));
            }
            s
        }
        Err(e) => {
            rep.status_detail = format!("reading {}: {e}", outcome.results.display());
            return rep;
        }
    };
    cell::finish(&mut rep, cell, &outcome, &s, opts);
    crate::util::milestones::mark(format!("{}: judged", cell.name));
    rep
}

/// How the matrix reports progress: typed events (see progress.rs).
pub type Reporter = crate::orchestration::progress::Sink;

/// Runs every cell (at most `jobs` VMs at once) and returns the report, or
/// the partial report and the signal's name if SIGINT/SIGTERM came first.
/// Each cell is written to `out/<cell>/cell.json` as it finishes, the report
/// to `out/report.json` at the end.
#[allow(clippy::too_many_arguments)]
pub async fn run_matrix(
    cells: Vec<Cell>,
    choice: KernelChoice,
    extra: Vec<kbuild::Fragment>,
    accel: Choice,
    jobs: usize,
    opts: CellOptions,
    out: &Path,
    progress: Reporter,
) -> Result<(crate::report::Report, Option<&'static str>)> {
    use std::sync::{Arc, Mutex};
    let specs_used = opts.specs.as_ref().map(|s| s.specs.clone());
    // A typo in --cases would silently run nothing in every cell.
    let unmatched = kmatrix_proto::catalogue::unmatched(&opts.case_patterns());
    if !unmatched.is_empty() {
        let known: Vec<_> = kmatrix_proto::catalogue::EXPERIMENTS
            .iter()
            .map(|x| x.id)
            .collect();
        bail!(
            "--cases {}: matches no experiment (known: {})",
            unmatched.join(","),
            known.join(", ")
        );
    }
    std::fs::create_dir_all(out).map_err(|e| anyhow::anyhow!("creating {}: {e}", out.display()))?;
    let out = out.canonicalize()?;
    let _out_lock = crate::util::runlock::lock_out(&out)?;
    let whole_probe = opts.case_patterns().is_empty();
    let done: Arc<Mutex<Vec<CellReport>>> = Arc::default();
    let write_errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let work = {
        let (done, out, cells, progress, write_errors) = (
            done.clone(),
            out.clone(),
            cells.clone(),
            progress.clone(),
            write_errors.clone(),
        );
        async move {
            let step = progress.clone();
            let prepared = prepare(&cells, &choice, &extra, accel, jobs, &move |e| step(e)).await;
            crate::util::milestones::mark("prepared");
            let sem = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
            let mut set = tokio::task::JoinSet::new();
            // The semaphore is FIFO: cells start in the order spawned.
            let history = crate::orchestration::schedule::load(
                &crate::orchestration::schedule::history_path(),
            );
            let order = crate::orchestration::schedule::longest_first(&cells, &history);
            let mut slots: Vec<Option<Cell>> = cells.into_iter().map(Some).collect();
            for cell in order.into_iter().filter_map(|i| slots[i].take()) {
                let prep = prepared[&key_of(&cell)].clone();
                let write_errors = write_errors.clone();
                let (done, out, sem, opts, progress) = (
                    done.clone(),
                    out.clone(),
                    sem.clone(),
                    opts.clone(),
                    progress.clone(),
                );
                progress(Event::step(&cell.name, "queued"));
                set.spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    let t0 = std::time::Instant::now();
                    let step = progress.clone();
                    let rep = match prep {
                        Ok(p) => run_cell(&cell, &p, &out, &opts, &move |e| step(e)).await,
                        Err(e) => empty_report(
                            &cell,
                            &out.join(cell.name.replace('/', "_")),
                            CellStatus::Error,
                            e,
                        ),
                    };
                    // On disk at once: a runner that dies loses only cells in flight.
                    let saved = std::fs::create_dir_all(&rep.artifacts)
                        .map_err(anyhow::Error::from)
                        .and_then(|_| {
                            crate::util::cache::write_atomic(
                                &rep.artifacts.join("cell.json"),
                                &serde_json::to_vec_pretty(&rep)?,
                            )
                        });
                    if let Err(e) = saved {
                        write_errors.lock().unwrap().push(format!("{e:#}"));
                    }
                    crate::util::milestones::mark(format!("{}: saved", cell.name));
                    progress(Event::CellDone {
                        name: cell.name.clone(),
                        status: rep.status,
                        secs: t0.elapsed().as_secs_f64(),
                    });
                    done.lock().unwrap().push(rep);
                });
            }
            while let Some(r) = set.join_next().await {
                if let Err(e) = r {
                    if e.is_panic() {
                        std::panic::resume_unwind(e.into_panic());
                    }
                }
            }
        }
    };
    let interrupted = tokio::select! {
        _ = work => None,
        s = shutdown_signal() => Some(s),
    };
    // `work` is dropped here if interrupted: its QEMUs are killed (kill_on_drop)
    // and their temp dirs removed before the report is written.
    let mut cells_done = std::mem::take(&mut *done.lock().unwrap());
    let order: Vec<String> = cells.iter().map(|c| c.name.clone()).collect();
    cells_done.sort_by_key(|c| order.iter().position(|n| *n == c.cell.name));
    let unfinished: Vec<String> = order
        .iter()
        .filter(|n| !cells_done.iter().any(|c| &c.cell.name == *n))
        .cloned()
        .collect();
    // Next run's schedule: only whole runs say how long a cell takes.
    let times: Vec<(String, u64)> = cells_done
        .iter()
        .filter(|c| c.status == CellStatus::Ok && whole_probe)
        .map(|c| (c.cell.name.clone(), c.start_ms + c.run_ms))
        .collect();
    if let Err(e) = crate::orchestration::schedule::record(
        &crate::orchestration::schedule::history_path(),
        &times,
    ) {
        eprintln!("kmatrix: cell times not recorded (the next run's order only): {e:#}");
    }
    let mut rep = crate::report::Report::new(cells_done, unfinished);
    if let Some(specs) = specs_used {
        rep.specs = specs;
    }
    rep.write_errors = std::mem::take(&mut *write_errors.lock().unwrap());
    // A full disk must not lose the finished cells: the caller still prints
    // the report, and the failure is in it (and makes the run not green).
    rep.milestones = crate::util::milestones::all();
    let path = out.join("report.json");
    if let Err(e) = crate::util::cache::write_atomic(&path, &serde_json::to_vec_pretty(&rep)?) {
        rep.write_errors.push(format!("{e:#}"));
    }
    for e in &rep.write_errors {
        eprintln!("kmatrix: {e}");
    }
    Ok((rep, interrupted))
}

/// The first SIGINT or SIGTERM, by name.
pub async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell() -> Cell {
        let arches = crate::matrix::arch::by_names(&["x86_64".to_string()]).unwrap();
        crate::matrix::Axes::default_matrix(arches).cells()[0].clone()
    }

    #[test]
    fn share_cells_boot_with_init_on_alloc_and_the_user_has_the_last_word() {
        let dir = tempfile::tempdir().unwrap();
        let share = crate::vm::share::Share::parse(dir.path().to_str().unwrap()).unwrap();
        let plain = guest_cmdline(&cell(), &CellOptions::default());
        assert!(!plain.iter().any(|w| w == SHARE_KERNEL_WORD), "{plain:?}");
        let opts = CellOptions {
            shares: vec![share],
            append: vec!["init_on_alloc=0".into()],
            ..Default::default()
        };
        let words = guest_cmdline(&cell(), &opts);
        let at = |w: &str| words.iter().position(|x| x == w);
        let (ours, users) = (at("init_on_alloc=1"), at("init_on_alloc=0"));
        assert!(ours.is_some() && ours < users, "{words:?}");
    }
}
