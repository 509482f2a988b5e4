//! The one contract between guest-init (PID 1 in the VM) and the kmatrix
//! runner on the host: the record lines on the results port, the guest's
//! kernel command-line arguments, and the catalogue of experiments.
//!
//! Compiled into both sides (cargo for the runner, plain rustc for the
//! guest), so a key or argument renamed here changes both, and one renamed
//! on one side only does not compile. Std only, rustc 1.63.

pub mod args;
pub mod catalogue;
pub mod generic;
pub mod glob;
pub mod json;
pub mod record;
pub mod syscalls;

/// Version carried by every record ("v"); a runner rejects others.
pub const PROTOCOL_VERSION: u64 = 1;

/// Name of the virtio-serial port the guest writes records to.
pub const RESULTS_PORT: &str = "org.kmatrix.results";

/// virtiofs tags are this prefix and the share's index: kmx0, kmx1, ...
pub const SHARE_TAG_PREFIX: &str = "kmx";

/// The vhost-user-fs tag of the `index`th share.
pub fn share_tag(index: usize) -> String {
    format!("{SHARE_TAG_PREFIX}{index}")
}

/// Prefix of the kernel command-line words meant for guest-init.
pub const ARG_PREFIX: &str = "kmatrix.";
