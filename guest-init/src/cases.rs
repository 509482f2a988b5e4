//! Experiment bodies (except fault injection, see faultinj.rs). Each runs
//! in a forked child (probe.rs) and returns its obs object. They must cope
//! with CONFIG_AIO=n (ENOSYS, no /proc/sys/fs/aio-*) and with any
//! aio-max-nr from 1 to u64::MAX: record what happens, skip follow-ups
//! that need a handle.

use kmatrix_proto::obs::{self, key};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::aio::{self, Call};
use crate::child::{self, Outcome, Role, Sink};
use crate::experiment::Env;
use crate::files::{aio_max_nr, aio_nr};
use crate::json::{Arr, Obj};
use crate::parse;
use crate::sys;
use kmatrix_proto::catalogue::skip;

/// The nr_events used wherever the spec's example size will do.
const NR: u32 = 128;

/// NR, or less where aio-max-nr leaves less room, so the follow-ups of a
/// successful call run in every cell (aio-max-nr 1 included).
fn cell_nr() -> u32 {
    match (aio_max_nr(), aio_nr()) {
        (Some(m), Some(n)) => m.saturating_sub(n).clamp(1, u64::from(NR)) as u32,
        _ => NR,
    }
}

fn skipped(reason: &str) -> Obj {
    let mut o = Obj::new();
    o.str(key::SKIPPED, reason);
    o
}

/// A grandchild's obs with its fate added ("fate" first, then its fields).
fn with_fate(out: &Outcome) -> Obj {
    obs::step(&out.final_fate(), &out.obs)
}

/// io_setup(nr, &ctx) with ctx preset to `initial` and aio-nr read around
/// it, and the word after a 32-bit build's handle (null in a 64-bit one);
/// on success also ring, maps_line, io_destroy and aio-nr after it
/// (nulls otherwise, see aio::put_success_details).
fn observed_call(nr: u32, initial: u64) -> Obj {
    let mut o = Obj::new();
    let before = aio_nr();
    let (c, next) = aio::setup_watched(nr, initial);
    c.put(&mut o);
    o.opt_u64(key::CTX_NEXT_WORD, next);
    o.opt_u64(key::AIO_NR_BEFORE, before)
        .opt_u64(key::AIO_NR_AFTER, aio_nr());
    aio::put_success_details(&mut o, &c);
    o
}

/// setup.basic: the plain success path.
pub fn setup_basic(_env: &Env, _sink: &Sink) -> Obj {
    observed_call(cell_nr(), 0)
}

/// The spec's second example: io_setup(1024, &ctx).
pub fn example_1024(_env: &Env, _sink: &Sink) -> Obj {
    observed_call(1024, 0)
}

pub const SWEEP_STEPS: u32 = 14;

/// nr_events values for nr.sweep: around the num_possible_cpus()*4
/// minimum, the 0x10000000/32/2 overflow limit and the u32 edges.
pub fn sweep_values(ncpus_possible: u64) -> Vec<u32> {
    let q = ncpus_possible.max(1).saturating_mul(4);
    let fit = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    vec![
        1,
        fit(q - 1),
        fit(q),
        fit(q.saturating_add(1)),
        4_194_303,
        4_194_304,
        4_194_305,
        8_388_607,
        8_388_608,
        8_388_609,
        2_147_483_647,
        2_147_483_648,
        2_147_483_649,
        4_294_967_295,
    ]
}

/// Sleeping processes the OOM killer prefers to the experiment (adj 900)
/// but not to the step (adj 1000). Needed because a step's ring
/// allocation loop does not stop when the step is OOM-killed: once its mm
/// is reaped the OOM killer moves on to the next victim, which would
/// otherwise be the experiment child, losing the remaining steps.
/// (Not -1000 for the experiment: with nothing killable left the kernel
/// panics, which would lose the whole run.)
struct Ballast {
    pids: Vec<i32>,
}

const BALLAST: usize = 4;
const BALLAST_OOM_ADJ: i32 = 900;

impl Ballast {
    /// Reaps sleepers that were killed and replaces them; returns how many
    /// were lost since the last call.
    fn top_up(&mut self) -> u64 {
        let before = self.pids.len();
        self.pids
            .retain(|&p| matches!(sys::wait_pid(p, true), Ok(None)));
        let lost = (before - self.pids.len()) as u64;
        while self.pids.len() < BALLAST {
            match child::spawn_sleeper(BALLAST_OOM_ADJ) {
                Ok(p) => self.pids.push(p),
                Err(_) => break,
            }
        }
        lost
    }
}

