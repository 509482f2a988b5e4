//! The observation contract: the keys of the `obs` object of an experiment
//! record. The guest writes each field under one of these names with the
//! JSON builder (json.rs); the runner's judges read it back under the same
//! name. Neither side spells a key itself, so a key renamed here changes
//! both, and a constant renamed or removed here fails to compile on both.

/// Every observation key, by the shape it belongs to.
pub mod key {
    // One io_setup-like call (`observed_call` in the guest): what was
    // passed, what came back, aio-nr around it, and on success the
    // ring, its mapping and the io_destroy that released it (`DESTROY`
    // prefix).
    pub const NR_EVENTS: &str = "nr_events";
    pub const RET: &str = "ret";
    pub const ERRNO: &str = "errno";
    pub const HANDLE: &str = "handle";
    pub const AIO_NR_BEFORE: &str = "aio_nr_before";
    pub const AIO_NR_AFTER: &str = "aio_nr_after";
    pub const RING: &str = "ring";
    pub const MAPS_LINE: &str = "maps_line";
    pub const AIO_NR_AFTER_DESTROY: &str = "aio_nr_after_destroy";
    pub const DESTROY: &str = "destroy";

    // The aio_ring header (struct aio_ring's first eight u32).
    pub const ID: &str = "id";
    pub const NR: &str = "nr";
    pub const HEAD: &str = "head";
    pub const TAIL: &str = "tail";
    pub const MAGIC: &str = "magic";
    pub const COMPAT_FEATURES: &str = "compat_features";
    pub const INCOMPAT_FEATURES: &str = "incompat_features";
    pub const HEADER_LENGTH: &str = "header_length";

    // One struct io_event.
    pub const DATA: &str = "data";
    pub const OBJ: &str = "obj";
    pub const RES: &str = "res";
    pub const RES2: &str = "res2";

    // A step run in a grandchild (sweeps, fault injection, lifecycle)
    // and the snapshots of a run of steps.
    pub const FATE: &str = "fate";
    pub const STEPS: &str = "steps";
    pub const K: &str = "k";
    pub const STOP: &str = "stop";
    pub const STOPPED: &str = "stopped";
    pub const OOM_BALLAST_KILLED: &str = "oom_ballast_killed";
    pub const SKIPPED: &str = "skipped";
    pub const ERROR: &str = "error";
    pub const GRANDCHILD: &str = "grandchild";
    pub const GRANDCHILD_FATE: &str = "grandchild_fate";
    pub const CHILD_FATE: &str = "child_fate";
    pub const COUNT: &str = "count";
    pub const CASES: &str = "cases";
    pub const CALLS: &str = "calls";

    // A program the guest ran (--exec).
    pub const ARGV: &str = "argv";
    pub const STATUS: &str = "status";
    pub const STDOUT: &str = "stdout";
    pub const STDERR: &str = "stderr";
    pub const STDOUT_BYTES: &str = "stdout_bytes";
    pub const STDERR_BYTES: &str = "stderr_bytes";
    pub const KERNEL_LOG: &str = "kernel_log";

    // A virtiofs share the guest mounted and probed.
    pub const TAG: &str = "tag";
    pub const PATH: &str = "path";
    pub const RW: &str = "rw";
    pub const MOUNT_RET: &str = "mount_ret";
    pub const MOUNT_ERRNO: &str = "mount_errno";
    pub const WRITE_RET: &str = "write_ret";
    pub const WRITE_ERRNO: &str = "write_errno";

