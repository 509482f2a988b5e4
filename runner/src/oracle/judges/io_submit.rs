//! io_submit's hand-written experiments (spec/io_submit-kapi-spec.txt): a
//! write and a read through the ring (io_submit.rw, which also shows
//! io_getevents consuming them), eventfd notification (io_submit.resfd) and
//! the per-iocb errors (io_submit.errors, which ends by destroying a
//! context full of pending polls).

use super::super::obs::{Missing, Obs, Res};
use super::super::{CaseDef, Check, Ctx, Judge, Verdict};
use super::family::{cannot_run, outcome, outcome_is, ret, sysret};
use kmatrix_proto::catalogue::{case, ids};
use kmatrix_proto::obs::{key, Success};

const RW_SUBMIT: &str = case::IO_SUBMIT_RETURN_SUCCESS_RW;
const AIO_KEY: &str = case::IO_SUBMIT_SIDE_EFFECT_AIO_KEY;
const RING: &str = case::IO_SUBMIT_SIDE_EFFECT_COMPLETION_RING;
const FILE_DATA: &str = case::IO_SUBMIT_SIDE_EFFECT_FILE_DATA;
const RW_GET: &str = case::IO_GETEVENTS_RETURN_SUCCESS_RW;
const RING_HEAD: &str = case::IO_GETEVENTS_SIDE_EFFECT_RING_HEAD;
const LATER_ERROR: &str = case::IO_SUBMIT_NOTES_LATER_ERROR_HIDDEN;

pub const RW: Judge = Judge {
    experiment: ids::IO_SUBMIT_RW,
    only: None,
    cases: &[
        CaseDef {
            id: RW_SUBMIT,
            clauses: &["return:success", "examples:io_submit(ctx, 1, &p)"],
        },
        CaseDef {
            id: AIO_KEY,
            clauses: &["side-effect:iocb->aio_key"],
        },
        CaseDef {
            id: RING,
            clauses: &[
                "side-effect:completion ring",
                "state-trans:request",
                "long-desc:Rejects a negative nr,",
            ],
        },
        CaseDef {
            id: FILE_DATA,
            clauses: &["side-effect:file data"],
        },
        CaseDef {
            id: RW_GET,
            clauses: &["return:success"],
        },
        CaseDef {
            id: RING_HEAD,
            clauses: &["side-effect:ring head", "state-trans:ring"],
        },
        CaseDef {
            id: LATER_ERROR,
            clauses: &["notes:The error of a", "return:success"],
        },
    ],
    run: rw,
};

/// One check over the write and the read step: observed "write: ..; read: ..".
fn each(
    o: &Obs,
    name: &'static str,
    expected: &str,
    f: &dyn Fn(&Obs) -> Res<(String, bool)>,
) -> Res<Check> {
    let mut seen = Vec::new();
    let mut ok = true;
    for s in [key::WRITE, key::READ] {
        let (t, good) = f(&o.obj(s)?)?;
        seen.push(format!("{s}: {t}"));
        ok &= good;
    }
    Ok(Check::new(name, expected, seen.join("; "), ok))
}

