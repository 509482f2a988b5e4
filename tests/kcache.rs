//! The kernel cache under stress, with a fake kernel tree whose "build" takes
//! a second and counts itself (no real kernel is compiled here): two runs at
//! once, a damaged entry, a full disk.
//!
//! Before this branch, `damaged_cache_entry_is_rebuilt_never_used` and the
//! disk-full test failed on main (checked against main's binary: a truncated
//! image was reused as cached; a full disk left a raw "No space left on
//! device" without the path). `two_builds_at_once_build_once` already held on
//! main (the per-entry flock); it stays as a guard.

mod common;
use common::{is_root, Tmpfs};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A git-clean tree that `kmatrix build --kernel-src` accepts: its Makefile
/// writes a bzImage (HdrS at 0x202) of $KMX_FAKE_SIZE bytes and appends a
/// line to $KMX_FAKE_COUNT for each image it makes.
fn fake_tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("scripts/kconfig")).unwrap();
    std::fs::write(
        dir.join("Makefile"),
        "tinyconfig:\n\tmkdir -p $(O) && : > $(O)/.config\n\
         olddefconfig:\n\t@true\n\
         bzImage:\n\tsleep 1\n\tmkdir -p $(O)/arch/x86/boot $(O)/include/config\n\
         \thead -c $${KMX_FAKE_SIZE:-4096} /dev/zero > $(O)/arch/x86/boot/bzImage\n\
         \tprintf HdrS | dd of=$(O)/arch/x86/boot/bzImage bs=1 seek=514 conv=notrunc 2>/dev/null\n\
         \techo 6.1.0-fake > $(O)/include/config/kernel.release\n\
         \techo built >> $$KMX_FAKE_COUNT\n",
    )
    .unwrap();
    // merge_config.sh -m -O OUT OUT/.config FRAGMENTS...: append them all.
    std::fs::write(
        dir.join("scripts/kconfig/merge_config.sh"),
        "shift 3; base=$1; shift; cat \"$@\" >> \"$base\"\n",
    )
    .unwrap();
    for args in [
        &["init", "-q"][..],
        &["add", "."],
        &[
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "fake",
        ],
    ] {
        assert!(Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .status()
            .unwrap()
            .success());
    }
}

struct Fake {
    _tmp: tempfile::TempDir,
    tree: PathBuf,
    cache: PathBuf,
    count: PathBuf,
}

impl Fake {
    fn new() -> Fake {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("linux");
        fake_tree(&tree);
        Fake {
            tree,
            cache: tmp.path().join("cache"),
            count: tmp.path().join("count"),
            _tmp: tmp,
        }
    }
    fn build(&self) -> Command {
        let mut c = build_tree(&self.tree, &self.cache);
        c.env("KMX_FAKE_COUNT", &self.count)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }
    fn builds(&self) -> usize {
        std::fs::read_to_string(&self.count)
            .unwrap_or_default()
            .lines()
            .count()
    }
    fn entry(&self) -> PathBuf {
        let k = self.cache.join("kernels");
        let e = std::fs::read_dir(&k).unwrap().next().unwrap().unwrap();
        e.path()
    }
}

/// `kmatrix build` of x86_64/aio-on from `tree` into `cache`.
fn build_tree(tree: &Path, cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kmatrix"));
    c.args(["build", "--arch", "x86_64", "--config", "aio-on"])
        .arg("--kernel-src")
        .arg(tree)
        .env("KMATRIX_CACHE", cache);
    c
}

fn ok(o: &Output) -> String {
    let t = common::text(o);
    assert!(o.status.success(), "{t}");
    t
}

#[test]
fn two_builds_at_once_build_once() {
    let f = Fake::new();
    let (a, b) = (f.build().spawn().unwrap(), f.build().spawn().unwrap());
    let (a, b) = (
        ok(&a.wait_with_output().unwrap()),
        ok(&b.wait_with_output().unwrap()),
    );
    assert_eq!(f.builds(), 1, "{a}\n{b}");
    let how: Vec<_> = [&a, &b]
        .iter()
        .map(|t| t.contains("aio-on cached"))
        .collect();
    assert!(
        how.contains(&true) && how.contains(&false),
        "one built, one reused:\n{a}\n{b}"
    );
}

#[test]
fn damaged_cache_entry_is_rebuilt_never_used() {
    let f = Fake::new();
    ok(&f.build().output().unwrap());
    assert!(ok(&f.build().output().unwrap()).contains("cached"));
    assert_eq!(f.builds(), 1);
    let image = f.entry().join("bzImage");
    // Truncated (a crash mid-copy), then changed in place (a hand edit).
    let len = std::fs::metadata(&image).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let t = ok(&f.build().output().unwrap());
    assert!(
        t.contains("checksum mismatch") && t.contains("built"),
        "{t}"
    );
    assert_eq!(f.builds(), 2);
    let config = f.entry().join("config");
    let mut c = std::fs::read_to_string(&config).unwrap();
    c.push_str("CONFIG_EVIL=y\n");
    std::fs::write(&config, c).unwrap();
    let t = ok(&f.build().output().unwrap());
    assert!(t.contains("checksum mismatch"), "{t}");
    assert_eq!(f.builds(), 3);
    assert!(ok(&f.build().output().unwrap()).contains("cached"));
}

