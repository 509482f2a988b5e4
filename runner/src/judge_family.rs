//! Verdicts for the AIO family beyond io_setup's own oracle: the ENOSYS
//! map, the generic cases computed from spec/ (generic.rs), and the
//! hand-written experiments of guest-init/src/family.rs. Case ids start
//! with the syscall they judge (`io_submit.error.EBADF/closed-fd`), so the
//! report groups them and `kmatrix spec` can list them per clause.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{bail, Result};
use serde_json::Value;

use crate::generic::{self, Expect, GenericCase};
use crate::oracle::{Case, CellFacts, Verdict};
use crate::spec::{self, Spec};
use crate::stream::Stream;

/// Syscall numbers by arch, from arch/x86/entry/syscalls/syscall_64.tbl and
/// include/uapi/asm-generic/unistd.h (6.1 and 6.12 agree).
pub const NUMBERS: &[(&str, i64, i64)] = &[
    ("io_setup", 206, 0),
    ("io_destroy", 207, 1),
    ("io_submit", 209, 2),
    ("io_cancel", 210, 3),
    ("io_getevents", 208, 4),
    ("io_pgetevents", 333, 292),
];

/// The io_setup experiments of the original probe (guest-init/src/probe.rs),
/// which predate the `<syscall>.` naming.
const IO_SETUP_PATTERNS: &[&str] = &[
    "setup.*",
    "nr.*",
    "einval.*",
    "efault.*",
    "eagain.*",
    "enomem.*",
    "eintr.*",
    "side-effect.*",
    "table.*",
    "fork.*",
];

/// Hand-written case -> the clauses it checks (kind, name).
pub const HAND: &[(&str, &[(&str, &str)])] = &[
    ("io_destroy.return.success/first", &[("return", "success")]),
    (
        "io_destroy.state-trans.context/second-EINVAL",
        &[("state-trans", "context"), ("error", "EINVAL")],
    ),
    (
        "io_destroy.side-effect.aio_nr",
        &[("side-effect", "aio_nr (global counter)")],
    ),
    (
        "io_destroy.side-effect.vma",
        &[("side-effect", "process virtual memory")],
    ),
    (
        "io_destroy.side-effect.in-flight/polls",
        &[("side-effect", "in-flight requests")],
    ),
    ("io_submit.return.success/rw", &[("return", "success")]),
    (
        "io_submit.side-effect.aio_key",
        &[("side-effect", "iocb->aio_key")],
    ),
    (
        "io_submit.side-effect.completion-ring",
        &[
            ("side-effect", "completion ring"),
            ("state-trans", "request"),
        ],
    ),
    (
        "io_submit.side-effect.file-data",
        &[("side-effect", "file data")],
    ),
    (
        "io_submit.side-effect.eventfd",
        &[("side-effect", "eventfd counter")],
    ),
    (
        "io_submit.constraint.CONFIG_EVENTFD",
        &[
            ("constraint", "CONFIG_EVENTFD for IOCB_FLAG_RESFD"),
            ("error", "ENOSYS"),
        ],
    ),
    ("io_submit.error.EBADF/closed-fd", &[("error", "EBADF")]),
    (
        "io_submit.error.EBADF/read-on-wronly",
        &[("error", "EBADF")],
    ),
    ("io_submit.error.EINVAL/opcode-noop", &[("error", "EINVAL")]),
    ("io_submit.error.EINVAL/reserved2", &[("error", "EINVAL")]),
    (
        "io_submit.error.EFAULT/iocb-unmapped",
        &[("error", "EFAULT")],
    ),
    ("io_submit.error.EAGAIN/slots-full", &[("error", "EAGAIN")]),
    ("io_getevents.return.success/rw", &[("return", "success")]),
    (
        "io_getevents.side-effect.ring-head",
        &[("side-effect", "ring head"), ("state-trans", "ring")],
    ),
    ("io_getevents.param.timeout.zero", &[("param", "timeout")]),
    (
        "io_getevents.param.timeout.expired",
        &[("param", "timeout")],
    ),
    (
        "io_getevents.param.timeout.elapses",
        &[("param", "timeout")],
    ),
    (
        "io_getevents.param.timeout.nsec-unvalidated",
        &[("param", "timeout")],
    ),
    (
        "io_getevents.param.min_nr.semantics",
        &[
            ("param", "min_nr"),
            ("param", "nr"),
            ("state-trans", "ring"),
        ],
    ),
    (
        "io_getevents.error.EINTR/alarm",
        &[("error", "EINTR"), ("signal", "any")],
    ),
    (
        "io_getevents.error.EFAULT/events-copy",
        &[("error", "EFAULT"), ("param", "events")],
    ),
    (
        "io_pgetevents.signal.any/blocked-stays-pending",
        &[("signal", "any")],
    ),
    (
        "io_pgetevents.error.EINTR/unblocked-signal",
        &[("error", "EINTR"), ("signal", "any")],
    ),
    (
        "io_pgetevents.state-trans.signal-mask/restored",
        &[
            ("state-trans", "signal mask"),
            ("side-effect", "signal mask"),
        ],
    ),
    (
        "io_pgetevents.constraint.sigsetsize",
        &[("constraint", "sigsetsize"), ("error", "EINVAL")],
    ),
    (
        "io_pgetevents.error.EFAULT/sigmask-unmapped",
        &[("error", "EFAULT")],
    ),
    ("io_cancel.error.EINVAL/completed", &[("error", "EINVAL")]),
    ("io_cancel.error.EINVAL/foreign-key", &[("error", "EINVAL")]),
    (
        "io_cancel.error.EINPROGRESS/pending-poll",
        &[
            ("error", "EINPROGRESS"),
            ("side-effect", "pending request"),
            ("state-trans", "request"),
            ("return", "success"),
        ],
    ),
    ("io_cancel.param.result.untouched", &[("param", "result")]),
];