fn rw(c: &mut Ctx, o: &Obs) -> Res<()> {
    if cannot_run(c, o)? {
        return Ok(());
    }
    let r = each(o, key::SUBMIT, "1 iocb submitted", &|v| {
        let n = ret(v, key::SUBMIT)?;
        Ok((format!("ret {n}"), n == 1))
    });
    c.decide(RW_SUBMIT, r);
    let r = each(o, key::AIO_KEY, "aio_key 0 (KIOCB_KEY)", &|v| {
        let k = v.i64(key::KEY_AFTER)?;
        Ok((format!("aio_key {k:#x}"), k == 0))
    });
    c.decide(AIO_KEY, r);
    let nbytes = o.i64(key::NBYTES);
    let r = each(
        o,
        "completion ring",
        "tail +1 at submit; event {aio_data, iocb, nbytes, 0}",
        &|v| {
            let n = nbytes.clone()?;
            let tb = v.obj(key::RING_BEFORE)?.i64(key::TAIL)?;
            let ta = v.obj(key::RING_AFTER_SUBMIT)?.i64(key::TAIL)?;
            let ev = v.obj(key::EVENT)?;
            let (d, ob, res, res2) = (
                ev.i64(key::DATA)?,
                ev.i64(key::OBJ)?,
                ev.i64(key::RES)?,
                ev.i64(key::RES2)?,
            );
            let iocb = v.i64(key::IOCB)?;
            let ok =
                ta == tb + 1 && d == v.i64(key::COOKIE)? && ob == iocb && res == n && res2 == 0;
            Ok((
                format!(
                    "tail {tb}->{ta}, event data {d:#x} res {res} res2 {res2} obj==iocb {}",
                    ob == iocb
                ),
                ok,
            ))
        },
    );
    c.decide(RING, r);
    let r = o.bool(key::READ_BACK_MATCHES).map(|m| {
        Check::new(
            "file data",
            "pread returns what pwrite wrote",
            format!("read back matches: {m}"),
            m,
        )
    });
    c.decide(FILE_DATA, r);
    let r = each(o, key::GETEVENTS, "1 event", &|v| {
        let n = ret(v, key::GETEVENTS)?;
        Ok((format!("ret {n}"), n == 1))
    });
    c.decide(RW_GET, r);
    let r = each(
        o,
        "ring head",
        "head +1 = tail after consuming; tail unchanged",
        &|v| {
            let (s, g) = (v.obj(key::RING_AFTER_SUBMIT)?, v.obj(key::RING_AFTER_GET)?);
            let (h0, t) = (s.i64(key::HEAD)?, s.i64(key::TAIL)?);
            let (h1, t1) = (g.i64(key::HEAD)?, g.i64(key::TAIL)?);
            Ok((
                format!("head {h0}->{h1}, tail {t}->{t1}"),
                h1 == h0 + 1 && h1 == t && t1 == t,
            ))
        },
    );
    c.decide(RING_HEAD, r);
    let r = ret(o, key::GOOD_THEN_CLOSED_FD).map(|n| {
        Check::new(
            "count",
            "1 (the write); the closed fd's EBADF not reported",
            format!("ret {n}"),
            n == 1,
        )
    });
    c.decide(LATER_ERROR, r);
    Ok(())
}

const EVENTFD: &str = case::IO_SUBMIT_SIDE_EFFECT_EVENTFD;
const CONFIG_EVENTFD: &str = case::IO_SUBMIT_CONSTRAINT_CONFIG_EVENTFD;

pub const RESFD: Judge = Judge {
    experiment: ids::IO_SUBMIT_RESFD,
    only: None,
    cases: &[
        CaseDef {
            id: EVENTFD,
            clauses: &["side-effect:eventfd counter"],
        },
        CaseDef {
            id: CONFIG_EVENTFD,
            clauses: &[
                "constraint:CONFIG_EVENTFD for IOCB_FLAG_RESFD",
                "error:ENOSYS",
            ],
        },
    ],
    run: resfd,
};

