//! Compat cells: PID 1 (built for the arch's own ABI) execs the 32-bit
//! build of this same program (kmatrix_proto::args::COMPAT_PROBE), which runs
//! the experiments through the kernel's compat entry points and writes
//! their records to the port it inherits. A kernel that cannot run 32-bit
//! programs fails the exec (ENOEXEC): that is an observation, written as
//! the abi.compat record, not a broken cell.

use crate::experiment::Env;
use crate::json::Obj;
use crate::out::{self, Port};
use crate::{cmdline, files, probe, record, sys};
use kmatrix_proto::args::{COMPAT_PROBE, COMPAT_PROBE_ARG};
use kmatrix_proto::catalogue::ids;
use kmatrix_proto::obs::key;
use std::ffi::CString;
use std::time::Duration;

/// Where the 32-bit probe finds the port and the pipe for its count: high
/// numbers, so dup2 cannot land on a descriptor the exec still needs.
const PORT_FD: i32 = 100;
const COUNT_FD: i32 = 101;

/// The abi.compat record: the probe's pointer width and arch if it runs,
/// or execv's errno if it could not.
fn abi_record(exec_errno: Option<i32>) -> String {
    let mut o = Obj::new();
    match exec_errno {
        Some(e) => {
            o.i64(key::EXEC_ERRNO, e.into())
                .null(key::POINTER_BITS)
                .null(key::ARCH);
        }
        None => {
            o.null(key::EXEC_ERRNO)
                .u64(key::POINTER_BITS, usize::BITS.into())
                .str(key::ARCH, sys::ARCH);
        }
    }
    record::experiment(ids::ABI_COMPAT, record::Fate::Exited, &o.to_json())
}

/// PID 1's side: runs the 32-bit probe and returns how many records of
/// experiments were written (the abi.compat record included).
pub fn run(port: &mut Port, env: &Env) -> u64 {
    let fail = |port: &mut Port, msg: String| {
        out::console(&format!("kmatrix-guest: {msg}"));
        port.line(&record::log(&msg));
        0
    };
    let (err_r, err_w) = match sys::make_pipe() {
        Ok(p) => p,
        Err(e) => return fail(port, format!("compat probe: pipe: errno {e}")),
    };
    let (cnt_r, cnt_w) = match sys::make_pipe() {
        Ok(p) => p,
        Err(e) => return fail(port, format!("compat probe: pipe: errno {e}")),
    };
    let args: Vec<CString> = [
        COMPAT_PROBE.to_string(),
        COMPAT_PROBE_ARG.to_string(),
        env.ncpus_possible.to_string(),
        env.page_size.to_string(),
        u8::from(env.debugfs).to_string(),
    ]
    .iter()
    .map(|a| CString::new(a.as_str()).expect("no NUL in the probe's arguments"))
    .collect();
    let mut argv: Vec<*const std::os::raw::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let port_fd = port.fd();
    let pid = match sys::fork_process() {
        Ok(0) => {
            // The child: only async-signal-safe calls until exec.
            let errno = match (sys::dup_to(port_fd, PORT_FD), sys::dup_to(cnt_w, COUNT_FD)) {
                (Ok(()), Ok(())) => {
                    // SAFETY: argv is null-terminated and its strings live in
                    // `args`, which outlives the call.
                    unsafe { sys::exec_argv(&args[0], &argv) }
                }
                (Err(e), _) | (_, Err(e)) => e,
            };
            let _ = sys::write_all_fd(err_w, &errno.to_ne_bytes());
            sys::exit_now(127);
        }
        Ok(pid) => pid,
        Err(e) => return fail(port, format!("compat probe: fork: errno {e}")),
    };
    sys::close_fd(err_w);
    sys::close_fd(cnt_w);
    // Close-on-exec: EOF with nothing read means the exec happened.
    let mut buf = [0u8; 4];
    let got = read_all(err_r, &mut buf);
    sys::close_fd(err_r);
    if got == 4 {
        sys::close_fd(cnt_r);
        let _ = sys::wait_pid(pid, false);
        let errno = i32::from_ne_bytes(buf);
        let msg = format!("compat probe {COMPAT_PROBE}: execv: errno {errno}");
        out::console(&format!("kmatrix-guest: {msg}"));
        port.line(&abi_record(Some(errno)));
        return 1;
    }
    let mut text = [0u8; 32];
    let n = read_all(cnt_r, &mut text);
    sys::close_fd(cnt_r);
    let fate = sys::wait_pid(pid, false);
    let count = std::str::from_utf8(&text[..n])
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    match (count, fate) {
        (Some(c), Ok(Some((_, 0)))) => c,
        (c, f) => {
            let msg = format!(
                "compat probe {COMPAT_PROBE} ended without finishing: wait status {f:?}, count {c:?}"
            );
            out::console(&format!("kmatrix-guest: {msg}"));
            port.line(&record::log(&msg));
            c.unwrap_or(0)
        }
    }
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_all(fd: i32, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match sys::read_fd(fd, &mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e == sys::EINTR => continue,
            Err(_) => break,
        }
    }
    n
}

/// The 32-bit probe's main: argv is what `run` passed. Reads the rest of
/// its configuration from the kernel command line, as PID 1 did.
pub fn probe_main(args: &[String]) -> ! {
    let mut port = Port::inherited(PORT_FD);
    let num = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    let (ncpus, page, debugfs) = match (num(2), num(3), num(4)) {
        (Some(n), Some(p), Some(d)) => (n, p, d),
        _ => {
            port.line(&record::log(&format!(
                "compat probe: bad arguments {args:?}"
            )));
            sys::exit_now(2);
        }
    };
    let cmdline = files::read_text("/proc/cmdline").unwrap_or_default();
    let cfg = cmdline::parse(&cmdline);
    port.line(&abi_record(None));
    let env = Env {
        ncpus_possible: ncpus.max(1),
        page_size: page as usize,
        timeout: Duration::from_secs(cfg.timeout_s),
        debugfs: debugfs == 1,
    };
    let written = 1 + probe::run_all(&env, &cfg.cases, &mut port);
    let _ = sys::write_all_fd(COUNT_FD, written.to_string().as_bytes());
    sys::exit_now(0);
}
