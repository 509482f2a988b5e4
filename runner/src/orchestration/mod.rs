//! Orchestration: drives cells through the layers (run), orders them
//! (schedule), shows progress, picks the accelerator by booting a probe
//! guest (accel), measures whole runs (bench) and walks a history for the
//! commit that changed a verdict (bisect).

pub mod accel;
pub mod bench;
pub mod bisect;
pub mod progress;
pub mod run;
pub mod schedule;
