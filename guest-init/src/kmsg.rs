//! Experiment markers in the kernel's own log. Written to /dev/kmsg, they
//! reach the console in order with the kernel's lines, so the host can tell
//! which experiment was running when the kernel reported something (a
//! lockdep or KASAN report, an OOM kill, a hung task) or went silent.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;

use crate::files;

/// KERN_NOTICE: shown on the console at the log level set below.
const LEVEL: &str = "<5>";

/// /dev/kmsg, opened once: each open allocates a buffer (kvmalloc), which
/// under memory pressure sends PID 1 into direct reclaim (seen in the
/// 256 MiB big-ring cells, where reclaim then took minutes).
static KMSG: Mutex<Option<File>> = Mutex::new(None);

/// Writes one record to the kernel log (one write, one record).
fn write(text: &str) -> std::io::Result<()> {
    let mut g = KMSG.lock().unwrap_or_else(|e| e.into_inner());
    if g.is_none() {
        *g = Some(OpenOptions::new().write(true).open("/dev/kmsg")?);
    }
    match g.as_mut() {
        Some(f) => f.write_all(text.as_bytes()),
        None => Ok(()),
    }
}

/// Lets every marker through and shows the kernel's reports on the console
/// in full during the experiments: `quiet` keeps the boot fast, but would
/// hide warnings, call traces and the OOM killer's and hung-task
/// detector's details (KERN_WARNING and KERN_INFO). Returns problems.
pub fn setup() -> Vec<String> {
    let mut problems = Vec::new();
    // /dev/kmsg writers are rate-limited by default (10 lines per 5 s). The
    // handler wants the newline: it checks the length written is the word's + 1.
    if let Err(e) = files::write_str("/proc/sys/kernel/printk_devkmsg", "on\n") {
        problems.push(format!(
            "cannot set kernel.printk_devkmsg=on: errno {e}; experiment markers may be dropped"
        ));
    }
    // Console log level 7: everything but KERN_DEBUG.
    if let Err(e) = files::write_str("/proc/sys/kernel/printk", "7") {
        problems.push(format!(
            "cannot set the console log level (kernel.printk): errno {e}; kernel reports may be cut"
        ));
    }
    // Opened now, while memory is plentiful.
    match OpenOptions::new().write(true).open("/dev/kmsg") {
        Ok(f) => *KMSG.lock().unwrap_or_else(|e| e.into_inner()) = Some(f),
        Err(e) => problems.push(format!(
            "cannot open /dev/kmsg: {e}; experiments are not marked in the kernel log"
        )),
    }
    problems
}

/// The line the host reads (runner/src/oracle/splat.rs: START, END).
pub fn line(what: &str, id: &str, extra: &str) -> String {
    let mut s = format!("{LEVEL}kmatrix: {what} {id}");
    if !extra.is_empty() {
        s.push(' ');
        s.push_str(extra);
    }
    s.push('\n');
    s
}

/// Writes one line of text to the kernel log as it is (leading blanks kept).
pub fn raw(text: &str) {
    let _ = write(&format!("{LEVEL}{text}\n"));
}

/// Writes one marker; a failure goes to the console, where the host finds
/// the experiment unmarked and says so.
pub fn mark(what: &str, id: &str, extra: &str) {
    if let Err(e) = write(&line(what, id, extra)) {
        crate::out::console(&format!(
            "kmatrix-guest: cannot write the {what} marker of {id} to /dev/kmsg: {e}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_what_the_host_reads() {
        assert_eq!(
            line("start", "nr.sweep", ""),
            "<5>kmatrix: start nr.sweep\n"
        );
        assert_eq!(
            line("end", "nr.sweep", "exited"),
            "<5>kmatrix: end nr.sweep exited\n"
        );
    }
}
