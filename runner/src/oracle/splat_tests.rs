use super::*;

/// A clean aio-on boot: markers, an OOM kill (D4, not a report), guest lines.
const CLEAN: &str = "\
[    0.412345] Run /init as init process
kmatrix-guest: results port /dev/vport0p1
[    0.501000] kmatrix: start setup.basic
[    0.512000] kmatrix: end setup.basic exited
kmatrix-guest: setup.basic: exited (0.01 s)
[    0.520000] kmatrix: start nr.sweep
[    1.900000] init invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[    1.900100] CPU: 1 PID: 80 Comm: init Not tainted 6.1.192 #1
[    1.900200] Call Trace:
[    1.900300]  <TASK>
[    1.900400]  dump_stack_lvl+0x45/0x5e
[    1.900500]  dump_header+0x4a/0x1f0
[    1.900600]  </TASK>
[    1.901000] Out of memory: Killed process 80 (init) total-vm:1052kB, anon-rss:4kB
[    2.100000] kmatrix: end nr.sweep exited
";

/// io_setup sleeping under a spinlock (x86_64, DEBUG_ATOMIC_SLEEP).
const MIGHT_SLEEP: &str = "\
[    0.501000] kmatrix: start setup.basic
[    0.505000] BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274
[    0.505100] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 57, name: init
[    0.505200] preempt_count: 1, expected: 0
[    0.505300] 1 lock held by init/57:
[    0.505400]  #0: ffff888003a1c0d8 (&mm->ioctx_lock){+.+.}-{2:2}, at: ioctx_alloc+0x3e5/0x8c0
[    0.505500] CPU: 1 PID: 57 Comm: init Not tainted 6.1.192 #1
[    0.505600] Call Trace:
[    0.505700]  <TASK>
[    0.505800]  dump_stack_lvl+0x45/0x5e
[    0.505900]  __might_resched.cold+0xd6/0x10e
[    0.506000]  ? ioctx_alloc+0x3e5/0x8c0
[    0.506100]  kmem_cache_alloc+0x2a5/0x350
[    0.506200]  ioctx_alloc+0x412/0x8c0
[    0.506300]  __x64_sys_io_setup+0x56/0x140
[    0.506400]  do_syscall_64+0x3a/0x90
[    0.506500]  entry_SYSCALL_64_after_hwframe+0x63/0xcd
[    0.506600] RIP: 0033:0x401234
[    0.506700]  </TASK>
[    0.512000] kmatrix: end setup.basic exited
";

/// One element past ring_folios on io_destroy's path (arm64, KASAN).
const KASAN: &str = "\
[    0.600000] kmatrix: start io_destroy.basic
[    0.610000] ==================================================================
[    0.610100] BUG: KASAN: slab-out-of-bounds in aio_free_ring+0x1e4/0x210
[    0.610200] Read of size 8 at addr ffff000003b2e840 by task init/61
[    0.610300]
[    0.610400] CPU: 0 PID: 61 Comm: init Not tainted 6.1.192 #1
[    0.610500] Hardware name: linux,dummy-virt (DT)
[    0.610600] Call trace:
[    0.610700]  dump_backtrace+0xe4/0x140
[    0.610800]  show_stack+0x20/0x30
[    0.610900]  print_report+0x1b4/0x4d0
[    0.611000]  kasan_report+0xa8/0xf0
[    0.611100]  aio_free_ring+0x1e4/0x210
[    0.611200]  free_ioctx+0x58/0x90
[    0.611300]  __arm64_sys_io_destroy+0x98/0x1a0
[    0.611400]
[    0.611500] Allocated by task 61:
[    0.611600]  kasan_save_stack+0x2c/0x60
[    0.611700]  __kmalloc+0x84/0x150
[    0.611800] ==================================================================
[    0.620000] kmatrix: end io_destroy.basic exited
";