impl Drop for Ballast {
    fn drop(&mut self) {
        for &p in &self.pids {
            let _ = sys::send_signal(p, sys::SIGKILL);
            let _ = sys::wait_pid(p, false);
        }
    }
}

pub fn nr_sweep(env: &Env, sink: &Sink) -> Obj {
    let max = aio_max_nr();
    let snapshot = |steps: &Arr| {
        let mut o = Obj::new();
        o.opt_u64(key::AIO_MAX_NR, max)
            .raw(key::STEPS, &steps.to_json());
        o
    };
    let mut steps = Arr::new();
    let mut ballast = Ballast { pids: Vec::new() };
    ballast.top_up();
    for nr in sweep_values(env.ncpus_possible) {
        // Each step in a grandchild, so an OOM kill costs only that step.
        let out = child::run(Role::Step, env.timeout, |s| {
            s.line(&observed_call(nr, 0).to_json())
        });
        let mut step = with_fate(&out);
        if out.obs == "{}" {
            // The step died before reporting: keep at least what was asked.
            step.u64(key::NR_EVENTS, nr.into());
        }
        step.u64(key::OOM_BALLAST_KILLED, ballast.top_up());
        steps.push_obj(&step);
        sink.line(&snapshot(&steps).to_json());
    }
    snapshot(&steps)
}

pub fn einval_ctx_nonzero(_env: &Env, _sink: &Sink) -> Obj {
    observed_call(NR, 1)
}

pub fn einval_nr_zero(_env: &Env, _sink: &Sink) -> Obj {
    observed_call(0, 0)
}

/// io_setup with *ctxp still holding a live context's handle.
pub fn einval_ctx_existing(_env: &Env, _sink: &Sink) -> Obj {
    let mut o = Obj::new();
    let nr = cell_nr();
    let a = aio::setup(nr, 0);
    o.obj(key::FIRST, &a.to_obj());
    if !a.ok() {
        o.null(key::SECOND)
            .str(key::SKIPPED, "first io_setup failed");
        return o;
    }
    o.opt_u64(key::AIO_NR_BEFORE, aio_nr());
    let b = aio::setup(nr, a.handle);
    o.obj(key::SECOND, &b.to_obj())
        .opt_u64(key::AIO_NR_AFTER, aio_nr());
    if b.ok() && b.handle != a.handle {
        // Unexpected: a second context was created; release it too.
        o.obj(
            key::SECOND_DESTROY,
            &aio::sysret_obj(sys::io_destroy(b.handle)),
        );
    }
    o.obj(
        key::FIRST_DESTROY,
        &aio::sysret_obj(sys::io_destroy(a.handle)),
    )
    .opt_u64(key::AIO_NR_AFTER_DESTROY, aio_nr());
    o
}

/// ret/errno of io_setup(NR, ptr) for a pointer the kernel must reject.
fn call_at(nr: u32, ptr: *mut sys::AioContext) -> sys::SysRet {
    // SAFETY: callers pass null, an unmapped or a read-only address: the
    // kernel can only fault on it, never modify memory Rust uses.
    unsafe { sys::io_setup(nr, ptr) }
}

fn put_bad_pointer_call(o: &mut Obj, nr: u32, r: sys::SysRet) {
    o.u64(key::NR_EVENTS, nr.into());
    obs::SysRet::from(r).put(o);
}

pub fn efault_null(_env: &Env, _sink: &Sink) -> Obj {
    let mut o = Obj::new();
    let nr = cell_nr();
    let before = aio_nr();
    let r = call_at(nr, std::ptr::null_mut());
    put_bad_pointer_call(&mut o, nr, r);
    o.opt_u64(key::AIO_NR_BEFORE, before)
        .opt_u64(key::AIO_NR_AFTER, aio_nr());
    o
}

