//! Measuring: timed boots through the runner's own VM launch, a matrix at
//! -j, a pre-merge build, and one cell as a user runs it (a whole `kmatrix
//! run` process, split by its milestones).

use super::floors;
use crate::matrix::Cell;
use crate::orchestration::progress::Event;
use crate::orchestration::run::{self, KernelChoice, Prepared};
use crate::report::Report;
use crate::util::milestones;
use crate::vm::{self, VmSpec};
use anyhow::{bail, Context, Result};
use kmatrix_proto::args::{GuestArgs, Mode};
use kmatrix_proto::catalogue::ids;
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub fn spec_for(cell: &Cell, p: &Prepared, mode: Mode, dir: &Path) -> VmSpec {
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
pub struct Row {
    pub label: String,
    pub ping_ms: f64,
    pub floor_ms: f64,
    pub first_console_ms: f64,
    pub probe_ms: f64,
    pub experiments: Vec<(String, f64)>,
    /// The arch's target for the ping boot, as a multiple of the floor.
    pub ping_floor_ratio: Option<f64>,
}

pub async fn machine_row(cell: &Cell, p: &Prepared, runs: usize, dir: &Path) -> Result<Row> {
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
        let floor = spec_for(cell, p, Mode::Ping, &dir.join(format!("f{i}")));
        fl.push(floors::plain_boot(&floor).await?);
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
        ping_floor_ratio: p.arch.ping_floor_percent.map(|p| f64::from(p) / 100.0),
    })
}

/// Runs `cells` at -j`jobs` in `mode`; wall ms.
pub async fn matrix_wall(
    cells: &[Cell],
    prepared: &std::collections::BTreeMap<run::KernelKey, Result<Prepared, String>>,
    mode: Mode,
    jobs: usize,
    dir: &Path,
) -> Result<f64> {
    let t = Instant::now();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, cell) in cells.iter().enumerate() {
        let p = prepared[&run::key_of(cell)]
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

/// x86_64 aio-on, a candidate one line of fs/aio.c off Debian 6.1.
pub async fn premerge(jobs: usize) -> Result<crate::build::kbuild::premerge::Measured> {
    use crate::build::kbuild::{premerge, Source};
    let arch = crate::matrix::arch::by_name("x86_64")?;
    let quiet = |_: Event| {};
    let build =
        |src: Source| -> std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>> {
            let choice = KernelChoice::Build(src);
            let (arch, quiet) = (&arch, &quiet);
            Box::pin(async move {
                run::kernel(
                    arch,
                    crate::matrix::Config::AioOn,
                    crate::matrix::Variant::Plain,
                    crate::matrix::Compat::Off,
                    &choice,
                    &[],
                    jobs,
                    quiet,
                )
                .await
            })
        };
    premerge::measure(&build, jobs).await
}

/// The `kmatrix run` flags that select `choice` again.
fn choice_args(choice: &KernelChoice) -> Vec<OsString> {
    use crate::build::kbuild::Source;
    match choice {
        KernelChoice::Build(Source::Tarball(_)) => vec![],
        KernelChoice::Build(Source::Debian(v)) => vec!["--kernel-version".into(), v.into()],
        KernelChoice::Build(Source::Tree(d)) => vec!["--kernel-src".into(), d.into()],
        KernelChoice::Prebuilt { image, .. } => vec!["--kernel".into(), image.into()],
    }
}

/// Where one cell's whole-process time went, in order; the parts add up
/// to `wall_ms`.
pub struct CellSplit {
    pub label: String,
    pub wall_ms: f64,
    pub parts: Vec<Part>,
}

pub struct Part {
    pub what: &'static str,
    pub ms: f64,
    /// The runner's own work (not QEMU, the kernel or the guest).
    pub runner: bool,
}

/// The experiment a split cell runs: the smallest that still judges a case.
pub const SPLIT_CASES: &str = ids::SETUP_BASIC;

/// Runs `cell` with `--cases setup.basic` as a user would (a new `kmatrix
/// run` process, its table on stdout) and splits the wall time from spawn
/// to exit with the milestones in its report.
pub async fn cell_split(cell: &Cell, choice: &KernelChoice, dir: &Path) -> Result<CellSplit> {
    let out = dir.join("split");
    let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
    cmd.args([
        "run",
        "--arch",
        &cell.arch.name,
        "--config",
        cell.config.as_str(),
    ])
    .args(["--cases", SPLIT_CASES, "--out"])
    .arg(&out)
    .args([
        "--cpus",
        &cell.cpus.to_string(),
        "--mem",
        &cell.mem_mb.to_string(),
    ])
    .args(choice_args(choice))
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true);
    if let Some(n) = cell.aio_max_nr {
        cmd.args(["--aio-max-nr", &n.to_string()]);
    }
    // The machine its floor was measured on (bench --machine q35).
    if !cell.arch.on_default_machine() {
        cmd.args(["--machine", &cell.arch.machine]);
    }
    let spawned = milestones::now_us();
    let o = cmd.output().await.context("spawning kmatrix run")?;
    let exited = milestones::now_us();
    let path = out.join("report.json");
    let rep: Report = std::fs::read(&path)
        .map_err(anyhow::Error::from)
        .and_then(|b| Ok(serde_json::from_slice(&b)?))
        .with_context(|| {
            format!(
                "{} from `kmatrix run` ({}): {}",
                path.display(),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )
        })?;
    split(&rep, spawned, exited)
}

