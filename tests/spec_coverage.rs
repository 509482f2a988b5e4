//! Every checkable clause of the spec has a case in the oracle. The clauses
//! are parsed out of spec/io_setup-kapi-spec.txt, so a spec that grows a
//! clause turns this red until the oracle covers it.

use kmatrix::oracle::{judge, CellFacts};
use kmatrix::stream::Stream;

fn clauses(spec: &str) -> Vec<String> {
    // Top-level clauses sit at " * tag: name"; deeper-indented "tag:" lines
    // are fields of a clause. A side-effect is named by its target line.
    let lines: Vec<&str> = spec.lines().map(|l| l.trim_start_matches('+')).collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.strip_prefix(" * ") else {
            continue;
        };
        let Some((tag, name)) = rest.split_once(": ") else {
            continue;
        };
        if !["error", "side-effect", "constraint", "state-trans", "param"].contains(&tag)
            || rest.starts_with(' ')
        {
            continue;
        }
        let name = if tag == "side-effect" {
            lines
                .get(i + 1)
                .and_then(|n| n.trim_start_matches([' ', '*']).strip_prefix("target: "))
                .unwrap_or(name)
        } else {
            name.split(',').next().unwrap()
        };
        out.push(format!("{tag}:{}", name.trim()));
    }
    out
}

/// The clause -> case-id prefixes that check it.
const MAP: &[(&str, &[&str])] = &[
    (
        "param:nr_events",
        &["param.nr_events.range/", "error.EINVAL.nr_events-zero"],
    ),
    (
        "param:ctxp",
        &[
            "error.EFAULT.",
            "error.EINVAL.ctxp-nonzero",
            "notes.handle-is-ring",
        ],
    ),
    (
        "error:EFAULT",
        &[
            "error.EFAULT.null",
            "error.EFAULT.unmapped",
            "error.EFAULT.readonly-writeback",
        ],
    ),
    (
        "error:EINVAL",
        &[
            "error.EINVAL.nr_events-zero",
            "error.EINVAL.ctxp-nonzero",
            "error.EINVAL.ctxp-existing",
            "param.nr_events.range/",
        ],
    ),
    (
        "error:EAGAIN",
        &[
            "error.EAGAIN.exceeds-aio-max-nr",
            "constraint.aio-max-nr.over",
        ],
    ),
    (
        "error:ENOMEM",
        &[
            "error.ENOMEM.rlimit-as",
            "error.ENOMEM.fail-nth",
            "error.ENOMEM.failslab",
        ],
    ),
    ("error:EINTR", &["error.EINTR.sigkill-leaves-no-trace"]),
    ("side-effect:kioctx structure", &["error.ENOMEM.fail-nth"]),
    (
        "side-effect:percpu kioctx_cpu structures",
        &["error.ENOMEM.fail-nth"],
    ),
    (
        "side-effect:ring buffer pages",
        &["error.ENOMEM.fail-nth", "notes.capacity"],
    ),
    ("side-effect:anonymous inode and file", &["side-effect.vma"]),
    (
        "side-effect:process virtual memory",
        &[
            "side-effect.vma",
            "side-effect.vma.removed-by-io_destroy",
            "error.EFAULT.readonly-writeback",
        ],
    ),
    (
        "side-effect:mm->ioctx_table",
        &["constraint.per-process.table-grows"],
    ),
    (
        "side-effect:aio_nr (global counter)",
        &["side-effect.aio-nr", "state-trans.process-exit-releases"],
    ),
    (
        "state-trans:process AIO state",
        &[
            "return.success",
            "state-trans.process-exit-releases",
            "side-effect.reversible.io_destroy",
        ],
    ),
    ("state-trans:system AIO resources", &["side-effect.aio-nr"]),
    (
        "constraint:System-wide AIO limit (aio-max-nr)",
        &["constraint.aio-max-nr.over", "constraint.aio-max-nr.exact"],
    ),
    (
        "constraint:Per-process context limit",
        &["constraint.per-process.table-grows"],
    ),
    (
        "constraint:CONFIG_AIO required",
        &[
            "constraint.CONFIG_AIO.enosys",
            "constraint.CONFIG_AIO.sysctls",
        ],
    ),
    (
        "constraint:Memory for ring buffer",
        &["param.nr_events.range/"],
    ),
];

#[test]
fn every_checkable_clause_has_a_case() {
    let spec = include_str!("../spec/io_setup-kapi-spec.txt");
    let found = clauses(spec);
    assert_eq!(found.len(), 20, "parser found the clauses: {found:?}");
    // Case ids the oracle can emit: judge an empty stream in both configs
    // (every case then reports an error, which still names it).
    let mut ids: Vec<String> = Vec::new();
    for aio in [true, false] {
        ids.extend(
            judge(&CellFacts::new(aio), &Stream::default())
                .into_iter()
                .map(|c| c.id),
        );
    }
    ids.push("param.nr_events.range/".into()); // emitted per sweep step
    for clause in &found {
        let (_, cases) = MAP
            .iter()
            .find(|(c, _)| c == clause)
            .unwrap_or_else(|| panic!("spec clause '{clause}' maps to no case"));
        for prefix in *cases {
            assert!(
                ids.iter().any(|i| i.starts_with(prefix)),
                "clause {clause}: the oracle emits no case {prefix}"
            );
        }
    }
}
