//! `<syscall>.generic`: the cases computed from each spec (runner/src/
//! spec/cases.rs: NULL, unmapped and read-only pointers, range boundaries and
//! wraps, invalid handles), each one call judged by its outcome. With
//! CONFIG_AIO=n every call is ENOSYS, whatever its arguments (R5-config).
//! Their ids come from the spec, so each judge declares two patterns: the
//! baseline (`return.base`) and one case per param value (`param.*`, whose
//! clause is the param the id names).

use kmatrix_proto::obs::{key, Success};
use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::super::obs::{Missing, Obs, Res};
use super::super::{CaseDef, Check, Ctx, Judge};
use super::family::{no_ctx, outcome, rule_of, sysret, NoCtx};
use crate::spec::cases::{Arg, Expect, GenericCase};

macro_rules! generic_judge {
    ($name:ident, $sys:literal) => {
        pub const $name: Judge = Judge {
            experiment: concat!($sys, ".generic"),
            only: None,
            cases: &[
                CaseDef {
                    id: concat!($sys, ".return.base"),
                    clauses: &["return:success"],
                },
                CaseDef {
                    id: concat!($sys, ".param.*"),
                    clauses: &["param:*"],
                },
            ],
            run,
        };
    };
}

generic_judge!(IO_SETUP, "io_setup");
generic_judge!(IO_DESTROY, "io_destroy");
generic_judge!(IO_SUBMIT, "io_submit");
generic_judge!(IO_GETEVENTS, "io_getevents");
generic_judge!(IO_PGETEVENTS, "io_pgetevents");
generic_judge!(IO_CANCEL, "io_cancel");

/// Every generic case of the shipped specs, computed once.
/// Why the dead handle a case passed may not be dead, if it may not.
fn dead_handle_doubt(v: &Obs) -> Res<Option<String>> {
    let d = sysret(v, key::DEAD_DESTROY, Success::Zero)?;
    if d != "OK" {
        return Ok(Some(format!(
            "the destroyed handle's io_destroy gave {d}: the handle may name a live context"
        )));
    }
    if !v.bool(key::DEAD_RESERVED)? {
        return Ok(Some(
            "the destroyed handle's address could not be held: a later context's ring may be mapped there"
                .into(),
        ));
    }
    Ok(None)
}

fn all() -> Result<&'static [GenericCase], String> {
    static ALL: OnceLock<Result<Vec<GenericCase>, String>> = OnceLock::new();
    ALL.get_or_init(|| {
        let specs = crate::spec::builtin().map_err(|e| e.to_string())?;
        crate::spec::cases::generate_all(&specs).map_err(|e| e.to_string())
    })
    .as_deref()
    .map_err(Clone::clone)
}

/// The generic cases `experiment` (`<syscall>.generic`) runs; empty for
/// any other experiment.
pub fn cases_of(experiment: &str) -> Vec<&'static GenericCase> {
    let Some(sys) = experiment.strip_suffix(".generic") else {
        return Vec::new();
    };
    // Not a measurement: if the shipped specs did not parse, run() makes
    // that the error of this experiment's cases; there are no ids to list.
    let Ok(all) = all() else {
        return Vec::new();
    };
    all.iter().filter(|c| c.syscall == sys).collect()
}

/// The case whose arguments made the context `prefix` (`<prefix>_own`).
fn maker_of(cases: &[Obs], prefix: &str) -> String {
    let own = key::own_of(prefix);
    cases
        .iter()
        .find(|c| c.bool(&own) == Ok(true))
        .and_then(|c| c.str(key::ID).ok())
        .unwrap_or("an earlier case")
        .to_string()
}

/// Why the pending poll a case asked for (`Arg::PendingPoll`) is not there.
fn no_pending_poll(v: &Obs) -> Option<String> {
    for k in [
        key::POLL_PIPE_ERRNO,
        key::POLL_PAGE_ERROR,
        key::POLL_MPROTECT_ERRNO,
    ] {
        if let Some(e) = v.raw().get(k) {
            return Some(format!("the pending poll could not be made: {k} {e}"));
        }
    }
    if !v.has(&key::ret_of(key::POLL_SUBMIT)) {
        return None;
    }
    match v.i64(&key::ret_of(key::POLL_SUBMIT)) {
        Ok(1) => None,
        Ok(n) => Some(format!(
            "the pending poll was not submitted: poll_submit_ret {n}, errno {}",
            v.raw()
                .get(key::errno_of(key::POLL_SUBMIT))
                .map_or("?".into(), |e| e.to_string())
        )),
        Err(Missing(m)) => Some(m),
    }
}

/// In a compat cell (CONFIG_AIO=y), why a 32-bit caller cannot make case
/// `g`'s call: an argument is a C long there, and a value that is not the
/// sign extension of its low 32 bits reaches the kernel as another value,
/// whose outcome the spec's case does not give. (With CONFIG_AIO=n every
/// call is ENOSYS whatever it passes.)
fn not_for_32bit(c: &Ctx, g: &GenericCase) -> Option<String> {
    if c.f.abi != crate::matrix::Abi::Compat || !c.f.aio {
        return None;
    }
    g.args.iter().find_map(|a| match a {
        Arg::Int(n) if *n as i64 != i64::from(*n as i32) => Some(format!(
            "a 32-bit caller cannot pass {n:#x}: its long is 32 bits, so the kernel gets {}",
            *n as u32 as i32
        )),
        _ => None,
    })
}

