//! Small file helpers for /proc, /sys and debugfs, reporting errno values
//! rather than io::Error so they can go straight into records.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};

use crate::parse;
use crate::sys;

pub const AIO_NR: &str = "/proc/sys/fs/aio-nr";
pub const AIO_MAX_NR: &str = "/proc/sys/fs/aio-max-nr";

/// errno of an io::Error; EIO for errors that did not come from the kernel.
pub fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(sys::EIO)
}

/// Whole file as text (invalid UTF-8 replaced, never an error).
pub fn read_text(path: &str) -> Result<String, i32> {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| errno_of(&e))
}

pub fn read_trim(path: &str) -> Result<String, i32> {
    read_text(path).map(|s| s.trim().to_string())
}

pub fn read_u64(path: &str) -> Option<u64> {
    read_text(path).ok().and_then(|s| parse::u64_trim(&s))
}

/// Writes `value` to an existing file in one write(2), as sysctl and
/// debugfs attribute files expect.
pub fn write_str(path: &str, value: &str) -> Result<(), i32> {
    let mut f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| errno_of(&e))?;
    f.write_all(value.as_bytes()).map_err(|e| errno_of(&e))
}

pub fn exists(path: &str) -> bool {
    fs::metadata(path).is_ok()
}

/// /proc/sys/fs/aio-nr, or None when absent (CONFIG_AIO=n).
pub fn aio_nr() -> Option<u64> {
    read_u64(AIO_NR)
}

/// /proc/sys/fs/aio-max-nr, or None when absent (CONFIG_AIO=n).
pub fn aio_max_nr() -> Option<u64> {
    read_u64(AIO_MAX_NR)
}

/// /proc/self/maps ("" if unreadable, which then matches nothing).
pub fn self_maps() -> String {
    read_text("/proc/self/maps").unwrap_or_default()
}
