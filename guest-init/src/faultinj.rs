//! The ENOMEM experiments driven by the kernel's fault injection
//! (CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC, debugfs knobs).
//!
//! Both run in a forked child. The debugfs knobs are global, but they only
//! affect tasks that ask for failures (fail-nth, or make-it-fail with
//! task-filter=Y), so PID 1 is never hit.

use kmatrix_proto::obs::key;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;

use crate::aio;
use crate::child::Sink;
use crate::experiment::Env;
use crate::files::{self, aio_nr};
use crate::json::{Arr, Obj};
use crate::parse;
use crate::sys;
use kmatrix_proto::catalogue::skip;

const DEBUGFS: &str = "/sys/kernel/debug";
const NR: u32 = 128;
const MAX_NTH: u32 = 64;

/// Without these, GFP_KERNEL (sleeping) and highmem/user allocations are
/// exempt, and io_setup's allocations would never be failed.
const FAIL_NTH_SETUP: &[(&str, &str)] = &[
    ("failslab/ignore-gfp-wait", "N"),
    ("fail_page_alloc/ignore-gfp-wait", "N"),
    ("fail_page_alloc/ignore-gfp-highmem", "N"),
    ("fail_page_alloc/min-order", "0"),
];

/// Fail the first fault-injectable slab allocation of make-it-fail tasks,
/// once. probability is written last: it arms the rest.
const FAILSLAB_SETUP: &[(&str, &str)] = &[
    ("failslab/ignore-gfp-wait", "N"),
    ("failslab/task-filter", "Y"),
    ("failslab/space", "0"),
    ("failslab/verbose", "0"),
    ("failslab/interval", "1"),
    ("failslab/times", "1"),
    ("failslab/probability", "100"),
];

fn skipped(reason: &str) -> Obj {
    let mut o = Obj::new();
    o.str(key::SKIPPED, reason);
    o
}

fn result_obj(value: &str, r: Result<(), i32>) -> Obj {
    let mut o = Obj::new();
    o.str(key::VALUE, value)
        .bool(key::OK, r.is_ok())
        .i64(key::ERRNO, r.err().unwrap_or(0).into());
    o
}

/// Writes a debugfs knob and records the result under its relative path.
fn write_knob(record: &mut Obj, rel: &str, value: &str) -> bool {
    let r = files::write_str(&format!("{DEBUGFS}/{rel}"), value);
    record.obj(rel, &result_obj(value, r));
    r.is_ok()
}

/// pwrite at offset 0 to a /proc/<pid> attribute file (they ignore the
/// offset on write, and pread at 0 re-generates the value on read).
fn put(f: &File, value: &[u8]) -> Result<(), i32> {
    f.write_at(value, 0)
        .map(|_| ())
        .map_err(|e| files::errno_of(&e))
}

/// One read(2) from the current offset. debugfs attribute files are
/// non-seekable (pread fails with ESPIPE), so open them fresh and read once.
fn read_once(mut f: &File) -> Option<String> {
    let mut buf = [0u8; 64];
    let n = f.read(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).trim().to_string())
}

fn open_rw(path: &str) -> Result<File, i32> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| files::errno_of(&e))
}

