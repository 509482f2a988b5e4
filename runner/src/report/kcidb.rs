//! KCIDB JSON (schema v5, as the kcidb-io package defines it) so a run can
//! go to KernelCI's dashboard: a checkout per kernel source, a build per
//! kernel, a test per case and cell, plus a `boot` test per cell.

use super::{CellReport, CellStatus, Report};
use crate::oracle::{Case, Verdict};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const ORIGIN: &str = "kmatrix";
/// The newest schema kcidb-io validates (kcidb_io.schema.LATEST).
pub const VERSION: (u32, u32) = (5, 3);
/// The schema's log_excerpt maxLength.
const EXCERPT_MAX: usize = 16384;

fn hash(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))[..16].to_string()
}

/// `ORIGIN:` + text; the schema only asks for the prefix.
fn id(parts: &[&str]) -> String {
    format!("{ORIGIN}:{}", parts.join(":"))
}

/// A case id as a KCIDB path (dot-separated [A-Za-z0-9_-] segments).
pub fn path_of(case_id: &str) -> String {
    let mut segs = vec![ORIGIN.to_string()];
    for seg in case_id.split(['.', '/', ':', '#']) {
        let s: String = seg
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !s.is_empty() {
            segs.push(s);
        }
    }
    segs.join(".")
}

fn excerpt(text: &str) -> String {
    let t: String = text.chars().filter(|&c| c != '\0').collect();
    if t.len() <= EXCERPT_MAX {
        return t;
    }
    let mut end = EXCERPT_MAX;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    t[..end].to_string()
}

fn status(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass | Verdict::KnownDeviation => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Skip => "SKIP",
        Verdict::Error => "ERROR",
    }
}

/// The checkout and build a cell's kernel came from: (checkout id, build id).
fn kernel_ids(run: &str, c: &CellReport) -> (String, String) {
    match &c.kernel {
        Some(k) => {
            let src = if k.source_sha256.is_empty() {
                hash(&format!("{}{}", k.source, k.version))
            } else {
                k.source_sha256[..16.min(k.source_sha256.len())].to_string()
            };
            (id(&[run, "src", &src]), id(&[run, "build", &k.key]))
        }
        // Never got a kernel (build or setup failed): its own build entry.
        None => (
            id(&[run, "src", "unknown"]),
            id(&[
                run,
                "build",
                &c.cell.arch.name,
                c.cell.config.as_str(),
                "none",
            ]),
        ),
    }
}

fn case_test(run: &str, c: &CellReport, build: &str, k: &Case, spec: Option<String>) -> Value {
    let mut t = json!({
        "id": id(&[run, &c.cell.name, &k.id]),
        "origin": ORIGIN,
        "build_id": build,
        "path": path_of(&k.id),
        "status": status(k.verdict),
        "environment": environment(c),
        "misc": {"kmatrix_verdict": k.verdict, "expected": k.expected, "observed": k.observed},
    });
    // The spec the case was judged against: path, sha256, upstream/kmatrix.
    if let Some(spec) = spec {
        t["misc"]["spec"] = json!(spec);
    }
    if k.verdict != Verdict::Pass {
        let mut log = format!("expected {}, observed {}", k.expected, k.observed);
        if !k.detail.is_empty() {
            log.push('\n');
            log.push_str(&k.detail);
        }
        t["log_excerpt"] = json!(excerpt(&log));
    }
    if k.verdict == Verdict::KnownDeviation {
        t["comment"] = json!("known deviation from the spec (spec/known-deviations.toml)");
    }
    t
}

fn environment(c: &CellReport) -> Value {
    json!({
        "comment": c.cell.name,
        "misc": {
            "arch": c.cell.arch.name, "config": c.cell.config, "aio_max_nr": c.cell.aio_max_nr,
            "cpus": c.cell.cpus, "mem_mb": c.cell.mem_mb, "accel": c.accel,
            "console_log": c.artifacts.join("console.log"),
        }
    })
}

