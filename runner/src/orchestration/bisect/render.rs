//! The answer of a bisection: the first bad commit, what changed there,
//! what was skipped, and every step with its build and its verdict.

use super::state::{Judged, Role};
use super::{short, Outcome};
use std::fmt::Write;

pub fn judged_word(j: &Judged) -> &'static str {
    match j {
        Judged::Good => "good",
        Judged::Bad => "bad",
        Judged::Skip(_) => "skip",
    }
}

pub fn text(o: &Outcome) -> String {
    let mut s = String::new();
    let by = if o.criterion.observed {
        "observation"
    } else {
        "verdict"
    };
    let cases = o.criterion.case.as_deref().unwrap_or("every case");
    let _ = writeln!(s, "bisect {}: {cases}, by {by}", o.tree.display());
    let _ = writeln!(
        s,
        "good {} {}\nbad  {} {}",
        short(&o.good.id),
        o.good.subject,
        short(&o.bad.id),
        o.bad.subject
    );
    match &o.first_bad {
        Some(c) => {
            let _ = writeln!(s, "\nfirst bad commit: {} {}", c.id, c.subject);
            let _ = writeln!(s, "  author date: {}", c.date);
        }
        None => {
            let _ = writeln!(
                s,
                "\nno single first bad commit: only skipped revisions are left, and it is one of:"
            );
            for c in &o.candidates {
                let _ = writeln!(s, "  {} {} ({})", c.id, c.subject, c.date);
            }
        }
    }
    let _ = writeln!(s, "  cases that changed (good -> this commit):");
    for c in &o.changes {
        let _ = writeln!(s, "    {}: {} -> {}", c.case, c.before, c.after);
    }
    let skipped: Vec<_> = o.skipped().collect();
    if !skipped.is_empty() {
        let _ = writeln!(s, "skipped {} revision(s):", skipped.len());
        for (st, why) in &skipped {
            let _ = writeln!(s, "  {} {}: {why}", short(&st.commit.id), st.commit.subject);
        }
    }
    let _ = writeln!(
        s,
        "\n{} bisection step(s) after good and bad; {:.0} s in all",
        o.bisect_steps, o.wall_s
    );
    let _ = writeln!(
        s,
        "{:<5} {:<12} {:>9} {:>8} {:>9} {:<6} subject",
        "step", "revision", "build", "objects", "boot", "judged"
    );
    let mut n = 0;
    for st in &o.steps {
        let step = match st.role {
            Role::Good => "good".to_string(),
            Role::Bad => "bad".to_string(),
            Role::Step => {
                n += 1;
                n.to_string()
            }
        };
        let objects = match &st.judged {
            Judged::Skip(why) if why.starts_with("does not build") => "failed".to_string(),
            _ if st.cached => "cached".to_string(),
            _ => st.objects.to_string(),
        };
        let _ = writeln!(
            s,
            "{step:<5} {:<12} {:>7.1} s {objects:>8} {:>7.1} s {:<6} {}",
            short(&st.commit.id),
            st.build_s,
            st.run_s,
            judged_word(&st.judged),
            st.commit.subject
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::judge::Criterion;
    use super::super::state::Step;
    use super::super::walk::Commit;
    use super::super::Change;
    use super::*;

    fn commit(id: char, subject: &str) -> Commit {
        Commit {
            id: id.to_string().repeat(40),
            subject: subject.into(),
            date: "2024-01-01T00:10:00Z".into(),
        }
    }

    fn step(role: Role, c: Commit, judged: Judged, objects: usize) -> Step {
        Step {
            role,
            commit: c,
            build_s: 12.0,
            objects,
            cached: false,
            run_s: 3.0,
            judged,
            cases: None,
        }
    }

    #[test]
    fn names_the_commit_the_change_and_every_step() {
        let o = Outcome {
            tree: "/t".into(),
            good: commit('a', "base"),
            bad: commit('f', "last"),
            criterion: Criterion {
                case: Some("error.EINVAL.*".into()),
                observed: false,
            },
            first_bad: Some(commit('c', "aio: accept 0")),
            candidates: vec![],
            changes: vec![Change {
                case: "x86_64/aio-on error.EINVAL.nr_events-zero".into(),
                before: "pass (EINVAL)".into(),
                after: "fail (OK)".into(),
            }],
            bisect_steps: 2,
            steps: vec![
                step(Role::Good, commit('a', "base"), Judged::Good, 4),
                step(Role::Bad, commit('f', "last"), Judged::Bad, 5),
                step(
                    Role::Step,
                    commit('b', "broken"),
                    Judged::Skip("does not build: x".into()),
                    1,
                ),
                step(Role::Step, commit('c', "aio: accept 0"), Judged::Bad, 3),
            ],
            wall_s: 99.0,
        };
        let t = text(&o);
        assert!(
            t.contains(&format!(
                "first bad commit: {} aio: accept 0\n",
                "c".repeat(40)
            )),
            "{t}"
        );
        assert!(
            t.contains("x86_64/aio-on error.EINVAL.nr_events-zero: pass (EINVAL) -> fail (OK)"),
            "{t}"
        );
        assert!(
            t.contains("skipped 1 revision(s):\n  bbbbbbbbbbbb broken: does not build: x"),
            "{t}"
        );
        assert!(t.contains("2 bisection step(s)"), "{t}");
        assert!(
            t.contains("2     cccccccccccc    12.0 s        3     3.0 s bad    aio: accept 0"),
            "{t}"
        );
        let j = serde_json::to_value(&o).unwrap();
        assert_eq!(j["steps"][2]["judged"], "skip");
        assert_eq!(j["steps"][2]["reason"], "does not build: x");
        assert_eq!(j["first_bad"]["subject"], "aio: accept 0");
    }
}
