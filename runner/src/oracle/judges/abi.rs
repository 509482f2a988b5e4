//! Compat cells: whether the 32-bit probe ran (the abi.compat record),
//! judged against the kernel's config. A kernel without the compat ABI
//! (CONFIG_IA32_EMULATION, CONFIG_COMPAT) cannot exec a 32-bit program:
//! execv fails with ENOEXEC (fs/exec.c: no binfmt takes the ELF class),
//! and every AIO entry point is then out of reach: the ENOSYS map says "no
//! compat ABI", and the other cases skip naming why.

use super::super::obs::{Missing, Obs, Res};
use super::super::{Check, Ctx, Verdict};
use crate::matrix::Abi;
use kmatrix_proto::catalogue::ids;
use kmatrix_proto::obs::key;

/// execv's errno for a binary no binfmt handler takes.
const ENOEXEC: i64 = 8;

/// How a compat cell's 32-bit probe started.
pub enum Start {
    /// It ran as a program of `bits`-bit pointers.
    Ran { bits: u64 },
    /// PID 1 could not exec it.
    NoExec { errno: i64 },
}

/// How the cell's 32-bit probe started; None in native cells.
pub fn start(c: &Ctx) -> Option<Res<Start>> {
    if c.f.abi == Abi::Native {
        return None;
    }
    let Some(e) = c.stream.experiment(ids::ABI_COMPAT) else {
        return Some(Err(Missing(format!(
            "the {} record is missing: the compat probe's start was not reported",
            ids::ABI_COMPAT
        ))));
    };
    let o = Obs::root(&e.obs, ids::ABI_COMPAT);
    Some((|| match o.opt_u64(key::POINTER_BITS)? {
        Some(bits) => Ok(Start::Ran { bits }),
        None => Ok(Start::NoExec {
            errno: o.i64(key::EXEC_ERRNO)?,
        }),
    })())
}

/// The option that lets the cell's kernel run 32-bit programs.
fn option(c: &Ctx) -> String {
    crate::matrix::arch::by_name(&c.f.arch)
        .ok()
        .and_then(|a| a.compat)
        .map_or("CONFIG_COMPAT".into(), |x| x.kernel_option)
}

/// The check of a compat cell's start against its kernel's config: the
/// probe runs, as a 32-bit program, exactly when the config has the
/// compat ABI.
pub fn check(c: &Ctx, s: &Start) -> Res<Check> {
    let opt = option(c);
    let has = c.f.compat.ok_or_else(|| {
        Missing(format!(
            "the kernel's config is unknown: cannot tell whether {opt} lets it run 32-bit programs"
        ))
    })?;
    let expected = match has {
        true => format!("the 32-bit probe runs ({opt}=y)"),
        false => format!("execv ENOEXEC: no compat ABI ({opt} not set)"),
    };
    let (observed, holds) = match *s {
        Start::Ran { bits } => (
            format!("the probe ran with {bits}-bit pointers"),
            has && bits == 32,
        ),
        Start::NoExec { errno } => (
            format!(
                "execv {}: {}",
                kmatrix_proto::args::COMPAT_PROBE,
                super::super::errno_name(errno)
            ),
            !has && errno == ENOEXEC,
        ),
    };
    Ok(Check::new("compat ABI", expected, observed, holds))
}

/// Whether the current judge of a compat cell may go on: the probe ran as
/// a 32-bit program on a kernel whose config has the compat ABI. Else its
/// cases are decided here: the ENOSYS map's by the start against the config
/// (ENOEXEC where the config has no compat ABI is its finding, and a pass);
/// other judges' skip where the probe could not be exec'd, and are errors
/// where the start is unknown or disagrees with the config (the ENOSYS map
/// fails on that).
pub fn gate(c: &mut Ctx) -> bool {
    let s = match start(c) {
        None => return true,
        Some(Ok(Start::Ran { bits: 32 })) if c.f.compat != Some(false) => return true,
        Some(Err(Missing(why))) => {
            c.rest(Verdict::Error, &why);
            return false;
        }
        Some(Ok(s)) => s,
    };
    if c.exp == ids::ENOSYS_MAP {
        for d in c.cases {
            let r = check(c, &s);
            c.decide(d.id, r);
        }
        return false;
    }
    let why = match s {
        Start::NoExec { errno } => {
            let why = format!(
                "no compat ABI: the 32-bit probe could not be exec'd ({})",
                super::super::errno_name(errno)
            );
            c.rest(Verdict::Skip, &why);
            return false;
        }
        Start::Ran { .. } => {
            "the compat probe did not run as the kernel's config says (see the ENOSYS map)"
        }
    };
    c.rest(Verdict::Error, why);
    false
}
