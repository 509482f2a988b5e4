//! Layer 3: VM launch. One QEMU per cell, driven over QMP (qapi crate) on a
//! unix socket in a private temp dir. The VM starts paused (-S) so no event
//! is missed; `cont` starts the clock. The child is owned: dropping the
//! future (Ctrl-C, a panic elsewhere) kills QEMU, and the temp dir goes with it.

pub mod share;

use crate::matrix::arch::Arch;
use crate::matrix::machine::{GuestExit, Machine};
use anyhow::{Context, Result};
use futures::StreamExt;
use qapi::{futures::QmpStreamTokio, qmp};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The results port's name; guest-init finds its /dev/vportNpM by it.
pub use kmatrix_proto::RESULTS_PORT;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Kvm,
    Tcg,
}

#[derive(Debug, Clone)]
pub struct VmSpec {
    pub arch: Arch,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// Extra kernel command-line words (kmatrix.* parameters).
    pub cmdline: Vec<String>,
    pub cpus: u32,
    /// Possible CPUs (hot-pluggable beyond `cpus`), if more.
    pub max_cpus: Option<u32>,
    pub mem_mb: u32,
    pub accel: Accel,
    pub timeout: Duration,
    /// Directory that receives console.log and results.jsonl (kept as evidence).
    pub out_dir: PathBuf,
    /// Host directories exported with virtiofsd.
    pub shares: Vec<crate::vm::share::Share>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Exit {
    /// The guest powered itself off.
    PoweredOff,
    /// GUEST_PANICKED over QMP, or a reset (panic=-1 with -no-reboot).
    Panicked { how: String },
    /// Still running at the timeout; stopped over QMP or killed.
    TimedOut { stopped_by: String },
    /// QEMU refused to start or died on its own.
    QemuFailed { status: String, stderr: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub exit: Exit,
    /// From `cont` to QEMU's exit.
    pub run_ms: u64,
    /// From spawning QEMU to `cont` (process start + QMP handshake).
    pub start_ms: u64,
    /// When QEMU was spawned (`milestones::now_us`).
    pub spawned_us: u64,
    pub console: PathBuf,
    pub results: PathBuf,
    pub events: Vec<String>,
    pub timings: Timings,
}

impl VmSpec {
    pub fn console_path(&self) -> PathBuf {
        self.out_dir.join("console.log")
    }
    pub fn results_path(&self) -> PathBuf {
        self.out_dir.join("results.jsonl")
    }
    /// Every vCPU's registers when the cell timed out (QEMU's `info registers -a`).
    pub fn vcpus_path(&self) -> PathBuf {
        self.out_dir.join("vcpus-at-timeout.txt")
    }

    /// The machine itself: what both kmatrix and a plain command line boot.
    fn machine_args(&self) -> Command {
        let a = &self.arch;
        let m = a.profile();
        let (accel, cpu) = match self.accel {
            Accel::Kvm => ("kvm", a.kvm_cpu.as_str()),
            Accel::Tcg => ("tcg", a.cpu.as_str()),
        };
        let mut append = vec![
            format!("console={}", a.console),
            "quiet".into(),
            "panic=-1".into(),
        ];
        append.extend(m.kernel_words());
        append.extend(m.possible_cpus_word(self.max_cpus));
        append.extend(self.cmdline.iter().cloned());
        let mut c = Command::new(&a.qemu);
        // The virt machine's default GICv2 stops at 8 CPUs.
        let gic = match self.max_cpus {
            Some(n) if n > 8 && m.qemu_machine.starts_with("virt") => ",gic-version=3",
            _ => "",
        };
        c.args([
            "-machine",
            &format!("{},accel={accel}{gic}", m.qemu_machine),
            "-cpu",
            cpu,
        ]);
        let smp = match self.max_cpus {
            Some(m) => format!("{},maxcpus={m}", self.cpus),
            None => self.cpus.to_string(),
        };
        c.args(["-smp", &smp, "-m", &self.mem_mb.to_string()]);
        c.args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ]);
        c.arg("-kernel")
            .arg(&self.kernel)
            .arg("-initrd")
            .arg(&self.initrd);
        c.args(["-append", &append.join(" ")]);
        c.args(&m.qemu_args);
        c.args(["-device", &m.virtio_device("virtio-serial")]);
        if !m.panic_device.is_empty() {
            c.args(["-device", &m.panic_device]);
        }
        c
    }