pub fn efault_unmapped(env: &Env, _sink: &Sink) -> Obj {
    // Read first: nothing may allocate between munmap and the call, or the
    // allocator could map something at that address again.
    let nr = cell_nr();
    let before = aio_nr();
    let page = match sys::mmap_anon(env.page_size, sys::PROT_READ | sys::PROT_WRITE) {
        Ok(p) => p,
        Err(e) => return skipped(&format!("mmap failed: errno {e}")),
    };
    // SAFETY: the page is ours and nothing references it.
    if let Err(e) = unsafe { sys::unmap(page, env.page_size) } {
        return skipped(&format!("munmap failed: errno {e}"));
    }
    let r = call_at(nr, page as *mut sys::AioContext);
    let mut o = Obj::new();
    put_bad_pointer_call(&mut o, nr, r);
    o.u64(key::ADDR, page as usize as u64)
        .opt_u64(key::AIO_NR_BEFORE, before)
        .opt_u64(key::AIO_NR_AFTER, aio_nr());
    o
}

/// *ctxp reads as 0 but cannot be written: the context is created and then
/// the put_user of the handle fails, so the kernel has to tear it down.
pub fn efault_readonly(env: &Env, _sink: &Sink) -> Obj {
    let page = match sys::mmap_anon(env.page_size, sys::PROT_READ) {
        Ok(p) => p,
        Err(e) => return skipped(&format!("mmap failed: errno {e}")),
    };
    let nr = cell_nr();
    let maps_before = aio::aio_maps_count();
    let before = aio_nr();
    let r = call_at(nr, page as *mut sys::AioContext);
    // SAFETY: the page is mapped readable until the unmap below.
    let value = sys::ctx_value(unsafe { std::ptr::read_volatile(page as *const sys::AioContext) });
    let after = aio_nr();
    let maps_after = aio::aio_maps_count();
    // SAFETY: nothing references the page any more.
    let _ = unsafe { sys::unmap(page, env.page_size) };
    let mut o = Obj::new();
    put_bad_pointer_call(&mut o, nr, r);
    o.u64(key::HANDLE, value)
        .opt_u64(key::AIO_NR_BEFORE, before)
        .opt_u64(key::AIO_NR_AFTER, after)
        .u64(key::AIO_MAPS_BEFORE, maps_before)
        .u64(key::AIO_MAPS_AFTER, maps_after);
    o
}

pub fn eagain_exceeds_max(_env: &Env, _sink: &Sink) -> Obj {
    let max = match aio_max_nr() {
        Some(m) => m,
        None => return skipped(skip::NO_AIO_MAX_NR),
    };
    let mut o = Obj::new();
    o.u64(key::AIO_MAX_NR, max);
    let nr = match max.checked_add(1).and_then(|v| u32::try_from(v).ok()) {
        Some(nr) => nr,
        None => {
            o.str(key::SKIPPED, skip::MAX_PLUS_ONE_TOO_BIG);
            return o;
        }
    };
    o.members_of(&observed_call(nr, 0).to_json());
    o
}

/// Hold a small context, then ask for one event more than is left (over)
/// and exactly what is left (exact) of aio-max-nr.
pub fn eagain_boundary(_env: &Env, sink: &Sink) -> Obj {
    let (max, n0) = match (aio_max_nr(), aio_nr()) {
        (Some(m), Some(n)) => (m, n),
        _ => return skipped(skip::NO_AIO_SYSCTLS),
    };
    let mut o = Obj::new();
    o.u64(key::AIO_MAX_NR, max).u64(key::AIO_NR_INITIAL, n0);
    // min(128, M) always fits in u32.
    let hold_nr = max.min(u64::from(NR)) as u32;
    let hold = if hold_nr > 0 {
        let h = aio::setup(hold_nr, 0);
        o.obj(key::HOLD, &h.to_obj());
        Some(h)
    } else {
        o.null(key::HOLD);
        None
    };
    let n1 = aio_nr();
    o.opt_u64(key::AIO_NR_HELD, n1);
    // "exact" may allocate a ring of up to 256 MiB: keep the story so far
    // if that gets this process OOM-killed.
    sink.line(&o.to_json());
    match n1.and_then(|n1| max.checked_sub(n1)) {
        None => {
            o.str(key::SKIPPED, "aio-nr unreadable or above aio-max-nr");
        }
        Some(room) => {
            // "over" also runs when room == 0 (it is then io_setup(1) on a
            // full table, the sharpest boundary there is).
            let over = match room.checked_add(1).and_then(|v| u32::try_from(v).ok()) {
                Some(nr) => observed_call(nr, 0),
                None => skipped(skip::ROOM_PLUS_ONE_TOO_BIG),
            };
            o.obj(key::OVER, &over);
            let exact = match u32::try_from(room) {
                Ok(0) => skipped(skip::NO_ROOM),
                Ok(nr) => observed_call(nr, 0),
                Err(_) => skipped(skip::ROOM_TOO_BIG),
            };
            o.obj(key::EXACT, &exact);
        }
    }
    if let Some(h) = hold.filter(Call::ok) {
        o.obj(
            key::HOLD_DESTROY,
            &aio::sysret_obj(sys::io_destroy(h.handle)),
        );
    }
    o
}