/// Lockdep's report of two AIO locks taken in the wrong order.
const LOCKDEP: &str = "\
[    0.700000] kmatrix: start io_submit.basic
[    0.710000] ======================================================
[    0.710100] WARNING: possible circular locking dependency detected
[    0.710200] 6.1.192 #1 Not tainted
[    0.710300] ------------------------------------------------------
[    0.710400] init/70 is trying to acquire lock:
[    0.710500] ffff888003a1c0d8 (&ctx->ring_lock){+.+.}-{3:3}, at: aio_read_events+0x4e/0x3a0
[    0.710600]
[    0.710700] -> #1 (&ctx->completion_lock){....}-{2:2}:
[    0.710800]        _raw_spin_lock_irqsave+0x3d/0x60
[    0.710900]        aio_complete+0x3c/0x220
[    0.711000] stack backtrace:
[    0.711100] CPU: 1 PID: 70 Comm: init Not tainted 6.1.192 #1
[    0.711200] Call Trace:
[    0.711300]  <TASK>
[    0.711400]  dump_stack_lvl+0x5b/0x77
[    0.711500]  check_noncircular+0x10d/0x130
[    0.711600]  __lock_acquire+0x13a0/0x2220
[    0.711700]  lock_acquire+0xc2/0x2c0
[    0.711800]  __mutex_lock+0x8c/0x8e0
[    0.711900]  aio_read_events+0x4e/0x3a0
[    0.712000]  </TASK>
[    0.720000] kmatrix: end io_submit.basic exited
";

/// DEBUG_LIST's report: the message first, then the WARNING it comes in.
const LIST: &str = "\
[    0.800000] kmatrix: start table.many
[    0.800100] ------------[ cut here ]------------
[    0.800200] list_add corruption. next->prev should be prev (ffff888003a1c0d8), but was 0000000000000000. (next=ffff888003b2e840).
[    0.800300] WARNING: CPU: 1 PID: 80 at lib/list_debug.c:30 __list_add_valid+0x65/0x90
[    0.800400] Modules linked in:
[    0.800500] Call Trace:
[    0.800600]  <TASK>
[    0.800700]  ioctx_add_table+0x1b2/0x2a0
[    0.800800]  __x64_sys_io_setup+0x56/0x140
[    0.800900]  </TASK>
[    0.801000] ---[ end trace 0000000000000000 ]---
[    0.810000] kmatrix: end table.many exited
";

fn none(_: &str, _: &Splat) -> Option<String> {
    None
}

fn case(id: &str, exp: &str, v: Verdict) -> Case {
    Case {
        id: id.into(),
        experiment: exp.into(),
        expected: "OK".into(),
        observed: "OK".into(),
        verdict: v,
        detail: String::new(),
    }
}

fn judged(text: &str, base: Vec<Case>) -> Vec<Case> {
    let con = parse(text);
    let ran: Vec<String> = con.marked.iter().map(|m| m.0.clone()).collect();
    let mut cases = base;
    apply(&mut cases, Some(&con), &ran, &none);
    cases
}

fn get<'a>(cases: &'a [Case], id: &str) -> &'a Case {
    cases
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id}: {cases:#?}"))
}

#[test]
fn a_clean_console_passes_and_an_oom_kill_is_no_report() {
    let con = parse(CLEAN);
    assert!(con.splats.is_empty(), "{:?}", con.splats);
    assert_eq!(
        con.marked,
        vec![
            ("setup.basic".to_string(), true),
            ("nr.sweep".to_string(), true)
        ]
    );
    assert_eq!(con.running, None);
    let cases = judged(
        CLEAN,
        vec![case("return.success", "setup.basic", Verdict::Pass)],
    );
    for id in [
        "kernel.splat/boot",
        "kernel.splat/setup.basic",
        "kernel.splat/nr.sweep",
    ] {
        assert_eq!(get(&cases, id).verdict, Verdict::Pass);
    }
    assert_eq!(get(&cases, "return.success").verdict, Verdict::Pass);
}

