//! What a bisection has done so far, in the cache beside its worktree
//! (`bisect/<key of the tree>/state.json`), written after every step, so
//! an interrupted one goes on with `kmatrix bisect --resume`: git's own
//! bisection is still in the worktree, and the steps judged are not redone.

use super::judge::{Criterion, Seens};
use super::walk::Commit;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The --good end, judged first: what every step is compared with.
    Good,
    Bad,
    /// A revision git asked for.
    Step,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "judged", content = "reason")]
pub enum Judged {
    /// Judged as the good revision.
    Good,
    /// Differs from the good revision.
    Bad,
    /// Not judged: did not build, or a cell did not run to the end.
    Skip(String),
}

/// One revision built, booted and judged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub role: Role,
    pub commit: Commit,
    /// Wall time of the kernel builds (cache checks only when cached).
    pub build_s: f64,
    /// Objects compiled (`CC` lines of the build logs); 0 when cached or
    /// when a build failed.
    pub objects: usize,
    pub cached: bool,
    /// Wall time of the boots and judging.
    pub run_s: f64,
    #[serde(flatten)]
    pub judged: Judged,
    /// The selected cases as seen (None when skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<Seens>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// The command line, so --resume runs with the same options.
    pub argv: Vec<String>,
    /// Where it was run, for the command line's relative paths.
    #[serde(default)]
    pub cwd: PathBuf,
    pub tree: PathBuf,
    pub good: Commit,
    pub bad: Commit,
    pub criterion: Criterion,
    /// Good and bad first, then git's steps in order.
    pub steps: Vec<Step>,
    /// git's bisection started in the worktree.
    pub started: bool,
    pub finished: bool,
}

impl State {
    pub fn judged(&self, role: Role) -> Option<&Step> {
        self.steps.iter().find(|s| s.role == role)
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::util::cache::write_atomic(&dir.join(FILE), &serde_json::to_vec_pretty(self)?)
    }
}

const FILE: &str = "state.json";

/// Where the bisections of `tree` keep their state and worktree.
pub fn dir_of(tree: &Path) -> PathBuf {
    let key = crate::util::cache::Key::new("bisect")
        .add("tree", tree.to_string_lossy().as_bytes())
        .hex();
    crate::util::cache::root().join("bisect").join(key)
}

pub fn load(dir: &Path) -> Result<State> {
    let p = dir.join(FILE);
    let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a bisect state", p.display()))
}

/// The unfinished bisection to resume: of `tree` if given, else the one
/// most recently written.
pub fn unfinished(tree: Option<&Path>) -> Result<(PathBuf, State)> {
    if let Some(t) = tree {
        let dir = dir_of(t);
        return match load(&dir) {
            Ok(s) if !s.finished => Ok((dir, s)),
            Ok(_) => bail!("--resume: the last bisection of {} finished", t.display()),
            Err(_) => bail!("--resume: no bisection of {} to resume", t.display()),
        };
    }
    let root = crate::util::cache::root().join("bisect");
    let mut best: Option<(std::time::SystemTime, PathBuf, State)> = None;
    for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let Ok(s) = load(&e.path()) else { continue };
        let Ok(t) = e.path().join(FILE).metadata().and_then(|m| m.modified()) else {
            continue;
        };
        if !s.finished && best.as_ref().is_none_or(|b| t > b.0) {
            best = Some((t, e.path(), s));
        }
    }
    best.map(|(_, d, s)| (d, s))
        .context("--resume: no interrupted bisection in the cache")
}
