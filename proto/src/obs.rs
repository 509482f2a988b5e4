//! The observation contract: the `obs` object of an experiment record.
//! The recurring shapes (a syscall's result, an io_setup call, the ring
//! header) are types here with a writer the guest uses (to the JSON
//! builder, json.rs) and a reader the runner uses (through `Read`, which
//! its observation accessor implements, so a missing field is an error
//! naming its path). Every other field is a constant in `key`. Neither
//! side spells a key itself: a key renamed here changes both, and a field
//! or constant renamed or removed here fails to compile on both.

use crate::json::Obj;
use crate::record::Fate;

/// Read access to one object of an observation, implemented by the runner
/// over its JSON library. Errors name the field's path; there is no
/// default for a field that is missing, null or of another kind.
pub trait Read: Sized {
    type Error;
    fn u64(&self, key: &str) -> Result<u64, Self::Error>;
    fn u32(&self, key: &str) -> Result<u32, Self::Error>;
    fn i64(&self, key: &str) -> Result<i64, Self::Error>;
    /// A member that must be an object.
    fn obj(&self, key: &str) -> Result<Self, Self::Error>;
}

/// A raw syscall result: `errno` is 0 unless `ret` is -1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SysRet {
    pub ret: i64,
    pub errno: i64,
}

/// What success looks like for a syscall, as its spec states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Success {
    /// Returns 0 (io_setup, io_destroy, io_cancel).
    Zero,
    /// Returns a count (io_submit, io_getevents, io_pgetevents) or a
    /// descriptor (eventfd2), 0 included.
    NonNegative,
}

impl Success {
    /// The rule of the AIO syscall `name` (its entry in syscalls.rs); None
    /// for another name.
    pub fn of(name: &str) -> Option<Success> {
        crate::syscalls::find(name).map(|s| s.success)
    }

    /// Whether `ret` is a success under this rule.
    pub fn holds(self, ret: i64) -> bool {
        match self {
            Success::Zero => ret == 0,
            Success::NonNegative => ret >= 0,
        }
    }
}

impl SysRet {
    /// "OK" when `ret` is a success under `rule`, the errno's name (from
    /// `errno_name`) when it is -1, and "ret N" for any other value; a -1
    /// without an errno never reads as success.
    pub fn outcome(&self, rule: Success, errno_name: fn(i64) -> String) -> String {
        match self.ret {
            r if rule.holds(r) => "OK".into(),
            -1 if self.errno == 0 => "ret -1 without errno".into(),
            -1 => errno_name(self.errno),
            r => format!("ret {r}"),
        }
    }

    /// Adds `ret` and `errno`.
    pub fn put(&self, o: &mut Obj) {
        o.i64(key::RET, self.ret).i64(key::ERRNO, self.errno);
    }

    /// `{"ret":…, "errno":…}`.
    pub fn to_obj(&self) -> Obj {
        let mut o = Obj::new();
        self.put(&mut o);
        o
    }

    /// Adds `<prefix>_ret` and `<prefix>_errno`.
    pub fn put_as(&self, o: &mut Obj, prefix: &str) {
        o.i64(&key::ret_of(prefix), self.ret)
            .i64(&key::errno_of(prefix), self.errno);
    }

    /// Both as null: the call was not made.
    pub fn put_null_as(o: &mut Obj, prefix: &str) {
        o.null(&key::ret_of(prefix)).null(&key::errno_of(prefix));
    }

    pub fn read<R: Read>(r: &R) -> Result<SysRet, R::Error> {
        Ok(SysRet {
            ret: r.i64(key::RET)?,
            errno: r.i64(key::ERRNO)?,
        })
    }

    pub fn read_as<R: Read>(r: &R, prefix: &str) -> Result<SysRet, R::Error> {
        Ok(SysRet {
            ret: r.i64(&key::ret_of(prefix))?,
            errno: r.i64(&key::errno_of(prefix))?,
        })
    }
}

