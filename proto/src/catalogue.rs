//! The experiment catalogue: every experiment guest-init can run, in run
//! order, and the spec clauses (case ids of spec/io_setup-kapi-spec.txt as
//! the oracle names them) its observations are judged against. A new
//! experiment is one entry here, its body in the guest and its judge.

pub struct ExperimentInfo {
    pub id: &'static str,
    /// Spec clauses checked from this experiment's obs. A clause ending in
    /// '/' is a family: one case per step (e.g. per nr_events value).
    pub clauses: &'static [&'static str],
}

const fn e(id: &'static str, clauses: &'static [&'static str]) -> ExperimentInfo {
    ExperimentInfo { id, clauses }
}

pub const EXPERIMENTS: &[ExperimentInfo] = &[
    e(
        "setup.basic",
        &[
            "return.success",
            "side-effect.aio-nr",
            "side-effect.vma",
            "notes.handle-is-ring",
            "notes.capacity",
            "constraint.CONFIG_AIO.enosys",
            "side-effect.reversible.io_destroy",
        ],
    ),
    e("example.1024", &["examples.io_setup-1024"]),
    e("nr.sweep", &["param.nr_events.range/"]),
    e("einval.ctx-nonzero", &["error.EINVAL.ctxp-nonzero"]),
    e("einval.ctx-existing", &["error.EINVAL.ctxp-existing"]),
    e("einval.nr-zero", &["error.EINVAL.nr_events-zero"]),
    e("efault.null", &["error.EFAULT.null"]),
    e("efault.unmapped", &["error.EFAULT.unmapped"]),
    e("efault.readonly", &["error.EFAULT.readonly-writeback"]),
    e("eagain.exceeds-max", &["error.EAGAIN.exceeds-aio-max-nr"]),
    e(
        "eagain.boundary",
        &["constraint.aio-max-nr.over", "constraint.aio-max-nr.exact"],
    ),
    e("enomem.rlimit-as", &["error.ENOMEM.rlimit-as"]),
    e("enomem.vs-eagain", &["error.ENOMEM-or-EAGAIN.both-limits"]),
    e("enomem.fail-nth", &["error.ENOMEM.fail-nth"]),
    e("enomem.failslab", &["error.ENOMEM.failslab"]),
    e("eintr.sigkill", &["error.EINTR.sigkill-leaves-no-trace"]),
    e("signal.nonfatal", &["signal.nonfatal-does-not-interrupt"]),
    e(
        "side-effect.exit-releases",
        &["state-trans.process-exit-releases"],
    ),
    e(
        "side-effect.destroy",
        &["side-effect.vma.removed-by-io_destroy"],
    ),
    e("table.many", &["constraint.per-process.table-grows"]),
    e(
        "fork.child-use",
        &[
            "long-desc.not-shared-across-processes",
            "long-desc.shared-by-clone-vm-thread",
        ],
    ),
    e(
        "ring.mremap",
        &[
            "side-effect.vma.mremap-moves-handle",
            "side-effect.vma.dontexpand",
        ],
    ),
    e("limit.max-map-count", &["error.ENOMEM.max-map-count"]),
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
            assert!(!x.clauses.is_empty(), "{} checks no clause", x.id);
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
        let pats = vec!["einval.*".to_string(), "nope".to_string(), "*".to_string()];
        assert_eq!(unmatched(&pats), ["nope"]);
    }
}
