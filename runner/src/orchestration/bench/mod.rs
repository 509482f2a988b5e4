//! Benchmarks (`kmatrix bench`): every time-to-verdict target with its
//! measured figure and its floor side by side, and where a cell's time goes
//! (per machine, per guest experiment, and one cell as a whole process).
//! `measure` times, `floors` gives what each figure is held against,
//! `render` prints; this file decides which targets are met.

mod floors;
mod measure;
mod render;

pub use measure::experiment_times;

use crate::build::kbuild::Timing;
use crate::matrix::Cell;
use crate::oracle::Verdict;
use crate::orchestration::accel::Choice;
use crate::orchestration::progress::{Event, KernelEnd};
use crate::orchestration::run::{self, KernelChoice, Prepared};
use anyhow::{bail, Result};
use kmatrix_proto::args::Mode;
use measure::{CellSplit, Row};
use render::{verdict, Target};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

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

type PreparedMap = BTreeMap<run::KernelKey, Result<Prepared, String>>;

pub async fn bench(cells: &[Cell], choice: &KernelChoice, o: &Options) -> Result<String> {
    let jobs = o.jobs.max(1);
    let mut out = String::new();
    let (prepared, mut targets) = preparation(cells, choice, jobs).await?;
    let dir = tempfile::Builder::new()
        .prefix("kmatrix-bench-")
        .tempdir()?;
    let rows = machine_rows(cells, choice, &prepared, o, dir.path()).await?;
    render::machine_rows(&mut out, &rows, o.runs);
    targets.extend(boot_targets(&rows));
    targets.extend(debug_targets(&rows));

    // One cell as a user runs it, per arch (its first cell), against the
    // floor of that cell's default machine.
    let mut seen: Vec<&str> = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        if seen.contains(&cell.arch.name.as_str()) {
            continue;
        }
        seen.push(&cell.arch.name);
        let mut splits: Vec<CellSplit> = Vec::new();
        for r in 0..o.runs {
            let d = dir.path().join(format!("s{i}-{r}"));
            splits.push(measure::cell_split(cell, choice, &d).await?);
        }
        // rows[i] is this cell's default-machine row (machine_rows' order).
        let floor_ms = rows
            .iter()
            .filter(|(_, d)| *d)
            .nth(i)
            .map_or(f64::NAN, |(r, _)| r.floor_ms);
        render::cell_split(&mut out, &splits, floor_ms);
        targets.push(split_target(&splits, floor_ms, &cell.arch.name));
    }

    // The matrix as a whole at -j, kernels cached.
    let ping_wall = measure::matrix_wall(cells, &prepared, Mode::Ping, jobs, dir.path()).await?;
    let probe_wall = measure::matrix_wall(cells, &prepared, Mode::Probe, jobs, dir.path()).await?;
    let _ = std::fmt::Write::write_fmt(
        &mut out,
        format_args!(
            "\nmatrix wall time, {} cells, -j{jobs}: ping guest {ping_wall:.0} ms, full probe {probe_wall:.0} ms\n",
            cells.len()
        ),
    );
    targets.push(matrix_target(cells.len(), &rows, probe_wall, jobs));
    targets.push(match &o.full {
        Some(full) => full_matrix(&mut out, full, choice, jobs, dir.path()).await?,
        None => not_measured(
            "full matrix, full probe",
            "<= 150 s",
            "pass --full-matrix matrices/full.toml",
        ),
    });
    targets.push(match o.premerge {
        true => premerge_target(jobs).await?,
        false => not_measured(
            "pre-merge candidate, one line off a cached baseline",
            "<= 60 s",
            "pass --premerge",
        ),
    });
    render::slowest_experiments(&mut out, &rows);
    render::targets(&mut out, &targets);
    Ok(out)
}

fn not_measured(figure: &str, target: &str, how: &str) -> Target {
    Target {
        figure: figure.into(),
        measured: "not measured".into(),
        floor: "-".into(),
        target: target.into(),
        verdict: format!("not measured: {how}"),
    }
}