/// RLIMIT_AS at the current VmSize, so the ring mmap cannot fit.
pub fn enomem_rlimit_as(_env: &Env, _sink: &Sink) -> Obj {
    let nr = cell_nr();
    let before = aio_nr();
    let status = crate::files::read_text("/proc/self/status").unwrap_or_default();
    let vm_kb = match parse::kb_field(&status, "VmSize") {
        Some(kb) => kb,
        None => return skipped("VmSize not found in /proc/self/status"),
    };
    let limit = vm_kb.saturating_mul(1024);
    let old = sys::get_rlimit_as().unwrap_or((sys::RLIM_INFINITY, sys::RLIM_INFINITY));
    // From here until the limit is lifted nothing may allocate: growing
    // the heap would fail too (and abort the child).
    let set = sys::set_rlimit_as(limit, sys::RLIM_INFINITY);
    let c = aio::setup(nr, 0);
    let restore = sys::set_rlimit_as(old.0, old.1);
    let mut o = Obj::new();
    c.put(&mut o);
    let errno_of = |r: Result<(), i32>| i64::from(r.err().unwrap_or(0));
    o.u64(key::VM_SIZE_KB, vm_kb)
        .i64(key::SETRLIMIT_ERRNO, errno_of(set))
        .i64(key::RESTORE_ERRNO, errno_of(restore))
        .opt_u64(key::AIO_NR_BEFORE, before)
        .opt_u64(key::AIO_NR_AFTER, aio_nr());
    aio::put_success_details(&mut o, &c);
    o
}

/// A grandchild spins in io_setup(1) (never destroying) and is SIGKILLed
/// after 50 ms: whatever it held must be released, nothing may leak.
pub fn eintr_sigkill(_env: &Env, _sink: &Sink) -> Obj {
    let before = aio_nr();
    let out = child::run(Role::Step, Duration::from_millis(50), |s| {
        // Report progress, so the parent knows contexts were made at all.
        let mut made = 0u64;
        loop {
            if aio::setup(1, 0).ok() {
                made += 1;
                let mut g = Obj::new();
                g.u64(key::SETUPS_OK, made);
                s.line(&g.to_json());
            }
        }
    });
    let mut o = Obj::new();
    o.opt_u64(key::AIO_NR_BEFORE, before)
        .opt_u64(key::AIO_NR_AFTER, aio_nr())
        .str(key::GRANDCHILD_FATE, &out.fate.label())
        .bool(key::KILLED_BY_PARENT, out.timed_out);
    if out.obs == "{}" {
        o.u64(key::SETUPS_OK, 0);
    } else {
        o.members_of(&out.obs);
    }
    o
}

/// A grandchild sets up a context and exits without io_destroy.
pub fn exit_releases(env: &Env, _sink: &Sink) -> Obj {
    let before = aio_nr();
    let nr = cell_nr();
    let out = child::run(Role::Step, env.timeout, |s| {
        let c = aio::setup(nr, 0);
        let mut g = Obj::new();
        g.obj(key::SETUP, &c.to_obj())
            .opt_u64(key::AIO_NR_DURING, aio_nr());
        s.line(&g.to_json());
    });
    let mut o = Obj::new();
    o.opt_u64(key::AIO_NR_BEFORE, before)
        .opt_u64(key::AIO_NR_AFTER_EXIT, aio_nr())
        .str(key::GRANDCHILD_FATE, &out.label());
    if out.obs == "{}" {
        o.null(key::SETUP).null(key::AIO_NR_DURING);
    } else {
        o.members_of(&out.obs);
    }
    o
}

