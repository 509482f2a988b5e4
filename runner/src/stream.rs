//! Layer 4: the result stream. Guest-init writes versioned JSON lines to the
//! virtio-serial port; this parses them without trusting them: every line is
//! bounded, anything malformed is reported with its byte offset and key, and
//! a stream without its `end` record is incomplete, never a pass.
//!
//! The records, their keys and the version are the protocol crate's
//! (kmatrix-proto, compiled into the guest too); this reads them with
//! serde_json and keeps them in the runner's serialisable types.

use kmatrix_proto::record::{self as wire, FieldError, Fields, Record};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io::Read;
use std::path::Path;

pub use kmatrix_proto::PROTOCOL_VERSION;
/// What the VM kept of the results port is all there is to read.
pub const MAX_STREAM_BYTES: u64 = crate::vm::RESULTS_CAP;
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The guest's hello record with every measurement the host relies on
/// present (a null one is a protocol error naming the key).
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

impl Experiment {
    /// How the experiment's child ended, typed (the stream checked it parses).
    pub fn fate(&self) -> Option<wire::Fate> {
        wire::Fate::parse(&self.fate)
    }
}

/// The protocol's `Fields` over a serde_json object.
struct JsonFields<'a>(&'a Map<String, Value>);

impl JsonFields<'_> {
    fn get(&self, key: &str) -> Result<&Value, FieldError> {
        self.0
            .get(key)
            .ok_or_else(|| FieldError::new(key, "missing"))
    }

    fn opt<T>(
        &self,
        key: &str,
        kind: &str,
        f: impl Fn(&Value) -> Option<T>,
    ) -> Result<Option<T>, FieldError> {
        match self.get(key)? {
            Value::Null => Ok(None),
            v => f(v)
                .map(Some)
                .ok_or_else(|| FieldError::new(key, format!("expected {kind}, found {v}"))),
        }
    }
}

impl Fields for JsonFields<'_> {
    type Object = Value;
    fn opt_str(&self, key: &str) -> Result<Option<String>, FieldError> {
        self.opt(key, "a string", |v| v.as_str().map(str::to_string))
    }
    fn opt_u64(&self, key: &str) -> Result<Option<u64>, FieldError> {
        self.opt(key, "an unsigned integer", Value::as_u64)
    }
    fn opt_i64(&self, key: &str) -> Result<Option<i64>, FieldError> {
        self.opt(key, "an integer", Value::as_i64)
    }
    fn opt_bool(&self, key: &str) -> Result<Option<bool>, FieldError> {
        self.opt(key, "true or false", Value::as_bool)
    }
    fn object(&self, key: &str) -> Result<Value, FieldError> {
        match self.get(key)? {
            v @ Value::Object(_) => Ok(v.clone()),
            v => Err(FieldError::new(
                key,
                format!("expected an object, found {v}"),
            )),
        }
    }
}

fn required(key: &str, v: Option<u64>) -> Result<u64, FieldError> {
    v.ok_or_else(|| FieldError::new(key, "is null: the guest could not measure it"))
}

impl TryFrom<wire::Hello> for Hello {
    type Error = FieldError;
    fn try_from(h: wire::Hello) -> Result<Hello, FieldError> {
        use wire::hello_key as k;
        Ok(Hello {
            ncpus_online: required(k::NCPUS_ONLINE, h.ncpus_online)?,
            ncpus_possible: required(k::NCPUS_POSSIBLE, h.ncpus_possible)?,
            page_size: required(k::PAGE_SIZE, h.page_size)?,
            mem_total_kb: required(k::MEM_TOTAL_KB, h.mem_total_kb)?,
            arch: h.arch,
            uname_release: h.uname_release,
            uname_machine: h.uname_machine,
            aio_nr_present: h.aio_nr_present,
            aio_max_nr_present: h.aio_max_nr_present,
            aio_max_nr: h.aio_max_nr,
            debugfs: h.debugfs,
            fail_nth: h.fail_nth,
            mode: h.mode.as_str().to_string(),
        })
    }
}

impl From<wire::Sysctl> for Sysctl {
    fn from(s: wire::Sysctl) -> Sysctl {
        Sysctl {
            key: s.key,
            value: s.value,
            ok: s.ok,
            errno: s.errno.into(),
            readback: s.readback,
        }
    }
}

impl From<wire::Experiment<Value>> for Experiment {
    fn from(e: wire::Experiment<Value>) -> Experiment {
        Experiment {
            id: e.id,
            fate: e.fate.label(),
            obs: e.obs,
        }
    }
}