/// Builds what is missing (timed, kernels alone, so the CPU floor counts
/// compilers only), prepares every cell, then times a second preparation
/// that finds everything cached.
async fn preparation(
    cells: &[Cell],
    choice: &KernelChoice,
    jobs: usize,
) -> Result<(PreparedMap, Vec<Target>)> {
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
    let timer = crate::build::kbuild::Timer::start(jobs);
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
    let hit = Target {
        figure: "preparation cache hit".into(),
        measured: format!("{:.2} s", hit_ms / 1e3),
        floor: "-".into(),
        target: "< 1 s".into(),
        verdict: verdict(hit_ms < 1000.0, || "slower than 1 s".into()),
    };
    let cold = match (n_built, choice) {
        (0, KernelChoice::Prebuilt { .. }) => not_measured(
            "cold build",
            "<= floor + 10%",
            "a prebuilt image (--kernel)",
        ),
        (0, _) => not_measured(
            "cold build",
            "<= floor + 10%",
            "every kernel was cached (KMATRIX_CACHE=$(mktemp -d) to measure)",
        ),
        (n, _) => build_target(&format!("cold build, {n} kernel(s) side by side"), &build),
    };
    Ok((prepared, vec![hit, cold]))
}

/// A build's wall time against its CPU floor (CPU seconds over the cores).
fn build_target(figure: &str, t: &Timing) -> Target {
    Target {
        figure: figure.into(),
        measured: format!("{:.0} s", t.wall_s),
        floor: format!(
            "{:.0} s (CPU {:.0} s / {} cores)",
            t.floor_s(),
            t.cpu_s,
            t.cores
        ),
        target: "<= floor + 10%".into(),
        verdict: verdict(t.wall_s <= t.floor_s() * 1.1, || {
            format!(
                "wall/floor {:.2} (cores shared with other work?)",
                t.wall_s / t.floor_s()
            )
        }),
    }
}

/// Per cell on its default machine, then each other machine of its arch
/// (on the arch's first cell, with that machine's own kernel); the bool
/// says "default machine".
async fn machine_rows(
    cells: &[Cell],
    choice: &KernelChoice,
    prepared: &PreparedMap,
    o: &Options,
    dir: &Path,
) -> Result<Vec<(Row, bool)>> {
    let mut rows: Vec<(Row, bool)> = Vec::new();
    let mut other_done: Vec<String> = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let p = prepared[&run::key_of(cell)]
            .clone()
            .map_err(anyhow::Error::msg)?;
        let d = dir.join(format!("c{i}"));
        rows.push((measure::machine_row(cell, &p, o.runs, &d).await?, true));
        if !o.all_machines || other_done.contains(&cell.arch.name) {
            continue;
        }
        other_done.push(cell.arch.name.clone());
        for m in p.arch.machines.keys().filter(|m| **m != p.arch.machine) {
            let arch = p.arch.on_machine(m)?;
            let b = run::kernel(
                &arch,
                cell.config,
                cell.variant,
                cell.compat,
                choice,
                &[],
                o.jobs,
                &|_| {},
            )
            .await?;
            let pm = Prepared {
                arch,
                kernel: b.image,
                ..p.clone()
            };
            let d = dir.join(format!("c{i}-{m}"));
            rows.push((measure::machine_row(cell, &pm, o.runs, &d).await?, false));
        }
    }
    Ok(rows)
}

