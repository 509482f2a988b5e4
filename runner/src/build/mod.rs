//! Kernel build: a source tree and config fragments to a cached kernel image.

pub mod kbuild;
pub mod source;