    /// kmatrix's launch: paused (-S) until QMP is up, console on stdout and
    /// results through a FIFO pair, both read as they arrive (timestamps, and
    /// a flood cannot fill the disk).
    pub fn command(&self, qmp_sock: &Path, fifo_base: &Path) -> Command {
        let mut c = self.machine_args();
        c.args([
            "-S",
            "-chardev",
            "stdio,id=con,signal=off",
            "-serial",
            "chardev:con",
        ]);
        c.arg("-chardev")
            .arg(format!("pipe,id=results,path={}", fifo_base.display()));
        c.args([
            "-device",
            &format!("virtserialport,chardev=results,name={RESULTS_PORT}"),
        ]);
        c.arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", qmp_sock.display()));
        c
    }

    /// The floor: the same machine from a plain command line, files for
    /// console and results, no QMP (what a shell script would do).
    pub fn plain_command(&self) -> Command {
        let mut c = self.machine_args();
        c.arg("-serial")
            .arg(format!("file:{}", self.console_path().display()));
        c.arg("-chardev").arg(format!(
            "file,id=results,path={}",
            self.results_path().display()
        ));
        c.args([
            "-device",
            &format!("virtserialport,chardev=results,name={RESULTS_PORT}"),
        ]);
        c
    }
}

/// What the kernel prints when it panics; seen anywhere on the console (even
/// past CONSOLE_CAP), it names a reset as a panic.
const PANIC_LINE: &[u8] = b"Kernel panic";

/// Most a cell keeps of each stream; the rest is counted and dropped.
pub const CONSOLE_CAP: u64 = 4 << 20;
/// Most a cell keeps of the results port: more than any honest probe
/// writes; a flood is cut here (and read no further by the stream).
pub const RESULTS_CAP: u64 = 8 << 20;

/// Milliseconds from `cont` to each milestone (None: never reached).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Timings {
    pub first_console_ms: Option<u64>,
    pub first_result_ms: Option<u64>,
    pub end_record_ms: Option<u64>,
    pub console_bytes: u64,
    pub results_bytes: u64,
}

/// Copies a stream to a file as it arrives, keeping at most `cap` bytes and
/// noting when the first byte and the end record came.
async fn pump(
    mut r: impl tokio::io::AsyncRead + Unpin,
    path: PathBuf,
    cap: u64,
    clock: std::sync::Arc<std::sync::Mutex<Option<Instant>>>,
    end_marker: Option<&'static [u8]>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> (Option<u64>, Option<u64>, u64) {
    use tokio::io::AsyncWriteExt;
    let mut f = match tokio::fs::File::create(&path).await {
        Ok(f) => f,
        Err(_) => return (None, None, 0),
    };
    let since = |clock: &std::sync::Mutex<Option<Instant>>| {
        clock
            .lock()
            .unwrap()
            .map(|t| t.elapsed().as_millis() as u64)
            .unwrap_or(0)
    };
    let (mut first, mut end, mut total) = (None, None, 0u64);
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            biased;
            n = r.read(&mut buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = &mut stop => break,
        };
        first.get_or_insert_with(|| since(&clock));
        if let (Some(m), None) = (end_marker, end) {
            tail.extend_from_slice(&buf[..n]);
            if tail.windows(m.len()).any(|w| w == m) {
                end = Some(since(&clock));
            }
            let keep = tail.len().saturating_sub(m.len());
            tail.drain(..keep);
        }
        let room = cap.saturating_sub(total) as usize;
        if room > 0 {
            let _ = f.write_all(&buf[..n.min(room)]).await;
        }
        total += n as u64;
    }
    let _ = f.flush().await;
    (first, end, total)
}

