//! One judge per experiment (or family). Each declares the case ids it can
//! emit and the spec clauses each checks, and decides them from typed reads
//! of the observation.

use super::obs::{Obs, Res};
use super::{CaseDef, Check, Ctx, Judge, Verdict};
use kmatrix_proto::obs::{key, Ring};

pub(super) mod abi;
mod basic;
pub(super) mod compat;
mod eagain;
mod efault;
mod einval;
mod enomem;
pub mod enosys;
mod family;
mod faultinj;
mod fork;
pub mod generic;
mod io_cancel;
mod io_destroy;
mod io_getevents;
mod io_pgetevents;
pub(super) mod io_submit;
mod lifecycle;
mod signal;
mod sweep;
mod table;
mod vma;

/// Cases judged from the hello record.
pub const HELLO_CASES: &[CaseDef] = &[CaseDef {
    id: "constraint.CONFIG_AIO.sysctls",
    clauses: &["constraint:CONFIG_AIO required"],
}];

pub const JUDGES: &[Judge] = &[
    basic::SETUP_BASIC,
    basic::ENOSYS,
    basic::EXAMPLE_1024,
    einval::NR_ZERO,
    einval::CTX_NONZERO,
    einval::CTX_EXISTING,
    efault::NULL,
    efault::UNMAPPED,
    efault::READONLY,
    eagain::EXCEEDS_MAX,
    eagain::BOUNDARY,
    enomem::RLIMIT_AS,
    enomem::BOTH_LIMITS,
    faultinj::FAIL_NTH,
    faultinj::FAILSLAB,
    lifecycle::DESTROY,
    lifecycle::EINTR,
    lifecycle::EXIT_RELEASES,
    signal::NONFATAL,
    table::MANY,
    fork::CHILD_USE,
    vma::MREMAP,
    vma::MAX_MAP_COUNT,
    sweep::SWEEP,
    // The rest of the AIO family, in the guest's run order.
    enosys::MAP,
    generic::IO_SETUP,
    generic::IO_DESTROY,
    io_destroy::TWICE,
    io_destroy::SIGNAL,
    generic::IO_SUBMIT,
    io_submit::RW,
    io_submit::RESFD,
    io_submit::ERRORS,
    io_submit::IOPRIO,
    generic::IO_GETEVENTS,
    io_getevents::TIMEOUTS,
    generic::IO_PGETEVENTS,
    io_pgetevents::SIGMASK,
    generic::IO_CANCEL,
    io_cancel::CASES,
];

/// constraint.CONFIG_AIO.sysctls: the sysctls exist exactly with CONFIG_AIO.
/// Judged only in compat cells (a 32-bit probe): what compat changes.
pub const COMPAT_JUDGES: &[Judge] = &[compat::SETUP_HANDLE];

/// Why judge `j` is not run in this cell, where the experiment's calls
/// cannot exist: io_getevents's experiments in a compat cell whose kernel
/// lacks CONFIG_COMPAT_32BIT_TIME (a 32-bit io_getevents takes 32-bit
/// time, so it is ENOSYS there; enosys.map judges that). With CONFIG_AIO=n
/// every call is ENOSYS anyway, and they are judged as in any aio-off cell.
pub fn not_judged_here(f: &super::CellFacts, j: &Judge) -> Option<Result<String, String>> {
    use kmatrix_proto::catalogue::ids;
    let getevents = [ids::IO_GETEVENTS_GENERIC, ids::IO_GETEVENTS_TIMEOUTS];
    if f.abi != crate::matrix::Abi::Compat || !f.aio || !getevents.contains(&j.experiment) {
        return None;
    }
    match f.time32 {
        Some(true) => None,
        Some(false) => Some(Ok(
            "a 32-bit io_getevents takes 32-bit time: ENOSYS without \
             CONFIG_COMPAT_32BIT_TIME, which this cell's kernel lacks"
                .into(),
        )),
        None => Some(Err(
            "CONFIG_COMPAT_32BIT_TIME of this cell is unknown: a 32-bit io_getevents \
             exists only with it"
                .into(),
        )),
    }
}

pub fn hello(c: &mut Ctx) {
    let id = "constraint.CONFIG_AIO.sysctls";
    let Some(h) = &c.stream.hello else {
        return c.error(id, "no hello record".into());
    };
    let (nr, max) = (h.aio_nr_present, h.aio_max_nr_present);
    let want = c.f.aio;
    let show = |b: bool| if b { "present" } else { "absent" };
    c.case(
        id,
        vec![
            Check::eq("fs.aio-nr", show(want), show(nr)),
            Check::eq("fs.aio-max-nr", show(want), show(max)),
        ],
    );
}

