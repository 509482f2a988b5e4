//! kmemleak's scan after the probe, in kernels that have it (the debug
//! variant): what it reports goes to the kernel log between markers, where
//! the host reads it with the other kernel reports.

use std::time::Duration;

use crate::files;
use crate::kmsg;

const PATH: &str = "/sys/kernel/debug/kmemleak";

/// The experiment name the markers carry (the host's `kernel.splat/kmemleak`).
pub const ID: &str = "kmemleak";

/// kmemleak reports no object younger than 5 s (jiffies_min_age): the last
/// experiments' leaks need that long to show.
const MIN_AGE: Duration = Duration::from_secs(5);

/// Scans for leaks if the kernel has kmemleak; returns a line for the log.
pub fn scan() -> Option<String> {
    if !files::exists(PATH) {
        return None;
    }
    kmsg::mark("start", ID, "");
    std::thread::sleep(MIN_AGE);
    let result = files::write_str(PATH, "scan").and_then(|_| files::read_text(PATH));
    let msg = match result {
        Ok(text) => {
            let n = text
                .lines()
                .filter(|l| l.starts_with("unreferenced object"))
                .count();
            for l in text.lines() {
                kmsg::raw(l);
            }
            format!("kmemleak: {n} unreferenced object(s) after the probe")
        }
        Err(e) => format!("kmemleak: scan failed: errno {e}"),
    };
    kmsg::mark("end", ID, "");
    Some(msg)
}
