//! The experiment catalogue: every experiment guest-init can run, in run
//! order (io_setup's, then the rest of the AIO family's), and the case ids
//! (named after spec/*-kapi-spec.txt clauses, as the oracle names them) its
//! observations are judged against. A new experiment is one entry here, its
//! body in the guest and its judge.

pub struct ExperimentInfo {
    pub id: &'static str,
    /// Case ids judged from this experiment's obs. One ending in '/' is a
    /// family: one case per step (e.g. per nr_events value).
    pub clauses: &'static [&'static str],
    /// The case ids are not listed here but generated from the spec of this
    /// syscall (runner/src/generic.rs; the guest runs them from
    /// guest-init/src/family_catalogue.rs): `<syscall>.generic`.
    pub generic: Option<&'static str>,
    /// The reasons for which the guest may skip this experiment (or one of
    /// its calls): a property of the cell that leaves nothing to check.
    /// The oracle takes only these as skips; any other "skipped" reason is
    /// an ERROR naming it (a failed mount or mmap is no property of a cell).
    pub skips: &'static [&'static str],
}

/// Every reason the guest may give for a skip, one definition for both sides.
pub mod skip {
    /// CONFIG_AIO=n (or a kernel without the sysctls).
    pub const NO_AIO_MAX_NR: &str = "fs.aio-max-nr absent";
    pub const NO_AIO_SYSCTLS: &str = "fs.aio-max-nr or fs.aio-nr absent";
    pub const NO_AIO_MAX_NR_AIO_OFF: &str = "fs.aio-max-nr absent (CONFIG_AIO=n)";
    /// aio-max-nr too large for a u32 nr_events to reach.
    pub const MAX_PLUS_ONE_TOO_BIG: &str = "aio-max-nr+1 does not fit in u32";
    pub const ROOM_PLUS_ONE_TOO_BIG: &str = "aio-max-nr - aio-nr + 1 does not fit in u32";
    pub const ROOM_TOO_BIG: &str = "aio-max-nr - aio-nr does not fit in u32";
    pub const MAX_TOO_LARGE: &str =
        "aio-max-nr too large to reach with one call below 4194304 events";
    /// aio-max-nr already reached: no room for what the experiment needs.
    pub const NO_ROOM: &str = "no room: aio-max-nr - aio-nr = 0";
    pub const MAX_REACHED: &str = "aio-max-nr already reached: nothing to hold";
    /// Kernel options the cell's kernel may lack.
    pub const NO_DEBUGFS: &str = "debugfs not mounted";
    pub const NO_FAIL_NTH: &str =
        "/proc/self/task/TID/fail-nth missing (CONFIG_FAULT_INJECTION=n?)";
    pub const NO_FAILSLAB: &str = "no failslab in debugfs (CONFIG_FAILSLAB=n?)";
}

const fn e(id: &'static str, clauses: &'static [&'static str]) -> ExperimentInfo {
    es(id, clauses, &[])
}

/// An experiment the guest may skip for `skips` (see `skip`).
const fn es(
    id: &'static str,
    clauses: &'static [&'static str],
    skips: &'static [&'static str],
) -> ExperimentInfo {
    ExperimentInfo {
        id,
        clauses,
        generic: None,
        skips,
    }
}

/// The sweep of generic cases computed from `syscall`'s spec.
const fn generic(id: &'static str, syscall: &'static str) -> ExperimentInfo {
    ExperimentInfo {
        id,
        clauses: &[],
        generic: Some(syscall),
        skips: &[],
    }
}