/// The whole report as one KCIDB submission.
pub fn render(r: &Report) -> anyhow::Result<String> {
    // Test ids must be unique across submissions: one run's report (with
    // its timings) hashes to its own prefix, and re-rendering it is stable.
    let run = hash(&serde_json::to_string(r)?);
    let mut checkouts: Vec<Value> = Vec::new();
    let mut builds: Vec<Value> = Vec::new();
    let mut tests: Vec<Value> = Vec::new();
    let has = |list: &[Value], id: &str| list.iter().any(|v| v["id"] == id);
    for c in &r.cells {
        let (checkout, build) = kernel_ids(&run, c);
        if !has(&checkouts, &checkout) {
            let mut co = json!({"id": checkout, "origin": ORIGIN, "valid": c.kernel.is_some()});
            if let Some(k) = &c.kernel {
                co["comment"] = json!(format!("{} ({})", k.source, k.version));
                co["misc"] = json!({"source": k.source, "source_sha256": k.source_sha256});
            }
            if !r.specs.is_empty() {
                let specs: serde_json::Map<String, Value> = r
                    .specs
                    .iter()
                    .map(|u| (u.syscall.clone(), json!(u.label())))
                    .collect();
                co["misc"]["specs"] = Value::Object(specs);
            }
            checkouts.push(co);
        }
        if !has(&builds, &build) {
            let mut b = json!({
                "id": build, "origin": ORIGIN, "checkout_id": checkout,
                "architecture": c.cell.arch.name, "config_name": c.cell.config,
                "status": if c.kernel.is_some() { "PASS" } else { "MISS" },
            });
            match &c.kernel {
                Some(k) => {
                    b["misc"] = json!({"image": k.image, "version": k.version, "key": k.key})
                }
                None => b["log_excerpt"] = json!(excerpt(&c.status_detail)),
            }
            builds.push(b);
        }
        // The boot itself, so a cell that never ran is not just absent.
        let boot = match c.status {
            CellStatus::Ok => "PASS",
            CellStatus::Panic => "FAIL",
            _ => "ERROR",
        };
        let mut t = json!({
            "id": id(&[&run, &c.cell.name, "boot"]),
            "origin": ORIGIN, "build_id": build, "path": format!("{ORIGIN}.boot"),
            "status": boot, "environment": environment(c),
            "duration": c.run_ms as f64 / 1000.0,
        });
        if c.status != CellStatus::Ok {
            t["log_excerpt"] = json!(excerpt(&format!(
                "{:?}: {}\n{}",
                c.status, c.status_detail, c.console_excerpt
            )));
        }
        tests.push(t);
        tests.extend(c.cases.iter().map(|k| {
            let spec = crate::oracle::against::syscall_of(&k.id)
                .and_then(|sys| r.specs.iter().find(|u| u.syscall == sys))
                .map(|u| u.label());
            case_test(&run, c, &build, k, spec)
        }));
    }
    let out = json!({
        "version": {"major": VERSION.0, "minor": VERSION.1},
        "checkouts": checkouts,
        "builds": builds,
        "tests": tests,
    });
    Ok(serde_json::to_string_pretty(&out)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_schema_paths() {
        assert_eq!(
            path_of("param.nr_events.range/4194305"),
            "kmatrix.param.nr_events.range.4194305"
        );
        assert_eq!(
            path_of("exec:/opt/ltp/io_setup01/io_setup01.c:42#2"),
            "kmatrix.exec.opt.ltp.io_setup01.io_setup01.c.42.2"
        );
        let p = path_of("a b..c");
        assert!(p.split('.').all(|s| !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))));
    }

    #[test]
    fn excerpts_fit_the_schema() {
        let e = excerpt(&format!("a\0{}", "é".repeat(10000)));
        assert!(e.len() <= EXCERPT_MAX && !e.contains('\0'));
    }
}
