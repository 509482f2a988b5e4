//! The `kmatrix` CLI: parses arguments and wires the layers together.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use kmatrix::accel::Choice;
use kmatrix::kbuild::{Source, DEFAULT_TARBALL};
use kmatrix::matrix::{Axes, Cell};
use kmatrix::report::{self, Report};
use kmatrix::run::{self, KernelChoice};
use kmatrix::{arch, cache};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "kmatrix",
    version,
    about = "Boot a matrix of minimal kernels in QEMU and check io_setup(2) against its spec"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Junit,
    Ktap,
    /// KCIDB JSON for KernelCI (checkout, a build per kernel, a test per case).
    Kcidb,
    /// One self-contained HTML page (links to each cell's console log).
    Html,
}

fn render(r: &Report, f: Format) -> Result<String> {
    Ok(match f {
        Format::Table => report::render_table(r),
        Format::Json => serde_json::to_string_pretty(r)? + "\n",
        Format::Junit => report::render_junit(r),
        Format::Ktap => report::render_ktap(r),
        Format::Kcidb => report::kcidb::render(r)?,
        Format::Html => report::html::render(r),
    })
}

#[derive(Clone, Copy, ValueEnum)]
enum AccelArg {
    Auto,
    Kvm,
    Tcg,
}

#[derive(clap::Args, Clone)]
struct MatrixArgs {
    /// A matrix file (TOML: axes, excludes, per-cell timeouts); see matrices/.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["arches", "configs", "aio_max_nr"])]
    matrix: Option<PathBuf>,
    /// Only cells whose name matches this pattern ('*' wildcard), e.g. 'arm64/*'.
    #[arg(long)]
    filter: Option<String>,
    /// Run shard K of N (1-based): every N-th cell, for CI runners in parallel.
    #[arg(long, value_name = "K/N", value_parser = kmatrix::matrix::parse_shard)]
    shard: Option<(usize, usize)>,
    /// Architectures (x86_64, arm64); default all.
    #[arg(long = "arch", value_delimiter = ',')]
    arches: Vec<String>,
    /// Kernel configs (aio-on, aio-off); default both.
    #[arg(long = "config", value_delimiter = ',')]
    configs: Vec<String>,
    /// fs.aio-max-nr values to set in the guest (one aio-on cell each);
    /// default: kernel default.
    #[arg(long = "aio-max-nr", value_delimiter = ',', value_parser = kmatrix::matrix::parse_aio_max_nr, allow_hyphen_values = true)]
    aio_max_nr: Vec<u64>,
    /// vCPU counts (one cell each).
    #[arg(long = "cpus", value_delimiter = ',', default_value = "2")]
    cpus: Vec<u32>,
    /// Guest memory in MiB (one cell each).
    #[arg(long = "mem", value_delimiter = ',', default_value = "512")]
    mem: Vec<u32>,
    /// Per-cell timeout in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Build this kernel tree instead of Debian's linux-source-6.1.
    #[arg(long, value_name = "DIR")]
    kernel_src: Option<PathBuf>,
    /// Build Debian's linux-source-VERSION (e.g. 6.12) instead of 6.1;
    /// fetched with apt-get download when not installed.
    #[arg(long, value_name = "VERSION", conflicts_with_all = ["kernel_src", "kernel"])]
    kernel_version: Option<String>,
    /// Boot this prebuilt image (needs exactly one --arch).
    #[arg(long, value_name = "IMAGE", conflicts_with = "kernel_src")]
    kernel: Option<PathBuf>,
    /// Extra config fragment(s) merged after kmatrix's own; every option in
    /// them must take or the build stops naming it.
    #[arg(long, value_name = "FILE")]
    fragment: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build what is missing, boot every cell, judge, report.
    Run {
        #[command(flatten)]
        m: MatrixArgs,
        /// VMs at once (default: CPUs).
        #[arg(short, long)]
        jobs: Option<usize>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Where console logs, raw results and the report go.
        #[arg(long, default_value = "kmatrix-out")]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "auto")]
        accel: AccelArg,
        /// Only run guest experiments matching these patterns (e.g. 'einval.*').
        #[arg(long)]
        cases: Option<String>,
        /// Share a host directory into every cell: HOST_DIR[:GUEST_PATH][:rw]
        /// (read-only unless :rw; default guest path /mnt/host). Repeatable.
        #[arg(long, value_name = "SPEC")]
        share: Vec<String>,
        /// Run 'PROGRAM ARGS' (a path inside a share) after the probe in every
        /// cell. Repeatable: programs run in order.
        #[arg(long, value_name = "CMD")]
        exec: Vec<String>,
        /// How --exec results are read: once for all programs, or once per
        /// program in order.
        #[arg(long, value_enum, value_name = "FORMAT")]
        exec_format: Vec<kmatrix::suites::ExecFormat>,
        /// KEY=VALUE in the environment of every --exec program. Repeatable.
        #[arg(long, value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// Working directory of the --exec programs (default: each program's directory).
        #[arg(long, value_name = "GUEST_DIR")]
        cwd: Option<String>,
        /// Extra kernel command-line word(s) for every cell (e.g. loglevel=7,
        /// or kmatrix.drill=panic to rehearse a failure).
        #[arg(long, value_name = "WORD")]
        append: Vec<String>,
    },
    /// Build (or find in the cache) the kernels of the matrix.
    Build {
        #[command(flatten)]
        m: MatrixArgs,
    },
    /// Print the cells of the matrix without running them.
    List {
        #[command(flatten)]
        m: MatrixArgs,
    },
    /// Measure boot-to-verdict per cell against a plain-QEMU floor.
    Bench {
        #[command(flatten)]
        m: MatrixArgs,
        /// Boots per cell (medians are reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(short, long)]
        jobs: Option<usize>,
    },
    /// Run the matrix on a baseline and a candidate kernel and show what
    /// changed (exit 1 if anything regressed).
    Compare {
        /// REPORT.json, 6.1 / 6.12 (Debian linux-source), DIR, DIR@REV or IMAGE.
        #[arg(long)]
        baseline: String,
        /// 6.1 / 6.12, DIR, DIR@REV or IMAGE (or a REPORT.json).
        #[arg(long)]
        candidate: String,
        #[command(flatten)]
        m: MatrixArgs,
        #[arg(long)]
        cases: Option<String>,
        #[arg(short, long)]
        jobs: Option<usize>,
        #[arg(long, default_value = "kmatrix-compare")]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Re-render a saved JSON report.
    Report {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Judge again from the cells' raw results with this build's oracle.
        #[arg(long)]
        rejudge: bool,
    },
    /// Join shard reports (JSON) into one report.
    Merge {
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
    },
}

fn load_report(p: &PathBuf) -> Result<Report> {
    let bytes = std::fs::read(p).with_context(|| format!("reading report {}", p.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a kmatrix JSON report", p.display()))
}

impl MatrixArgs {
    fn kernel_choice(&self) -> Result<KernelChoice> {
        if let Some(img) = &self.kernel {
            if self.arches.len() != 1 {
                bail!("--kernel IMAGE needs exactly one --arch (the image's architecture)");
            }
            let a = arch::by_name(&self.arches[0])?;
            a.check_image(img)?;
            return Ok(KernelChoice::Prebuilt {
                image: img.clone(),
                arch: a.name,
            });
        }
        // Checked up front so a bad path is one clear line, not four cell errors.
        if let Some(v) = &self.kernel_version {
            return Ok(KernelChoice::Build(Source::Debian(v.clone())));
        }
        Ok(KernelChoice::Build(match &self.kernel_src {
            Some(d) => {
                kmatrix::kbuild::check_tree(d)?;
                Source::Tree(d.clone())
            }
            None => {
                let t = PathBuf::from(DEFAULT_TARBALL);
                if !t.exists() {
                    bail!("kernel source {DEFAULT_TARBALL} is missing: apt-get install linux-source-6.1 (scripts/setup.sh), or pass --kernel-src DIR");
                }
                Source::Tarball(t)
            }
        }))
    }

    fn fragments(&self) -> Result<Vec<kmatrix::kbuild::Fragment>> {
        self.fragment
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("--fragment {}", p.display()))?;
                let name = p
                    .file_name()
                    .map_or("user.config".into(), |n| n.to_string_lossy().into_owned());
                Ok(kmatrix::kbuild::Fragment { name, text })
            })
            .collect()
    }

