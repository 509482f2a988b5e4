//! Layer 5: verdicts. A model of the AIO family's KAPI specs
//! (spec/*-kapi-spec.txt): for each case and cell it computes what the
//! spec demands from the cell's parameters, then compares with what the guest
//! observed. The kernel's current behaviour is never the reference.
//!
//! One judge per experiment (or family) lives in `judges/`; each reads the
//! observation through `obs::Obs`, whose accessors fail with the name of a
//! missing field (an `error` verdict, never a default that could pass).
//! Every case declares the spec clauses it checks (`catalogue`). Where the
//! spec is silent or ambiguous the rule chosen is written in `RULES`.
//! Beside the judges: `hello` (is the guest the cell's?), `splat` (kernel
//! reports on the console), `suites` (--exec programs' results) and
//! `coverage` (each spec clause with the cases that check it).

pub mod coverage;
pub mod hello;
pub mod suites;

mod judges;
pub mod known;
pub mod obs;
pub mod splat;

use crate::stream::Stream;
use serde::{Deserialize, Serialize};

pub use judges::enosys::map_line as enosys_map_line;
pub use known::{known_deviations, KnownDeviation};
use obs::{Missing, Obs, Res};

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

impl Verdict {
    /// Short lower-case name, for pages and test tallies.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::KnownDeviation => "known",
            Verdict::Skip => "skip",
            Verdict::Error => "error",
        }
    }
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

/// One thing a case checks. A case passes only if all its checks hold; a
/// known deviation must name every failing check's observation to excuse it.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Stable name, used by spec/known-deviations.toml (`outcome`, `aio-nr`, ...).
    pub name: &'static str,
    pub expected: String,
    pub observed: String,
    pub holds: bool,
}

impl Check {
    pub fn new(
        name: &'static str,
        expected: impl ToString,
        observed: impl ToString,
        holds: bool,
    ) -> Self {
        Check {
            name,
            expected: expected.to_string(),
            observed: observed.to_string(),
            holds,
        }
    }

    /// Holds when the observation equals the expectation.
    pub fn eq<T: PartialEq + std::fmt::Display>(
        name: &'static str,
        expected: T,
        observed: T,
    ) -> Self {
        let holds = expected == observed;
        Check::new(name, expected, observed, holds)
    }

    /// The call's outcome ("OK" or an errno name) is one of `want`.
    pub fn outcome(want: &[&str], got: &str) -> Self {
        Check::new("outcome", want.join("|"), got, want.contains(&got))
    }
}

/// A case id the oracle can emit and the spec clauses it checks (clause
/// keys as `tests/spec_coverage.rs` parses them: `kind:name`).
#[derive(Debug, Clone, Copy)]
pub struct CaseDef {
    /// A trailing `/*` stands for one case per step (`param.nr_events.range/<nr>`).
    pub id: &'static str,
    pub clauses: &'static [&'static str],
}

impl CaseDef {
    pub fn matches(&self, id: &str) -> bool {
        match self.id.strip_suffix('*') {
            Some(prefix) => id.starts_with(prefix),
            None => self.id == id,
        }
    }
}

/// What the oracle knows about a cell: its configuration (the observed
/// state comes from the stream).
#[derive(Debug, Clone)]
pub struct CellFacts {
    /// CONFIG_AIO of the kernel under test.
    pub aio: bool,
    /// The --cases patterns the guest ran with (None: every experiment).
    pub selected: Option<Vec<String>>,
    pub arch: String,
    /// Guest memory (MiB) as configured for the VM.
    pub mem_mb: u32,
    /// Online CPUs as configured for the VM.
    pub cpus: u32,
    /// CONFIG_EVENTFD of the kernel under test (None: its config is unknown).
    pub eventfd: Option<bool>,
    /// CONFIG_BLOCK of the kernel under test; None: its config is unknown.
    pub block: Option<bool>,
    /// The ABI the probe ran as (compat: the arch's 32-bit programs).
    pub abi: crate::matrix::Abi,
    /// The kernel runs 32-bit programs (CONFIG_IA32_EMULATION or
    /// CONFIG_COMPAT); None: its config is unknown.
    pub compat: Option<bool>,
    /// CONFIG_COMPAT_32BIT_TIME; None: its config is unknown.
    pub time32: Option<bool>,
}