/// The split of one run of one cell: spawned and exited are the parent's
/// CLOCK_MONOTONIC µs around the process.
pub fn split(rep: &Report, spawned: u64, exited: u64) -> Result<CellSplit> {
    let [c] = rep.cells.as_slice() else {
        bail!("the split run reported {} cells, not 1", rep.cells.len());
    };
    if c.status != crate::report::CellStatus::Ok {
        bail!("{}: {:?}: {}", c.cell.name, c.status, c.status_detail);
    }
    let m = &rep.milestones;
    let at = |what: String| {
        milestones::find(m, &what).with_context(|| format!("no milestone {what:?} in the report"))
    };
    let (main, prepared) = (at("main".into())?, at("prepared".into())?);
    let name = &c.cell.name;
    let (spawn, judged, saved) = (
        at(format!("{name}: spawn"))?,
        at(format!("{name}: judged"))?,
        at(format!("{name}: saved"))?,
    );
    let t = &c.timings;
    let need = |v: Option<u64>, what: &str| v.with_context(|| format!("{name}: no {what} time"));
    let console = need(t.first_console_ms, "first console byte")? as f64;
    let hello = need(t.first_result_ms, "hello record")? as f64;
    let end = need(t.end_record_ms, "end record")? as f64;
    let ms = |a: u64, b: u64| b.saturating_sub(a) as f64 / 1e3;
    // QEMU's own span, from the runner's spawn to its exit, in the cell's
    // own ms; the runner's parts are around it.
    let qemu_ms = (c.start_ms + c.run_ms) as f64;
    let qemu_exit = spawn + (qemu_ms * 1e3) as u64;
    let part = |what, ms, runner| Part { what, ms, runner };
    let parts = vec![
        part("runner start (exec to main)", ms(spawned, main), true),
        part(
            "CLI, cache checks, image assembly",
            ms(main, prepared),
            true,
        ),
        part("schedule to QEMU spawn", ms(prepared, spawn), true),
        part("QEMU start, QMP to cont", c.start_ms as f64, false),
        part("cont to first console byte", console, false),
        part("kernel to hello (init reached)", hello - console, false),
        part("probe (hello to end record)", end - hello, false),
        part("power-off to QEMU exit", c.run_ms as f64 - end, false),
        part("judging", ms(qemu_exit, judged), true),
        part("cell.json", ms(judged, saved), true),
        part("report, table, page, exit", ms(saved, exited), true),
    ];
    Ok(CellSplit {
        label: format!("{name} --cases {SPLIT_CASES}"),
        wall_ms: ms(spawned, exited),
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CellStatus;

    /// One ok cell spawned at 1 s after `main` at 0.1 s; QEMU 60 + 400 ms.
    fn run() -> Report {
        let cell = crate::matrix::Axes::default_matrix(crate::matrix::arch::by_names(&[]).unwrap())
            .cells()[0]
            .clone();
        let mut c = run::empty_report(&cell, Path::new("/x"), CellStatus::Ok, String::new());
        c.start_ms = 60;
        c.run_ms = 400;
        c.timings.first_console_ms = Some(100);
        c.timings.first_result_ms = Some(300);
        c.timings.end_record_ms = Some(350);
        let n = &cell.name;
        let mut r = Report::new(vec![c], vec![]);
        r.milestones = vec![
            ("main".into(), 100_000),
            ("prepared".into(), 900_000),
            (format!("{n}: spawn"), 1_000_000),
            (format!("{n}: judged"), 1_470_000),
            (format!("{n}: saved"), 1_475_000),
        ];
        r
    }

    #[test]
    fn the_parts_add_up_to_the_whole_process() {
        let s = split(&run(), 0, 1_500_000).unwrap();
        assert_eq!(s.wall_ms, 1500.0);
        let sum: f64 = s.parts.iter().map(|p| p.ms).sum();
        assert!((sum - 1500.0).abs() < 1e-6, "{sum}");
        let get = |w: &str| s.parts.iter().find(|p| p.what.starts_with(w)).unwrap().ms;
        assert_eq!(get("runner start"), 100.0);
        assert_eq!(get("CLI, cache checks"), 800.0);
        assert_eq!(get("probe"), 50.0);
        assert_eq!(get("judging"), 10.0);
        assert_eq!(get("report, table"), 25.0);
    }

    #[test]
    fn a_missing_milestone_or_time_is_an_error_naming_it() {
        let mut r = run();
        r.milestones.retain(|(w, _)| !w.ends_with("judged"));
        let e = split(&r, 0, 1_500_000).err().unwrap().to_string();
        assert!(e.contains("judged"), "{e}");
        let mut r = run();
        r.cells[0].timings.end_record_ms = None;
        let e = split(&r, 0, 1_500_000).err().unwrap().to_string();
        assert!(e.contains("end record"), "{e}");
        let mut r = run();
        r.cells[0].status = CellStatus::Timeout;
        assert!(split(&r, 0, 1_500_000).is_err());
    }
}
