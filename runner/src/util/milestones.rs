//! Milestones of one kmatrix process, on the machine's monotonic clock
//! (CLOCK_MONOTONIC, microseconds): the same clock in every process, so
//! `kmatrix bench`, which spawns a whole `kmatrix run`, can split that
//! process's wall time into runner start, preparation, QEMU, judging and
//! writing. The report carries them; they mean nothing on another machine.

use std::sync::Mutex;

static MARKS: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());

/// CLOCK_MONOTONIC now, in microseconds.
pub fn now_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // Cannot fail for CLOCK_MONOTONIC with a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

/// Notes that `what` happened now.
pub fn mark(what: impl Into<String>) {
    let t = now_us();
    MARKS.lock().unwrap().push((what.into(), t));
}

/// Notes that `what` happened at `us` (a `now_us` taken earlier).
pub fn mark_at(what: impl Into<String>, us: u64) {
    MARKS.lock().unwrap().push((what.into(), us));
}

/// Every milestone so far, in the order noted.
pub fn all() -> Vec<(String, u64)> {
    MARKS.lock().unwrap().clone()
}

/// The time of the first milestone named `what`.
pub fn find(marks: &[(String, u64)], what: &str) -> Option<u64> {
    marks.iter().find(|(w, _)| w == what).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_in_order_on_one_clock() {
        let before = now_us();
        mark("a");
        mark("b");
        let m = all();
        let (a, b) = (find(&m, "a").unwrap(), find(&m, "b").unwrap());
        assert!(before <= a && a <= b && b <= now_us());
        assert_eq!(find(&m, "c"), None);
    }
}
