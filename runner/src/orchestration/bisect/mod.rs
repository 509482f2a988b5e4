//! `kmatrix bisect`: from "this verdict (or observation) changed between
//! two revisions" to the commit that changed it. git walks the history
//! (walk.rs); each revision git asks for is built in the staging place
//! like any tree (so a step a few files off the last one is an incremental
//! make), its cells booted with only the experiments behind the selected
//! cases, and judged against the good revision (judge.rs). A revision that
//! does not build or whose cells do not run to the end is skipped, as `git
//! bisect skip`. Progress is saved after every step (state.rs).

pub mod judge;
pub mod render;
pub mod state;
pub mod walk;

use crate::build::kbuild::{self, Fragment, Source};
use crate::matrix::Cell;
use crate::orchestration::accel::Choice;
use crate::orchestration::progress::Ui;
use crate::orchestration::run::{self, CellOptions, KernelChoice};
use crate::spec::source::SpecSet;
use anyhow::{bail, Context, Result};
use judge::{Criterion, Seens};
use serde::Serialize;
use state::{Judged, Role, State, Step};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use walk::{Commit, Next};

/// What to bisect and on which cells.
pub struct Options {
    pub tree: PathBuf,
    pub good: String,
    pub bad: String,
    pub criterion: Criterion,
    pub cells: Vec<Cell>,
    pub fragments: Vec<Fragment>,
    pub jobs: usize,
    /// Each revision's run goes to `out/NN-ROLE-ID`.
    pub out: PathBuf,
    /// The command line, kept for --resume.
    pub argv: Vec<String>,
    /// Go on with the bisection of `tree` left in the cache.
    pub resume: bool,
}

/// The specs a revision's tree is judged against (as `run --kernel-src`
/// would: its own KAPI blocks, or --spec-source); None for spec/.
pub type Specs<'a> = &'a (dyn Fn(&KernelChoice) -> Result<Option<Arc<SpecSet>>> + Sync);

/// A case whose verdict (or observation) differs between the good
/// revision and the first bad one.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub case: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub tree: PathBuf,
    pub good: Commit,
    pub bad: Commit,
    pub criterion: Criterion,
    /// None when only skipped revisions were left: see `candidates`.
    pub first_bad: Option<Commit>,
    pub candidates: Vec<Commit>,
    /// Good revision -> first bad one (or -> bad when not found).
    pub changes: Vec<Change>,
    /// Revisions git asked for (good and bad not counted).
    pub bisect_steps: usize,
    /// Every revision judged: good, bad, then git's steps.
    pub steps: Vec<Step>,
    pub wall_s: f64,
}

impl Outcome {
    pub fn skipped(&self) -> impl Iterator<Item = (&Step, &str)> {
        self.steps.iter().filter_map(|s| match &s.judged {
            Judged::Skip(why) => Some((s, why.as_str())),
            _ => None,
        })
    }
}

pub enum Ended {
    Done(Box<Outcome>),
    /// SIGINT/SIGTERM: the state is saved for --resume.
    Interrupted(&'static str),
}

struct Ctx<'a> {
    o: &'a Options,
    wt: PathBuf,
    experiments: Option<String>,
    specs: Specs<'a>,
}

/// Runs (or resumes) a bisection to its answer. Bad input is refused here,
/// before anything is built. SIGINT or SIGTERM at any point drops the step
/// under way (its makes and QEMUs are killed with it); every step judged
/// before is in the saved state.
pub async fn bisect(o: &Options, specs: Specs<'_>) -> Result<Ended> {
    tokio::select! {
        r = walk_to_the_answer(o, specs) => r,
        sig = run::shutdown_signal() => Ok(Ended::Interrupted(sig)),
    }
}

