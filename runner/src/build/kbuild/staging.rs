//! One stable build place per (arch, fragments, compiler, kernel series), so
//! a kernel that differs from the last one built there by a few lines is an
//! incremental make, whatever path its source came from.
//!
//! Why not ccache: kbuild passes absolute source paths (out-of-tree builds),
//! and even with ccache's base_dir and hash_dir=false the preprocessed
//! output's line markers name the source relative to the build dir
//! (`../../../src/<key>/linux-source-6.1/kernel/fork.c` vs
//! `../../../test-trees/<name>/kernel/fork.c`), so two trees never share an
//! object (measured: 0 hits of 2 for kernel/fork.o with identical flags).
//!
//! Why it is safe: the staged tree is made to hold exactly the source's
//! files, compared by identity (the same inode) or by content, never by size
//! and mtime (two trees can hold different files with equal size and mtime:
//! tarballs with clamped mtimes, `cp -a`). Unchanged files keep their old
//! mtime, so make keeps their objects; a file whose content differs is
//! rewritten (a new inode, mtime now), so every object depending on it is
//! older and make rebuilds it; a file the source lacks is deleted. The
//! paths are always the same, so kbuild's saved command lines (.cmd) match. The cache entry itself stays keyed by the
//! source's identity as before; the staging place is never looked up by key.

use crate::util::cache::Key;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// A staging place held (flock) by this build until dropped.
pub struct Staging {
    dir: PathBuf,
    _lock: std::fs::File,
}

/// What a sync changed in the staged tree.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    /// Files written (new or with different content).
    pub written: usize,
    pub deleted: usize,
    /// The staged tree was empty: filled with hard links to the source.
    pub fresh: bool,
}

/// The `VERSION.PATCHLEVEL` of a kernel tree (from its Makefile), so 6.1 and
/// 6.12 get their own staging places instead of rebuilding each other.
fn series(tree: &Path) -> Result<String> {
    let mk = std::fs::read_to_string(tree.join("Makefile"))
        .with_context(|| format!("reading {}/Makefile", tree.display()))?;
    let field = |name: &str| {
        mk.lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    Ok(format!("{}.{}", field("VERSION"), field("PATCHLEVEL")))
}

impl Staging {
    /// The staging place for these inputs if no other build holds it
    /// (then the caller builds in its own entry, as without staging).
    pub fn try_take(
        root: &Path,
        arch: &str,
        cc_version: &str,
        fragments: &[super::Fragment],
        tree: &Path,
    ) -> Result<Option<Staging>> {
        let mut key = Key::new("staging-v1");
        key.add("arch", arch.as_bytes())
            .add("cc", cc_version.as_bytes())
            .add("series", series(tree)?.as_bytes());
        // Fragments that only flip options kbuild rebuilds incrementally
        // (compat, time32) stay out: such kernels take turns in one place.
        let fragments: Vec<_> = fragments.iter().filter(|f| !f.shares_staging).collect();
        for f in &fragments {
            key.add(&f.name, f.text.as_bytes());
        }
        let names: Vec<_> = fragments
            .iter()
            .map(|f| f.name.trim_end_matches(".config"))
            .collect();
        let dir = root
            .join("staging")
            .join(format!("{arch}-{}-{}", names.join("+"), key.hex()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let lock_path = dir.join("lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a file descriptor we own.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Ok(None);
            }
            return Err(e).with_context(|| format!("locking {}", lock_path.display()));
        }
        Ok(Some(Staging { dir, _lock: f }))
    }

    pub fn src(&self) -> PathBuf {
        self.dir.join("src")
    }

    pub fn build(&self) -> PathBuf {
        self.dir.join("build")
    }

    /// Makes the staged tree hold exactly `from`'s files (but its `.git`).
    pub async fn sync(&self, from: &Path) -> Result<Synced> {
        let dst = self.src();
        let from = from
            .canonicalize()
            .with_context(|| format!("{}", from.display()))?;
        // A first fill is hard links (no copy, no disk); safe because a
        // later sync never writes a file in place: a changed file is written
        // to a temp file and renamed over the link, so the source behind it
        // is never touched.
        let fresh = !dst.join("Makefile").exists();
        if fresh {
            // Links keep the source's mtimes, so no object may predate them.
            let _ = std::fs::remove_dir_all(&dst);
            let _ = std::fs::remove_dir_all(self.build());
        }
        tokio::task::spawn_blocking(move || {
            let mut s = Synced {
                fresh,
                ..Synced::default()
            };
            sync_dir(&from, &dst, true, fresh, &mut s)?;
            Ok(s)
        })
        .await?
    }
}

/// Makes `dst` hold what `src` holds, recursively (`.git` only at the top
/// is skipped). `link`: new files may be hard links to the source's (only on
/// a fresh fill: a link keeps the source's old mtime, which after a build
/// would hide a change from make).
fn sync_dir(src: &Path, dst: &Path, top: bool, link: bool, s: &mut Synced) -> Result<()> {
    use std::collections::BTreeSet;
    use std::os::unix::fs::MetadataExt;
    let ctx = |p: &Path| format!("staging {}", p.display());
    match std::fs::symlink_metadata(dst) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            std::fs::remove_file(dst).with_context(|| ctx(dst))?;
            std::fs::create_dir(dst).with_context(|| ctx(dst))?;
        }
        Err(_) => std::fs::create_dir_all(dst).with_context(|| ctx(dst))?,
    }
    let mut names = BTreeSet::new();
    for e in std::fs::read_dir(src).with_context(|| ctx(src))? {
        let e = e.with_context(|| ctx(src))?;
        let name = e.file_name();
        if top && name == ".git" {
            continue;
        }
        let (sp, dp) = (src.join(&name), dst.join(&name));
        let sm = std::fs::symlink_metadata(&sp).with_context(|| ctx(&sp))?;
        let dm = std::fs::symlink_metadata(&dp).ok();
        names.insert(name);
        let ft = sm.file_type();
        if ft.is_dir() {
            sync_dir(&sp, &dp, false, link, s)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&sp).with_context(|| ctx(&sp))?;
            if dm.as_ref().is_some_and(|m| m.file_type().is_symlink())
                && std::fs::read_link(&dp).ok().as_ref() == Some(&target)
            {
                continue;
            }
            remove(&dp, dm.as_ref())?;
            std::os::unix::fs::symlink(&target, &dp).with_context(|| ctx(&dp))?;
            s.written += 1;
        } else if ft.is_file() {
            if let Some(dm) = dm.as_ref().filter(|m| m.is_file()) {
                let same_file = dm.dev() == sm.dev() && dm.ino() == sm.ino();
                // A changed mode (a script made executable) is a change too.
                let same_bytes =
                    dm.len() == sm.len() && dm.mode() == sm.mode() && same_content(&sp, &dp)?;
                if same_file || same_bytes {
                    continue;
                }
            }
            remove(&dp, dm.as_ref())?;
            if !(link && std::fs::hard_link(&sp, &dp).is_ok()) {
                copy_fresh(&sp, &dp)?;
            }
            s.written += 1;
        }
        // Sockets, fifos, devices: a kernel tree has none; not staged.
    }
    for e in std::fs::read_dir(dst).with_context(|| ctx(dst))? {
        let e = e.with_context(|| ctx(dst))?;
        if !names.contains(&e.file_name()) {
            let p = e.path();
            remove(&p, std::fs::symlink_metadata(&p).ok().as_ref())?;
            s.deleted += 1;
        }
    }
    Ok(())
}

