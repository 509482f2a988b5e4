//! Benchmarks (`kmatrix bench`): where a cell's time goes, against the floor
//! of the same kernel and guest booted by a plain QEMU command line.

use crate::accel::Choice;
use crate::matrix::Cell;
use crate::run::{self, KernelChoice, Prepared};
use crate::vm::{self, VmSpec};
use anyhow::{bail, Result};
use kmatrix_proto::args::{GuestArgs, Mode};
use std::fmt::Write;
use std::time::{Duration, Instant};

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn spec_for(cell: &Cell, p: &Prepared, mode: Mode, dir: &std::path::Path) -> VmSpec {
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
    let st = spec
        .plain_command()
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .status()
        .await?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let s = crate::stream::read_file(&spec.results_path())?;
    if !st.success() || s.completeness() != crate::stream::Completeness::Complete {
        bail!("floor boot of {} did not complete ({st})", spec.arch.name);
    }
    Ok(ms)
}

pub async fn bench(
    cells: &[Cell],
    choice: &KernelChoice,
    runs: usize,
    jobs: usize,
) -> Result<String> {
    let mut out = String::new();
    let quiet = |_: &str, _: &str| {};
    // Cold start of preparation vs. a cache hit of everything.
    let t = Instant::now();
    let prepared = run::prepare(cells, choice, &[], Choice::Auto, jobs, &quiet).await;
    let first_prep = t.elapsed();
    let t = Instant::now();
    let _ = run::prepare(cells, choice, &[], Choice::Auto, jobs, &quiet).await;
    let hit = t.elapsed();
    let _ = writeln!(
        out,
        "preparation (kernels, guests, accel): first {:.0} ms, cache hit {:.0} ms",
        first_prep.as_secs_f64() * 1e3,
        hit.as_secs_f64() * 1e3
    );
    let dir = tempfile::Builder::new()
        .prefix("kmatrix-bench-")
        .tempdir()?;
    let _ = writeln!(out, "\nper cell, ping-mode guest (boots, reports, powers off); medians of {runs} runs, ms from QEMU start:");
    let _ = writeln!(
        out,
        "{:34} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6}",
        "cell", "console", "init", "results", "exit", "floor", "probe", "ratio"
    );
    let mut wall_ping = 0.0;
    for cell in cells {
        let p = match &prepared[&(cell.arch.name.clone(), cell.config.clone())] {
            Ok(p) => p,
            Err(e) => bail!("{}: {e}", cell.name),
        };
        let (mut con, mut init, mut res, mut exit, mut fl, mut probe) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for i in 0..runs {
            let spec = spec_for(cell, p, Mode::Ping, &dir.path().join(format!("k{i}")));
            let o = vm::launch(&spec).await?;
            if o.exit != vm::Exit::PoweredOff {
                bail!("{}: ping boot ended {:?}", cell.name, o.exit);
            }
            let base = o.start_ms as f64;
            con.push(base + o.timings.first_console_ms.unwrap_or(o.run_ms) as f64);
            init.push(base + o.timings.first_result_ms.unwrap_or(o.run_ms) as f64);
            res.push(base + o.timings.end_record_ms.unwrap_or(o.run_ms) as f64);
            exit.push(base + o.run_ms as f64);
            fl.push(
                floor(&spec_for(
                    cell,
                    p,
                    Mode::Ping,
                    &dir.path().join(format!("f{i}")),
                ))
                .await?,
            );
        }
        // One full probe per cell, for scale.
        let spec = spec_for(cell, p, Mode::Probe, &dir.path().join("probe"));
        let o = vm::launch(&spec).await?;
        probe.push((o.start_ms + o.run_ms) as f64);
        let (e, f) = (median(exit), median(fl));
        wall_ping += e;
        let _ = writeln!(
            out,
            "{:34} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>6.2}",
            format!("{}/{}", cell.arch, cell.config),
            median(con),
            median(init),
            median(res),
            e,
            f,
            median(probe),
            e / f
        );
    }
    let _ = writeln!(out, "(console: first console byte; init: guest's hello record; results: end record; exit: QEMU gone; floor: plain qemu command line, same kernel and guest; probe: full io_setup probe; ratio: exit / floor)");
    // The whole matrix at -j, kernels cached, ping and full probe.
    for mode in [Mode::Ping, Mode::Probe] {
        let t = Instant::now();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        let mut set = tokio::task::JoinSet::new();
        for (i, cell) in cells.iter().enumerate() {
            let p = prepared[&(cell.arch.name.clone(), cell.config.clone())]
                .clone()
                .map_err(anyhow::Error::msg)?;
            let spec = spec_for(
                cell,
                &p,
                mode,
                &dir.path().join(format!("m{}{i}", mode.as_str())),
            );
            let sem = sem.clone();
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                vm::launch(&spec).await
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        let _ = writeln!(
            out,
            "matrix wall time, {} cells, -j{jobs}, {} guest: {:.0} ms",
            cells.len(),
            mode.as_str(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    let _ = writeln!(out, "sum of ping boots (sequential): {wall_ping:.0} ms");
    Ok(out)
}
