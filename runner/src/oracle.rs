//! Layer 5: verdicts. A model of the io_setup KAPI spec
//! (spec/io_setup-kapi-spec.txt): for each case and cell it computes what the
//! spec demands from the cell's parameters, then compares with what the guest
//! observed. The kernel's current behaviour is never the reference.
//!
//! Where the spec is silent or ambiguous the rule chosen is written in
//! `RULES` and shown with the case.

use crate::stream::{Experiment, Stream};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    /// The kernel differs from the spec.
    Fail,
    /// Differs from the spec, but listed in spec/known-deviations.toml.
    KnownDeviation,
    /// Not checkable in this cell; `detail` says why.
    Skip,
    /// The experiment is missing or its child died: no verdict possible.
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Case {
    /// Named after the spec clause, e.g. `error.EINVAL.nr_events-zero`.
    pub id: String,
    pub experiment: String,
    pub expected: String,
    pub observed: String,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// What the oracle knows about a cell.
#[derive(Debug, Clone)]
pub struct CellFacts {
    /// CONFIG_AIO of the kernel under test.
    pub aio: bool,
    /// The --cases patterns the guest ran with (None: every experiment).
    pub selected: Option<Vec<String>>,
}

impl CellFacts {
    pub fn new(aio: bool) -> Self {
        CellFacts {
            aio,
            selected: None,
        }
    }
    fn ran(&self, experiment: &str) -> bool {
        self.selected
            .as_ref()
            .is_none_or(|p| p.iter().any(|p| crate::matrix::glob(p, experiment)))
    }
}

/// Highest nr_events the spec allows: param nr_events, range 1..8388608
/// (0x10000000 / sizeof(struct io_event)).
pub const SPEC_NR_MAX: u64 = 0x1000_0000 / 32;

/// Rules chosen where the spec leaves room; each is cited by the cases it shapes.
pub const RULES: &[(&str, &str)] = &[
    ("R1-order", "nr_events outside 1..8388608 is EINVAL before any EAGAIN check: the param constraint is a range, and EINVAL's text names 'too large' first"),
    ("R2-enomem", "the ring-memory constraint lets any in-range call that would otherwise succeed fail with ENOMEM instead"),
    ("R3-account", "aio_nr grows by exactly nr_events (state-trans 'aio_nr = N + nr_events'), not by the internal doubled capacity"),
    ("R4-fault-inject", "an injected allocation failure must give ENOMEM or, if the kernel tolerates that allocation, success; never another errno, and aio_nr must be unchanged after a failure"),
    ("R5-config", "with CONFIG_AIO=n the syscall returns ENOSYS whatever its arguments, and fs.aio-nr / fs.aio-max-nr do not exist"),
];

pub fn errno_name(e: i64) -> String {
    // asm-generic numbering: the same on x86_64 and arm64.
    let n = match e {
        0 => "OK",
        1 => "EPERM",
        4 => "EINTR",
        11 => "EAGAIN",
        12 => "ENOMEM",
        14 => "EFAULT",
        22 => "EINVAL",
        38 => "ENOSYS",
        _ => return format!("errno {e}"),
    };
    n.to_string()
}

/// "OK" or the errno name of one io_setup call's observation.
fn outcome(call: &Value) -> Option<String> {
    let ret = call.get("ret")?.as_i64()?;
    if ret == 0 {
        Some("OK".into())
    } else {
        Some(errno_name(
            call.get("errno").and_then(Value::as_i64).unwrap_or(-1),
        ))
    }
}

fn u(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

/// What the spec says a single io_setup(nr_events, &ctx) returns, given the
/// global state before it. `ctx_nonzero` and `bad_ptr` are the pointer-side
/// conditions. Returns the acceptable outcomes, first the main one.
pub fn spec_outcome(
    f: &CellFacts,
    nr: u64,
    aio_nr: u64,
    aio_max_nr: u64,
    ctx_nonzero: bool,
    bad_ptr: bool,
) -> Vec<&'static str> {
    if !f.aio {
        return vec!["ENOSYS"]; // R5-config
    }
    // get_user of *ctxp happens before anything else (spec: EFAULT from get_user).
    if bad_ptr {
        return vec!["EFAULT"];
    }
    if ctx_nonzero || nr == 0 || nr > SPEC_NR_MAX {
        return vec!["EINVAL"]; // R1-order
    }
    if nr > aio_max_nr || aio_nr.saturating_add(nr) > aio_max_nr {
        return vec!["EAGAIN"];
    }
    vec!["OK", "ENOMEM"] // R2-enomem
}

struct Checker<'a> {
    facts: &'a CellFacts,
    stream: &'a Stream,
    out: Vec<Case>,
}

