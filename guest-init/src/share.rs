//! virtiofs shares (kmatrix.share=TAG:GUEST_PATH:ro|rw): mounted by PID 1
//! itself, because the mounts must outlive the experiment children and stay
//! for kmatrix.exec. One experiment record per share says whether the mount
//! worked and whether it is writable. Nothing here may panic: it runs in PID 1.

use crate::files;
use crate::json::Obj;
use crate::record;
use crate::sys;
use kmatrix_proto::obs::key;

/// The share's tag, guest path and mode, as the protocol defines them.
pub use kmatrix_proto::args::Share;
#[cfg(test)]
use kmatrix_proto::args::MAX_TAG;

/// Created and removed again to test writability.
const PROBE_FILE: &str = ".kmatrix-write-probe";

/// mkdir -p, mount, write probe; returns the share.mount/TAG record.
pub fn mount_and_probe(s: &Share) -> String {
    let flags = if s.rw { 0 } else { sys::MS_RDONLY };
    // A mkdir failure is reported as the mount's: the mount is what failed.
    let mounted = std::fs::create_dir_all(&s.path)
        .map_err(|e| files::errno_of(&e))
        .and_then(|()| sys::mount_with_flags(&s.tag, &s.path, "virtiofs", flags));
    let mut o = Obj::new();
    o.str(key::TAG, &s.tag)
        .str(key::PATH, &s.path)
        .bool(key::RW, s.rw);
    match mounted {
        Ok(()) => {
            let (ret, errno) = write_probe(&s.path);
            o.i64(key::MOUNT_RET, 0)
                .i64(key::MOUNT_ERRNO, 0)
                .i64(key::WRITE_RET, ret)
                .i64(key::WRITE_ERRNO, errno.into());
        }
        // Not probed: writing would hit the initramfs directory underneath.
        Err(e) => {
            o.i64(key::MOUNT_RET, -1)
                .i64(key::MOUNT_ERRNO, e.into())
                .null(key::WRITE_RET)
                .null(key::WRITE_ERRNO);
        }
    }
    record::experiment(
        &format!("{}{}", kmatrix_proto::catalogue::SHARE_MOUNT_PREFIX, s.tag),
        record::Fate::Exited,
        &o.to_json(),
    )
}

/// Creates, writes (2 bytes) and removes PROBE_FILE in `dir`:
/// (0, 0) if that worked, else (-1, errno of the failing step).
fn write_probe(dir: &str) -> (i64, i32) {
    let path = format!("{}/{PROBE_FILE}", dir.trim_end_matches('/'));
    let fd = match sys::create_file(&path) {
        Ok(fd) => fd,
        Err(e) => return (-1, e),
    };
    let written = sys::write_all_fd(fd, b"ok");
    sys::close_fd(fd);
    // It was created, so it goes whatever the write did; a leftover file
    // in the user's directory is only worth a console line.
    if let Err(e) = sys::unlink_path(&path) {
        crate::out::console(&format!("kmatrix-guest: cannot remove {path}: errno {e}"));
    }
    match written {
        Ok(()) => (0, 0),
        Err(e) => (-1, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_specs() {
        assert_eq!(
            Share::parse("kmx0:/mnt/host:ro"),
            Ok(Share {
                tag: "kmx0".to_string(),
                path: "/mnt/host".to_string(),
                rw: false
            })
        );
        let s = Share::parse("kmx1:/mnt/a_b-c.d/e/:rw").unwrap();
        assert!(s.rw);
        assert_eq!(s.path, "/mnt/a_b-c.d/e/");
    }

    #[test]
    fn bad_specs() {
        for bad in [
            "",
            "kmx0",
            "kmx0:/mnt/host",
            "kmx0:/mnt/host:rx",
            "kmx0:/mnt/host:ro:extra",
            ":/mnt/host:ro",
            "km x:/mnt/host:ro",
            "kmx0:mnt/host:ro",
            "kmx0:/mnt/../etc:ro",
            "kmx0:/mnt/a..b:ro",
            "kmx0:/:rw",
            "kmx0://:rw",
            "kmx0:/mnt/ho st:ro",
            "kmx0:/mnt/höst:ro",
            "kmx0:/mnt/$x:ro",
        ] {
            assert!(Share::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}:/mnt/x:ro", "t".repeat(MAX_TAG + 1));
        assert!(Share::parse(&long).is_err());
    }

    #[test]
    fn unmountable_share_is_reported_not_probed() {
        // Not PID 1 in a test: mount fails (EPERM, or ENODEV without
        // virtiofs), which is the path we can check here.
        let dir = std::env::temp_dir().join(format!("kmx-share-test-{}", std::process::id()));
        let s = Share {
            tag: "kmx-test-none".to_string(),
            path: dir.to_string_lossy().into_owned(),
            rw: true,
        };
        let rec = mount_and_probe(&s);
        let _ = std::fs::remove_dir(&dir);
        assert!(rec.starts_with(
            "{\"v\":1,\"type\":\"experiment\",\"id\":\"share.mount/kmx-test-none\",\"fate\":\"exited\",\"obs\":{\"tag\":\"kmx-test-none\","
        ), "{rec}");
        assert!(
            rec.contains("\"rw\":true,\"mount_ret\":-1,\"mount_errno\":"),
            "{rec}"
        );
        assert!(
            rec.ends_with("\"write_ret\":null,\"write_errno\":null}}"),
            "{rec}"
        );
    }

    #[test]
    fn write_probe_in_a_plain_directory() {
        let dir = std::env::temp_dir().join(format!("kmx-probe-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_string_lossy().into_owned();
        assert_eq!(write_probe(&d), (0, 0));
        assert!(!dir.join(PROBE_FILE).exists(), "probe file left behind");
        std::fs::remove_dir(&dir).unwrap();
        assert_eq!(write_probe(&d), (-1, 2)); // ENOENT: the directory is gone
    }
}