    fn cells(&self) -> Result<Vec<Cell>> {
        let mut cells = self.all_cells()?;
        if let Some(f) = &self.filter {
            cells.retain(|c| kmatrix::matrix::glob(f, &c.name));
        }
        if let Some((k, n)) = self.shard {
            cells = kmatrix::matrix::shard(cells, k, n);
        }
        if cells.is_empty() {
            bail!("no cells selected (check --filter / --shard)");
        }
        Ok(cells)
    }

    fn all_cells(&self) -> Result<Vec<Cell>> {
        if let Some(m) = &self.matrix {
            let mut cells = kmatrix::matrix::MatrixFile::load(m)?.cells()?;
            if self.kernel.is_some() {
                cells.retain(|c| c.config == "aio-on");
                for c in &mut cells {
                    c.config = "prebuilt".into();
                    c.name = c.name.replacen("/aio-on/", "/prebuilt/", 1);
                }
            }
            return Ok(cells);
        }
        let mut axes = Axes::default_matrix(arch::by_names(&self.arches)?);
        if self.kernel.is_some() {
            axes.configs = vec!["prebuilt".into()];
        } else if !self.configs.is_empty() {
            for c in &self.configs {
                kmatrix::kbuild::builtin_fragment(c)?;
            }
            axes.configs = self.configs.clone();
        }
        if !self.aio_max_nr.is_empty() {
            axes.aio_max_nr = self.aio_max_nr.iter().map(|v| Some(*v)).collect();
        }
        axes.cpus = self.cpus.clone();
        axes.mem_mb = self.mem.clone();
        axes.timeout_s = self.timeout;
        axes.validate()?;
        Ok(axes.cells())
    }
}

