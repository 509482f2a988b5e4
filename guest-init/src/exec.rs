//! kmatrix.exec=HEX (repeatable): runs the user's programs (typically from a
//! share) in order once the probe is done, and reports each one's exit
//! status and whole output (bounded) as the "exec/N" experiment record; the
//! host reads the output in the suite's format. The command line is
//! hex-encoded so that spaces and quotes survive the kernel's parameter
//! parser; it is split on ASCII whitespace and exec'd directly (there is no
//! shell in the guest). kmatrix.env=HEX(KEY=VALUE) and kmatrix.cwd=HEX(DIR)
//! set the programs' environment and working directory.
//!
//! Each program is first copied into guest RAM (the rootfs, a RAM-backed
//! filesystem) with read(2)/write(2), and that copy is exec'd, under the same
//! argv[0] and working directory. Why: virtiofsd is a vhost-user process
//! that writes file data straight into guest RAM, so under TCG QEMU never
//! sees those writes (QEMU drops translated code of a page only on writes
//! that go through it: accel/tcg/cputlb.c notdirty_write ->
//! tb_invalidate_phys_*, or address_space_write for its own devices). A
//! page frame that held one program's code and is then refilled by
//! virtiofsd with the next program's page cache keeps its old
//! translations: distinct programs from one share crashed at random
//! (SIGSEGV, SIGILL, wrong results). The copy is written by the guest CPU,
//! through QEMU, so its pages carry no stale code. What the program reads
//! or execs itself still comes from the share (see README, "Programs from a
//! share under TCG").

use kmatrix_proto::obs::key;
use std::ffi::CString;
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::child::{self, Fate};
use crate::json::{Arr, Obj};
use crate::record;
use crate::sys;

/// Output kept per stream; the rest is read (so the program never blocks
/// on a full pipe) and only counted.
pub const KEEP: usize = 256 * 1024;

/// After the program exits, how long to keep reading output that is still
/// in the pipes (a leftover grandchild could otherwise keep us here).
const DRAIN_LIMIT: Duration = Duration::from_secs(1);

/// Where the programs' copies go (a directory of the RAM-backed rootfs).
fn ram_dir() -> PathBuf {
    if cfg!(test) {
        // Host tests are not PID 1 and must not write into /.
        std::env::temp_dir().join(format!("kmx-exec-test-{}", std::process::id()))
    } else {
        PathBuf::from("/kmatrix-exec")
    }
}

/// Copies `src` to `ram_dir()/INDEX/BASENAME` (the same basename, so the
/// kernel names the process as the user would expect) with read/write:
/// not copy_file_range, sendfile or splice (std::io::copy uses them), which
/// could move pages the device wrote. Keeps the permission bits, so a file
/// that cannot be exec'd still cannot.
fn copy_into_ram(index: usize, src: &Path) -> Result<PathBuf, String> {
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;
    let name = src.file_name().unwrap_or(src.as_os_str());
    let dir = ram_dir().join(index.to_string());
    let dst = dir.join(name);
    let mut input = std::fs::File::open(src).map_err(|e| format!("open {}: {e}", src.display()))?;
    let mode = input
        .metadata()
        .map(|m| m.permissions().mode() & 0o7777)
        .map_err(|e| format!("stat {}: {e}", src.display()))?;
    let copied = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let mut out = std::fs::File::create(&dst)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            out.write_all(buf.get(..n).unwrap_or_default())?;
        }
        out.set_permissions(std::fs::Permissions::from_mode(mode))
    })();
    match copied {
        Ok(()) => Ok(dst),
        Err(e) => {
            remove_copy(&dst);
            Err(format!(
                "copying {} into guest RAM ({}): {e}",
                src.display(),
                dst.display()
            ))
        }
    }
}

/// Removes a copy and its directory (RAM is the cell's memory).
fn remove_copy(copy: &Path) {
    let _ = std::fs::remove_file(copy);
    if let Some(d) = copy.parent() {
        let _ = std::fs::remove_dir(d);
    }
}