#[test]
fn might_sleep_in_an_experiment_fails_it_with_first_line_and_trace() {
    let base = vec![
        case("return.success", "setup.basic", Verdict::Pass),
        case(
            "param.nr_events.range/4194305",
            "setup.basic",
            Verdict::KnownDeviation,
        ),
        case("error.EINVAL.nr-zero", "einval.nr-zero", Verdict::Pass),
    ];
    let cases = judged(MIGHT_SLEEP, base);
    let s = get(&cases, "kernel.splat/setup.basic");
    assert_eq!(s.verdict, Verdict::Fail);
    assert!(
        s.observed
            .starts_with("BUG: sleeping function called from invalid context"),
        "{s:?}"
    );
    assert!(s.detail.contains("might-sleep report"), "{}", s.detail);
    assert!(
        s.detail.contains("dump_stack_lvl+0x45/0x5e < __might_resched.cold+0xd6/0x10e < kmem_cache_alloc+0x2a5/0x350 < ioctx_alloc+0x412/0x8c0 < __x64_sys_io_setup"),
        "{}",
        s.detail
    );
    // The experiment's cases fail, a known deviation included.
    for id in ["return.success", "param.nr_events.range/4194305"] {
        let c = get(&cases, id);
        assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
        assert!(
            c.detail.contains("kernel report during setup.basic"),
            "{c:?}"
        );
    }
    // Another experiment's are untouched, and the boot is clean.
    assert_eq!(get(&cases, "error.EINVAL.nr-zero").verdict, Verdict::Pass);
    assert_eq!(get(&cases, "kernel.splat/boot").verdict, Verdict::Pass);
}

#[test]
fn kasan_on_arm64_keeps_the_report_trace_not_the_allocation_trace() {
    let con = parse(KASAN);
    assert_eq!(con.splats.len(), 1, "{:?}", con.splats);
    let s = &con.splats[0];
    assert_eq!(s.kind, "KASAN");
    assert_eq!(s.experiment.as_deref(), Some("io_destroy.basic"));
    assert_eq!(
        s.first,
        "BUG: KASAN: slab-out-of-bounds in aio_free_ring+0x1e4/0x210"
    );
    assert!(s.frames.contains(&"aio_free_ring+0x1e4/0x210".to_string()));
    assert!(
        !s.frames.iter().any(|f| f.starts_with("__kmalloc")),
        "{:?}",
        s.frames
    );
    let cases = judged(
        KASAN,
        vec![case("io_destroy.ok", "io_destroy.basic", Verdict::Pass)],
    );
    assert_eq!(get(&cases, "io_destroy.ok").verdict, Verdict::Fail);
    assert_eq!(
        get(&cases, "kernel.splat/io_destroy.basic").verdict,
        Verdict::Fail
    );
}

#[test]
fn lockdep_and_list_corruption_are_one_report_each() {
    let con = parse(LOCKDEP);
    assert_eq!(con.splats.len(), 1, "{:?}", con.splats);
    assert_eq!(con.splats[0].kind, "lockdep");
    assert!(con.splats[0]
        .frames
        .contains(&"aio_read_events+0x4e/0x3a0".to_string()));
    // The dependency chain's frames are not the call trace.
    assert!(!con.splats[0]
        .frames
        .iter()
        .any(|f| f.starts_with("aio_complete")));
    let con = parse(LIST);
    assert_eq!(con.splats.len(), 1, "{:?}", con.splats);
    assert_eq!(con.splats[0].kind, "list-corruption");
    assert!(con.splats[0].first.starts_with("list_add corruption."));
    assert_eq!(con.splats[0].frames[0], "ioctx_add_table+0x1b2/0x2a0");
}

#[test]
fn a_report_outside_every_experiment_fails_the_boot_case() {
    let text = format!(
        "{CLEAN}[    2.200000] WARNING: CPU: 0 PID: 9 at kernel/rcu/tree.c:10 rcu_core+0x1/0x2\n[    2.200100] Call Trace:\n[    2.200200]  rcu_core+0x1/0x2\n"
    );
    let cases = judged(&text, vec![]);
    let b = get(&cases, "kernel.splat/boot");
    assert_eq!(b.verdict, Verdict::Fail);
    assert!(
        b.detail.contains("after experiment nr.sweep ended"),
        "{}",
        b.detail
    );
    assert_eq!(get(&cases, "kernel.splat/nr.sweep").verdict, Verdict::Pass);
}