impl Checker<'_> {
    fn exp(&self, id: &str) -> Result<&Experiment, String> {
        match self.stream.experiment(id) {
            None => Err(format!("experiment {id} missing from the stream")),
            Some(e) if e.fate != "exited" => {
                Err(format!("experiment {id} did not finish: {}", e.fate))
            }
            Some(e) => Ok(e),
        }
    }

    fn push(
        &mut self,
        id: &str,
        exp: &str,
        expected: String,
        observed: String,
        ok: bool,
        detail: String,
    ) {
        let verdict = if ok { Verdict::Pass } else { Verdict::Fail };
        self.out.push(Case {
            id: id.into(),
            experiment: exp.into(),
            expected,
            observed,
            verdict,
            detail,
        });
    }

    fn skip(&mut self, id: &str, exp: &str, why: &str) {
        self.out.push(Case {
            id: id.into(),
            experiment: exp.into(),
            expected: "-".into(),
            observed: "-".into(),
            verdict: Verdict::Skip,
            detail: why.into(),
        });
    }

    fn error(&mut self, id: &str, exp: &str, why: String) {
        self.out.push(Case {
            id: id.into(),
            experiment: exp.into(),
            expected: "-".into(),
            observed: "-".into(),
            verdict: Verdict::Error,
            detail: why,
        });
    }

    /// One call's errno against the spec, plus extra invariants (name, holds).
    fn call(&mut self, id: &str, exp: &str, call: &Value, want: &[&str], extra: &[(String, bool)]) {
        let got = outcome(call).unwrap_or_else(|| "no result".into());
        let mut ok = want.contains(&got.as_str());
        let mut detail = Vec::new();
        for (what, holds) in extra {
            if !holds {
                ok = false;
                detail.push(format!("violated: {what}"));
            }
        }
        self.push(id, exp, want.join("|"), got, ok, detail.join("; "));
    }

    /// Runs `f` on the experiment, or records why it could not.
    fn with(&mut self, ids: &[&str], exp: &str, f: impl FnOnce(&mut Self, &Value)) {
        if !self.facts.ran(exp) {
            for id in ids {
                self.skip(id, exp, "experiment not selected (--cases)");
            }
            return;
        }
        match self.exp(exp) {
            Ok(e) => {
                let obs = e.obs.clone();
                if let Some(why) = obs.get("skipped").and_then(Value::as_str) {
                    for id in ids {
                        self.skip(id, exp, why);
                    }
                } else {
                    f(self, &obs)
                }
            }
            Err(why) => {
                for id in ids {
                    self.error(id, exp, why.clone());
                }
            }
        }
    }
}

fn max_nr(s: &Stream) -> u64 {
    s.hello.as_ref().and_then(|h| h.aio_max_nr).unwrap_or(0)
}

