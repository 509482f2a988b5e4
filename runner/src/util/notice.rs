//! One-time notices to the user: what kmatrix could not do as this user
//! (no /dev/kvm access, no virtiofsd, virtiofsd without its sandbox), which
//! fallback it chose, and the one command that would fix it. Each is
//! printed once per process however many cells hit it.

use std::collections::BTreeSet;
use std::sync::Mutex;

static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Prints `msg` on stderr unless a notice with this `key` was printed.
/// Returns whether it printed.
pub fn once(key: &str, msg: &str) -> bool {
    let fresh = SEEN.lock().unwrap().insert(key.to_string());
    if fresh {
        eprintln!("kmatrix: {msg}");
    }
    fresh
}

/// Whether the effective user is root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Group owning `path` by name (or number), for "add yourself to group X".
pub fn group_of(path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let gid = std::fs::metadata(path).ok()?.gid();
    let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
    Some(
        groups
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == gid.to_string()).then(|| f[0].to_string())
            })
            .unwrap_or_else(|| gid.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_printed_once_per_key() {
        assert!(once("test-key", "first"));
        assert!(!once("test-key", "again"));
        assert!(once("test-key-2", "other"));
    }

    #[test]
    fn group_of_names_the_group() {
        assert_eq!(group_of(std::path::Path::new("/")).as_deref(), Some("root"));
    }
}
