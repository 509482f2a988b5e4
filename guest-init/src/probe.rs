//! The experiment table and the loop that runs each experiment in its own
//! forked child and turns the outcome into an experiment record.

use kmatrix_proto::catalogue::ids;
use std::time::{Duration, Instant};

use crate::cases;
use crate::child::{self, Role};
use crate::experiment::{exp, Env, Experiment};
use crate::faultinj;
use crate::glob;
use crate::out::{self, Port};
use crate::record;

pub const EXPERIMENTS: &[Experiment] = &[
    exp(ids::SETUP_BASIC, 1, cases::setup_basic),
    exp(ids::EXAMPLE_1024, 1, cases::example_1024),
    exp(ids::NR_SWEEP, cases::SWEEP_STEPS + 1, cases::nr_sweep),
    exp(ids::EINVAL_CTX_NONZERO, 1, cases::einval_ctx_nonzero),
    exp(ids::EINVAL_CTX_EXISTING, 1, cases::einval_ctx_existing),
    exp(ids::EINVAL_NR_ZERO, 1, cases::einval_nr_zero),
    exp(ids::EFAULT_NULL, 1, cases::efault_null),
    exp(ids::EFAULT_UNMAPPED, 1, cases::efault_unmapped),
    exp(ids::EFAULT_READONLY, 1, cases::efault_readonly),
    exp(ids::EAGAIN_EXCEEDS_MAX, 1, cases::eagain_exceeds_max),
    exp(ids::EAGAIN_BOUNDARY, 1, cases::eagain_boundary),
    exp(ids::ENOMEM_RLIMIT_AS, 1, cases::enomem_rlimit_as),
    exp(ids::ENOMEM_VS_EAGAIN, 1, cases::enomem_vs_eagain),
    exp(ids::ENOMEM_FAIL_NTH, 2, faultinj::fail_nth),
    Experiment {
        id: ids::ENOMEM_FAILSLAB,
        slots: 1,
        body: faultinj::failslab,
        cleanup: Some(faultinj::disarm_failslab),
    },
    exp(ids::EINTR_SIGKILL, 2, cases::eintr_sigkill),
    exp(ids::SIGNAL_NONFATAL, 2, cases::signal_nonfatal),
    exp(ids::SIDE_EFFECT_EXIT_RELEASES, 2, cases::exit_releases),
    exp(ids::SIDE_EFFECT_DESTROY, 1, cases::side_effect_destroy),
    exp(ids::TABLE_MANY, 2, cases::table_many),
    exp(ids::FORK_CHILD_USE, 2, cases::fork_child_use),
    exp(ids::RING_MREMAP, 1, cases::ring_mremap),
    Experiment {
        id: ids::LIMIT_MAX_MAP_COUNT,
        slots: 1,
        body: cases::max_map_count,
        cleanup: Some(cases::restore_max_map_count),
    },
];

/// The whole probe's time, in units of kmatrix.timeout (the host passes
/// a sixth of the cell's timeout): past it no experiment starts and the
/// running one is stopped, so a cell whose kernel crawls (big rings
/// reclaiming memory with 4 vCPUs on busy host cores) ends on its own,
/// naming what it did not finish, before the host's timeout.
pub const PROBE_SLOTS: u32 = 4;

/// io_setup's experiments, then the rest of the AIO family's.
fn all() -> impl Iterator<Item = &'static Experiment> {
    EXPERIMENTS.iter().chain(crate::family::EXPERIMENTS)
}

/// Patterns that select no experiment (probably typos), for a log record.
pub fn unmatched_patterns(patterns: &[String]) -> Vec<String> {
    kmatrix_proto::catalogue::unmatched(patterns)
}

/// Runs the selected experiments in table order, writing one record per
/// experiment whatever happened to it. Returns the number written.
pub fn run_all(env: &Env, patterns: &[String], port: &mut Port) -> u64 {
    let mut written = 0;
    let budget = env.timeout.checked_mul(PROBE_SLOTS).unwrap_or(env.timeout);
    let deadline = Instant::now() + budget;
    for e in all().filter(|e| glob::any_matches(patterns, e.id)) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let msg = format!(
                "{}: not run: the probe's {} s were spent",
                e.id,
                budget.as_secs()
            );
            out::console(&format!("kmatrix-guest: {msg}"));
            port.line(&record::log(&msg));
            continue;
        }
        let timeout = (env.timeout.checked_mul(e.slots))
            .unwrap_or(env.timeout)
            .min(left);
        let started = Instant::now();
        crate::kmsg::mark("start", e.id, "");
        let outcome = child::run(Role::Experiment, timeout, |sink| {
            let obs = (e.body)(env, sink);
            sink.line(&obs.to_json());
        });
        let fate = outcome.label();
        // Grandchildren must not outlive their experiment: they would hold
        // aio contexts (skewing aio-nr) or burn CPU during the next one.
        let (strays, stuck) = child::kill_group(outcome.pid, Duration::from_secs(2));
        child::reap_zombies();
        if let Some(cleanup) = e.cleanup {
            cleanup();
        }
        // After its strays and cleanup: what they make the kernel say is the experiment's.
        crate::kmsg::mark("end", e.id, &fate);
        port.line(&record::experiment(
            e.id,
            outcome.final_fate(),
            &outcome.obs,
        ));
        written += 1;
        let secs = started.elapsed().as_secs_f64();
        out::console(&format!("kmatrix-guest: {}: {fate} ({secs:.2} s)", e.id));
        if strays > 0 || stuck {
            let msg = format!(
                "{}: killed {strays} leftover process(es){}",
                e.id,
                if stuck {
                    "; some could not be reaped"
                } else {
                    ""
                }
            );
            port.line(&record::log(&msg));
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_catalogue_ones_in_its_order() {
        // io_setup's and the family's (family.rs) bodies: one catalogue for both.
        let ids: Vec<&str> = all().map(|e| e.id).collect();
        let catalogue: Vec<&str> = kmatrix_proto::catalogue::EXPERIMENTS
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(
            ids, catalogue,
            "probe.rs and the protocol catalogue disagree"
        );
        assert!(all().all(|e| e.slots >= 1));
    }

    #[test]
    fn unmatched() {
        let pats = vec!["einval.*".to_string(), "nope".to_string(), "*".to_string()];
        assert_eq!(unmatched_patterns(&pats), vec!["nope".to_string()]);
    }
}
