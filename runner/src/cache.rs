//! Where built artefacts live (outside the checkout) and how they are keyed.

use sha2::{Digest, Sha256};
use std::path::PathBuf;

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

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn key_separates_parts() {
        let a = Key::new("k").add("x", b"ab").add("y", b"c").hex();
        let b = Key::new("k").add("x", b"a").add("y", b"bc").hex();
        assert_ne!(a, b);
        assert_eq!(a, Key::new("k").add("x", b"ab").add("y", b"c").hex());
    }
}
