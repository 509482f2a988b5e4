//! s390x, the big-endian arch: real s390x kernels booted under TCG. The
//! boots are not in the default `make test` (a cold run builds two s390x
//! kernels, ~10 min on 2 cores): `make test-s390x`, or `cargo test --test
//! s390x -- --ignored`. The check of what the host lacks runs always.

mod common;
use common::*;

use serde_json::Value;
use std::process::Command;

fn run_json(args: &[&str], env: &[(&str, &str)]) -> (Value, std::process::Output) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kmatrix"));
    c.args(args).args(["--format", "json"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("kmatrix runs");
    let r = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("report is JSON ({e}): {}", text(&o)));
    (r, o)
}

#[test]
#[ignore = "boots s390x (cold: two s390x kernel builds); make test-s390x"]
fn s390x_cells_boot_and_judge_every_case() {
    let out = tempfile::tempdir().unwrap();
    let (r, o) = run_json(
        &[
            "run",
            "--arch",
            "s390x",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    );
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "{}", text(&o));
    for c in cells {
        let name = c["cell"]["name"].as_str().unwrap();
        assert_eq!(
            c["status"], "ok",
            "{name}: {} {}",
            c["status_detail"], c["console_excerpt"]
        );
        assert_eq!(c["stream"], "complete", "{name}");
        assert_eq!(c["hello"]["arch"], "s390x", "{name}");
        for k in c["cases"].as_array().unwrap() {
            assert_ne!(k["verdict"], "error", "{name}: {k}");
            assert_ne!(k["verdict"], "fail", "{name}: {k}");
            if k["verdict"] == "skip" {
                assert!(
                    !k["observed"].as_str().unwrap_or("").is_empty()
                        || !k["detail"].as_str().unwrap_or("").is_empty(),
                    "{name}: a skip says why: {k}"
                );
            }
        }
        if c["cell"]["config"] == "aio-off" {
            // The map names s390x's own numbers (arch/s390/kernel/syscalls/syscall.tbl).
            let k = case(c, "io_setup.constraint.CONFIG_AIO");
            assert!(k["observed"].as_str().unwrap().contains("nr 243 "), "{k}");
            let k = case(c, "io_pgetevents.constraint.CONFIG_AIO");
            assert!(k["observed"].as_str().unwrap().contains("nr 382 "), "{k}");
        } else {
            for id in [
                "io_submit.return.success/rw",
                "io_submit.side-effect.aio_key",
                "io_submit.side-effect.completion-ring",
                "return.success",
            ] {
                assert_eq!(case(c, id)["verdict"], "pass", "{name}: {id}");
            }
        }
    }
    assert!(o.status.success(), "{}", text(&o));
}

/// A guest whose iocb has aio_key and aio_rw_flags in little-endian order
/// everywhere: right on x86_64, wrong on s390x, where the kernel reads our
/// aio_key as aio_rw_flags and writes KIOCB_KEY into our rw_flags. The
/// host must catch it there (naming the field) and pass it on x86_64.
#[test]
#[ignore = "boots s390x (cold: an s390x kernel build); make test-s390x"]
fn iocb_in_little_endian_order_fails_on_s390x_and_passes_on_x86_64() {
    let out = tempfile::tempdir().unwrap();
    let (r, o) = run_json(
        &[
            "run",
            "--arch",
            "s390x,x86_64",
            "--config",
            "aio-on",
            "--cases",
            "io_submit.rw",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[("KMATRIX_GUEST_RUSTFLAGS", "--cfg kmatrix_iocb_le_order")],
    );
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "{}", text(&o));
    for c in cells {
        let name = c["cell"]["name"].as_str().unwrap();
        assert_eq!(c["status"], "ok", "{name}: {}", c["status_detail"]);
        let key = case(c, "io_submit.side-effect.aio_key");
        let rw = case(c, "io_submit.return.success/rw");
        if c["cell"]["arch"] == "s390x" {
            assert_eq!(key["verdict"], "fail", "{name}: {key}");
            assert!(
                key["observed"].as_str().unwrap().contains("aio_key 0x5a5a"),
                "{name}: the evidence names the field: {key}"
            );
            assert_eq!(rw["verdict"], "fail", "{name}: {rw}");
        } else {
            assert_eq!(key["verdict"], "pass", "{name}: {key}");
            assert_eq!(rw["verdict"], "pass", "{name}: {rw}");
        }
    }
    assert_eq!(o.status.code(), Some(1), "a FAIL fails the run");
}

/// How an s390x cell ends when the kernel panics: the disabled-wait PSW is
/// QMP GUEST_PANICKED on this machine, without any panic device.
#[test]
#[ignore = "boots s390x (cold: an s390x kernel build); make test-s390x"]
fn s390x_panic_is_named() {
    let out = tempfile::tempdir().unwrap();
    let (r, o) = run_json(
        &[
            "run",
            "--arch",
            "s390x",
            "--config",
            "aio-on",
            "--append",
            "kmatrix.drill=panic",
            "--timeout",
            "60",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    );
    let c = &r["cells"][0];
    assert_eq!(c["status"], "panic", "{}", text(&o));
    assert!(
        c["status_detail"]
            .as_str()
            .unwrap()
            .contains("GUEST_PANICKED"),
        "{c}"
    );
    assert_eq!(o.status.code(), Some(1));
}

/// What s390x needs on the host is named, with its package, before anything
/// is built or booted (no boot: these run in `make test`).
#[test]
fn missing_s390x_qemu_and_compiler_are_named_with_their_packages() {
    let bin = path_without("qemu-system-s390x");
    let o = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args(["run", "--arch", "s390x"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("qemu-system-s390x not found in PATH"), "{t}");
    assert!(t.contains("qemu-system-misc"), "names the package: {t}");

    let bin = path_without("s390x-linux-gnu-");
    let o = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args(["build", "--arch", "s390x", "--config", "aio-on"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("s390x-linux-gnu-gcc"), "{t}");
    assert!(t.contains("gcc-s390x-linux-gnu"), "names the package: {t}");
}