/// Setup, destroy, and check that both aio-nr and the mapping go back.
pub fn side_effect_destroy(_env: &Env, _sink: &Sink) -> Obj {
    let mut o = Obj::new();
    let before = aio_nr();
    let maps_before = aio::aio_maps_count();
    let c = aio::setup(cell_nr(), 0);
    c.put(&mut o);
    o.opt_u64(key::AIO_NR_BEFORE, before)
        .opt_u64(key::AIO_NR_AFTER_SETUP, aio_nr())
        .u64(key::AIO_MAPS_BEFORE, maps_before);
    if !c.ok() {
        o.null(key::RING)
            .null(key::MAPS_LINE)
            .null(&key::ret_of(key::DESTROY))
            .null(&key::errno_of(key::DESTROY))
            .null(key::AIO_NR_AFTER_DESTROY)
            .null(key::MAPS_LINE_AFTER_DESTROY)
            .null(key::AIO_MAPS_AFTER_DESTROY);
        return o;
    }
    let (line, ring) = aio::inspect(c.handle);
    o.opt_obj(key::RING, ring.map(aio::Ring::to_obj).as_ref())
        .opt_str(key::MAPS_LINE, line.as_deref());
    aio::put_sysret(&mut o, key::DESTROY, sys::io_destroy(c.handle));
    o.opt_u64(key::AIO_NR_AFTER_DESTROY, aio_nr())
        .opt_str(
            key::MAPS_LINE_AFTER_DESTROY,
            aio::maps_line(c.handle).as_deref(),
        )
        .u64(key::AIO_MAPS_AFTER_DESTROY, aio::aio_maps_count());
    o
}

const MANY: usize = 600;
/// Contexts destroyed one by one (each io_destroy waits for an RCU grace
/// period); the rest go with the child's exit, where exit_aio() waits once.
const EXPLICIT: usize = 3;

fn distinct(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v.len() as u64
}

/// Many small contexts in one process: the per-mm ioctx table has to grow
/// through every doubling up to 600 entries. A child makes them, so that
/// its exit releases them all at once; the parent checks aio-nr after.
pub fn table_many(env: &Env, _sink: &Sink) -> Obj {
    let before = aio_nr();
    let out = child::run(Role::Step, env.timeout, |s| {
        let mut handles: Vec<u64> = Vec::with_capacity(MANY);
        let mut ids: Vec<u64> = Vec::with_capacity(MANY);
        let mut first_failure = None;
        for _ in 0..MANY {
            let c = aio::setup(1, 0);
            if !c.ok() {
                first_failure = Some(c);
                break;
            }
            handles.push(c.handle);
            if let Some(r) = aio::ring_of_fresh_handle(&c) {
                ids.push(r.id.into());
            }
        }
        let mut o = Obj::new();
        o.u64(key::REQUESTED, MANY as u64)
            .u64(key::CREATED, handles.len() as u64)
            .u64(key::DISTINCT_HANDLES, distinct(&handles))
            .u64(key::DISTINCT_RING_IDS, distinct(&ids))
            .opt_u64(key::AIO_NR_WITH_ALL, aio_nr());
        match first_failure {
            Some(c) => {
                let mut f = Obj::new();
                f.u64(key::INDEX, handles.len() as u64);
                c.ret.put(&mut f);
                o.obj(key::FIRST_FAILURE, &f)
            }
            None => o.null(key::FIRST_FAILURE),
        };
        let mut failures = 0u64;
        let explicit = handles.len().min(EXPLICIT);
        for &h in handles.iter().rev().take(explicit) {
            if sys::io_destroy(h).ret != 0 {
                failures += 1;
            }
        }
        o.u64(key::EXPLICIT_DESTROYS, explicit as u64)
            .u64(key::EXPLICIT_DESTROY_FAILURES, failures)
            .opt_u64(key::AIO_NR_AFTER_EXPLICIT, aio_nr());
        s.line(&o.to_json());
    });
    let mut o = Obj::new();
    o.opt_u64(key::AIO_NR_BEFORE, before)
        .str(key::CHILD_FATE, &out.label())
        .opt_u64(key::AIO_NR_AFTER_EXIT, aio_nr());
    if out.obs != "{}" {
        o.members_of(&out.obs);
    }
    o
}

