//! Compat cells: 32-bit probes (i686 on x86_64, armhf on arm64) through the
//! kernel's compat entry points, booted for real. One test per question:
//! both ABIs on the same compat kernels judge every case; a kernel without
//! the compat ABI is "no compat ABI" (ENOEXEC), not a broken cell; a
//! kernel without 32-bit time is ENOSYS exactly at the time32 entry points.

mod common;
use common::*;

use serde_json::Value;

fn run(args: &[&str]) -> (Value, String, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let mut a = vec!["run", "--arch", "x86_64,arm64", "--format", "json", "--out"];
    a.push(out.path().to_str().unwrap());
    a.extend(args);
    let o = kmatrix(&a);
    let r: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("JSON report ({e}): {}", text(&o)));
    (r, text(&o), out)
}

/// The JSON report a run wrote into its out dir.
fn out_json(out: &tempfile::TempDir) -> String {
    out.path().join("report.json").to_str().unwrap().to_string()
}

fn cells(r: &Value) -> &Vec<Value> {
    r["cells"].as_array().unwrap()
}

fn observed<'a>(c: &'a Value, id: &str) -> &'a str {
    case(c, id)["observed"].as_str().unwrap()
}

#[test]
fn both_abis_on_compat_kernels_judge_every_case() {
    let (r, log, _out) = run(&["--config", "aio-on", "--abi", "native,compat"]);
    let cs = cells(&r);
    assert_eq!(cs.len(), 4, "{log}");
    for c in cs {
        let name = c["cell"]["name"].as_str().unwrap();
        assert_eq!(c["status"], "ok", "{name}: {} {log}", c["status_detail"]);
        assert_eq!(
            c["cell"]["compat"], "on",
            "{name}: both ABIs boot the compat kernel"
        );
        for k in c["cases"].as_array().unwrap() {
            assert_ne!(k["verdict"], "error", "{name}: {k}");
            assert_ne!(k["verdict"], "fail", "{name}: {k}");
        }
    }
    // The compat cells called the 32-bit numbers (syscall_32.tbl, unistd32.h).
    let compat = |arch: &str| {
        cs.iter()
            .find(|c| c["cell"]["arch"] == arch && c["cell"]["abi"] == "compat")
            .unwrap()
    };
    assert!(observed(compat("x86_64"), "io_setup.constraint.CONFIG_AIO").contains("nr 245 "));
    assert!(observed(compat("arm64"), "io_setup.constraint.CONFIG_AIO").contains("nr 243 "));
    let table = kmatrix(&["report", out_json(&_out).as_str()]);
    let table = text(&table);
    assert!(
        table.contains("native vs compat: 2 compat cell(s)"),
        "{table}"
    );
}

#[test]
fn a_kernel_without_the_compat_abi_says_so_in_the_enosys_map() {
    // The default kernels (no IA32_EMULATION / COMPAT): nothing to build.
    let (r, log, _out) = run(&["--abi", "compat", "--compat", "off"]);
    let cs = cells(&r);
    assert_eq!(cs.len(), 4, "{log}");
    for c in cs {
        let name = c["cell"]["name"].as_str().unwrap();
        assert_eq!(c["status"], "ok", "{name}: {} {log}", c["status_detail"]);
        let k = case(c, "io_setup.constraint.CONFIG_AIO");
        assert_eq!(k["verdict"], "pass", "{name}: {k}");
        assert!(k["observed"].as_str().unwrap().contains("ENOEXEC"), "{k}");
        let k = case(c, "return.success");
        assert_eq!(k["verdict"], "skip", "{name}: {k}");
        assert!(
            k["detail"].as_str().unwrap().contains("no compat ABI"),
            "{k}"
        );
    }
}

#[test]
fn without_32_bit_time_only_the_time32_entry_points_are_enosys() {
    let (r, log, _out) = run(&["--config", "aio-on", "--abi", "compat", "--time32", "off"]);
    let cs = cells(&r);
    assert_eq!(cs.len(), 2, "{log}");
    for c in cs {
        let name = c["cell"]["name"].as_str().unwrap();
        assert_eq!(c["status"], "ok", "{name}: {} {log}", c["status_detail"]);
        assert_eq!(c["cell"]["compat"], "notime32", "{name}");
        for k in c["cases"].as_array().unwrap() {
            assert_ne!(k["verdict"], "error", "{name}: {k}");
            assert_ne!(k["verdict"], "fail", "{name}: {k}");
        }
        // io_getevents has only a time32 entry for 32-bit callers: ENOSYS;
        // io_pgetevents_time64 answers, its time32 twin is ENOSYS.
        let k = case(c, "io_getevents.constraint.CONFIG_AIO");
        assert_eq!(k["verdict"], "pass", "{name}: {k}");
        assert!(
            k["observed"].as_str().unwrap().contains("time32 nr 2"),
            "{k}"
        );
        let o = observed(c, "io_pgetevents.constraint.CONFIG_AIO");
        assert!(o.contains("time64 nr 416 zeros: EINVAL"), "{name}: {o}");
        assert!(
            o.contains("time32 nr 3") && o.contains(": ENOSYS"),
            "{name}: {o}"
        );
        // Never ENOSYS elsewhere: the io_submit reaping still ran.
        assert_eq!(
            case(c, "io_submit.return.success/rw")["verdict"],
            "pass",
            "{name}"
        );
        let k = case(c, "io_getevents.param.timeout.zero");
        assert_eq!(k["verdict"], "skip", "{name}: {k}");
        assert!(
            k["detail"]
                .as_str()
                .unwrap()
                .contains("CONFIG_COMPAT_32BIT_TIME"),
            "{k}"
        );
    }
}
