//! Measures the pre-merge target: a candidate tree one source line
//! off a cached baseline (Debian 6.1, the change `tests/compare.rs` makes),
//! built the way `kmatrix compare --candidate DIR` builds it.

use super::{Built, Source, Timer, Timing};
use crate::util::cache;
use anyhow::{bail, Context, Result};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

/// The one-line change: native io_setup accepts nr_events == 0.
pub const FROM: &str = "if (unlikely(ctx || nr_events == 0)) {";
pub const TO: &str = "if (unlikely(ctx)) {";

/// What the candidate's build cost.
pub struct Measured {
    pub timing: Timing,
    /// Objects compiled (kbuild's `CC` lines in its build log).
    pub compiled: usize,
    /// Files the staging place had to take from the candidate (None: the
    /// build did not go through staging, e.g. another build held it).
    pub staged: Option<String>,
}

pub type BuildFn<'a> =
    &'a (dyn Fn(Source) -> Pin<Box<dyn Future<Output = Result<Built>> + Send + 'a>> + Sync);

/// The Debian 6.1 tree as kmatrix unpacked it in its cache.
async fn debian_tree(tar: &Path) -> Result<PathBuf> {
    let (tree, _, _, _, to_unpack) =
        super::prepare_source(&Source::Tarball(tar.to_path_buf()), &|_| {}).await?;
    if let Some(t) = to_unpack {
        super::unpack(&t, &tree, &|_| {}).await?;
    }
    Ok(tree)
}

/// Baseline first (cached or built), then the staging place set to the
/// baseline's tree (an incremental no-op when it already holds it), then
/// the candidate, timed. The candidate (a hard-linked copy in a temp dir
/// under the cache) and its one-off cache entry are removed afterwards.
pub async fn measure(build: BuildFn<'_>, cores: usize) -> Result<Measured> {
    let tar = PathBuf::from(super::DEFAULT_TARBALL);
    build(Source::Tarball(tar.clone())).await?;
    let tree = debian_tree(&tar).await?;
    build(Source::Tree(tree.clone())).await?;

    std::fs::create_dir_all(cache::root())?;
    let tmp = tempfile::Builder::new()
        .prefix("premerge-")
        .tempdir_in(cache::root())?;
    let cand = tmp.path().join("linux");
    one_line_off(&tree, &cand)?;
    let timer = Timer::start(cores);
    let built = build(Source::Tree(cand)).await;
    let timing = timer.stop();
    let built = built?;
    let entry = built
        .image
        .parent()
        .context("candidate image has no entry dir")?
        .to_path_buf();
    let log = std::fs::read_to_string(entry.join("build.log"))
        .with_context(|| format!("reading {}/build.log", entry.display()))?;
    // Keyed by the temp path: never looked up again.
    let _ = std::fs::remove_dir_all(&entry);
    Ok(Measured {
        timing,
        compiled: compiled(&log),
        staged: staged(&log),
    })
}

/// A hard-linked copy of `tree` at `dst` with FROM replaced by TO in
/// fs/aio.c (unlinked first: writing through the link would edit `tree`).
pub fn one_line_off(tree: &Path, dst: &Path) -> Result<()> {
    let st = std::process::Command::new("cp")
        .arg("-al")
        .arg(tree)
        .arg(dst)
        .status()?;
    if !st.success() {
        bail!("cp -al {} {} failed ({st})", tree.display(), dst.display());
    }
    let aio = dst.join("fs/aio.c");
    let text = std::fs::read_to_string(&aio)?;
    let changed = text.replacen(FROM, TO, 1);
    if changed == text {
        bail!("{}: no '{FROM}' to change", aio.display());
    }
    std::fs::remove_file(&aio)?;
    std::fs::write(&aio, changed)?;
    Ok(())
}

/// Objects kbuild compiled, from its quiet output (`  CC      fs/aio.o`).
pub fn compiled(build_log: &str) -> usize {
    build_log.lines().filter(|l| l.starts_with("  CC ")).count()
}

/// The staging line of a build log ("1 file(s) written, 0 deleted").
fn staged(build_log: &str) -> Option<String> {
    build_log
        .lines()
        .find(|l| l.starts_with("### staged "))
        .and_then(|l| l.rsplit_once("): "))
        .map(|(_, what)| what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_objects_and_staging_come_from_the_log() {
        let log = "### staged /a in /s/src (1.5 s): 1 file(s) written, 0 deleted\n### make bzImage\n  CC      fs/aio.o\n  LD      vmlinux\n  CC      init/version-timestamp.o\n";
        assert_eq!(compiled(log), 2);
        assert_eq!(staged(log).as_deref(), Some("1 file(s) written, 0 deleted"));
        assert_eq!(
            staged("### staging place busy: building in the entry\n"),
            None
        );
    }

    #[test]
    fn the_change_is_one_line_and_leaves_the_tree_alone() {
        let t = tempfile::tempdir().unwrap();
        let tree = t.path().join("tree");
        std::fs::create_dir_all(tree.join("fs")).unwrap();
        let text = format!("a\n\t{FROM}\nb\n");
        std::fs::write(tree.join("fs/aio.c"), &text).unwrap();
        let dst = t.path().join("cand");
        one_line_off(&tree, &dst).unwrap();
        assert_eq!(
            std::fs::read_to_string(tree.join("fs/aio.c")).unwrap(),
            text
        );
        assert_eq!(
            std::fs::read_to_string(dst.join("fs/aio.c")).unwrap(),
            format!("a\n\t{TO}\nb\n")
        );
        let e = one_line_off(&dst, &t.path().join("again")).unwrap_err();
        assert!(e.to_string().contains("no '"), "{e}");
    }
}
