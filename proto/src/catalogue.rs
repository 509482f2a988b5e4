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

/// Every experiment id, one definition for the catalogue, the guest's
/// experiment table and the judges.
pub mod ids {
    pub const SETUP_BASIC: &str = "setup.basic";
    pub const EXAMPLE_1024: &str = "example.1024";
    pub const NR_SWEEP: &str = "nr.sweep";
    pub const EINVAL_CTX_NONZERO: &str = "einval.ctx-nonzero";
    pub const EINVAL_CTX_EXISTING: &str = "einval.ctx-existing";
    pub const EINVAL_NR_ZERO: &str = "einval.nr-zero";
    pub const EFAULT_NULL: &str = "efault.null";
    pub const EFAULT_UNMAPPED: &str = "efault.unmapped";
    pub const EFAULT_READONLY: &str = "efault.readonly";
    pub const EAGAIN_EXCEEDS_MAX: &str = "eagain.exceeds-max";
    pub const EAGAIN_BOUNDARY: &str = "eagain.boundary";
    pub const ENOMEM_RLIMIT_AS: &str = "enomem.rlimit-as";
    pub const ENOMEM_VS_EAGAIN: &str = "enomem.vs-eagain";
    pub const ENOMEM_FAIL_NTH: &str = "enomem.fail-nth";
    pub const ENOMEM_FAILSLAB: &str = "enomem.failslab";
    pub const EINTR_SIGKILL: &str = "eintr.sigkill";
    pub const SIGNAL_NONFATAL: &str = "signal.nonfatal";
    pub const SIDE_EFFECT_EXIT_RELEASES: &str = "side-effect.exit-releases";
    pub const SIDE_EFFECT_DESTROY: &str = "side-effect.destroy";
    pub const TABLE_MANY: &str = "table.many";
    pub const FORK_CHILD_USE: &str = "fork.child-use";
    pub const RING_MREMAP: &str = "ring.mremap";
    pub const LIMIT_MAX_MAP_COUNT: &str = "limit.max-map-count";
    pub const ENOSYS_MAP: &str = "enosys.map";
    pub const IO_SETUP_GENERIC: &str = "io_setup.generic";
    pub const IO_DESTROY_GENERIC: &str = "io_destroy.generic";
    pub const IO_DESTROY_TWICE: &str = "io_destroy.twice";
    pub const IO_DESTROY_SIGNAL: &str = "io_destroy.signal";
    pub const IO_SUBMIT_GENERIC: &str = "io_submit.generic";
    pub const IO_SUBMIT_RW: &str = "io_submit.rw";
    pub const IO_SUBMIT_RESFD: &str = "io_submit.resfd";
    pub const IO_SUBMIT_ERRORS: &str = "io_submit.errors";
    pub const IO_SUBMIT_IOPRIO: &str = "io_submit.ioprio";
    pub const IO_GETEVENTS_GENERIC: &str = "io_getevents.generic";
    pub const IO_GETEVENTS_TIMEOUTS: &str = "io_getevents.timeouts";
    pub const IO_PGETEVENTS_GENERIC: &str = "io_pgetevents.generic";
    pub const IO_PGETEVENTS_SIGMASK: &str = "io_pgetevents.sigmask";
    pub const IO_CANCEL_GENERIC: &str = "io_cancel.generic";
    pub const IO_CANCEL_CASES: &str = "io_cancel.cases";
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
        ids::SETUP_BASIC,
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
    e(ids::EXAMPLE_1024, &["examples.io_setup-1024"]),
    e(ids::NR_SWEEP, &["param.nr_events.range/"]),
    e(ids::EINVAL_CTX_NONZERO, &["error.EINVAL.ctxp-nonzero"]),
    e(ids::EINVAL_CTX_EXISTING, &["error.EINVAL.ctxp-existing"]),
    e(ids::EINVAL_NR_ZERO, &["error.EINVAL.nr_events-zero"]),
    e(ids::EFAULT_NULL, &["error.EFAULT.null"]),
    e(ids::EFAULT_UNMAPPED, &["error.EFAULT.unmapped"]),
    e(ids::EFAULT_READONLY, &["error.EFAULT.readonly-writeback"]),
    es(
        ids::EAGAIN_EXCEEDS_MAX,
        &["error.EAGAIN.exceeds-aio-max-nr"],
        &[skip::NO_AIO_MAX_NR, skip::MAX_PLUS_ONE_TOO_BIG],
    ),
    es(
        ids::EAGAIN_BOUNDARY,
        &["constraint.aio-max-nr.over", "constraint.aio-max-nr.exact"],
        &[
            skip::NO_AIO_SYSCTLS,
            skip::ROOM_PLUS_ONE_TOO_BIG,
            skip::NO_ROOM,
            skip::ROOM_TOO_BIG,
        ],
    ),
    e(ids::ENOMEM_RLIMIT_AS, &["error.ENOMEM.rlimit-as"]),
    es(
        ids::ENOMEM_VS_EAGAIN,
        &["error.ENOMEM-or-EAGAIN.both-limits"],
        &[skip::NO_AIO_SYSCTLS, skip::MAX_REACHED, skip::MAX_TOO_LARGE],
    ),
    es(
        ids::ENOMEM_FAIL_NTH,
        &["error.ENOMEM.fail-nth"],
        &[skip::NO_DEBUGFS, skip::NO_FAIL_NTH],
    ),
    es(
        ids::ENOMEM_FAILSLAB,
        &["error.ENOMEM.failslab"],
        &[skip::NO_DEBUGFS, skip::NO_FAILSLAB],
    ),
    e(ids::EINTR_SIGKILL, &["error.EINTR.sigkill-leaves-no-trace"]),
    e(
        ids::SIGNAL_NONFATAL,
        &["signal.nonfatal-does-not-interrupt"],
    ),
    e(
        ids::SIDE_EFFECT_EXIT_RELEASES,
        &["state-trans.process-exit-releases"],
    ),
    e(
        ids::SIDE_EFFECT_DESTROY,
        &["side-effect.vma.removed-by-io_destroy"],
    ),
    e(ids::TABLE_MANY, &["constraint.per-process.table-grows"]),
    e(
        ids::FORK_CHILD_USE,
        &[
            "long-desc.not-shared-across-processes",
            "long-desc.shared-by-clone-vm-thread",
        ],
    ),
    e(
        ids::RING_MREMAP,
        &[
            "side-effect.vma.mremap-moves-handle",
            "side-effect.vma.dontexpand",
        ],
    ),
    es(
        ids::LIMIT_MAX_MAP_COUNT,
        &["error.ENOMEM.max-map-count"],
        &[skip::NO_AIO_MAX_NR_AIO_OFF],
    ),
    // The rest of the AIO family (guest-init/src/family.rs).
    e(
        ids::ENOSYS_MAP,
        &[
            "io_setup.constraint.CONFIG_AIO",
            "io_destroy.constraint.CONFIG_AIO",
            "io_submit.constraint.CONFIG_AIO",
            "io_cancel.constraint.CONFIG_AIO",
            "io_getevents.constraint.CONFIG_AIO",
            "io_pgetevents.constraint.CONFIG_AIO",
        ],
    ),
    generic(ids::IO_SETUP_GENERIC, "io_setup"),
    generic(ids::IO_DESTROY_GENERIC, "io_destroy"),
    e(
        ids::IO_DESTROY_TWICE,
        &[
            "io_destroy.return.success/first",
            "io_destroy.state-trans.context/second-EINVAL",
            "io_destroy.side-effect.aio_nr",
            "io_destroy.side-effect.vma",
        ],
    ),
    e(
        ids::IO_DESTROY_SIGNAL,
        &["io_destroy.signal.any/interval-timer"],
    ),
    generic(ids::IO_SUBMIT_GENERIC, "io_submit"),
    e(
        ids::IO_SUBMIT_RW,
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
        ids::IO_SUBMIT_RESFD,
        &[
            "io_submit.side-effect.eventfd",
            "io_submit.constraint.CONFIG_EVENTFD",
        ],
    ),
    e(
        ids::IO_SUBMIT_ERRORS,
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
        ids::IO_SUBMIT_IOPRIO,
        &[
            "io_submit.error.EPERM/rt-unprivileged",
            "io_submit.error.ENOTBLK/no-block-layer",
        ],
    ),
    generic(ids::IO_GETEVENTS_GENERIC, "io_getevents"),
    e(
        ids::IO_GETEVENTS_TIMEOUTS,
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
    generic(ids::IO_PGETEVENTS_GENERIC, "io_pgetevents"),
    e(
        ids::IO_PGETEVENTS_SIGMASK,
        &[
            "io_pgetevents.signal.any/blocked-stays-pending",
            "io_pgetevents.error.EINTR/unblocked-signal",
            "io_pgetevents.state-trans.signal-mask/restored",
            "io_pgetevents.constraint.sigsetsize",
            "io_pgetevents.error.EFAULT/sigmask-unmapped",
            "io_pgetevents.side-effect.ring-head",
        ],
    ),
    generic(ids::IO_CANCEL_GENERIC, "io_cancel"),
    e(
        ids::IO_CANCEL_CASES,
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
