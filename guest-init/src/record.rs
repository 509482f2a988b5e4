//! The record lines written to the results port. Their types, keys and
//! formatting are the protocol crate's (shared with the runner); this only
//! adapts them to how the guest calls them. Pure formatting, no newline.

use kmatrix_proto::record::{end_json, log_json, Experiment};
pub use kmatrix_proto::record::{Fate, Hello, Sysctl};

pub fn hello(h: &Hello) -> String {
    h.to_json()
}

pub fn sysctl(s: &Sysctl) -> String {
    s.to_json()
}

/// `obs` must be object text from json.rs; anything else is replaced by
/// an object that says so, so the line stays valid JSON.
pub fn experiment(id: &str, fate: Fate, obs: &str) -> String {
    Experiment {
        id: id.to_string(),
        fate,
        obs: obs.to_string(),
    }
    .to_json()
}

pub fn log(msg: &str) -> String {
    log_json(msg)
}

pub fn end(experiments: u64) -> String {
    end_json(experiments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmatrix_proto::catalogue::ids;

    // The wire format itself is tested in the protocol crate; this checks
    // that the guest's calls reach it unchanged.
    #[test]
    fn records_come_from_the_protocol() {
        assert_eq!(
            experiment(ids::SETUP_BASIC, Fate::Exited, "{\"ret\":0}"),
            "{\"v\":1,\"type\":\"experiment\",\"id\":\"setup.basic\",\"fate\":\"exited\",\
             \"obs\":{\"ret\":0}}"
        );
        assert_eq!(
            experiment(ids::NR_SWEEP, Fate::Timeout, "{}"),
            "{\"v\":1,\"type\":\"experiment\",\"id\":\"nr.sweep\",\"fate\":\"timeout\",\"obs\":{}}"
        );
        assert_eq!(end(17), "{\"v\":1,\"type\":\"end\",\"experiments\":17}");
        assert!(log("x").starts_with("{\"v\":1,\"type\":\"log\""));
    }
}
