//! Accelerator choice. /dev/kvm existing proves little (on some hosts QEMU
//! aborts with -cpu host or hangs), so KVM is probed by booting the real
//! kernel with guest-init in ping mode; TCG is the fallback. The answer is
//! cached per host boot and QEMU build.

use crate::matrix::arch::Arch;
use crate::util::cache::{self, Key};
use crate::vm::{self, Accel, Exit, VmSpec};
use anyhow::Result;
use kmatrix_proto::args::{GuestArgs, Mode};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Auto,
    Kvm,
    Tcg,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    pub accel: Accel,
    pub reason: String,
}

pub async fn decide(choice: Choice, arch: &Arch, kernel: &Path, initrd: &Path) -> Result<Decision> {
    match choice {
        Choice::Tcg => {
            return Ok(Decision {
                accel: Accel::Tcg,
                reason: "--accel tcg".into(),
            })
        }
        Choice::Kvm => {
            return Ok(Decision {
                accel: Accel::Kvm,
                reason: "--accel kvm (not probed)".into(),
            })
        }
        Choice::Auto => {}
    }
    if !arch.kvm_possible() {
        let why = if std::env::consts::ARCH != arch.kvm_host_arch {
            format!(
                "TCG: a {} guest cannot use KVM on a {} host",
                arch.name,
                std::env::consts::ARCH
            )
        } else {
            "TCG: /dev/kvm is absent".to_string()
        };
        return Ok(Decision {
            accel: Accel::Tcg,
            reason: why,
        });
    }
    if let Some(d) = kvm_denied() {
        return Ok(d);
    }
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let qemu_v = crate::build::kbuild::tool_version(&arch.qemu)
        .await
        .unwrap_or_default();
    let key = Key::new("accel-v1")
        .add("boot", boot_id.as_bytes())
        .add("qemu", qemu_v.as_bytes())
        .add("arch", arch.name.as_bytes())
        .hex();
    let path = cache::root()
        .join("accel")
        .join(format!("{}-{key}.json", arch.name));
    if let Ok(d) = std::fs::read(&path)
        .map_err(anyhow::Error::from)
        .and_then(|b| Ok(serde_json::from_slice::<Decision>(&b)?))
    {
        return Ok(d);
    }
    let d = probe_kvm(arch, kernel, initrd).await?;
    std::fs::create_dir_all(path.parent().unwrap())?;
    std::fs::write(&path, serde_json::to_vec(&d)?)?;
    Ok(d)
}

/// /dev/kvm is there but this user may not open it: TCG, and say which
/// group would give access (once per run).
fn kvm_denied() -> Option<Decision> {
    let kvm = std::ffi::CString::new("/dev/kvm").ok()?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::access(kvm.as_ptr(), libc::R_OK | libc::W_OK) } == 0 {
        return None;
    }
    let group =
        crate::util::notice::group_of(Path::new("/dev/kvm")).unwrap_or_else(|| "kvm".into());
    let reason = format!(
        "TCG: no access to /dev/kvm; to use KVM, add yourself to group {group} (sudo usermod -aG {group} $USER, then log in again)"
    );
    crate::util::notice::once("kvm-access", &reason);
    Some(Decision {
        accel: Accel::Tcg,
        reason,
    })
}

async fn probe_kvm(arch: &Arch, kernel: &Path, initrd: &Path) -> Result<Decision> {
    let dir = tempfile::Builder::new()
        .prefix("kmatrix-kvm-probe-")
        .tempdir()?;
    let spec = VmSpec {
        arch: arch.clone(),
        kernel: kernel.into(),
        initrd: initrd.into(),
        cmdline: GuestArgs {
            mode: Mode::Ping,
            ..GuestArgs::default()
        }
        .to_words(),
        cpus: 1,
        max_cpus: None,
        mem_mb: 256,
        accel: Accel::Kvm,
        // A KVM boot of these kernels takes well under a second; TCG is the
        // better bet for a guest that has not finished in 10 s.
        timeout: Duration::from_secs(10),
        out_dir: dir.path().to_path_buf(),
        shares: vec![],
    };
    let out = vm::launch(&spec).await?;
    let s = crate::stream::read_file(&out.results)?;
    let pinged = s.completeness() == crate::stream::Completeness::Complete
        && s.hello
            .as_ref()
            .is_some_and(|h| h.mode == Mode::Ping.as_str());
    Ok(match (&out.exit, pinged) {
        (Exit::PoweredOff, true) => Decision {
            accel: Accel::Kvm,
            reason: format!("KVM: probe guest booted and answered in {} ms", out.run_ms),
        },
        (Exit::QemuFailed { stderr, .. }, _) => Decision {
            accel: Accel::Tcg,
            reason: format!(
                "TCG: KVM probe failed: QEMU {}",
                stderr.lines().last().unwrap_or("exited with an error")
            ),
        },
        (Exit::TimedOut { .. }, _) => Decision {
            accel: Accel::Tcg,
            reason: "TCG: KVM probe guest hung for 10 s".into(),
        },
        (e, _) => Decision {
            accel: Accel::Tcg,
            reason: format!("TCG: KVM probe guest did not answer ({e:?})"),
        },
    })
}
