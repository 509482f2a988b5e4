//! kmatrix guest init: PID 1 of a minimal Linux guest. Mounts the pseudo
//! filesystems, applies kmatrix.sysctl items, runs the AIO family's
//! experiments (each in a forked child) and writes one JSON record per
//! line to the virtio-serial port named org.kmatrix.results, then powers
//! off.
//! In a compat cell the experiments run in the 32-bit build of this
//! program instead (compat.rs).
//! Optionally it also mounts virtiofs shares (share.rs) and runs a user
//! program after the probe (exec.rs), or instead misbehaves on purpose to
//! test the host (drill.rs).
//!
//! Built with plain rustc (std only, static glibc), also by Debian's rustc
//! 1.63 for aarch64, so: no crates and no post-1.63 language features.

mod aio;
mod cases;
mod child;
mod cmdline;
mod compat;
mod drill;
mod exec;
mod experiment;
mod family;
#[rustfmt::skip]
mod family_catalogue;
mod faultinj;
mod files;
mod glob;
mod json;
mod kconfig;
mod kmemleak;
mod kmsg;
mod out;
mod parse;
mod probe;
mod record;
mod share;
mod sys;
mod sysctl;

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use cmdline::Mode;
use out::{console, Port};

/// How long to look for the results port (virtio may still be probing).
const PORT_WAIT: Duration = Duration::from_secs(2);

fn main() {
    // The 32-bit build, exec'd by PID 1 in a compat cell to probe.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(kmatrix_proto::args::COMPAT_PROBE_ARG) {
        compat::probe_main(&args);
    }
    // Running this anywhere but as the guest's init would mount filesystems
    // and power the machine off: refuse.
    if sys::pid() != 1 {
        console("kmatrix-guest: error: not PID 1; refusing to run (this program is a VM's init and powers it off)");
        std::process::exit(2);
    }
    let mut port: Option<Port> = None;
    // PID 1 must never exit or unwind out of main (the kernel would panic
    // without telling the host why): report and power off instead.
    let result = panic::catch_unwind(AssertUnwindSafe(|| run(&mut port)));
    let error = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(payload) => Some(format!("panic: {}", panic_text(payload.as_ref()))),
    };
    if let Some(e) = error {
        console(&format!("kmatrix-guest: error: {e}"));
        if let Some(p) = port.as_mut() {
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                p.line(&record::log(&format!("fatal: {e}")));
            }));
        }
    }
    sys::power_off();
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// Mounts proc, sysfs, devtmpfs (EBUSY: already there) and debugfs.
/// Returns whether debugfs is usable; problems go to `logs`.
fn mount_all(logs: &mut Vec<String>) -> bool {
    let mounts = [
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("devtmpfs", "/dev", "devtmpfs"),
    ];
    for (src, target, fstype) in mounts {
        match sys::mount_fs(src, target, fstype) {
            Ok(()) | Err(sys::EBUSY) => {}
            Err(e) => logs.push(format!("mount {fstype} on {target} failed: errno {e}")),
        }
    }
    match sys::mount_fs("debugfs", "/sys/kernel/debug", "debugfs") {
        Ok(()) | Err(sys::EBUSY) => true,
        Err(e) => {
            logs.push(format!(
                "mount debugfs on /sys/kernel/debug failed: errno {e}"
            ));
            false
        }
    }
}

fn gather_hello(mode: Mode, debugfs: bool, ncpus_possible: Option<u64>) -> record::Hello {
    let (release, machine) = sys::uname_release_machine().unwrap_or_default();
    let meminfo = files::read_text("/proc/meminfo").unwrap_or_default();
    record::Hello {
        arch: sys::ARCH.to_string(),
        uname_release: release,
        uname_machine: machine,
        ncpus_online: sys::sysconf_u64(sys::SC_NPROCESSORS_ONLN),
        ncpus_possible,
        page_size: sys::sysconf_u64(sys::SC_PAGESIZE),
        mem_total_kb: parse::kb_field(&meminfo, "MemTotal"),
        aio_nr_present: files::exists(files::AIO_NR),
        aio_max_nr_present: files::exists(files::AIO_MAX_NR),
        aio_max_nr: files::aio_max_nr(),
        debugfs,
        fail_nth: files::exists(&format!("/proc/self/task/{}/fail-nth", sys::gettid())),
        mode,
    }
}