/// The command line encoded in `hex`, split into words.
pub fn decode(hex: &str) -> Result<Vec<String>, String> {
    let text = decode_text(hex)?;
    let argv: Vec<String> = text.split_ascii_whitespace().map(str::to_string).collect();
    if argv.is_empty() {
        return Err("empty command".to_string());
    }
    Ok(argv)
}

/// Sets each hex-encoded KEY=VALUE in PID 1's environment, which the
/// programs inherit; returns a complaint per word that is not one.
pub fn apply_env(words: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for w in words {
        match decode_text(w) {
            Ok(kv) => match kv.split_once('=') {
                Some((k, v)) if !k.is_empty() && !k.contains('\0') && !v.contains('\0') => {
                    std::env::set_var(k, v)
                }
                _ => problems.push(format!("kmatrix.env {kv:?}: expected KEY=VALUE")),
            },
            Err(e) => problems.push(format!("kmatrix.env={w}: {e}")),
        }
    }
    problems
}

/// The UTF-8 text encoded in `hex`.
pub fn decode_text(hex: &str) -> Result<String, String> {
    let digits = hex.as_bytes();
    if digits.len() % 2 != 0 {
        return Err(format!("bad hex: odd length {}", digits.len()));
    }
    let mut bytes = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks(2) {
        let nibble = |b: u8| (b as char).to_digit(16);
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(h), Some(l)) => bytes.push((h * 16 + l) as u8),
            _ => {
                return Err(format!(
                    "bad hex: {:?} is not a hex byte",
                    String::from_utf8_lossy(pair)
                ))
            }
        }
    }
    String::from_utf8(bytes).map_err(|_| "command is not UTF-8".to_string())
}

/// Everything the child needs, built before fork so that the child only
/// makes system calls between fork and exec.
struct Prepared {
    /// The program as the user named it (absolute), for messages.
    path: CString,
    /// What is exec'd: the copy in guest RAM.
    exec_path: CString,
    dir: Option<CString>,
    dev_null: CString,
    _argv: Vec<CString>,
    /// Pointers into `_argv`, null-terminated, as execv wants them.
    argv_ptrs: Vec<*const c_char>,
}

/// `program` made absolute, so that the chdir before exec does not change
/// what is run.
fn absolute(program: &str) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    cwd.join(program)
}

fn prepare(argv: &[String], workdir: Option<&str>, copy: &Path) -> Result<Prepared, String> {
    let program = argv.first().ok_or_else(|| "empty command".to_string())?;
    let full = absolute(program);
    // The program's own directory unless a working directory was given.
    let dir = match workdir {
        Some(w) => Some(std::borrow::Cow::Borrowed(w)),
        None => full
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_string_lossy),
    };
    let nul = |_| format!("{program:?}: contains a NUL byte");
    let path = CString::new(full.to_string_lossy().into_owned()).map_err(nul)?;
    let exec_path = CString::new(copy.to_string_lossy().into_owned()).map_err(nul)?;
    let dir = match dir {
        Some(d) => Some(CString::new(d.into_owned()).map_err(nul)?),
        None => None,
    };
    let owned: Vec<CString> = argv
        .iter()
        .map(|a| {
            CString::new(a.as_str()).map_err(|_| format!("argument {a:?} contains a NUL byte"))
        })
        .collect::<Result<_, _>>()?;
    let mut argv_ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    Ok(Prepared {
        path,
        exec_path,
        dir,
        dev_null: CString::new("/dev/null").map_err(nul)?,
        _argv: owned,
        argv_ptrs,
    })
}

/// What the child reports through the error pipe when it cannot exec.
const STEP_NAMES: [&str; 3] = ["dup2", "chdir", "execv"];