/// Every case for one cell.
pub fn judge(facts: &CellFacts, stream: &Stream) -> Vec<Case> {
    let mut c = Checker {
        facts,
        stream,
        out: Vec::new(),
    };
    let f = facts.clone();
    let m = max_nr(stream);
    let bn = |o: &Value, k: &str| u(o, k).unwrap_or(0);

    // constraint: CONFIG_AIO required (R5-config)
    if let Some(h) = &stream.hello {
        let present = h.aio_nr_present || h.aio_max_nr_present;
        c.push(
            "constraint.CONFIG_AIO.sysctls",
            "hello",
            if f.aio { "present" } else { "absent" }.into(),
            format!(
                "aio-nr {}, aio-max-nr {}",
                h.aio_nr_present, h.aio_max_nr_present
            ),
            if f.aio {
                h.aio_nr_present && h.aio_max_nr_present
            } else {
                !present
            },
            String::new(),
        );
    } else {
        c.error(
            "constraint.CONFIG_AIO.sysctls",
            "hello",
            "no hello record".into(),
        );
    }

    c.with(
        &[
            "return.success",
            "side-effect.aio-nr",
            "side-effect.vma",
            "notes.handle-is-ring",
            "notes.capacity",
            "side-effect.reversible.io_destroy",
        ],
        "setup.basic",
        |c, o| {
            let before = bn(o, "aio_nr_before");
            let want = spec_outcome(&f, 128, before, m, false, false);
            c.call(
                "return.success",
                "setup.basic",
                o,
                &want,
                &[(
                    "handle != 0 on success".into(),
                    outcome(o).as_deref() != Some("OK") || bn(o, "handle") != 0,
                )],
            );
            if outcome(o).as_deref() != Some("OK") {
                for id in [
                    "side-effect.aio-nr",
                    "side-effect.vma",
                    "notes.handle-is-ring",
                    "notes.capacity",
                    "side-effect.reversible.io_destroy",
                ] {
                    c.skip(
                        id,
                        "setup.basic",
                        "io_setup(128) did not succeed in this cell",
                    );
                }
                return;
            }
            let after = bn(o, "aio_nr_after");
            c.push(
                "side-effect.aio-nr",
                "setup.basic",
                format!("aio-nr {} -> {}", before, before + 128),
                format!("aio-nr {before} -> {after}"),
                after == before + 128,
                "R3-account".into(),
            );
            let maps = o.get("maps_line").and_then(Value::as_str).unwrap_or("");
            // Observed without addresses and inode (they change every boot),
            // so two runs compare equal; the whole line goes in the detail.
            let fields: Vec<&str> = maps.split_whitespace().collect();
            let observed = match fields.as_slice() {
                [_, perms, _, _, _, path @ ..] if !path.is_empty() => {
                    format!("{perms} {}", path.join(" "))
                }
                _ if maps.is_empty() => "no mapping".into(),
                _ => maps.to_string(),
            };
            c.push(
                "side-effect.vma",
                "setup.basic",
                "rw-s /[aio] (deleted) covering the handle".into(),
                observed.clone(),
                observed == "rw-s /[aio] (deleted)",
                maps.to_string(),
            );
            let ring = o.get("ring").cloned().unwrap_or(Value::Null);
            let magic = bn(&ring, "magic");
            let hl = bn(&ring, "header_length");
            c.push(
                "notes.handle-is-ring",
                "setup.basic",
                "ring at handle: magic 0xa10a10a1, header_length 32".into(),
                format!("magic {magic:#x}, header_length {hl}"),
                magic == 0xa10a10a1 && hl == 32,
                String::new(),
            );
            let nr = bn(&ring, "nr");
            let cpus = stream.hello.as_ref().map_or(1, |h| h.ncpus_possible);
            let need = (2 * 128).max(cpus * 8);
            c.push(
                "notes.capacity",
                "setup.basic",
                format!("ring nr >= {need} (2 x 128, CPUs {cpus} x 8)"),
                format!("ring nr {nr}"),
                nr >= need,
                String::new(),
            );
            let d = bn(o, "aio_nr_after_destroy");
            let dret = o.get("destroy_ret").and_then(Value::as_i64).unwrap_or(-1);
            c.push(
                "side-effect.reversible.io_destroy",
                "setup.basic",
                format!("io_destroy 0, aio-nr back to {before}"),
                format!("io_destroy {dret}, aio-nr {d}"),
                dret == 0 && d == before,
                String::new(),
            );
        },
    );

    c.with(
        &["error.EINVAL.nr_events-zero"],
        "einval.nr-zero",
        |c, o| {
            let want = spec_outcome(&f, 0, bn(o, "aio_nr_before"), m, false, false);
            c.call(
                "error.EINVAL.nr_events-zero",
                "einval.nr-zero",
                o,
                &want,
                &[(
                    "aio-nr unchanged".into(),
                    bn(o, "aio_nr_after") == bn(o, "aio_nr_before"),
                )],
            );
        },
    );
    c.with(
        &["error.EINVAL.ctxp-nonzero"],
        "einval.ctx-nonzero",
        |c, o| {
            let want = spec_outcome(&f, 128, bn(o, "aio_nr_before"), m, true, false);
            c.call(
                "error.EINVAL.ctxp-nonzero",
                "einval.ctx-nonzero",
                o,
                &want,
                &[(
                    "aio-nr unchanged".into(),
                    bn(o, "aio_nr_after") == bn(o, "aio_nr_before"),
                )],
            );
        },
    );
    c.with(
        &["error.EINVAL.ctxp-existing"],
        "einval.ctx-existing",
        |c, o| {
            let first = o.get("first").cloned().unwrap_or(Value::Null);
            if f.aio && outcome(&first).as_deref() != Some("OK") {
                c.skip(
                    "error.EINVAL.ctxp-existing",
                    "einval.ctx-existing",
                    "could not create the first context in this cell",
                );
                return;
            }
            let second = o.get("second").cloned().unwrap_or(Value::Null);
            let want = spec_outcome(&f, 128, 0, m, true, false);
            c.call(
                "error.EINVAL.ctxp-existing",
                "einval.ctx-existing",
                &second,
                &want,
                &[],
            );
        },
    );
    for (id, exp) in [
        ("error.EFAULT.null", "efault.null"),
        ("error.EFAULT.unmapped", "efault.unmapped"),
        ("error.EFAULT.readonly-writeback", "efault.readonly"),
    ] {
        c.with(&[id], exp, |c, o| {
            let before = bn(o, "aio_nr_before");
            // A read-only page holding 0 passes get_user; the spec's EFAULT
            // "from put_user()" then applies, and everything must be undone.
            let readonly = exp == "efault.readonly";
            let want = if readonly && f.aio {
                let base = spec_outcome(&f, 128, before, m, false, false);
                if base[0] == "OK" {
                    vec!["EFAULT"]
                } else {
                    base
                }
            } else {
                spec_outcome(&f, 128, before, m, false, true)
            };
            let mut extra = vec![(
                "aio-nr unchanged".to_string(),
                bn(o, "aio_nr_after") == before,
            )];
            if readonly {
                extra.push((
                    "no [aio] mapping left behind".into(),
                    bn(o, "aio_maps_after") == bn(o, "aio_maps_before"),
                ));
            }
            c.call(id, exp, o, &want, &extra);
        });
    }
    c.with(
        &["error.EAGAIN.exceeds-aio-max-nr"],
        "eagain.exceeds-max",
        |c, o| {
            let nr = bn(o, "nr_events");
            let want = spec_outcome(
                &f,
                nr,
                bn(o, "aio_nr_before"),
                bn(o, "aio_max_nr").max(m),
                false,
                false,
            );
            c.call(
                "error.EAGAIN.exceeds-aio-max-nr",
                "eagain.exceeds-max",
                o,
                &want,
                &[],
            );
        },
    );
    c.with(&["constraint.aio-max-nr.over", "constraint.aio-max-nr.exact"], "eagain.boundary", |c, o| {
        for (id, key) in [("constraint.aio-max-nr.over", "over"), ("constraint.aio-max-nr.exact", "exact")] {
            match o.get(key).filter(|v| !v.is_null()) {
                Some(call) if call.get("skipped").is_some() => {
                    let why = call["skipped"].as_str().unwrap_or("not applicable in this cell").to_string();
                    c.skip(id, "eagain.boundary", &why);
                }
                Some(call) => {
                    let want = spec_outcome(&f, bn(call, "nr_events"), bn(call, "aio_nr_before"), m, false, false);
                    c.call(id, "eagain.boundary", call, &want, &[]);
                }
                None => c.skip(id, "eagain.boundary", "no such call in this cell (aio-max-nr too small or too large for a u32 nr_events)"),
            }
        }
    });
    c.with(&["error.ENOMEM.rlimit-as"], "enomem.rlimit-as", |c, o| {
        let before = bn(o, "aio_nr_before");
        let base = spec_outcome(&f, 128, before, m, false, false);
        let want = if base[0] == "OK" {
            vec!["ENOMEM"]
        } else {
            base
        };
        c.call(
            "error.ENOMEM.rlimit-as",
            "enomem.rlimit-as",
            o,
            &want,
            &[("aio-nr unchanged".into(), bn(o, "aio_nr_after") == before)],
        );
    });
    c.with(&["error.ENOMEM.fail-nth"], "enomem.fail-nth", |c, o| {
        let steps = o
            .get("steps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !f.aio {
            c.skip(
                "error.ENOMEM.fail-nth",
                "enomem.fail-nth",
                "CONFIG_AIO=n: no allocations to fail",
            );
            return;
        }
        if steps.is_empty() {
            c.error(
                "error.ENOMEM.fail-nth",
                "enomem.fail-nth",
                "no fault-injection steps reported".into(),
            );
            return;
        }
        let mut bad = Vec::new();
        let mut seen = Vec::new();
        for s in &steps {
            let k = bn(s, "k");
            let got = outcome(s).unwrap_or_default();
            seen.push(format!("{k}:{got}"));
            let injected = s.get("fail_nth_after").and_then(Value::as_i64) == Some(0);
            if injected && got != "OK" && got != "ENOMEM" {
                bad.push(format!("allocation {k} failed -> {got}"));
            }
            if got != "OK" && bn(s, "aio_nr_after") != bn(s, "aio_nr_before") {
                bad.push(format!("allocation {k}: aio-nr leaked"));
            }
        }
        c.push(
            "error.ENOMEM.fail-nth",
            "enomem.fail-nth",
            "ENOMEM or OK at each failed allocation, aio-nr unchanged".into(),
            seen.join(" "),
            bad.is_empty(),
            if bad.is_empty() {
                "R4-fault-inject".into()
            } else {
                bad.join("; ")
            },
        );
    });
    c.with(&["error.ENOMEM.failslab"], "enomem.failslab", |c, o| {
        if !f.aio {
            c.skip(
                "error.ENOMEM.failslab",
                "enomem.failslab",
                "CONFIG_AIO=n: no allocations to fail",
            );
            return;
        }
        let before = bn(o, "aio_nr_before");
        // The first slab allocation of the call fails: ENOMEM (R4-fault-inject),
        // unless a policy error comes first (aio-max-nr below 128).
        let base = spec_outcome(&f, 128, before, m, false, false);
        let want: Vec<&str> = if base[0] == "OK" {
            vec!["ENOMEM", "OK"]
        } else {
            base
        };
        c.call(
            "error.ENOMEM.failslab",
            "enomem.failslab",
            o,
            &want,
            &[(
                "aio-nr unchanged after a failure".into(),
                outcome(o).as_deref() == Some("OK") || bn(o, "aio_nr_after") == before,
            )],
        );
    });
    c.with(
        &["side-effect.vma.removed-by-io_destroy"],
        "side-effect.destroy",
        |c, o| {
            if outcome(o).as_deref() != Some("OK") {
                c.skip(
                    "side-effect.vma.removed-by-io_destroy",
                    "side-effect.destroy",
                    "io_setup(128) did not succeed in this cell",
                );
                return;
            }
            let gone = o.get("maps_line_after_destroy").is_none_or(Value::is_null)
                && bn(o, "aio_maps_after_destroy") == bn(o, "aio_maps_before");
            let obs = format!(
                "destroy {}, mapping after: {}",
                o.get("destroy_ret").and_then(Value::as_i64).unwrap_or(-1),
                o.get("maps_line_after_destroy")
                    .and_then(Value::as_str)
                    .unwrap_or("none")
            );
            c.push(
                "side-effect.vma.removed-by-io_destroy",
                "side-effect.destroy",
                "destroy 0, mapping after: none".into(),
                obs,
                gone && o.get("destroy_ret").and_then(Value::as_i64) == Some(0),
                "reversible: yes".into(),
            );
        },
    );
    c.with(
        &["error.EINTR.sigkill-leaves-no-trace"],
        "eintr.sigkill",
        |c, o| {
            let (b, a) = (bn(o, "aio_nr_before"), bn(o, "aio_nr_after"));
            c.push(
                "error.EINTR.sigkill-leaves-no-trace",
                "eintr.sigkill",
                format!("aio-nr back to {b} after SIGKILL"),
                format!("aio-nr {a}"),
                a == b,
                String::new(),
            );
        },
    );
    c.with(
        &["state-trans.process-exit-releases"],
        "side-effect.exit-releases",
        |c, o| {
            let setup = o.get("setup").cloned().unwrap_or(Value::Null);
            let b = bn(o, "aio_nr_before");
            let want = spec_outcome(&f, 128, b, m, false, false);
            let ok_setup = outcome(&setup).as_deref() == Some("OK");
            let (during, after) = (bn(o, "aio_nr_during"), bn(o, "aio_nr_after_exit"));
            let extra = if ok_setup {
                vec![
                    (
                        format!("aio-nr {b} -> {} while held", b + 128),
                        during == b + 128,
                    ),
                    (format!("aio-nr back to {b} at exit"), after == b),
                ]
            } else {
                vec![]
            };
            c.call(
                "state-trans.process-exit-releases",
                "side-effect.exit-releases",
                &setup,
                &want,
                &extra,
            );
        },
    );
    c.with(
        &["constraint.per-process.table-grows"],
        "table.many",
        |c, o| {
            let req = bn(o, "requested");
            let before = bn(o, "aio_nr_before");
            let created = bn(o, "created");
            if !f.aio {
                let ff = o.get("first_failure").cloned().unwrap_or(Value::Null);
                c.call(
                    "constraint.per-process.table-grows",
                    "table.many",
                    &ff,
                    &["ENOSYS"],
                    &[],
                );
                return;
            }
            // Each context counts 1 (nr_events = 1) toward aio-max-nr.
            let fit = m.saturating_sub(before).min(req);
            let dh = bn(o, "distinct_handles");
            let di = bn(o, "distinct_ring_ids");
            let ok = created == fit
                && dh == created
                && di == created
                && bn(o, "aio_nr_after_destroy_all") == before;
            c.push(
                "constraint.per-process.table-grows",
                "table.many",
                format!("{fit} contexts, distinct handles and ids, aio-nr restored"),
                format!("{created} created, {dh} handles, {di} ids"),
                ok,
                String::new(),
            );
        },
    );
    c.with(
        &["long-desc.not-shared-across-processes"],
        "fork.child-use",
        |c, o| {
            let setup = o.get("setup").cloned().unwrap_or(Value::Null);
            if outcome(&setup).as_deref() != Some("OK") {
                c.skip(
                    "long-desc.not-shared-across-processes",
                    "fork.child-use",
                    "no context to share in this cell",
                );
                return;
            }
            let child = o.get("grandchild").cloned().unwrap_or(Value::Null);
            let cd = child.get("destroy_ret").and_then(Value::as_i64);
            let pd = o.get("parent_destroy_ret").and_then(Value::as_i64);
            c.push(
                "long-desc.not-shared-across-processes",
                "fork.child-use",
                "child io_destroy fails, parent's succeeds".into(),
                format!(
                    "child {cd:?} ({}), parent {pd:?}",
                    errno_name(u(&child, "destroy_errno").unwrap_or(0) as i64)
                ),
                cd == Some(-1) && pd == Some(0),
                String::new(),
            );
        },
    );
    c.with(&[], "nr.sweep", |c, o| {
        let steps = o
            .get("steps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for s in &steps {
            let nr = bn(s, "nr_events");
            let id = format!("param.nr_events.range/{nr}");
            match s.get("fate").and_then(Value::as_str).unwrap_or("exited") {
                "exited" => {}
                "timeout" => {
                    c.error(
                        &id,
                        "nr.sweep",
                        "the call outlived the guest's per-step limit (kmatrix.timeout)".into(),
                    );
                    continue;
                }
                fate => {
                    c.push(
                        &id,
                        "nr.sweep",
                        "a return value".into(),
                        format!("process {fate}"),
                        false,
                        "the call killed its process (OOM killer?) instead of failing with ENOMEM"
                            .into(),
                    );
                    continue;
                }
            }
            let want = spec_outcome(&f, nr, bn(s, "aio_nr_before"), m, false, false);
            let mut extra = Vec::new();
            if outcome(s).as_deref() == Some("OK") {
                let ring = s.get("ring").cloned().unwrap_or(Value::Null);
                let cap = bn(&ring, "nr");
                extra.push((format!("ring nr {cap} >= 2 x nr_events"), cap >= 2 * nr));
                extra.push((
                    "aio-nr grew by nr_events".into(),
                    bn(s, "aio_nr_after") == bn(s, "aio_nr_before") + nr,
                ));
            }
            c.call(&id, "nr.sweep", s, &want, &extra);
        }
    });
    // ENOSYS is its own clause: every call in an aio-off cell.
    if !f.aio {
        c.with(&["constraint.CONFIG_AIO.enosys"], "setup.basic", |c, o| {
            c.call(
                "constraint.CONFIG_AIO.enosys",
                "setup.basic",
                o,
                &["ENOSYS"],
                &[],
            );
        });
    }
    c.out
}