/// Clauses no case checks, and why (locks need lockdep; some paths need
/// timing the guest cannot arrange).
pub const UNCHECKED: &[(&str, &str, &str, &str)] = &[
    ("*", "lock", "*", "a lock is not observable from user space (it would take lockdep in the guest kernel)"),
    ("io_destroy", "signal", "any", "needs a request still in flight during io_destroy; tmpfs I/O completes inside io_submit and pending polls are cancelled, not waited for"),
    ("io_pgetevents", "side-effect", "ring head", "the same code as io_getevents (do_io_getevents); judged by io_getevents.side-effect.ring-head"),
];

/// Which experiments `--syscalls` selects, as kmatrix.cases patterns.
pub fn select(cases: Option<String>, syscalls: Option<String>) -> Result<Option<String>> {
    let Some(list) = syscalls else {
        return Ok(cases);
    };
    if cases.is_some() {
        bail!("--cases and --syscalls both select experiments: give one of them");
    }
    let mut pats = vec!["enosys.map".to_string()];
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !NUMBERS.iter().any(|(n, _, _)| *n == s) {
            let known: Vec<&str> = NUMBERS.iter().map(|n| n.0).collect();
            bail!(
                "--syscalls: unknown syscall {s:?} (known: {})",
                known.join(", ")
            );
        }
        if s == "io_setup" {
            pats.extend(IO_SETUP_PATTERNS.iter().map(|p| p.to_string()));
        }
        pats.push(format!("{s}.*"));
    }
    if pats.len() == 1 {
        bail!("--syscalls: empty list");
    }
    Ok(Some(pats.join(",")))
}

/// The io_setup oracle's names plus the ones the family adds. A failed
/// call without an errno is not "OK".
fn errno_name(e: i64) -> String {
    match e {
        0 => "failed with errno 0".into(),
        9 => "EBADF".into(),
        115 => "EINPROGRESS".into(),
        _ => crate::oracle::errno_name(e),
    }
}

fn outcome(v: &Value) -> Result<String, String> {
    let ret = v
        .get("ret")
        .and_then(Value::as_i64)
        .ok_or("observation has no field 'ret'")?;
    if ret >= 0 {
        return Ok("OK".into());
    }
    let e = v
        .get("errno")
        .and_then(Value::as_i64)
        .ok_or("observation has no field 'errno'")?;
    Ok(errno_name(e))
}

/// `<prefix>_ret` / `<prefix>_errno` of an obs as "OK" or an errno name.
fn outcome_of(o: &Value, prefix: &str) -> Result<String, String> {
    let ret = o
        .get(format!("{prefix}_ret"))
        .and_then(Value::as_i64)
        .ok_or(format!("missing field '{prefix}_ret'"))?;
    if ret >= 0 {
        return Ok("OK".into());
    }
    let e = o
        .get(format!("{prefix}_errno"))
        .and_then(Value::as_i64)
        .ok_or(format!("missing field '{prefix}_errno'"))?;
    Ok(errno_name(e))
}

fn num(o: &Value, path: &[&str]) -> Result<i64, String> {
    let mut v = o;
    for k in path {
        v = v
            .get(*k)
            .ok_or_else(|| format!("missing field '{}'", path.join(".")))?;
    }
    v.as_i64()
        .ok_or_else(|| format!("field '{}' is not an integer", path.join(".")))
}

fn ret_of(o: &Value, prefix: &str) -> Result<i64, String> {
    num(o, &[&format!("{prefix}_ret")])
}

/// One check's outcome: Ok((observed, holds)) or Err(what is missing).
type Check = Result<(String, bool), String>;

/// The outcome of the call recorded under `prefix`, and whether it is `want`.
fn outcome_is(o: &Value, prefix: &str, want: &str) -> Check {
    outcome_of(o, prefix).map(|g| {
        let ok = g == want;
        (g, ok)
    })
}

struct J<'a> {
    facts: &'a CellFacts,
    stream: &'a Stream,
    out: Vec<Case>,
}

