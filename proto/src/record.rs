//! The record lines on the results port: one JSON object per line, each
//! with "v" (PROTOCOL_VERSION) and a "type". The guest writes them with
//! `*::to_json` (json.rs); the runner reads them with `Record::read` over
//! its own JSON parser (the `Fields` trait). Both use the keys below, so
//! the two sides cannot disagree on a name.

use std::fmt;

use crate::args::Mode;
use crate::json::{self, Obj};
use crate::PROTOCOL_VERSION;

/// Keys every record has.
pub const KEY_VERSION: &str = "v";
pub const KEY_TYPE: &str = "type";

/// The "type" of each record.
pub const TYPE_HELLO: &str = "hello";
pub const TYPE_SYSCTL: &str = "sysctl";
pub const TYPE_EXPERIMENT: &str = "experiment";
pub const TYPE_LOG: &str = "log";
/// The end marker: the last record of a complete stream.
pub const TYPE_END: &str = "end";

/// A key that is missing, null where a value is required, or of the wrong kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub key: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(key: &str, problem: impl Into<String>) -> FieldError {
        FieldError {
            key: key.to_string(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {:?}: {}", self.key, self.problem)
    }
}

impl std::error::Error for FieldError {}

/// Read access to one parsed JSON object, implemented by the runner over
/// its JSON library. The `opt_*` accessors give Ok(None) for a key that is
/// present and null, and an error for a missing key or a value of another
/// kind: the guest writes every key, null when it could not measure.
pub trait Fields {
    /// How the runner holds an embedded object (an experiment's obs).
    type Object;
    fn opt_str(&self, key: &str) -> Result<Option<String>, FieldError>;
    fn opt_u64(&self, key: &str) -> Result<Option<u64>, FieldError>;
    fn opt_i64(&self, key: &str) -> Result<Option<i64>, FieldError>;
    fn opt_bool(&self, key: &str) -> Result<Option<bool>, FieldError>;
    /// A member that must be a JSON object.
    fn object(&self, key: &str) -> Result<Self::Object, FieldError>;

    fn str(&self, key: &str) -> Result<String, FieldError> {
        self.opt_str(key)?.ok_or_else(|| null(key))
    }
    fn u64(&self, key: &str) -> Result<u64, FieldError> {
        self.opt_u64(key)?.ok_or_else(|| null(key))
    }
    fn i64(&self, key: &str) -> Result<i64, FieldError> {
        self.opt_i64(key)?.ok_or_else(|| null(key))
    }
    fn bool(&self, key: &str) -> Result<bool, FieldError> {
        self.opt_bool(key)?.ok_or_else(|| null(key))
    }
}

fn null(key: &str) -> FieldError {
    FieldError::new(key, "is null, a value is required")
}

fn head(kind: &str) -> Obj {
    let mut o = Obj::new();
    o.u64(KEY_VERSION, PROTOCOL_VERSION).str(KEY_TYPE, kind);
    o
}

/// Facts about the guest, gathered after the sysctls were applied. Options
/// are what the guest could not measure (written as null).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The arch guest-init was compiled for (Rust's name: x86_64, aarch64).
    pub arch: String,
    pub uname_release: String,
    pub uname_machine: String,
    pub ncpus_online: Option<u64>,
    pub ncpus_possible: Option<u64>,
    pub page_size: Option<u64>,
    pub mem_total_kb: Option<u64>,
    pub aio_nr_present: bool,
    pub aio_max_nr_present: bool,
    pub aio_max_nr: Option<u64>,
    /// debugfs mounted at /sys/kernel/debug.
    pub debugfs: bool,
    /// /proc/self/task/TID/fail-nth exists (CONFIG_FAULT_INJECTION_DEBUG_FS).
    pub fail_nth: bool,
    pub mode: Mode,
}

pub mod hello_key {
    pub const ARCH: &str = "arch";
    pub const UNAME_RELEASE: &str = "uname_release";
    pub const UNAME_MACHINE: &str = "uname_machine";
    pub const NCPUS_ONLINE: &str = "ncpus_online";
    pub const NCPUS_POSSIBLE: &str = "ncpus_possible";
    pub const PAGE_SIZE: &str = "page_size";
    pub const MEM_TOTAL_KB: &str = "mem_total_kb";
    pub const AIO_NR_PRESENT: &str = "aio_nr_present";
    pub const AIO_MAX_NR_PRESENT: &str = "aio_max_nr_present";
    pub const AIO_MAX_NR: &str = "aio_max_nr";
    pub const DEBUGFS: &str = "debugfs";
    pub const FAIL_NTH: &str = "fail_nth";
    pub const MODE: &str = "mode";
}

