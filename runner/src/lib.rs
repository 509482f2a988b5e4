//! kmatrix: boots a matrix of minimal kernels in QEMU and checks the AIO
//! system calls against their KAPI specifications.
//!
//! Layers, in the order a cell goes through them:
//! kernel build ([`kbuild`]) -> image assembly ([`guest`], [`initramfs`]) ->
//! VM launch ([`vm`], [`accel`]) -> result stream ([`stream`]) -> verdict
//! ([`oracle`]) -> report ([`report`]). [`matrix`] names the cells and
//! [`run`] drives a cell through the layers; the CLI only wires them.

pub mod accel;
pub mod arch;
pub mod bench;
pub mod bisect;
pub mod cache;
pub mod cell_report;
pub mod compare;
pub mod family;
pub mod generic;
pub mod guest;
pub mod hello_check;
pub mod initramfs;
pub mod jobserver;
pub mod kbuild;
pub mod kconfig;
pub mod machine;
pub mod matrix;
pub mod milestones;
pub mod notice;
pub mod oracle;
pub mod progress;
pub mod reaper;
pub mod report;
pub mod run;
pub mod runlock;
pub mod schedule;
pub mod share;
pub mod source;
pub mod spec;
pub mod stdout;
pub mod stream;
pub mod suites;
pub mod syscalls;
pub mod vm;