impl J<'_> {
    fn push(
        &mut self,
        id: &str,
        exp: &str,
        expected: &str,
        observed: String,
        v: Verdict,
        d: String,
    ) {
        self.out.push(Case {
            id: id.into(),
            experiment: exp.into(),
            expected: expected.into(),
            observed,
            verdict: v,
            detail: d,
        });
    }

    /// One check: Ok((observed, holds)) or Err(what is missing).
    fn check(&mut self, id: &str, exp: &str, expected: &str, r: Check) {
        match r {
            Ok((obs, true)) => self.push(id, exp, expected, obs, Verdict::Pass, String::new()),
            Ok((obs, false)) => self.push(id, exp, expected, obs, Verdict::Fail, String::new()),
            Err(why) => self.push(id, exp, expected, "-".into(), Verdict::Error, why),
        }
    }

    /// The obs of a finished experiment, or every id marked skip/error.
    fn obs(&mut self, exp: &str, ids: &[&str]) -> Option<Value> {
        let why = if !self.facts.ran_family(exp) {
            Some((
                Verdict::Skip,
                "experiment not selected (--cases/--syscalls)".to_string(),
            ))
        } else {
            match self.stream.experiment(exp) {
                None => Some((
                    Verdict::Error,
                    format!("experiment {exp} missing from the stream"),
                )),
                Some(e) if e.fate != "exited" => Some((
                    Verdict::Error,
                    format!("experiment {exp} did not finish: {}", e.fate),
                )),
                Some(e) => match e.obs.get("skipped").and_then(Value::as_str) {
                    Some(s) => Some((Verdict::Skip, s.to_string())),
                    None => return Some(e.obs.clone()),
                },
            }
        };
        let (v, d) = why.expect("set above");
        for id in ids {
            self.push(id, exp, "-", "-".into(), v, d.clone());
        }
        None
    }

    /// fs.aio-max-nr as the guest reported it, for reasons.
    fn max_nr(&self) -> String {
        self.stream
            .hello
            .as_ref()
            .and_then(|h| h.aio_max_nr)
            .map_or("?".into(), |m| m.to_string())
    }

    /// Why the context a hand-written experiment or generic case needs is
    /// missing, from its own io_setup result (`prefix`): CONFIG_AIO=n and
    /// ENOSYS, or an fs.aio-max-nr too small (EAGAIN), make a skip that
    /// says so; anything else is an error. None: the context is there.
    fn no_ctx(&self, o: &Value, prefix: &str) -> Option<(Verdict, String)> {
        let got = match outcome_of(o, prefix) {
            Ok(g) => g,
            Err(m) => return Some((Verdict::Error, m)),
        };
        match (self.facts.aio, got.as_str()) {
            (true, "OK") => None,
            (false, "ENOSYS") => Some((
                Verdict::Skip,
                "CONFIG_AIO=n: io_setup is ENOSYS (see <syscall>.constraint.CONFIG_AIO)".into(),
            )),
            (true, "EAGAIN") => Some((
                Verdict::Skip,
                format!(
                    "no context to test with: io_setup EAGAIN under fs.aio-max-nr={}",
                    self.max_nr()
                ),
            )),
            (aio, g) => Some((
                Verdict::Error,
                format!(
                    "io_setup for this experiment gave {g} (CONFIG_AIO={})",
                    if aio { "y" } else { "n" }
                ),
            )),
        }
    }

    /// For a hand-written experiment: true (and every id skipped or
    /// errored with the reason) when its context could not be made.
    fn aio_off(&mut self, exp: &str, o: &Value, ids: &[&str]) -> bool {
        let Some((v, why)) = self.no_ctx(o, "setup") else {
            return false;
        };
        for id in ids {
            self.push(id, exp, "-", "-".into(), v, why.clone());
        }
        true
    }
}

impl CellFacts {
    fn ran_family(&self, exp: &str) -> bool {
        self.selected
            .as_ref()
            .is_none_or(|p| p.iter().any(|p| crate::matrix::glob(p, exp)))
    }
}

/// Every family case for one cell.
pub fn judge(facts: &CellFacts, stream: &Stream) -> Vec<Case> {
    let mut j = J {
        facts,
        stream,
        out: Vec::new(),
    };
    let specs = match spec::builtin() {
        Ok(s) => s,
        Err(e) => {
            j.push(
                "spec.load",
                "-",
                "-",
                "-".into(),
                Verdict::Error,
                e.to_string(),
            );
            return j.out;
        }
    };
    enosys(&mut j);
    for s in &specs {
        generic_cases(&mut j, s);
    }
    destroy_twice(&mut j);
    submit_rw(&mut j);
    submit_resfd(&mut j);
    submit_errors(&mut j);
    getevents_timeouts(&mut j);
    pgetevents_sigmask(&mut j);
    cancel_cases(&mut j);
    // One section per syscall in the table (stable: judge order inside).
    let rank = |id: &str| {
        NUMBERS
            .iter()
            .position(|n| id.starts_with(&format!("{}.", n.0)))
            .unwrap_or(NUMBERS.len())
    };
    j.out.sort_by_key(|c| rank(&c.id));
    j.out
}

fn arch_index(arch: &str) -> Option<usize> {
    match arch {
        "x86_64" => Some(0),
        "aarch64" | "arm64" => Some(1),
        _ => None,
    }
}

/// "io_setup(206)=ENOSYS io_destroy(207)=ENOSYS ..." for the report, from
/// the `<syscall>.constraint.CONFIG_AIO` cases of one cell (outcomes of the
/// all-zero and all-ones calls joined by '/' where they differ).
pub fn enosys_map_line(cases: &[Case]) -> Option<String> {
    let mut parts = Vec::new();
    for (name, _, _) in NUMBERS {
        let id = format!("{name}.constraint.CONFIG_AIO");
        let c = cases.iter().find(|c| c.id == id)?;
        // observed: "nr 206 zeros: ENOSYS, nr 206 ones: ENOSYS"
        let mut nr = "?";
        let mut outs: Vec<&str> = Vec::new();
        for call in c.observed.split(", ") {
            let (head, out) = call.split_once(": ")?;
            nr = head.split(' ').nth(1)?;
            if !outs.contains(&out) {
                outs.push(out);
            }
        }
        parts.push(format!("{name}({nr})={}", outs.join("/")));
    }
    Some(parts.join(" "))
}