impl Hello {
    pub fn to_json(&self) -> String {
        use hello_key::*;
        let mut o = head(TYPE_HELLO);
        o.str(ARCH, &self.arch)
            .str(UNAME_RELEASE, &self.uname_release)
            .str(UNAME_MACHINE, &self.uname_machine)
            .opt_u64(NCPUS_ONLINE, self.ncpus_online)
            .opt_u64(NCPUS_POSSIBLE, self.ncpus_possible)
            .opt_u64(PAGE_SIZE, self.page_size)
            .opt_u64(MEM_TOTAL_KB, self.mem_total_kb)
            .bool(AIO_NR_PRESENT, self.aio_nr_present)
            .bool(AIO_MAX_NR_PRESENT, self.aio_max_nr_present)
            .opt_u64(AIO_MAX_NR, self.aio_max_nr)
            .bool(DEBUGFS, self.debugfs)
            .bool(FAIL_NTH, self.fail_nth)
            .str(MODE, self.mode.as_str());
        o.to_json()
    }

    pub fn read<F: Fields>(f: &F) -> Result<Hello, FieldError> {
        use hello_key::*;
        let mode = f.str(MODE)?;
        Ok(Hello {
            arch: f.str(ARCH)?,
            uname_release: f.str(UNAME_RELEASE)?,
            uname_machine: f.str(UNAME_MACHINE)?,
            ncpus_online: f.opt_u64(NCPUS_ONLINE)?,
            ncpus_possible: f.opt_u64(NCPUS_POSSIBLE)?,
            page_size: f.opt_u64(PAGE_SIZE)?,
            mem_total_kb: f.opt_u64(MEM_TOTAL_KB)?,
            aio_nr_present: f.bool(AIO_NR_PRESENT)?,
            aio_max_nr_present: f.bool(AIO_MAX_NR_PRESENT)?,
            aio_max_nr: f.opt_u64(AIO_MAX_NR)?,
            debugfs: f.bool(DEBUGFS)?,
            fail_nth: f.bool(FAIL_NTH)?,
            mode: Mode::parse(&mode)
                .ok_or_else(|| FieldError::new(MODE, format!("unknown mode {mode:?}")))?,
        })
    }
}

/// Result of writing one kmatrix.sysctl item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sysctl {
    pub key: String,
    pub value: String,
    pub ok: bool,
    pub errno: i32,
    pub readback: Option<String>,
}

pub mod sysctl_key {
    pub const KEY: &str = "key";
    pub const VALUE: &str = "value";
    pub const OK: &str = "ok";
    pub const ERRNO: &str = "errno";
    pub const READBACK: &str = "readback";
}

impl Sysctl {
    pub fn to_json(&self) -> String {
        use sysctl_key::*;
        let mut o = head(TYPE_SYSCTL);
        o.str(KEY, &self.key)
            .str(VALUE, &self.value)
            .bool(OK, self.ok)
            .i64(ERRNO, self.errno.into())
            .opt_str(READBACK, self.readback.as_deref());
        o.to_json()
    }

    pub fn read<F: Fields>(f: &F) -> Result<Sysctl, FieldError> {
        use sysctl_key::*;
        let errno = f.i64(ERRNO)?;
        Ok(Sysctl {
            key: f.str(KEY)?,
            value: f.str(VALUE)?,
            ok: f.bool(OK)?,
            errno: i32::try_from(errno)
                .map_err(|_| FieldError::new(ERRNO, format!("{errno} is not an errno")))?,
            readback: f.opt_str(READBACK)?,
        })
    }
}

/// How a forked child (an experiment, or a step inside one) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Returned normally (exit status 0 after writing its obs).
    Exited,
    Exit(i32),
    Signal(i32),
    /// A wait status that is neither an exit nor a signal.
    Other(i32),
    ForkFailed(i32),
    Unreaped,
    /// Killed by the guest for outliving kmatrix.timeout.
    Timeout,
}