/// enomem.fail-nth: fail the k-th fault-injectable allocation of io_setup
/// for k = 1, 2, ... until the call makes fewer than k of them.
pub fn fail_nth(env: &Env, sink: &Sink) -> Obj {
    if !env.debugfs {
        return skipped(skip::NO_DEBUGFS);
    }
    let path = format!("/proc/self/task/{}/fail-nth", sys::gettid());
    if !files::exists(&path) {
        return skipped(skip::NO_FAIL_NTH);
    }
    let mut setup = Obj::new();
    for (rel, value) in FAIL_NTH_SETUP {
        write_knob(&mut setup, rel, value);
    }
    let f = match open_rw(&path) {
        Ok(f) => f,
        Err(e) => {
            let mut o = skipped(&format!("cannot open {path}: errno {e}"));
            o.obj(key::SETUP, &setup);
            return o;
        }
    };
    // stop: "exhausted" (io_setup made fewer than k allocations: every one
    // was failed once), "limit" (MAX_NTH reached first) or "error".
    let snapshot = |steps: &Arr, stop: Option<(&str, &str)>| {
        let mut o = Obj::new();
        o.obj(key::SETUP, &setup)
            .raw(key::STEPS, &steps.to_json())
            .opt_str(key::STOP, stop.map(|s| s.0))
            .opt_str(key::STOPPED, stop.map(|s| s.1));
        o
    };
    let mut steps = Arr::new();
    let mut stop = "limit";
    let mut stopped = format!("reached the limit of {MAX_NTH} steps");
    let nr = match (files::aio_max_nr(), aio_nr()) {
        (Some(m), Some(n)) => m.saturating_sub(n).clamp(1, u64::from(NR)) as u32,
        _ => NR,
    };
    for k in 1..=MAX_NTH {
        // Everything that allocates happens before arming fail-nth: the
        // kernel counts every fault-injectable allocation of this task.
        let k_text = k.to_string();
        let before = aio_nr();
        let maps_before = aio::aio_maps_count();
        if let Err(e) = put(&f, k_text.as_bytes()) {
            stop = "error";
            stopped = format!("writing {k} to fail-nth failed: errno {e}");
            break;
        }
        let c = aio::setup(nr, 0);
        // Read into a stack buffer and disarm before allocating anything:
        // if io_setup made fewer than k allocations, fail-nth is still armed
        // and would hit our own heap growth instead.
        let mut raw = [0u8; 64];
        let read = f.read_at(&mut raw, 0);
        let _ = put(&f, b"0");
        let left = read
            .ok()
            .map(|n| String::from_utf8_lossy(&raw[..n]).trim().to_string());
        let left_n = left.as_deref().and_then(parse::u64_trim);
        let mut step = Obj::new();
        step.u64(key::K, k.into());
        c.put(&mut step);
        step.opt_u64(key::FAIL_NTH_AFTER, left_n)
            .opt_u64(key::AIO_NR_BEFORE, before)
            .opt_u64(key::AIO_NR_AFTER, aio_nr())
            .u64(key::AIO_MAPS_BEFORE, maps_before)
            .u64(key::AIO_MAPS_AFTER, aio::aio_maps_count());
        // A tolerated failure must still give a working context.
        aio::put_success_details(&mut step, &c);
        steps.push_obj(&step);
        sink.line(&snapshot(&steps, None).to_json());
        match left_n {
            Some(0) => {}
            Some(_) => {
                stop = "exhausted";
                stopped = format!("fail-nth not consumed at k={k}: io_setup made fewer than k injectable allocations");
                break;
            }
            None => {
                stop = "error";
                stopped = format!("fail-nth unreadable after k={k}: {left:?}");
                break;
            }
        }
    }
    snapshot(&steps, Some((stop, &stopped)))
}

/// Undoes the failslab arming (also run by PID 1 after the experiment, in
/// case the child was killed while it was armed).
pub fn disarm_failslab() {
    let _ = files::write_str(&format!("{DEBUGFS}/failslab/probability"), "0");
}

/// enomem.failslab: one io_setup with failslab armed for this task only
/// (task-filter + make-it-fail) and times=1, so exactly the first
/// fault-injectable slab allocation fails.
pub fn failslab(env: &Env, _sink: &Sink) -> Obj {
    if !env.debugfs {
        return skipped(skip::NO_DEBUGFS);
    }
    if !files::exists(&format!("{DEBUGFS}/failslab")) {
        return skipped(skip::NO_FAILSLAB);
    }
    let mif = match open_rw("/proc/self/make-it-fail") {
        Ok(f) => f,
        Err(e) => return skipped(&format!("cannot open /proc/self/make-it-fail: errno {e}")),
    };
    // Opened before arming (opening allocates); read once afterwards.
    let times = File::open(format!("{DEBUGFS}/failslab/times")).ok();
    let mut setup = Obj::new();
    let mut armed = true;
    for (rel, value) in FAILSLAB_SETUP {
        armed &= write_knob(&mut setup, rel, value);
    }
    let mut o = Obj::new();
    o.obj(key::SETUP, &setup);
    if !armed {
        disarm_failslab();
        o.str(key::SKIPPED, "could not configure failslab");
        return o;
    }
    let nr = match (files::aio_max_nr(), aio_nr()) {
        (Some(m), Some(n)) => m.saturating_sub(n).clamp(1, u64::from(NR)) as u32,
        _ => NR,
    };
    let before = aio_nr();
    let on = put(&mif, b"1");
    let c = aio::setup(nr, 0);
    let off = put(&mif, b"0");
    let times_after = times.as_ref().and_then(read_once);
    let mut restore = Obj::new();
    write_knob(&mut restore, "failslab/probability", "0");
    write_knob(&mut restore, "failslab/times", "1");
    o.obj(key::MAKE_IT_FAIL_ON, &result_obj("1", on));
    c.put(&mut o);
    o.obj(key::MAKE_IT_FAIL_OFF, &result_obj("0", off))
        .opt_str(key::TIMES_AFTER, times_after.as_deref())
        .obj(key::RESTORE, &restore)
        .opt_u64(key::AIO_NR_BEFORE, before)
        .opt_u64(key::AIO_NR_AFTER, aio_nr());
    aio::put_success_details(&mut o, &c);
    o
}