/// The child, between fork and exec: never returns.
fn child_side(p: &Prepared, out_w: i32, err_w: i32, report_w: i32) -> ! {
    // Own process group, so a timeout kills whatever the program started.
    let _ = sys::set_pgid(0, 0);
    sys::default_sigpipe();
    let fail = |step: u8, errno: i32| -> ! {
        let mut msg = [step; 5];
        msg[1..].copy_from_slice(&errno.to_le_bytes());
        let _ = sys::write_all_fd(report_w, &msg);
        sys::exit_now(127)
    };
    // stdin: /dev/null rather than the console, so the program cannot block on it.
    if let Ok(fd) = sys::open_read(&p.dev_null) {
        let _ = sys::dup_to(fd, 0);
    }
    if let Err(e) = sys::dup_to(out_w, 1).and_then(|()| sys::dup_to(err_w, 2)) {
        fail(0, e);
    }
    if let Some(d) = &p.dir {
        if let Err(e) = sys::change_dir(d) {
            fail(1, e);
        }
    }
    // SAFETY: argv_ptrs points into p._argv, alive here, and ends with null.
    let e = unsafe { sys::exec_argv(&p.exec_path, &p.argv_ptrs) };
    fail(2, e)
}

/// One output stream of the program.
struct Stream {
    fd: i32,
    open: bool,
    kept: Vec<u8>,
    total: u64,
}

impl Stream {
    fn new(fd: i32) -> Stream {
        Stream {
            fd,
            open: true,
            kept: Vec::new(),
            total: 0,
        }
    }

    /// One read(2); closes the stream at EOF or on a real error.
    fn read_once(&mut self, chunk: &mut [u8]) {
        match sys::read_fd(self.fd, chunk) {
            Ok(0) => self.open = false,
            Ok(n) => {
                let data = chunk.get(..n).unwrap_or_default();
                let room = KEEP.saturating_sub(self.kept.len());
                self.kept
                    .extend_from_slice(data.get(..room.min(n)).unwrap_or_default());
                self.total += n as u64;
            }
            Err(e) if e == sys::EINTR => {}
            Err(_) => self.open = false,
        }
    }
}

/// Waits up to `wait_ms` for output and reads what is ready; false if
/// nothing was (or both streams are closed).
fn pump(streams: &mut [&mut Stream; 2], wait_ms: i32, chunk: &mut [u8]) -> bool {
    let fds: Vec<i32> = streams.iter().filter(|s| s.open).map(|s| s.fd).collect();
    if fds.is_empty() {
        if wait_ms > 0 {
            std::thread::sleep(Duration::from_millis(wait_ms as u64));
        }
        return false;
    }
    let ready = match sys::poll_fds(&fds, wait_ms) {
        Ok(r) => r,
        Err(_) => return false,
    };
    let mut any = false;
    for s in streams.iter_mut() {
        let i = fds.iter().position(|&fd| fd == s.fd);
        if i.and_then(|i| ready.get(i)).copied().unwrap_or(false) {
            s.read_once(chunk);
            any = true;
        }
    }
    any
}

/// The status label: "exit:N", "signal:N" or "timeout".
fn status_label(timed_out: bool, fate: Fate) -> String {
    match fate {
        _ if timed_out => "timeout".to_string(),
        Fate::Exited => "exit:0".to_string(),
        other => other.label(),
    }
}

/// The record id of the `index`-th program.
pub fn record_id(index: usize) -> String {
    kmatrix_proto::catalogue::exec_id(index)
}

/// Runs the `index`-th command, `hex`, in `cwd_hex` (or the program's
/// directory) with `timeout`; returns its "exec/N" record.
pub fn run(index: usize, hex: &str, cwd_hex: Option<&str>, timeout: Duration) -> String {
    let id = record_id(index);
    let argv = match decode(hex) {
        Ok(a) => a,
        Err(e) => return not_run(&id, &[], &e),
    };
    let workdir = match cwd_hex.map(decode_text).transpose() {
        Ok(w) => w,
        Err(e) => return not_run(&id, &argv, &format!("kmatrix.cwd: {e}")),
    };
    let copy = match copy_into_ram(index, &absolute(&argv[0])) {
        Ok(c) => c,
        Err(e) => return not_run(&id, &argv, &e),
    };
    let rec = match prepare(&argv, workdir.as_deref(), &copy) {
        Ok(p) => run_prepared(&id, &argv, &p, timeout),
        Err(e) => not_run(&id, &argv, &e),
    };
    remove_copy(&copy);
    rec
}