impl CellFacts {
    /// A cell with the default matrix's x86_64 shape (tests).
    pub fn new(aio: bool) -> Self {
        CellFacts {
            aio,
            selected: None,
            arch: "x86_64".into(),
            mem_mb: 512,
            cpus: 2,
            // kernels/aio-on.config sets it; aio-off's tinyconfig does not.
            eventfd: Some(aio),
            // The default kernels (kernels/base.config on tinyconfig).
            block: Some(false),
            abi: crate::matrix::Abi::Native,
            compat: Some(false),
            time32: Some(false),
        }
    }

    fn ran(&self, experiment: &str) -> bool {
        self.selected
            .as_ref()
            .is_none_or(|p| p.iter().any(|p| crate::matrix::glob(p, experiment)))
    }

    /// R2-enomem: whether a ring for `nr` events may honestly not fit. The
    /// ring holds about 2 x nr_events io_events of 32 bytes; below 1/8 of
    /// the guest's memory an ENOMEM is a failure, not memory pressure.
    pub fn ring_may_not_fit(&self, nr: u64) -> bool {
        let ring = nr.saturating_mul(2).saturating_mul(32);
        ring.saturating_mul(8) >= u64::from(self.mem_mb) << 20
    }
}

/// Highest nr_events the spec allows: param nr_events, range 1..8388608
/// (0x10000000 / sizeof(struct io_event)).
pub const SPEC_NR_MAX: u64 = 0x1000_0000 / 32;

/// Rules chosen where the spec leaves room; each is cited by the cases it shapes.
pub const RULES: &[(&str, &str)] = &[
    ("R1-order", "nr_events outside 1..8388608 is EINVAL before any EAGAIN check: the param constraint is a range, and EINVAL's text names 'too large' first"),
    ("R2-enomem", "the ring-memory constraint lets an in-range call fail with ENOMEM instead of succeeding only when its ring (2 x nr_events x 32 bytes) needs at least 1/8 of the guest's memory; a small ring in an idle guest must succeed"),
    ("R3-account", "aio_nr grows by exactly nr_events (state-trans 'aio_nr = N + nr_events'), not by the internal doubled capacity"),
    ("R4-fault-inject", "an injected allocation failure must give ENOMEM or, if the kernel tolerates that allocation, a working context; never another errno, and nothing (aio-nr, [aio] mapping) may be left behind after a failure"),
    ("R5-config", "with CONFIG_AIO=n the syscall returns ENOSYS whatever its arguments, and fs.aio-nr / fs.aio-max-nr do not exist"),
    ("R6-order-limits", "when a memory limit (ENOMEM) and aio-max-nr (EAGAIN) both apply, the spec does not order them: either error is accepted, success is not, and nothing may be left behind"),
    ("R7-mremap", "the ring mapping is VM_DONTEXPAND (side-effect 'process virtual memory'): growing it fails with EFAULT and MREMAP_DONTUNMAP with EINVAL (mm/mremap.c's errors for such mappings); moved whole, the handle follows the mapping ('the handle is the mmap address'): the context answers at the new address, not the old"),
];

pub fn errno_name(e: i64) -> String {
    // asm-generic numbering: the same on x86_64 and arm64.
    let n = match e {
        0 => "OK",
        1 => "EPERM",
        4 => "EINTR",
        8 => "ENOEXEC",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        14 => "EFAULT",
        15 => "ENOTBLK",
        22 => "EINVAL",
        38 => "ENOSYS",
        95 => "EOPNOTSUPP",
        115 => "EINPROGRESS",
        _ => return format!("errno {e}"),
    };
    n.to_string()
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
    if f.ring_may_not_fit(nr) {
        vec!["OK", "ENOMEM"] // R2-enomem
    } else {
        vec!["OK"]
    }
}

/// A case as judged, before known deviations are applied.
struct Judged {
    case: Case,
    checks: Vec<Check>,
}

/// What a judge works with: the cell, the stream, and where its cases go.
pub struct Ctx<'a> {
    pub f: &'a CellFacts,
    pub stream: &'a Stream,
    exp: &'static str,
    cases: &'static [CaseDef],
    start: usize,
    out: Vec<Judged>,
}

