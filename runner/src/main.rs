//! The `kmatrix` CLI: parses arguments and wires the layers together.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use kmatrix::matrix::{Axes, Cell, Config};
use kmatrix::orchestration::accel::Choice;
use kmatrix::orchestration::progress::Ui;
use kmatrix::orchestration::run::{self, KernelChoice};
use kmatrix::report::{self, Report};
use kmatrix::spec::source::SpecSet;
use kmatrix::util::stdout::{emit, emit_line};
use kmatrix::{matrix::arch, util::cache};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "kmatrix",
    version,
    about = "Boot a matrix of minimal kernels in QEMU and check the AIO syscalls against their KAPI specs"
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

/// `verbose`: the table lists every case instead of folding the quiet ones.
fn render(r: &Report, f: Format, verbose: bool) -> Result<String> {
    Ok(match f {
        Format::Table => report::render_table(r, verbose),
        Format::Json => serde_json::to_string_pretty(r)? + "\n",
        Format::Junit => report::render_junit(r),
        Format::Ktap => report::render_ktap(r),
        Format::Kcidb => report::kcidb::render(r)?,
        Format::Html => report::html::render(r),
    })
}

#[derive(Clone, Copy, ValueEnum)]
enum SpecFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum SpecCmd {
    /// Where two specs differ, clause by clause (ranges, errors, return
    /// success, state transitions, ...). A and B: `builtin` (kmatrix's
    /// spec/), or any --source PATH.
    Diff {
        a: String,
        b: String,
        /// Only this syscall.
        syscall: Option<String>,
    },
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
    #[arg(long, value_name = "FILE", conflicts_with_all = ["arches", "configs", "aio_max_nr", "variants", "abis", "compat", "time32"])]
    matrix: Option<PathBuf>,
    /// Only cells whose name matches this pattern ('*' wildcard), e.g. 'arm64/*'.
    #[arg(long)]
    filter: Option<String>,
    /// Run shard K of N (1-based): every N-th cell, for CI runners in parallel.
    #[arg(long, value_name = "K/N", value_parser = kmatrix::matrix::parse_shard)]
    shard: Option<(usize, usize)>,
    /// Architectures (x86_64, arm64, s390x, or all); default x86_64 and arm64.
    #[arg(long = "arch", value_delimiter = ',')]
    arches: Vec<String>,
    /// Kernel configs (aio-on, aio-off); default both.
    #[arg(long = "config", value_delimiter = ',')]
    configs: Vec<Config>,
    /// Kernel variants (plain, debug: lockdep, might_sleep, KASAN,
    /// kmemleak, ... reporting on the console); default plain.
    #[arg(long = "variant", value_delimiter = ',')]
    variants: Vec<kmatrix::matrix::Variant>,
    /// Probe ABIs (native; compat: the arch's 32-bit programs, i686 on
    /// x86_64, armhf on arm64); default native.
    #[arg(long = "abi", value_delimiter = ',')]
    abis: Vec<kmatrix::matrix::Abi>,
    /// Kernels with the compat ABI (on, off); default on exactly when a
    /// cell's probe is compat, so both ABIs run on the same kernels.
    #[arg(long, value_delimiter = ',', value_parser = kmatrix::matrix::parse_on_off)]
    compat: Vec<bool>,
    /// Compat kernels with the 32-bit time_t entry points (on, off);
    /// default on.
    #[arg(long, value_delimiter = ',', value_parser = kmatrix::matrix::parse_on_off)]
    time32: Vec<bool>,
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
    /// Judge against the KAPI specs here (a C file, a kernel tree, kapi
    /// JSON, debugfs specs-json), or `builtin` (kmatrix's spec/). Default:
    /// a --kernel-src tree's own blocks where it has them, else spec/.
    #[arg(long, value_name = "PATH|builtin")]
    spec_source: Option<kmatrix::spec::source::SpecSource>,
    /// Extra config fragment(s) merged after kmatrix's own; every option in
    /// them must take or the build stops naming it.
    #[arg(long, value_name = "FILE")]
    fragment: Vec<PathBuf>,
    /// Boot on this machine profile instead of each arch's default (e.g.
    /// q35 for cells that need PCI); see [machines] in kernels/arch/*.toml.
    #[arg(long, value_name = "NAME")]
    machine: Option<String>,
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
        /// The table lists every case (by default, cases that only pass or
        /// skip are folded into one row per pattern of verdicts).
        #[arg(short, long)]
        verbose: bool,
        /// Where console logs, raw results and the report go.
        #[arg(long, default_value = "kmatrix-out")]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "auto")]
        accel: AccelArg,
        #[command(flatten)]
        c: CellArgs,
    },
    /// Print a syscall's spec model (all without SYSCALL) and, per clause,
    /// the case ids that check it; `spec diff A B` compares two specs.
    #[command(args_conflicts_with_subcommands = true)]
    Spec {
        #[command(subcommand)]
        action: Option<SpecCmd>,
        syscall: Option<String>,
        /// Print guest-init/src/family_catalogue.rs (the generic cases) instead.
        #[arg(long)]
        guest_catalogue: bool,
        /// Read specs from here instead of kmatrix's own: a C file or patch,
        /// a kernel tree (every *.c), `kapi -f json` output, or a debugfs
        /// specs-json file or directory.
        #[arg(long, value_name = "PATH")]
        source: Option<PathBuf>,
        /// text, or json (the model, with each spec's origin).
        #[arg(long, value_enum, default_value = "text")]
        format: SpecFormat,
    },
    /// Build (or find in the cache) the kernels of the matrix.
    Build {
        #[command(flatten)]
        m: MatrixArgs,
        /// Print wall time against the CPU-time floor (user+sys / cores).
        #[arg(long)]
        timings: bool,
        /// Build slots shared by all kernels (default: CPUs).
        #[arg(short, long)]
        jobs: Option<usize>,
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
        /// Also time this matrix file as a whole (e.g. matrices/full.toml).
        #[arg(long, value_name = "FILE")]
        full_matrix: Option<PathBuf>,
        /// Only the default machine of each arch (skips q35 / virt-pci and
        /// their kernels).
        #[arg(long)]
        default_machines: bool,
        /// Also time a candidate one line off the cached Debian 6.1 kernel
        /// (x86_64 aio-on), as `compare --candidate DIR` builds it.
        #[arg(long)]
        premerge: bool,
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
    /// Find the commit that changed a verdict (or an observation) between
    /// a good and a bad revision of a kernel tree, with git bisect; each
    /// revision is built incrementally in the staging place and booted.
    Bisect {
        /// The kernel's git tree (only read: revisions are checked out in a
        /// worktree in the cache).
        #[arg(long, value_name = "DIR", required_unless_present = "resume")]
        tree: Option<PathBuf>,
        /// A revision that behaves as expected.
        #[arg(long, value_name = "REV", required_unless_present = "resume")]
        good: Option<String>,
        /// A later revision that does not.
        #[arg(long, value_name = "REV", required_unless_present = "resume")]
        bad: Option<String>,
        /// Bisect on this case's verdict (an id, or a '*' pattern; comma
        /// separated); default: any case of the selected cells.
        #[arg(long = "case", value_name = "ID|PATTERN")]
        case: Option<String>,
        /// Bisect on the observation (errno, ring capacity, aio-nr), so a
        /// change that keeps the verdict is found too.
        #[arg(long)]
        observed: bool,
        /// Go on with the bisection an interruption left in the cache (of
        /// --tree, else the last one), with its options.
        #[arg(long, conflicts_with_all = ["good", "bad", "case", "observed"])]
        resume: bool,
        #[command(flatten)]
        m: MatrixArgs,
        #[arg(short, long)]
        jobs: Option<usize>,
        /// Each revision's run goes to OUT/NN-ROLE-REV.
        #[arg(long, default_value = "kmatrix-bisect")]
        out: PathBuf,
        /// table or json.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Re-render a saved JSON report.
    Report {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// The table lists every case (by default, cases that only pass or
        /// skip are folded into one row per pattern of verdicts).
        #[arg(short, long)]
        verbose: bool,
        /// Judge again from the cells' raw results with this build's oracle.
        #[arg(long)]
        rejudge: bool,
    },
    /// Join shard reports (JSON) into one report.
    Merge {
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// The table lists every case (by default, cases that only pass or
        /// skip are folded into one row per pattern of verdicts).
        #[arg(short, long)]
        verbose: bool,
    },
}

/// What every cell of a run does besides the probe: the experiments it
/// runs, the shares, the --exec programs and extra kernel words.
#[derive(clap::Args)]
struct CellArgs {
    /// Only run guest experiments matching these patterns (e.g. 'einval.*').
    #[arg(long)]
    cases: Option<String>,
    /// Only run these syscalls' experiments (e.g. io_setup,io_submit).
    #[arg(long, value_name = "LIST")]
    syscalls: Option<String>,
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
    exec_format: Vec<kmatrix::oracle::suites::ExecFormat>,
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
}

impl CellArgs {
    /// Checks the options against each other and reads the --exec programs.
    fn options(self, m: &MatrixArgs) -> Result<run::CellOptions> {
        let cases = kmatrix::oracle::coverage::select(self.cases, self.syscalls)?;
        let shares = self
            .share
            .iter()
            .map(|s| kmatrix::vm::share::Share::parse(s))
            .collect::<Result<Vec<_>>>()?;
        if !shares.is_empty() {
            // Missing: said once here; the cells run without their shares.
            kmatrix::vm::share::available();
        }
        if !self.exec.is_empty() && shares.is_empty() {
            bail!("--exec runs a program from a share: add --share HOST_DIR");
        }
        let exec = kmatrix::oracle::suites::programs(&self.exec, &self.exec_format)?;
        kmatrix::oracle::suites::check_exec_options(&exec, &self.env, &self.cwd)?;
        Ok(run::CellOptions {
            cases,
            shares,
            exec,
            env: self.env,
            cwd: self.cwd,
            append: self.append,
            specs: m.specs(&m.kernel_choice()?)?,
        })
    }
}

fn load_report(p: &PathBuf) -> Result<Report> {
    let bytes = std::fs::read(p).with_context(|| format!("reading report {}", p.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a kmatrix JSON report", p.display()))
}

impl MatrixArgs {
    /// The specs to judge a kernel from `choice` against: --spec-source,
    /// else a tree's own KAPI blocks where it has them; None for spec/.
    fn specs(&self, choice: &KernelChoice) -> Result<Option<std::sync::Arc<SpecSet>>> {
        use kmatrix::spec::source::SpecSource;
        let path = match (&self.spec_source, choice) {
            (Some(SpecSource::Builtin), _) => return Ok(None),
            (Some(SpecSource::Path(p)), _) => p.clone(),
            (None, KernelChoice::Build(kmatrix::build::kbuild::Source::Tree(dir))) => dir.clone(),
            (None, _) => return Ok(None),
        };
        let set = SpecSet::resolve(&path)?;
        for u in &set.specs {
            let hints = u
                .hint_error
                .as_ref()
                .map_or(String::new(), |e| format!(" (hints do not fit: {e})"));
            eprintln!(
                "kmatrix: judging {} against {}{hints}",
                u.syscall,
                u.label()
            );
        }
        Ok((!set.is_builtin()).then(|| std::sync::Arc::new(set)))
    }

    fn kernel_choice(&self) -> Result<KernelChoice> {
        kmatrix::build::source::from_flags(
            self.kernel.as_deref(),
            &self.arches,
            self.kernel_version.as_deref(),
            self.kernel_src.as_deref(),
        )
    }

    fn fragments(&self) -> Result<Vec<kmatrix::build::kbuild::Fragment>> {
        self.fragment
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("--fragment {}", p.display()))?;
                let name = p
                    .file_name()
                    .map_or("user.config".into(), |n| n.to_string_lossy().into_owned());
                Ok(kmatrix::build::kbuild::Fragment {
                    name,
                    text,
                    shares_staging: false,
                })
            })
            .collect()
    }

    fn cells(&self) -> Result<Vec<Cell>> {
        let mut cells = self.all_cells()?;
        if let Some(m) = &self.machine {
            kmatrix::matrix::select_machine(&mut cells, m)?;
        }
        if let Some(f) = &self.filter {
            cells.retain(|c| kmatrix::matrix::glob(f, &c.name));
        }
        if let Some((k, n)) = self.shard {
            cells = kmatrix::matrix::shard(cells, k, n);
        }
        if cells.is_empty() {
            bail!("no cells selected (check --filter / --shard)");
        }
        for gap in kmatrix::matrix::debug_gaps(&cells) {
            kmatrix::util::notice::once(&gap, &gap);
        }
        Ok(cells)
    }

    fn all_cells(&self) -> Result<Vec<Cell>> {
        if let Some(m) = &self.matrix {
            let mut cells = kmatrix::matrix::MatrixFile::load(m)?.cells()?;
            if self.kernel.is_some() {
                cells.retain(|c| {
                    c.config == Config::AioOn && c.variant.is_plain() && c.compat.is_off()
                });
                for c in &mut cells {
                    c.config = Config::Prebuilt;
                    *c = c.clone().named();
                }
            }
            return Ok(cells);
        }
        let mut axes = Axes::default_matrix(arch::by_names(&self.arches)?);
        if self.kernel.is_some() {
            axes.configs = vec![Config::Prebuilt];
        } else if !self.configs.is_empty() {
            axes.configs = self.configs.clone();
        }
        if !self.aio_max_nr.is_empty() {
            axes.aio_max_nr = self.aio_max_nr.iter().map(|v| Some(*v)).collect();
        }
        if !self.variants.is_empty() {
            if self.kernel.is_some() && self.variants.iter().any(|v| !v.is_plain()) {
                bail!("--variant debug builds its kernel with kernels/debug.config; a prebuilt --kernel image is booted as it is");
            }
            axes.variants = self.variants.clone();
        }
        if !self.abis.is_empty() {
            axes.abis = self.abis.clone();
        }
        if self.kernel.is_some() {
            if !self.compat.is_empty() || !self.time32.is_empty() {
                bail!("--compat and --time32 choose how kmatrix builds its kernel; a prebuilt --kernel image is booted as it is (its .config says whether it runs 32-bit programs)");
            }
            axes.compat = Some(vec![false]);
        } else if !self.compat.is_empty() {
            axes.compat = Some(self.compat.clone());
        }
        if !self.time32.is_empty() {
            axes.time32 = self.time32.clone();
        }
        axes.cpus = self.cpus.clone();
        axes.mem_mb = self.mem.clone();
        axes.timeout_s = self.timeout;
        axes.validate()?;
        let cells = axes.cells();
        kmatrix::matrix::check_debug_cells(&cells)?;
        Ok(cells)
    }
}