/// x86_64 boot to verdict <= 1.0 s (every machine shown, each with its
/// floor); each default cell's full probe <= its ping boot + 2 s.
fn boot_targets(rows: &[(Row, bool)]) -> Vec<Target> {
    let mut v = Vec::new();
    // Debug cells have no boot or probe target: they are shown against the
    // plain cell of the same arch and config (debug_targets).
    let plain = |r: &&(Row, bool)| !r.0.label.contains("+debug/");
    for (r, _) in (rows.iter().filter(plain)).filter(|(r, _)| r.label.starts_with("x86_64/")) {
        v.push(Target {
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
    for (r, max) in rows
        .iter()
        .filter(plain)
        .filter_map(|(r, _)| Some((r, r.ping_floor_ratio?)))
    {
        let ratio = r.ping_ms / r.floor_ms;
        v.push(Target {
            figure: format!("ping boot, {}", r.label),
            measured: format!("{:.2} s ({ratio:.2}x)", r.ping_ms / 1e3),
            floor: format!("{:.2} s (plain qemu)", r.floor_ms / 1e3),
            target: format!("<= {max}x floor"),
            verdict: verdict(ratio <= max, || "runner overhead above the floor".into()),
        });
    }
    for (r, _) in (rows.iter().filter(plain)).filter(|(_, default)| *default) {
        let extra = r.probe_ms - r.ping_ms;
        let slowest = r
            .experiments
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(id, s)| format!("slowest experiment {id} {s:.1} s"))
            .unwrap_or_else(|| "no experiment times on the console".into());
        v.push(Target {
            figure: format!("full probe, {}", r.label),
            measured: format!("{:.1} s", r.probe_ms / 1e3),
            floor: format!("{:.1} s (ping boot)", r.ping_ms / 1e3),
            target: "<= floor + 2 s".into(),
            verdict: verdict(extra <= 2000.0, || {
                format!("probe takes {:.1} s over the boot; {slowest}", extra / 1e3)
            }),
        });
    }
    v
}

/// Each debug cell's boot and full probe next to the plain cell of the same
/// arch and config (no target: what lockdep, KASAN and kmemleak cost).
fn debug_targets(rows: &[(Row, bool)]) -> Vec<Target> {
    let mut v = Vec::new();
    for (d, _) in rows.iter().filter(|(r, _)| r.label.contains("+debug/")) {
        let plain = d.label.replace("+debug/", "/");
        let p = rows.iter().find(|(r, _)| r.label == plain).map(|x| &x.0);
        v.push(Target {
            figure: format!("debug cell, {}", d.label),
            measured: format!(
                "boot {:.1} s, full probe {:.1} s",
                d.ping_ms / 1e3,
                d.probe_ms / 1e3
            ),
            floor: p.map_or(
                "no plain cell of its arch and config in this run".into(),
                |p| {
                    format!(
                        "plain: boot {:.1} s, full probe {:.1} s ({:.0}x)",
                        p.ping_ms / 1e3,
                        p.probe_ms / 1e3,
                        d.probe_ms / p.probe_ms
                    )
                },
            ),
            target: "none (shown)".into(),
            verdict: "-".into(),
        });
    }
    v
}

/// One x86_64 cell as a whole process within 1.25x of its plain-QEMU floor
/// (other arches are shown without a target).
fn split_target(splits: &[CellSplit], floor_ms: f64, arch: &str) -> Target {
    let wall = measure::median(splits.iter().map(|s| s.wall_ms).collect());
    let ratio = wall / floor_ms;
    let part = |i: usize| measure::median(splits.iter().map(|s| s.parts[i].ms).collect());
    let biggest = splits.first().map_or(String::new(), |s| {
        (0..s.parts.len())
            .filter(|i| s.parts[*i].runner)
            .max_by(|a, b| part(*a).total_cmp(&part(*b)))
            .map_or(String::new(), |i| {
                format!("{} {:.0} ms", s.parts[i].what, part(i))
            })
    });
    Target {
        figure: format!(
            "one {arch} cell, --cases {}, whole process",
            measure::SPLIT_CASES
        ),
        measured: format!("{:.2} s ({ratio:.2}x)", wall / 1e3),
        floor: format!("{:.2} s (plain qemu)", floor_ms / 1e3),
        target: if arch == "x86_64" {
            "<= 1.25x floor".into()
        } else {
            "-".into()
        },
        verdict: if arch == "x86_64" {
            verdict(ratio <= 1.25, || format!("largest runner part: {biggest}"))
        } else {
            "no target for this arch".into()
        },
    }
}

fn matrix_target(n: usize, rows: &[(Row, bool)], probe_wall: f64, jobs: usize) -> Target {
    let cell_probe: Vec<f64> = rows
        .iter()
        .filter(|(_, d)| *d)
        .map(|(r, _)| r.probe_ms)
        .collect();
    let m_floor = floors::matrix(&cell_probe, jobs);
    Target {
        figure: format!("matrix of {n} cells, full probe, -j{jobs}"),
        measured: format!("{:.1} s", probe_wall / 1e3),
        floor: format!("{:.1} s (cell probes / {jobs} slots)", m_floor / 1e3),
        target: if n == 4 { "<= 8 s".into() } else { "-".into() },
        verdict: if n == 4 {
            verdict(probe_wall <= 8000.0, || {
                format!(
                    "the cells' own probes need {:.1} s on {jobs} slots",
                    m_floor / 1e3
                )
            })
        } else {
            "no target for this cell count (the default matrix has 4)".into()
        },
    }
}

/// Time to verdict as a user gets it: `kmatrix run`'s own scheduling,
/// judging and report, not bare boots.
async fn full_matrix(
    out: &mut String,
    full: &[Cell],
    choice: &KernelChoice,
    jobs: usize,
    dir: &Path,
) -> Result<Target> {
    let t = Instant::now();
    let (rep, _) = run::run_matrix(
        full.to_vec(),
        choice.clone(),
        vec![],
        Choice::Auto,
        jobs,
        Default::default(),
        &dir.join("full-matrix"),
        crate::orchestration::progress::quiet(),
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
    let _ = std::fmt::Write::write_fmt(
        out,
        format_args!(
            "\nfull matrix ({} cells, -j{jobs}, `kmatrix run` as a whole): {} pass, {} fail, {} known, {} skip, {} error; {} cell(s) not ok\n",
            full.len(),
            n[Verdict::Pass as usize],
            n[Verdict::Fail as usize],
            n[Verdict::KnownDeviation as usize],
            n[Verdict::Skip as usize],
            n[Verdict::Error as usize],
            not_ok
        ),
    );
    Ok(Target {
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
    })
}

async fn premerge_target(jobs: usize) -> Result<Target> {
    let m = measure::premerge(jobs).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use kmatrix_proto::catalogue::ids;

    #[test]
    fn a_debug_cell_is_shown_against_its_plain_cell_and_held_to_no_boot_target() {
        let row = |label: &str, ping: f64, probe: f64| {
            let r = Row {
                label: label.into(),
                ping_ms: ping,
                floor_ms: 700.0,
                first_console_ms: 0.0,
                probe_ms: probe,
                experiments: vec![],
                ping_floor_ratio: None,
            };
            (r, true)
        };
        let rows = [
            row("x86_64/aio-on/maxdefault/cpu2/mem512", 800.0, 2500.0),
            row(
                "x86_64/aio-on+debug/maxdefault/cpu2/mem512",
                12000.0,
                38000.0,
            ),
        ];
        let boot = boot_targets(&rows);
        assert_eq!(boot.len(), 2, "only the plain cell has targets");
        assert!(boot.iter().all(|t| !t.figure.contains("+debug")));
        let d = debug_targets(&rows);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].measured, "boot 12.0 s, full probe 38.0 s");
        assert!(
            d[0].floor
                .starts_with("plain: boot 0.8 s, full probe 2.5 s (15x)"),
            "{}",
            d[0].floor
        );
    }

    #[test]
    fn experiment_times_come_from_the_guest_console() {
        let c = "[ 0.1] x\nkmatrix-guest: results port /dev/vport0p1\n\
                 kmatrix-guest: setup.basic: exited (0.06 s)\n\
                 kmatrix-guest: table.many: exited (18.70 s)\n\
                 kmatrix-guest: done, 2 experiment(s)\n";
        assert_eq!(
            experiment_times(c),
            vec![
                (ids::SETUP_BASIC.to_string(), 0.06),
                (ids::TABLE_MANY.to_string(), 18.7)
            ]
        );
    }
}