/// Boots one VM and waits for it to end, however it ends.
pub async fn launch(spec: &VmSpec) -> Result<Outcome> {
    std::fs::create_dir_all(&spec.out_dir)?;
    // Stale evidence from an earlier run must not be read as this run's.
    for p in [spec.console_path(), spec.results_path(), spec.vcpus_path()] {
        let _ = std::fs::remove_file(p);
    }
    // Flocked while this run lives; a later run removes it if we are SIGKILLed.
    let tmp = crate::util::reaper::VmDir::new()?;
    let sock = tmp.path().join("qmp.sock");
    let (fifo, results_rx) = results_fifo(tmp.path())?;
    let mut cmd = spec.command(&sock, &fifo);
    // Held until QEMU is gone: each virtiofsd dies with its handle.
    let _daemons = start_shares(spec, tmp.path(), &mut cmd).await?;
    // Own process group: a terminal's Ctrl-C reaches the runner, which then
    // stops QEMU itself, instead of QEMU dying mid-write under it.
    cmd.process_group(0).kill_on_drop(true);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let spawned = Instant::now();
    let spawned_us = crate::util::milestones::now_us();
    // Forked so that it dies with the runner, even by SIGKILL (reaper.rs).
    let mut child = match crate::util::reaper::spawn_owned(cmd).await {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!(
                "{} not found: install {} (scripts/setup.sh installs both QEMUs)",
                spec.arch.qemu,
                spec.arch.qemu_package
            )
        }
        Err(e) => return Err(e).context(format!("starting {}", spec.arch.qemu)),
    };
    let stderr = child.stderr.take().unwrap();
    // Bounded: a QEMU that floods stderr cannot grow our memory.
    let stderr_task = AbortOnDrop(tokio::spawn(async move {
        let mut buf = Vec::new();
        let mut s = stderr;
        let _ = (&mut s).take(64 * 1024).read_to_end(&mut buf).await;
        let _ = tokio::io::copy(&mut s, &mut tokio::io::sink()).await;
        String::from_utf8_lossy(&buf).into_owned()
    }));
    let clock = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (_console_stop, console_rx) = tokio::sync::oneshot::channel();
    let (results_stop, results_rx_stop) = tokio::sync::oneshot::channel();
    let console_task = AbortOnDrop(tokio::spawn(pump(
        child.stdout.take().unwrap(),
        spec.console_path(),
        CONSOLE_CAP,
        clock.clone(),
        Some(PANIC_LINE),
        console_rx,
    )));
    let results_task = AbortOnDrop(tokio::spawn(pump(
        results_rx,
        spec.results_path(),
        RESULTS_CAP,
        clock.clone(),
        Some(b"\"type\":\"end\""),
        results_rx_stop,
    )));

    let mut events = Vec::new();
    let res = drive(spec, &mut child, &sock, &mut events, spawned, &clock).await;
    // Whatever happened, QEMU is gone before we return.
    let _ = child.start_kill();
    let status = child.wait().await.ok();
    // The console pipe closes with QEMU; the results FIFO is held open by us,
    // so give it a moment to drain, then stop it.
    let (first_console_ms, console_panic_ms, console_bytes) =
        console_task.join().await.unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let _ = results_stop.send(());
    let (first_result_ms, end_record_ms, results_bytes) =
        results_task.join().await.unwrap_or_default();
    let stderr = stderr_task.join().await.unwrap_or_default();
    let (exit, start_ms, run_ms) = match res {
        Ok(v) => v,
        Err(e) => (
            Exit::QemuFailed {
                status: status.map(|s| s.to_string()).unwrap_or_default(),
                stderr: format!("{e:#}\n{}", stderr.trim()),
            },
            spawned.elapsed().as_millis() as u64,
            0,
        ),
    };
    let exit = classify(spec.arch.profile(), exit, console_panic_ms.is_some());
    let exit = match exit {
        Exit::QemuFailed { status, stderr: s } if s.is_empty() => Exit::QemuFailed {
            status,
            stderr: stderr.trim().to_string(),
        },
        other => other,
    };
    let timings = Timings {
        first_console_ms,
        first_result_ms,
        end_record_ms,
        console_bytes,
        results_bytes,
    };
    Ok(Outcome {
        exit,
        run_ms,
        start_ms,
        spawned_us,
        console: spec.console_path(),
        results: spec.results_path(),
        events,
        timings,
    })
}

/// The results port's FIFO pair (QEMU's `pipe` chardev, `<path>.in` and
/// `<path>.out`) in `dir`, and our end of it.
fn results_fifo(dir: &Path) -> Result<(PathBuf, tokio::net::unix::pipe::Receiver)> {
    let fifo = dir.join("results");
    for end in ["in", "out"] {
        let p = std::ffi::CString::new(format!("{}.{end}", fifo.display()))?;
        // SAFETY: a valid NUL-terminated path.
        if unsafe { libc::mkfifo(p.as_ptr(), 0o600) } != 0 {
            return Err(std::io::Error::last_os_error()).context("mkfifo for the results port");
        }
    }
    // Opened read-write so it never reads EOF before QEMU opens it; the
    // pump stops when QEMU is gone (see launch).
    let rx = tokio::net::unix::pipe::OpenOptions::new()
        .read_write(true)
        .open_receiver(fifo.with_extension("out"))?;
    Ok((fifo, rx))
}