/// Runs the prepared program; its "exec/N" record.
fn run_prepared(id: &str, argv: &[String], prepared: &Prepared, timeout: Duration) -> String {
    let pipes = (sys::make_pipe(), sys::make_pipe(), sys::make_pipe());
    let ((out_r, out_w), (err_r, err_w), (rep_r, rep_w)) = match pipes {
        (Ok(o), Ok(e), Ok(r)) => (o, e, r),
        (o, e, r) => {
            for (a, b) in [o, e, r].iter().filter_map(|p| p.ok()) {
                sys::close_fd(a);
                sys::close_fd(b);
            }
            return not_run(id, argv, "pipe: cannot create pipes");
        }
    };
    // The kernel's last line before the program runs: what it logs about
    // the program (a segfault, an unhandled exception) comes after it.
    let log_mark = sys::kernel_log()
        .ok()
        .and_then(|l| l.lines().last().map(str::to_string));
    let pid = match sys::fork_process() {
        Ok(pid) => pid,
        Err(e) => {
            for fd in [out_r, out_w, err_r, err_w, rep_r, rep_w] {
                sys::close_fd(fd);
            }
            return not_run(id, argv, &format!("fork: {}", errno_text(e)));
        }
    };
    if pid == 0 {
        child_side(prepared, out_w, err_w, rep_w);
    }
    for fd in [out_w, err_w, rep_w] {
        sys::close_fd(fd);
    }
    // Also from this side, so killing the group right after fork works.
    let _ = sys::set_pgid(pid, pid);

    let started = Instant::now();
    let (mut out, mut err) = (Stream::new(out_r), Stream::new(err_r));
    let mut chunk = vec![0u8; 64 * 1024];
    let mut timed_out = false;
    let fate = loop {
        // Short slices: the program's exit ends the wait even if a
        // grandchild still holds the pipes open.
        let left = timeout.saturating_sub(started.elapsed());
        let ms = left.as_millis().clamp(1, 20) as i32;
        pump(&mut [&mut out, &mut err], ms, &mut chunk);
        match sys::wait_pid(pid, true) {
            Ok(Some((_, status))) => break child::decode_status(status),
            Ok(None) => {}
            Err(_) => break Fate::Unreaped,
        }
        if started.elapsed() >= timeout {
            timed_out = true;
            if sys::send_signal(-pid, sys::SIGKILL).is_err() {
                let _ = sys::send_signal(pid, sys::SIGKILL);
            }
            break child::reap_within(pid, Duration::from_secs(5));
        }
    };
    // What it wrote just before exiting is still in the pipes.
    let drain_start = Instant::now();
    while drain_start.elapsed() < DRAIN_LIMIT && pump(&mut [&mut out, &mut err], 0, &mut chunk) {}
    // Written by the child only if it never got to exec.
    let mut report = [0u8; 5];
    let failed_step = match sys::poll_readable(rep_r, 0) {
        Ok(true) => match sys::read_fd(rep_r, &mut report) {
            Ok(5) => Some((
                report[0],
                i32::from_le_bytes([report[1], report[2], report[3], report[4]]),
            )),
            _ => None,
        },
        _ => None,
    };
    for fd in [out_r, err_r, rep_r] {
        sys::close_fd(fd);
    }
    // Whatever the program left running must not outlive it.
    let _ = child::kill_group(pid, Duration::from_secs(2));
    child::reap_zombies();

    if let Some((step, errno)) = failed_step {
        let name = STEP_NAMES.get(step as usize).copied().unwrap_or("exec");
        let what = match step {
            1 => prepared
                .dir
                .as_ref()
                .map(|d| d.to_string_lossy().into_owned()),
            _ => Some(prepared.path.to_string_lossy().into_owned()),
        };
        let target = what.unwrap_or_default();
        return not_run(id, argv, &format!("{name} {target}: {}", errno_text(errno)));
    }
    // A crash is also the kernel's to describe (x86 "segfault at", arm64
    // "unhandled exception" with debug.exception-trace=1).
    let kernel_lines = match fate {
        Fate::Signal(_) if !timed_out => crash_lines(log_mark.as_deref()),
        _ => Vec::new(),
    };
    let mut o = Obj::new();
    o.raw(key::ARGV, &argv_json(argv))
        .str(key::STATUS, &status_label(timed_out, fate))
        .str(key::STDOUT, &String::from_utf8_lossy(&out.kept))
        .str(key::STDERR, &String::from_utf8_lossy(&err.kept))
        .u64(key::STDOUT_BYTES, out.total)
        .u64(key::STDERR_BYTES, err.total)
        .raw(key::KERNEL_LOG, &argv_json(&kernel_lines));
    record::experiment(id, Fate::Exited, &o.to_json())
}