fn run(c: &mut Ctx, o: &Obs) -> Res<()> {
    all().map_err(Missing)?;
    let exp = c.exp;
    let got: BTreeMap<&str, Obs> = o
        .arr(key::CASES)?
        .into_iter()
        .filter_map(|e| Some((e.raw().get(key::ID)?.as_str()?, e)))
        .collect();
    for g in cases_of(exp) {
        // CONFIG_AIO=n: every call is ENOSYS, whatever its arguments.
        let expect = if c.f.aio {
            g.expect.clone()
        } else {
            Expect::Is("ENOSYS".into())
        };
        let expected = match &expect {
            Expect::Is(e) => e.clone(),
            Expect::Not(e) => format!("not {e}"),
        };
        let Some(v) = got.get(g.id.as_str()) else {
            let why = format!(
                "case {} missing from {exp}'s obs (stale guest catalogue?)",
                g.id
            );
            c.error(&g.id, why);
            continue;
        };
        if let Some(why) = not_for_32bit(c, g) {
            c.skip(&g.id, &why);
            continue;
        }
        // On CONFIG_AIO=y a baseline context that could not be made leaves
        // nothing to judge: a FAIL where io_setup broke the spec making it
        // for this case, an error where this case only borrowed it.
        let missing = [key::CTX_SETUP, key::DEAD_SETUP]
            .iter()
            .filter(|p| c.f.aio && v.has(&key::ret_of(p)))
            .find_map(|p| no_ctx(c, v, p).map(|n| (*p, n)));
        match missing {
            None => {}
            Some((_, NoCtx::Skip(why))) => {
                c.skip(&g.id, &why);
                continue;
            }
            Some((_, NoCtx::Error(why))) => {
                c.error(&g.id, why);
                continue;
            }
            Some((p, NoCtx::Fail(check))) => {
                match v.bool(&key::own_of(p)) {
                    Ok(true) => c.case(&g.id, vec![check]),
                    Ok(false) => {
                        let maker = maker_of(&o.arr(key::CASES)?, p);
                        c.error(
                            &g.id,
                            format!("no context: the io_setup that made it for {maker} broke the spec (a FAIL there)"),
                        )
                    }
                    Err(Missing(m)) => c.error(&g.id, m),
                }
                continue;
            }
        }
        // A "destroyed" handle whose io_destroy failed, or whose address
        // could not be held, may name a live context: the call would then
        // judge io_destroy's fault, or a live context, under this syscall.
        if c.f.aio && v.has(&key::ret_of(key::DEAD_SETUP)) {
            match dead_handle_doubt(v) {
                Ok(None) => {}
                Ok(Some(why)) | Err(Missing(why)) => {
                    c.error(&g.id, why);
                    continue;
                }
            }
        }
        // A pending poll the case cancels (io_cancel's baseline iocb) that
        // was not made leaves a call that tests something else.
        if let Some(why) = c.f.aio.then(|| no_pending_poll(v)).flatten() {
            c.error(&g.id, why);
            continue;
        }
        // io_setup's own calls are charged to aio-nr once past the ctxp
        // read (a NULL or unmapped ctxp fails before): where aio-nr + nr_events
        // exceeds aio-max-nr the cell's limit decides the outcome, which the
        // io_setup oracle judges (constraint.aio-max-nr.*).
        if c.f.aio
            && g.syscall == "io_setup"
            && !g.id.ends_with(".null")
            && !g.id.ends_with(".unmapped")
        {
            let room = (|| {
                let before = v.u64(key::AIO_NR_BEFORE)?;
                let nr = match g.args.first() {
                    Some(crate::spec::cases::Arg::Int(n)) => *n,
                    _ => return Err(Missing(format!("{}: nr_events is not a number", g.id))),
                };
                Ok((before, nr, c.max()?))
            })();
            match room {
                Err(Missing(m)) => {
                    c.error(&g.id, m);
                    continue;
                }
                Ok((before, nr, max)) if before.saturating_add(nr) > max => {
                    let why = format!(
                        "aio-nr {before} + nr_events {nr} > fs.aio-max-nr {max}: the cell's limit decides (constraint.aio-max-nr.*)"
                    );
                    c.skip(&g.id, &why);
                    continue;
                }
                Ok(_) => {}
            }
        }
        let r = rule_of(&g.syscall)
            .and_then(|rule| outcome(v, rule))
            .and_then(|got| {
                // A count the spec fixes (`0` events) is compared as the
                // return value itself, not as "OK".
                let counted = matches!(&expect, Expect::Is(e) if e.parse::<i64>().is_ok());
                let got = if counted && got == "OK" {
                    v.i64(key::RET)?.to_string()
                } else {
                    got
                };
                let holds = match &expect {
                    Expect::Is(e) => got == *e,
                    Expect::Not(e) => got != *e,
                };
                Ok(Check::new("outcome", &expected, got, holds))
            });
        c.decide(&g.id, r);
    }
    Ok(())
}
