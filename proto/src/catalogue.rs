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
    /// syscall (runner/src/spec/cases.rs; the guest runs them from
    /// guest-init/src/family_catalogue.rs): `<syscall>.generic`.
    pub generic: Option<&'static str>,
    /// The reasons for which the guest may skip this experiment (or one of
    /// its calls): a property of the cell that leaves nothing to check.
    /// The oracle takes only these as skips; any other "skipped" reason is
    /// an ERROR naming it (a failed mount or mmap is no property of a cell).
    pub skips: &'static [&'static str],
}

/// Every case id an experiment's observations are judged against (one
/// ending in '/' is a family: one case per step), one definition for the
/// catalogue and the judges.
pub mod case {
    pub const RETURN_SUCCESS: &str = "return.success";
    pub const SIDE_EFFECT_AIO_NR: &str = "side-effect.aio-nr";
    pub const SIDE_EFFECT_VMA: &str = "side-effect.vma";
    pub const NOTES_HANDLE_IS_RING: &str = "notes.handle-is-ring";
    pub const NOTES_CAPACITY: &str = "notes.capacity";
    pub const CONSTRAINT_CONFIG_AIO_ENOSYS: &str = "constraint.CONFIG_AIO.enosys";
    pub const SIDE_EFFECT_REVERSIBLE_IO_DESTROY: &str = "side-effect.reversible.io_destroy";
    pub const EXAMPLES_IO_SETUP_1024: &str = "examples.io_setup-1024";
    pub const PARAM_NR_EVENTS_RANGE: &str = "param.nr_events.range/";
    pub const ERROR_EINVAL_CTXP_NONZERO: &str = "error.EINVAL.ctxp-nonzero";
    pub const ERROR_EINVAL_CTXP_EXISTING: &str = "error.EINVAL.ctxp-existing";
    pub const ERROR_EINVAL_NR_EVENTS_ZERO: &str = "error.EINVAL.nr_events-zero";
    pub const ERROR_EFAULT_NULL: &str = "error.EFAULT.null";
    pub const ERROR_EFAULT_UNMAPPED: &str = "error.EFAULT.unmapped";
    pub const ERROR_EFAULT_READONLY_WRITEBACK: &str = "error.EFAULT.readonly-writeback";
    pub const ERROR_EAGAIN_EXCEEDS_AIO_MAX_NR: &str = "error.EAGAIN.exceeds-aio-max-nr";
    pub const CONSTRAINT_AIO_MAX_NR_OVER: &str = "constraint.aio-max-nr.over";
    pub const CONSTRAINT_AIO_MAX_NR_EXACT: &str = "constraint.aio-max-nr.exact";
    pub const ERROR_ENOMEM_RLIMIT_AS: &str = "error.ENOMEM.rlimit-as";
    pub const ERROR_ENOMEM_OR_EAGAIN_BOTH_LIMITS: &str = "error.ENOMEM-or-EAGAIN.both-limits";
    pub const ERROR_ENOMEM_FAIL_NTH: &str = "error.ENOMEM.fail-nth";
    pub const ERROR_ENOMEM_FAILSLAB: &str = "error.ENOMEM.failslab";
    pub const ERROR_EINTR_SIGKILL_LEAVES_NO_TRACE: &str = "error.EINTR.sigkill-leaves-no-trace";
    pub const SIGNAL_NONFATAL_DOES_NOT_INTERRUPT: &str = "signal.nonfatal-does-not-interrupt";
    pub const STATE_TRANS_PROCESS_EXIT_RELEASES: &str = "state-trans.process-exit-releases";
    pub const SIDE_EFFECT_VMA_REMOVED_BY_IO_DESTROY: &str = "side-effect.vma.removed-by-io_destroy";
    pub const CONSTRAINT_PER_PROCESS_TABLE_GROWS: &str = "constraint.per-process.table-grows";
    pub const LONG_DESC_NOT_SHARED_ACROSS_PROCESSES: &str = "long-desc.not-shared-across-processes";
    pub const LONG_DESC_SHARED_BY_CLONE_VM_THREAD: &str = "long-desc.shared-by-clone-vm-thread";
    pub const SIDE_EFFECT_VMA_MREMAP_MOVES_HANDLE: &str = "side-effect.vma.mremap-moves-handle";
    pub const SIDE_EFFECT_VMA_DONTEXPAND: &str = "side-effect.vma.dontexpand";
    pub const ERROR_ENOMEM_MAX_MAP_COUNT: &str = "error.ENOMEM.max-map-count";
    /// Compat cells only: the 32-bit handle io_setup stores.
    pub const IO_SETUP_COMPAT_HANDLE_32BIT: &str = "io_setup.compat.handle-32bit";
    pub const IO_SETUP_CONSTRAINT_CONFIG_AIO: &str = "io_setup.constraint.CONFIG_AIO";
    pub const IO_DESTROY_CONSTRAINT_CONFIG_AIO: &str = "io_destroy.constraint.CONFIG_AIO";
    pub const IO_SUBMIT_CONSTRAINT_CONFIG_AIO: &str = "io_submit.constraint.CONFIG_AIO";
    pub const IO_CANCEL_CONSTRAINT_CONFIG_AIO: &str = "io_cancel.constraint.CONFIG_AIO";
    pub const IO_GETEVENTS_CONSTRAINT_CONFIG_AIO: &str = "io_getevents.constraint.CONFIG_AIO";
    pub const IO_PGETEVENTS_CONSTRAINT_CONFIG_AIO: &str = "io_pgetevents.constraint.CONFIG_AIO";
    pub const IO_DESTROY_RETURN_SUCCESS_FIRST: &str = "io_destroy.return.success/first";
    pub const IO_DESTROY_STATE_TRANS_CONTEXT_SECOND_EINVAL: &str =
        "io_destroy.state-trans.context/second-EINVAL";
    pub const IO_DESTROY_SIDE_EFFECT_AIO_NR: &str = "io_destroy.side-effect.aio_nr";
    pub const IO_DESTROY_SIDE_EFFECT_VMA: &str = "io_destroy.side-effect.vma";
    pub const IO_DESTROY_SIGNAL_ANY_INTERVAL_TIMER: &str = "io_destroy.signal.any/interval-timer";
    pub const IO_SUBMIT_RETURN_SUCCESS_RW: &str = "io_submit.return.success/rw";
    pub const IO_SUBMIT_SIDE_EFFECT_AIO_KEY: &str = "io_submit.side-effect.aio_key";
    pub const IO_SUBMIT_SIDE_EFFECT_COMPLETION_RING: &str = "io_submit.side-effect.completion-ring";
    pub const IO_SUBMIT_SIDE_EFFECT_FILE_DATA: &str = "io_submit.side-effect.file-data";
    pub const IO_GETEVENTS_RETURN_SUCCESS_RW: &str = "io_getevents.return.success/rw";
    pub const IO_GETEVENTS_SIDE_EFFECT_RING_HEAD: &str = "io_getevents.side-effect.ring-head";
    pub const IO_SUBMIT_NOTES_LATER_ERROR_HIDDEN: &str = "io_submit.notes.later-error-hidden";
    pub const IO_SUBMIT_SIDE_EFFECT_EVENTFD: &str = "io_submit.side-effect.eventfd";
    pub const IO_SUBMIT_CONSTRAINT_CONFIG_EVENTFD: &str = "io_submit.constraint.CONFIG_EVENTFD";
    pub const IO_SUBMIT_ERROR_EBADF_CLOSED_FD: &str = "io_submit.error.EBADF/closed-fd";
    pub const IO_SUBMIT_ERROR_EBADF_READ_ON_WRONLY: &str = "io_submit.error.EBADF/read-on-wronly";
    pub const IO_SUBMIT_ERROR_EINVAL_OPCODE_NOOP: &str = "io_submit.error.EINVAL/opcode-noop";
    pub const IO_SUBMIT_ERROR_EINVAL_RESERVED2: &str = "io_submit.error.EINVAL/reserved2";
    pub const IO_SUBMIT_ERROR_EFAULT_IOCB_UNMAPPED: &str = "io_submit.error.EFAULT/iocb-unmapped";
    pub const IO_SUBMIT_ERROR_EOPNOTSUPP_RW_FLAGS_UNKNOWN: &str =
        "io_submit.error.EOPNOTSUPP/rw-flags-unknown";
    pub const IO_SUBMIT_ERROR_EFAULT_BUF_NOT_USER: &str = "io_submit.error.EFAULT/buf-not-user";
    pub const IO_SUBMIT_ERROR_EAGAIN_SLOTS_FULL: &str = "io_submit.error.EAGAIN/slots-full";
    pub const IO_DESTROY_SIDE_EFFECT_IN_FLIGHT_POLLS: &str =
        "io_destroy.side-effect.in-flight/polls";
    pub const IO_SUBMIT_ERROR_EPERM_RT_UNPRIVILEGED: &str = "io_submit.error.EPERM/rt-unprivileged";
    pub const IO_SUBMIT_ERROR_ENOTBLK_NO_BLOCK_LAYER: &str =
        "io_submit.error.ENOTBLK/no-block-layer";
    pub const IO_GETEVENTS_PARAM_TIMEOUT_ZERO: &str = "io_getevents.param.timeout.zero";
    pub const IO_GETEVENTS_PARAM_TIMEOUT_NEGATIVE: &str = "io_getevents.param.timeout.negative";
    pub const IO_GETEVENTS_PARAM_TIMEOUT_READ_BEFORE_CTX: &str =
        "io_getevents.param.timeout.read-before-ctx";
    pub const IO_GETEVENTS_PARAM_TIMEOUT_ELAPSES: &str = "io_getevents.param.timeout.elapses";
    pub const IO_GETEVENTS_PARAM_TIMEOUT_NSEC_UNVALIDATED: &str =
        "io_getevents.param.timeout.nsec-unvalidated";
    pub const IO_GETEVENTS_PARAM_MIN_NR_SEMANTICS: &str = "io_getevents.param.min_nr.semantics";
    pub const IO_GETEVENTS_ERROR_EFAULT_EVENTS_COPY: &str = "io_getevents.error.EFAULT/events-copy";
    pub const IO_GETEVENTS_ERROR_EINTR_ALARM: &str = "io_getevents.error.EINTR/alarm";
    pub const IO_PGETEVENTS_SIGNAL_ANY_BLOCKED_STAYS_PENDING: &str =
        "io_pgetevents.signal.any/blocked-stays-pending";
    pub const IO_PGETEVENTS_ERROR_EINTR_UNBLOCKED_SIGNAL: &str =
        "io_pgetevents.error.EINTR/unblocked-signal";
    pub const IO_PGETEVENTS_STATE_TRANS_SIGNAL_MASK_RESTORED: &str =
        "io_pgetevents.state-trans.signal-mask/restored";
    pub const IO_PGETEVENTS_CONSTRAINT_SIGSETSIZE: &str = "io_pgetevents.constraint.sigsetsize";
    pub const IO_PGETEVENTS_ERROR_EFAULT_SIGMASK_UNMAPPED: &str =
        "io_pgetevents.error.EFAULT/sigmask-unmapped";
    pub const IO_PGETEVENTS_SIDE_EFFECT_RING_HEAD: &str = "io_pgetevents.side-effect.ring-head";
    pub const IO_CANCEL_ERROR_EINVAL_COMPLETED: &str = "io_cancel.error.EINVAL/completed";
    pub const IO_CANCEL_ERROR_EINVAL_FOREIGN_KEY: &str = "io_cancel.error.EINVAL/foreign-key";
    pub const IO_CANCEL_ERROR_EINPROGRESS_PENDING_POLL: &str =
        "io_cancel.error.EINPROGRESS/pending-poll";
    pub const IO_CANCEL_PARAM_RESULT_UNTOUCHED: &str = "io_cancel.param.result.untouched";
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
    /// Not an experiment of the probe: how a compat cell's probe started,
    /// written by the 32-bit probe itself, or by PID 1 when it could not
    /// exec it (guest-init's compat.rs).
    pub const ABI_COMPAT: &str = "abi.compat";
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
            case::RETURN_SUCCESS,
            case::SIDE_EFFECT_AIO_NR,
            case::SIDE_EFFECT_VMA,
            case::NOTES_HANDLE_IS_RING,
            case::NOTES_CAPACITY,
            case::CONSTRAINT_CONFIG_AIO_ENOSYS,
            case::SIDE_EFFECT_REVERSIBLE_IO_DESTROY,
            case::IO_SETUP_COMPAT_HANDLE_32BIT,
        ],
    ),
    e(ids::EXAMPLE_1024, &[case::EXAMPLES_IO_SETUP_1024]),
    e(ids::NR_SWEEP, &[case::PARAM_NR_EVENTS_RANGE]),
    e(ids::EINVAL_CTX_NONZERO, &[case::ERROR_EINVAL_CTXP_NONZERO]),
    e(
        ids::EINVAL_CTX_EXISTING,
        &[case::ERROR_EINVAL_CTXP_EXISTING],
    ),
    e(ids::EINVAL_NR_ZERO, &[case::ERROR_EINVAL_NR_EVENTS_ZERO]),
    e(ids::EFAULT_NULL, &[case::ERROR_EFAULT_NULL]),
    e(ids::EFAULT_UNMAPPED, &[case::ERROR_EFAULT_UNMAPPED]),
    e(
        ids::EFAULT_READONLY,
        &[case::ERROR_EFAULT_READONLY_WRITEBACK],
    ),
    es(
        ids::EAGAIN_EXCEEDS_MAX,
        &[case::ERROR_EAGAIN_EXCEEDS_AIO_MAX_NR],
        &[skip::NO_AIO_MAX_NR, skip::MAX_PLUS_ONE_TOO_BIG],
    ),
    es(
        ids::EAGAIN_BOUNDARY,
        &[
            case::CONSTRAINT_AIO_MAX_NR_OVER,
            case::CONSTRAINT_AIO_MAX_NR_EXACT,
        ],
        &[
            skip::NO_AIO_SYSCTLS,
            skip::ROOM_PLUS_ONE_TOO_BIG,
            skip::NO_ROOM,
            skip::ROOM_TOO_BIG,
        ],
    ),
    e(ids::ENOMEM_RLIMIT_AS, &[case::ERROR_ENOMEM_RLIMIT_AS]),
    es(
        ids::ENOMEM_VS_EAGAIN,
        &[case::ERROR_ENOMEM_OR_EAGAIN_BOTH_LIMITS],
        &[skip::NO_AIO_SYSCTLS, skip::MAX_REACHED, skip::MAX_TOO_LARGE],
    ),
    es(
        ids::ENOMEM_FAIL_NTH,
        &[case::ERROR_ENOMEM_FAIL_NTH],
        &[skip::NO_DEBUGFS, skip::NO_FAIL_NTH],
    ),
    es(
        ids::ENOMEM_FAILSLAB,
        &[case::ERROR_ENOMEM_FAILSLAB],
        &[skip::NO_DEBUGFS, skip::NO_FAILSLAB],
    ),
    e(
        ids::EINTR_SIGKILL,
        &[case::ERROR_EINTR_SIGKILL_LEAVES_NO_TRACE],
    ),
    e(
        ids::SIGNAL_NONFATAL,
        &[case::SIGNAL_NONFATAL_DOES_NOT_INTERRUPT],
    ),
    e(
        ids::SIDE_EFFECT_EXIT_RELEASES,
        &[case::STATE_TRANS_PROCESS_EXIT_RELEASES],
    ),
    e(
        ids::SIDE_EFFECT_DESTROY,
        &[case::SIDE_EFFECT_VMA_REMOVED_BY_IO_DESTROY],
    ),
    e(ids::TABLE_MANY, &[case::CONSTRAINT_PER_PROCESS_TABLE_GROWS]),
    e(
        ids::FORK_CHILD_USE,
        &[
            case::LONG_DESC_NOT_SHARED_ACROSS_PROCESSES,
            case::LONG_DESC_SHARED_BY_CLONE_VM_THREAD,
        ],
    ),
    e(
        ids::RING_MREMAP,
        &[
            case::SIDE_EFFECT_VMA_MREMAP_MOVES_HANDLE,
            case::SIDE_EFFECT_VMA_DONTEXPAND,
        ],
    ),
    es(
        ids::LIMIT_MAX_MAP_COUNT,
        &[case::ERROR_ENOMEM_MAX_MAP_COUNT],
        &[skip::NO_AIO_MAX_NR_AIO_OFF],
    ),
    // The rest of the AIO family (guest-init/src/family.rs).
    e(
        ids::ENOSYS_MAP,
        &[
            case::IO_SETUP_CONSTRAINT_CONFIG_AIO,
            case::IO_DESTROY_CONSTRAINT_CONFIG_AIO,
            case::IO_SUBMIT_CONSTRAINT_CONFIG_AIO,
            case::IO_CANCEL_CONSTRAINT_CONFIG_AIO,
            case::IO_GETEVENTS_CONSTRAINT_CONFIG_AIO,
            case::IO_PGETEVENTS_CONSTRAINT_CONFIG_AIO,
        ],
    ),
    generic(ids::IO_SETUP_GENERIC, "io_setup"),
    generic(ids::IO_DESTROY_GENERIC, "io_destroy"),
    e(
        ids::IO_DESTROY_TWICE,
        &[
            case::IO_DESTROY_RETURN_SUCCESS_FIRST,
            case::IO_DESTROY_STATE_TRANS_CONTEXT_SECOND_EINVAL,
            case::IO_DESTROY_SIDE_EFFECT_AIO_NR,
            case::IO_DESTROY_SIDE_EFFECT_VMA,
        ],
    ),
    e(
        ids::IO_DESTROY_SIGNAL,
        &[case::IO_DESTROY_SIGNAL_ANY_INTERVAL_TIMER],
    ),
    generic(ids::IO_SUBMIT_GENERIC, "io_submit"),
    e(
        ids::IO_SUBMIT_RW,
        &[
            case::IO_SUBMIT_RETURN_SUCCESS_RW,
            case::IO_SUBMIT_SIDE_EFFECT_AIO_KEY,
            case::IO_SUBMIT_SIDE_EFFECT_COMPLETION_RING,
            case::IO_SUBMIT_SIDE_EFFECT_FILE_DATA,
            case::IO_GETEVENTS_RETURN_SUCCESS_RW,
            case::IO_GETEVENTS_SIDE_EFFECT_RING_HEAD,
            case::IO_SUBMIT_NOTES_LATER_ERROR_HIDDEN,
        ],
    ),
    e(
        ids::IO_SUBMIT_RESFD,
        &[
            case::IO_SUBMIT_SIDE_EFFECT_EVENTFD,
            case::IO_SUBMIT_CONSTRAINT_CONFIG_EVENTFD,
        ],
    ),
    e(
        ids::IO_SUBMIT_ERRORS,
        &[
            case::IO_SUBMIT_ERROR_EBADF_CLOSED_FD,
            case::IO_SUBMIT_ERROR_EBADF_READ_ON_WRONLY,
            case::IO_SUBMIT_ERROR_EINVAL_OPCODE_NOOP,
            case::IO_SUBMIT_ERROR_EINVAL_RESERVED2,
            case::IO_SUBMIT_ERROR_EFAULT_IOCB_UNMAPPED,
            case::IO_SUBMIT_ERROR_EOPNOTSUPP_RW_FLAGS_UNKNOWN,
            case::IO_SUBMIT_ERROR_EFAULT_BUF_NOT_USER,
            case::IO_SUBMIT_ERROR_EAGAIN_SLOTS_FULL,
            case::IO_DESTROY_SIDE_EFFECT_IN_FLIGHT_POLLS,
        ],
    ),
    e(
        ids::IO_SUBMIT_IOPRIO,
        &[
            case::IO_SUBMIT_ERROR_EPERM_RT_UNPRIVILEGED,
            case::IO_SUBMIT_ERROR_ENOTBLK_NO_BLOCK_LAYER,
        ],
    ),
    generic(ids::IO_GETEVENTS_GENERIC, "io_getevents"),
    e(
        ids::IO_GETEVENTS_TIMEOUTS,
        &[
            case::IO_GETEVENTS_PARAM_TIMEOUT_ZERO,
            case::IO_GETEVENTS_PARAM_TIMEOUT_NEGATIVE,
            case::IO_GETEVENTS_PARAM_TIMEOUT_READ_BEFORE_CTX,
            case::IO_GETEVENTS_PARAM_TIMEOUT_ELAPSES,
            case::IO_GETEVENTS_PARAM_TIMEOUT_NSEC_UNVALIDATED,
            case::IO_GETEVENTS_PARAM_MIN_NR_SEMANTICS,
            case::IO_GETEVENTS_ERROR_EFAULT_EVENTS_COPY,
            case::IO_GETEVENTS_ERROR_EINTR_ALARM,
        ],
    ),
    generic(ids::IO_PGETEVENTS_GENERIC, "io_pgetevents"),
    e(
        ids::IO_PGETEVENTS_SIGMASK,
        &[
            case::IO_PGETEVENTS_SIGNAL_ANY_BLOCKED_STAYS_PENDING,
            case::IO_PGETEVENTS_ERROR_EINTR_UNBLOCKED_SIGNAL,
            case::IO_PGETEVENTS_STATE_TRANS_SIGNAL_MASK_RESTORED,
            case::IO_PGETEVENTS_CONSTRAINT_SIGSETSIZE,
            case::IO_PGETEVENTS_ERROR_EFAULT_SIGMASK_UNMAPPED,
            case::IO_PGETEVENTS_SIDE_EFFECT_RING_HEAD,
        ],
    ),
    generic(ids::IO_CANCEL_GENERIC, "io_cancel"),
    e(
        ids::IO_CANCEL_CASES,
        &[
            case::IO_CANCEL_ERROR_EINVAL_COMPLETED,
            case::IO_CANCEL_ERROR_EINVAL_FOREIGN_KEY,
            case::IO_CANCEL_ERROR_EINPROGRESS_PENDING_POLL,
            case::IO_CANCEL_PARAM_RESULT_UNTOUCHED,
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
