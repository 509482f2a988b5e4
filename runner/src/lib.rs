//! kmatrix: boots a matrix of minimal kernels in QEMU and checks the AIO
//! system calls against their KAPI specifications.
//!
//! One folder per layer, in the order a cell goes through them: kernel
//! build ([`build`]) -> image assembly ([`image`]) -> VM launch ([`vm`]) ->
//! result stream ([`stream`]) -> verdict ([`oracle`], against [`spec`]) ->
//! report ([`report`]). [`matrix`] says what a cell is (arches, machines,
//! kernel configs and syscall numbers as data), [`util`] is plumbing, and
//! [`orchestration`] drives cells through the layers (run, bench, bisect);
//! the CLI (main.rs) only wires them. No module imports from a later
//! layer: `cargo test --test layers` checks it.

pub mod build;
pub mod image;
pub mod matrix;
pub mod oracle;
pub mod orchestration;
pub mod report;
pub mod spec;
pub mod stream;
pub mod util;
pub mod vm;
