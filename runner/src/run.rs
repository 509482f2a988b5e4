//! Drives cells through the layers: prepares kernels, guests and
//! accelerators once per (arch, config), then boots cells in parallel and
//! turns each VM's outcome into a cell report.

use crate::accel::{self, Choice, Decision};
use crate::arch::{self, Arch};
use crate::kbuild::{self, Built, Source};
use crate::matrix::Cell;
use crate::oracle::{self, CellFacts};
use crate::report::{CellReport, CellStatus, KernelInfo};
use crate::stream::{self, Completeness};
use crate::vm::{self, Exit, VmSpec};
use crate::{guest, initramfs};
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where kernels come from.
#[derive(Debug, Clone)]
pub enum KernelChoice {
    Build(Source),
    /// A prebuilt image for one arch; its config is taken on trust and
    /// described by the guest (aio-nr present or not).
    Prebuilt {
        image: PathBuf,
        arch: String,
    },
}

/// Everything a cell of one (arch, config) needs, prepared once.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub arch: Arch,
    pub kernel: PathBuf,
    pub kernel_info: KernelInfo,
    pub initrd: PathBuf,
    pub accel: Decision,
}

pub type Progress<'a> = &'a (dyn Fn(&str, &str) + Sync);

/// Builds (or finds) the kernel for `arch` x `config`, plus any user fragments.
pub async fn kernel(
    arch: &Arch,
    config: &str,
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
                config: PathBuf::new(),
                key: "prebuilt".into(),
                source: format!("prebuilt:{}", image.display()),
                version: String::new(),
                source_sha256: String::new(),
                cached: true,
            })
        }
        KernelChoice::Build(src) => {
            let label = format!("kernel {}/{config}", arch.name);
            let on_step = |s: &str| progress(&label, s);
            let fragments = vec![
                kbuild::builtin_fragment("base")?,
                kbuild::Fragment {
                    name: format!("arch-{}.config", arch.name),
                    text: arch.fragment.clone(),
                },
                kbuild::builtin_fragment(config)?,
            ];
            let fragments = fragments.into_iter().chain(extra.iter().cloned()).collect();
            let b = kbuild::Builder {
                arch,
                source: src,
                fragments,
                jobs,
                on_step: &on_step,
            };
            let built = b.build().await?;
            progress(&label, if built.cached { "cached" } else { "built" });
            Ok(built)
        }
    }
}

/// Prepares every (arch, config) the cells need. Kernels build one at a
/// time (each uses every CPU); a failure is kept per key so other cells go on.
pub async fn prepare(
    cells: &[Cell],
    choice: &KernelChoice,
    extra: &[kbuild::Fragment],
    accel_choice: Choice,
    jobs: usize,
    progress: Progress<'_>,
) -> BTreeMap<(String, String), Result<Prepared, String>> {
    let mut out = BTreeMap::new();
    let mut guests: BTreeMap<String, Result<PathBuf, String>> = BTreeMap::new();
    let mut accels: BTreeMap<String, Decision> = BTreeMap::new();
    for cell in cells {
        let key = (cell.arch.clone(), cell.config.clone());
        if out.contains_key(&key) {
            continue;
        }
        let r: Result<Prepared> = async {
            let arch = arch::by_name(&cell.arch)?;
            let built = kernel(&arch, &cell.config, choice, extra, jobs, progress).await?;
            if !guests.contains_key(&arch.name) {
                progress(&format!("guest {}", arch.name), "building guest-init");
                let g = async {
                    let bin = guest::build(&arch).await?;
                    let cpio =
                        tokio::task::spawn_blocking(move || initramfs::assemble(&bin)).await??;
                    Ok::<_, anyhow::Error>(cpio)
                }
                .await
                .map_err(|e| format!("{e:#}"));
                progress(
                    &format!("guest {}", arch.name),
                    if g.is_ok() { "ready" } else { "failed" },
                );
                guests.insert(arch.name.clone(), g);
            }
            let initrd = guests[&arch.name].clone().map_err(anyhow::Error::msg)?;
            if !accels.contains_key(&arch.name) {
                let d = accel::decide(accel_choice, &arch, &built.image, &initrd).await?;
                accels.insert(arch.name.clone(), d);
            }
            Ok(Prepared {
                kernel: built.image.clone(),
                kernel_info: KernelInfo {
                    image: built.image,
                    version: built.version,
                    source: built.source,
                    source_sha256: built.source_sha256,
                    key: built.key,
                },
                initrd,
                accel: accels[&arch.name].clone(),
                arch,
            })
        }
        .await;
        out.insert(key, r.map_err(|e| format!("{e:#}")));
    }
    out
}