fn enosys(j: &mut J) {
    let ids: Vec<String> = NUMBERS
        .iter()
        .map(|(n, _, _)| format!("{n}.constraint.CONFIG_AIO"))
        .collect();
    let idr: Vec<&str> = ids.iter().map(String::as_str).collect();
    let Some(o) = j.obs("enosys.map", &idr) else {
        return;
    };
    let arch = o.get("arch").and_then(Value::as_str).unwrap_or("");
    let want_enosys = !j.facts.aio;
    for (k, (name, x86, arm)) in NUMBERS.iter().enumerate() {
        let id = &ids[k];
        let expected = if want_enosys {
            "ENOSYS for every argument"
        } else {
            "never ENOSYS"
        };
        let r = (|| {
            let calls = o
                .get("calls")
                .and_then(Value::as_array)
                .ok_or("missing field 'calls'")?;
            let mine: Vec<&Value> = calls
                .iter()
                .filter(|c| c.get("syscall").and_then(Value::as_str) == Some(name))
                .collect();
            if mine.is_empty() {
                return Err(format!("no call of {name} in enosys.map"));
            }
            let want_nr = match arch_index(arch) {
                Some(0) => *x86,
                Some(_) => *arm,
                None => return Err(format!("unknown arch {arch:?}")),
            };
            let mut ok = true;
            let mut seen = Vec::new();
            for c in mine {
                let nr = num(c, &["nr"])?;
                let got = outcome(c)?;
                let args = c.get("args").and_then(Value::as_str).unwrap_or("?");
                ok &= nr == want_nr && (got == "ENOSYS") == want_enosys;
                seen.push(format!("nr {nr} {args}: {got}"));
            }
            Ok((seen.join(", "), ok))
        })();
        j.check(id, "enosys.map", expected, r);
    }
}

fn generic_cases(j: &mut J, s: &Spec) {
    let exp = format!("{}.generic", s.syscall);
    let cases: Vec<GenericCase> = match generic::generate(s) {
        Ok(c) => c,
        Err(e) => {
            let id = format!("{}.generic", s.syscall);
            j.push(&id, &exp, "-", "-".into(), Verdict::Error, e.to_string());
            return;
        }
    };
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let Some(o) = j.obs(&exp, &ids) else { return };
    let got: BTreeMap<String, &Value> = o
        .get("cases")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| Some((c.get("id")?.as_str()?.to_string(), c)))
                .collect()
        })
        .unwrap_or_default();
    for c in &cases {
        // CONFIG_AIO=n: every call is ENOSYS, whatever its arguments.
        let expect = if j.facts.aio {
            c.expect.clone()
        } else {
            Expect::Is("ENOSYS".into())
        };
        let expected = match &expect {
            Expect::Is(e) => e.clone(),
            Expect::Not(e) => format!("not {e}"),
        };
        let want = |g: &str| match &expect {
            Expect::Is(e) => g == e,
            Expect::Not(e) => g != e,
        };
        let r = match got.get(&c.id) {
            None => Err(format!(
                "case {} missing from {exp}'s obs (stale guest catalogue?)",
                c.id
            )),
            Some(v) => {
                // On CONFIG_AIO=y a baseline context that could not be
                // made leaves nothing to judge.
                let missing = ["ctx_setup", "dead_setup"]
                    .iter()
                    .filter(|p| j.facts.aio && v.get(format!("{p}_ret")).is_some())
                    .find_map(|p| j.no_ctx(v, p));
                // io_setup's own baseline needs room under fs.aio-max-nr
                // (the kernel charges max(nr, 4 * CPUs) * 2); its limits are
                // the io_setup oracle's (constraint.aio-max-nr.*).
                let tight = j.facts.aio
                    && s.syscall == "io_setup"
                    && !c.id.ends_with(".null")
                    && !c.id.ends_with(".unmapped")
                    && j.stream
                        .hello
                        .as_ref()
                        .and_then(|h| h.aio_max_nr)
                        .is_some_and(|m| m < 1024);
                if let Some((verdict, why)) = missing {
                    j.push(&c.id, &exp, &expected, "-".into(), verdict, why);
                    continue;
                }
                if tight {
                    let why = format!(
                        "fs.aio-max-nr={} leaves no room for the baseline io_setup",
                        j.max_nr()
                    );
                    j.push(&c.id, &exp, &expected, "-".into(), Verdict::Skip, why);
                    continue;
                }
                {
                    outcome(v).map(|g| {
                        let ok = want(&g);
                        (g, ok)
                    })
                }
            }
        };
        j.check(&c.id, &exp, &expected, r);
    }
}

fn destroy_twice(j: &mut J) {
    let exp = "io_destroy.twice";
    let ids = [
        "io_destroy.return.success/first",
        "io_destroy.state-trans.context/second-EINVAL",
        "io_destroy.side-effect.aio_nr",
        "io_destroy.side-effect.vma",
    ];
    let Some(o) = j.obs(exp, &ids) else { return };
    if j.aio_off(exp, &o, &ids) {
        return;
    }
    let r = outcome_is(&o, "first", "OK");
    j.check(ids[0], exp, "OK", r);
    let r = outcome_is(&o, "second", "EINVAL");
    j.check(ids[1], exp, "EINVAL", r);
    let r = (|| {
        let b = num(&o, &["aio_nr_before"])?;
        let l = num(&o, &["aio_nr_live"])?;
        let a = num(&o, &["aio_nr_after"])?;
        Ok((format!("aio-nr {b} -> {l} -> {a}"), a == b && l > b))
    })();
    j.check(
        ids[2],
        exp,
        "aio-nr rises, then back to its value before",
        r,
    );
    let r = o
        .get("ring_mapped_after")
        .and_then(Value::as_bool)
        .ok_or_else(|| "missing field 'ring_mapped_after'".to_string())
        .map(|m| (format!("ring mapped after destroy: {m}"), !m));
    j.check(ids[3], exp, "ring unmapped", r);
}