impl Ctx<'_> {
    /// Every case of the current judge not decided yet gets `verdict`.
    fn rest(&mut self, verdict: Verdict, why: &str) {
        let done: Vec<String> = self.out[self.start..]
            .iter()
            .map(|j| j.case.id.clone())
            .collect();
        for d in self.cases {
            // A generic sweep's `param.*`: one case per id the spec generates.
            let generated = judges::generic::cases_of(self.exp);
            if let (Some(prefix), false) = (d.id.strip_suffix(".*"), generated.is_empty()) {
                for g in generated.iter().filter(|g| g.id.starts_with(prefix)) {
                    if !done.contains(&g.id) {
                        self.plain(&g.id, verdict, why.to_string());
                    }
                }
                continue;
            }
            if !done.iter().any(|id| d.matches(id)) {
                self.plain(
                    d.id.strip_suffix("/*").unwrap_or(d.id),
                    verdict,
                    why.to_string(),
                );
            }
        }
    }

    /// The guest could not run the experiment here, for a reason it gives
    /// (only where the judge accepts that reason).
    pub fn skip_rest(&mut self, why: &str) {
        self.rest(Verdict::Skip, why)
    }

    /// fs.aio-max-nr as the guest read it at boot. Required in aio-on cells.
    pub fn max(&self) -> Res<u64> {
        self.stream
            .hello
            .as_ref()
            .and_then(|h| h.aio_max_nr)
            .ok_or_else(|| Missing("hello.aio_max_nr missing (fs.aio-max-nr unread)".into()))
    }

    /// num_possible_cpus() as the guest counted it.
    pub fn possible_cpus(&self) -> Res<u64> {
        match self.stream.hello.as_ref().map(|h| h.ncpus_possible) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(Missing("hello.ncpus_possible missing or 0".into())),
        }
    }

    /// An fs.aio-nr reading: a number in aio-on cells (null is an error
    /// there), anything in aio-off cells, where the file does not exist.
    pub fn aio_nr(&self, o: &Obs, k: &str) -> Res<Option<u64>> {
        if self.f.aio {
            o.u64(k).map(Some)
        } else {
            o.opt_u64(k)
        }
    }

    /// The spec outcome of io_setup(nr) with `aio_nr` held before it.
    pub fn want(
        &self,
        nr: u64,
        aio_nr: Option<u64>,
        ctx_nonzero: bool,
        bad_ptr: bool,
    ) -> Res<Vec<&'static str>> {
        if !self.f.aio {
            return Ok(vec!["ENOSYS"]);
        }
        let n = aio_nr.ok_or_else(|| Missing("aio-nr before the call".into()))?;
        Ok(spec_outcome(
            self.f,
            nr,
            n,
            self.max()?,
            ctx_nonzero,
            bad_ptr,
        ))
    }

    /// Emits a case from its checks: pass iff every check holds.
    pub fn case(&mut self, id: &str, checks: Vec<Check>) {
        self.case_in(self.exp, id, checks)
    }

    fn case_in(&mut self, exp: &str, id: &str, checks: Vec<Check>) {
        assert!(!checks.is_empty(), "case {id} checks nothing");
        let ok = checks.iter().all(|c| c.holds);
        let detail = checks
            .iter()
            .filter(|c| !c.holds)
            .skip_while(|c| c.name == checks[0].name)
            .map(|c| {
                format!(
                    "violated {}: expected {}, observed {}",
                    c.name, c.expected, c.observed
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        self.out.push(Judged {
            case: Case {
                id: id.into(),
                experiment: exp.into(),
                expected: checks[0].expected.clone(),
                observed: checks[0].observed.clone(),
                verdict: if ok { Verdict::Pass } else { Verdict::Fail },
                detail,
            },
            checks,
        });
    }

    /// A case from one check that may lack its measurement: an error
    /// naming what is missing, and the judge's other cases still decided.
    pub fn decide(&mut self, id: &str, check: Res<Check>) {
        match check {
            Ok(k) => self.case(id, vec![k]),
            Err(Missing(why)) => self.error(id, why),
        }
    }

    /// A case decided without checks, with what was seen (a skip or an
    /// error whose evidence is an observation).
    pub fn note(&mut self, id: &str, verdict: Verdict, observed: String, detail: String) {
        self.plain(id, verdict, detail);
        if let Some(j) = self.out.last_mut() {
            j.case.observed = observed;
        }
    }

    pub fn skip(&mut self, id: &str, why: &str) {
        self.plain(id, Verdict::Skip, why.to_string());
    }

    pub fn error(&mut self, id: &str, why: String) {
        self.plain(id, Verdict::Error, why);
    }

    fn plain(&mut self, id: &str, verdict: Verdict, detail: String) {
        self.out.push(Judged {
            case: Case {
                id: id.into(),
                experiment: self.exp.into(),
                expected: "-".into(),
                observed: "-".into(),
                verdict,
                detail,
            },
            checks: Vec::new(),
        });
    }
}

/// One experiment's judge: the cases it can emit and how it decides them.
pub struct Judge {
    pub experiment: &'static str,
    pub cases: &'static [CaseDef],
    /// Some(aio): only in cells with that CONFIG_AIO.
    pub only: Option<bool>,
    pub run: fn(&mut Ctx, &Obs) -> Res<()>,
}

/// Every case id the oracle can emit, with its experiment and clauses.
pub fn catalogue() -> Vec<(&'static str, CaseDef)> {
    let mut v: Vec<(&'static str, CaseDef)> =
        judges::HELLO_CASES.iter().map(|c| ("hello", *c)).collect();
    for j in judges::JUDGES.iter().chain(judges::COMPAT_JUDGES) {
        v.extend(j.cases.iter().map(|c| (j.experiment, *c)));
    }
    v
}

/// The spec clauses a case id checks (empty for ids the oracle does not know).
pub fn clauses_of(id: &str) -> &'static [&'static str] {
    // An exact id before a pattern (`io_getevents.param.timeout.zero` is
    // hand-written, `io_getevents.param.*` generated).
    let cat = catalogue();
    cat.iter()
        .find(|(_, c)| c.id == id)
        .or_else(|| cat.iter().find(|(_, c)| c.matches(id)))
        .map_or(&[], |(_, c)| c.clauses)
}

/// Every case for one cell, with the shipped known deviations applied.
pub fn judge(facts: &CellFacts, stream: &Stream) -> Vec<Case> {
    judge_with(facts, stream, known_deviations())
}

/// Every case for one cell, with `known` applied.
pub fn judge_with(facts: &CellFacts, stream: &Stream, known: &[KnownDeviation]) -> Vec<Case> {
    let cond = known::Conditions::of(facts, stream);
    let mut out: Vec<Case> = judged(facts, stream)
        .into_iter()
        .map(|j| known::apply(j.case, &j.checks, &cond, known))
        .collect();
    // One section per syscall in the table: io_setup's original ids first,
    // then the family's by syscall (stable: judge order inside).
    out.sort_by_key(|c| kmatrix_proto::syscalls::rank(&c.id));
    out
}

/// Every case for one cell with the checks that decided it (none for a
/// skip or an error), before known deviations: the mutation test's view.
#[cfg(test)]
pub(crate) fn judge_checks(facts: &CellFacts, stream: &Stream) -> Vec<(Case, Vec<Check>)> {
    judged(facts, stream)
        .into_iter()
        .map(|j| (j.case, j.checks))
        .collect()
}

fn judged(facts: &CellFacts, stream: &Stream) -> Vec<Judged> {
    let mut c = Ctx {
        f: facts,
        stream,
        exp: "hello",
        cases: judges::HELLO_CASES,
        start: 0,
        out: Vec::new(),
    };
    judges::hello(&mut c);
    for j in judges::JUDGES {
        run_judge(&mut c, j);
    }
    if facts.abi == crate::matrix::Abi::Compat {
        for j in judges::COMPAT_JUDGES {
            run_judge(&mut c, j);
        }
    }
    c.out
}

fn run_judge(c: &mut Ctx, j: &Judge) {
    if j.only.is_some_and(|aio| aio != c.f.aio) {
        return;
    }
    c.exp = j.experiment;
    c.cases = j.cases;
    c.start = c.out.len();
    if !c.f.ran(j.experiment) {
        return c.rest(Verdict::Skip, "experiment not selected (--cases)");
    }
    // A compat cell judges its experiments only if the 32-bit probe ran.
    if !judges::abi::gate(c) {
        return;
    }
    match judges::not_judged_here(c.f, j) {
        Some(Ok(why)) => return c.rest(Verdict::Skip, &why),
        Some(Err(why)) => return c.rest(Verdict::Error, &why),
        None => {}
    }
    match c.stream.experiment(j.experiment) {
        None => {
            let why = format!("experiment {} missing from the stream", j.experiment);
            c.rest(Verdict::Error, &why)
        }
        Some(e) if e.fate != "exited" => {
            let why = format!("experiment {} did not finish: {}", j.experiment, e.fate);
            c.rest(Verdict::Error, &why)
        }
        Some(e) => {
            let o = Obs::root(&e.obs, j.experiment);
            // Cases already decided stand; the rest could not be judged.
            match (j.run)(c, &o) {
                Err(Missing(why)) => c.rest(Verdict::Error, &why),
                // A declared case the judge forgot is an error, never absent.
                Ok(()) => c.rest(
                    Verdict::Error,
                    "the judge returned without deciding this declared case",
                ),
            }
        }
    }
}

pub mod against;

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod mutation;

#[cfg(test)]
mod family_tests;

#[cfg(test)]
mod abi_tests;

#[cfg(test)]
mod compat_tests;

#[cfg(test)]
mod against_tests;