#[test]
fn a_report_while_an_exec_program_runs_is_the_programs_not_the_boots() {
    let id = kmatrix_proto::catalogue::exec_id(0);
    let text = format!(
        "{CLEAN}[    3.000000] kmatrix: start {id}\n[    3.100000] BUG: sleeping function called from invalid context at mm/slab.h:1\n[    3.100100] Call Trace:\n[    3.100200]  __might_sleep+0x1/0x2\n[    3.200000] kmatrix: end {id}\n"
    );
    let cases = judged(&text, vec![]);
    let p = get(&cases, &format!("kernel.splat/{id}"));
    assert_eq!(p.verdict, Verdict::Fail);
    assert!(p.observed.contains("sleeping function"), "{p:?}");
    assert_eq!(get(&cases, "kernel.splat/boot").verdict, Verdict::Pass);
}

#[test]
fn hangs_stalls_and_kmemleak_are_reports_too() {
    let text = "\
[    1.0] kmatrix: start nr.sweep
[   30.1] INFO: task init:90 blocked for more than 20 seconds.
[   30.2]       Not tainted 6.1.192 #1
[   30.3] Call Trace:
[   30.4]  __schedule+0x1/0x2
[   45.0] rcu: INFO: rcu_sched self-detected stall on CPU
[   46.0] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [init:90]
[   47.0] UBSAN: array-index-out-of-bounds in fs/aio.c:300:20
kmatrix-guest: kmemleak scan
unreferenced object 0xffff888003b4c000 (size 4096):
  comm \"init\", pid 61, jiffies 4294893210 (age 8.100s)
  backtrace:
    [<ffffffff812a3b4e>] __kmalloc+0x4e/0x130
    [<ffffffff8133c123>] ioctx_alloc+0x1a3/0x8c0
";
    let con = parse(text);
    let kinds: Vec<&str> = con.splats.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        ["hung-task", "rcu-stall", "BUG", "UBSAN", "kmemleak"]
    );
    assert_eq!(con.running.as_deref(), Some("nr.sweep"));
    assert_eq!(
        con.splats[4].frames,
        ["__kmalloc+0x4e/0x130", "ioctx_alloc+0x1a3/0x8c0"]
    );
}

#[test]
fn an_experiment_without_its_marker_is_an_error_and_no_console_is_an_error() {
    let con = parse(CLEAN);
    let mut cases = vec![];
    apply(&mut cases, Some(&con), &["table.many".to_string()], &none);
    let c = get(&cases, "kernel.splat/table.many");
    assert_eq!(c.verdict, Verdict::Error);
    assert!(
        c.detail.contains("kmatrix: start table.many"),
        "{}",
        c.detail
    );
    let mut cases = vec![];
    apply(&mut cases, None, &[], &none);
    assert_eq!(get(&cases, "kernel.splat/boot").verdict, Verdict::Error);
}

#[test]
fn a_known_deviation_accepts_only_a_report_it_names() {
    let accept = |id: &str, s: &Splat| {
        (id == "kernel.splat/setup.basic" && s.first.contains("sleeping function"))
            .then(|| "known D9: named".to_string())
    };
    let con = parse(MIGHT_SLEEP);
    let mut cases = vec![];
    apply(&mut cases, Some(&con), &[], &accept);
    assert_eq!(
        get(&cases, "kernel.splat/setup.basic").verdict,
        Verdict::KnownDeviation
    );
    let con = parse(&MIGHT_SLEEP.replace("setup.basic", "example.1024"));
    let mut cases = vec![];
    apply(&mut cases, Some(&con), &[], &accept);
    assert_eq!(
        get(&cases, "kernel.splat/example.1024").verdict,
        Verdict::Fail
    );
}

