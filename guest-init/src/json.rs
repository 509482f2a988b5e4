//! The JSON writer lives in the protocol crate (records are built with it).

pub use kmatrix_proto::json::*;