fn submit_rw(j: &mut J) {
    let exp = "io_submit.rw";
    let ids = [
        "io_submit.return.success/rw",
        "io_submit.side-effect.aio_key",
        "io_submit.side-effect.completion-ring",
        "io_submit.side-effect.file-data",
        "io_getevents.return.success/rw",
        "io_getevents.side-effect.ring-head",
    ];
    let Some(o) = j.obs(exp, &ids) else { return };
    if j.aio_off(exp, &o, &ids) {
        return;
    }
    let steps = ["write", "read"];
    let each = |f: &dyn Fn(&Value) -> Check| -> Check {
        let mut obs = Vec::new();
        let mut ok = true;
        for s in steps {
            let v = o.get(s).ok_or(format!("missing field '{s}'"))?;
            let (t, good) = f(v)?;
            obs.push(format!("{s}: {t}"));
            ok &= good;
        }
        Ok((obs.join("; "), ok))
    };
    let r = each(&|v| {
        Ok((
            format!("ret {}", ret_of(v, "submit")?),
            ret_of(v, "submit")? == 1,
        ))
    });
    j.check(ids[0], exp, "1 iocb submitted", r);
    let r = each(&|v| {
        let k = num(v, &["key_after"])?;
        Ok((format!("aio_key {k:#x}"), k == 0))
    });
    j.check(ids[1], exp, "aio_key 0 (KIOCB_KEY)", r);
    let nbytes = num(&o, &["nbytes"]);
    let r = each(&|v| {
        let n = nbytes.clone()?;
        let (tb, ta) = (
            num(v, &["ring_before", "tail"])?,
            num(v, &["ring_after_submit", "tail"])?,
        );
        let (d, ob, res, res2) = (
            num(v, &["event", "data"])?,
            num(v, &["event", "obj"])?,
            num(v, &["event", "res"])?,
            num(v, &["event", "res2"])?,
        );
        let ok = ta == tb + 1
            && d == num(v, &["cookie"])?
            && ob == num(v, &["iocb"])?
            && res == n
            && res2 == 0;
        Ok((
            format!(
                "tail {tb}->{ta}, event data {d:#x} res {res} res2 {res2} obj==iocb {}",
                ob == num(v, &["iocb"])?
            ),
            ok,
        ))
    });
    j.check(
        ids[2],
        exp,
        "tail +1 at submit; event {aio_data, iocb, nbytes, 0}",
        r,
    );
    let r = o
        .get("read_back_matches")
        .and_then(Value::as_bool)
        .ok_or_else(|| "missing field 'read_back_matches'".to_string())
        .map(|m| (format!("read back matches: {m}"), m));
    j.check(ids[3], exp, "pread returns what pwrite wrote", r);
    let r = each(&|v| {
        Ok((
            format!("ret {}", ret_of(v, "getevents")?),
            ret_of(v, "getevents")? == 1,
        ))
    });
    j.check(ids[4], exp, "1 event", r);
    let r = each(&|v| {
        let h0 = num(v, &["ring_after_submit", "head"])?;
        let t = num(v, &["ring_after_submit", "tail"])?;
        let h1 = num(v, &["ring_after_get", "head"])?;
        let t1 = num(v, &["ring_after_get", "tail"])?;
        Ok((
            format!("head {h0}->{h1}, tail {t}->{t1}"),
            h1 == h0 + 1 && h1 == t && t1 == t,
        ))
    });
    j.check(
        ids[5],
        exp,
        "head +1 = tail after consuming; tail unchanged",
        r,
    );
}

fn submit_resfd(j: &mut J) {
    let exp = "io_submit.resfd";
    let ids = [
        "io_submit.side-effect.eventfd",
        "io_submit.constraint.CONFIG_EVENTFD",
    ];
    let Some(o) = j.obs(exp, &ids) else { return };
    if j.aio_off(exp, &o, &ids) {
        return;
    }
    let efd = outcome_of(&o, "eventfd");
    match &efd {
        Ok(e) if e == "ENOSYS" => j.push(
            ids[0],
            exp,
            "-",
            "eventfd2 ENOSYS".into(),
            Verdict::Skip,
            "CONFIG_EVENTFD=n in this kernel (eventfd2 returned ENOSYS): no eventfd to notify"
                .into(),
        ),
        Ok(e) if e == "OK" => {
            let r = (|| {
                let s = ret_of(&o, "submit")?;
                let c = num(&o, &["eventfd_count"])?;
                Ok((format!("submit {s}, eventfd count {c}"), s == 1 && c == 1))
            })();
            j.check(ids[0], exp, "submit 1, eventfd count 1", r);
        }
        Ok(e) => j.push(
            ids[0],
            exp,
            "-",
            format!("eventfd2 {e}"),
            Verdict::Error,
            "eventfd2 failed: cannot test".into(),
        ),
        Err(m) => j.push(ids[0], exp, "-", "-".into(), Verdict::Error, m.clone()),
    }
    // With an eventfd available a regular file is refused with EINVAL; with
    // CONFIG_EVENTFD=n (eventfd2 ENOSYS seen above) every resfd is ENOSYS.
    let want = match &efd {
        Ok(e) if e == "ENOSYS" => "ENOSYS",
        _ => "EINVAL",
    };
    let r = outcome_of(&o, "submit_resfd_regular").map(|g| (g.clone(), g == want));
    j.check(ids[1], exp, want, r);
}

