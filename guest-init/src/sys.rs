//! Raw FFI: the few glibc functions and kernel constants guest-init needs,
//! each behind a thin wrapper that turns `-1 + errno` into `Err(errno)`.
//!
//! std already links glibc, so declaring the functions here is enough (no
//! crates allowed). The syscall numbers come from kmatrix_proto::syscalls;
//! every other constant here is the same on x86_64, aarch64 and s390x, and
//! on their 32-bit ABIs (i686, armhf), where the probe also runs.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_long, c_ulong, c_void};
use std::time::Duration;

/// This arch's syscall numbers, from the one table both sides read
/// (kmatrix_proto::syscalls); an arch without a row does not compile.
pub mod nr {
    use kmatrix_proto::syscalls::{of_arch, Numbers};
    use std::os::raw::c_long;
    const N: Numbers = of_arch(std::env::consts::ARCH);
    pub const IO_SETUP: c_long = N.aio[0] as c_long;
    pub const IO_DESTROY: c_long = N.aio[1] as c_long;
    pub const IO_SUBMIT: c_long = N.aio[2] as c_long;
    pub const IO_CANCEL: c_long = N.aio[3] as c_long;
    pub const IO_GETEVENTS: c_long = N.aio[4] as c_long;
    pub const IO_PGETEVENTS: c_long = N.aio[5] as c_long;
    pub const EVENTFD2: c_long = N.eventfd2 as c_long;
    pub const GETTID: c_long = N.gettid as c_long;
}

/// aio_context_t: unsigned long, so 4 bytes in a 32-bit program, where
/// the kernel's compat io_setup reads and writes 4 bytes.
pub type AioContext = c_ulong;

/// The architecture name reported in the hello record (Rust's target_arch).
pub const ARCH: &str = std::env::consts::ARCH;

pub const EINTR: i32 = 4;
pub const EIO: i32 = 5;
pub const EBUSY: i32 = 16;
pub const EINVAL: i32 = 22;

pub const SIGKILL: c_int = 9;
const SIGPIPE: c_int = 13;
const SIG_DFL: usize = 0;
const WNOHANG: c_int = 1;

/// mount(2) flag for a read-only mount.
pub const MS_RDONLY: c_ulong = 1;
// open(2) flags: the same values on x86_64, aarch64 and s390x.
const O_RDONLY: c_int = 0;
const O_WRONLY: c_int = 0o1;
const O_CREAT: c_int = 0o100;
const O_TRUNC: c_int = 0o1000;

pub const PROT_READ: c_int = 1;
pub const PROT_WRITE: c_int = 2;
const MAP_PRIVATE: c_int = 0x02;
const MAP_ANONYMOUS: c_int = 0x20;

const RLIMIT_AS: c_int = 9;
/// RLIM64_INFINITY (getrlimit64 takes 64-bit limits on every ABI).
pub const RLIM_INFINITY: u64 = !0;

pub const SC_PAGESIZE: c_int = 30;
pub const SC_NPROCESSORS_ONLN: c_int = 84;

/// glibc's RB_POWER_OFF (== LINUX_REBOOT_CMD_POWER_OFF).
const RB_POWER_OFF: c_int = 0x4321_fedc;
/// glibc's RB_AUTOBOOT (== LINUX_REBOOT_CMD_RESTART).
const RB_AUTOBOOT: c_int = 0x0123_4567;
const O_CLOEXEC: c_int = 0o2_000_000;
const POLLIN: i16 = 0x1;

/// struct rlimit64: two u64 on every ABI.
#[repr(C)]
struct Rlimit {
    cur: u64,
    max: u64,
}

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: i16,
    revents: i16,
}

/// struct utsname with glibc's 65-byte fields (sysname .. domainname).
#[repr(C)]
struct Utsname {
    fields: [[c_char; 65]; 6],
}

