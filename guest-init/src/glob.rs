//! `*` wildcard matching for kmatrix.cases: the protocol crate's, so the
//! host selects what the guest runs.

pub use kmatrix_proto::glob::*;