/// CONFIG_EVENTFD comes from the kernel's config (CellFacts), never from
/// eventfd2's answer: an eventfd2 that disagrees with the config is a
/// finding of the CONFIG_EVENTFD case, not a reason to skip.
fn resfd(c: &mut Ctx, o: &Obs) -> Res<()> {
    if cannot_run(c, o)? {
        return Ok(());
    }
    let efd = sysret(o, key::EVENTFD, Success::NonNegative);
    match (efd.as_deref(), c.f.eventfd) {
        (Ok("OK"), _) => {
            let r = (|| {
                let s = ret(o, key::SUBMIT)?;
                let n = o.i64(key::EVENTFD_COUNT)?;
                Ok(Check::new(
                    "eventfd count",
                    "submit 1, eventfd count 1",
                    format!("submit {s}, eventfd count {n}"),
                    s == 1 && n == 1,
                ))
            })();
            c.decide(EVENTFD, r);
        }
        (Ok("ENOSYS"), Some(false)) => c.note(
            EVENTFD,
            Verdict::Skip,
            "eventfd2 ENOSYS".into(),
            "CONFIG_EVENTFD=n in this kernel's config: no eventfd to notify".into(),
        ),
        (Ok(e), _) => c.note(
            EVENTFD,
            Verdict::Error,
            format!("eventfd2 {e}"),
            "eventfd2 failed: no eventfd to test with (see io_submit.constraint.CONFIG_EVENTFD)"
                .into(),
        ),
        (Err(m), _) => c.error(EVENTFD, m.0.clone()),
    }
    // With CONFIG_EVENTFD=y eventfd2 works and a regular file as resfd is
    // EINVAL; with =n both are ENOSYS (eventfd_ctx_fdget's stub).
    let Some(has) = c.f.eventfd else {
        c.skip(
            CONFIG_EVENTFD,
            "the kernel's config is unknown (a prebuilt image without a .config beside it), so whether it has CONFIG_EVENTFD cannot be checked",
        );
        return Ok(());
    };
    let (want_efd, want_resfd) = if has {
        ("OK", "EINVAL")
    } else {
        ("ENOSYS", "ENOSYS")
    };
    let r: Res<Vec<Check>> = (|| {
        let efd = efd.clone()?;
        Ok(vec![
            outcome_is(
                "outcome",
                o,
                key::SUBMIT_RESFD_REGULAR,
                Success::NonNegative,
                want_resfd,
            )?,
            Check::new(
                "eventfd2",
                format!(
                    "{want_efd} (CONFIG_EVENTFD={})",
                    if has { "y" } else { "n" }
                ),
                &efd,
                efd == want_efd,
            ),
        ])
    })();
    match r {
        Ok(checks) => c.case(CONFIG_EVENTFD, checks),
        Err(m) => c.error(CONFIG_EVENTFD, m.0),
    }
    Ok(())
}

/// (case, the call in obs.calls, the errno the spec names)
const NAMED: &[(&str, &str, &str)] = &[
    (
        case::IO_SUBMIT_ERROR_EBADF_CLOSED_FD,
        key::CLOSED_FD,
        "EBADF",
    ),
    (
        case::IO_SUBMIT_ERROR_EBADF_READ_ON_WRONLY,
        key::READ_ON_WRONLY,
        "EBADF",
    ),
    (
        case::IO_SUBMIT_ERROR_EINVAL_OPCODE_NOOP,
        key::OPCODE_NOOP,
        "EINVAL",
    ),
    (
        case::IO_SUBMIT_ERROR_EINVAL_RESERVED2,
        key::RESERVED2,
        "EINVAL",
    ),
    (
        case::IO_SUBMIT_ERROR_EFAULT_IOCB_UNMAPPED,
        key::IOCB_UNMAPPED,
        "EFAULT",
    ),
    (
        case::IO_SUBMIT_ERROR_EOPNOTSUPP_RW_FLAGS_UNKNOWN,
        key::RW_FLAGS_UNKNOWN,
        "EOPNOTSUPP",
    ),
    (
        case::IO_SUBMIT_ERROR_EFAULT_BUF_NOT_USER,
        key::BUF_NOT_USER,
        "EFAULT",
    ),
];
const SLOTS_FULL: &str = case::IO_SUBMIT_ERROR_EAGAIN_SLOTS_FULL;
const IN_FLIGHT: &str = case::IO_DESTROY_SIDE_EFFECT_IN_FLIGHT_POLLS;