/// What a run adds to every cell besides the matrix parameters.
#[derive(Debug, Clone, Default)]
pub struct CellOptions {
    /// Guest experiment patterns (kmatrix.cases).
    pub cases: Option<String>,
    pub shares: Vec<crate::share::Share>,
    /// Programs (and arguments) from a share, run in order after the probe.
    pub exec: Vec<crate::suites::Program>,
    /// KEY=VALUE environment and working directory for those programs.
    pub env: Vec<String>,
    pub cwd: Option<String>,
    /// Extra kernel command-line words, passed as they are.
    pub append: Vec<String>,
}

/// The kernel command line words that carry a cell's parameters to guest-init.
pub fn guest_cmdline(cell: &Cell, opts: &CellOptions) -> Vec<String> {
    // The guest's per-experiment limit grows with the cell's: big rings
    // (nr_events 4194304 is 256 MiB) take long under TCG with many vCPUs.
    let mut v = vec![format!("kmatrix.timeout={}", (cell.timeout_s / 6).max(20))];
    if let Some(m) = cell.aio_max_nr {
        v.push(format!("kmatrix.sysctl=fs.aio-max-nr={m}"));
    }
    if let Some(c) = &opts.cases {
        v.push(format!("kmatrix.cases={c}"));
    }
    for (i, s) in opts.shares.iter().enumerate() {
        v.push(format!(
            "kmatrix.share=kmx{i}:{}:{}",
            s.guest_path,
            if s.rw { "rw" } else { "ro" }
        ));
    }
    v.extend(crate::suites::cmdline_words(
        &opts.exec, &opts.env, &opts.cwd,
    ));
    v.extend(opts.append.iter().cloned());
    v
}

pub fn empty_report(
    cell: &Cell,
    artifacts: &Path,
    status: CellStatus,
    detail: String,
) -> CellReport {
    CellReport {
        cell: cell.clone(),
        kernel: None,
        accel: None,
        accel_reason: String::new(),
        status,
        status_detail: detail,
        exit: None,
        start_ms: 0,
        run_ms: 0,
        timings: Default::default(),
        artifacts: artifacts.to_path_buf(),
        hello: None,
        sysctls: vec![],
        guest_logs: vec![],
        stream: None,
        stream_errors: vec![],
        console_excerpt: String::new(),
        cases: vec![],
        execs: vec![],
    }
}