// `--exec` and `--share` cases are judged in crate::suites.
pub use crate::suites::{judge_exec, judge_shares};

#[derive(Debug, Clone, Deserialize)]
pub struct KnownDeviation {
    pub case: String,
    /// The observed outcome this entry excuses (exact match).
    pub observed: String,
    /// Arches it was seen on; empty means any.
    #[serde(default)]
    pub arches: Vec<String>,
    pub reason: String,
    #[allow(dead_code)]
    pub evidence: String,
}

#[derive(Debug, Deserialize)]
struct KnownFile {
    #[serde(default)]
    deviation: Vec<KnownDeviation>,
}

pub fn known_deviations() -> Vec<KnownDeviation> {
    let f: KnownFile = toml::from_str(include_str!("../../spec/known-deviations.toml"))
        .expect("spec/known-deviations.toml is valid");
    f.deviation
}

/// Turns listed failures into known deviations, so a pre-merge run is green
/// on known behaviour and red on anything new.
pub fn apply_known(cases: &mut [Case], arch: &str, known: &[KnownDeviation]) {
    for c in cases.iter_mut().filter(|c| c.verdict == Verdict::Fail) {
        if let Some(k) = known.iter().find(|k| {
            k.case == c.id
                && k.observed == c.observed
                && (k.arches.is_empty() || k.arches.iter().any(|a| a == arch))
        }) {
            c.verdict = Verdict::KnownDeviation;
            c.detail = format!("known: {}", k.reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::{parse, Hello};

    fn stream_with(aio: bool, exps: &[(&str, Value)]) -> Stream {
        let mut s = parse(b"");
        s.hello = Some(Hello {
            arch: "x86_64".into(),
            uname_release: "6.1".into(),
            uname_machine: "x86_64".into(),
            ncpus_online: 2,
            ncpus_possible: 2,
            page_size: 4096,
            mem_total_kb: 0,
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

    fn verdict(cases: &[Case], id: &str) -> Verdict {
        cases
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no case {id}: {cases:?}"))
            .verdict
    }

    #[test]
    fn spec_model_follows_the_spec_text() {
        let on = CellFacts::new(true);
        let only = CellFacts {
            aio: true,
            selected: Some(vec!["einval.*".into()]),
        };
        let cases = judge(&only, &Stream::default());
        assert_eq!(
            cases
                .iter()
                .find(|c| c.id == "return.success")
                .unwrap()
                .verdict,
            Verdict::Skip
        );
        assert_eq!(
            cases
                .iter()
                .find(|c| c.id == "error.EINVAL.nr_events-zero")
                .unwrap()
                .verdict,
            Verdict::Error
        );
        assert_eq!(
            spec_outcome(&on, 128, 0, 65536, false, false),
            vec!["OK", "ENOMEM"]
        );
        assert_eq!(spec_outcome(&on, 0, 0, 65536, false, false), vec!["EINVAL"]);
        assert_eq!(
            spec_outcome(&on, 65537, 0, 65536, false, false),
            vec!["EAGAIN"]
        );
        assert_eq!(
            spec_outcome(&on, 100, 65500, 65536, false, false),
            vec!["EAGAIN"]
        );
        assert_eq!(spec_outcome(&on, 36, 65500, 65536, false, false)[0], "OK");
        assert_eq!(
            spec_outcome(&on, SPEC_NR_MAX, 0, u64::MAX, false, false)[0],
            "OK"
        );
        assert_eq!(
            spec_outcome(&on, SPEC_NR_MAX + 1, 0, u64::MAX, false, false),
            vec!["EINVAL"]
        );
        assert_eq!(spec_outcome(&on, 1, 0, 65536, false, true), vec!["EFAULT"]);
        assert_eq!(
            spec_outcome(&CellFacts::new(false), 0, 0, 0, true, true),
            vec!["ENOSYS"]
        );
    }

    #[test]
    fn basic_success_passes_and_a_wrong_errno_fails() {
        let good = serde_json::json!({"nr_events":128,"ret":0,"errno":0,"handle":0x7f00_0000_0000u64,
            "aio_nr_before":0,"aio_nr_after":128,"aio_nr_after_destroy":0,"destroy_ret":0,"destroy_errno":0,
            "maps_line":"7f0000000000-7f0000002000 rw-s 00000000 00:0e 2 /[aio] (deleted)",
            "ring":{"id":0,"nr":256,"head":0,"tail":0,"magic":0xa10a10a1u32,"compat_features":1,"incompat_features":0,"header_length":32}});
        let cases = judge(
            &CellFacts::new(true),
            &stream_with(true, &[("setup.basic", good.clone())]),
        );
        for id in [
            "return.success",
            "side-effect.aio-nr",
            "side-effect.vma",
            "notes.handle-is-ring",
            "notes.capacity",
            "side-effect.reversible.io_destroy",
        ] {
            assert_eq!(verdict(&cases, id), Verdict::Pass, "{id}: {cases:?}");
        }
        // Missing experiments are errors, never passes.
        assert_eq!(
            verdict(&cases, "error.EINVAL.nr_events-zero"),
            Verdict::Error
        );
        let mut leak = good.clone();
        leak["aio_nr_after_destroy"] = 128.into();
        let cases = judge(
            &CellFacts::new(true),
            &stream_with(true, &[("setup.basic", leak)]),
        );
        assert_eq!(
            verdict(&cases, "side-effect.reversible.io_destroy"),
            Verdict::Fail
        );
        // The same success on an aio-off kernel is a failure of R5-config.
        let cases = judge(
            &CellFacts::new(false),
            &stream_with(false, &[("setup.basic", good)]),
        );
        assert_eq!(verdict(&cases, "return.success"), Verdict::Fail);
        assert_eq!(
            verdict(&cases, "constraint.CONFIG_AIO.enosys"),
            Verdict::Fail
        );
    }

    #[test]
    fn enosys_cell() {
        let obs = serde_json::json!({"nr_events":128,"ret":-1,"errno":38,"handle":0,"aio_nr_before":null,"aio_nr_after":null});
        let cases = judge(
            &CellFacts::new(false),
            &stream_with(
                false,
                &[("setup.basic", obs.clone()), ("einval.nr-zero", obs)],
            ),
        );
        assert_eq!(
            verdict(&cases, "constraint.CONFIG_AIO.enosys"),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&cases, "constraint.CONFIG_AIO.sysctls"),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&cases, "error.EINVAL.nr_events-zero"),
            Verdict::Pass,
            "ENOSYS beats EINVAL"
        );
    }

    #[test]
    fn known_deviation_matches_case_observation_and_arch() {
        let mut cases = vec![Case {
            id: "x".into(),
            experiment: "e".into(),
            expected: "EINVAL".into(),
            observed: "EAGAIN".into(),
            verdict: Verdict::Fail,
            detail: String::new(),
        }];
        let k = vec![KnownDeviation {
            case: "x".into(),
            observed: "EAGAIN".into(),
            arches: vec!["arm64".into()],
            reason: "r".into(),
            evidence: "e".into(),
        }];
        apply_known(&mut cases, "x86_64", &k);
        assert_eq!(cases[0].verdict, Verdict::Fail);
        apply_known(&mut cases, "arm64", &k);
        assert_eq!(cases[0].verdict, Verdict::KnownDeviation);
        known_deviations(); // the shipped file parses
    }
}