impl Fate {
    pub fn label(self) -> String {
        match self {
            Fate::Exited => "exited".to_string(),
            Fate::Exit(n) => format!("exit:{n}"),
            Fate::Signal(n) => format!("signal:{n}"),
            Fate::Other(st) => format!("status:{st:#x}"),
            Fate::ForkFailed(e) => format!("fork-failed:{e}"),
            Fate::Unreaped => "unreaped".to_string(),
            Fate::Timeout => "timeout".to_string(),
        }
    }

    pub fn parse(label: &str) -> Option<Fate> {
        match label {
            "exited" => return Some(Fate::Exited),
            "unreaped" => return Some(Fate::Unreaped),
            "timeout" => return Some(Fate::Timeout),
            _ => {}
        }
        let (kind, n) = label.split_once(':')?;
        let dec = || n.parse::<i32>().ok();
        match kind {
            "exit" => dec().map(Fate::Exit),
            "signal" => dec().map(Fate::Signal),
            "fork-failed" => dec().map(Fate::ForkFailed),
            "status" => n
                .strip_prefix("0x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .map(|v| Fate::Other(v as i32)),
            _ => None,
        }
    }
}

/// One experiment's observations. `O` is the obs object: JSON text in the
/// guest, the runner's JSON value on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Experiment<O> {
    pub id: String,
    pub fate: Fate,
    pub obs: O,
}

pub mod experiment_key {
    pub const ID: &str = "id";
    pub const FATE: &str = "fate";
    pub const OBS: &str = "obs";
    /// Replaces obs text that was not a JSON object from json.rs.
    pub const MALFORMED_OBS: &str = "malformed_obs";
}

impl Experiment<String> {
    /// `obs` must be object text from json.rs; anything else is replaced by
    /// an object that says so, so the line stays valid JSON.
    pub fn to_json(&self) -> String {
        use experiment_key::*;
        let mut o = head(TYPE_EXPERIMENT);
        o.str(ID, &self.id).str(FATE, &self.fate.label());
        if json::looks_like_object(&self.obs) {
            o.raw(OBS, &self.obs);
        } else {
            let mut bad = Obj::new();
            bad.str(MALFORMED_OBS, &self.obs);
            o.obj(OBS, &bad);
        }
        o.to_json()
    }
}

impl<O> Experiment<O> {
    pub fn read<F: Fields<Object = O>>(f: &F) -> Result<Experiment<O>, FieldError> {
        use experiment_key::*;
        let fate = f.str(FATE)?;
        Ok(Experiment {
            id: f.str(ID)?,
            fate: Fate::parse(&fate)
                .ok_or_else(|| FieldError::new(FATE, format!("unknown fate {fate:?}")))?,
            obs: f.object(OBS)?,
        })
    }
}

pub const LOG_KEY_MSG: &str = "msg";
pub const END_KEY_EXPERIMENTS: &str = "experiments";

pub fn log_json(msg: &str) -> String {
    let mut o = head(TYPE_LOG);
    o.str(LOG_KEY_MSG, msg);
    o.to_json()
}

/// The end marker, announcing how many experiment records came before it.
pub fn end_json(experiments: u64) -> String {
    let mut o = head(TYPE_END);
    o.u64(END_KEY_EXPERIMENTS, experiments);
    o.to_json()
}

/// Any record, as the runner reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record<O> {
    Hello(Hello),
    Sysctl(Sysctl),
    Experiment(Experiment<O>),
    Log(String),
    End { experiments: u64 },
}

