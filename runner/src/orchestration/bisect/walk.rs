//! The walk, done by git itself: the user's tree is only read; revisions
//! are checked out in a worktree of it in the cache, where `git bisect`
//! keeps its own state (refs/bisect and BISECT_LOG are per worktree).

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One commit as the output names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Commit {
    pub id: String,
    pub subject: String,
    /// Author date, ISO 8601.
    pub date: String,
}

/// `git -C dir ARGS` in the C locale (its messages are parsed); stdout,
/// or the error with git's stderr.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .context("running git (apt-get install git)")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git_ok(dir: &Path, args: &[&str]) -> bool {
    git(dir, args).is_ok()
}

/// The top of the git work tree `dir`, or why it is not one.
pub fn toplevel(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        bail!("--tree {}: no such directory", dir.display());
    }
    let top = git(dir, &["rev-parse", "--show-toplevel"])
        .map_err(|_| anyhow::anyhow!("--tree {}: not a git tree", dir.display()))?;
    Ok(PathBuf::from(top.trim()))
}

/// The commit `rev` names in `dir`, or an error naming both.
pub fn commit_of(dir: &Path, flag: &str, rev: &str) -> Result<String> {
    git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map(|s| s.trim().to_string())
    .map_err(|_| {
        anyhow::anyhow!(
            "{flag} {rev}: no such revision in the git tree {}",
            dir.display()
        )
    })
}

pub fn describe(dir: &Path, id: &str) -> Result<Commit> {
    let s = git(dir, &["show", "-s", "--format=%H%n%s%n%aI", id])?;
    let mut l = s.lines();
    Ok(Commit {
        id: l.next().unwrap_or_default().to_string(),
        subject: l.next().unwrap_or_default().to_string(),
        date: l.next().unwrap_or_default().to_string(),
    })
}

/// Everything about the two ends that can be said before a build: good is
/// an ancestor of bad, and both are kernel trees. A history made from
/// Debian's linux-source tarball with a plain `git add` holds nothing: its
/// .gitignore ends with `/*` (Debian packaging ignores the whole top level).
pub fn check_ends(dir: &Path, good: &str, bad: &str, names: (&str, &str)) -> Result<()> {
    if good == bad {
        bail!(
            "--good {} and --bad {} are the same commit: nothing to bisect",
            names.0,
            names.1
        );
    }
    if !git_ok(dir, &["merge-base", "--is-ancestor", good, bad]) {
        bail!(
            "--good {} is not an ancestor of --bad {}: bisect needs good before bad on one history",
            names.0,
            names.1
        );
    }
    for (flag, id, name) in [("--good", good, names.0), ("--bad", bad, names.1)] {
        for f in ["Makefile", "scripts/kconfig/merge_config.sh"] {
            if git_ok(dir, &["cat-file", "-e", &format!("{id}:{f}")]) {
                continue;
            }
            let ignored = git_ok(dir, &["check-ignore", "-q", "--no-index", f]);
            let why = if ignored {
                format!(
                    "; {} ignores it ({}), so a plain `git add` left it out: commit the tree with `git add -f`",
                    dir.join(".gitignore").display(),
                    git(dir, &["check-ignore", "-v", "--no-index", f])
                        .unwrap_or_default()
                        .split('\t')
                        .next()
                        .unwrap_or_default()
                )
            } else {
                String::new()
            };
            bail!("{flag} {name}: not a kernel tree at that revision (no {f} committed){why}");
        }
    }
    Ok(())
}

/// The worktree at `wt` (made from `dir` if missing), on `rev`.
pub fn checkout(dir: &Path, wt: &Path, rev: &str) -> Result<()> {
    if !wt.join(".git").exists() {
        // A worktree whose directory went away is still registered.
        let _ = git(dir, &["worktree", "prune"]);
        let _ = std::fs::remove_dir_all(wt);
        std::fs::create_dir_all(wt.parent().unwrap_or(Path::new("/")))?;
        let w = wt.to_string_lossy();
        git(dir, &["worktree", "add", "--detach", &w, rev])?;
        return Ok(());
    }
    git(wt, &["checkout", "--quiet", "--detach", rev])?;
    Ok(())
}

/// What git said after a revision was marked.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Test the revision now checked out.
    Test(String),
    Found(String),
    /// Only skipped revisions are left: the first bad one is among these.
    OnlySkipped(Vec<String>),
}

pub fn start(wt: &Path, good: &str, bad: &str) -> Result<Next> {
    let _ = git(wt, &["bisect", "reset"]);
    let out = git(wt, &["bisect", "start", bad, good])?;
    next(wt, &out)
}

