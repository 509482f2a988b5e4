//! End-to-end: the real `kmatrix` binary, real kernels, real QEMU boots of
//! both arches. The first run on a machine builds four kernels (~10 min).

mod common;
use common::*;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[test]
fn default_matrix_boots_both_arches_and_judges_every_cell() {
    let out = tempfile::tempdir().unwrap();
    let o = kmatrix(&[
        "run",
        "--format",
        "json",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("report is JSON ({e}): {}", text(&o)));
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "{}", text(&o));
    let mut arches: Vec<&str> = cells
        .iter()
        .map(|c| c["cell"]["arch"].as_str().unwrap())
        .collect();
    arches.dedup();
    // Arches are data (kernels/arch/*.toml), discovered in name order.
    assert_eq!(arches, ["arm64", "x86_64"]);
    for c in cells {
        let name = c["cell"]["name"].as_str().unwrap();
        assert_eq!(
            c["status"], "ok",
            "{name}: {} {}",
            c["status_detail"], c["console_excerpt"]
        );
        assert_eq!(c["stream"], "complete", "{name}");
        assert!(
            c["run_ms"].as_u64().unwrap() > 0,
            "{name}: boot time measured"
        );
        let reason = c["accel_reason"].as_str().unwrap();
        assert!(!reason.is_empty(), "{name}: accelerator stated");
        if c["accel"] == "tcg"
            && c["cell"]["arch"] == std::env::consts::ARCH
            && Path::new("/dev/kvm").exists()
        {
            // KVM is present but was not used: the report must say why.
            assert!(reason.contains("KVM probe"), "{name}: {reason}");
        }
        assert_eq!(
            c["hello"]["arch"],
            if c["cell"]["arch"] == "arm64" {
                "aarch64"
            } else {
                "x86_64"
            },
            "{name}: the guest ran on the right arch"
        );
        assert!(Path::new(c["artifacts"].as_str().unwrap())
            .join("console.log")
            .exists());
        for k in c["cases"].as_array().unwrap() {
            assert_ne!(k["verdict"], "error", "{name}: {k}");
            assert_ne!(k["verdict"], "fail", "{name}: {k}");
        }
        // The whole AIO family: ENOSYS exactly where CONFIG_AIO=n (issue 11).
        for sys in [
            "io_setup",
            "io_destroy",
            "io_submit",
            "io_cancel",
            "io_getevents",
            "io_pgetevents",
        ] {
            let k = case(c, &format!("{sys}.constraint.CONFIG_AIO"));
            assert_eq!(k["verdict"], "pass", "{name}: {k}");
        }
        if c["cell"]["config"] == "aio-on" {
            assert_eq!(
                case(c, "io_submit.return.success/rw")["verdict"],
                "pass",
                "{name}"
            );
            assert_eq!(case(c, "return.success")["verdict"], "pass", "{name}");
            assert_eq!(case(c, "return.success")["observed"], "OK");
            assert_eq!(case(c, "error.EINVAL.nr_events-zero")["observed"], "EINVAL");
            assert_eq!(case(c, "error.EINVAL.ctxp-nonzero")["observed"], "EINVAL");
            assert_eq!(
                case(c, "side-effect.reversible.io_destroy")["verdict"],
                "pass"
            );
        } else {
            assert_eq!(
                case(c, "constraint.CONFIG_AIO.enosys")["verdict"],
                "pass",
                "{name}"
            );
            assert_eq!(
                case(c, "constraint.CONFIG_AIO.enosys")["observed"],
                "ENOSYS"
            );
            assert_eq!(
                case(c, "constraint.CONFIG_AIO.sysctls")["verdict"],
                "pass",
                "{name}"
            );
        }
    }
    assert!(
        o.status.success(),
        "every case passed, so exit 0: {}",
        text(&o)
    );
    assert!(out.path().join("report.json").exists());
}

#[test]
fn second_build_rebuilds_nothing() {
    let first = kmatrix(&["build"]);
    assert!(first.status.success(), "{}", text(&first));
    let second = kmatrix(&["build"]);
    let lines: Vec<String> = String::from_utf8_lossy(&second.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 4, "{}", text(&second));
    assert!(lines.iter().all(|l| l.contains(" cached ")), "{lines:?}");
}

