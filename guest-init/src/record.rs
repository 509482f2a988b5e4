//! The record lines written to the results port: one JSON object per line,
//! each with "v":1 and a "type". Pure formatting (no trailing newline).

use crate::json::{self, Obj};

/// Format version of every record.
const V: u64 = 1;

fn head(kind: &str) -> Obj {
    let mut o = Obj::new();
    o.u64("v", V).str("type", kind);
    o
}

/// Facts about the guest, gathered after the sysctls were applied.
#[derive(Clone, Debug)]
pub struct Hello {
    pub arch: &'static str,
    pub uname_release: String,
    pub uname_machine: String,
    pub ncpus_online: Option<u64>,
    pub ncpus_possible: Option<u64>,
    pub page_size: Option<u64>,
    pub mem_total_kb: Option<u64>,
    pub aio_nr_present: bool,
    pub aio_max_nr_present: bool,
    pub aio_max_nr: Option<u64>,
    pub debugfs: bool,
    pub fail_nth: bool,
    pub mode: &'static str,
}

pub fn hello(h: &Hello) -> String {
    let mut o = head("hello");
    o.str("arch", h.arch)
        .str("uname_release", &h.uname_release)
        .str("uname_machine", &h.uname_machine)
        .opt_u64("ncpus_online", h.ncpus_online)
        .opt_u64("ncpus_possible", h.ncpus_possible)
        .opt_u64("page_size", h.page_size)
        .opt_u64("mem_total_kb", h.mem_total_kb)
        .bool("aio_nr_present", h.aio_nr_present)
        .bool("aio_max_nr_present", h.aio_max_nr_present)
        .opt_u64("aio_max_nr", h.aio_max_nr)
        .bool("debugfs", h.debugfs)
        .bool("fail_nth", h.fail_nth)
        .str("mode", h.mode);
    o.to_json()
}

/// Result of writing one kmatrix.sysctl item.
#[derive(Clone, Debug)]
pub struct Sysctl {
    pub key: String,
    pub value: String,
    pub ok: bool,
    pub errno: i32,
    pub readback: Option<String>,
}

pub fn sysctl(s: &Sysctl) -> String {
    let mut o = head("sysctl");
    o.str("key", &s.key)
        .str("value", &s.value)
        .bool("ok", s.ok)
        .i64("errno", s.errno.into())
        .opt_str("readback", s.readback.as_deref());
    o.to_json()
}

/// `obs` must be object text from json.rs; anything else is replaced by
/// an object that says so, so the line stays valid JSON.
pub fn experiment(id: &str, fate: &str, obs: &str) -> String {
    let mut o = head("experiment");
    o.str("id", id).str("fate", fate);
    if json::looks_like_object(obs) {
        o.raw("obs", obs);
    } else {
        let mut bad = Obj::new();
        bad.str("malformed_obs", obs);
        o.obj("obs", &bad);
    }
    o.to_json()
}

pub fn log(msg: &str) -> String {
    let mut o = head("log");
    o.str("msg", msg);
    o.to_json()
}

pub fn end(experiments: u64) -> String {
    let mut o = head("end");
    o.u64("experiments", experiments);
    o.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_record() {
        let h = Hello {
            arch: "x86_64",
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
            mode: "probe",
        };
        assert_eq!(
            hello(&h),
            "{\"v\":1,\"type\":\"hello\",\"arch\":\"x86_64\",\"uname_release\":\"6.1.0-kmatrix\",\
             \"uname_machine\":\"x86_64\",\"ncpus_online\":2,\"ncpus_possible\":2,\
             \"page_size\":4096,\"mem_total_kb\":493000,\"aio_nr_present\":true,\
             \"aio_max_nr_present\":true,\"aio_max_nr\":18446744073709551615,\"debugfs\":true,\
             \"fail_nth\":false,\"mode\":\"probe\"}"
        );
        let none = Hello {
            aio_max_nr: None,
            ..h
        };
        assert!(hello(&none).contains("\"aio_max_nr\":null"));
    }

    #[test]
    fn sysctl_record() {
        let s = Sysctl {
            key: "fs.aio-max-nr".to_string(),
            value: "65536".to_string(),
            ok: true,
            errno: 0,
            readback: Some("65536".to_string()),
        };
        assert_eq!(
            sysctl(&s),
            "{\"v\":1,\"type\":\"sysctl\",\"key\":\"fs.aio-max-nr\",\"value\":\"65536\",\
             \"ok\":true,\"errno\":0,\"readback\":\"65536\"}"
        );
        let failed = Sysctl {
            ok: false,
            errno: 2,
            readback: None,
            ..s
        };
        assert!(sysctl(&failed).ends_with("\"ok\":false,\"errno\":2,\"readback\":null}"));
    }

    #[test]
    fn experiment_record() {
        assert_eq!(
            experiment("setup.basic", "exited", "{\"ret\":0}"),
            "{\"v\":1,\"type\":\"experiment\",\"id\":\"setup.basic\",\"fate\":\"exited\",\
             \"obs\":{\"ret\":0}}"
        );
        assert_eq!(
            experiment("nr.sweep", "timeout", "{}"),
            "{\"v\":1,\"type\":\"experiment\",\"id\":\"nr.sweep\",\"fate\":\"timeout\",\"obs\":{}}"
        );
        assert_eq!(
            experiment("x", "signal:9", "{\"trunc"),
            "{\"v\":1,\"type\":\"experiment\",\"id\":\"x\",\"fate\":\"signal:9\",\
             \"obs\":{\"malformed_obs\":\"{\\\"trunc\"}}"
        );
    }

    #[test]
    fn log_and_end() {
        assert_eq!(
            log("debugfs: \"x\"\n"),
            "{\"v\":1,\"type\":\"log\",\"msg\":\"debugfs: \\\"x\\\"\\n\"}"
        );
        assert_eq!(end(17), "{\"v\":1,\"type\":\"end\",\"experiments\":17}");
    }
}
