//! Layer 2a: the guest binary. guest-init is std-only Rust built with plain
//! rustc as a static executable for the guest arch, linked against the
//! protocol crate (kmatrix-proto, built first as an rlib), cached by the
//! hash of both crates' sources.

use crate::matrix::arch::Arch;
use crate::matrix::Abi;
use crate::util::cache::{self, Key};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tokio::process::Command;

include!(concat!(env!("OUT_DIR"), "/guest_sources.rs"));

/// rustc candidates in order: an explicit override, the one on PATH
/// (rustup), Debian's (which has libstd-rust-dev:arm64 for cross builds).
fn rustc_candidates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("KMATRIX_GUEST_RUSTC") {
        v.push(PathBuf::from(p));
    }
    v.push(PathBuf::from("rustc"));
    v.push(PathBuf::from("/usr/bin/rustc"));
    v
}

/// What one guest binary is built for: an arch's native ABI or its
/// 32-bit compat ABI (the arch's `[compat]` table).
pub struct Target {
    /// For messages and the cache: `x86_64`, `x86_64-i686`.
    pub name: String,
    pub rust_target: String,
    pub linker: String,
    pub std_package: String,
    /// Debian packages of the linker and static libc, named when missing.
    pub cc_package: String,
}

impl Target {
    pub fn of(arch: &Arch, abi: Abi) -> Result<Target> {
        match (abi, &arch.compat) {
            (Abi::Native, _) => Ok(Target {
                name: arch.name.clone(),
                rust_target: arch.rust_target.clone(),
                linker: arch.linker.clone(),
                std_package: arch.std_package.clone(),
                cc_package: arch.cc_package.clone(),
            }),
            (Abi::Compat, Some(c)) => Ok(Target {
                name: format!("{}-{}", arch.name, c.name),
                rust_target: c.rust_target.clone(),
                linker: c.linker.clone(),
                std_package: c.std_package.clone(),
                cc_package: c.cc_package.clone(),
            }),
            (Abi::Compat, None) => bail!("{}: kmatrix has no 32-bit ABI for it", arch.name),
        }
    }
}

/// The first rustc that has a std for the target.
async fn find_rustc(arch: &Target) -> Result<(PathBuf, String)> {
    let target = arch.rust_target.as_str();
    for rc in rustc_candidates() {
        let Ok(out) = Command::new(&rc)
            .args(["--print", "target-libdir", "--target", target])
            .output()
            .await
        else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let has_std = std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
            })
            .unwrap_or(false);
        if has_std {
            let v = Command::new(&rc).arg("--version").output().await?;
            return Ok((rc, String::from_utf8_lossy(&v.stdout).trim().to_string()));
        }
    }
    bail!(
        "no rustc with a std for {target}, which the {} guest needs: apt-get install rustc {} (scripts/setup.sh installs it), `rustup target add {target}`, or set KMATRIX_GUEST_RUSTC",
        arch.name,
        arch.std_package
    )
}

/// Writes `sources` under `dir`.
fn unpack(dir: &Path, sources: &[(&str, &str)]) -> Result<()> {
    for (name, text) in sources {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap())?;
        std::fs::write(&p, text)?;
    }
    Ok(())
}

/// Runs one rustc compile for the guest target; the error carries rustc's output.
async fn compile(
    rustc: &Path,
    arch: &Target,
    what: &str,
    args: &[std::ffi::OsString],
) -> Result<()> {
    let res = Command::new(rustc)
        .args(["--edition", "2021", "-O", "--target", &arch.rust_target])
        .args(["-C", "panic=unwind"])
        .args(args)
        .output()
        .await
        .with_context(|| format!("running {}", rustc.display()))?;
    if !res.status.success() {
        bail!(
            "building {what} for {} with {} failed:\n{}",
            arch.name,
            rustc.display(),
            String::from_utf8_lossy(&res.stderr)
        );
    }
    Ok(())
}