async fn walk_to_the_answer(o: &Options, specs: Specs<'_>) -> Result<Ended> {
    let t0 = Instant::now();
    let tree = walk::toplevel(&o.tree)?
        .canonicalize()
        .with_context(|| o.tree.display().to_string())?;
    let sdir = state::dir_of(&tree);
    let mut st = open_state(o, &tree, &sdir)?;
    let experiments = st.criterion.experiments()?;
    std::fs::create_dir_all(&sdir).with_context(|| format!("creating {}", sdir.display()))?;
    let _lock = crate::util::runlock::lock_out(&sdir)
        .with_context(|| format!("another kmatrix bisect of {} is running", tree.display()))?;
    let cx = Ctx {
        o,
        wt: sdir.join("tree"),
        experiments,
        specs,
    };
    if !o.resume && cx.wt.join(".git").exists() {
        walk::reset(&cx.wt);
    }
    st.save(&sdir)?;

    // Both ends first: the good one is what every step is compared with.
    for (role, commit) in [(Role::Good, st.good.clone()), (Role::Bad, st.bad.clone())] {
        if st.judged(role).is_some() {
            continue;
        }
        walk::checkout(&tree, &cx.wt, &commit.id)?;
        let good = st.judged(Role::Good).and_then(|s| s.cases.clone());
        let step = match cx
            .step(role, &commit, good.as_ref(), st.steps.len())
            .await?
        {
            Ok(s) => s,
            Err(sig) => return Ok(Ended::Interrupted(sig)),
        };
        if let Judged::Skip(why) = &step.judged {
            st.finished = true;
            st.save(&sdir)?;
            let flag = if role == Role::Good {
                "--good"
            } else {
                "--bad"
            };
            bail!(
                "{flag} {}: cannot be judged, so nothing can be compared with it: {why}",
                short(&commit.id)
            );
        }
        st.steps.push(step);
        st.save(&sdir)?;
    }
    let (good, bad) = (seens(&st, Role::Good), seens(&st, Role::Bad));
    if good.is_empty() && bad.is_empty() {
        st.finished = true;
        st.save(&sdir)?;
        bail!(
            "--case {}: no such case in the results of the selected cells (e.g. an aio-on case in aio-off cells)",
            st.criterion.case.as_deref().unwrap_or("*")
        );
    }
    if st.criterion.differences(&good, &bad).is_empty() {
        st.finished = true;
        st.save(&sdir)?;
        bail!(
            "good {} and bad {} are judged the same ({} case(s) selected, by {}): nothing to bisect",
            short(&st.good.id),
            short(&st.bad.id),
            good.len(),
            if st.criterion.observed { "observation" } else { "verdict" }
        );
    }

    let mut next = if st.started && walk::in_progress(&cx.wt) {
        walk::next(&cx.wt, "")?
    } else {
        let n = walk::start(&cx.wt, &st.good.id, &st.bad.id)?;
        st.started = true;
        st.save(&sdir)?;
        n
    };
    let answer = loop {
        let id = match next {
            Next::Test(id) => id,
            Next::Found(id) => break Ok(id),
            Next::OnlySkipped(ids) => break Err(ids),
        };
        // Judged before an interruption, not yet marked: mark it again.
        let done = st
            .steps
            .iter()
            .find(|s| s.role == Role::Step && s.commit.id == id)
            .cloned();
        let step = match done {
            Some(s) => s,
            None => {
                let commit = walk::describe(&tree, &id)?;
                let s = match cx
                    .step(Role::Step, &commit, Some(&good), st.steps.len())
                    .await?
                {
                    Ok(s) => s,
                    Err(sig) => return Ok(Ended::Interrupted(sig)),
                };
                st.steps.push(s.clone());
                st.save(&sdir)?;
                s
            }
        };
        let how = match step.judged {
            Judged::Good => "good",
            Judged::Bad => "bad",
            Judged::Skip(_) => "skip",
        };
        next = walk::mark(&cx.wt, how, &id)?;
    };
    st.finished = true;
    st.save(&sdir)?;
    walk::reset(&cx.wt);
    Ok(Ended::Done(Box::new(outcome(tree, st, &good, answer, t0)?)))
}

/// The bisection to run: the saved one (--resume), or a new one from
/// --good and --bad, checked before anything is built.
fn open_state(o: &Options, tree: &std::path::Path, sdir: &std::path::Path) -> Result<State> {
    Ok(if o.resume {
        let st = state::load(sdir)?;
        if st.finished {
            bail!(
                "--resume: the last bisection of {} finished",
                tree.display()
            );
        }
        st
    } else {
        let good = walk::commit_of(tree, "--good", &o.good)?;
        let bad = walk::commit_of(tree, "--bad", &o.bad)?;
        walk::check_ends(tree, &good, &bad, (&o.good, &o.bad))?;
        State {
            argv: o.argv.clone(),
            cwd: std::env::current_dir().unwrap_or_default(),
            tree: tree.to_path_buf(),
            good: walk::describe(tree, &good)?,
            bad: walk::describe(tree, &bad)?,
            criterion: o.criterion.clone(),
            steps: Vec::new(),
            started: false,
            finished: false,
        }
    })
}

/// The answer with what changed at the first bad commit (or the bad end,
/// when only skipped revisions were left).
fn outcome(
    tree: PathBuf,
    st: State,
    good: &Seens,
    answer: std::result::Result<String, Vec<String>>,
    t0: Instant,
) -> Result<Outcome> {
    let (first_bad, candidates) = match answer {
        Ok(id) => (Some(walk::describe(&tree, &id)?), Vec::new()),
        Err(ids) => (
            None,
            ids.iter()
                .map(|i| walk::describe(&tree, i))
                .collect::<Result<_>>()?,
        ),
    };
    let after_id = first_bad.as_ref().map_or(&st.bad.id, |c| &c.id);
    let after = st
        .steps
        .iter()
        .find(|s| &s.commit.id == after_id && s.cases.is_some())
        .and_then(|s| s.cases.clone())
        .unwrap_or_default();
    let changes = st
        .criterion
        .differences(good, &after)
        .into_iter()
        .map(|(case, before, after)| Change {
            case,
            before,
            after,
        })
        .collect();
    Ok(Outcome {
        tree,
        bisect_steps: st.steps.iter().filter(|s| s.role == Role::Step).count(),
        good: st.good.clone(),
        bad: st.bad.clone(),
        criterion: st.criterion.clone(),
        first_bad,
        candidates,
        changes,
        steps: st.steps,
        wall_s: t0.elapsed().as_secs_f64(),
    })
}

