//! What an experiment is and what it may know of the guest: the interface
//! between the probe loop (probe.rs) and the experiments it runs (cases.rs,
//! family.rs, faultinj.rs).

use std::time::Duration;

use crate::child::Sink;
use crate::json::Obj;

/// What experiments may need to know about the guest.
#[derive(Clone, Copy, Debug)]
pub struct Env {
    /// num_possible_cpus() as the kernel counts it (>= 1).
    pub ncpus_possible: u64,
    pub page_size: usize,
    /// kmatrix.timeout: per experiment, and per grandchild step.
    pub timeout: Duration,
    pub debugfs: bool,
}

pub struct Experiment {
    pub id: &'static str,
    /// Timeout budget in units of kmatrix.timeout: experiments that run
    /// many grandchild steps, each allowed the full timeout, get more.
    pub slots: u32,
    /// Runs in the forked child; returns the final obs (it may also send
    /// snapshots through the Sink so a kill does not lose everything).
    pub body: fn(&Env, &Sink) -> Obj,
    /// Runs in PID 1 afterwards to undo global state the child may have
    /// left behind if it was killed.
    pub cleanup: Option<fn()>,
}

pub const fn exp(id: &'static str, slots: u32, body: fn(&Env, &Sink) -> Obj) -> Experiment {
    Experiment {
        id,
        slots,
        body,
        cleanup: None,
    }
}