/// The cell's virtiofsd daemons, started, and their devices on `cmd`.
async fn start_shares(
    spec: &VmSpec,
    dir: &Path,
    cmd: &mut Command,
) -> Result<Vec<crate::vm::share::Daemon>> {
    let mut daemons = Vec::new();
    if !spec.shares.is_empty() && spec.arch.big_endian != cfg!(target_endian = "big") {
        crate::util::notice::once(
            &format!("share-byte-order-{}", spec.arch.name),
            &format!(
                "{} cells: virtiofsd reads FUSE requests in this host's byte order and the {} guest writes them in its own, so its shares mount but every access fails (ECONNREFUSED): their share and exec cases fail",
                spec.arch.name, spec.arch.name
            ),
        );
    }
    // Without virtiofsd the cell still runs; its share cases say what is missing.
    let shares = match spec.shares.is_empty() {
        true => &[][..],
        false if crate::vm::share::available().is_none() => &[][..],
        false => &spec.shares[..],
    };
    for (i, sh) in shares.iter().enumerate() {
        daemons.push(
            crate::vm::share::start(sh, i, dir, &spec.out_dir.join(format!("virtiofsd{i}.log")))
                .await?,
        );
    }
    if !daemons.is_empty() {
        // vhost-user needs guest RAM in a shareable memfd (the machine's
        // memory-backend works on boards without NUMA, like microvm).
        cmd.args([
            "-object",
            &format!("memory-backend-memfd,id=mem,size={}M,share=on", spec.mem_mb),
            "-machine",
            "memory-backend=mem",
        ]);
        for d in &daemons {
            cmd.arg("-chardev")
                .arg(format!("socket,id={},path={}", d.tag, d.socket.display()));
            cmd.args([
                "-device",
                &format!(
                    "{1},chardev={0},tag={0}",
                    d.tag,
                    spec.arch.profile().virtio_device("vhost-user-fs")
                ),
            ]);
        }
    }
    Ok(daemons)
}