fn main() -> Result<()> {
    kmatrix::util::milestones::mark("main");
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = rt.block_on(async_main(cli))?;
    // Shutting the runtime down kills any child still owned by an aborted
    // task. A blocking thread still waiting on a cache flock (another run
    // is building that kernel) is not waited for: it would hold up an
    // interrupted run until that build ends.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}

async fn async_main(cli: Cli) -> Result<i32> {
    match cli.cmd {
        Cmd::Spec {
            action: Some(SpecCmd::Diff { a, b, syscall }),
            ..
        } => {
            let o = kmatrix::spec::diff::command(&a, &b, syscall.as_deref())?;
            eprint!("{}", o.stderr);
            emit(&o.stdout);
            Ok(if o.failed { 1 } else { 0 })
        }
        Cmd::Spec {
            action: None,
            syscall,
            guest_catalogue,
            source,
            format,
        } => {
            let o = kmatrix::oracle::coverage::spec_command(
                syscall.as_deref(),
                guest_catalogue,
                source.as_deref(),
                matches!(format, SpecFormat::Json),
            )?;
            eprint!("{}", o.stderr);
            emit(&o.stdout);
            Ok(if o.failed { 1 } else { 0 })
        }
        Cmd::List { m } => {
            for c in m.cells()? {
                emit_line(&c.name);
            }
            Ok(0)
        }
        Cmd::Bench {
            m,
            runs,
            jobs: j,
            full_matrix,
            default_machines,
            premerge,
        } => bench(m, runs, jobs(j), full_matrix, default_machines, premerge).await,
        Cmd::Compare {
            baseline,
            candidate,
            m,
            cases,
            jobs: j,
            out,
            format,
        } => compare(&baseline, &candidate, &m, cases, jobs(j), &out, format).await,
        cmd @ Cmd::Bisect { .. } => bisect(cmd, std::env::args().collect()).await,
        Cmd::Report {
            file,
            format,
            verbose,
            rejudge,
        } => {
            let mut r = load_report(&file)?;
            if rejudge {
                r = run::rejudge(r)?;
            }
            emit(&render(&r, format, verbose)?);
            Ok(if r.green() { 0 } else { 1 })
        }
        Cmd::Merge {
            files,
            format,
            verbose,
        } => {
            let r = report::merge(files.iter().map(load_report).collect::<Result<_>>()?);
            emit(&render(&r, format, verbose)?);
            Ok(if r.green() { 0 } else { 1 })
        }
        Cmd::Build {
            m,
            timings,
            jobs: j,
        } => build(m, timings, jobs(j)).await,
        Cmd::Run {
            m,
            jobs: j,
            format,
            verbose,
            out,
            accel,
            c,
        } => {
            let opts = c.options(&m)?;
            run_matrix(m, jobs(j), (format, verbose), out, accel, opts).await
        }
    }
}

/// `kmatrix bench`: the measuring is bench.rs's.
async fn bench(
    m: MatrixArgs,
    runs: usize,
    jobs: usize,
    full_matrix: Option<PathBuf>,
    default_machines: bool,
    premerge: bool,
) -> Result<i32> {
    let (cells, choice) = (m.cells()?, m.kernel_choice()?);
    let full = match full_matrix {
        Some(f) => Some(kmatrix::matrix::MatrixFile::load(&f)?.cells()?),
        None => None,
    };
    let opts = kmatrix::orchestration::bench::Options {
        runs: runs.max(1),
        jobs,
        all_machines: !default_machines,
        full,
        premerge,
    };
    interruptible(async {
        let out = kmatrix::orchestration::bench::bench(&cells, &choice, &opts).await?;
        emit(&out);
        Ok(0)
    })
    .await
}

/// `kmatrix compare`: each side judged (or loaded), then the differences;
/// exit 1 if anything regressed, 130 if interrupted.
async fn compare(
    baseline: &str,
    candidate: &str,
    m: &MatrixArgs,
    cases: Option<String>,
    jobs: usize,
    out: &std::path::Path,
    format: Format,
) -> Result<i32> {
    use kmatrix::report::compare;
    if matches!(format, Format::Kcidb | Format::Html) {
        bail!("compare --format: kcidb and html render one run (kmatrix report R.json --format ...); compare prints table, json, junit or ktap");
    }
    let mut reports = Vec::new();
    for (name, spec) in [("baseline", baseline), ("candidate", candidate)] {
        match compare_side(name, spec, m, &cases, jobs, out).await? {
            Some(r) => reports.push(r),
            None => return Ok(130),
        }
    }
    let changes = compare::compare(&reports[0], &reports[1]);
    match format {
        Format::Json => emit_line(&serde_json::to_string_pretty(&changes)?),
        Format::Junit => emit(&compare::render_junit(&changes, baseline, candidate)),
        Format::Ktap => emit(&compare::render_ktap(&changes, baseline, candidate)),
        // kcidb and html were refused before anything ran.
        Format::Table | Format::Kcidb | Format::Html => {
            emit(&compare::render(&changes, baseline, candidate));
            // Next to the verdicts: what the specs themselves changed.
            emit(&compare::spec_changes(&reports[0], &reports[1]));
        }
    }
    Ok(if compare::regressed(&changes) { 1 } else { 0 })
}

/// One side of a compare: a saved report, or the matrix run on that
/// kernel into `out/NAME`; None if the run was interrupted.
async fn compare_side(
    name: &str,
    spec: &str,
    m: &MatrixArgs,
    cases: &Option<String>,
    jobs: usize,
    out: &std::path::Path,
) -> Result<Option<Report>> {
    use kmatrix::report::compare::{self, Side};
    let arch = (m.arches.len() == 1).then(|| m.arches[0].as_str());
    let choice = match compare::resolve(spec, arch).await? {
        Side::Report(p) => return Ok(Some(load_report(&p)?)),
        Side::Kernel(choice) => choice,
    };
    let cells = m.cells()?;
    check_qemus(&cells)?;
    let ui = Ui::new(cells.len());
    let opts = run::CellOptions {
        cases: cases.clone(),
        specs: m.specs(&choice)?,
        ..Default::default()
    };
    let (r, sig) = run::run_matrix(
        cells,
        choice,
        m.fragments()?,
        Choice::Auto,
        jobs,
        opts,
        &out.join(name),
        ui.sink(),
    )
    .await?;
    ui.finish(name);
    if let Some(sig) = sig {
        eprintln!("kmatrix: interrupted by {sig}");
        return Ok(None);
    }
    Ok(Some(r))
}

/// `kmatrix bisect`: exit 0 with the first bad commit named, 1 when only
/// skipped revisions were left to name it, 130 if interrupted (then
/// `--resume` goes on). `--resume` runs the saved command line again.
async fn bisect(cmd: Cmd, argv: Vec<String>) -> Result<i32> {
    use kmatrix::orchestration::bisect::{state, walk};
    let Cmd::Bisect { resume, tree, .. } = &cmd else {
        unreachable!("called for bisect only")
    };
    if !*resume {
        return bisect_run(cmd, argv, false).await;
    }
    let dir = match tree {
        Some(t) => Some(walk::toplevel(t)?.canonicalize()?),
        None => None,
    };
    let (_, st) = state::unfinished(dir.as_deref())?;
    eprintln!("kmatrix: resuming: {}", st.argv.join(" "));
    if !st.cwd.as_os_str().is_empty() {
        std::env::set_current_dir(&st.cwd)
            .with_context(|| format!("resuming in {}", st.cwd.display()))?;
    }
    let saved = Cli::try_parse_from(&st.argv).context("the saved bisect command line")?;
    match saved.cmd {
        c @ Cmd::Bisect { resume: false, .. } => bisect_run(c, st.argv, true).await,
        _ => bail!(
            "the saved command line is not a bisect: {}",
            st.argv.join(" ")
        ),
    }
}

async fn bisect_run(cmd: Cmd, argv: Vec<String>, resume: bool) -> Result<i32> {
    use kmatrix::orchestration::bisect::{self, judge::Criterion, Ended};
    let Cmd::Bisect {
        tree: Some(tree),
        good: Some(good),
        bad: Some(bad),
        case,
        observed,
        m,
        jobs: j,
        out,
        format,
        ..
    } = cmd
    else {
        bail!("bisect needs --tree DIR --good REV --bad REV (or --resume)");
    };
    if !matches!(format, Format::Table | Format::Json) {
        bail!("bisect --format: table or json");
    }
    if m.kernel.is_some() || m.kernel_src.is_some() || m.kernel_version.is_some() {
        bail!("bisect builds --tree's revisions: --kernel, --kernel-src and --kernel-version do not apply");
    }
    let cells = m.cells()?;
    check_qemus(&cells)?;
    let o = bisect::Options {
        tree,
        good,
        bad,
        criterion: Criterion { case, observed },
        cells,
        fragments: m.fragments()?,
        jobs: jobs(j),
        out,
        argv,
        resume,
    };
    let specs = |c: &KernelChoice| m.specs(c);
    match bisect::bisect(&o, &specs).await? {
        Ended::Interrupted(sig) => {
            eprintln!("kmatrix: interrupted by {sig}; `kmatrix bisect --resume` goes on from here");
            Ok(130)
        }
        Ended::Done(r) => {
            match format {
                Format::Json => emit_line(&serde_json::to_string_pretty(&r)?),
                _ => emit(&bisect::render::text(&r)),
            }
            Ok(if r.first_bad.is_some() { 0 } else { 1 })
        }
    }
}

/// `kmatrix build`: the kernels the cells need, one line each.
async fn build(m: MatrixArgs, timings: bool, jobs: usize) -> Result<i32> {
    let ui = Ui::new(0);
    let choice = m.kernel_choice()?;
    let extra = m.fragments()?;
    let cells = m.cells()?;
    interruptible(async {
        let sink = ui.sink();
        let t = kmatrix::build::kbuild::Timer::start(jobs);
        let built = run::kernels(&cells, &choice, &extra, jobs, &|e| sink(e)).await;
        let timing = t.stop();
        ui.finish("");
        let mut failed = 0;
        for ((arch, config, variant, compat), b) in &built {
            let config = kmatrix::matrix::config_label(*config, *variant, *compat);
            match b {
                Ok(b) => {
                    let how = if b.cached { "cached" } else { "built" };
                    emit_line(&format!("{arch} {config} {how} {}", b.image.display()));
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("kmatrix: {arch}/{config}: {e}");
                }
            }
        }
        if timings {
            emit_line(&timing.to_string());
        }
        Ok(if failed > 0 { 1 } else { 0 })
    })
    .await
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
    (format, verbose): (Format, bool),
    out: PathBuf,
    accel: AccelArg,
    opts: run::CellOptions,
) -> Result<i32> {
    let cells = m.cells()?;
    let choice = m.kernel_choice()?;
    let extra = m.fragments()?;
    check_qemus(&cells)?;
    let ui = Ui::new(cells.len());
    let (mut rep, interrupted) = run::run_matrix(
        cells,
        choice,
        extra,
        accel_choice(accel),
        jobs,
        opts,
        &out,
        ui.sink(),
    )
    .await?;
    ui.finish(&summary(&rep));
    emit(&render(&rep, format, verbose)?);
    // The page links each cell's console log relative to the out dir.
    let page = out.join("report.html");
    if let Err(e) = std::fs::write(&page, report::html::render(&rep)) {
        rep.write_errors
            .push(format!("writing {}: {e}", page.display()));
        eprintln!("kmatrix: writing {}: {e}", page.display());
    }
    if rep.write_errors.is_empty() {
        eprintln!(
            "report: {} and {} (cache: {})",
            out.join("report.json").display(),
            page.display(),
            cache::root().display()
        );
    }
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

/// "3 ok, 1 panic": the total line of a log.
fn summary(r: &Report) -> String {
    let mut n: std::collections::BTreeMap<String, usize> = Default::default();
    for c in &r.cells {
        *n.entry(kmatrix::orchestration::progress::status_name(c.status))
            .or_default() += 1;
    }
    let v: Vec<_> = n.iter().map(|(s, k)| format!("{k} {s}")).collect();
    format!("{} cells, {}", r.cells.len(), v.join(", "))
}

/// QEMUs the cells need: if none is there, one clear error before anything
/// is built; if only some are missing, those cells fail naming it and the
/// others go on.
fn check_qemus(cells: &[Cell]) -> Result<()> {
    let arches: Vec<_> = cells.iter().map(|c| &c.arch).collect();
    let missing: Vec<_> = arches.iter().filter(|a| !in_path(&a.qemu)).collect();
    if missing.len() == arches.len() {
        let a = *missing[0];
        bail!("{} not found in PATH: it boots the {} cells (apt-get install {}; scripts/setup.sh installs all)", a.qemu, a.name, a.qemu_package);
    }
    Ok(())
}
