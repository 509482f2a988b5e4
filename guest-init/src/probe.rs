//! The experiment table and the loop that runs each experiment in its own
//! forked child and turns the outcome into an experiment record.

use std::time::{Duration, Instant};

use crate::cases;
use crate::child::{self, Role};
use crate::experiment::{exp, Env, Experiment};
use crate::faultinj;
use crate::glob;
use crate::out::{self, Port};
use crate::record;

pub const EXPERIMENTS: &[Experiment] = &[
    exp("setup.basic", 1, cases::setup_basic),
    exp("example.1024", 1, cases::example_1024),
    exp("nr.sweep", cases::SWEEP_STEPS + 1, cases::nr_sweep),
    exp("einval.ctx-nonzero", 1, cases::einval_ctx_nonzero),
    exp("einval.ctx-existing", 1, cases::einval_ctx_existing),
    exp("einval.nr-zero", 1, cases::einval_nr_zero),
    exp("efault.null", 1, cases::efault_null),
    exp("efault.unmapped", 1, cases::efault_unmapped),
    exp("efault.readonly", 1, cases::efault_readonly),
    exp("eagain.exceeds-max", 1, cases::eagain_exceeds_max),
    exp("eagain.boundary", 1, cases::eagain_boundary),
    exp("enomem.rlimit-as", 1, cases::enomem_rlimit_as),
    exp("enomem.vs-eagain", 1, cases::enomem_vs_eagain),
    exp("enomem.fail-nth", 2, faultinj::fail_nth),
    Experiment {
        id: "enomem.failslab",
        slots: 1,
        body: faultinj::failslab,
        cleanup: Some(faultinj::disarm_failslab),
    },
    exp("eintr.sigkill", 2, cases::eintr_sigkill),
    exp("signal.nonfatal", 2, cases::signal_nonfatal),
    exp("side-effect.exit-releases", 2, cases::exit_releases),
    exp("side-effect.destroy", 1, cases::side_effect_destroy),
    exp("table.many", 2, cases::table_many),
    exp("fork.child-use", 2, cases::fork_child_use),
    exp("ring.mremap", 1, cases::ring_mremap),
    Experiment {
        id: "limit.max-map-count",
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
