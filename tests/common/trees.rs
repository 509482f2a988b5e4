//! Kernel trees for pre-merge tests: Debian 6.1 from kmatrix's cache, and
//! hard-linked copies of it with fs/aio.c edited.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::kmatrix;

pub fn cache_root() -> PathBuf {
    std::env::var_os("KMATRIX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
            base.join("kmatrix")
        })
}

/// The unpacked Debian 6.1 tree kmatrix keeps in its cache.
pub fn debian_tree() -> PathBuf {
    let o = kmatrix(&["build", "--arch", "x86_64", "--config", "aio-on"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_dir(cache_root().join("src"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("linux-source-6.1"))
        .find(|p| p.join("Makefile").exists())
        .expect("unpacked linux-source-6.1 in the cache")
}

/// A hard-linked copy of `src` at a fixed place (`test-trees/NAME`, so its
/// out-of-tree build is reused across runs) whose fs/aio.c is `edit` of
/// the original.
pub fn tree_with_aio(src: &Path, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let dst = cache_root().join("test-trees").join(name);
    if !dst.join("Makefile").exists() {
        let _ = std::fs::remove_dir_all(&dst);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        let st = Command::new("cp")
            .arg("-al")
            .arg(src)
            .arg(&dst)
            .status()
            .unwrap();
        assert!(st.success());
    }
    let aio = dst.join("fs/aio.c");
    let text = std::fs::read_to_string(src.join("fs/aio.c")).unwrap();
    let changed = edit(&text);
    assert_ne!(text, changed, "the edit applies to fs/aio.c");
    if std::fs::read_to_string(&aio).unwrap() != changed {
        // Unlink first: writing through the hard link would edit the baseline.
        std::fs::remove_file(&aio).unwrap();
        std::fs::write(&aio, changed).unwrap();
    }
    dst
}