#[test]
fn disk_full_during_a_kernel_build_names_the_path_and_leaves_no_finished_entry() {
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let fs = Tmpfs::new("size=1m");
    let mut f = Fake::new();
    f.cache = fs.path().join("cache");
    // make's image fits (600k), the copy into the entry does not.
    let o = f.build().env("KMX_FAKE_SIZE", "614400").output().unwrap();
    let t = common::text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(t.contains("No space left on device"), "{t}");
    let entry = f.entry();
    assert!(
        t.contains(&entry.join("bzImage").display().to_string()),
        "names the path: {t}"
    );
    assert!(
        !entry.join("kmatrix-built.json").exists(),
        "no finished entry"
    );
    // With room again, the same entry is rebuilt, not taken as finished.
    let o = f.build().env("KMX_FAKE_SIZE", "4096").output().unwrap();
    assert!(ok(&o).contains("aio-on built"));
    assert_eq!(f.builds(), 2);
}

/// A kernel-like tree (not git: rebuilt by make on every build, like a
/// work tree) whose make compiles each `*.c` to an object only when the
/// source is newer, logs each compile to $KMX_FAKE_COMPILED, and whose
/// "bzImage" is the objects concatenated behind a boot header.
fn incremental_tree(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir.join("scripts/kconfig")).unwrap();
    std::fs::write(
        dir.join("Makefile"),
        "VERSION = 6\nPATCHLEVEL = 1\n\
         OBJS := $(O)/a.o $(O)/b.o $(O)/c.o\n\
         tinyconfig:\n\tmkdir -p $(O) && : > $(O)/.config\n\
         olddefconfig:\n\t@true\n\
         $(O)/%.o: $(CURDIR)/%.c\n\tcp $< $@\n\techo $* >> $$KMX_FAKE_COMPILED\n\
         bzImage: $(OBJS)\n\tmkdir -p $(O)/arch/x86/boot $(O)/include/config\n\
         \thead -c 4096 /dev/zero > $(O)/arch/x86/boot/bzImage\n\
         \tprintf HdrS | dd of=$(O)/arch/x86/boot/bzImage bs=1 seek=514 conv=notrunc 2>/dev/null\n\
         \tcat $(OBJS) >> $(O)/arch/x86/boot/bzImage\n\
         \techo 6.1.0-fake > $(O)/include/config/kernel.release\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("scripts/kconfig/merge_config.sh"),
        "shift 3; base=$1; shift; cat \"$@\" >> \"$base\"\n",
    )
    .unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// The pre-merge case: a tree one line off a tree built before (another
/// path, so another cache entry) recompiles only what changed, and its image
/// is built from its own source, not the first tree's; going back recompiles
/// that file again.
#[test]
fn a_tree_one_line_off_a_built_one_recompiles_only_that_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, cand) = (tmp.path().join("base"), tmp.path().join("cand"));
    let files = [("a.c", "a\n"), ("b.c", "b-base\n"), ("c.c", "c\n")];
    incremental_tree(&base, &files);
    // Written later, so every file's mtime differs from the baseline's:
    // only content may decide what is unchanged.
    incremental_tree(
        &cand,
        &[("a.c", "a\n"), ("b.c", "b-cand\n"), ("c.c", "c\n")],
    );
    let cache = tmp.path().join("cache");
    let compiled = tmp.path().join("compiled");
    let build = |tree: &Path| {
        let _ = std::fs::remove_file(&compiled);
        let o = build_tree(tree, &cache)
            .env("KMX_FAKE_COMPILED", &compiled)
            .output()
            .unwrap();
        let t = ok(&o);
        let image = t
            .lines()
            .find_map(|l| {
                l.split_whitespace()
                    .last()
                    .filter(|w| w.ends_with("bzImage"))
            })
            .unwrap_or_else(|| panic!("no image in: {t}"))
            .to_string();
        let image = String::from_utf8_lossy(&std::fs::read(image).unwrap()[4096..]).into_owned();
        let mut objs: Vec<String> = std::fs::read_to_string(&compiled)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect();
        objs.sort();
        (objs, image)
    };
    assert_eq!(
        build(&base),
        (
            vec!["a".into(), "b".into(), "c".into()],
            "a\nb-base\nc\n".into()
        )
    );
    assert_eq!(build(&cand), (vec!["b".into()], "a\nb-cand\nc\n".into()));
    assert_eq!(build(&base), (vec!["b".into()], "a\nb-base\nc\n".into()));
    // Nothing changed: nothing compiled, the same image.
    assert_eq!(build(&base), (vec![], "a\nb-base\nc\n".into()));
    let entries = std::fs::read_dir(cache.join("kernels")).unwrap().count();
    assert_eq!(entries, 2, "one cache entry per tree, keyed by its path");
}