fn console_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text[text.len().saturating_sub(64 * 1024)..]).into_owned();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
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
    let mut rep = empty_report(cell, &artifacts, CellStatus::Error, String::new());
    rep.kernel = Some(prep.kernel_info.clone());
    rep.accel = Some(prep.accel.accel);
    rep.accel_reason = prep.accel.reason.clone();
    let spec = VmSpec {
        arch: prep.arch.clone(),
        kernel: prep.kernel.clone(),
        initrd: prep.initrd.clone(),
        cmdline: guest_cmdline(cell, opts),
        cpus: cell.cpus,
        mem_mb: cell.mem_mb,
        accel: prep.accel.accel,
        timeout: Duration::from_secs(cell.timeout_s),
        out_dir: artifacts.clone(),
        shares: opts.shares.clone(),
    };
    progress(&cell.name, "booting");
    let outcome = match vm::launch(&spec).await {
        Ok(o) => o,
        Err(e) => {
            rep.status_detail = format!("{e:#}");
            return rep;
        }
    };
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
    rep.stream = Some(s.completeness());
    rep.stream_errors = s.errors.clone();
    rep.hello = s.hello.clone();
    rep.sysctls = s.sysctls.clone();
    rep.guest_logs = s.logs.clone();
    let console_panic = console_tail(&outcome.console, 200).contains("Kernel panic");
    (rep.status, rep.status_detail) = match (&outcome.exit, s.completeness()) {
        (Exit::Panicked { how }, _) => (CellStatus::Panic, how.clone()),
        (_, _) if console_panic => (CellStatus::Panic, "kernel panic on the console".into()),
        (Exit::TimedOut { stopped_by }, _) => (
            CellStatus::Timeout,
            format!(
                "no power-off within {} s (stopped by {stopped_by})",
                cell.timeout_s
            ),
        ),
        (Exit::QemuFailed { status, stderr }, _) => (
            CellStatus::Error,
            format!("QEMU {status}: {}", stderr.lines().last().unwrap_or("")),
        ),
        (Exit::PoweredOff, Completeness::Complete) => (CellStatus::Ok, String::new()),
        (Exit::PoweredOff, Completeness::Incomplete) => (
            CellStatus::Incomplete,
            match s.truncated_at {
                Some(at) => format!(
                    "results stream cut off mid-record at offset {at} ({} bytes, no end record)",
                    s.bytes
                ),
                None => format!("results stream has no end record ({} bytes)", s.bytes),
            },
        ),
        (Exit::PoweredOff, Completeness::ProtocolError) => (
            CellStatus::ProtocolError,
            s.errors.first().cloned().unwrap_or_default(),
        ),
    };
    if rep.status != CellStatus::Ok {
        rep.console_excerpt = console_tail(&outcome.console, 25);
    }
    // The CPUs the cell asked for must have come up (CONFIG_NR_CPUS, or a
    // machine limit, can quietly cap them), or the cell tests the wrong thing.
    if let Some(h) = &s.hello {
        if rep.status == CellStatus::Ok && h.ncpus_online != u64::from(cell.cpus) {
            rep.status = CellStatus::Error;
            rep.status_detail = format!(
                "the cell asked for {} vCPUs but the guest brought up {} (possible: {}); check CONFIG_NR_CPUS",
                cell.cpus, h.ncpus_online, h.ncpus_possible
            );
        }
    }
    // Sysctls the cell asked for must have taken, or the cell tests the wrong thing.
    let aio = cell_has_aio(cell, &s);
    if aio {
        if let Some(bad) = s.sysctls.iter().find(|x| !x.ok) {
            rep.status = CellStatus::Error;
            rep.status_detail = format!(
                "sysctl {}={} failed in the guest (errno {})",
                bad.key, bad.value, bad.errno
            );
        }
    }
    // Judge whatever arrived, even from a broken cell: partial evidence is kept.
    rep.cases = judge_cell(cell, &s, opts.cases.as_deref(), &opts.exec);
    rep.cases.extend(oracle::judge_shares(&s, &opts.shares));
    // The user's programs' own words belong in the report, not just a verdict.
    rep.execs = crate::suites::exec_records(&s, opts.exec.len());
    progress(&cell.name, &format!("{:?}", rep.status).to_lowercase());
    rep
}

/// Every verdict for one cell's stream: spec cases, known deviations, exec.
pub fn judge_cell(
    cell: &Cell,
    s: &stream::Stream,
    cases: Option<&str>,
    exec: &[crate::suites::Program],
) -> Vec<oracle::Case> {
    let selected = cases.map(|c| c.split(',').map(str::to_string).collect());
    let mut out = oracle::judge(
        &CellFacts {
            aio: cell_has_aio(cell, s),
            selected,
        },
        s,
    );
    oracle::apply_known(&mut out, &cell.arch, &oracle::known_deviations());
    out.extend(oracle::judge_exec(s, exec));
    out
}

