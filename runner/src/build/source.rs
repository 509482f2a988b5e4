//! Where a run's kernels come from, resolved in one place: from the run
//! flags (--kernel, --kernel-version, --kernel-src) and from a compare
//! side (`6.1`, `6.12`, `DIR`, `DIR@REV`, `IMAGE`). Each path is checked
//! here, so a bad one is one clear line, not an error in every cell.

use crate::build::kbuild::{self, Source, DEFAULT_TARBALL};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Where kernels come from.
#[derive(Debug, Clone)]
pub enum KernelChoice {
    Build(Source),
    /// A prebuilt image for one arch; its config is taken on trust and
    /// described by the guest (aio-nr present or not).
    Prebuilt {
        image: PathBuf,
        arch: String,
    },
}

/// A prebuilt image for the one arch named.
pub fn prebuilt(image: &Path, arches: &[String]) -> Result<KernelChoice> {
    let [name] = arches else {
        bail!("--kernel IMAGE needs exactly one --arch (the image's architecture)");
    };
    let a = crate::matrix::arch::by_name(name)?;
    a.check_image(image)?;
    Ok(KernelChoice::Prebuilt {
        image: image.to_path_buf(),
        arch: a.name,
    })
}

/// Debian's linux-source-6.1 as installed (the default kernel).
pub fn default_tarball() -> Result<KernelChoice> {
    let t = PathBuf::from(DEFAULT_TARBALL);
    if !t.exists() {
        bail!("kernel source {DEFAULT_TARBALL} is missing: apt-get install linux-source-6.1 (scripts/setup.sh), or pass --kernel-src DIR");
    }
    Ok(KernelChoice::Build(Source::Tarball(t)))
}

/// A kernel tree as it is.
pub fn tree(dir: &Path) -> Result<KernelChoice> {
    kbuild::check_tree(dir)?;
    Ok(KernelChoice::Build(Source::Tree(dir.to_path_buf())))
}

/// From the run flags: an image, a Debian version, a tree, or the default.
pub fn from_flags(
    image: Option<&Path>,
    arches: &[String],
    version: Option<&str>,
    src: Option<&Path>,
) -> Result<KernelChoice> {
    if let Some(img) = image {
        return prebuilt(img, arches);
    }
    if let Some(v) = version {
        return Ok(KernelChoice::Build(Source::Debian(v.to_string())));
    }
    match src {
        Some(d) => tree(d),
        None => default_tarball(),
    }
}

/// "6.12" or "debian-6.12" (not a path that exists): that Debian version.
fn debian_version(spec: &str) -> Option<&str> {
    let ver = spec.strip_prefix("debian-").unwrap_or(spec);
    let looks =
        !ver.is_empty() && ver.contains('.') && ver.chars().all(|c| c.is_ascii_digit() || c == '.');
    (looks && !Path::new(spec).exists()).then_some(ver)
}

/// From a compare side that is not a saved report: `6.1`, `6.12`,
/// `DIR@REV` (a git revision, checked out as a worktree in the cache),
/// `DIR` or `IMAGE` (prebuilt, with exactly one arch).
pub async fn from_spec(spec: &str, arch: Option<&str>) -> Result<KernelChoice> {
    if spec == "6.1" || spec == "debian-6.1" {
        return Ok(KernelChoice::Build(Source::Tarball(DEFAULT_TARBALL.into())));
    }
    if let Some(ver) = debian_version(spec) {
        return Ok(KernelChoice::Build(Source::Debian(ver.to_string())));
    }
    if let Some((dir, rev)) = spec.rsplit_once('@').filter(|(d, _)| Path::new(d).is_dir()) {
        return git_revision(spec, Path::new(dir), rev).await;
    }
    let p = Path::new(spec);
    if p.is_dir() {
        return tree(p);
    }
    if p.is_file() {
        let arch = arch.context("a prebuilt image needs exactly one --arch")?;
        return prebuilt(p, &[arch.to_string()]);
    }
    bail!("{spec}: not a report (.json), a kernel tree, DIR@REV, an image, or 6.1")
}

/// `rev` of the git tree `dir`, checked out (once) as a worktree in the cache.
async fn git_revision(spec: &str, dir: &Path, rev: &str) -> Result<KernelChoice> {
    use tokio::process::Command;
    let dir = dir.canonicalize()?;
    let out = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["rev-parse", "--verify", &format!("{rev}^{{commit}}")])
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "{spec}: {rev} is not a revision of the git tree {}",
            dir.display()
        );
    }
    let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let key = crate::util::cache::Key::new("worktree")
        .add("dir", dir.to_string_lossy().as_bytes())
        .add("rev", commit.as_bytes())
        .hex();
    let wt: PathBuf = crate::util::cache::root().join("worktrees").join(key);
    if !wt.join("Makefile").exists() {
        std::fs::create_dir_all(wt.parent().unwrap())?;
        let st = Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(["worktree", "add", "--detach"])
            .arg(&wt)
            .arg(&commit)
            .status()
            .await?;
        if !st.success() {
            bail!("git worktree add {} {commit} failed", wt.display());
        }
    }
    Ok(KernelChoice::Build(Source::Tree(wt)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_flags() {
        assert_eq!(debian_version("6.12"), Some("6.12"));
        assert_eq!(debian_version("debian-6.12"), Some("6.12"));
        assert_eq!(debian_version("six"), None);
        let e = from_flags(Some(Path::new("/x")), &[], None, None).unwrap_err();
        assert!(e.to_string().contains("exactly one --arch"), "{e}");
        let e = from_flags(None, &[], None, Some(Path::new("/nonexistent"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent"), "{e}");
        assert!(matches!(
            from_flags(None, &[], Some("6.12"), None).unwrap(),
            KernelChoice::Build(Source::Debian(v)) if v == "6.12"
        ));
    }

    #[tokio::test]
    async fn bad_specs_say_what_is_accepted() {
        let e = from_spec("/nonexistent/thing", None).await.unwrap_err();
        assert!(e.to_string().contains("not a report"), "{e}");
        let f = tempfile::NamedTempFile::new().unwrap();
        let e = from_spec(f.path().to_str().unwrap(), None)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("--arch"), "{e}");
    }
}