    // Fields of single experiments (see the guest's experiment bodies and
    // the judge of the same name), and the prefixes of calls recorded as
    // `<prefix>_ret` / `<prefix>_errno` (see `ret_of`).
    pub const ADDR: &str = "addr";
    pub const AGAIN_DESTROY: &str = "again_destroy";
    pub const AIO_KEY: &str = "aio_key";
    pub const AIO_MAPS_AFTER: &str = "aio_maps_after";
    pub const AIO_MAPS_AFTER_DESTROY: &str = "aio_maps_after_destroy";
    pub const AIO_MAPS_BEFORE: &str = "aio_maps_before";
    pub const AIO_MAX_NR: &str = "aio_max_nr";
    pub const AIO_NR_AFTER_EXIT: &str = "aio_nr_after_exit";
    pub const AIO_NR_AFTER_EXPLICIT: &str = "aio_nr_after_explicit";
    pub const AIO_NR_AFTER_GRANDCHILD: &str = "aio_nr_after_grandchild";
    pub const AIO_NR_AFTER_PARENT_DESTROY: &str = "aio_nr_after_parent_destroy";
    pub const AIO_NR_AFTER_SETUP: &str = "aio_nr_after_setup";
    pub const AIO_NR_BEFORE_DESTROY: &str = "aio_nr_before_destroy";
    pub const AIO_NR_DURING: &str = "aio_nr_during";
    pub const AIO_NR_HELD: &str = "aio_nr_held";
    pub const AIO_NR_INITIAL: &str = "aio_nr_initial";
    pub const AIO_NR_LIVE: &str = "aio_nr_live";
    pub const AIO_NR_WITH_ALL: &str = "aio_nr_with_all";
    pub const ALARM_AFTER_MS: &str = "alarm_after_ms";
    pub const ALARM_ERRNO: &str = "alarm_errno";
    pub const ALARM_MS: &str = "alarm_ms";
    pub const ALARM_RUNS: &str = "alarm_runs";
    pub const ARCH: &str = "arch";
    pub const ARGS: &str = "args";
    pub const BAD_CTX_UNMAPPED_TIMEOUT: &str = "bad_ctx_unmapped_timeout";
    pub const BAD_SIGSETSIZE: &str = "bad_sigsetsize";
    pub const BE_NOBODY: &str = "be_nobody";
    pub const BUF_NOT_USER: &str = "buf-not-user";
    pub const CALL: &str = "call";
    pub const CANCELLED_EVENT: &str = "cancelled_event";
    pub const CANCEL_COMPLETED: &str = "cancel_completed";
    pub const CANCEL_FOREIGN_KEY: &str = "cancel_foreign_key";
    pub const CANCEL_PENDING_POLL: &str = "cancel_pending_poll";
    pub const CLOSED_FD: &str = "closed-fd";
    pub const COOKIE: &str = "cookie";
    pub const CREATED: &str = "created";
    pub const CTX_SETUP: &str = "ctx_setup";
    pub const DEAD_DESTROY: &str = "dead_destroy";
    pub const DEAD_RESERVED: &str = "dead_reserved";
    pub const DEAD_SETUP: &str = "dead_setup";
    pub const DISTINCT_HANDLES: &str = "distinct_handles";
    pub const DISTINCT_RING_IDS: &str = "distinct_ring_ids";
    pub const DONTUNMAP: &str = "dontunmap";
    pub const EINTR: &str = "eintr";
    pub const ELAPSED_MS: &str = "elapsed_ms";
    pub const ELAPSED_US: &str = "elapsed_us";
    pub const EMPTY_100MS: &str = "empty_100ms";
    pub const EMPTY_NEGATIVE_TIMEOUT: &str = "empty_negative_timeout";
    pub const EMPTY_NO_TIMEOUT_ALARM: &str = "empty_no_timeout_alarm";
    pub const EMPTY_NSEC_UNVALIDATED: &str = "empty_nsec_unvalidated";
    pub const EMPTY_ZERO_TIMEOUT: &str = "empty_zero_timeout";
    pub const EVENT: &str = "event";
    pub const EVENTFD: &str = "eventfd";
    pub const EVENTFD_COUNT: &str = "eventfd_count";
    pub const EVENTFD_READ_ERROR: &str = "eventfd_read_error";
    pub const EVENTS_UNMAPPED: &str = "events_unmapped";
    pub const EXACT: &str = "exact";
    pub const EXPLICIT_DESTROYS: &str = "explicit_destroys";
    pub const EXPLICIT_DESTROY_FAILURES: &str = "explicit_destroy_failures";
    pub const FAIL_NTH_AFTER: &str = "fail_nth_after";
    pub const FIRST: &str = "first";
    pub const FIRST_DESTROY: &str = "first_destroy";
    pub const FIRST_FAILURE: &str = "first_failure";
    pub const GETEVENTS: &str = "getevents";
    pub const GETEVENTS_AFTER_CANCEL: &str = "getevents_after_cancel";
    pub const GOOD_THEN_CLOSED_FD: &str = "good_then_closed_fd";
    pub const GROW: &str = "grow";
    pub const HANDLER_RUNS: &str = "handler_runs";
    pub const HOLD: &str = "hold";
    pub const HOLD_DESTROY: &str = "hold_destroy";
    pub const INDEX: &str = "index";
    pub const IOCB: &str = "iocb";
    pub const IOCB_UNMAPPED: &str = "iocb-unmapped";
    pub const KEY_AFTER: &str = "key_after";
    pub const KILLED_BY_PARENT: &str = "killed_by_parent";
    pub const MADE_DESTROY: &str = "made_destroy";
    pub const MAKE_IT_FAIL_OFF: &str = "make_it_fail_off";
    pub const MAKE_IT_FAIL_ON: &str = "make_it_fail_on";
    pub const MAPS_AT_START: &str = "maps_at_start";
    pub const MAPS_HAS_HANDLE: &str = "maps_has_handle";
    pub const MAPS_LINE_AFTER_DESTROY: &str = "maps_line_after_destroy";
    pub const MASK_AFTER: &str = "mask_after";
    pub const MASK_BEFORE: &str = "mask_before";
    pub const MASK_BLOCKS_OPEN_ALARM: &str = "mask_blocks_open_alarm";
    pub const MASK_UNBLOCKS_USR1: &str = "mask_unblocks_usr1";
    pub const MASK_UNMAPPED: &str = "mask_unmapped";
    pub const MAX_MAP_COUNT: &str = "max_map_count";
    pub const MIN1_NR2: &str = "min1_nr2";
    pub const MIN2_NR5_100MS_ONE_LEFT: &str = "min2_nr5_100ms_one_left";
    pub const MOVE: &str = "move";
    pub const MOVED_TO_REQUESTED: &str = "moved_to_requested";
    pub const NBYTES: &str = "nbytes";
    pub const NEW_DESTROY: &str = "new_destroy";
    pub const OK: &str = "ok";
    pub const OLD_DESTROY: &str = "old_destroy";
    pub const ONE_MORE: &str = "one_more";
    pub const OPCODE_NOOP: &str = "opcode-noop";
    pub const OTHER_ERRORS: &str = "other_errors";
    pub const OVER: &str = "over";
    pub const PARENT_DESTROY: &str = "parent_destroy";
    pub const PARENT_MAPS_LINE: &str = "parent_maps_line";
    pub const PGETEVENTS: &str = "pgetevents";
    pub const PIN_CPU: &str = "pin_cpu";
    pub const PIN_ERRNO: &str = "pin_errno";
    pub const PIPE_ERROR: &str = "pipe_error";
    pub const POLLS: &str = "polls";
    pub const POLL_IOCB: &str = "poll_iocb";
    pub const POLL_MPROTECT_ERRNO: &str = "poll_mprotect_errno";
    pub const POLL_PAGE_ERROR: &str = "poll_page_error";
    pub const POLL_PIPE_ERRNO: &str = "poll_pipe_errno";
    pub const POLL_SUBMIT: &str = "poll_submit";
    pub const READ: &str = "read";
    pub const READ_BACK_MATCHES: &str = "read_back_matches";
    pub const READ_ON_WRONLY: &str = "read-on-wronly";
    pub const REQUESTED: &str = "requested";
    pub const RESERVED2: &str = "reserved2";
    pub const RESERVE_ERRNO: &str = "reserve_errno";
    pub const RESTORE: &str = "restore";
    pub const RESTORE_ERRNO: &str = "restore_errno";
    pub const RESULT_UNTOUCHED: &str = "result_untouched";
    pub const RING_AFTER_GET: &str = "ring_after_get";
    pub const RING_AFTER_POLL_SUBMIT: &str = "ring_after_poll_submit";
    pub const RING_AFTER_SUBMIT3: &str = "ring_after_submit3";
    pub const RING_AFTER_SUBMIT: &str = "ring_after_submit";
    pub const RING_BEFORE: &str = "ring_before";
    pub const RING_BYTES: &str = "ring_bytes";
    pub const RING_MAPPED_AFTER: &str = "ring_mapped_after";
    pub const RING_NR: &str = "ring_nr";
    pub const RT_NOBODY: &str = "rt_nobody";
    pub const RT_ROOT: &str = "rt_root";
    pub const RW_FLAGS_UNKNOWN: &str = "rw-flags-unknown";
    pub const SECOND: &str = "second";
    pub const SECOND_DESTROY: &str = "second_destroy";
    pub const SETRESUID_ERRNO: &str = "setresuid_errno";
    pub const SETRESUID_RET: &str = "setresuid_ret";
    pub const SETRLIMIT_ERRNO: &str = "setrlimit_errno";
    pub const SETUP: &str = "setup";
    pub const SETUPS_OK: &str = "setups_ok";
    pub const SIGNALS: &str = "signals";
    pub const SUBMIT1: &str = "submit1";
    pub const SUBMIT3: &str = "submit3";
    pub const SUBMIT: &str = "submit";
    pub const SUBMIT_POLL: &str = "submit_poll";
    pub const SUBMIT_RESFD_REGULAR: &str = "submit_resfd_regular";
    pub const SUBMIT_WRITE: &str = "submit_write";
    pub const SYSCALL: &str = "syscall";
    pub const THREAD: &str = "thread";
    pub const THREAD_DESTROY: &str = "thread_destroy";
    pub const THREAD_ERROR: &str = "thread_error";
    pub const TICKS_DURING: &str = "ticks_during";
    pub const TICK_US: &str = "tick_us";
    pub const TIMEOUT_MS: &str = "timeout_ms";
    pub const TIMER_ERRNO: &str = "timer_errno";
    pub const TIMES_AFTER: &str = "times_after";
    pub const TRIES: &str = "tries";
    pub const VALUE: &str = "value";
    pub const VM_SIZE_KB: &str = "vm_size_kb";
    pub const WRITE: &str = "write";

    /// `<prefix>_ret`: the return value of the call recorded under `prefix`.
    pub fn ret_of(prefix: &str) -> String {
        format!("{prefix}_ret")
    }

    /// `<prefix>_errno`: its errno (0 when it succeeded).
    pub fn errno_of(prefix: &str) -> String {
        format!("{prefix}_errno")
    }

    /// `<prefix>_nr`: the nr_events of the io_setup that made a context.
    pub fn nr_of(prefix: &str) -> String {
        format!("{prefix}_nr")
    }

    /// `<prefix>_aio_nr`: aio-nr read just before that io_setup.
    pub fn aio_nr_of(prefix: &str) -> String {
        format!("{prefix}_aio_nr")
    }

    /// `<prefix>_own`: whether the case itself made that context.
    pub fn own_of(prefix: &str) -> String {
        format!("{prefix}_own")
    }
}