/// One io_setup(nr_events, &ctx) call: what was passed and what came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub nr_events: u64,
    pub ret: SysRet,
    /// The aio_context_t variable after the call.
    pub handle: u64,
}

impl Call {
    pub fn ok(&self) -> bool {
        Success::Zero.holds(self.ret.ret)
    }

    /// Adds nr_events, ret, errno and handle.
    pub fn put(&self, o: &mut Obj) {
        o.u64(key::NR_EVENTS, self.nr_events);
        self.ret.put(o);
        o.u64(key::HANDLE, self.handle);
    }

    pub fn to_obj(&self) -> Obj {
        let mut o = Obj::new();
        self.put(&mut o);
        o
    }

    pub fn read<R: Read>(r: &R) -> Result<Call, R::Error> {
        Ok(Call {
            nr_events: r.u64(key::NR_EVENTS)?,
            ret: SysRet::read(r)?,
            handle: r.u64(key::HANDLE)?,
        })
    }
}

/// A step run in a grandchild (a sweep's nr_events, a lifecycle's child):
/// `fate` first, then the fields the step reported (an object written by
/// this crate's JSON builder, or "{}" when it died before reporting).
pub fn step(fate: &Fate, reported: &str) -> Obj {
    let mut o = Obj::new();
    o.str(key::FATE, &fate.label()).members_of(reported);
    o
}

/// The fate a step's `fate` field names; Err(the label) for one that is
/// no fate.
pub fn fate_of(label: &str) -> Result<Fate, String> {
    Fate::parse(label).ok_or_else(|| label.to_string())
}

/// The aio_ring header as the kernel initialised it (struct aio_ring's
/// first eight u32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ring {
    pub id: u32,
    pub nr: u32,
    pub head: u32,
    pub tail: u32,
    pub magic: u32,
    pub compat_features: u32,
    pub incompat_features: u32,
    pub header_length: u32,
}

impl Ring {
    pub fn to_obj(self) -> Obj {
        let mut o = Obj::new();
        for (k, v) in self.fields() {
            o.u64(k, v.into());
        }
        o
    }

    pub fn read<R: Read>(r: &R) -> Result<Ring, R::Error> {
        Ok(Ring {
            id: r.u32(key::ID)?,
            nr: r.u32(key::NR)?,
            head: r.u32(key::HEAD)?,
            tail: r.u32(key::TAIL)?,
            magic: r.u32(key::MAGIC)?,
            compat_features: r.u32(key::COMPAT_FEATURES)?,
            incompat_features: r.u32(key::INCOMPAT_FEATURES)?,
            header_length: r.u32(key::HEADER_LENGTH)?,
        })
    }

