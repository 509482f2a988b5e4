//! Test fixtures: a stream in which every case passes, per CONFIG_AIO.
//! The mutation test perturbs these; the finding tests edit one field.

use crate::stream::{parse, Experiment, Hello, Stream};
use kmatrix_proto::catalogue::ids;
use kmatrix_proto::obs::key;
use serde_json::{json, Value};

pub const H: u64 = 0x7f00_0000_0000;
pub const MAPS: &str = "7f0000000000-7f0000002000 rw-s 00000000 00:0e 2 /[aio] (deleted)";

fn ring(nr: u64) -> Value {
    json!({key::ID: 0, key::NR: nr, key::HEAD: 0, key::TAIL: 0, key::MAGIC: 0xa10a10a1u32, key::COMPAT_FEATURES: 1, key::INCOMPAT_FEATURES: 0, key::HEADER_LENGTH: 32})
}

/// An observed_call that succeeded (aio-on) or got ENOSYS (aio-off).
fn call(aio: bool, nr: u64, before: u64) -> Value {
    if !aio {
        return failed(false, nr, before, 38);
    }
    json!({key::NR_EVENTS: nr, key::RET: 0, key::ERRNO: 0, key::HANDLE: H, key::AIO_NR_BEFORE: before, key::AIO_NR_AFTER: before + nr,
        key::RING: ring(2 * nr + 2), key::MAPS_LINE: MAPS, key::ret_of(key::DESTROY): 0, key::errno_of(key::DESTROY): 0, key::AIO_NR_AFTER_DESTROY: before})
}

fn failed(aio: bool, nr: u64, before: u64, errno: i64) -> Value {
    let n = |v: u64| if aio { json!(v) } else { Value::Null };
    json!({key::NR_EVENTS: nr, key::RET: -1, key::ERRNO: if aio { errno } else { 38 }, key::HANDLE: 0, key::AIO_NR_BEFORE: n(before), key::AIO_NR_AFTER: n(before),
        key::RING: null, key::MAPS_LINE: null, key::ret_of(key::DESTROY): null, key::errno_of(key::DESTROY): null, key::AIO_NR_AFTER_DESTROY: null})
}