/// Most kernel lines a crash's evidence keeps.
const MAX_KERNEL_LINES: usize = 8;

/// The kernel's lines about crashed processes logged after `mark` (the
/// last line before the program started; all lines if it is gone from the
/// ring): the ones naming a process as COMM[PID], e.g.
/// "prog[42]: segfault at 0 ip ..." or "traps: prog[42] trap invalid opcode".
fn crash_lines(mark: Option<&str>) -> Vec<String> {
    let log = match sys::kernel_log() {
        Ok(l) => l,
        Err(_) => return Vec::new(),
    };
    let lines: Vec<&str> = log.lines().collect();
    let start = mark
        .and_then(|m| lines.iter().rposition(|l| *l == m))
        .map_or(0, |i| i + 1);
    lines
        .get(start..)
        .unwrap_or_default()
        .iter()
        .map(|l| strip_log_prefix(l))
        .filter(|l| names_a_process(l))
        .take(MAX_KERNEL_LINES)
        .map(str::to_string)
        .collect()
}

/// A kernel log record without its "<level>" and "[time]" prefixes.
fn strip_log_prefix(line: &str) -> &str {
    let mut l = line;
    if l.starts_with('<') {
        if let Some(i) = l.find('>') {
            l = &l[i + 1..];
        }
    }
    if l.starts_with('[') {
        if let Some(i) = l.find(']') {
            l = &l[i + 1..];
        }
    }
    l.trim()
}