    fn fields(self) -> [(&'static str, u32); 8] {
        [
            (key::ID, self.id),
            (key::NR, self.nr),
            (key::HEAD, self.head),
            (key::TAIL, self.tail),
            (key::MAGIC, self.magic),
            (key::COMPAT_FEATURES, self.compat_features),
            (key::INCOMPAT_FEATURES, self.incompat_features),
            (key::HEADER_LENGTH, self.header_length),
        ]
    }
}

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
    /// A 32-bit build's word right after its 4-byte aio_context_t, preset
    /// to a sentinel (null in a 64-bit build, whose handle is 8 bytes).
    pub const CTX_NEXT_WORD: &str = "ctx_next_word";
    /// enosys.map, 32-bit builds: which entry point of the call a call
    /// used ("time32", "time64"); absent where the call has one.
    pub const ENTRY: &str = "entry";
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
    /// SIGALRM handler runs already seen just before the call was made: an
    /// alarm that fired before the call leaves it nothing to hold back.
    pub const ALARM_RUNS_BEFORE_CALL: &str = "alarm_runs_before_call";
    pub const ARCH: &str = "arch";
    pub const ARGS: &str = "args";
    /// abi.compat: execv's errno for the 32-bit probe (null: it ran).
    pub const EXEC_ERRNO: &str = "exec_errno";
    /// abi.compat: the probe's pointer width in bits (null: it did not run).
    pub const POINTER_BITS: &str = "pointer_bits";
    pub const BAD_CTX_UNMAPPED_TIMEOUT: &str = "bad_ctx_unmapped_timeout";
    pub const BAD_SIGSETSIZE: &str = "bad_sigsetsize";
    pub const BE_NOBODY: &str = "be_nobody";
    pub const BUF_NOT_USER: &str = "buf-not-user";
    pub const CALL: &str = "call";
    pub const CANCELLED_EVENT: &str = "cancelled_event";
    pub const CANCEL_COMPLETED: &str = "cancel_completed";
    pub const CANCEL_FOREIGN_KEY: &str = "cancel_foreign_key";
    pub const CANCEL_FOREIGN_KEY_PENDING: &str = "cancel_foreign_key_pending";
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
    /// Voluntary context switches of the calling thread during a call
    /// (getrusage RUSAGE_THREAD ru_nvcsw after minus before): 0 = it did not sleep.
    pub const NVCSW: &str = "nvcsw";
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
    /// The eventfd the pending polls signal when they complete, and its
    /// count read (without blocking) right after io_destroy returned.
    pub const POLLS_EVENTFD: &str = "polls_eventfd";
    pub const POLLS_EVENTFD_AFTER_DESTROY: &str = "polls_eventfd_after_destroy";
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

#[cfg(test)]
mod tests {
    use super::*;

    fn name(e: i64) -> String {
        format!("E{e}")
    }

    #[test]
    fn one_success_rule_per_syscall() {
        let r = |ret, errno| SysRet { ret, errno };
        let zero = Success::of("io_setup").unwrap();
        let count = Success::of("io_getevents").unwrap();
        assert_eq!(Success::of("io_destroy"), Some(Success::Zero));
        assert_eq!(Success::of("io_submit"), Some(Success::NonNegative));
        assert_eq!(Success::of("read"), None);
        assert_eq!(r(0, 0).outcome(zero, name), "OK");
        assert_eq!(r(0, 0).outcome(count, name), "OK");
        // A count is success only where the spec returns one.
        assert_eq!(r(3, 0).outcome(count, name), "OK");
        assert_eq!(r(3, 0).outcome(zero, name), "ret 3");
        assert_eq!(r(-1, 22).outcome(zero, name), "E22");
        assert_eq!(r(-1, 22).outcome(count, name), "E22");
        // A failure never reads as success, with or without an errno.
        assert_eq!(r(-1, 0).outcome(count, name), "ret -1 without errno");
        assert_eq!(r(-2, 0).outcome(count, name), "ret -2");
    }

    #[test]
    fn writers_use_the_keys() {
        let r = SysRet { ret: -1, errno: 14 };
        let mut o = Obj::new();
        r.put_as(&mut o, key::DESTROY);
        SysRet::put_null_as(&mut o, key::SETUP);
        assert_eq!(
            o.to_json(),
            "{\"destroy_ret\":-1,\"destroy_errno\":14,\"setup_ret\":null,\"setup_errno\":null}"
        );
        let c = Call {
            nr_events: 128,
            ret: SysRet { ret: 0, errno: 0 },
            handle: 7,
        };
        assert_eq!(
            c.to_obj().to_json(),
            "{\"nr_events\":128,\"ret\":0,\"errno\":0,\"handle\":7}"
        );
        let ring = Ring {
            id: 0,
            nr: 258,
            head: 0,
            tail: 0,
            magic: 0xa10a10a1,
            compat_features: 1,
            incompat_features: 0,
            header_length: 32,
        };
        assert_eq!(
            ring.to_obj().to_json(),
            "{\"id\":0,\"nr\":258,\"head\":0,\"tail\":0,\"magic\":2701791393,\
             \"compat_features\":1,\"incompat_features\":0,\"header_length\":32}"
        );
    }
}