fn seens(st: &State, role: Role) -> Seens {
    st.judged(role)
        .and_then(|s| s.cases.clone())
        .unwrap_or_default()
}

pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

impl Ctx<'_> {
    /// Builds, boots and judges the revision checked out in the worktree;
    /// Err(signal) if interrupted.
    async fn step(
        &self,
        role: Role,
        commit: &Commit,
        good: Option<&Seens>,
        index: usize,
    ) -> Result<Result<Step, &'static str>> {
        let o = self.o;
        let role_name = serde_json::to_value(role)?
            .as_str()
            .unwrap_or_default()
            .to_string();
        eprintln!(
            "bisect: {role_name} {} {}: building",
            short(&commit.id),
            commit.subject
        );
        let choice = KernelChoice::Build(Source::Tree(self.wt.clone()));
        let ui = Ui::new(o.cells.len());
        let sink = ui.sink();
        let progress = move |e| sink(e);
        let t = Instant::now();
        let built = run::kernels(&o.cells, &choice, &o.fragments, o.jobs, &progress).await;
        let build_s = t.elapsed().as_secs_f64();
        let (mut objects, mut cached, mut broken) = (0, true, Vec::new());
        for ((arch, config, variant, compat), b) in &built {
            let config = crate::matrix::config_label(*config, *variant, *compat);
            match b {
                Ok(b) => {
                    objects += kbuild::objects_compiled(b);
                    cached &= b.cached;
                }
                Err(e) => {
                    cached = false;
                    broken.push(format!(
                        "{arch}/{config}: {}",
                        e.lines().next().unwrap_or_default().trim_end_matches(':')
                    ))
                }
            }
        }
        let mut step = Step {
            role,
            commit: commit.clone(),
            build_s,
            objects,
            cached,
            run_s: 0.0,
            judged: Judged::Skip(String::new()),
            cases: None,
        };
        if !broken.is_empty() {
            ui.finish("");
            step.judged = Judged::Skip(format!("does not build: {}", broken.join("; ")));
            eprintln!(
                "bisect: {}: skipped ({})",
                short(&commit.id),
                broken.join("; ")
            );
            return Ok(Ok(step));
        }
        let specs = match (self.specs)(&choice) {
            Ok(s) => s,
            Err(e) => {
                ui.finish("");
                step.judged = Judged::Skip(format!("its KAPI blocks do not parse: {e:#}"));
                return Ok(Ok(step));
            }
        };
        let opts = CellOptions {
            cases: self.experiments.clone(),
            specs,
            ..Default::default()
        };
        let t = Instant::now();
        // A cell that did not run to the end is booted once more before the
        // revision is skipped: under load an x86_64 boot can panic on its
        // own ("IO-APIC + timer doesn't work!"), which says nothing of the
        // revision.
        let crit = &o.criterion;
        for attempt in 0..2 {
            let out = o.out.join(format!(
                "{index:02}-{role_name}-{}{}",
                short(&commit.id),
                if attempt > 0 { "-again" } else { "" }
            ));
            let (rep, sig) = run::run_matrix(
                o.cells.clone(),
                choice.clone(),
                o.fragments.clone(),
                Choice::Auto,
                o.jobs,
                opts.clone(),
                &out,
                ui.sink(),
            )
            .await?;
            if let Some(sig) = sig {
                return Ok(Err(sig));
            }
            match crit.seens(&rep) {
                Err(why) if attempt == 0 => {
                    eprintln!("bisect: {}: {why}; booting again", short(&commit.id));
                }
                Err(why) => step.judged = Judged::Skip(format!("{why} (booted twice)")),
                Ok(seen) => {
                    step.judged = match good {
                        None => Judged::Good,
                        Some(g) if crit.differences(g, &seen).is_empty() => Judged::Good,
                        Some(_) => Judged::Bad,
                    };
                    step.cases = Some(seen);
                    break;
                }
            }
        }
        ui.finish("");
        step.run_s = t.elapsed().as_secs_f64();
        eprintln!(
            "bisect: {} {}: {} (build {:.1} s, {} objects compiled; boot and judge {:.1} s)",
            short(&commit.id),
            commit.subject,
            render::judged_word(&step.judged),
            step.build_s,
            step.objects,
            step.run_s
        );
        Ok(Ok(step))
    }
}