/// Whether `line` names a process the way the kernel's fault reports do:
/// COMM[PID] with COMM non-empty (a timestamp "[ 1.0]" has no COMM).
fn names_a_process(line: &str) -> bool {
    line.match_indices('[').any(|(i, _)| {
        let before = line[..i].chars().last();
        let rest = &line[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        before.map_or(false, |c| !c.is_whitespace())
            && digits > 0
            && rest.as_bytes().get(digits) == Some(&b']')
    })
}

fn argv_json(argv: &[String]) -> String {
    let mut a = Arr::new();
    for w in argv {
        let mut s = String::new();
        crate::json::push_string(&mut s, w);
        a.push_raw(&s);
    }
    a.to_json()
}

fn errno_text(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

/// The record for a program that never ran.
fn not_run(id: &str, argv: &[String], error: &str) -> String {
    let mut o = Obj::new();
    o.raw(key::ARGV, &argv_json(argv))
        .str(key::STATUS, "not-run")
        .str(key::STDOUT, "")
        .str(key::STDERR, "")
        .u64(key::STDOUT_BYTES, 0)
        .u64(key::STDERR_BYTES, 0)
        .str(key::ERROR, error);
    record::experiment(id, Fate::Exited, &o.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// run() reaps any zombie (it is PID 1's job), so tests that fork must
    /// not overlap.
    static FORKING: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        FORKING.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn hex(s: &str) -> String {
        s.bytes().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn decoding() {
        assert_eq!(
            decode(&hex("/mnt/host/t  a\tb\n")).unwrap(),
            vec!["/mnt/host/t", "a", "b"]
        );
        assert_eq!(decode("2F6D6E74").unwrap(), vec!["/mnt"]);
        assert!(decode("2f6").unwrap_err().contains("odd length"));
        assert!(decode("2fzz").unwrap_err().contains("not a hex byte"));
        assert!(decode("+1").is_err());
        assert_eq!(decode("").unwrap_err(), "empty command");
        assert_eq!(decode(&hex("  \t")).unwrap_err(), "empty command");
        assert!(decode("ff").unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn labels() {
        assert_eq!(status_label(false, Fate::Exited), "exit:0");
        assert_eq!(status_label(false, Fate::Exit(3)), "exit:3");
        assert_eq!(status_label(false, Fate::Signal(9)), "signal:9");
        assert_eq!(status_label(true, Fate::Signal(9)), "timeout");
    }

    #[test]
    fn bad_hex_is_not_run() {
        assert_eq!(
            run(0, "zz", None, Duration::from_secs(1)),
            "{\"v\":1,\"type\":\"experiment\",\"id\":\"exec/0\",\"fate\":\"exited\",\"obs\":{\"argv\":[],\
             \"status\":\"not-run\",\"stdout\":\"\",\"stderr\":\"\",\"stdout_bytes\":0,\
             \"stderr_bytes\":0,\"error\":\"bad hex: \\\"zz\\\" is not a hex byte\"}}"
        );
    }

    // The tests below fork and exec real programs of the build host.

    #[test]
    fn runs_and_captures_both_streams() {
        let _guard = serial();
        let cmd = "/bin/sh -c echo${IFS}out;echo${IFS}err>&2;printf${IFS}'\\033\\377';exit${IFS}3";
        let rec = run(0, &hex(cmd), None, Duration::from_secs(10));
        assert!(rec.contains("\"status\":\"exit:3\""), "{rec}");
        assert!(
            rec.contains("\"stdout\":\"out\\n\\u001b\u{fffd}\""),
            "{rec}"
        );
        assert!(rec.contains("\"stderr\":\"err\\n\""), "{rec}");
        assert!(
            rec.contains("\"stdout_bytes\":6,\"stderr_bytes\":4,\"kernel_log\":[]}"),
            "{rec}"
        );
    }

    #[test]
    fn cwd_is_the_program_directory() {
        let _guard = serial();
        let rec = run(0, &hex("/bin/pwd"), None, Duration::from_secs(10));
        // pwd prints the physical directory (/bin may be a symlink).
        let dir = std::fs::canonicalize("/bin").unwrap();
        let want = format!("\"status\":\"exit:0\",\"stdout\":\"{}\\n\"", dir.display());
        assert!(rec.contains(&want), "{rec}");
    }

    #[test]
    fn keeps_64k_and_counts_the_rest() {
        let _guard = serial();
        // 300000 bytes on stdout, 200000 on stderr, at the same time:
        // reading only one pipe would deadlock.
        let cmd = "/bin/sh -c head${IFS}-c${IFS}200000${IFS}/dev/zero>&2&head${IFS}-c${IFS}300000${IFS}/dev/zero;wait";
        let rec = run(0, &hex(cmd), None, Duration::from_secs(20));
        assert!(rec.contains("\"status\":\"exit:0\""), "{rec:.300}");
        assert!(
            rec.contains("\"stdout_bytes\":300000,\"stderr_bytes\":200000,\"kernel_log\":[]}"),
            "{}",
            &rec[rec.len() - 100..]
        );
        assert_eq!(rec.matches("\\u0000").count(), 200000 + KEEP);
    }

    #[test]
    fn timeout_and_signal() {
        let _guard = serial();
        let t0 = Instant::now();
        let rec = run(0, &hex("/bin/sleep 30"), None, Duration::from_millis(300));
        assert!(rec.contains("\"status\":\"timeout\""), "{rec}");
        assert!(t0.elapsed() < Duration::from_secs(10));
        let rec = run(
            0,
            &hex("/bin/sh -c kill${IFS}-9${IFS}$$"),
            None,
            Duration::from_secs(10),
        );
        assert!(rec.contains("\"status\":\"signal:9\""), "{rec}");
    }

    #[test]
    fn missing_program_is_not_run() {
        let _guard = serial();
        let rec = run(
            0,
            &hex("/nonexistent/prog x"),
            None,
            Duration::from_secs(10),
        );
        assert!(
            rec.contains("\"argv\":[\"/nonexistent/prog\",\"x\"],\"status\":\"not-run\""),
            "{rec}"
        );
        // Copied into RAM before anything else: opening it is what fails.
        assert!(
            rec.contains(
                "\"error\":\"open /nonexistent/prog: No such file or directory (os error 2)\""
            ),
            "{rec}"
        );
        let file = std::env::temp_dir().join(format!("kmx-exec-file-{}", std::process::id()));
        std::fs::write(&file, "not a program").unwrap();
        let name = file.to_string_lossy().into_owned();
        let rec = run(0, &hex(&name), None, Duration::from_secs(10));
        std::fs::remove_file(&file).unwrap();
        let want = format!("\"error\":\"execv {name}: Permission denied (os error 13)\"");
        assert!(rec.contains(&want), "{rec}");
    }

    #[test]
    fn cwd_and_env_are_the_programs() {
        let _guard = serial();
        let rec = run(
            3,
            &hex("/bin/pwd"),
            Some(&hex("/")),
            Duration::from_secs(10),
        );
        assert!(rec.contains("\"id\":\"exec/3\""), "{rec}");
        assert!(rec.contains("\"stdout\":\"/\\n\""), "{rec}");
        let rec = run(
            0,
            &hex("/bin/pwd"),
            Some(&hex("/nonexistent-dir")),
            Duration::from_secs(10),
        );
        assert!(rec.contains("\"error\":\"chdir /nonexistent-dir:"), "{rec}");
        let problems = apply_env(&[hex("KMX_EXEC_TEST=a b=c"), hex("novalue"), "zz".into()]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let rec = run(
            0,
            &hex("/bin/sh -c echo${IFS}\"$KMX_EXEC_TEST\""),
            None,
            Duration::from_secs(10),
        );
        assert!(rec.contains("\"stdout\":\"a b=c\\n\""), "{rec}");
    }

    #[test]
    fn the_program_runs_from_a_copy_in_ram_under_its_own_name() {
        let _guard = serial();
        let cmd = "/bin/sh -c echo${IFS}$0;readlink${IFS}/proc/$$/exe;pwd";
        let rec = run(4, &hex(cmd), Some(&hex("/")), Duration::from_secs(10));
        let copy = ram_dir().join("4").join("sh");
        // argv[0] and the working directory are the user's; the image is the copy.
        let want = format!("\"stdout\":\"/bin/sh\\n{}\\n/\\n\"", copy.display());
        assert!(rec.contains(&want), "{rec}");
        assert!(!copy.exists(), "the copy outlives its run");
        assert!(!copy.parent().unwrap().exists());
    }

    #[test]
    fn a_copy_keeps_the_permission_bits() {
        use std::os::unix::fs::PermissionsExt;
        let src = std::env::temp_dir().join(format!("kmx-exec-perm-{}", std::process::id()));
        std::fs::write(&src, vec![7u8; 300 * 1024]).unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o640)).unwrap();
        let copy = copy_into_ram(9, &src).unwrap();
        let meta = std::fs::metadata(&copy).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&src).unwrap());
        remove_copy(&copy);
        std::fs::remove_file(&src).unwrap();
        assert!(!copy.exists());
    }

    #[test]
    fn kernel_lines_about_a_crashed_process() {
        for (line, text) in [
            (
                "<6>[    3.141592] p7[123]: segfault at 8 ip 0000000000401136 sp 00007ffd error 6 in p7[401000+1000]",
                "p7[123]: segfault at 8 ip 0000000000401136 sp 00007ffd error 6 in p7[401000+1000]",
            ),
            (
                "<6>[    1.000000] traps: p1[99] trap invalid opcode ip:401000 sp:7ffd error:0",
                "traps: p1[99] trap invalid opcode ip:401000 sp:7ffd error:0",
            ),
            (
                "<6>[    2.5] crasher[77]: unhandled exception: DABT (lower EL), ESR 0x92000046",
                "crasher[77]: unhandled exception: DABT (lower EL), ESR 0x92000046",
            ),
        ] {
            assert_eq!(strip_log_prefix(line), text);
            assert!(names_a_process(strip_log_prefix(line)), "{line}");
        }
        // Deviants: no process named, a bracket that is not a pid.
        for line in [
            "<6>[    1.0] virtio-fs: tag <kmx0> not found",
            "<4>[    2.0] pc : 0000000000401136",
            "x [12]",
            "a[12",
            "b[]: c",
            "d[1x]",
        ] {
            assert!(!names_a_process(strip_log_prefix(line)), "{line}");
        }
    }
}
