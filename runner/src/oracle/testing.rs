//! Test fixtures: a stream in which every case passes, per CONFIG_AIO.
//! The mutation test perturbs these; the finding tests edit one field.

use crate::stream::{parse, Experiment, Hello, Stream};
use serde_json::{json, Value};

pub const H: u64 = 0x7f00_0000_0000;
pub const MAPS: &str = "7f0000000000-7f0000002000 rw-s 00000000 00:0e 2 /[aio] (deleted)";

fn ring(nr: u64) -> Value {
    json!({"id":0,"nr":nr,"head":0,"tail":0,"magic":0xa10a10a1u32,"compat_features":1,"incompat_features":0,"header_length":32})
}

/// An observed_call that succeeded (aio-on) or got ENOSYS (aio-off).
fn call(aio: bool, nr: u64, before: u64) -> Value {
    if !aio {
        return failed(false, nr, before, 38);
    }
    json!({"nr_events":nr,"ret":0,"errno":0,"handle":H,"aio_nr_before":before,"aio_nr_after":before + nr,
        "ring":ring(2 * nr + 2),"maps_line":MAPS,"destroy_ret":0,"destroy_errno":0,"aio_nr_after_destroy":before})
}

fn failed(aio: bool, nr: u64, before: u64, errno: i64) -> Value {
    let n = |v: u64| if aio { json!(v) } else { Value::Null };
    json!({"nr_events":nr,"ret":-1,"errno":if aio { errno } else { 38 },"handle":0,"aio_nr_before":n(before),"aio_nr_after":n(before),
        "ring":null,"maps_line":null,"destroy_ret":null,"destroy_errno":null,"aio_nr_after_destroy":null})
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
            with(base, json!({"fate":"exited","oom_ballast_killed":0}))
        })
        .collect();
    let fail_nth_steps = if aio {
        json!([
            with(
                failed(true, 128, 0, 12),
                json!({"k":1,"fail_nth_after":0,"aio_maps_before":0,"aio_maps_after":0})
            ),
            with(
                call(true, 128, 0),
                json!({"k":2,"fail_nth_after":0,"aio_maps_before":0,"aio_maps_after":1})
            ),
            with(
                call(true, 128, 0),
                json!({"k":3,"fail_nth_after":1,"aio_maps_before":0,"aio_maps_after":1})
            ),
        ])
    } else {
        json!([])
    };
    let setup = |nr| {
        if aio {
            json!({"nr_events":nr,"ret":0,"errno":0,"handle":H})
        } else {
            json!({"nr_events":nr,"ret":-1,"errno":38,"handle":0})
        }
    };
    let mut v = vec![
        ("setup.basic", call(aio, 128, 0)),
        ("example.1024", call(aio, 1024, 0)),
        (
            "nr.sweep",
            json!({"aio_max_nr":n(65536),"steps":sweep_steps}),
        ),
        (
            "einval.ctx-nonzero",
            with(failed(aio, 128, 0, 22), json!({"handle":1})),
        ),
        (
            "einval.ctx-existing",
            if aio {
                json!({"first":setup(128),"aio_nr_before":128,"second":{"nr_events":128,"ret":-1,"errno":22,"handle":H},
                "aio_nr_after":128,"first_destroy":{"ret":0,"errno":0},"aio_nr_after_destroy":0})
            } else {
                json!({"first":setup(128),"second":null,"skipped":"first io_setup failed"})
            },
        ),
        ("einval.nr-zero", failed(aio, 0, 0, 22)),
        ("efault.null", failed(aio, 128, 0, 14)),
        (
            "efault.unmapped",
            with(failed(aio, 128, 0, 14), json!({"addr":H})),
        ),
        (
            "efault.readonly",
            with(
                failed(aio, 128, 0, 14),
                json!({"aio_maps_before":0,"aio_maps_after":0}),
            ),
        ),
        (
            "eagain.exceeds-max",
            if aio {
                with(failed(true, 65537, 0, 11), json!({"aio_max_nr":65536}))
            } else {
                json!({"skipped":"fs.aio-max-nr absent"})
            },
        ),
        (
            "eagain.boundary",
            if aio {
                json!({"aio_max_nr":65536,"aio_nr_initial":0,"hold":setup(128),"aio_nr_held":128,
                "over":failed(true, 65409, 128, 11),"exact":call(true, 65408, 128),"hold_destroy":{"ret":0,"errno":0}})
            } else {
                json!({"skipped":"fs.aio-max-nr or fs.aio-nr absent"})
            },
        ),
        (
            "enomem.rlimit-as",
            with(
                failed(aio, 128, 0, 12),
                json!({"vm_size_kb":1000,"setrlimit_errno":0,"restore_errno":0}),
            ),
        ),
        (
            "enomem.vs-eagain",
            json!({"setrlimit_errno":0,"hold":setup(128),"call":failed(aio, 65409, 128, 11)}),
        ),
        (
            "enomem.fail-nth",
            if aio {
                json!({"setup":{},"steps":fail_nth_steps,"stopped":"fail-nth not consumed at k=3","stop":"exhausted"})
            } else {
                json!({"skipped":"no aio"})
            },
        ),
        (
            "enomem.failslab",
            if aio {
                with(
                    failed(true, 128, 0, 12),
                    json!({"setup":{},"times_after":"0"}),
                )
            } else {
                json!({"skipped":"no aio"})
            },
        ),
        (
            "eintr.sigkill",
            json!({"aio_nr_before":n(0),"aio_nr_after":n(0),"grandchild_fate":"signal:9","killed_by_parent":true,"setups_ok":if aio {5} else {0}}),
        ),
        (
            "signal.nonfatal",
            json!({"grandchild_fate":"exited","grandchild":{"signals":if aio {40} else {0},"calls":100,"eintr":0,"other_errors":0}}),
        ),
        (
            "side-effect.exit-releases",
            json!({"aio_nr_before":n(0),"aio_nr_after_exit":n(0),"grandchild_fate":"exited","setup":setup(128),"aio_nr_during":n(128)}),
        ),
        (
            "side-effect.destroy",
            if aio {
                json!({"nr_events":128,"ret":0,"errno":0,"handle":H,"aio_nr_before":0,"aio_nr_after_setup":128,"aio_maps_before":0,
                "ring":ring(258),"maps_line":MAPS,"destroy_ret":0,"destroy_errno":0,"aio_nr_after_destroy":0,
                "maps_line_after_destroy":null,"aio_maps_after_destroy":0})
            } else {
                failed(false, 128, 0, 38)
            },
        ),
        (
            "table.many",
            if aio {
                json!({"requested":600,"created":600,"distinct_handles":600,"distinct_ring_ids":600,"first_failure":null,
                "aio_nr_before":0,"aio_nr_with_all":600,"explicit_destroys":3,"explicit_destroy_failures":0,
                "aio_nr_after_explicit":597,"child_fate":"exited","aio_nr_after_exit":0})
            } else {
                json!({"requested":600,"created":0,"distinct_handles":0,"distinct_ring_ids":0,"first_failure":{"index":0,"ret":-1,"errno":38},
                "aio_nr_before":null,"aio_nr_with_all":null,"explicit_destroys":0,"explicit_destroy_failures":0,
                "aio_nr_after_explicit":null,"child_fate":"exited","aio_nr_after_exit":null})
            },
        ),
        (
            "fork.child-use",
            if aio {
                json!({"setup":setup(128),"aio_nr_after_setup":128,
                "grandchild":{"fate":"exited","maps_has_handle":true,"maps_line":MAPS,"destroy_ret":-1,"destroy_errno":22,
                    "aio_nr_after_destroy":128,"maps_line_after_destroy":MAPS},
                "aio_nr_after_grandchild":128,"parent_maps_line":MAPS,"parent_destroy_ret":0,"parent_destroy_errno":0,
                "aio_nr_after_parent_destroy":0,
                "thread":{"setup":setup(128),"aio_nr_before":0,"thread_destroy_ret":0,"thread_destroy_errno":0,
                    "again_destroy_ret":-1,"again_destroy_errno":22,"aio_nr_after":0}})
            } else {
                json!({"setup":setup(128),"skipped":"io_setup failed; no handle to share"})
            },
        ),
        (
            "ring.mremap",
            if aio {
                json!({"setup":setup(128),"ring_bytes":8192,"grow":{"ret":-1,"errno":14},"dontunmap":{"ret":-1,"errno":22},
                "move":{"ret":0,"errno":0},"moved_to_requested":true,"old_destroy_ret":-1,"old_destroy_errno":22,
                "new_destroy_ret":0,"new_destroy_errno":0,"aio_nr_before_destroy":128,"aio_nr_after_destroy":0})
            } else {
                json!({"setup":setup(128)})
            },
        ),
        (
            "limit.max-map-count",
            if aio {
                json!({"maps_at_start":20,"max_map_count":22,"calls":[
                with(setup(1), json!({"aio_nr_before":0,"aio_nr_after":1})),
                with(failed(true, 1, 1, 12), json!({}))]})
            } else {
                json!({"skipped":"fs.aio-max-nr absent (CONFIG_AIO=n)"})
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
        "setup_ret": 0, "setup_errno": 0,
        "rt_root_ret": 1, "rt_root_errno": 0,
        "setresuid_ret": 0,
        "rt_nobody_ret": -1, "rt_nobody_errno": 1,
        "be_nobody_ret": 1, "be_nobody_errno": 0,
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