impl<O> Record<O> {
    /// Reads one record; a wrong version or unknown type is an error on
    /// the "v" or "type" key.
    pub fn read<F: Fields<Object = O>>(f: &F) -> Result<Record<O>, FieldError> {
        let v = f.u64(KEY_VERSION)?;
        if v != PROTOCOL_VERSION {
            return Err(FieldError::new(
                KEY_VERSION,
                format!("protocol version {v} (this side speaks {PROTOCOL_VERSION})"),
            ));
        }
        let kind = f.str(KEY_TYPE)?;
        Ok(match kind.as_str() {
            TYPE_HELLO => Record::Hello(Hello::read(f)?),
            TYPE_SYSCTL => Record::Sysctl(Sysctl::read(f)?),
            TYPE_EXPERIMENT => Record::Experiment(Experiment::read(f)?),
            TYPE_LOG => Record::Log(f.str(LOG_KEY_MSG)?),
            TYPE_END => Record::End {
                experiments: f.u64(END_KEY_EXPERIMENTS)?,
            },
            other => {
                return Err(FieldError::new(
                    KEY_TYPE,
                    format!("unknown record type {other:?}"),
                ))
            }
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::json::mini::{self, Value};

    /// `Fields` over the test-only reader in json::mini.
    pub struct MiniFields(pub Vec<(String, Value)>);

    impl MiniFields {
        pub fn parse(line: &str) -> MiniFields {
            match mini::parse(line) {
                Ok(Value::Obj(m)) => MiniFields(m),
                other => panic!("not an object: {other:?}"),
            }
        }
        fn get(&self, key: &str) -> Result<&Value, FieldError> {
            self.0
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .ok_or_else(|| FieldError::new(key, "missing"))
        }
    }

    impl Fields for MiniFields {
        type Object = Value;
        fn opt_str(&self, key: &str) -> Result<Option<String>, FieldError> {
            match self.get(key)? {
                Value::Null => Ok(None),
                Value::Str(s) => Ok(Some(s.clone())),
                v => Err(FieldError::new(
                    key,
                    format!("expected a string, found {v:?}"),
                )),
            }
        }
        fn opt_u64(&self, key: &str) -> Result<Option<u64>, FieldError> {
            match self.get(key)? {
                Value::Null => Ok(None),
                Value::Num(n) => n
                    .parse()
                    .map(Some)
                    .map_err(|_| FieldError::new(key, "expected a u64")),
                v => Err(FieldError::new(key, format!("expected a u64, found {v:?}"))),
            }
        }
        fn opt_i64(&self, key: &str) -> Result<Option<i64>, FieldError> {
            match self.get(key)? {
                Value::Null => Ok(None),
                Value::Num(n) => n
                    .parse()
                    .map(Some)
                    .map_err(|_| FieldError::new(key, "expected an i64")),
                v => Err(FieldError::new(
                    key,
                    format!("expected an i64, found {v:?}"),
                )),
            }
        }
        fn opt_bool(&self, key: &str) -> Result<Option<bool>, FieldError> {
            match self.get(key)? {
                Value::Null => Ok(None),
                Value::Bool(b) => Ok(Some(*b)),
                v => Err(FieldError::new(
                    key,
                    format!("expected a bool, found {v:?}"),
                )),
            }
        }
        fn object(&self, key: &str) -> Result<Value, FieldError> {
            match self.get(key)? {
                v @ Value::Obj(_) => Ok(v.clone()),
                v => Err(FieldError::new(
                    key,
                    format!("expected an object, found {v:?}"),
                )),
            }
        }
    }

    fn read(line: &str) -> Result<Record<Value>, FieldError> {
        Record::read(&MiniFields::parse(line))
    }

    pub fn sample_hello() -> Hello {
        Hello {
            arch: "x86_64".to_string(),
            uname_release: "6.1.0-kmatrix".to_string(),
            uname_machine: "x86_64".to_string(),
            ncpus_online: Some(2),
            ncpus_possible: Some(2),
            page_size: Some(4096),
            mem_total_kb: Some(493_000),
            aio_nr_present: true,
            aio_max_nr_present: true,
            aio_max_nr: Some(u64::MAX),
            debugfs: true,
            fail_nth: false,
            mode: Mode::Probe,
        }
    }

    #[test]
    fn hello_wire_format_and_round_trip() {
        let h = sample_hello();
        assert_eq!(
            h.to_json(),
            "{\"v\":1,\"type\":\"hello\",\"arch\":\"x86_64\",\"uname_release\":\"6.1.0-kmatrix\",\
             \"uname_machine\":\"x86_64\",\"ncpus_online\":2,\"ncpus_possible\":2,\
             \"page_size\":4096,\"mem_total_kb\":493000,\"aio_nr_present\":true,\
             \"aio_max_nr_present\":true,\"aio_max_nr\":18446744073709551615,\"debugfs\":true,\
             \"fail_nth\":false,\"mode\":\"probe\"}"
        );
        assert_eq!(read(&h.to_json()), Ok(Record::Hello(h.clone())));
        let odd = Hello {
            arch: "a\"rch é".to_string(),
            ncpus_online: None,
            aio_max_nr: None,
            mode: Mode::Ping,
            ..h
        };
        assert!(odd.to_json().contains("\"aio_max_nr\":null"));
        assert_eq!(read(&odd.to_json()), Ok(Record::Hello(odd)));
    }

    #[test]
    fn sysctl_round_trip() {
        let s = Sysctl {
            key: "fs.aio-max-nr".to_string(),
            value: "65536 =x".to_string(),
            ok: false,
            errno: 22,
            readback: None,
        };
        assert!(s
            .to_json()
            .ends_with("\"ok\":false,\"errno\":22,\"readback\":null}"));
        assert_eq!(read(&s.to_json()), Ok(Record::Sysctl(s)));
    }

    #[test]
    fn experiment_round_trip_and_malformed_obs() {
        let e = Experiment {
            id: "setup.basic".to_string(),
            fate: Fate::Signal(9),
            obs: "{\"ret\":0}".to_string(),
        };
        assert_eq!(
            e.to_json(),
            "{\"v\":1,\"type\":\"experiment\",\"id\":\"setup.basic\",\"fate\":\"signal:9\",\
             \"obs\":{\"ret\":0}}"
        );
        match read(&e.to_json()).unwrap() {
            Record::Experiment(x) => {
                assert_eq!((x.id.as_str(), x.fate), ("setup.basic", Fate::Signal(9)));
                assert_eq!(x.obs, mini::parse("{\"ret\":0}").unwrap());
            }
            r => panic!("{r:?}"),
        }
        let bad = Experiment {
            obs: "{\"trunc".to_string(),
            ..e
        };
        assert!(bad
            .to_json()
            .ends_with("\"obs\":{\"malformed_obs\":\"{\\\"trunc\"}}"));
    }

    #[test]
    fn log_and_end_round_trip() {
        assert_eq!(
            log_json("debugfs: \"x\"\n"),
            "{\"v\":1,\"type\":\"log\",\"msg\":\"debugfs: \\\"x\\\"\\n\"}"
        );
        assert_eq!(
            read(&log_json("ü\u{1}")),
            Ok(Record::Log("ü\u{1}".to_string()))
        );
        assert_eq!(
            end_json(17),
            "{\"v\":1,\"type\":\"end\",\"experiments\":17}"
        );
        assert_eq!(read(&end_json(17)), Ok(Record::End { experiments: 17 }));
    }

    #[test]
    fn every_fate_label_parses_back() {
        for f in [
            Fate::Exited,
            Fate::Exit(3),
            Fate::Signal(9),
            Fate::Other(0x137f),
            Fate::ForkFailed(11),
            Fate::Unreaped,
            Fate::Timeout,
        ] {
            assert_eq!(Fate::parse(&f.label()), Some(f));
        }
        for bad in ["", "exit", "exit:x", "signal:", "died", "status:12"] {
            assert_eq!(Fate::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn errors_name_the_key() {
        let e = read("{\"v\":2,\"type\":\"end\",\"experiments\":0}").unwrap_err();
        assert_eq!(e.key, "v");
        let e = read("{\"v\":1,\"type\":\"gossip\"}").unwrap_err();
        assert_eq!(e.key, "type");
        let e = read("{\"v\":1,\"type\":\"end\"}").unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.problem.as_str()),
            ("experiments", "missing")
        );
        let line = sample_hello().to_json().replace("\"page_size\":4096,", "");
        assert_eq!(read(&line).unwrap_err().key, "page_size");
        let line = sample_hello()
            .to_json()
            .replace("\"debugfs\":true", "\"debugfs\":1");
        assert_eq!(read(&line).unwrap_err().key, "debugfs");
        let line = sample_hello().to_json().replace("\"probe\"", "\"fast\"");
        assert_eq!(read(&line).unwrap_err().key, "mode");
        let e = Experiment {
            id: "x".to_string(),
            fate: Fate::Exited,
            obs: "{}".to_string(),
        }
        .to_json()
        .replace("exited", "exitted");
        assert_eq!(read(&e).unwrap_err().key, "fate");
    }
}