async fn drive(
    spec: &VmSpec,
    child: &mut Child,
    sock: &Path,
    events: &mut Vec<String>,
    spawned: Instant,
    clock: &std::sync::Mutex<Option<Instant>>,
) -> Result<(Exit, u64, u64)> {
    // QEMU creates the socket a few ms after start; it may also die first.
    let neg = loop {
        if let Some(st) = child.try_wait()? {
            return Ok((
                Exit::QemuFailed {
                    status: st.to_string(),
                    stderr: String::new(),
                },
                0,
                0,
            ));
        }
        if sock.exists() {
            if let Ok(n) = QmpStreamTokio::open_uds(sock).await {
                break n;
            }
        }
        if spawned.elapsed() > Duration::from_secs(10) {
            anyhow::bail!("QMP socket did not appear within 10 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let stream = neg.negotiate().await.context("QMP negotiation")?;
    let (service, mut qmp_events) = stream.into_parts();
    let (tx, mut rx) = mpsc::unbounded_channel();
    // The event stream must be polled for command replies to arrive too.
    let reader = tokio::spawn(async move {
        while let Some(ev) = qmp_events.next().await {
            match ev {
                Ok(ev) => {
                    if tx.send(Ok(ev)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    break;
                }
            }
        }
    });
    let _reader_guard = AbortOnDrop(reader);
    let started = Instant::now();
    *clock.lock().unwrap() = Some(started);
    service.execute(qmp::cont {}).await.context("QMP cont")?;
    let start_ms = spawned.elapsed().as_millis() as u64;
    let deadline = tokio::time::sleep(spec.timeout);
    tokio::pin!(deadline);
    let mut panicked: Option<String> = None;
    let mut guest_reset = false;
    let mut qmp_open = true;
    loop {
        tokio::select! {
            st = child.wait() => {
                let st = st?;
                let ms = started.elapsed().as_millis() as u64;
                let exit = if let Some(how) = panicked {
                    Exit::Panicked { how }
                } else if guest_reset {
                    // panic=-1 + -no-reboot: a panic without pvpanic ends as a reset.
                    Exit::Panicked { how: format!("{} (kernel panic=-1 reboot, or the guest's own)", RESET) }
                } else if st.success() {
                    Exit::PoweredOff
                } else {
                    Exit::QemuFailed { status: st.to_string(), stderr: String::new() }
                };
                return Ok((exit, start_ms, ms));
            }
            ev = rx.recv(), if qmp_open => match ev {
                Some(Ok(ev)) => {
                    match &ev {
                        qmp::Event::GUEST_PANICKED { data, .. } => {
                            panicked = Some(format!("GUEST_PANICKED ({:?})", data.action));
                        }
                        qmp::Event::SHUTDOWN { data, .. } => {
                            guest_reset |= matches!(data.reason, qmp::ShutdownCause::guest_reset | qmp::ShutdownCause::guest_panic);
                        }
                        _ => {}
                    }
                    events.push(event_name(&ev));
                }
                Some(Err(e)) => { events.push(format!("qmp-error: {e}")); qmp_open = false; }
                None => qmp_open = false,
            },
            _ = &mut deadline => {
                let ms = started.elapsed().as_millis() as u64;
                // Where each vCPU is, for a hang's evidence (symbolize the
                // PCs with the build's System.map).
                let look = service.execute(qmp::human_monitor_command {
                    cpu_index: None,
                    command_line: "info registers -a".into(),
                });
                if let Ok(Ok(regs)) = tokio::time::timeout(Duration::from_secs(3), look).await {
                    let _ = std::fs::write(spec.vcpus_path(), regs);
                }
                // Ask politely, then insist.
                let quit = tokio::time::timeout(Duration::from_secs(2), service.execute(qmp::quit {})).await;
                let gone = tokio::time::timeout(Duration::from_secs(3), child.wait()).await;
                let stopped_by = match (quit, gone) {
                    (Ok(Ok(_)), Ok(_)) => "qmp quit",
                    _ => { let _ = child.kill().await; "SIGKILL" }
                };
                return Ok((Exit::TimedOut { stopped_by: stopped_by.into() }, start_ms, ms));
            }
        }
    }
}

fn event_name(ev: &qmp::Event) -> String {
    // The serde tag is the QMP event name.
    serde_json::to_value(ev)
        .ok()
        .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| {
            format!("{ev:?}")
                .split([' ', '{'])
                .next()
                .unwrap_or("?")
                .to_string()
        })
}

/// A spawned task that dies with its owner (no task outlives its VM).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> Option<T> {
        (&mut self.0).await.ok()
    }
}
impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a reset that QEMU turned into an exit is spelled.
pub const RESET: &str = "guest reset";

/// Names how a VM ended, given what was seen on the way: a reset is the
/// normal end on a machine that cannot power off, unless the console
/// printed a kernel panic (panic=-1 also resets).
pub fn classify(m: &Machine, exit: Exit, console_panic: bool) -> Exit {
    match exit {
        Exit::Panicked { how } if how.starts_with(RESET) => {
            if console_panic {
                Exit::Panicked {
                    how: "kernel panic on the console (the machine reset: panic=-1)".into(),
                }
            } else if m.exit == GuestExit::Reset {
                Exit::PoweredOff
            } else {
                Exit::Panicked { how }
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod classify_tests {
    use super::*;
    use crate::matrix::machine::test_profile as m;

    fn reset() -> Exit {
        Exit::Panicked {
            how: format!("{RESET} (kernel panic=-1 reboot)"),
        }
    }

    #[test]
    fn reset_is_the_end_only_where_the_machine_ends_that_way() {
        assert_eq!(
            classify(&m(GuestExit::Reset), reset(), false),
            Exit::PoweredOff
        );
        assert_eq!(classify(&m(GuestExit::Poweroff), reset(), false), reset());
    }

    #[test]
    fn a_console_panic_is_a_panic_even_on_a_reset_machine() {
        for e in [GuestExit::Reset, GuestExit::Poweroff] {
            match classify(&m(e), reset(), true) {
                Exit::Panicked { how } => assert!(how.contains("kernel panic on the console")),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn other_ends_pass_through() {
        let p = Exit::Panicked {
            how: "GUEST_PANICKED (pause)".into(),
        };
        assert_eq!(classify(&m(GuestExit::Reset), p.clone(), false), p);
        let t = Exit::TimedOut {
            stopped_by: "qmp quit".into(),
        };
        assert_eq!(classify(&m(GuestExit::Reset), t.clone(), true), t);
    }
}