#[test]
fn missing_kernel_source_is_named() {
    let o = kmatrix(&["build", "--kernel-src", "/nonexistent/linux"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("--kernel-src /nonexistent/linux: no such directory"),
        "{}",
        text(&o)
    );
}

#[test]
fn wrong_arch_image_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("Image");
    let mut bytes = vec![0u8; 4096];
    bytes[0x38..0x3c].copy_from_slice(b"ARMd");
    std::fs::write(&img, bytes).unwrap();
    let o = kmatrix(&["run", "--arch", "x86_64", "--kernel", img.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("is an arm64 image, not x86_64"),
        "{}",
        text(&o)
    );
}

#[test]
fn fragment_option_that_does_not_take_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let frag = dir.path().join("bogus.config");
    std::fs::write(&frag, "CONFIG_KMATRIX_NO_SUCH_OPTION=y\nCONFIG_AIO=y\n").unwrap();
    let o = kmatrix(&[
        "build",
        "--arch",
        "x86_64",
        "--config",
        "aio-on",
        "--fragment",
        frag.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("CONFIG_KMATRIX_NO_SUCH_OPTION=y (from bogus.config)"),
        "{t}"
    );
    assert!(
        !t.contains("CONFIG_AIO=y (from"),
        "options that took are not blamed: {t}"
    );
}

#[test]
fn missing_qemu_is_named() {
    let bin = path_without("qemu-system-");
    let o = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args(["run", "--arch", "arm64"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("qemu-system-aarch64 not found in PATH"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("qemu-system-arm"),
        "names the package: {}",
        text(&o)
    );
}

#[test]
fn two_shards_merge_into_the_unsharded_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let base = [
        "run",
        "--arch",
        "arm64",
        "--cpus",
        "1,2",
        "--cases",
        "setup.basic,einval.*",
        "--format",
        "json",
    ];
    let mut reports = Vec::new();
    for (name, shard) in [("all", None), ("s1", Some("1/2")), ("s2", Some("2/2"))] {
        let mut args: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        args.extend(["--out".into(), d(name)]);
        if let Some(s) = shard {
            args.extend(["--shard".into(), s.into()]);
        }
        let o = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
            .args(&args)
            .output()
            .unwrap();
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, &o.stdout).unwrap();
        reports.push(path);
    }
    let merged = kmatrix(&[
        "merge",
        reports[1].to_str().unwrap(),
        reports[2].to_str().unwrap(),
    ]);
    let merged: Value = serde_json::from_slice(&merged.stdout).unwrap();
    let all: Value = serde_json::from_slice(&std::fs::read(&reports[0]).unwrap()).unwrap();
    // Timings and paths differ run to run; cells, statuses and verdicts must not.
    type Essence = Vec<(String, String, Vec<(String, String, String)>)>;
    let essence = |r: &Value| -> Essence {
        r["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let cases = c["cases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| {
                        (
                            k["id"].to_string(),
                            k["verdict"].to_string(),
                            k["observed"].to_string(),
                        )
                    })
                    .collect();
                (
                    c["cell"]["name"].to_string(),
                    c["status"].to_string(),
                    cases,
                )
            })
            .collect()
    };
    assert_eq!(essence(&all).len(), 4);
    let s1: Value = serde_json::from_slice(&std::fs::read(&reports[1]).unwrap()).unwrap();
    assert_eq!(
        s1["cells"].as_array().unwrap().len(),
        2,
        "a shard runs half the cells"
    );
    assert_eq!(essence(&merged), essence(&all));
}

#[test]
fn a_missing_qemu_fails_only_its_cells() {
    let bin = path_without("qemu-system-aarch64");
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args([
            "run",
            "--config",
            "aio-on",
            "--cases",
            "setup.basic",
            "--format",
            "json",
            "--out",
        ])
        .arg(out.path())
        .env("PATH", bin.path())
        .output()
        .unwrap();
    let r: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let cells = r["cells"].as_array().unwrap();
    let arm = cells.iter().find(|c| c["cell"]["arch"] == "arm64").unwrap();
    assert_eq!(arm["status"], "error");
    assert!(
        arm["status_detail"]
            .as_str()
            .unwrap()
            .contains("qemu-system-aarch64 not found"),
        "{arm}"
    );
    let x86 = cells
        .iter()
        .find(|c| c["cell"]["arch"] == "x86_64")
        .unwrap();
    assert_eq!(x86["status"], "ok", "the other arch goes on: {x86}");
    assert_eq!(o.status.code(), Some(1));
}
