//! Image assembly: the guest-init binary for the cell's arch, packed as an initramfs.

pub mod guest;
pub mod initramfs;