/// An overall bar with ETA, above one indicatif line per label (kernel
/// build, guest, VM).
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    overall: Option<ProgressBar>,
}

impl Bars {
    fn new() -> Self {
        Bars {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
            overall: None,
        }
    }

    fn with_total(cells: usize) -> Self {
        let mut b = Bars::new();
        let o = b.multi.add(ProgressBar::new(cells as u64));
        o.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} cells  {elapsed} elapsed, ETA {eta}",
            )
            .unwrap(),
        );
        o.enable_steady_tick(Duration::from_millis(500));
        b.overall = Some(o);
        b
    }

    fn cell_done(&self) {
        if let Some(o) = &self.overall {
            o.inc(1);
        }
    }
    fn set(&self, label: &str, msg: &str) {
        let mut bars = self.bars.lock().unwrap();
        let bar = bars.entry(label.to_string()).or_insert_with(|| {
            let b = self.multi.add(ProgressBar::new_spinner());
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {prefix:40} {msg}").unwrap(),
            );
            b.set_prefix(label.to_string());
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        let done = matches!(
            msg,
            "cached"
                | "built"
                | "ready"
                | "failed"
                | "ok"
                | "panic"
                | "timeout"
                | "incomplete"
                | "protocolerror"
                | "error"
        );
        if done {
            bar.finish_with_message(msg.to_string());
        } else {
            bar.set_message(msg.to_string());
        }
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = rt.block_on(async_main(cli))?;
    // Dropping the runtime kills any child still owned by an aborted task.
    drop(rt);
    std::process::exit(code);
}

async fn async_main(cli: Cli) -> Result<i32> {
    match cli.cmd {
        Cmd::List { m } => {
            for c in m.cells()? {
                println!("{}", c.name);
            }
            Ok(0)
        }
        Cmd::Bench { m, runs, jobs: j } => {
            let (cells, choice) = (m.cells()?, m.kernel_choice()?);
            interruptible(async {
                let out = kmatrix::bench::bench(&cells, &choice, runs.max(1), jobs(j)).await?;
                print!("{out}");
                Ok(0)
            })
            .await
        }
        Cmd::Compare {
            baseline,
            candidate,
            m,
            cases,
            jobs: j,
            out,
            format,
        } => {
            use kmatrix::compare::{self, Side};
            let arch = (m.arches.len() == 1).then(|| m.arches[0].as_str());
            let mut reports = Vec::new();
            for (name, spec) in [("baseline", &baseline), ("candidate", &candidate)] {
                let r = match compare::resolve(spec, arch).await? {
                    Side::Report(p) => load_report(&p)?,
                    Side::Kernel(choice) => {
                        let cells = m.cells()?;
                        check_qemus(&cells)?;
                        let bars = Arc::new(Bars::with_total(cells.len()));
                        let opts = run::CellOptions {
                            cases: cases.clone(),
                            ..Default::default()
                        };
                        let (r, sig) = run::run_matrix(
                            cells,
                            choice,
                            m.fragments()?,
                            Choice::Auto,
                            jobs(j),
                            opts,
                            &out.join(name),
                            reporter(&bars),
                        )
                        .await?;
                        bars.multi.clear().ok();
                        if let Some(sig) = sig {
                            eprintln!("kmatrix: interrupted by {sig}");
                            return Ok(130);
                        }
                        r
                    }
                };
                reports.push(r);
            }
            let changes = compare::compare(&reports[0], &reports[1]);
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&changes)?),
                _ => print!("{}", compare::render(&changes, &baseline, &candidate)),
            }
            Ok(if compare::regressed(&changes) { 1 } else { 0 })
        }
        Cmd::Report {
            file,
            format,
            rejudge,
        } => {
            let mut r = load_report(&file)?;
            if rejudge {
                r = run::rejudge(r)?;
            }
            print!("{}", render(&r, format)?);
            Ok(if r.green() { 0 } else { 1 })
        }
        Cmd::Merge { files, format } => {
            let r = report::merge(files.iter().map(load_report).collect::<Result<_>>()?);
            print!("{}", render(&r, format)?);
            Ok(if r.green() { 0 } else { 1 })
        }
        Cmd::Build { m } => {
            let bars = Bars::new();
            let choice = m.kernel_choice()?;
            let extra = m.fragments()?;
            let cells = m.cells()?;
            interruptible(async {
                let mut seen = Vec::new();
                for c in cells {
                    if seen.contains(&(c.arch.clone(), c.config.clone())) {
                        continue;
                    }
                    seen.push((c.arch.clone(), c.config.clone()));
                    let a = arch::by_name(&c.arch)?;
                    let b = run::kernel(&a, &c.config, &choice, &extra, jobs(None), &|l, s| {
                        bars.set(l, s)
                    })
                    .await?;
                    let how = if b.cached { "cached" } else { "built" };
                    println!("{} {} {how} {}", c.arch, c.config, b.image.display());
                }
                Ok(0)
            })
            .await
        }
        Cmd::Run {
            m,
            jobs: j,
            format,
            out,
            accel,
            cases,
            share,
            exec,
            exec_format,
            env,
            cwd,
            append,
        } => {
            let shares = share
                .iter()
                .map(|s| kmatrix::share::Share::parse(s))
                .collect::<Result<Vec<_>>>()?;
            if !shares.is_empty() {
                kmatrix::share::virtiofsd_binary()?;
            }
            if !exec.is_empty() && shares.is_empty() {
                bail!("--exec runs a program from a share: add --share HOST_DIR");
            }
            let exec = kmatrix::suites::programs(&exec, &exec_format)?;
            kmatrix::suites::check_exec_options(&exec, &env, &cwd)?;
            let opts = run::CellOptions {
                cases,
                shares,
                exec,
                env,
                cwd,
                append,
            };
            run_matrix(m, jobs(j), format, out, accel, opts).await
        }
    }
}