/// The context after fork: the grandchild's copy of the handle (and of the
/// ring mapping, if fork copied it) versus the parent's.
pub fn fork_child_use(env: &Env, _sink: &Sink) -> Obj {
    let mut o = Obj::new();
    let nr = cell_nr();
    let a = aio::setup(nr, 0);
    o.obj(key::SETUP, &a.to_obj());
    if !a.ok() {
        o.str(key::SKIPPED, "io_setup failed; no handle to share");
        return o;
    }
    let h = a.handle;
    o.opt_u64(key::AIO_NR_AFTER_SETUP, aio_nr());
    let out = child::run(Role::Step, env.timeout, move |s| {
        let line = aio::maps_line(h);
        let d = sys::io_destroy(h);
        let mut g = Obj::new();
        g.bool(key::MAPS_HAS_HANDLE, line.is_some())
            .opt_str(key::MAPS_LINE, line.as_deref());
        aio::put_sysret(&mut g, key::DESTROY, d);
        g.opt_u64(key::AIO_NR_AFTER_DESTROY, aio_nr())
            .opt_str(key::MAPS_LINE_AFTER_DESTROY, aio::maps_line(h).as_deref());
        s.line(&g.to_json());
    });
    o.obj(key::GRANDCHILD, &with_fate(&out))
        .opt_u64(key::AIO_NR_AFTER_GRANDCHILD, aio_nr())
        .opt_str(key::PARENT_MAPS_LINE, aio::maps_line(h).as_deref());
    aio::put_sysret(&mut o, key::PARENT_DESTROY, sys::io_destroy(h));
    o.opt_u64(key::AIO_NR_AFTER_PARENT_DESTROY, aio_nr());
    o.obj(key::THREAD, &thread_use(nr));
    o
}

/// `f`'s result, run in a thread, or None if it did not finish in 10 s.
/// Not joined: glibc's pthread_join waits with the 32-bit time futex call,
/// which a 32-bit build finds ENOSYS (and aborts on) without
/// CONFIG_COMPAT_32BIT_TIME; the thread is left to exit on its own.
fn in_thread(f: impl FnOnce() -> sys::SysRet + Send + 'static) -> Option<sys::SysRet> {
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64};
    use std::sync::Arc;
    let out = Arc::new((AtomicI64::new(0), AtomicI32::new(0), AtomicBool::new(false)));
    let theirs = Arc::clone(&out);
    drop(std::thread::spawn(move || {
        let r = f();
        theirs.0.store(r.ret, Ordering::SeqCst);
        theirs.1.store(r.errno, Ordering::SeqCst);
        theirs.2.store(true, Ordering::SeqCst);
    }));
    let start = std::time::Instant::now();
    while !out.2.load(Ordering::SeqCst) {
        if start.elapsed() > Duration::from_secs(10) {
            return None;
        }
        sys::sleep(Duration::from_millis(1));
    }
    Some(sys::SysRet {
        ret: out.0.load(Ordering::SeqCst),
        errno: out.1.load(Ordering::SeqCst),
    })
}

/// A thread (clone with CLONE_VM: the same mm) destroys a context its
/// process made; the process then finds it gone.
fn thread_use(nr: u32) -> Obj {
    let mut t = Obj::new();
    let before = aio_nr();
    let b = aio::setup(nr, 0);
    t.obj(key::SETUP, &b.to_obj())
        .opt_u64(key::AIO_NR_BEFORE, before);
    if b.ok() {
        let h = b.handle;
        match in_thread(move || sys::io_destroy(h)) {
            Some(d) => aio::put_sysret(&mut t, key::THREAD_DESTROY, d),
            None => {
                t.str(key::THREAD_ERROR, "the thread did not finish in 10 s");
            }
        }
        aio::put_sysret(&mut t, key::AGAIN_DESTROY, sys::io_destroy(h));
    }
    t.opt_u64(key::AIO_NR_AFTER, aio_nr());
    t
}

