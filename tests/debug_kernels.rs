//! Debug kernels as evidence: two candidate trees, each one change off
//! Debian 6.1, whose bugs user space cannot see. One allocates with
//! GFP_KERNEL while holding mm->ioctx_lock in io_setup's path (a sleep under
//! a spinlock); the other reads one element past ring_pages in kill_ioctx
//! (io_destroy's path, also io_setup's when it gives a new context up). The plain cell misses each bug; the debug cell fails the
//! experiment that ran into it, with the kernel's report as evidence. Both
//! trees are built in the staging places (one object off the last build).

mod common;
use common::trees::{debian_tree, tree_with_aio};
use common::*;

use serde_json::Value;

/// io_setup's table growth allocates without dropping mm->ioctx_lock.
fn sleep_under_spinlock(aio: &str) -> String {
    aio.replacen(
        "\t\tnew_nr = (table ? table->nr : 1) * 4;\n\t\tspin_unlock(&mm->ioctx_lock);\n\n\t\ttable = kzalloc(struct_size(table, table, new_nr), GFP_KERNEL);\n\t\tif (!table)\n\t\t\treturn -ENOMEM;\n\n\t\ttable->nr = new_nr;\n\n\t\tspin_lock(&mm->ioctx_lock);\n",
        "\t\tnew_nr = (table ? table->nr : 1) * 4;\n\n\t\ttable = kzalloc(struct_size(table, table, new_nr), GFP_KERNEL);\n\t\tif (!table) {\n\t\t\tspin_unlock(&mm->ioctx_lock);\n\t\t\treturn -ENOMEM;\n\t\t}\n\n\t\ttable->nr = new_nr;\n",
        1,
    )
}

/// kill_ioctx (io_destroy, and io_setup's error path) reads
/// ring_pages[nr_pages], one past the end.
fn past_ring_pages(aio: &str) -> String {
    aio.replacen(
        "\tif (ctx->mmap_size)\n\t\tvm_munmap(ctx->mmap_base, ctx->mmap_size);\n",
        "\t(void)READ_ONCE(ctx->ring_pages[ctx->nr_pages]);\n\tif (ctx->mmap_size)\n\t\tvm_munmap(ctx->mmap_base, ctx->mmap_size);\n",
        1,
    )
}

fn splats(cell: &Value) -> Vec<&Value> {
    cell["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("kernel.splat/"))
        .collect()
}

fn run_both(name: &str, edit: fn(&str) -> String) -> (Value, Value) {
    let tree = tree_with_aio(&debian_tree(), name, edit);
    let out = tempfile::tempdir().unwrap();
    let o = kmatrix(&[
        "run",
        "--kernel-src",
        tree.to_str().unwrap(),
        "--arch",
        "x86_64",
        "--config",
        "aio-on",
        "--variant",
        "plain,debug",
        "--format",
        "json",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    let cells = r["cells"].as_array().unwrap();
    let by = |suffix: &str| {
        cells
            .iter()
            .find(|c| c["cell"]["name"].as_str().unwrap().contains(suffix))
            .unwrap_or_else(|| panic!("no {suffix} cell: {err}"))
            .clone()
    };
    let (plain, debug) = (by("/aio-on/"), by("/aio-on+debug/"));
    for c in [&plain, &debug] {
        assert_eq!(
            c["status"], "ok",
            "{}: {} {}",
            c["cell"]["name"], c["status_detail"], c["console_excerpt"]
        );
    }
    (plain, debug)
}

/// The debug cell's failing splat cases; the plain cell has none.
fn check(name: &str, edit: fn(&str) -> String, first: &str) -> String {
    let (plain, debug) = run_both(name, edit);
    let missed: Vec<&Value> = splats(&plain)
        .into_iter()
        .filter(|c| c["verdict"] != "pass")
        .collect();
    assert!(
        missed.is_empty(),
        "the plain kernel reports nothing: {missed:?}"
    );
    let failed: Vec<&Value> = splats(&debug)
        .into_iter()
        .filter(|c| c["verdict"] == "fail")
        .collect();
    assert!(
        !failed.is_empty(),
        "the debug cell must fail: {:?}",
        splats(&debug)
    );
    let s = failed[0];
    assert!(s["observed"].as_str().unwrap().contains(first), "{s}");
    assert!(
        s["detail"].as_str().unwrap().contains("call trace: "),
        "{s}"
    );
    let exp = s["experiment"].as_str().unwrap().to_string();
    assert_ne!(exp, "boot", "attributed to an experiment: {s}");
    // The experiment's own cases fail with the report as evidence.
    let own: Vec<&Value> = (debug["cases"].as_array().unwrap().iter())
        .filter(|c| c["experiment"] == exp.as_str() && c["id"] != s["id"])
        .collect();
    assert!(!own.is_empty(), "{exp} has cases");
    for c in own
        .iter()
        .filter(|c| c["verdict"] != "skip" && c["verdict"] != "error")
    {
        assert_eq!(c["verdict"], "fail", "{c}");
        assert!(
            c["detail"]
                .as_str()
                .unwrap()
                .contains("kernel report during"),
            "{c}"
        );
    }
    exp
}

#[test]
fn a_sleep_under_a_spinlock_fails_io_setup_only_in_the_debug_cell() {
    let exp = check(
        "aio-sleep-under-ioctx-lock",
        sleep_under_spinlock,
        "BUG: sleeping function called from invalid context",
    );
    // Every process's first io_setup grows its table: the first experiment.
    assert_eq!(exp, "setup.basic");
}

#[test]
fn a_read_past_ring_pages_fails_only_in_the_debug_cell() {
    let exp = check(
        "aio-read-past-ring-pages",
        past_ring_pages,
        "BUG: KASAN: slab-out-of-bounds",
    );
    // Seen in eagain.boundary, in io_setup's own kill_ioctx (the report
    // names __x64_sys_io_setup), the first ring_pages array whose end
    // KASAN watches.
    eprintln!("KASAN report during {exp}");
}