fn run(slot: &mut Option<Port>) -> Result<(), String> {
    let mut logs = Vec::new();
    let debugfs = mount_all(&mut logs);
    logs.extend(kmsg::setup());
    let cmdline = files::read_text("/proc/cmdline").unwrap_or_else(|e| {
        logs.push(format!(
            "cannot read /proc/cmdline: errno {e}; using defaults"
        ));
        String::new()
    });
    let cfg = cmdline::parse(&cmdline);
    logs.extend(cfg.problems.iter().cloned());
    for p in probe::unmatched_patterns(&cfg.cases) {
        logs.push(format!("kmatrix.cases pattern {p:?} matches no experiment"));
    }
    for l in &logs {
        console(&format!("kmatrix-guest: {l}"));
    }

    let port = slot.insert(out::find_port(PORT_WAIT)?);
    console(&format!("kmatrix-guest: results port {}", port.path()));

    // Sysctls first: hello reports aio-max-nr as the experiments will see it.
    let mut sysctl_records = Vec::new();
    if cfg.mode == Mode::Probe {
        for (key, value) in &cfg.sysctls {
            let (rec, problem) = sysctl::apply(key, value);
            sysctl_records.push(record::sysctl(&rec));
            if let Some(msg) = problem {
                console(&format!("kmatrix-guest: {msg}"));
                logs.push(msg);
            }
        }
    } else if !cfg.sysctls.is_empty() {
        logs.push("kmatrix.sysctl items are ignored in ping mode".to_string());
    }
    let possible_text = files::read_text("/sys/devices/system/cpu/possible");
    let ncpus_possible = possible_text
        .as_deref()
        .ok()
        .and_then(parse::cpu_list_count);
    let hello = gather_hello(cfg.mode, debugfs, ncpus_possible);
    let hello_line = record::hello(&hello);
    if let Some(d) = cfg.drill {
        drill::run(d, port, &hello_line);
    }

    port.line(&hello_line);
    for l in &logs {
        port.line(&record::log(l));
    }
    for r in &sysctl_records {
        port.line(r);
    }

    let mut written = 0;
    if cfg.mode == Mode::Ping && (!cfg.shares.is_empty() || !cfg.exec.is_empty()) {
        port.line(&record::log(
            "kmatrix.share and kmatrix.exec are ignored in ping mode",
        ));
    }
    if cfg.mode == Mode::Probe {
        // Mounted before the probe so that the mounts hold for exec below.
        for s in &cfg.shares {
            let rec = share::mount_and_probe(s);
            console(&format!("kmatrix-guest: {rec}"));
            port.line(&rec);
            written += 1;
        }
        let ncpus = match ncpus_possible {
            Some(n) if n > 0 => n,
            _ => {
                let msg = "cannot count possible CPUs; nr.sweep uses ncpus_online";
                port.line(&record::log(msg));
                hello.ncpus_online.unwrap_or(1).max(1)
            }
        };
        let env = experiment::Env {
            ncpus_possible: ncpus,
            page_size: hello.page_size.unwrap_or(4096) as usize,
            timeout: Duration::from_secs(cfg.timeout_s),
            debugfs,
        };
        written += match cfg.compat {
            true => compat::run(port, &env),
            false => probe::run_all(&env, &cfg.cases, port),
        };
        if let Some(msg) = kmemleak::scan() {
            port.line(&record::log(&msg));
        }
        if !cfg.exec.is_empty() {
            // What test suites expect: the kernel config, a /tmp, the user's env.
            port.line(&record::log(&kconfig::install()));
            if let Err(e) = std::fs::create_dir_all("/tmp") {
                port.line(&record::log(&format!("cannot create /tmp: {e}")));
            }
            for p in exec::apply_env(&cfg.env) {
                port.line(&record::log(&p));
            }
            // The kernel's line about a program it kills (arm64 says
            // nothing by default: show_unhandled_signals is 0 there, 1 on x86).
            if let Err(e) = files::write_str("/proc/sys/debug/exception-trace", "1") {
                let msg = format!("cannot set debug.exception-trace=1: errno {e}");
                port.line(&record::log(&msg));
            }
        }
        for (i, hex) in cfg.exec.iter().enumerate() {
            let timeout = env.timeout.checked_mul(3).unwrap_or(env.timeout);
            console(&format!("kmatrix-guest: exec {i}: starting"));
            // Marked like an experiment: a kernel report while the program
            // runs is its own (kernel.splat/exec/<i>), not the boot's.
            let id = exec::record_id(i);
            kmsg::mark("start", &id, "");
            port.line(&exec::run(i, hex, cfg.cwd.as_deref(), timeout));
            kmsg::mark("end", &id, "");
            written += 1;
            console(&format!("kmatrix-guest: exec {i}: done"));
        }
    }
    port.line(&record::end(written));
    console(&format!("kmatrix-guest: done, {written} experiment(s)"));
    Ok(())
}