pub const EXPERIMENTS: &[ExperimentInfo] = &[
    e(
        "setup.basic",
        &[
            "return.success",
            "side-effect.aio-nr",
            "side-effect.vma",
            "notes.handle-is-ring",
            "notes.capacity",
            "constraint.CONFIG_AIO.enosys",
            "side-effect.reversible.io_destroy",
        ],
    ),
    e("example.1024", &["examples.io_setup-1024"]),
    e("nr.sweep", &["param.nr_events.range/"]),
    e("einval.ctx-nonzero", &["error.EINVAL.ctxp-nonzero"]),
    e("einval.ctx-existing", &["error.EINVAL.ctxp-existing"]),
    e("einval.nr-zero", &["error.EINVAL.nr_events-zero"]),
    e("efault.null", &["error.EFAULT.null"]),
    e("efault.unmapped", &["error.EFAULT.unmapped"]),
    e("efault.readonly", &["error.EFAULT.readonly-writeback"]),
    es(
        "eagain.exceeds-max",
        &["error.EAGAIN.exceeds-aio-max-nr"],
        &[skip::NO_AIO_MAX_NR, skip::MAX_PLUS_ONE_TOO_BIG],
    ),
    es(
        "eagain.boundary",
        &["constraint.aio-max-nr.over", "constraint.aio-max-nr.exact"],
        &[
            skip::NO_AIO_SYSCTLS,
            skip::ROOM_PLUS_ONE_TOO_BIG,
            skip::NO_ROOM,
            skip::ROOM_TOO_BIG,
        ],
    ),
    e("enomem.rlimit-as", &["error.ENOMEM.rlimit-as"]),
    es(
        "enomem.vs-eagain",
        &["error.ENOMEM-or-EAGAIN.both-limits"],
        &[skip::NO_AIO_SYSCTLS, skip::MAX_REACHED, skip::MAX_TOO_LARGE],
    ),
    es(
        "enomem.fail-nth",
        &["error.ENOMEM.fail-nth"],
        &[skip::NO_DEBUGFS, skip::NO_FAIL_NTH],
    ),
    es(
        "enomem.failslab",
        &["error.ENOMEM.failslab"],
        &[skip::NO_DEBUGFS, skip::NO_FAILSLAB],
    ),
    e("eintr.sigkill", &["error.EINTR.sigkill-leaves-no-trace"]),
    e("signal.nonfatal", &["signal.nonfatal-does-not-interrupt"]),
    e(
        "side-effect.exit-releases",
        &["state-trans.process-exit-releases"],
    ),
    e(
        "side-effect.destroy",
        &["side-effect.vma.removed-by-io_destroy"],
    ),
    e("table.many", &["constraint.per-process.table-grows"]),
    e(
        "fork.child-use",
        &[
            "long-desc.not-shared-across-processes",
            "long-desc.shared-by-clone-vm-thread",
        ],
    ),
    e(
        "ring.mremap",
        &[
            "side-effect.vma.mremap-moves-handle",
            "side-effect.vma.dontexpand",
        ],
    ),
    es(
        "limit.max-map-count",
        &["error.ENOMEM.max-map-count"],
        &[skip::NO_AIO_MAX_NR_AIO_OFF],
    ),
    // The rest of the AIO family (guest-init/src/family.rs).
    e(
        "enosys.map",
        &[
            "io_setup.constraint.CONFIG_AIO",
            "io_destroy.constraint.CONFIG_AIO",
            "io_submit.constraint.CONFIG_AIO",
            "io_cancel.constraint.CONFIG_AIO",
            "io_getevents.constraint.CONFIG_AIO",
            "io_pgetevents.constraint.CONFIG_AIO",
        ],
    ),
    generic("io_setup.generic", "io_setup"),
    generic("io_destroy.generic", "io_destroy"),
    e(
        "io_destroy.twice",
        &[
            "io_destroy.return.success/first",
            "io_destroy.state-trans.context/second-EINVAL",
            "io_destroy.side-effect.aio_nr",
            "io_destroy.side-effect.vma",
        ],
    ),
    e(
        "io_destroy.signal",
        &["io_destroy.signal.any/interval-timer"],
    ),
    generic("io_submit.generic", "io_submit"),
    e(
        "io_submit.rw",
        &[
            "io_submit.return.success/rw",
            "io_submit.side-effect.aio_key",
            "io_submit.side-effect.completion-ring",
            "io_submit.side-effect.file-data",
            "io_getevents.return.success/rw",
            "io_getevents.side-effect.ring-head",
            "io_submit.notes.later-error-hidden",
        ],
    ),
    e(
        "io_submit.resfd",
        &[
            "io_submit.side-effect.eventfd",
            "io_submit.constraint.CONFIG_EVENTFD",
        ],
    ),
    e(
        "io_submit.errors",
        &[
            "io_submit.error.EBADF/closed-fd",
            "io_submit.error.EBADF/read-on-wronly",
            "io_submit.error.EINVAL/opcode-noop",
            "io_submit.error.EINVAL/reserved2",
            "io_submit.error.EFAULT/iocb-unmapped",
            "io_submit.error.EOPNOTSUPP/rw-flags-unknown",
            "io_submit.error.EFAULT/buf-not-user",
            "io_submit.error.EAGAIN/slots-full",
            "io_destroy.side-effect.in-flight/polls",
        ],
    ),
    e(
        "io_submit.ioprio",
        &[
            "io_submit.error.EPERM/rt-unprivileged",
            "io_submit.error.ENOTBLK/no-block-layer",
        ],
    ),
    generic("io_getevents.generic", "io_getevents"),
    e(
        "io_getevents.timeouts",
        &[
            "io_getevents.param.timeout.zero",
            "io_getevents.param.timeout.negative",
            "io_getevents.param.timeout.read-before-ctx",
            "io_getevents.param.timeout.elapses",
            "io_getevents.param.timeout.nsec-unvalidated",
            "io_getevents.param.min_nr.semantics",
            "io_getevents.error.EFAULT/events-copy",
            "io_getevents.error.EINTR/alarm",
        ],
    ),
    generic("io_pgetevents.generic", "io_pgetevents"),
    e(
        "io_pgetevents.sigmask",
        &[
            "io_pgetevents.signal.any/blocked-stays-pending",
            "io_pgetevents.error.EINTR/unblocked-signal",
            "io_pgetevents.state-trans.signal-mask/restored",
            "io_pgetevents.constraint.sigsetsize",
            "io_pgetevents.error.EFAULT/sigmask-unmapped",
            "io_pgetevents.side-effect.ring-head",
        ],
    ),
    generic("io_cancel.generic", "io_cancel"),
    e(
        "io_cancel.cases",
        &[
            "io_cancel.error.EINVAL/completed",
            "io_cancel.error.EINVAL/foreign-key",
            "io_cancel.error.EINPROGRESS/pending-poll",
            "io_cancel.param.result.untouched",
        ],
    ),
];