fn submit_errors(j: &mut J) {
    let exp = "io_submit.errors";
    let named: &[(&str, &str, &str)] = &[
        ("io_submit.error.EBADF/closed-fd", "closed-fd", "EBADF"),
        (
            "io_submit.error.EBADF/read-on-wronly",
            "read-on-wronly",
            "EBADF",
        ),
        (
            "io_submit.error.EINVAL/opcode-noop",
            "opcode-noop",
            "EINVAL",
        ),
        ("io_submit.error.EINVAL/reserved2", "reserved2", "EINVAL"),
        (
            "io_submit.error.EFAULT/iocb-unmapped",
            "iocb-unmapped",
            "EFAULT",
        ),
    ];
    let mut ids: Vec<&str> = named.iter().map(|n| n.0).collect();
    ids.push("io_submit.error.EAGAIN/slots-full");
    ids.push("io_destroy.side-effect.in-flight/polls");
    let Some(o) = j.obs(exp, &ids) else { return };
    if j.aio_off(exp, &o, &ids) {
        return;
    }
    for (id, call, want) in named {
        let r = o
            .get("calls")
            .and_then(|c| c.get(*call))
            .ok_or(format!("missing field 'calls.{call}'"))
            .and_then(outcome)
            .map(|g| (g.clone(), g == *want));
        j.check(id, exp, want, r);
    }
    let r = (|| {
        let n = ret_of(&o, "polls")?;
        let more = outcome_of(&o, "one_more")?;
        Ok((
            format!("{n} polls pending, then {more}"),
            (1..1024).contains(&n) && more == "EAGAIN",
        ))
    })();
    j.check(
        ids[5],
        exp,
        "fewer than 1024 polls accepted, then EAGAIN",
        r,
    );
    let r = outcome_is(&o, "destroy", "OK");
    j.check(ids[6], exp, "OK (pending polls cancelled)", r);
}

/// Elapsed time in observed text without the exact milliseconds, so that
/// a known deviation matches, and two runs compare equal, run after run.
/// `alarm_ms`: the guest armed a SIGALRM that long after the call began.
fn when(ms: i64, alarm_ms: Option<i64>) -> String {
    match (ms, alarm_ms) {
        (_, Some(a)) if ms >= a * 9 / 10 => "when the guest's alarm fired".to_string(),
        (..=89, _) => "at once".to_string(),
        _ => format!("after {}00 ms", ms / 100),
    }
}

fn getevents_timeouts(j: &mut J) {
    let exp = "io_getevents.timeouts";
    let ids = [
        "io_getevents.param.timeout.zero",
        "io_getevents.param.timeout.expired",
        "io_getevents.param.timeout.elapses",
        "io_getevents.param.timeout.nsec-unvalidated",
        "io_getevents.param.min_nr.semantics",
        "io_getevents.error.EFAULT/events-copy",
        "io_getevents.error.EINTR/alarm",
    ];
    let Some(o) = j.obs(exp, &ids) else { return };
    if j.aio_off(exp, &o, &ids) {
        return;
    }
    let call = |name: &str| -> Result<(i64, String, i64), String> {
        let v = o.get(name).ok_or(format!("missing field '{name}'"))?;
        Ok((num(v, &["ret"])?, outcome(v)?, num(v, &["elapsed_ms"])?))
    };
    // A call the guest ended with an alarm: how long the alarm was is
    // part of the measurement (a missing one is an error, not a guess).
    let alarmed = |name: &str| -> Result<(i64, String, i64, i64), String> {
        let (ret, g, ms) = call(name)?;
        let v = &o[name];
        if let Some(e) = v.get("alarm_errno") {
            return Err(format!(
                "{name}: the guest could not arm its alarm (errno {e})"
            ));
        }
        Ok((ret, g, ms, num(v, &["alarm_ms"])?))
    };
    // Quick: no sleep happened (TCG is slow, so the bound is loose; the
    // 100 ms case shows the difference).
    let r = call("empty_zero_timeout").map(|(ret, g, ms)| {
        (
            format!("{g} ret {ret} {}", when(ms, None)),
            ret == 0 && ms < 90,
        )
    });
    j.check(ids[0], exp, "0 events at once (< 90 ms)", r);
    let r = alarmed("empty_expired_timeout").map(|(ret, g, ms, a)| {
        (
            format!("{g} ret {ret} {}", when(ms, Some(a))),
            ret == 0 && ms < 90,
        )
    });
    j.check(ids[1], exp, "0 events at once (< 90 ms)", r);
    let r = call("empty_100ms").map(|(ret, g, ms)| {
        (
            format!("{g} ret {ret} {}", when(ms, None)),
            ret == 0 && ms >= 90,
        )
    });
    j.check(ids[2], exp, "0 events after >= 100 ms", r);
    let r = call("empty_nsec_unvalidated").map(|(ret, g, _)| (format!("{g} ret {ret}"), ret == 0));
    j.check(ids[3], exp, "0 (tv_nsec not validated)", r);
    let r = (|| {
        let s = ret_of(&o, "submit3")?;
        let (a, _, _) = call("min1_nr2")?;
        let (b, _, ms) = call("min2_nr5_100ms_one_left")?;
        let tail = num(&o, &["ring_after_submit3", "tail"])?;
        let h1 = num(&o, &["min1_nr2", "ring", "head"])?;
        let h2 = num(&o, &["min2_nr5_100ms_one_left", "ring", "head"])?;
        Ok((
            format!("submit {s}; (1,2) -> {a}, head {h1}; (2,5,100ms) -> {b} {}, head {h2}; tail {tail}", when(ms, None)),
            s == 3 && a == 2 && b == 1 && ms >= 90 && h1 == tail - 1 && h2 == tail,
        ))
    })();
    j.check(
        ids[4],
        exp,
        "3 submitted; min 1 nr 2 -> 2; min 2 with 1 left -> 1 after the timeout; head follows",
        r,
    );
    let r = (|| {
        let v = o
            .get("events_unmapped")
            .ok_or("missing field 'events_unmapped'")?;
        let g = outcome(v)?;
        let h = num(v, &["ring", "head"])?;
        let t = num(v, &["ring", "tail"])?;
        Ok((format!("{g}, head {h} tail {t}"), g == "EFAULT" && h != t))
    })();
    j.check(ids[5], exp, "EFAULT, event left in the ring", r);
    let r = alarmed("empty_no_timeout_alarm").map(|(ret, g, ms, a)| {
        (
            format!("{g} ret {ret} {}", when(ms, Some(a))),
            g == "EINTR" && ms >= a * 9 / 10,
        )
    });
    j.check(ids[6], exp, "EINTR when the guest's alarm fires", r);
}