pub const ERRORS: Judge = Judge {
    experiment: ids::IO_SUBMIT_ERRORS,
    only: None,
    cases: &[
        CaseDef {
            id: NAMED[0].0,
            clauses: &["error:EBADF"],
        },
        CaseDef {
            id: NAMED[1].0,
            clauses: &["error:EBADF"],
        },
        CaseDef {
            id: NAMED[2].0,
            clauses: &["error:EINVAL"],
        },
        CaseDef {
            id: NAMED[3].0,
            clauses: &["error:EINVAL"],
        },
        CaseDef {
            id: NAMED[4].0,
            clauses: &["error:EFAULT"],
        },
        CaseDef {
            id: NAMED[5].0,
            clauses: &["error:EOPNOTSUPP"],
        },
        CaseDef {
            id: NAMED[6].0,
            clauses: &["error:EFAULT"],
        },
        CaseDef {
            id: SLOTS_FULL,
            clauses: &["error:EAGAIN"],
        },
        CaseDef {
            id: IN_FLIGHT,
            clauses: &[
                "side-effect:in-flight requests",
                "long-desc:Looks ctx up in",
            ],
        },
    ],
    run: errors,
};

fn errors(c: &mut Ctx, o: &Obs) -> Res<()> {
    if cannot_run(c, o)? {
        return Ok(());
    }
    for (id, call, want) in NAMED {
        let r = o
            .obj(key::CALLS)
            .and_then(|k| k.obj(call))
            .and_then(|k| outcome(&k, Success::NonNegative))
            .map(|got| {
                let holds = got == *want;
                Check::new("outcome", want, got, holds)
            });
        c.decide(id, r);
    }
    let r = slots_full(c, o);
    c.decide(SLOTS_FULL, r);
    let r = in_flight(o);
    match r {
        Ok(checks) => c.case(IN_FLIGHT, checks),
        Err(m) => c.error(IN_FLIGHT, m.0),
    }
    Ok(())
}

/// io_destroy with polls pending: they were pending, io_destroy returned 0,
/// and (where the polls could signal an eventfd) every one had completed
/// when it returned: it cancels them and waits for them all.
fn in_flight(o: &Obs) -> Res<Vec<Check>> {
    let polls = ret(o, key::POLLS)?;
    let mut checks = vec![
        Check::new(
            "pending",
            "polls pending (>= 1)",
            format!("{polls} submitted"),
            polls >= 1,
        ),
        {
            let mut k = outcome_is("io_destroy", o, key::DESTROY, Success::Zero, "OK")?;
            k.expected = "OK (pending polls cancelled)".into();
            k
        },
    ];
    if sysret(o, key::POLLS_EVENTFD, Success::NonNegative)? == "OK" {
        let n = o.i64(key::POLLS_EVENTFD_AFTER_DESTROY)?;
        checks.push(Check::new(
            "waited",
            format!("all {polls} polls completed when io_destroy returned (eventfd count {polls})"),
            format!("eventfd count {n}"),
            n == polls,
        ));
    }
    Ok(checks)
}

/// How many requests a caller pinned to one CPU can have pending on a
/// context whose ring holds `ring_nr` events, with `possible` CPUs (spec
/// error EAGAIN: ioctx_alloc's req_batch, __get_reqs_available).
pub fn pinned_slots(ring_nr: i64, possible: i64) -> i64 {
    let free = ring_nr - 1;
    let batch = (free / (4 * possible)).max(1);
    free / batch * batch
}

/// The polls the pinned guest got in, then EAGAIN.
fn slots_full(c: &Ctx, o: &Obs) -> Res<Check> {
    if let Some(e) = o.raw().get(key::PIN_ERRNO) {
        return Err(Missing(format!(
            "the guest could not pin itself to one CPU (sched_setaffinity errno {e}): the slot count depends on the CPUs the submits ran on"
        )));
    }
    let cpu = o.i64(key::PIN_CPU)?;
    let ring_nr = o.i64(key::RING_NR)?;
    let possible = c
        .stream
        .hello
        .as_ref()
        .map(|h| h.ncpus_possible)
        .filter(|&n| n > 0)
        .ok_or_else(|| Missing("hello: ncpus_possible (req_batch depends on it)".into()))?
        as i64;
    // The context's earlier calls that were accepted keep their slot (their
    // events are never reaped): on the same pinned CPU, one fewer poll each.
    let mut held = 0;
    for (name, v) in o.obj(key::CALLS)?.raw().as_object().into_iter().flatten() {
        let r = v.get(key::RET).and_then(|r| r.as_i64());
        held += r
            .ok_or_else(|| Missing(format!("calls.{name}.ret")))?
            .max(0);
    }
    let want = pinned_slots(ring_nr, possible) - held;
    let n = ret(o, key::POLLS)?;
    let more = sysret(o, key::ONE_MORE, Success::NonNegative)?;
    let held_note = match held {
        0 => String::new(),
        h => format!(", {h} slot(s) held by earlier accepted iocbs"),
    };
    Ok(Check::new(
        "slots",
        format!("{want} polls pending, then EAGAIN (ring nr {ring_nr}, {possible} possible CPUs, pinned{held_note})"),
        format!("{n} polls pending, then {more} (on CPU {cpu})"),
        n == want && more == "EAGAIN",
    ))
}