/// Experiment ids that are not in the catalogue but may appear in a
/// stream: one per --share (share.mount/TAG) and one per --exec program
/// (exec/N, in order; streams from before repeatable --exec have "exec").
pub const SHARE_MOUNT_PREFIX: &str = "share.mount/";
pub const EXEC_ID: &str = "exec";

/// The record id of the `index`-th --exec program.
pub fn exec_id(index: usize) -> String {
    format!("{EXEC_ID}/{index}")
}

pub fn find(id: &str) -> Option<&'static ExperimentInfo> {
    EXPERIMENTS.iter().find(|x| x.id == id)
}

/// Patterns that select no experiment (typos), in the order given.
pub fn unmatched(patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .filter(|p| !EXPERIMENTS.iter().any(|x| crate::glob::matches(p, x.id)))
        .cloned()
        .collect()
}

/// The experiments whose obs a spec clause is judged from.
pub fn experiments_checking(clause: &str) -> Vec<&'static str> {
    EXPERIMENTS
        .iter()
        .filter(|x| {
            x.clauses
                .iter()
                .any(|c| *c == clause || (c.ends_with('/') && clause.starts_with(c)))
        })
        .map(|x| x.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_experiment_checks_something() {
        for (i, x) in EXPERIMENTS.iter().enumerate() {
            match x.generic {
                Some(sys) => {
                    assert!(x.clauses.is_empty(), "{}: generated, not listed", x.id);
                    assert_eq!(x.id, format!("{sys}.generic"));
                }
                None => assert!(!x.clauses.is_empty(), "{} checks no clause", x.id),
            }
            assert!(
                EXPERIMENTS[..i].iter().all(|y| y.id != x.id),
                "{} twice",
                x.id
            );
            assert!(!x.id.starts_with(SHARE_MOUNT_PREFIX) && x.id != EXEC_ID);
        }
        assert_eq!(
            experiments_checking("param.nr_events.range/128"),
            ["nr.sweep"]
        );
        assert_eq!(experiments_checking("error.EFAULT.null"), ["efault.null"]);
        assert!(find("nope").is_none());
        assert_eq!(
            experiments_checking("io_getevents.param.timeout.negative"),
            ["io_getevents.timeouts"]
        );
        assert!(find("io_getevents.generic").is_some());
        let pats = vec!["einval.*".to_string(), "nope".to_string(), "*".to_string()];
        assert_eq!(unmatched(&pats), ["nope"]);
    }
}