extern "C" {
    // Every argument and the result are a C long: 32 bits in a 32-bit
    // program, where a 64-bit argument would take two slots.
    fn syscall(num: c_long, ...) -> c_long;
    fn fork() -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn setpgid(pid: c_int, pgid: c_int) -> c_int;
    fn getpid() -> c_int;
    fn mount(
        src: *const c_char,
        target: *const c_char,
        fstype: *const c_char,
        flags: c_ulong,
        data: *const c_void,
    ) -> c_int;
    fn reboot(howto: c_int) -> c_int;
    fn sync();
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        // off_t: a long without _FILE_OFFSET_BITS=64 (always 0 here).
        off: c_long,
    ) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
    fn getrlimit64(resource: c_int, rlim: *mut Rlimit) -> c_int;
    fn setrlimit64(resource: c_int, rlim: *const Rlimit) -> c_int;
    fn sysconf(name: c_int) -> c_long;
    fn pipe2(fds: *mut c_int, flags: c_int) -> c_int;
    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, n: usize) -> isize;
    fn getrusage(who: c_int, usage: *mut Rusage) -> c_int;
    fn write(fd: c_int, buf: *const c_void, n: usize) -> isize;
    fn close(fd: c_int) -> c_int;
    fn uname(buf: *mut Utsname) -> c_int;
    fn _exit(code: c_int) -> !;
    fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    fn unlink(path: *const c_char) -> c_int;
    fn dup2(old: c_int, new: c_int) -> c_int;
    fn chdir(path: *const c_char) -> c_int;
    fn execv(path: *const c_char, argv: *const *const c_char) -> c_int;
    fn signal(sig: c_int, handler: usize) -> usize;
    fn setitimer(which: c_int, new: *const Itimerval, old: *mut Itimerval) -> c_int;
    fn klogctl(kind: c_int, buf: *mut c_char, len: c_int) -> c_int;
    fn mremap(old: *mut c_void, old_len: usize, new_len: usize, flags: c_int, ...) -> *mut c_void;
}

pub const MREMAP_MAYMOVE: c_int = 1;
pub const MREMAP_FIXED: c_int = 2;
pub const MREMAP_DONTUNMAP: c_int = 4;

/// mremap(2): the new address, or the errno.
///
/// # Safety
/// No live Rust reference may point into the old range (it may move or
/// vanish), nor into `[to, to + new_len)` with MREMAP_FIXED.
pub unsafe fn remap(
    from: u64,
    old_len: usize,
    new_len: usize,
    flags: c_int,
    to: u64,
) -> Result<u64, i32> {
    let p = mremap(
        from as usize as *mut c_void,
        old_len,
        new_len,
        flags,
        to as usize as *mut c_void,
    );
    if p as isize == -1 {
        Err(errno())
    } else {
        Ok(p as usize as u64)
    }
}

/// struct itimerval: two struct timevals of (long, long), the time_t of
/// glibc's plain setitimer symbol on a 32-bit ABI too.
#[repr(C)]
struct Itimerval {
    interval: [c_long; 2],
    value: [c_long; 2],
}

pub const SIGALRM: c_int = 14;
const ITIMER_REAL: c_int = 0;

/// Installs `handler` for `sig` (glibc's BSD semantics: SA_RESTART).
pub fn set_handler(sig: c_int, handler: extern "C" fn(c_int)) {
    // SAFETY: the handler is a plain extern "C" fn; callers keep it
    // async-signal-safe (atomics only).
    unsafe {
        signal(sig, handler as usize);
    }
}

/// Sleeps for `d` (the rest of it after a signal), on every ABI. A 32-bit
/// glibc takes the 32-bit time syscall for a sleep that fits in it, which
/// is ENOSYS on a kernel without CONFIG_COMPAT_32BIT_TIME (std's sleep then
/// panics), so a 32-bit build calls clock_nanosleep_time64 itself.
pub fn sleep(d: Duration) {
    let nr = match kmatrix_proto::syscalls::of_arch(ARCH).time32 {
        Some(t) => t.clock_nanosleep64 as c_long,
        None => return std::thread::sleep(d),
    };
    const CLOCK_MONOTONIC: c_long = 1;
    // struct __kernel_timespec: two 64-bit fields on every ABI.
    let mut req: [i64; 2] = [d.as_secs() as i64, i64::from(d.subsec_nanos())];
    loop {
        let mut rem: [i64; 2] = [0; 2];
        // SAFETY: req and rem are live timespecs the kernel reads and writes.
        let r = unsafe {
            syscall(
                nr,
                CLOCK_MONOTONIC,
                0 as c_long,
                req.as_ptr(),
                rem.as_mut_ptr(),
            )
        };
        if r == 0 || errno() != EINTR {
            return;
        }
        req = rem;
    }
}