fn with(mut v: Value, extra: Value) -> Value {
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

/// Valid observations, by experiment, for a cell with aio-max-nr 65536,
/// 2 CPUs and 512 MiB.
pub fn good(aio: bool) -> Vec<(&'static str, Value)> {
    let n = |v: u64| if aio { json!(v) } else { Value::Null };
    let enosys = |nr| failed(false, nr, 0, 38);
    let sweep_steps: Vec<Value> = [1u64, 7, 8, 9, 4_194_303, 4_194_304]
        .iter()
        .map(|&nr| {
            let base = if !aio {
                enosys(nr)
            } else if nr <= 65536 {
                call(true, nr, 0)
            } else {
                failed(true, nr, 0, 11)
            };
            with(
                base,
                json!({key::FATE: "exited", key::OOM_BALLAST_KILLED: 0}),
            )
        })
        .collect();
    let fail_nth_steps = if aio {
        json!([
            with(
                failed(true, 128, 0, 12),
                json!({key::K: 1, key::FAIL_NTH_AFTER: 0, key::AIO_MAPS_BEFORE: 0, key::AIO_MAPS_AFTER: 0})
            ),
            with(
                call(true, 128, 0),
                json!({key::K: 2, key::FAIL_NTH_AFTER: 0, key::AIO_MAPS_BEFORE: 0, key::AIO_MAPS_AFTER: 1})
            ),
            with(
                call(true, 128, 0),
                json!({key::K: 3, key::FAIL_NTH_AFTER: 1, key::AIO_MAPS_BEFORE: 0, key::AIO_MAPS_AFTER: 1})
            ),
        ])
    } else {
        json!([])
    };
    let setup = |nr| {
        if aio {
            json!({key::NR_EVENTS: nr, key::RET: 0, key::ERRNO: 0, key::HANDLE: H})
        } else {
            json!({key::NR_EVENTS: nr, key::RET: -1, key::ERRNO: 38, key::HANDLE: 0})
        }
    };
    let mut v = vec![
        (ids::SETUP_BASIC, call(aio, 128, 0)),
        (ids::EXAMPLE_1024, call(aio, 1024, 0)),
        (
            ids::NR_SWEEP,
            json!({key::AIO_MAX_NR: n(65536), key::STEPS: sweep_steps}),
        ),
        (
            ids::EINVAL_CTX_NONZERO,
            with(failed(aio, 128, 0, 22), json!({key::HANDLE: 1})),
        ),
        (
            ids::EINVAL_CTX_EXISTING,
            if aio {
                json!({key::FIRST: setup(128), key::AIO_NR_BEFORE: 128, key::SECOND: {key::NR_EVENTS: 128, key::RET: -1, key::ERRNO: 22, key::HANDLE: H},
                key::AIO_NR_AFTER: 128, key::FIRST_DESTROY: {key::RET: 0, key::ERRNO: 0}, key::AIO_NR_AFTER_DESTROY: 0})
            } else {
                json!({key::FIRST: setup(128), key::SECOND: null, key::SKIPPED: "first io_setup failed"})
            },
        ),
        (ids::EINVAL_NR_ZERO, failed(aio, 0, 0, 22)),
        (ids::EFAULT_NULL, failed(aio, 128, 0, 14)),
        (
            ids::EFAULT_UNMAPPED,
            with(failed(aio, 128, 0, 14), json!({key::ADDR: H})),
        ),
        (
            ids::EFAULT_READONLY,
            with(
                failed(aio, 128, 0, 14),
                json!({key::AIO_MAPS_BEFORE: 0, key::AIO_MAPS_AFTER: 0}),
            ),
        ),
        (
            ids::EAGAIN_EXCEEDS_MAX,
            if aio {
                with(failed(true, 65537, 0, 11), json!({key::AIO_MAX_NR: 65536}))
            } else {
                json!({key::SKIPPED: "fs.aio-max-nr absent"})
            },
        ),
        (
            ids::EAGAIN_BOUNDARY,
            if aio {
                json!({key::AIO_MAX_NR: 65536, key::AIO_NR_INITIAL: 0, key::HOLD: setup(128), key::AIO_NR_HELD: 128,
                key::OVER: failed(true, 65409, 128, 11), key::EXACT: call(true, 65408, 128), key::HOLD_DESTROY: {key::RET: 0, key::ERRNO: 0}})
            } else {
                json!({key::SKIPPED: "fs.aio-max-nr or fs.aio-nr absent"})
            },
        ),
        (
            ids::ENOMEM_RLIMIT_AS,
            with(
                failed(aio, 128, 0, 12),
                json!({key::VM_SIZE_KB: 1000, key::SETRLIMIT_ERRNO: 0, key::RESTORE_ERRNO: 0}),
            ),
        ),
        (
            ids::ENOMEM_VS_EAGAIN,
            json!({key::SETRLIMIT_ERRNO: 0, key::HOLD: setup(128), key::CALL: failed(aio, 65409, 128, 11)}),
        ),
        (
            ids::ENOMEM_FAIL_NTH,
            if aio {
                json!({key::SETUP: {}, key::STEPS: fail_nth_steps, key::STOPPED: "fail-nth not consumed at k=3", key::STOP: "exhausted"})
            } else {
                json!({key::SKIPPED: "no aio"})
            },
        ),
        (
            ids::ENOMEM_FAILSLAB,
            if aio {
                with(
                    failed(true, 128, 0, 12),
                    json!({key::SETUP: {}, key::TIMES_AFTER: "0"}),
                )
            } else {
                json!({key::SKIPPED: "no aio"})
            },
        ),
        (
            ids::EINTR_SIGKILL,
            json!({key::AIO_NR_BEFORE: n(0), key::AIO_NR_AFTER: n(0), key::GRANDCHILD_FATE: "signal:9", key::KILLED_BY_PARENT: true, key::SETUPS_OK: if aio {5} else {0}}),
        ),
        (
            ids::SIGNAL_NONFATAL,
            json!({key::GRANDCHILD_FATE: "exited", key::GRANDCHILD: {key::SIGNALS: if aio {40} else {0}, key::CALLS: 100, key::EINTR: 0, key::OTHER_ERRORS: 0}}),
        ),
        (
            ids::SIDE_EFFECT_EXIT_RELEASES,
            json!({key::AIO_NR_BEFORE: n(0), key::AIO_NR_AFTER_EXIT: n(0), key::GRANDCHILD_FATE: "exited", key::SETUP: setup(128), key::AIO_NR_DURING: n(128)}),
        ),
        (
            ids::SIDE_EFFECT_DESTROY,
            if aio {
                json!({key::NR_EVENTS: 128, key::RET: 0, key::ERRNO: 0, key::HANDLE: H, key::AIO_NR_BEFORE: 0, key::AIO_NR_AFTER_SETUP: 128, key::AIO_MAPS_BEFORE: 0,
                key::RING: ring(258), key::MAPS_LINE: MAPS, key::ret_of(key::DESTROY): 0, key::errno_of(key::DESTROY): 0, key::AIO_NR_AFTER_DESTROY: 0,
                key::MAPS_LINE_AFTER_DESTROY: null, key::AIO_MAPS_AFTER_DESTROY: 0})
            } else {
                failed(false, 128, 0, 38)
            },
        ),
        (
            ids::TABLE_MANY,
            if aio {
                json!({key::REQUESTED: 600, key::CREATED: 600, key::DISTINCT_HANDLES: 600, key::DISTINCT_RING_IDS: 600, key::FIRST_FAILURE: null,
                key::AIO_NR_BEFORE: 0, key::AIO_NR_WITH_ALL: 600, key::EXPLICIT_DESTROYS: 3, key::EXPLICIT_DESTROY_FAILURES: 0,
                key::AIO_NR_AFTER_EXPLICIT: 597, key::CHILD_FATE: "exited", key::AIO_NR_AFTER_EXIT: 0})
            } else {
                json!({key::REQUESTED: 600, key::CREATED: 0, key::DISTINCT_HANDLES: 0, key::DISTINCT_RING_IDS: 0, key::FIRST_FAILURE: {key::INDEX: 0, key::RET: -1, key::ERRNO: 38},
                key::AIO_NR_BEFORE: null, key::AIO_NR_WITH_ALL: null, key::EXPLICIT_DESTROYS: 0, key::EXPLICIT_DESTROY_FAILURES: 0,
                key::AIO_NR_AFTER_EXPLICIT: null, key::CHILD_FATE: "exited", key::AIO_NR_AFTER_EXIT: null})
            },
        ),
        (
            ids::FORK_CHILD_USE,
            if aio {
                json!({key::SETUP: setup(128), key::AIO_NR_AFTER_SETUP: 128,
                key::GRANDCHILD: {key::FATE: "exited", key::MAPS_HAS_HANDLE: true, key::MAPS_LINE: MAPS, key::ret_of(key::DESTROY): -1, key::errno_of(key::DESTROY): 22,
                    key::AIO_NR_AFTER_DESTROY: 128, key::MAPS_LINE_AFTER_DESTROY: MAPS},
                key::AIO_NR_AFTER_GRANDCHILD: 128, key::PARENT_MAPS_LINE: MAPS, key::ret_of(key::PARENT_DESTROY): 0, key::errno_of(key::PARENT_DESTROY): 0,
                key::AIO_NR_AFTER_PARENT_DESTROY: 0,
                key::THREAD: {key::SETUP: setup(128), key::AIO_NR_BEFORE: 0, key::ret_of(key::THREAD_DESTROY): 0, key::errno_of(key::THREAD_DESTROY): 0,
                    key::ret_of(key::AGAIN_DESTROY): -1, key::errno_of(key::AGAIN_DESTROY): 22, key::AIO_NR_AFTER: 0}})
            } else {
                json!({key::SETUP: setup(128), key::SKIPPED: "io_setup failed; no handle to share"})
            },
        ),
        (
            ids::RING_MREMAP,
            if aio {
                json!({key::SETUP: setup(128), key::RING_BYTES: 8192, key::GROW: {key::RET: -1, key::ERRNO: 14}, key::DONTUNMAP: {key::RET: -1, key::ERRNO: 22},
                key::MOVE: {key::RET: 0, key::ERRNO: 0}, key::MOVED_TO_REQUESTED: true, key::ret_of(key::OLD_DESTROY): -1, key::errno_of(key::OLD_DESTROY): 22,
                key::ret_of(key::NEW_DESTROY): 0, key::errno_of(key::NEW_DESTROY): 0, key::AIO_NR_BEFORE_DESTROY: 128, key::AIO_NR_AFTER_DESTROY: 0})
            } else {
                json!({key::SETUP: setup(128)})
            },
        ),
        (
            ids::LIMIT_MAX_MAP_COUNT,
            if aio {
                json!({key::MAPS_AT_START: 20, key::MAX_MAP_COUNT: 22, key::CALLS: [
                with(setup(1), json!({key::AIO_NR_BEFORE: 0, key::AIO_NR_AFTER: 1})),
                with(failed(true, 1, 1, 12), json!({}))]})
            } else {
                json!({key::SKIPPED: "fs.aio-max-nr absent (CONFIG_AIO=n)"})
            },
        ),
    ];
    v.extend(family(aio));
    v
}

/// The rest of the AIO family: real 6.1.192 x86_64 runs (fixtures/).
fn family(aio: bool) -> Vec<(&'static str, Value)> {
    let text: &[u8] = if aio {
        include_bytes!("fixtures/aio-on-x86_64.jsonl")
    } else {
        include_bytes!("fixtures/aio-off-x86_64.jsonl")
    };
    parse(text)
        .experiments
        .into_iter()
        .map(|e| {
            let x =
                kmatrix_proto::catalogue::find(&e.id).expect("fixture experiment in the catalogue");
            (x.id, e.obs)
        })
        .collect()
}

/// io_submit.ioprio as the spec says a CONFIG_BLOCK=y kernel answers it
/// (block/ioprio.c ioprio_check_cap): no recorded kernel has CONFIG_BLOCK.
pub fn ioprio_block_y() -> Value {
    json!({
        key::ret_of(key::SETUP): 0, key::errno_of(key::SETUP): 0,
        key::ret_of(key::RT_ROOT): 1, key::errno_of(key::RT_ROOT): 0,
        key::SETRESUID_RET: 0,
        key::ret_of(key::RT_NOBODY): -1, key::errno_of(key::RT_NOBODY): 1,
        key::ret_of(key::BE_NOBODY): 1, key::errno_of(key::BE_NOBODY): 0,
    })
}

pub fn stream(aio: bool, exps: &[(&str, Value)]) -> Stream {
    let mut s = parse(b"");
    s.hello = Some(Hello {
        arch: "x86_64".into(),
        uname_release: "6.1.192".into(),
        uname_machine: "x86_64".into(),
        ncpus_online: 2,
        ncpus_possible: 2,
        page_size: 4096,
        mem_total_kb: 500_000,
        aio_nr_present: aio,
        aio_max_nr_present: aio,
        aio_max_nr: aio.then_some(65536),
        debugfs: true,
        fail_nth: true,
        mode: "probe".into(),
    });
    for (id, obs) in exps {
        s.experiments.push(Experiment {
            id: id.to_string(),
            fate: "exited".into(),
            obs: obs.clone(),
        });
    }
    s.end = Some(exps.len() as u64);
    s
}

/// The good stream with one experiment's observation replaced.
pub fn good_but(aio: bool, exp: &str, obs: Value) -> Stream {
    let exps: Vec<(&str, Value)> = good(aio)
        .into_iter()
        .map(|(id, v)| {
            if id == exp {
                (id, obs.clone())
            } else {
                (id, v)
            }
        })
        .collect();
    stream(aio, &exps)
}

pub fn obs_of(aio: bool, exp: &str) -> Value {
    good(aio).into_iter().find(|(id, _)| *id == exp).unwrap().1
}

/// The handle a 32-bit probe's setup.basic got, its mapping, and the
/// word after it as guest-init presets it.
pub const H32: u64 = 0xf7f0_0000;
pub const MAPS32: &str = "f7f00000-f7f02000 rw-s 00000000 00:0e 2 /[aio] (deleted)";

/// The abi.compat record of a 32-bit probe that ran.
pub fn ran_32bit() -> Value {
    json!({key::EXEC_ERRNO: null, key::POINTER_BITS: 32, key::ARCH: "x86"})
}

/// setup.basic as a compat cell's 32-bit probe reports it (aio-on).
pub fn setup_basic_32() -> Value {
    let mut o = obs_of(true, ids::SETUP_BASIC);
    o[key::HANDLE] = json!(H32);
    o[key::MAPS_LINE] = json!(MAPS32);
    o[key::CTX_NEXT_WORD] = json!(super::judges::compat::NEXT_WORD_SENTINEL);
    o
}