const EPERM: &str = case::IO_SUBMIT_ERROR_EPERM_RT_UNPRIVILEGED;
const ENOTBLK: &str = case::IO_SUBMIT_ERROR_ENOTBLK_NO_BLOCK_LAYER;

pub const IOPRIO: Judge = Judge {
    experiment: ids::IO_SUBMIT_IOPRIO,
    only: None,
    cases: &[
        CaseDef {
            id: EPERM,
            clauses: &[
                "error:EPERM",
                "constraint:CONFIG_BLOCK for IOCB_FLAG_IOPRIO",
            ],
        },
        CaseDef {
            id: ENOTBLK,
            clauses: &[
                "error:ENOTBLK",
                "constraint:CONFIG_BLOCK for IOCB_FLAG_IOPRIO",
            ],
        },
    ],
    run: ioprio,
};

/// The three IOCB_FLAG_IOPRIO submits against what CONFIG_BLOCK makes of
/// them: (real-time as root, real-time as nobody, best-effort as nobody).
fn ioprio_check(o: &Obs, want: [&str; 3]) -> Res<Check> {
    let drop = o.i64(key::SETRESUID_RET)?;
    if drop != 0 {
        return Err(Missing(format!(
            "setresuid to 65534 failed (errno {}): the caller kept its capabilities",
            o.i64(key::SETRESUID_ERRNO)?
        )));
    }
    let got = [
        sysret(o, key::RT_ROOT, Success::NonNegative)?,
        sysret(o, key::RT_NOBODY, Success::NonNegative)?,
        sysret(o, key::BE_NOBODY, Success::NonNegative)?,
    ];
    let holds = got.iter().zip(want).all(|(g, w)| g == w);
    Ok(Check::new(
        "ioprio",
        format!(
            "RT as root {}, RT as nobody {}, BE as nobody {}",
            want[0], want[1], want[2]
        ),
        format!(
            "RT as root {}, RT as nobody {}, BE as nobody {}",
            got[0], got[1], got[2]
        ),
        holds,
    ))
}

fn ioprio(c: &mut Ctx, o: &Obs) -> Res<()> {
    if cannot_run(c, o)? {
        return Ok(());
    }
    match c.f.block {
        Some(true) => {
            c.decide(EPERM, ioprio_check(o, ["OK", "EPERM", "OK"]));
            c.note(
                ENOTBLK,
                Verdict::Skip,
                "CONFIG_BLOCK=y".into(),
                "CONFIG_BLOCK=y: ioprio_check_cap is the real one (see io_submit.error.EPERM/rt-unprivileged)".into(),
            );
        }
        Some(false) => {
            c.decide(ENOTBLK, ioprio_check(o, ["ENOTBLK"; 3]));
            c.note(
                EPERM,
                Verdict::Skip,
                "CONFIG_BLOCK=n".into(),
                "CONFIG_BLOCK=n: ioprio_check_cap is the -ENOTBLK stub, so no class is refused with EPERM (see io_submit.error.ENOTBLK/no-block-layer)".into(),
            );
        }
        None => c.rest(
            Verdict::Skip,
            "the kernel's config is unknown, so whether it has CONFIG_BLOCK (EPERM or ENOTBLK) cannot be told",
        ),
    }
    Ok(())
}