/// SIGALRM every `every` (0 stops it).
pub fn interval_timer(every: Duration) -> Result<(), i32> {
    real_timer(every, every)
}

/// errno of a non-blocking read with nothing to read (11 on every arch
/// kmatrix has).
pub const EAGAIN: i32 = 11;

/// struct rusage: two timevals, then fourteen longs (ru_maxrss ..
/// ru_nivcsw); every field is a C long on Linux, 32- or 64-bit.
#[repr(C)]
struct Rusage {
    times: [c_long; 4],
    counts: [c_long; 14],
}

/// Voluntary context switches of the calling thread so far (ru_nvcsw of
/// RUSAGE_THREAD): a call that slept adds at least one, preemption none.
pub fn voluntary_switches() -> Result<u64, i32> {
    const RUSAGE_THREAD: c_int = 1;
    let mut u = Rusage {
        times: [0; 4],
        counts: [0; 14],
    };
    // SAFETY: u is a live struct rusage for the kernel to fill.
    if unsafe { getrusage(RUSAGE_THREAD, &mut u) } != 0 {
        return Err(errno());
    }
    Ok(u.counts[12] as u64)
}

/// One SIGALRM after `after` (a zero Duration cancels a pending one).
pub fn one_shot_alarm(after: Duration) -> Result<(), i32> {
    real_timer(after, Duration::ZERO)
}

/// setitimer(ITIMER_REAL): first SIGALRM after `value`, then every
/// `interval` (zero: once); a zero `value` disarms it.
fn real_timer(value: Duration, interval: Duration) -> Result<(), i32> {
    // Only short durations (ms to s): they fit a 32-bit long.
    let tv = |d: Duration| [d.as_secs() as c_long, d.subsec_micros() as c_long];
    let t = Itimerval {
        interval: tv(interval),
        value: tv(value),
    };
    // SAFETY: t is a valid itimerval; the old value is not wanted.
    check(unsafe { setitimer(ITIMER_REAL, &t, std::ptr::null_mut()) }).map(|_| ())
}

/// errno of the last failed libc call (read immediately after it).
pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn check(r: c_int) -> Result<c_int, i32> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// A raw syscall result as the probe reports it: `errno` is 0 unless ret == -1.
#[derive(Clone, Copy, Debug)]
pub struct SysRet {
    pub ret: i64,
    pub errno: i32,
}

impl From<SysRet> for kmatrix_proto::obs::SysRet {
    fn from(r: SysRet) -> Self {
        kmatrix_proto::obs::SysRet {
            ret: r.ret,
            errno: r.errno.into(),
        }
    }
}

/// A syscall(2) result, sign-extended from a C long.
pub fn sysret(ret: c_long) -> SysRet {
    // A no-op where a long is 64 bits; sign-extends a 32-bit one.
    #[allow(clippy::useless_conversion)]
    let ret = i64::from(ret);
    let errno = if ret == -1 { errno() } else { 0 };
    SysRet { ret, errno }
}

/// An aio_context_t as the observations carry it: zero-extended from a
/// 32-bit build's 4 bytes (a no-op where a long is 64 bits).
#[allow(clippy::useless_conversion)]
pub fn ctx_value(c: AioContext) -> u64 {
    u64::from(c)
}

/// io_setup(2) through syscall(2), so we see the kernel's own errno.
///
/// # Safety
/// The kernel may write an aio_context_t at `ctxp`; it must be null,
/// unmapped, read-only, or point to memory no Rust reference currently
/// aliases.
pub unsafe fn io_setup(nr_events: u32, ctxp: *mut AioContext) -> SysRet {
    // The kernel takes `unsigned`; pass it zero-extended in a full register.
    sysret(syscall(nr::IO_SETUP, nr_events as c_ulong, ctxp))
}

