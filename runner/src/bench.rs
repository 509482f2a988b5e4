//! Benchmarks (`kmatrix bench`): every time-to-verdict target of issue 15
//! with its measured figure and its floor side by side, and where a cell's
//! time goes (per machine, per guest experiment).

use crate::accel::Choice;
use crate::matrix::Cell;
use crate::oracle::Verdict;
use crate::progress::{Event, KernelEnd};
use crate::run::{self, KernelChoice, Prepared};
use crate::vm::{self, VmSpec};
use anyhow::{bail, Result};
use kmatrix_proto::args::{GuestArgs, Mode};
use std::fmt::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Options {
    /// Boots per cell and machine (medians are reported).
    pub runs: usize,
    pub jobs: usize,
    /// Also boot every non-default machine profile (q35, virt-pci); each
    /// needs its own kernel.
    pub all_machines: bool,
    /// Cells of the full matrix, timed as a whole when given.
    pub full: Option<Vec<Cell>>,
    /// Also build a candidate one line off the cached Debian 6.1 kernel.
    pub premerge: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn spec_for(cell: &Cell, p: &Prepared, mode: Mode, dir: &Path) -> VmSpec {
    let args = GuestArgs {
        mode,
        ..run::guest_args(cell, &Default::default())
    };
    let cmdline = args.to_words();
    VmSpec {
        arch: p.arch.clone(),
        kernel: p.kernel.clone(),
        initrd: p.initrd.clone(),
        cmdline,
        cpus: cell.cpus,
        max_cpus: cell.maxcpus,
        mem_mb: cell.mem_mb,
        accel: p.accel.accel,
        timeout: Duration::from_secs(cell.timeout_s),
        out_dir: dir.to_path_buf(),
        shares: vec![],
    }
}

/// Boots the floor: plain qemu, ping-mode guest, wall time spawn -> exit.
async fn floor(spec: &VmSpec) -> Result<f64> {
    std::fs::create_dir_all(&spec.out_dir)?;
    let t = Instant::now();
    let mut cmd = spec.plain_command();
    cmd.kill_on_drop(true).stdin(std::process::Stdio::null());
    // Dies with the runner, even by SIGKILL (reaper.rs).
    let st = crate::reaper::spawn_owned(cmd).await?.wait().await?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let s = crate::stream::read_file(&spec.results_path())?;
    // A reset-exit machine ends with QEMU's -no-reboot exit, also status 0.
    if !st.success() || s.completeness() != crate::stream::Completeness::Complete {
        bail!(
            "floor boot of {} ({}) did not complete ({st})",
            spec.arch.name,
            spec.arch.machine
        );
    }
    Ok(ms)
}

/// (experiment id, seconds) from the guest's console lines
/// "kmatrix-guest: ID: FATE (1.23 s)".
pub fn experiment_times(console: &str) -> Vec<(String, f64)> {
    console
        .lines()
        .filter_map(|l| {
            let rest = l.split("kmatrix-guest: ").nth(1)?;
            let (id, tail) = rest.split_once(": ")?;
            let secs = tail.rsplit_once(" (")?.1.strip_suffix(" s)")?;
            Some((id.to_string(), secs.parse().ok()?))
        })
        .collect()
}

/// One machine row: medians of ping boots and floors, and one full probe.
struct Row {
    label: String,
    ping_ms: f64,
    floor_ms: f64,
    first_console_ms: f64,
    probe_ms: f64,
    experiments: Vec<(String, f64)>,
}

async fn measure(cell: &Cell, p: &Prepared, runs: usize, dir: &Path) -> Result<Row> {
    let (mut con, mut exit, mut fl) = (vec![], vec![], vec![]);
    for i in 0..runs {
        let spec = spec_for(cell, p, Mode::Ping, &dir.join(format!("k{i}")));
        let o = vm::launch(&spec).await?;
        if o.exit != vm::Exit::PoweredOff {
            bail!(
                "{} ({}): ping boot ended {:?}",
                cell.name,
                p.arch.machine,
                o.exit
            );
        }
        let Some(c) = o.timings.first_console_ms else {
            bail!("{}: no console output from a ping boot", cell.name);
        };
        con.push((o.start_ms + c) as f64);
        exit.push((o.start_ms + o.run_ms) as f64);
        fl.push(floor(&spec_for(cell, p, Mode::Ping, &dir.join(format!("f{i}")))).await?);
    }
    let spec = spec_for(cell, p, Mode::Probe, &dir.join("probe"));
    let o = vm::launch(&spec).await?;
    let console = std::fs::read_to_string(&o.console).unwrap_or_default();
    if o.exit != vm::Exit::PoweredOff {
        let tail: Vec<_> = console.lines().rev().take(30).collect();
        bail!(
            "{} ({}): probe boot ended {:?}; console tail:\n{}",
            cell.name,
            p.arch.machine,
            o.exit,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(Row {
        label: format!("{}/{} on {}", cell.arch, cell.config, p.arch.machine),
        ping_ms: median(exit),
        floor_ms: median(fl),
        first_console_ms: median(con),
        probe_ms: (o.start_ms + o.run_ms) as f64,
        experiments: experiment_times(&console),
    })
}

/// Runs `cells` at -j`jobs` in `mode`; wall ms.
async fn matrix_wall(
    cells: &[Cell],
    prepared: &std::collections::BTreeMap<(String, String), Result<Prepared, String>>,
    mode: Mode,
    jobs: usize,
    dir: &Path,
) -> Result<f64> {
    let t = Instant::now();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, cell) in cells.iter().enumerate() {
        let p = prepared[&(cell.arch.name.clone(), cell.config.clone())]
            .clone()
            .map_err(anyhow::Error::msg)?;
        let spec = spec_for(cell, &p, mode, &dir.join(format!("m{}{i}", mode.as_str())));
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            vm::launch(&spec).await
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

/// x86_64 aio-on, candidate one line of fs/aio.c off Debian 6.1.
async fn premerge(jobs: usize) -> Result<Target> {
    use crate::kbuild::{premerge, Source};
    let arch = crate::arch::by_name("x86_64")?;
    let quiet = |_: Event| {};
    let build =
        |src: Source| -> std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>> {
            let choice = KernelChoice::Build(src);
            let (arch, quiet) = (&arch, &quiet);
            Box::pin(async move { run::kernel(arch, "aio-on", &choice, &[], jobs, quiet).await })
        };
    let m = premerge::measure(&build, jobs).await?;
    let t = m.timing;
    Ok(Target {
        figure: "pre-merge candidate, one line off a cached baseline".into(),
        measured: format!("{:.0} s ({} CC)", t.wall_s, m.compiled),
        floor: format!(
            "{:.0} s (CPU {:.0} s / {} cores)",
            t.floor_s(),
            t.cpu_s,
            t.cores
        ),
        target: "<= 60 s".into(),
        verdict: verdict(t.wall_s <= 60.0, || match &m.staged {
            None => "not built in its staging place (held by another build)".into(),
            Some(s) => format!("staged ({s}), {} objects compiled", m.compiled),
        }),
    })
}

/// One line of the targets table.
struct Target {
    figure: String,
    measured: String,
    floor: String,
    target: String,
    verdict: String,
}

fn verdict(ok: bool, why_not: impl FnOnce() -> String) -> String {
    if ok {
        "met".into()
    } else {
        format!("not met: {}", why_not())
    }
}

pub async fn bench(cells: &[Cell], choice: &KernelChoice, o: &Options) -> Result<String> {
    let mut out = String::new();
    let mut targets: Vec<Target> = Vec::new();
    let jobs = o.jobs.max(1);
    // Cold preparation: which kernels it really built, and at what CPU cost.
    let built = Mutex::new(0usize);
    let count = |e: Event| {
        if let Event::KernelDone {
            end: KernelEnd::Built,
            ..
        } = e
        {
            *built.lock().unwrap() += 1;
        }
    };
    // Kernels alone first, so the CPU floor counts compilers only (not the
    // guest build or the accelerator probe); prepare then finds them cached.
    let timer = crate::kbuild::Timer::start(jobs);
    let _ = run::kernels(cells, choice, &[], jobs, &count).await;
    let build = timer.stop();
    let prepared = run::prepare(cells, choice, &[], Choice::Auto, jobs, &|_| {}).await;
    let t = Instant::now();
    let _ = run::prepare(cells, choice, &[], Choice::Auto, jobs, &|_| {}).await;
    let hit_ms = t.elapsed().as_secs_f64() * 1e3;
    for (k, p) in &prepared {
        if let Err(e) = p {
            bail!("{}/{}: {e}", k.0, k.1);
        }
    }
    let n_built = *built.lock().unwrap();
    targets.push(Target {
        figure: "preparation cache hit".into(),
        measured: format!("{:.2} s", hit_ms / 1e3),
        floor: "-".into(),
        target: "< 1 s".into(),
        verdict: verdict(hit_ms < 1000.0, || "slower than 1 s".into()),
    });
    targets.push(if n_built > 0 {
        Target {
            figure: format!("cold build, {n_built} kernel(s) side by side"),
            measured: format!("{:.0} s", build.wall_s),
            floor: format!(
                "{:.0} s (CPU {:.0} s / {} cores)",
                build.floor_s(),
                build.cpu_s,
                build.cores
            ),
            target: "<= floor + 10%".into(),
            verdict: verdict(build.wall_s <= build.floor_s() * 1.1, || {
                format!(
                    "wall/floor {:.2} (cores shared with other work?)",
                    build.wall_s / build.floor_s()
                )
            }),
        }
    } else {
        Target {
            figure: "cold build".into(),
            measured: "not measured".into(),
            floor: "-".into(),
            target: "<= floor + 10%".into(),
            verdict: match choice {
                KernelChoice::Prebuilt { .. } => "not measured: a prebuilt image (--kernel)".into(),
                _ => {
                    "not measured: every kernel was cached (KMATRIX_CACHE=$(mktemp -d) to measure)"
                        .into()
                }
            },
        }
    });

    let dir = tempfile::Builder::new()
        .prefix("kmatrix-bench-")
        .tempdir()?;
    // Per cell on its default machine, then each other machine of its arch
    // (on the arch's first cell, with that machine's own kernel).
    let mut rows: Vec<(Row, bool)> = Vec::new();
    let mut other_done: Vec<String> = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let p = prepared[&(cell.arch.name.clone(), cell.config.clone())]
            .clone()
            .map_err(anyhow::Error::msg)?;
        rows.push((
            measure(cell, &p, o.runs, &dir.path().join(format!("c{i}"))).await?,
            true,
        ));
        if !o.all_machines || other_done.contains(&cell.arch.name) {
            continue;
        }
        other_done.push(cell.arch.name.clone());
        for m in p.arch.machines.keys().filter(|m| **m != p.arch.machine) {
            let arch = p.arch.on_machine(m)?;
            let b = run::kernel(&arch, &cell.config, choice, &[], jobs, &|_| {}).await?;
            let pm = Prepared {
                arch,
                kernel: b.image,
                ..p.clone()
            };
            rows.push((
                measure(cell, &pm, o.runs, &dir.path().join(format!("c{i}-{m}"))).await?,
                false,
            ));
        }
    }

    let _ = writeln!(
        out,
        "per cell and machine, ping guest (boots, reports, powers off); medians of {} runs, ms from QEMU start:",
        o.runs
    );
    let _ = writeln!(
        out,
        "{:34} {:>8} {:>8} {:>8} {:>6} {:>8} {:>8}",
        "cell / machine", "console", "exit", "floor", "ratio", "probe", "+probe"
    );
    for (r, _) in &rows {
        let _ = writeln!(
            out,
            "{:34} {:>8.0} {:>8.0} {:>8.0} {:>6.2} {:>8.0} {:>8.0}",
            r.label,
            r.first_console_ms,
            r.ping_ms,
            r.floor_ms,
            r.ping_ms / r.floor_ms,
            r.probe_ms,
            r.probe_ms - r.ping_ms
        );
    }
    let _ = writeln!(out, "(console: first console byte; exit: QEMU gone, ping guest; floor: the same machine, kernel and guest from a plain qemu command line; ratio: exit / floor; probe: full io_setup probe; +probe: probe - exit)");

    // Boot targets: x86_64 <= 1.0 s (any machine shown, each with its floor).
    for (r, _) in rows.iter().filter(|(r, _)| r.label.starts_with("x86_64/")) {
        targets.push(Target {
            figure: format!("boot to verdict, {}", r.label),
            measured: format!("{:.2} s", r.ping_ms / 1e3),
            floor: format!("{:.2} s (plain qemu)", r.floor_ms / 1e3),
            target: "<= 1.0 s".into(),
            verdict: verdict(r.ping_ms <= 1000.0, || {
                if r.floor_ms > 1000.0 {
                    "the plain-qemu floor itself is above 1 s (kernel + firmware)".into()
                } else {
                    "runner overhead above the floor".into()
                }
            }),
        });
    }
    // Full probe per cell <= ping boot + 2 s.
    for (r, default) in &rows {
        if !default {
            continue;
        }
        let extra = r.probe_ms - r.ping_ms;
        let slowest = r
            .experiments
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(id, s)| format!("slowest experiment {id} {s:.1} s"))
            .unwrap_or_else(|| "no experiment times on the console".into());
        targets.push(Target {
            figure: format!("full probe, {}", r.label),
            measured: format!("{:.1} s", r.probe_ms / 1e3),
            floor: format!("{:.1} s (ping boot)", r.ping_ms / 1e3),
            target: "<= floor + 2 s".into(),
            verdict: verdict(extra <= 2000.0, || {
                format!("probe takes {:.1} s over the boot; {slowest}", extra / 1e3)
            }),
        });
    }

    // The matrix as a whole at -j, kernels cached.
    let ping_wall = matrix_wall(cells, &prepared, Mode::Ping, jobs, dir.path()).await?;
    let probe_wall = matrix_wall(cells, &prepared, Mode::Probe, jobs, dir.path()).await?;
    let _ = writeln!(
        out,
        "\nmatrix wall time, {} cells, -j{jobs}: ping guest {ping_wall:.0} ms, full probe {probe_wall:.0} ms",
        cells.len()
    );
    // Floor of a matrix: its cells' probe boots spread over the VM slots,
    // and never less than the longest single cell.
    let cell_probe: Vec<f64> = rows
        .iter()
        .filter(|(_, d)| *d)
        .map(|(r, _)| r.probe_ms)
        .collect();
    let m_floor = (cell_probe.iter().sum::<f64>() / jobs as f64)
        .max(cell_probe.iter().cloned().fold(0.0, f64::max));
    targets.push(Target {
        figure: format!("matrix of {} cells, full probe, -j{jobs}", cells.len()),
        measured: format!("{:.1} s", probe_wall / 1e3),
        floor: format!("{:.1} s (cell probes / {jobs} slots)", m_floor / 1e3),
        target: if cells.len() == 4 {
            "<= 8 s".into()
        } else {
            "-".into()
        },
        verdict: if cells.len() == 4 {
            verdict(probe_wall <= 8000.0, || {
                format!(
                    "the cells' own probes need {:.1} s on {jobs} slots",
                    m_floor / 1e3
                )
            })
        } else {
            "no target for this cell count (the default matrix has 4)".into()
        },
    });
    match &o.full {
        Some(full) => {
            // Time to verdict as a user gets it: `kmatrix run`'s own
            // scheduling, judging and report, not bare boots.
            let t = Instant::now();
            let full_out = dir.path().join("full-matrix");
            let (rep, _) = run::run_matrix(
                full.clone(),
                choice.clone(),
                vec![],
                Choice::Auto,
                jobs,
                Default::default(),
                &full_out,
                crate::progress::quiet(),
            )
            .await?;
            let wall = t.elapsed().as_secs_f64() * 1e3;
            let n = rep.counts();
            let not_ok = rep
                .cells
                .iter()
                .filter(|c| c.status != crate::report::CellStatus::Ok)
                .count()
                + rep.unfinished.len();
            let _ = writeln!(
                out,
                "\nfull matrix ({} cells, -j{jobs}, `kmatrix run` as a whole): {} pass, {} fail, {} known, {} skip, {} error; {} cell(s) not ok",
                full.len(),
                n[Verdict::Pass as usize],
                n[Verdict::Fail as usize],
                n[Verdict::KnownDeviation as usize],
                n[Verdict::Skip as usize],
                n[Verdict::Error as usize],
                not_ok
            );
            targets.push(Target {
                figure: format!("full matrix, {} cells, full probe", full.len()),
                measured: format!("{:.0} s", wall / 1e3),
                floor: "(preparation and judging included)".into(),
                target: "<= 150 s".into(),
                verdict: if not_ok > 0 {
                    format!("not met: {not_ok} cell(s) did not finish ok")
                } else {
                    verdict(wall <= 150_000.0, || {
                        "see the per-cell +probe column".into()
                    })
                },
            });
        }
        None => targets.push(Target {
            figure: "full matrix, full probe".into(),
            measured: "not measured".into(),
            floor: "-".into(),
            target: "<= 150 s".into(),
            verdict: "not measured: pass --full-matrix matrices/full.toml".into(),
        }),
    }
    targets.push(match o.premerge {
        true => premerge(jobs).await?,
        false => Target {
            figure: "pre-merge candidate, one line off a cached baseline".into(),
            measured: "not measured".into(),
            floor: "-".into(),
            target: "<= 60 s".into(),
            verdict: "not measured: pass --premerge".into(),
        },
    });

    // Per-experiment guest times, slowest first, so the next slow one shows.
    let _ = writeln!(
        out,
        "\nslowest guest experiments (full probe, guest's own clock):"
    );
    let mut all: Vec<(String, String, f64)> = rows
        .iter()
        .flat_map(|(r, _)| {
            r.experiments
                .iter()
                .map(|(id, s)| (r.label.clone(), id.clone(), *s))
        })
        .collect();
    all.sort_by(|a, b| b.2.total_cmp(&a.2));
    for (label, id, s) in all.iter().take(10) {
        let _ = writeln!(out, "  {s:>7.2} s  {id:40} {label}");
    }

    let _ = writeln!(out, "\ntargets (issue 15):");
    let _ = writeln!(
        out,
        "{:52} {:>12} {:>36} {:>15}  verdict",
        "figure", "measured", "floor", "target"
    );
    for t in &targets {
        let _ = writeln!(
            out,
            "{:52} {:>12} {:>36} {:>15}  {}",
            t.figure, t.measured, t.floor, t.target, t.verdict
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn experiment_times_come_from_the_guest_console() {
        let c = "[ 0.1] x\nkmatrix-guest: results port /dev/vport0p1\n\
                 kmatrix-guest: setup.basic: exited (0.06 s)\n\
                 kmatrix-guest: table.many: exited (18.70 s)\n\
                 kmatrix-guest: done, 2 experiment(s)\n";
        assert_eq!(
            experiment_times(c),
            vec![
                ("setup.basic".to_string(), 0.06),
                ("table.many".to_string(), 18.7)
            ]
        );
    }

    #[test]
    fn a_missed_target_says_why() {
        assert_eq!(verdict(true, || unreachable!()), "met");
        assert_eq!(verdict(false, || "slow".into()), "not met: slow");
    }
}
