//! kmatrix.sysctl=KEY=VALUE: key validation and the write itself.

use crate::files;
use crate::record::Sysctl;
use crate::sys;

/// /proc/sys path for a dotted key, or why the key is refused. Only
/// [a-z0-9_.-] and no empty components, so a key cannot leave /proc/sys.
pub fn path_for(key: &str) -> Result<String, &'static str> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
    if key.is_empty() || !key.chars().all(allowed) {
        return Err("key must be non-empty and use only [a-z0-9_.-]");
    }
    if key.split('.').any(|part| part.is_empty() || part == "-") || key.contains("..") {
        return Err("key must be dot-separated non-empty names (no '..')");
    }
    Ok(format!("/proc/sys/{}", key.replace('.', "/")))
}

/// Writes one sysctl and reads it back. The second value is a message
/// for a log record when something went wrong.
pub fn apply(key: &str, value: &str) -> (Sysctl, Option<String>) {
    let mut rec = Sysctl {
        key: key.to_string(),
        value: value.to_string(),
        ok: false,
        errno: 0,
        readback: None,
    };
    let path = match path_for(key) {
        Ok(p) => p,
        Err(why) => {
            rec.errno = sys::EINVAL;
            return (rec, Some(format!("sysctl {key:?} refused: {why}")));
        }
    };
    let result = files::write_str(&path, value);
    rec.readback = files::read_trim(&path).ok();
    match result {
        Ok(()) => {
            rec.ok = true;
            (rec, None)
        }
        Err(e) => {
            rec.errno = e;
            let msg = format!("sysctl {key}={value} failed: write {path}: errno {e}");
            (rec, Some(msg))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(
            path_for("fs.aio-max-nr").unwrap(),
            "/proc/sys/fs/aio-max-nr"
        );
        assert_eq!(
            path_for("vm.max_map_count").unwrap(),
            "/proc/sys/vm/max_map_count"
        );
        assert_eq!(
            path_for("kernel.pid_max").unwrap(),
            "/proc/sys/kernel/pid_max"
        );
        for bad in [
            "",
            "fs..aio-nr",
            ".fs",
            "fs.",
            "fs/aio-nr",
            "FS.x",
            "fs.aio nr",
            "a.-",
            "fs.*",
        ] {
            assert!(path_for(bad).is_err(), "{bad:?} accepted");
        }
    }
}