/// aio-nr moved by `delta` from `before` to `after` (both unreadable in an
/// aio-off cell, which is what the spec wants there: no counter at all).
pub fn aio_nr_check(c: &Ctx, delta: u64, before: Option<u64>, after: Option<u64>) -> Check {
    if !c.f.aio {
        let obs = match after {
            None => "absent",
            Some(_) => "present",
        };
        return Check::new("aio-nr", "absent", obs, before.is_none() && after.is_none());
    }
    let show = |d: i128| {
        if d >= 0 {
            format!("+{d}")
        } else {
            d.to_string()
        }
    };
    let observed = match (before, after) {
        (Some(b), Some(a)) => show(i128::from(a) - i128::from(b)),
        _ => "unreadable".into(),
    };
    let expected = show(i128::from(delta));
    Check::new("aio-nr", &expected, &observed, observed == expected)
}

/// One io_setup call's checks: its outcome is one of `want`; on success
/// aio-nr grew by nr_events, the ring holds at least 2 x nr_events, and
/// io_destroy works and gives the events back; on failure aio-nr is
/// unchanged.
pub fn call_checks(c: &Ctx, o: &Obs, want: &[&str]) -> Res<Vec<Check>> {
    let nr = o.u64(key::NR_EVENTS)?;
    let before = c.aio_nr(o, key::AIO_NR_BEFORE)?;
    let after = c.aio_nr(o, key::AIO_NR_AFTER)?;
    let got = o.outcome()?;
    let mut checks = vec![Check::outcome(want, &got)];
    if got != "OK" {
        checks.push(aio_nr_check(c, 0, before, after));
        return Ok(checks);
    }
    let cap = match o.opt_obj(key::RING)? {
        Some(r) => Ring::read(&r)?.nr.to_string(),
        None => "no ring".into(),
    };
    let big = cap.parse::<u64>().is_ok_and(|n| n >= 2 * nr);
    checks.push(Check::new("ring", format!(">= {}", 2 * nr), cap, big));
    checks.push(aio_nr_check(c, nr, before, after));
    checks.push(Check::eq(
        "io_destroy",
        "OK".to_string(),
        o.sysret(key::DESTROY)?,
    ));
    let mut back = aio_nr_check(c, 0, before, c.aio_nr(o, key::AIO_NR_AFTER_DESTROY)?);
    back.name = "aio-nr after io_destroy";
    checks.push(back);
    Ok(checks)
}

/// `call_checks` against the spec outcome from the aio-nr before the call.
pub fn spec_call_checks(c: &Ctx, o: &Obs) -> Res<Vec<Check>> {
    let want = c.want(
        o.u64(key::NR_EVENTS)?,
        c.aio_nr(o, key::AIO_NR_BEFORE)?,
        false,
        false,
    )?;
    call_checks(c, o, &want)
}

/// If the guest skipped the experiment, every case of the judge is skipped
/// with its reason when the catalogue lists that reason for the
/// experiment, and is an ERROR naming it otherwise; true then.
pub fn guest_skipped(c: &mut Ctx, o: &Obs) -> Res<bool> {
    let Some(why) = skipped(o)? else {
        return Ok(false);
    };
    match unlisted_skip(c.exp, why) {
        None => c.skip_rest(why),
        Some(err) => c.rest(Verdict::Error, &err),
    }
    Ok(true)
}

/// None when the catalogue lists `why` as a reason to skip `exp`, else the
/// error that names the reason.
pub fn unlisted_skip(exp: &str, why: &str) -> Option<String> {
    let listed = kmatrix_proto::catalogue::find(exp).is_some_and(|x| x.skips.contains(&why));
    (!listed).then(|| {
        format!("the guest skipped {exp} for a reason the catalogue does not list for it: {why}")
    })
}

/// One call of an experiment the guest skipped (`skipped` on the call's
/// object): decided as `guest_skipped` decides the whole; true then.
pub fn call_skipped(c: &mut Ctx, o: &Obs, id: &str) -> Res<bool> {
    let Some(why) = skipped(o)? else {
        return Ok(false);
    };
    match unlisted_skip(c.exp, why) {
        None => c.skip(id, why),
        Some(err) => c.error(id, err),
    }
    Ok(true)
}

/// The guest's top-level "skipped" reason, if it gave one.
pub fn skipped<'a>(o: &Obs<'a>) -> Res<Option<&'a str>> {
    if o.has(key::SKIPPED) {
        o.str(key::SKIPPED).map(Some)
    } else {
        Ok(None)
    }
}

/// The fields of /proc/self/maps that do not change between boots
/// (permissions and path), or "no mapping".
pub fn maps_shape(line: Option<&str>) -> String {
    let Some(line) = line else {
        return "no mapping".into();
    };
    match line.split_whitespace().collect::<Vec<_>>().as_slice() {
        [_, perms, _, _, _, path @ ..] if !path.is_empty() => format!("{perms} {}", path.join(" ")),
        _ => line.to_string(),
    }
}

/// What an [aio] ring mapping looks like in /proc/self/maps.
pub const AIO_MAPPING: &str = "rw-s /[aio] (deleted)";