/// Judges a saved report again from each cell's raw results.jsonl, with
/// this build's oracle and known deviations (no VM is booted).
pub fn rejudge(mut r: crate::report::Report) -> Result<crate::report::Report> {
    for c in &mut r.cells {
        let path = c.artifacts.join("results.jsonl");
        if !path.exists() {
            continue; // a cell that never booted has nothing to judge
        }
        let s = stream::read_file(&path)?;
        let kept: Vec<_> = c
            .cases
            .iter()
            .filter(|k| k.id.starts_with("exec:") || k.id.starts_with("share:"))
            .cloned()
            .collect();
        c.cases = judge_cell(&c.cell, &s, None, &[]);
        c.cases.extend(kept);
    }
    Ok(r)
}

/// CONFIG_AIO of the cell's kernel: from the config we built, or for a
/// prebuilt image from the presence of fs.aio-nr (R5-config).
pub fn cell_has_aio(cell: &Cell, s: &stream::Stream) -> bool {
    match cell.config.as_str() {
        "aio-on" => true,
        "aio-off" => false,
        _ => s.hello.as_ref().is_some_and(|h| h.aio_nr_present),
    }
}

/// A progress callback that can move into spawned tasks: (label, step).
pub type SharedProgress = std::sync::Arc<dyn Fn(&str, &str) + Send + Sync>;

/// How the matrix reports progress: a step per label, and each finished cell.
#[derive(Clone)]
pub struct Reporter {
    pub step: SharedProgress,
    pub cell_done: std::sync::Arc<dyn Fn() + Send + Sync>,
}

impl Reporter {
    pub fn quiet() -> Self {
        Reporter {
            step: std::sync::Arc::new(|_: &str, _: &str| {}),
            cell_done: std::sync::Arc::new(|| {}),
        }
    }
}

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
    std::fs::create_dir_all(out).map_err(|e| anyhow::anyhow!("creating {}: {e}", out.display()))?;
    let out = out.canonicalize()?;
    let done: Arc<Mutex<Vec<CellReport>>> = Arc::default();
    let work = {
        let (done, out, cells, progress) =
            (done.clone(), out.clone(), cells.clone(), progress.clone());
        async move {
            let step = progress.step.clone();
            let prepared = prepare(&cells, &choice, &extra, accel, jobs, &move |l, s| {
                step(l, s)
            })
            .await;
            let sem = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
            let mut set = tokio::task::JoinSet::new();
            for cell in cells {
                let prep = prepared[&(cell.arch.clone(), cell.config.clone())].clone();
                let (done, out, sem, opts, progress) = (
                    done.clone(),
                    out.clone(),
                    sem.clone(),
                    opts.clone(),
                    progress.clone(),
                );
                (progress.step)(&cell.name, "queued");
                set.spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    let step = progress.step.clone();
                    let rep = match prep {
                        Ok(p) => run_cell(&cell, &p, &out, &opts, &move |l, s| step(l, s)).await,
                        Err(e) => {
                            (progress.step)(&cell.name, "error");
                            empty_report(
                                &cell,
                                &out.join(cell.name.replace('/', "_")),
                                CellStatus::Error,
                                e,
                            )
                        }
                    };
                    // On disk at once: a runner that dies loses only cells in flight.
                    let _ = std::fs::create_dir_all(&rep.artifacts);
                    let _ = std::fs::write(
                        rep.artifacts.join("cell.json"),
                        serde_json::to_vec_pretty(&rep).unwrap_or_default(),
                    );
                    done.lock().unwrap().push(rep);
                    (progress.cell_done)();
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
    let rep = crate::report::Report::new(cells_done, unfinished);
    std::fs::write(out.join("report.json"), serde_json::to_vec_pretty(&rep)?)?;
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