#[test]
fn kmemleak_counts_only_objects_allocated_through_aio() {
    let leak = |frame: &str| {
        format!(
            "[    9.0] kmatrix: start kmemleak\n[    9.1] unreferenced object 0xffff888003b4c000 (size 64):\n[    9.1]   comm \"init\", pid 1, jiffies 4294893210 (age 8.100s)\n[    9.1]   backtrace:\n[    9.1]     [<ffffffff812a3b4e>] __kmalloc+0x4e/0x130\n[    9.1]     [<ffffffff8133c123>] {frame}\n[    9.2] kmatrix: end kmemleak\n"
        )
    };
    let boot_noise = judged(&leak("kobject_set_name_vargs+0x1a/0x90"), vec![]);
    assert_eq!(
        get(&boot_noise, "kernel.splat/kmemleak").verdict,
        Verdict::Pass
    );
    let ours = judged(&leak("ioctx_alloc+0x1a3/0x8c0"), vec![]);
    let c = get(&ours, "kernel.splat/kmemleak");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(c.detail.contains("ioctx_alloc+0x1a3/0x8c0"), "{}", c.detail);
}

#[test]
fn a_hang_names_the_running_experiment_and_the_last_lines() {
    let text = format!("{CLEAN}[    2.2] kmatrix: start table.many\n[    9.9] rcu: INFO: rcu_sched self-detected stall on CPU\n");
    let n = hang_note(Some(&text), 2);
    assert!(n.starts_with("experiment table.many was running"), "{n}");
    assert!(n.contains("self-detected stall"), "{n}");
    assert!(hang_note(Some(CLEAN), 2).contains("the last to end was nr.sweep"));
    assert!(hang_note(Some(""), 2).contains("no experiment had started"));
    assert!(hang_note(None, 2).contains("no console log"));
}

#[test]
fn a_known_deviations_entry_names_the_report_it_accepts() {
    let k = crate::oracle::known::parse(
        r#"
[[deviation]]
id = "D9"
case = "kernel.splat/setup.basic"
observed = {}
when = { kernel = ["6.1"] }
splat = "sleeping function called from invalid context"
reason = "r"
evidence = "e"
"#,
    )
    .unwrap();
    let cond = |kernel: &str| Conditions {
        arch: "x86_64".into(),
        kernel: Some(kernel.into()),
        aio_max_nr: None,
        mem_mb: 512,
        cpus: 2,
    };
    let first = "BUG: sleeping function called from invalid context at mm/slab.h:1";
    assert!(k[0].accepts_splat("kernel.splat/setup.basic", first, &cond("6.1")));
    assert!(!k[0].accepts_splat("kernel.splat/setup.basic", first, &cond("6.12")));
    assert!(!k[0].accepts_splat("kernel.splat/example.1024", first, &cond("6.1")));
    assert!(!k[0].accepts_splat("kernel.splat/setup.basic", "BUG: KASAN: x", &cond("6.1")));
    // The shipped list names no report: a stock kernel gave none.
    assert!(known_deviations().iter().all(|k| k.splat.is_none()));
}

#[test]
fn an_unfinished_cell_passes_no_splat_case_and_share_mounts_need_no_marker() {
    let cond = Conditions {
        arch: "x86_64".into(),
        kernel: None,
        aio_max_nr: None,
        mem_mb: 512,
        cpus: 2,
    };
    let exp = |id: &str| {
        format!("{{\"v\":1,\"type\":\"experiment\",\"id\":\"{id}\",\"fate\":\"exited\",\"obs\":{{}}}}\n")
    };
    let body = exp("setup.basic") + &exp("share.mount/kmx0");
    // No end record: incomplete.
    let cut = crate::stream::parse(body.as_bytes());
    let mut cases = vec![];
    judge_console(&mut cases, Some(CLEAN), &cut, &cond);
    assert!(
        cases.iter().all(|c| c.verdict == Verdict::Error),
        "{cases:#?}"
    );
    let whole =
        crate::stream::parse(format!("{body}{}\n", kmatrix_proto::record::end_json(2)).as_bytes());
    let mut cases = vec![];
    judge_console(&mut cases, Some(CLEAN), &whole, &cond);
    assert!(
        cases.iter().all(|c| c.verdict == Verdict::Pass),
        "{cases:#?}"
    );
    assert!(!cases.iter().any(|c| c.id.contains("share.mount")));
}