/// Runs `f` unless SIGINT/SIGTERM comes first; then `f` is dropped, which
/// kills its make process groups and QEMUs and removes their temp dirs.
async fn interruptible(f: impl std::future::Future<Output = Result<i32>>) -> Result<i32> {
    tokio::select! {
        r = f => r,
        sig = run::shutdown_signal() => {
            eprintln!("kmatrix: interrupted by {sig}");
            Ok(130)
        }
    }
}

fn in_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
}

fn jobs(j: Option<usize>) -> usize {
    j.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

async fn run_matrix(
    m: MatrixArgs,
    jobs: usize,
    format: Format,
    out: PathBuf,
    accel: AccelArg,
    opts: run::CellOptions,
) -> Result<i32> {
    let cells = m.cells()?;
    let choice = m.kernel_choice()?;
    let extra = m.fragments()?;
    check_qemus(&cells)?;
    let bars = Arc::new(Bars::with_total(cells.len()));
    let (rep, interrupted) = run::run_matrix(
        cells,
        choice,
        extra,
        accel_choice(accel),
        jobs,
        opts,
        &out,
        reporter(&bars),
    )
    .await?;
    bars.multi.clear().ok();
    print!("{}", render(&rep, format)?);
    // The page links each cell's console log relative to the out dir.
    let page = out.join("report.html");
    std::fs::write(&page, report::html::render(&rep))
        .with_context(|| format!("writing {}", page.display()))?;
    eprintln!(
        "report: {} and {} (cache: {})",
        out.join("report.json").display(),
        page.display(),
        cache::root().display()
    );
    if let Some(sig) = interrupted {
        eprintln!("kmatrix: interrupted by {sig}; partial report written");
        return Ok(130);
    }
    Ok(if rep.green() { 0 } else { 1 })
}

fn accel_choice(a: AccelArg) -> Choice {
    match a {
        AccelArg::Auto => Choice::Auto,
        AccelArg::Kvm => Choice::Kvm,
        AccelArg::Tcg => Choice::Tcg,
    }
}

fn reporter(bars: &Arc<Bars>) -> run::Reporter {
    let (b1, b2) = (bars.clone(), bars.clone());
    run::Reporter {
        step: Arc::new(move |l: &str, s: &str| b1.set(l, s)),
        cell_done: Arc::new(move || b2.cell_done()),
    }
}

/// QEMUs the cells need: if none is there, one clear error before anything
/// is built; if only some are missing, those cells fail naming it and the
/// others go on.
fn check_qemus(cells: &[Cell]) -> Result<()> {
    let arches = cells
        .iter()
        .map(|c| arch::by_name(&c.arch))
        .collect::<Result<Vec<_>>>()?;
    let missing: Vec<_> = arches.iter().filter(|a| !in_path(&a.qemu)).collect();
    if missing.len() == arches.len() {
        let a = missing[0];
        bail!("{} not found in PATH: it boots the {} cells (apt-get install {}; scripts/setup.sh installs all)", a.qemu, a.name, a.qemu_package);
    }
    Ok(())
}