/// ENOMEM and EAGAIN both apply: RLIMIT_AS leaves no room for the ring
/// and aio_nr + nr_events exceeds aio-max-nr (with nr_events itself within
/// it). Which error the kernel gives is recorded.
pub fn enomem_vs_eagain(_env: &Env, _sink: &Sink) -> Obj {
    let (max, n0) = match (aio_max_nr(), aio_nr()) {
        (Some(m), Some(n)) => (m, n),
        _ => return skipped(skip::NO_AIO_SYSCTLS),
    };
    let hold_nr = max.saturating_sub(n0).min(u64::from(NR)) as u32;
    if hold_nr == 0 {
        return skipped(skip::MAX_REACHED);
    }
    let hold = aio::setup(hold_nr, 0);
    let held = aio_nr();
    let mut o = Obj::new();
    o.obj(key::HOLD, &hold.to_obj());
    // Over the limit by one event, and below D1's 4194304 (EINVAL first).
    let nr = match held.and_then(|h| max.checked_sub(h)).map(|room| room + 1) {
        Some(nr) if nr <= 4_194_304 => nr as u32,
        _ => {
            if hold.ok() {
                let _ = sys::io_destroy(hold.handle);
            }
            o.str(key::SKIPPED, skip::MAX_TOO_LARGE);
            return o;
        }
    };
    let status = crate::files::read_text("/proc/self/status").unwrap_or_default();
    let vm_kb = match parse::kb_field(&status, "VmSize") {
        Some(kb) => kb,
        None => return skipped("VmSize not found in /proc/self/status"),
    };
    let old = sys::get_rlimit_as().unwrap_or((sys::RLIM_INFINITY, sys::RLIM_INFINITY));
    // Nothing may allocate while the limit is set (see enomem_rlimit_as).
    let set = sys::set_rlimit_as(vm_kb.saturating_mul(1024), sys::RLIM_INFINITY);
    let c = aio::setup(nr, 0);
    let _ = sys::set_rlimit_as(old.0, old.1);
    let mut call = c.to_obj();
    call.opt_u64(key::AIO_NR_BEFORE, held)
        .opt_u64(key::AIO_NR_AFTER, aio_nr());
    if c.ok() {
        aio::put_sysret(&mut call, key::DESTROY, sys::io_destroy(c.handle));
    }
    o.i64(key::SETRLIMIT_ERRNO, i64::from(set.err().unwrap_or(0)))
        .obj(key::CALL, &call);
    if hold.ok() {
        aio::put_sysret(&mut o, key::HOLD_DESTROY, sys::io_destroy(hold.handle));
    }
    o
}

