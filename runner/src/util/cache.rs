//! Where built artefacts live (outside the checkout) and how they are keyed.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `$KMATRIX_CACHE`, else `$XDG_CACHE_HOME/kmatrix`, else `~/.cache/kmatrix`.
pub fn root() -> PathBuf {
    if let Some(p) = std::env::var_os("KMATRIX_CACHE") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("kmatrix");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/kmatrix")
}

/// A content key: everything that went into an artefact, hashed. Each part is
/// length-prefixed so ("ab","c") and ("a","bc") differ.
#[derive(Default)]
pub struct Key(Sha256);

impl Key {
    pub fn new(kind: &str) -> Self {
        let mut k = Key(Sha256::new());
        k.add(kind, b"");
        k
    }
    pub fn add(&mut self, label: &str, data: &[u8]) -> &mut Self {
        for part in [label.as_bytes(), data] {
            self.0.update((part.len() as u64).to_le_bytes());
            self.0.update(part);
        }
        self
    }
    pub fn hex(&self) -> String {
        hex::encode(self.0.clone().finalize())[..20].to_string()
    }
}

/// sha256 of a file's content, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

fn seal_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// Writes `bytes` to `path` through a temp file and a rename, so `path` is
/// either absent or whole (a full disk or a crash leaves no half file).
/// Errors name the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Seals a finished artefact: its checksum goes beside it (`PATH.sha256`),
/// written last, so an entry without a matching seal is never used.
pub fn seal(path: &Path) -> Result<()> {
    let sum = sha256_file(path).with_context(|| format!("reading {}", path.display()))?;
    write_atomic(&seal_path(path), sum.as_bytes())
}

/// Why a sealed artefact cannot be used (missing, unsealed, changed), or Ok.
pub fn check_seal(path: &Path) -> Result<(), String> {
    let want = std::fs::read_to_string(seal_path(path))
        .map_err(|e| format!("{}: no checksum ({e})", path.display()))?;
    let got = sha256_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if got != want.trim() {
        return Err(format!(
            "{}: checksum mismatch (truncated or changed after it was written)",
            path.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_or_truncated_artefact_fails_its_seal() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("init");
        std::fs::write(&p, b"0123456789").unwrap();
        assert!(check_seal(&p).unwrap_err().contains("no checksum"));
        seal(&p).unwrap();
        check_seal(&p).unwrap();
        std::fs::write(&p, b"01234").unwrap();
        assert!(check_seal(&p).unwrap_err().contains("checksum mismatch"));
        std::fs::write(&p, b"0123456789").unwrap();
        check_seal(&p).unwrap();
        std::fs::write(&p, b"0123456788").unwrap();
        assert!(check_seal(&p).is_err(), "same size, one byte changed");
        std::fs::remove_file(&p).unwrap();
        assert!(check_seal(&p).is_err());
    }
    #[test]
    fn key_separates_parts() {
        let a = Key::new("k").add("x", b"ab").add("y", b"c").hex();
        let b = Key::new("k").add("x", b"a").add("y", b"bc").hex();
        assert_ne!(a, b);
        assert_eq!(a, Key::new("k").add("x", b"ab").add("y", b"c").hex());
    }
}