/// io_destroy(2). Safe: the kernel only acts on a handle in this process's
/// ioctx table, and then unmaps only that ring, to which we hold no references.
/// A 32-bit program passes the handle's low 32 bits (its aio_context_t).
pub fn io_destroy(ctx: u64) -> SysRet {
    // SAFETY: plain integer argument; see the function comment.
    sysret(unsafe { syscall(nr::IO_DESTROY, ctx as AioContext) })
}

pub fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { syscall(nr::GETTID) as i32 }
}

pub fn pid() -> i32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { getpid() }
}

/// fork(2): Ok(0) in the child, Ok(pid) in the parent.
/// Callers must be single-threaded (guest-init never starts threads).
pub fn fork_process() -> Result<i32, i32> {
    // SAFETY: the process is single-threaded, so the child's copy of every
    // lock and buffer is consistent.
    check(unsafe { fork() })
}

/// waitpid(2); with `nohang`, Ok(None) means nothing has changed state yet.
pub fn wait_pid(pid: i32, nohang: bool) -> Result<Option<(i32, i32)>, i32> {
    let mut status: c_int = 0;
    loop {
        let flags = if nohang { WNOHANG } else { 0 };
        // SAFETY: status is a live local the call writes to.
        let r = unsafe { waitpid(pid, &mut status, flags) };
        match r {
            0 => return Ok(None),
            r if r > 0 => return Ok(Some((r, status))),
            _ => {
                let e = errno();
                if e != EINTR {
                    return Err(e);
                }
            }
        }
    }
}

pub fn send_signal(pid: i32, sig: i32) -> Result<(), i32> {
    // SAFETY: plain integers.
    check(unsafe { kill(pid, sig) }).map(|_| ())
}

pub fn set_pgid(pid: i32, pgid: i32) -> Result<(), i32> {
    // SAFETY: plain integers.
    check(unsafe { setpgid(pid, pgid) }).map(|_| ())
}

fn cstring(s: &str) -> Result<CString, i32> {
    CString::new(s).map_err(|_| EINVAL)
}

/// mount(2) with no flags and no data.
pub fn mount_fs(src: &str, target: &str, fstype: &str) -> Result<(), i32> {
    mount_with_flags(src, target, fstype, 0)
}

/// mount(2) with `flags` (e.g. MS_RDONLY) and no data.
pub fn mount_with_flags(src: &str, target: &str, fstype: &str, flags: c_ulong) -> Result<(), i32> {
    let (s, t, f) = (cstring(src)?, cstring(target)?, cstring(fstype)?);
    // SAFETY: three NUL-terminated strings that outlive the call; null data.
    check(unsafe { mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), flags, std::ptr::null()) }).map(|_| ())
}

/// open(path, O_CREAT|O_WRONLY|O_TRUNC|O_CLOEXEC, 0644): the raw call, so
/// the caller sees the kernel's errno (EROFS, EACCES, ...).
pub fn create_file(path: &str) -> Result<i32, i32> {
    let p = cstring(path)?;
    let flags = O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC;
    // SAFETY: NUL-terminated path; the mode is passed as the variadic int.
    check(unsafe { open(p.as_ptr(), flags, 0o644 as c_int) })
}

/// open(path, O_RDONLY|O_CLOEXEC). Takes a CStr so a forked child can
/// call it without allocating.
pub fn open_read(path: &CStr) -> Result<i32, i32> {
    // SAFETY: NUL-terminated path; no mode needed without O_CREAT.
    check(unsafe { open(path.as_ptr(), O_RDONLY | O_CLOEXEC) })
}

pub fn unlink_path(path: &str) -> Result<(), i32> {
    let p = cstring(path)?;
    // SAFETY: NUL-terminated path.
    check(unsafe { unlink(p.as_ptr()) }).map(|_| ())
}