/// Extra rustc arguments for guest-init from KMATRIX_GUEST_RUSTFLAGS
/// (whitespace-separated), e.g. `--cfg kmatrix_iocb_le_order` for a guest
/// that is wrong on purpose; part of the cache key.
fn extra_flags() -> Vec<String> {
    std::env::var("KMATRIX_GUEST_RUSTFLAGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Builds (or reuses) the static guest-init for `arch`; returns its path.
pub async fn build(arch: &Arch) -> Result<PathBuf> {
    build_for(&Target::of(arch, Abi::Native)?).await
}

/// Builds (or reuses) the static guest-init for `target`; returns its path.
pub async fn build_for(arch: &Target) -> Result<PathBuf> {
    let (rustc, version) = find_rustc(arch).await?;
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(&arch.linker).is_file()));
    if !on_path && !Path::new(&arch.linker).is_file() {
        bail!(
            "the {} guest's linker {} is missing: apt-get install {} (scripts/setup.sh installs it)",
            arch.name,
            arch.linker,
            arch.cc_package
        );
    }
    let extra = extra_flags();
    let mut key = Key::new("guest-v2");
    key.add("rustc", version.as_bytes())
        .add("target", arch.rust_target.as_bytes());
    key.add("linker", arch.linker.as_bytes());
    if !extra.is_empty() {
        key.add("flags", extra.join(" ").as_bytes());
    }
    for (name, text) in GUEST_SOURCES {
        key.add(name, text.as_bytes());
    }
    for (name, text) in PROTO_SOURCES {
        key.add(&format!("proto/{name}"), text.as_bytes());
    }
    let dir = cache::root()
        .join("guest")
        .join(format!("{}-{}", arch.name, key.hex()));
    let bin = dir.join("init");
    // Only a sealed, unchanged binary is reused; anything else is rebuilt.
    if cache::check_seal(&bin).is_ok() {
        return Ok(bin);
    }
    let work = tempfile::tempdir()?;
    let (guest_src, proto_src) = (work.path().join("guest"), work.path().join("proto"));
    unpack(&guest_src, GUEST_SOURCES)?;
    unpack(&proto_src, PROTO_SOURCES)?;
    // rustc only takes --extern files named lib*.rlib.
    let rlib = work.path().join("libkmatrix_proto.rlib");
    let os = |s: &str| std::ffi::OsString::from(s);
    compile(
        &rustc,
        arch,
        "kmatrix-proto",
        &[
            os("--crate-type"),
            os("rlib"),
            os("--crate-name"),
            os("kmatrix_proto"),
            proto_src.join("lib.rs").into(),
            os("-o"),
            rlib.clone().into(),
        ],
    )
    .await?;
    let out = work.path().join("init");
    let mut extern_arg = os("kmatrix_proto=");
    extern_arg.push(&rlib);
    let mut args: Vec<std::ffi::OsString> = extra.iter().map(|f| os(f)).collect();
    args.extend([
        os("--crate-name"),
        os("guest_init"),
        os("--extern"),
        extern_arg,
        os(&format!("-Clinker={}", arch.linker)),
        os("-C"),
        os("target-feature=+crt-static"),
        os("-C"),
        os("strip=symbols"),
        guest_src.join("main.rs").into(),
        os("-o"),
        out.clone().into(),
    ]);
    compile(&rustc, arch, "guest-init", &args).await?;
    std::fs::create_dir_all(&dir)?;
    install(&out, &bin)?;
    cache::seal(&bin)?;
    Ok(bin)
}

/// Copy then rename, so a concurrent reader never sees half a file.
fn install(from: &Path, to: &Path) -> Result<()> {
    let tmp = to.with_extension("partial");
    std::fs::copy(from, &tmp).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, to)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sources_are_embedded() {
        assert!(super::GUEST_SOURCES
            .iter()
            .any(|(n, t)| *n == "main.rs" && t.contains("fn main")));
        assert!(super::PROTO_SOURCES
            .iter()
            .any(|(n, t)| *n == "lib.rs" && t.contains("PROTOCOL_VERSION")));
    }
}

#[cfg(test)]
mod build_tests {
    /// Plain rustc builds the guest against the protocol rlib for every
    /// arch (arm64 with Debian's rustc 1.63); cached after the first run.
    #[tokio::test]
    async fn guest_builds_with_the_protocol_crate() {
        for arch in crate::matrix::arch::all() {
            let bin = super::build(&arch)
                .await
                .unwrap_or_else(|e| panic!("{}: {e:#}", arch.name));
            assert!(bin.exists());
        }
    }
}
