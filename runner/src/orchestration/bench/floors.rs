//! Floors: what a figure is held against. A plain QEMU command line booting
//! the same machine, kernel and guest (no runner), and the arithmetic floor
//! of a matrix spread over its VM slots.

use crate::vm::VmSpec;
use anyhow::{bail, Result};
use std::time::Instant;

/// Boots the floor: plain qemu, ping-mode guest, wall ms spawn -> exit.
pub async fn plain_boot(spec: &VmSpec) -> Result<f64> {
    std::fs::create_dir_all(&spec.out_dir)?;
    let t = Instant::now();
    let mut cmd = spec.plain_command();
    cmd.kill_on_drop(true).stdin(std::process::Stdio::null());
    // Dies with the runner, even by SIGKILL (reaper.rs).
    let st = crate::util::reaper::spawn_owned(cmd).await?.wait().await?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let s = crate::stream::read_file(&spec.results_path())?;
    // A reset-exit machine ends with QEMU's -no-reboot exit, also status 0.
    if !st.success() || s.completeness() != crate::stream::Completeness::Complete {
        bail!(
            "floor boot of {} ({}) did not complete ({st})",
            spec.arch.name,
            spec.arch.machine
        );
    }
    Ok(ms)
}

/// A matrix's floor: its cells' probe boots spread over `jobs` slots, and
/// never less than the longest single cell.
pub fn matrix(cell_probe_ms: &[f64], jobs: usize) -> f64 {
    (cell_probe_ms.iter().sum::<f64>() / jobs.max(1) as f64)
        .max(cell_probe_ms.iter().cloned().fold(0.0, f64::max))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_matrix_floor_is_never_below_its_longest_cell() {
        assert_eq!(super::matrix(&[1000.0, 1000.0, 1000.0, 1000.0], 2), 2000.0);
        assert_eq!(super::matrix(&[5000.0, 100.0], 2), 5000.0);
    }
}