fn pgetevents_sigmask(j: &mut J) {
    let exp = "io_pgetevents.sigmask";
    let ids = [
        "io_pgetevents.signal.any/blocked-stays-pending",
        "io_pgetevents.error.EINTR/unblocked-signal",
        "io_pgetevents.state-trans.signal-mask/restored",
        "io_pgetevents.constraint.sigsetsize",
        "io_pgetevents.error.EFAULT/sigmask-unmapped",
    ];
    let Some(o) = j.obs(exp, &ids) else { return };
    if j.aio_off(exp, &o, &ids) {
        return;
    }
    let call = |name: &str| -> Result<(String, i64, i64, i64), String> {
        let v = o.get(name).ok_or(format!("missing field '{name}'"))?;
        Ok((
            outcome(v)?,
            num(v, &["elapsed_ms"])?,
            num(v, &["handler_runs"])?,
            num(v, &["mask_after"])?,
        ))
    };
    let r = call("mask_keeps_usr1_blocked").map(|(g, ms, h, _)| {
        (
            format!("{g} {}, handler ran {h}x", when(ms, None)),
            g == "OK" && ms >= 90 && h == 0,
        )
    });
    j.check(
        ids[0],
        exp,
        "OK (0 events) after the timeout; handler not run",
        r,
    );
    let r = call("mask_unblocks_usr1").map(|(g, ms, h, _)| {
        (
            format!("{g} {}, handler ran {h}x", when(ms, None)),
            g == "EINTR" && h == 1,
        )
    });
    j.check(ids[1], exp, "EINTR; handler ran once", r);
    let r = (|| {
        let before = num(&o, &["mask_before"])?;
        let mut afters = Vec::new();
        for n in [
            "mask_keeps_usr1_blocked",
            "bad_sigsetsize",
            "mask_unmapped",
            "mask_unblocks_usr1",
        ] {
            afters.push(call(n)?.3);
        }
        Ok((
            format!("mask {before:#x} -> {afters:x?}"),
            afters.iter().all(|a| *a == before),
        ))
    })();
    j.check(ids[2], exp, "caller's mask unchanged after every call", r);
    let r = call("bad_sigsetsize").map(|(g, ..)| (g.clone(), g == "EINVAL"));
    j.check(ids[3], exp, "EINVAL", r);
    let r = call("mask_unmapped").map(|(g, ..)| (g.clone(), g == "EFAULT"));
    j.check(ids[4], exp, "EFAULT", r);
}

fn cancel_cases(j: &mut J) {
    let exp = "io_cancel.cases";
    let ids = [
        "io_cancel.error.EINVAL/completed",
        "io_cancel.error.EINVAL/foreign-key",
        "io_cancel.error.EINPROGRESS/pending-poll",
        "io_cancel.param.result.untouched",
    ];
    let Some(o) = j.obs(exp, &ids) else { return };
    if j.aio_off(exp, &o, &ids) {
        return;
    }
    let r = outcome_is(&o, "cancel_completed", "EINVAL");
    j.check(ids[0], exp, "EINVAL", r);
    let r = outcome_is(&o, "cancel_foreign_key", "EINVAL");
    j.check(ids[1], exp, "EINVAL", r);
    let r = (|| {
        let s = ret_of(&o, "submit_poll")?;
        let c = outcome_of(&o, "cancel_pending_poll")?;
        let g = ret_of(&o, "getevents_after_cancel")?;
        let obj = num(&o, &["cancelled_event", "obj"])?;
        let data = num(&o, &["cancelled_event", "data"])?;
        let res = num(&o, &["cancelled_event", "res"])?;
        let me = num(&o, &["poll_iocb"])?;
        Ok((
            format!(
                "submit {s}, cancel {c}, then {g} event(s): data {data:#x} res {res} obj==iocb {}",
                obj == me
            ),
            s == 1 && c == "EINPROGRESS" && g == 1 && obj == me && data == 0x77 && res == 0,
        ))
    })();
    j.check(
        ids[2],
        exp,
        "EINPROGRESS; the poll's event (res 0) comes through the ring",
        r,
    );
    let r = (|| {
        let mut z = true;
        for k in ["data", "obj", "res", "res2"] {
            z &= num(&o, &["result_untouched", k])? == 0;
        }
        Ok((format!("result all zero: {z}"), z))
    })();
    j.check(ids[3], exp, "result not written", r);
}