/// One line as a protocol record; the error names the key at fault.
fn read_record(line: &[u8]) -> Result<Record<Value>, String> {
    let v: Value =
        serde_json::from_slice(line).map_err(|e| format!("not a protocol record: {e}"))?;
    let map = v
        .as_object()
        .ok_or_else(|| "not a protocol record: not a JSON object".to_string())?;
    Record::read(&JsonFields(map)).map_err(|e| {
        if e.key == wire::KEY_VERSION && map.get(wire::KEY_VERSION).is_some_and(Value::is_u64) {
            e.problem
        } else {
            format!("bad record: {e}")
        }
    })
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
        let bad = |e: String| format!("offset {at}: {e}: {}", excerpt(line));
        match read_record(line) {
            Ok(Record::Hello(h)) => match Hello::try_from(h) {
                Ok(h) => s.hello = Some(h),
                Err(e) => s.errors.push(bad(format!("bad record: {e}"))),
            },
            Ok(Record::Sysctl(x)) => s.sysctls.push(x.into()),
            Ok(Record::Experiment(x)) => s.experiments.push(x.into()),
            Ok(Record::Log(msg)) => s.logs.push(msg),
            Ok(Record::End { experiments }) => {
                if experiments != s.experiments.len() as u64 {
                    s.errors.push(format!(
                        "offset {at}: end record announces {experiments} experiments, {} arrived",
                        s.experiments.len()
                    ));
                }
                s.end = Some(experiments);
            }
            Err(e) => s.errors.push(bad(e)),
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
    use kmatrix_proto::catalogue::ids;
    use kmatrix_proto::obs::key;

    const HELLO: &str = r#"{"v":1,"type":"hello","arch":"x86_64","uname_release":"6.1.0","uname_machine":"x86_64","ncpus_online":2,"ncpus_possible":2,"page_size":4096,"mem_total_kb":493000,"aio_nr_present":true,"aio_max_nr_present":true,"aio_max_nr":65536,"debugfs":true,"fail_nth":true,"mode":"probe"}"#;
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
        assert_eq!(
            s.experiment(ids::SETUP_BASIC).unwrap().obs[key::HANDLE],
            140737
        );
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
    fn what_the_guest_writes_is_read_back() {
        // The guest's writer (the protocol crate) and this reader agree.
        let h = wire::Hello {
            arch: "aarch64".into(),
            uname_release: "6.1.0".into(),
            uname_machine: "aarch64".into(),
            ncpus_online: Some(4),
            ncpus_possible: Some(64),
            page_size: Some(4096),
            mem_total_kb: Some(1_000_000),
            aio_nr_present: false,
            aio_max_nr_present: false,
            aio_max_nr: None,
            debugfs: false,
            fail_nth: false,
            mode: kmatrix_proto::args::Mode::Ping,
        };
        let e = wire::Experiment {
            id: ids::NR_SWEEP.to_string(),
            fate: wire::Fate::Signal(9),
            obs: r#"{"steps":[]}"#.to_string(),
        };
        let s = parse(&join(&[&h.to_json(), &e.to_json(), &wire::end_json(1)]));
        assert_eq!(s.completeness(), Completeness::Complete, "{:?}", s.errors);
        let got = s.hello.unwrap();
        assert_eq!((got.ncpus_possible, got.mode.as_str()), (64, "ping"));
        assert_eq!(s.experiments[0].fate, "signal:9");
        assert_eq!(s.experiments[0].fate(), Some(wire::Fate::Signal(9)));
        assert_eq!(s.experiments[0].obs[key::STEPS], serde_json::json!([]));
    }

    #[test]
    fn a_missing_null_or_garbled_key_is_named_with_its_offset() {
        let at = HELLO.len() + 1;
        for (line, key) in [
            (HELLO.replace(r#""page_size":4096,"#, ""), "page_size"),
            (
                HELLO.replace(r#""ncpus_online":2"#, r#""ncpus_online":null"#),
                "ncpus_online",
            ),
            (
                HELLO.replace(r#""debugfs":true"#, r#""debugfs":"yes""#),
                "debugfs",
            ),
            (EXP.replace("exited", "exploded"), "fate"),
            (
                EXP.replace(r#""obs":{"#, r#""obs":[{"#)
                    .replace("}}", "}]}"),
                "obs",
            ),
            (r#"{"v":1,"type":"end"}"#.to_string(), "experiments"),
            (r#"{"v":1,"type":"gossip"}"#.to_string(), "type"),
        ] {
            let s = parse(&join(&[HELLO, &line]));
            assert_eq!(s.completeness(), Completeness::ProtocolError, "{line}");
            let err = &s.errors[0];
            assert!(
                err.starts_with(&format!("offset {at}: bad record: key \"{key}\"")),
                "{err}"
            );
        }
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