static SIGNALS: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_signal(_sig: std::os::raw::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// io_setup(1) in a loop while SIGALRM (caught, non-fatal) arrives every
/// 200 us: the spec says only fatal signals interrupt it.
pub fn signal_nonfatal(env: &Env, _sink: &Sink) -> Obj {
    let out = child::run(Role::Step, env.timeout, |s| {
        sys::set_handler(sys::SIGALRM, count_signal);
        let timer = sys::interval_timer(Duration::from_micros(200));
        let (mut calls, mut eintr, mut other) = (0u64, 0u64, 0u64);
        let start = std::time::Instant::now();
        // Contexts are not destroyed (that waits for RCU): exit frees them.
        while calls < 200 && start.elapsed() < Duration::from_millis(300) {
            let c = aio::setup(1, 0);
            calls += 1;
            match c.ret.errno {
                _ if c.ok() => {}
                4 => eintr += 1,
                11 => {} // aio-max-nr reached
                _ => other += 1,
            }
        }
        let _ = sys::interval_timer(Duration::ZERO);
        let mut g = Obj::new();
        g.u64(key::SIGNALS, SIGNALS.load(Ordering::Relaxed))
            .u64(key::CALLS, calls)
            .u64(key::EINTR, eintr)
            .u64(key::OTHER_ERRORS, other)
            .i64(key::TIMER_ERRNO, i64::from(timer.err().unwrap_or(0)));
        s.line(&g.to_json());
    });
    let mut o = Obj::new();
    o.str(key::GRANDCHILD_FATE, &out.label())
        .raw(key::GRANDCHILD, &out.obs);
    o
}

/// mremap(2) of the ring: growing it (VM_DONTEXPAND), moving it with
/// MREMAP_DONTUNMAP, and moving it whole to a new address, after which
/// the context answers at the new address only.
pub fn ring_mremap(_env: &Env, _sink: &Sink) -> Obj {
    let mut o = Obj::new();
    let c = aio::setup(cell_nr(), 0);
    o.obj(key::SETUP, &c.to_obj());
    if !c.ok() {
        return o;
    }
    let h = c.handle;
    let size = match parse::maps_covering(&crate::files::self_maps(), h) {
        Some(e) => (e.end - e.start) as usize,
        None => {
            o.str(key::ERROR, "no mapping covers the handle");
            return o;
        }
    };
    o.u64(key::RING_BYTES, size as u64);
    let put = |o: &mut Obj, k: &str, r: Result<u64, i32>| {
        let r = match r {
            Ok(_) => obs::SysRet { ret: 0, errno: 0 },
            Err(e) => obs::SysRet {
                ret: -1,
                errno: e.into(),
            },
        };
        o.obj(k, &r.to_obj());
    };
    // SAFETY (all three): nothing in Rust points into the ring mapping.
    let grow = unsafe { sys::remap(h, size, size + 4096, 0, 0) };
    put(&mut o, key::GROW, grow);
    let keep = unsafe {
        sys::remap(
            h,
            size,
            size,
            sys::MREMAP_MAYMOVE | sys::MREMAP_DONTUNMAP,
            0,
        )
    };
    put(&mut o, key::DONTUNMAP, keep);
    let dst = match sys::mmap_anon(size, sys::PROT_READ) {
        Ok(p) => p as usize as u64,
        Err(e) => {
            o.i64(key::RESERVE_ERRNO, e.into());
            return o;
        }
    };
    let moved = unsafe { sys::remap(h, size, size, sys::MREMAP_MAYMOVE | sys::MREMAP_FIXED, dst) };
    put(&mut o, key::MOVE, moved);
    let at = moved.unwrap_or(h);
    o.bool(key::MOVED_TO_REQUESTED, moved == Ok(dst));
    let before = aio_nr();
    aio::put_sysret(&mut o, key::OLD_DESTROY, sys::io_destroy(h));
    aio::put_sysret(&mut o, key::NEW_DESTROY, sys::io_destroy(at));
    o.opt_u64(key::AIO_NR_BEFORE_DESTROY, before)
        .opt_u64(key::AIO_NR_AFTER_DESTROY, aio_nr());
    o
}

/// The kernel's default vm.max_map_count, restored after the experiment.
const DEFAULT_MAX_MAP_COUNT: &str = "65530";
const MAX_MAP_COUNT: &str = "/proc/sys/vm/max_map_count";

pub fn restore_max_map_count() {
    let _ = crate::files::write_str(MAX_MAP_COUNT, DEFAULT_MAX_MAP_COUNT);
}

/// vm.max_map_count one below this process's mappings (do_mmap refuses
/// once map_count > max_map_count): the ring mapping of the very first
/// io_setup(1) cannot be made, so it must fail cleanly, with ENOMEM, even
/// where aio-max-nr leaves room for one context only.
pub fn max_map_count(_env: &Env, _sink: &Sink) -> Obj {
    if aio_max_nr().is_none() {
        return skipped(skip::NO_AIO_MAX_NR_AIO_OFF);
    }
    let maps = crate::files::self_maps().lines().count() as u64;
    let limit = maps.saturating_sub(1);
    const TRIES: usize = 8;
    // Everything that could need a new mapping is allocated up front.
    let mut calls: Vec<(aio::Call, Option<u64>, Option<u64>)> = Vec::with_capacity(TRIES);
    let mut text = String::with_capacity(32);
    text.push_str(&limit.to_string());
    if let Err(e) = crate::files::write_str(MAX_MAP_COUNT, &text) {
        return skipped(&format!("cannot write {MAX_MAP_COUNT}: errno {e}"));
    }
    for _ in 0..TRIES {
        let before = aio_nr();
        let c = aio::setup(1, 0);
        let after = aio_nr();
        calls.push((c, before, after));
        if !c.ok() {
            break;
        }
    }
    restore_max_map_count();
    let mut o = Obj::new();
    o.u64(key::MAPS_AT_START, maps)
        .u64(key::MAX_MAP_COUNT, limit);
    let mut arr = Arr::new();
    for (c, b, a) in &calls {
        let mut x = c.to_obj();
        x.opt_u64(key::AIO_NR_BEFORE, *b)
            .opt_u64(key::AIO_NR_AFTER, *a);
        arr.push_obj(&x);
    }
    // The contexts go with this process's exit.
    o.raw(key::CALLS, &arr.to_json());
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep() {
        let v = sweep_values(2);
        assert_eq!(v.len() as u32, SWEEP_STEPS);
        assert_eq!(&v[..4], &[1, 7, 8, 9]);
        assert_eq!(v[13], u32::MAX);
        // Unknown (0) CPUs is treated as 1.
        assert_eq!(&sweep_values(0)[..4], &[1, 3, 4, 5]);
        // Absurd counts saturate instead of wrapping.
        assert_eq!(
            &sweep_values(u64::MAX)[1..4],
            &[u32::MAX, u32::MAX, u32::MAX]
        );
    }
}
