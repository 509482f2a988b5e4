//! Layer 4: the result stream. Guest-init writes versioned JSON lines to the
//! virtio-serial port; this parses them without trusting them: every line is
//! bounded, anything malformed is reported with its byte offset, and a stream
//! without its `end` record is incomplete, never a pass.

use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

pub const PROTOCOL_VERSION: u32 = 1;
/// More than any honest probe writes; a flood is cut here.
pub const MAX_STREAM_BYTES: u64 = 8 << 20;
pub const MAX_LINE_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hello {
    pub arch: String,
    pub uname_release: String,
    #[serde(default)]
    pub uname_machine: String,
    pub ncpus_online: u64,
    pub ncpus_possible: u64,
    pub page_size: u64,
    #[serde(default)]
    pub mem_total_kb: u64,
    pub aio_nr_present: bool,
    pub aio_max_nr_present: bool,
    pub aio_max_nr: Option<u64>,
    #[serde(default)]
    pub debugfs: bool,
    #[serde(default)]
    pub fail_nth: bool,
    #[serde(default)]
    pub mode: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sysctl {
    pub key: String,
    pub value: String,
    pub ok: bool,
    #[serde(default)]
    pub errno: i64,
    #[serde(default)]
    pub readback: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Experiment {
    pub id: String,
    /// "exited", "signal:N", "exit:N" or "timeout": how the child that ran it ended.
    pub fate: String,
    pub obs: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Record {
    Hello(Hello),
    Sysctl(Sysctl),
    Experiment(Experiment),
    Log { msg: String },
    End { experiments: u64 },
}

#[derive(Debug, Clone, Deserialize)]
struct Envelope {
    v: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Stream {
    pub hello: Option<Hello>,
    pub sysctls: Vec<Sysctl>,
    pub experiments: Vec<Experiment>,
    pub logs: Vec<String>,
    /// The count the end record announced, if it arrived.
    pub end: Option<u64>,
    /// Malformed input, each naming its byte offset.
    pub errors: Vec<String>,
    /// Offset of a final line cut off mid-way (the guest stopped writing).
    #[serde(default)]
    pub truncated_at: Option<u64>,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Completeness {
    Complete,
    /// No end record (guest died, stream cut short) or nothing at all.
    Incomplete,
    /// Garbage, a wrong version, or an end record whose count does not match.
    ProtocolError,
}

impl Stream {
    pub fn completeness(&self) -> Completeness {
        if !self.errors.is_empty() {
            Completeness::ProtocolError
        } else if self.end.is_none() || self.truncated_at.is_some() {
            Completeness::Incomplete
        } else {
            Completeness::Complete
        }
    }

    pub fn experiment(&self, id: &str) -> Option<&Experiment> {
        self.experiments.iter().find(|e| e.id == id)
    }
}

pub fn read_file(path: &Path) -> std::io::Result<Stream> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Stream::default()),
        Err(e) => return Err(e),
    };
    let total = f.metadata()?.len();
    let mut buf = Vec::new();
    f.take(MAX_STREAM_BYTES).read_to_end(&mut buf)?;
    let mut s = parse(&buf);
    if total > MAX_STREAM_BYTES {
        s.errors.push(format!(
            "stream is {total} bytes; only the first {MAX_STREAM_BYTES} were read (flood)"
        ));
    }
    Ok(s)
}

/// Parses a whole stream. Never fails: problems land in `errors`.
pub fn parse(buf: &[u8]) -> Stream {
    let mut s = Stream {
        bytes: buf.len() as u64,
        ..Default::default()
    };
    let mut offset = 0usize;
    for raw in buf.split_inclusive(|&b| b == b'\n') {
        let at = offset;
        offset += raw.len();
        if !raw.ends_with(b"\n") {
            // Only the final piece can lack a newline: the guest was cut off
            // mid-line. That is an incomplete stream, not a malformed one.
            s.truncated_at = Some(at as u64);
            break;
        }
        let line = &raw[..raw.len() - 1];
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if s.end.is_some() {
            s.errors
                .push(format!("offset {at}: data after the end record"));
            break;
        }
        if line.len() > MAX_LINE_BYTES {
            s.errors.push(format!(
                "offset {at}: line of {} bytes exceeds {MAX_LINE_BYTES}",
                line.len()
            ));
            continue;
        }
        match serde_json::from_slice::<Envelope>(line) {
            Ok(env) if env.v != PROTOCOL_VERSION => {
                s.errors.push(format!(
                    "offset {at}: protocol version {} (this runner speaks {PROTOCOL_VERSION})",
                    env.v
                ));
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                s.errors.push(format!(
                    "offset {at}: not a protocol record: {e}: {}",
                    excerpt(line)
                ));
                continue;
            }
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(Record::Hello(h)) => s.hello = Some(h),
            Ok(Record::Sysctl(x)) => s.sysctls.push(x),
            Ok(Record::Experiment(x)) => s.experiments.push(x),
            Ok(Record::Log { msg }) => s.logs.push(msg),
            Ok(Record::End { experiments }) => {
                if experiments != s.experiments.len() as u64 {
                    s.errors.push(format!(
                        "offset {at}: end record announces {experiments} experiments, {} arrived",
                        s.experiments.len()
                    ));
                }
                s.end = Some(experiments);
            }
            Err(e) => s
                .errors
                .push(format!("offset {at}: bad record: {e}: {}", excerpt(line))),
        }
    }
    s
}

fn excerpt(line: &[u8]) -> String {
    let t = String::from_utf8_lossy(&line[..line.len().min(80)]);
    t.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = r#"{"v":1,"type":"hello","arch":"x86_64","uname_release":"6.1.0","ncpus_online":2,"ncpus_possible":2,"page_size":4096,"aio_nr_present":true,"aio_max_nr_present":true,"aio_max_nr":65536}"#;
    const EXP: &str = r#"{"v":1,"type":"experiment","id":"setup.basic","fate":"exited","obs":{"ret":0,"errno":0,"handle":140737}}"#;

    fn join(lines: &[&str]) -> Vec<u8> {
        lines
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn complete_stream() {
        let s = parse(&join(&[
            HELLO,
            EXP,
            r#"{"v":1,"type":"end","experiments":1}"#,
        ]));
        assert_eq!(s.completeness(), Completeness::Complete, "{:?}", s.errors);
        assert_eq!(s.hello.as_ref().unwrap().aio_max_nr, Some(65536));
        assert_eq!(s.experiment("setup.basic").unwrap().obs["handle"], 140737);
    }

    #[test]
    fn truncation_is_incomplete_not_pass() {
        let s = parse(&join(&[HELLO, EXP]));
        assert_eq!(s.completeness(), Completeness::Incomplete);
        let mut cut = join(&[HELLO, EXP]);
        cut.truncate(cut.len() - 10);
        let s = parse(&cut);
        assert_eq!(s.completeness(), Completeness::Incomplete);
        assert_eq!(s.truncated_at, Some(HELLO.len() as u64 + 1));
        assert_eq!(s.experiments.len(), 0, "a cut-off record is not half-read");
        assert_eq!(parse(b"").completeness(), Completeness::Incomplete);
    }

    #[test]
    fn garbage_wrong_version_and_miscount_are_errors_with_offsets() {
        let s = parse(&join(&[
            HELLO,
            "\u{1b}[0mgarbage",
            r#"{"v":2,"type":"end","experiments":0}"#,
        ]));
        assert_eq!(s.errors.len(), 2);
        assert!(s.errors[0].starts_with(&format!("offset {}:", HELLO.len() + 1)));
        assert!(s.errors[1].contains("version 2"));
        let s = parse(&join(&[HELLO, r#"{"v":1,"type":"end","experiments":3}"#]));
        assert_eq!(s.completeness(), Completeness::ProtocolError);
        let s = parse(&join(&[
            HELLO,
            r#"{"v":1,"type":"end","experiments":0}"#,
            EXP,
        ]));
        assert!(s.errors[0].contains("after the end"));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: every prefix and some byte flips.
        let good = join(&[HELLO, EXP, r#"{"v":1,"type":"end","experiments":1}"#]);
        for n in 0..good.len() {
            // No prefix of a stream is ever complete: the end record is last.
            assert_ne!(
                parse(&good[..n]).completeness(),
                Completeness::Complete,
                "prefix {n}"
            );
            let mut flipped = good.clone();
            flipped[n] ^= 0x5a;
            let s = parse(&flipped);
            assert!(s.bytes == good.len() as u64);
        }
    }

    proptest::proptest! {
        // Whatever a guest sends, the parser returns (never panics), keeps
        // bounded state, and calls nothing complete without an end record.
        #[test]
        fn fuzz_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            let s = parse(&bytes);
            proptest::prop_assert_eq!(s.bytes, bytes.len() as u64);
            if s.completeness() == Completeness::Complete {
                proptest::prop_assert!(s.end.is_some() && s.errors.is_empty());
            }
            proptest::prop_assert!(s.errors.len() <= bytes.iter().filter(|&&b| b == b'\n').count() + 1);
        }

        // Valid records cut at any point are incomplete, never complete.
        #[test]
        fn fuzz_cut_streams(cut in 0usize..400) {
            let good = join(&[HELLO, EXP, r#"{"v":1,"type":"end","experiments":1}"#]);
            let n = cut.min(good.len() - 1);
            proptest::prop_assert_ne!(parse(&good[..n]).completeness(), Completeness::Complete);
        }
    }
}