fn remove(p: &Path, m: Option<&std::fs::Metadata>) -> Result<()> {
    match m {
        None => Ok(()),
        Some(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Some(_) => std::fs::remove_file(p),
    }
    .with_context(|| format!("staging: removing {}", p.display()))
}

/// Byte-for-byte equality of two files of equal length.
fn same_content(a: &Path, b: &Path) -> Result<bool> {
    use std::io::Read;
    let open =
        |p: &Path| std::fs::File::open(p).with_context(|| format!("reading {}", p.display()));
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(fb.read(&mut bb[..1])? == 0);
        }
        // Shorter than `a` (changed under us): different.
        if fb.read_exact(&mut bb[..n]).is_err() || ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// A new copy of `src` at `dst` with mtime now (written beside it, renamed
/// over it), keeping the source's permission bits.
fn copy_fresh(src: &Path, dst: &Path) -> Result<()> {
    let dir = dst.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("staging {}", dst.display()))?;
    std::fs::copy(src, tmp.path())
        .with_context(|| format!("copying {} into staging", src.display()))?;
    tmp.persist(dst)
        .with_context(|| format!("staging {}", dst.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn tree(dir: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    }

    fn mtime(p: &Path) -> (i64, i64) {
        let m = std::fs::metadata(p).unwrap();
        (m.mtime(), m.mtime_nsec())
    }

    #[test]
    fn series_is_version_and_patchlevel() {
        let t = tempfile::tempdir().unwrap();
        tree(
            t.path(),
            &[(
                "Makefile",
                "# x\nVERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 3\n",
            )],
        );
        assert_eq!(series(t.path()).unwrap(), "6.12");
    }

    /// The property make relies on: unchanged files keep their mtime,
    /// changed ones (even same size and same mtime, which a size+mtime
    /// check would miss) are rewritten fresh, and the source is never
    /// written through a hard link.
    #[tokio::test]
    async fn sync_rewrites_exactly_what_differs_by_content() {
        let t = tempfile::tempdir().unwrap();
        let (a, b, stage) = (t.path().join("a"), t.path().join("b"), t.path().join("s"));
        tree(
            &a,
            &[
                ("Makefile", "VERSION = 6\n"),
                ("fs/aio.c", "one\n"),
                ("kernel/fork.c", "fork\n"),
                ("old.h", "x\n"),
                (".git/HEAD", "ref\n"),
            ],
        );
        let s = Staging {
            dir: stage.clone(),
            _lock: std::fs::File::open(t.path()).unwrap(),
        };
        // An object left from a staged tree since deleted would predate
        // the hard links' old mtimes: a fresh fill drops it.
        tree(&s.build(), &[("fs/aio.o", "stale")]);
        let first = s.sync(&a).await.unwrap();
        assert!(first.fresh);
        assert!(!s.build().join("fs/aio.o").exists());
        assert!(!s.src().join(".git").exists(), ".git is not staged");
        let staged_aio = s.src().join("fs/aio.c");
        assert_eq!(
            std::fs::metadata(&staged_aio).unwrap().ino(),
            std::fs::metadata(a.join("fs/aio.c")).unwrap().ino(),
            "a fresh staging is hard links"
        );
        // b: aio.c changed with the same size and the same mtime; old.h gone.
        tree(
            &b,
            &[("Makefile", "VERSION = 6\n"), ("kernel/fork.c", "fork\n")],
        );
        tree(&b, &[("fs/aio.c", "two\n")]);
        let f = std::fs::File::options()
            .write(true)
            .open(b.join("fs/aio.c"))
            .unwrap();
        f.set_modified(
            std::fs::metadata(a.join("fs/aio.c"))
                .unwrap()
                .modified()
                .unwrap(),
        )
        .unwrap();
        drop(f);
        let fork_before = mtime(&s.src().join("kernel/fork.c"));
        let aio_before = mtime(&staged_aio);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = s.sync(&b).await.unwrap();
        assert_eq!(
            second,
            Synced {
                written: 1,
                deleted: 1,
                fresh: false
            }
        );
        assert_eq!(std::fs::read_to_string(&staged_aio).unwrap(), "two\n");
        assert!(mtime(&staged_aio) > aio_before, "a changed file is newer");
        assert_eq!(mtime(&s.src().join("kernel/fork.c")), fork_before);
        assert!(!s.src().join("old.h").exists());
        assert_eq!(
            std::fs::read_to_string(a.join("fs/aio.c")).unwrap(),
            "one\n",
            "the source behind the hard link is untouched"
        );
        // Same bytes, but now executable: staged again, with its mode.
        use std::os::unix::fs::PermissionsExt;
        let fork = b.join("kernel/fork.c");
        std::fs::set_permissions(&fork, std::fs::Permissions::from_mode(0o755)).unwrap();
        let third = s.sync(&b).await.unwrap();
        assert_eq!(third.written, 1);
        let staged_mode = std::fs::metadata(s.src().join("kernel/fork.c"))
            .unwrap()
            .mode();
        assert_eq!(staged_mode & 0o777, 0o755);
        assert_eq!(s.sync(&b).await.unwrap().written, 0, "then nothing to do");
    }

    #[tokio::test]
    async fn a_held_staging_place_is_not_handed_out_twice() {
        let t = tempfile::tempdir().unwrap();
        tree(
            t.path(),
            &[("linux/Makefile", "VERSION = 6\nPATCHLEVEL = 1\n")],
        );
        let frag = super::super::Fragment {
            name: "aio-on.config".into(),
            text: "CONFIG_AIO=y\n".into(),
            shares_staging: false,
        };
        let tree_dir = t.path().join("linux");
        let frags = std::slice::from_ref(&frag);
        let a = Staging::try_take(t.path(), "x86_64", "gcc 12", frags, &tree_dir).unwrap();
        assert!(a.is_some());
        let b = Staging::try_take(t.path(), "x86_64", "gcc 12", frags, &tree_dir).unwrap();
        assert!(b.is_none(), "busy: the caller builds in its own entry");
        let other = Staging::try_take(t.path(), "arm64", "gcc 12", frags, &tree_dir).unwrap();
        assert!(other.is_some(), "another arch has its own place");
        drop(a);
        assert!(
            Staging::try_take(t.path(), "x86_64", "gcc 12", frags, &tree_dir)
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_compat_kernel_takes_turns_in_its_plain_siblings_place() {
        let t = tempfile::tempdir().unwrap();
        tree(
            t.path(),
            &[("linux/Makefile", "VERSION = 6\nPATCHLEVEL = 1\n")],
        );
        let f = |name: &str, shares_staging| super::super::Fragment {
            name: name.into(),
            text: "CONFIG_X=y\n".into(),
            shares_staging,
        };
        let tree_dir = t.path().join("linux");
        let plain = [f("aio-on.config", false)];
        let compat = [f("aio-on.config", false), f("x86_64.compat.config", true)];
        let debug = [f("aio-on.config", false), f("debug.config", false)];
        let a = Staging::try_take(t.path(), "x86_64", "gcc 12", &plain, &tree_dir).unwrap();
        let a_dir = a.as_ref().unwrap().build();
        let b = Staging::try_take(t.path(), "x86_64", "gcc 12", &compat, &tree_dir).unwrap();
        assert!(b.is_none(), "the same place, held by the plain build");
        drop(a);
        let b = Staging::try_take(t.path(), "x86_64", "gcc 12", &compat, &tree_dir).unwrap();
        assert_eq!(b.unwrap().build(), a_dir);
        let d = Staging::try_take(t.path(), "x86_64", "gcc 12", &debug, &tree_dir).unwrap();
        assert_ne!(
            d.unwrap().build(),
            a_dir,
            "a debug kernel has its own place"
        );
    }
}