/// dup2(2); the copy does not inherit close-on-exec.
pub fn dup_to(old: i32, new: i32) -> Result<(), i32> {
    // SAFETY: plain integers.
    check(unsafe { dup2(old, new) }).map(|_| ())
}

pub fn change_dir(path: &CStr) -> Result<(), i32> {
    // SAFETY: NUL-terminated path.
    check(unsafe { chdir(path.as_ptr()) }).map(|_| ())
}

/// execv(2); returns only on failure, with the errno.
///
/// # Safety
/// `argv` must be a null-terminated array of pointers to NUL-terminated
/// strings that stay alive for the call.
pub unsafe fn exec_argv(path: &CStr, argv: &[*const c_char]) -> i32 {
    execv(path.as_ptr(), argv.as_ptr());
    errno()
}

/// Restores SIGPIPE's default action, which Rust's runtime set to
/// "ignore": an exec'd program would inherit that and not die of EPIPE.
pub fn default_sigpipe() {
    // SAFETY: installs the default disposition, no handler code.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

/// Flushes filesystems and powers the machine off. PID 1 must never return or
/// exit (the kernel would panic), so if the reboot call fails we idle forever.
pub fn power_off() -> ! {
    // A machine without ACPI (x86 microvm) cannot power off: the kernel would
    // halt and QEMU run on. The host then asks for a reset (kmatrix.exit=reset),
    // which ends QEMU under -no-reboot.
    let reset = std::fs::read_to_string("/proc/cmdline")
        .map(|c| {
            c.split_whitespace()
                .any(|w| w == kmatrix_proto::args::EXIT_RESET_WORD)
        })
        .unwrap_or(false);
    // SAFETY: sync and reboot take no pointers.
    unsafe {
        sync();
        reboot(if reset { RB_AUTOBOOT } else { RB_POWER_OFF });
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// A fresh private anonymous mapping; it cannot clobber existing memory
/// because the kernel picks the address.
pub fn mmap_anon(len: usize, prot: c_int) -> Result<*mut u8, i32> {
    // SAFETY: addr is null and fd is -1, so no existing mapping is touched.
    let p = unsafe {
        mmap(
            std::ptr::null_mut(),
            len,
            prot,
            MAP_PRIVATE | MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p as isize == -1 {
        Err(errno())
    } else {
        Ok(p as *mut u8)
    }
}

const MAP_FIXED_NOREPLACE: c_int = 0x10_0000;

/// Maps one inaccessible page at `addr` unless something is mapped there
/// already; true if the page is now there (nothing else can map it).
pub fn reserve_page(addr: u64) -> bool {
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping, and
    // PROT_NONE memory is never dereferenced.
    let p = unsafe {
        mmap(
            addr as usize as *mut c_void,
            4096,
            0,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    p as usize as u64 == addr
}

/// munmap(2).
///
/// # Safety
/// No live Rust reference may point into `[addr, addr + len)`.
pub unsafe fn unmap(addr: *mut u8, len: usize) -> Result<(), i32> {
    check(munmap(addr as *mut c_void, len)).map(|_| ())
}

/// RLIMIT_AS as (soft, hard).
pub fn get_rlimit_as() -> Result<(u64, u64), i32> {
    let mut r = Rlimit { cur: 0, max: 0 };
    // SAFETY: r is a live local of the layout the kernel expects.
    check(unsafe { getrlimit64(RLIMIT_AS, &mut r) })?;
    Ok((r.cur, r.max))
}

pub fn set_rlimit_as(cur: u64, max: u64) -> Result<(), i32> {
    let r = Rlimit { cur, max };
    // SAFETY: r is a live local of the layout the kernel expects.
    check(unsafe { setrlimit64(RLIMIT_AS, &r) }).map(|_| ())
}

pub fn sysconf_u64(name: c_int) -> Option<u64> {
    // SAFETY: plain integer.
    let v = unsafe { sysconf(name) };
    u64::try_from(v).ok()
}

/// A pipe as (read end, write end), close-on-exec (exec.rs dup2s the ends
/// a program should keep).
pub fn make_pipe() -> Result<(i32, i32), i32> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    check(unsafe { pipe2(fds.as_mut_ptr(), O_CLOEXEC) })?;
    Ok((fds[0], fds[1]))
}

/// Waits up to `timeout_ms` for any of `fds` to be readable or hung up;
/// returns, per fd, whether it is.
pub fn poll_fds(fds: &[i32], timeout_ms: i32) -> Result<Vec<bool>, i32> {
    let mut p: Vec<PollFd> = fds
        .iter()
        .map(|&fd| PollFd {
            fd,
            events: POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: p is a live array of p.len() PollFds.
    check(unsafe { poll(p.as_mut_ptr(), p.len() as c_ulong, timeout_ms) })?;
    Ok(p.iter().map(|x| x.revents != 0).collect())
}

/// Waits up to `timeout_ms` for `fd` to be readable or hung up.
pub fn poll_readable(fd: i32, timeout_ms: i32) -> Result<bool, i32> {
    let mut p = PollFd {
        fd,
        events: POLLIN,
        revents: 0,
    };
    // SAFETY: one live PollFd.
    let r = check(unsafe { poll(&mut p, 1, timeout_ms) })?;
    // POLLHUP/POLLERR count too: the following read reports EOF or the error.
    Ok(r > 0 && p.revents != 0)
}

/// The kernel's whole log buffer (syslog(2) SYSLOG_ACTION_READ_ALL, which
/// leaves it as it is), one "<level>[time] text" record per line.
pub fn kernel_log() -> Result<String, i32> {
    const READ_ALL: c_int = 3;
    const SIZE_BUFFER: c_int = 10;
    // SAFETY: SIZE_BUFFER takes no buffer.
    let size = check(unsafe { klogctl(SIZE_BUFFER, std::ptr::null_mut(), 0) })?;
    let mut buf = vec![0u8; size.max(4096) as usize];
    let len = buf.len().min(c_int::MAX as usize) as c_int;
    // SAFETY: buf is live and writable for len bytes.
    let n = check(unsafe { klogctl(READ_ALL, buf.as_mut_ptr() as *mut c_char, len) })?;
    buf.truncate(n as usize);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

pub fn read_fd(fd: i32, buf: &mut [u8]) -> Result<usize, i32> {
    // SAFETY: buf is a live, writable slice of the given length.
    let r = unsafe { read(fd, buf.as_mut_ptr() as *mut c_void, buf.len()) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as usize)
    }
}

/// Writes all of `data`, retrying on partial writes and EINTR.
pub fn write_all_fd(fd: i32, mut data: &[u8]) -> Result<(), i32> {
    while !data.is_empty() {
        // SAFETY: data is a live slice of the given length.
        let r = unsafe { write(fd, data.as_ptr() as *const c_void, data.len()) };
        if r < 0 {
            let e = errno();
            if e != EINTR {
                return Err(e);
            }
        } else if r == 0 {
            return Err(EIO);
        } else {
            data = &data[r as usize..];
        }
    }
    Ok(())
}

pub fn close_fd(fd: i32) {
    // SAFETY: callers pass descriptors they own and never use them again.
    unsafe {
        close(fd);
    }
}

/// (release, machine) from uname(2).
pub fn uname_release_machine() -> Option<(String, String)> {
    let mut u = Utsname {
        fields: [[0; 65]; 6],
    };
    // SAFETY: u has glibc's struct utsname layout.
    if unsafe { uname(&mut u) } != 0 {
        return None;
    }
    let field = |f: &[c_char; 65]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Some((field(&u.fields[2]), field(&u.fields[4])))
}

/// _exit(2): leaves without running destructors or flushing std buffers,
/// which is what a forked child must do.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { _exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole duration, on the kernel running the tests (a 32-bit build
    /// of them calls clock_nanosleep_time64).
    #[test]
    fn sleep_takes_its_time() {
        let t0 = std::time::Instant::now();
        sleep(Duration::from_millis(20));
        assert!(t0.elapsed() >= Duration::from_millis(20));
    }
}