/// The case ids that check `clause` of `syscall`: generic ids (from the
/// spec) and hand-written ones (HAND), plus the ENOSYS map.
pub fn cases_for(s: &Spec, kind: &str, name: &str) -> Vec<String> {
    let mut v: Vec<String> = generic::generate(s)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.clause.kind == kind && c.clause.name == name)
        .map(|c| c.id)
        .collect();
    // Errors are also checked by every generic case that expects them.
    if kind == "error" {
        v.extend(
            generic::generate(s)
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c.expect == Expect::Is(name.to_string()))
                .map(|c| c.id),
        );
    }
    let prefix = format!("{}.", s.syscall);
    v.extend(
        HAND.iter()
            .filter(|(id, cl)| {
                id.starts_with(&prefix) && cl.iter().any(|(k, n)| *k == kind && *n == name)
            })
            .map(|(id, _)| id.to_string()),
    );
    // A constraint between params is checked by their range cases.
    if let Some(c) = s
        .constraints
        .iter()
        .filter(|_| kind == "constraint")
        .find(|c| c.name == name)
    {
        let words: Vec<&str> = c
            .expr
            .split(|ch: char| !ch.is_ascii_alphanumeric() && ch != '_')
            .collect();
        v.extend(
            generic::generate(s)
                .unwrap_or_default()
                .into_iter()
                .filter(|g| {
                    g.clause.kind == "param"
                        && words.contains(&g.clause.name.as_str())
                        && g.id.contains(".range/")
                })
                .map(|g| g.id),
        );
    }
    let aio = (kind == "constraint" && name == "CONFIG_AIO required")
        || (kind == "error" && name == "ENOSYS");
    if aio {
        v.push(format!("{}.constraint.CONFIG_AIO", s.syscall));
    }
    v.sort();
    v.dedup();
    v
}

/// Why a clause has no case, if the spec or UNCHECKED says so.
pub fn unchecked_reason(s: &Spec, kind: &str, name: &str) -> Option<String> {
    if kind == "error" {
        if let Some(e) = s.errors.iter().find(|e| e.name == name) {
            if let Some(u) = &e.untestable {
                return Some(u.clone());
            }
        }
    }
    if kind == "param" {
        if let Some((_, _, why)) = generic::RANGES_BY_HAND
            .iter()
            .find(|(sys, p, _)| *sys == s.syscall && *p == name)
        {
            return Some(why.to_string());
        }
    }
    UNCHECKED
        .iter()
        .find(|(sys, k, n, _)| {
            (*sys == "*" || *sys == s.syscall) && *k == kind && (*n == "*" || *n == name)
        })
        .map(|x| x.3.to_string())
}

/// `kmatrix spec [SYSCALL]`: the model and, per clause, its case ids.
pub fn spec_command(syscall: Option<&str>, guest_catalogue: bool) -> Result<String> {
    let specs = spec::builtin()?;
    if guest_catalogue {
        return Ok(generic::guest_catalogue(&generic::generate_all(&specs)?));
    }
    let chosen: Vec<&Spec> = specs
        .iter()
        .filter(|s| syscall.is_none_or(|n| s.syscall == n))
        .collect();
    if chosen.is_empty() {
        let known: Vec<&str> = specs.iter().map(|s| s.syscall.as_str()).collect();
        bail!(
            "no spec for {:?} (known: {})",
            syscall.unwrap_or(""),
            known.join(", ")
        );
    }
    let mut out = String::new();
    for s in chosen {
        let _ = writeln!(out, "== {} - {}", s.syscall, s.summary);
        let _ = writeln!(out, "kernel read: {}", s.kernel_read);
        for p in &s.params {
            let _ = writeln!(
                out,
                "param {}: {:?} {:?} range {:?} mask {:?} base {:?} fault {:?}",
                p.name, p.ty, p.flags, p.range, p.mask, p.base, p.fault
            );
        }
        for e in &s.errors {
            let _ = writeln!(out, "error {}: {}", e.name, e.summary);
        }
        if s.syscall == "io_setup" {
            let _ = writeln!(
                out,
                "(io_setup's clauses are also judged by the io_setup oracle; see tests/spec_coverage.rs)"
            );
        }
        let _ = writeln!(out, "clauses:");
        for c in s.clauses() {
            let ids = cases_for(s, c.kind, &c.name);
            let why = unchecked_reason(s, c.kind, &c.name);
            let tail = match (ids.is_empty(), why) {
                (false, _) => ids.join(", "),
                (true, Some(w)) => format!("no case: {w}"),
                (true, None) => "NO CASE".into(),
            };
            let _ = writeln!(out, "  {} {}: {}", c.kind, c.name, tail);
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