/// `git bisect good|bad|skip ID`, then what git wants next.
pub fn mark(wt: &Path, how: &str, id: &str) -> Result<Next> {
    let out = Command::new("git")
        .arg("-C")
        .arg(wt)
        .args(["bisect", how, id])
        .env("LC_ALL", "C")
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // "only skipped commits left" is a non-zero exit with its answer on stdout.
    if !out.status.success() && !text.contains("only 'skip'ped commits left") {
        bail!(
            "git bisect {how} {id}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    next(wt, &text)
}

/// Where the bisection stands, from git's own words after a mark.
pub fn next(wt: &Path, out: &str) -> Result<Next> {
    let hex = |w: &str| w.len() == 40 && w.chars().all(|c| c.is_ascii_hexdigit());
    if let Some(l) = out
        .lines()
        .find(|l| l.ends_with(" is the first bad commit"))
    {
        return Ok(Next::Found(l.split(' ').next().unwrap_or_default().into()));
    }
    if out.contains("only 'skip'ped commits left") {
        let ids = out
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| hex(w))
            .map(str::to_string)
            .collect();
        return Ok(Next::OnlySkipped(ids));
    }
    Ok(Next::Test(
        git(wt, &["rev-parse", "HEAD"])?.trim().to_string(),
    ))
}

/// Ends git's bisection in the worktree (the worktree itself stays, so the
/// next bisect of this tree checks out only what differs).
pub fn reset(wt: &Path) {
    let _ = git(wt, &["bisect", "reset"]);
}

/// Whether git's bisection in `wt` is still under way.
pub fn in_progress(wt: &Path) -> bool {
    git_ok(wt, &["rev-parse", "--verify", "--quiet", "refs/bisect/bad"])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A linear history c0..c6 of empty commits, one file tree.
    fn history() -> (tempfile::TempDir, Vec<String>) {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let run = |args: &[&str]| {
            let o = Command::new("git")
                .arg("-C")
                .arg(d)
                .args(args)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@t")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@t")
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        };
        run(&["init", "-q"]);
        std::fs::write(d.join("Makefile"), "VERSION = 6\n").unwrap();
        std::fs::create_dir_all(d.join("scripts/kconfig")).unwrap();
        std::fs::write(d.join("scripts/kconfig/merge_config.sh"), "").unwrap();
        run(&["add", "-A"]);
        run(&["commit", "-qm", "c0"]);
        for i in 1..=6 {
            run(&["commit", "-q", "--allow-empty", "-m", &format!("c{i}")]);
        }
        let ids = git(d, &["rev-list", "--reverse", "HEAD"]).unwrap();
        let ids = ids.lines().map(str::to_string).collect();
        (t, ids)
    }

    #[test]
    fn bad_ends_are_refused_naming_the_cause() {
        let (t, c) = history();
        let d = t.path();
        let e = toplevel(&d.join("nope")).unwrap_err();
        assert!(e.to_string().contains("no such directory"), "{e}");
        let plain = tempfile::tempdir().unwrap();
        let e = toplevel(plain.path()).unwrap_err();
        assert!(e.to_string().ends_with("not a git tree"), "{e}");
        let e = commit_of(d, "--good", "v9.9").unwrap_err();
        assert!(
            e.to_string().contains("--good v9.9: no such revision"),
            "{e}"
        );
        let e = check_ends(d, &c[4], &c[2], ("c4", "c2")).unwrap_err();
        assert!(e.to_string().contains("not an ancestor"), "{e}");
        let e = check_ends(d, &c[2], &c[2], ("c2", "c2")).unwrap_err();
        assert!(e.to_string().contains("same commit"), "{e}");
        check_ends(d, &c[0], &c[6], ("c0", "c6")).unwrap();
    }

    #[test]
    fn a_history_that_lost_its_files_to_gitignore_says_so() {
        let (t, c) = history();
        let d = t.path();
        std::fs::write(d.join(".gitignore"), "/*\n").unwrap();
        let o = Command::new("git")
            .arg("-C")
            .arg(d)
            .args(["rm", "-q", "--cached", "Makefile"])
            .output()
            .unwrap();
        assert!(o.status.success());
        let o = Command::new("git")
            .arg("-C")
            .arg(d)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "c7",
            ])
            .output()
            .unwrap();
        assert!(o.status.success());
        let head = commit_of(d, "--bad", "HEAD").unwrap();
        let e = check_ends(d, &c[0], &head, ("c0", "HEAD")).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("--bad HEAD: not a kernel tree at that revision (no Makefile committed)"),
            "{e}"
        );
        assert!(
            e.contains("git add -f") && e.contains(".gitignore:1:/*"),
            "{e}"
        );
    }

    #[test]
    fn git_walks_and_names_the_first_bad_commit_past_a_skip() {
        let (t, c) = history();
        let wt = t.path().join("wt");
        checkout(t.path(), &wt, &c[6]).unwrap();
        // First bad: c4; c2 cannot be tested.
        let mut next = start(&wt, &c[0], &c[6]).unwrap();
        let mut tested = Vec::new();
        let found = loop {
            match next {
                Next::Test(id) => {
                    let i = c.iter().position(|x| *x == id).unwrap();
                    tested.push(i);
                    let how = match i {
                        2 => "skip",
                        i if i >= 4 => "bad",
                        _ => "good",
                    };
                    next = mark(&wt, how, &id).unwrap();
                }
                Next::Found(id) => break id,
                Next::OnlySkipped(ids) => panic!("ambiguous: {ids:?}"),
            }
        };
        assert_eq!(found, c[4], "tested {tested:?}");
        assert!(in_progress(&wt));
        reset(&wt);
        assert!(!in_progress(&wt));
        // Next to a skipped one, the answer is a list.
        let mut next = start(&wt, &c[0], &c[6]).unwrap();
        let ids = loop {
            match next {
                Next::Test(id) => {
                    let i = c.iter().position(|x| *x == id).unwrap();
                    let how = match i {
                        3 => "skip",
                        i if i >= 3 => "bad",
                        _ => "good",
                    };
                    next = mark(&wt, how, &id).unwrap();
                }
                Next::Found(id) => panic!("found {id} though c3 was skipped"),
                Next::OnlySkipped(ids) => break ids,
            }
        };
        assert!(ids.contains(&c[3]) && ids.contains(&c[4]), "{ids:?}");
    }
}
