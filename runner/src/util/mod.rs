//! Plumbing every layer uses: the cache directory, the make jobserver, the
//! process reaper, one-time notices, stdout, the output lock and milestones.

pub mod cache;
pub mod jobserver;
pub mod milestones;
pub mod notice;
pub mod reaper;
pub mod runlock;
pub mod stdout;
