//! Layer 2b: image assembly. A newc cpio holding the static guest-init as
//! /init, the mount points it needs and /dev/console (the kernel opens it
//! for init's stdio before devtmpfs is mounted); for compat cells also the
//! 32-bit build of guest-init as /init32 (kmatrix_proto::args::COMPAT_PROBE),
//! which /init execs to probe.

use crate::util::cache::{self, Key};
use anyhow::{Context, Result};
use cpio::newc::{Builder, ModeFileType};
use std::io::Write;
use std::path::{Path, PathBuf};

const DIRS: &[&str] = &["dev", "proc", "sys", "mnt", "tmp"];

/// Writes the cpio for `init` and, for compat cells, the 32-bit probe
/// `init32` (cached by the binaries' content).
pub fn assemble(init: &Path, init32: Option<&Path>) -> Result<PathBuf> {
    let read =
        |p: &Path| std::fs::read(p).with_context(|| format!("reading guest-init {}", p.display()));
    let bin = read(init)?;
    let bin32 = init32.map(read).transpose()?;
    let mut key = Key::new("initramfs-v1");
    key.add("init", &bin);
    if let Some(b) = &bin32 {
        key.add("init32", b);
    }
    let key = key.hex();
    let out = cache::root().join("initramfs").join(format!("{key}.cpio"));
    // Only a sealed, unchanged image is reused; anything else is rewritten.
    if cache::check_seal(&out).is_ok() {
        return Ok(out);
    }
    std::fs::create_dir_all(out.parent().unwrap())?;
    let tmp = tempfile::NamedTempFile::new_in(out.parent().unwrap())?;
    write_cpio(&bin, bin32.as_deref(), tmp.as_file())
        .with_context(|| format!("writing {}", out.display()))?;
    tmp.persist(&out)?;
    cache::seal(&out)?;
    Ok(out)
}

pub fn write_cpio(init: &[u8], init32: Option<&[u8]>, mut w: impl Write) -> Result<()> {
    let mut ino = 1;
    let mut next = || {
        ino += 1;
        ino
    };
    for d in DIRS {
        let e = Builder::new(d)
            .ino(next())
            .nlink(2)
            .mode(0o755)
            .set_mode_file_type(ModeFileType::Directory);
        w = e.write(w, 0).finish()?;
    }
    // char 5:1 is /dev/console
    let console = Builder::new("dev/console")
        .ino(next())
        .nlink(1)
        .mode(0o600)
        .set_mode_file_type(ModeFileType::Char)
        .rdev_major(5)
        .rdev_minor(1);
    w = console.write(w, 0).finish()?;
    let compat = kmatrix_proto::args::COMPAT_PROBE.trim_start_matches('/');
    for (name, bin) in [("init", Some(init)), (compat, init32)] {
        let Some(bin) = bin else { continue };
        let e = Builder::new(name)
            .ino(next())
            .nlink(1)
            .mode(0o755)
            .set_mode_file_type(ModeFileType::Regular);
        let mut fw = e.write(w, bin.len() as u32);
        fw.write_all(bin)?;
        w = fw.finish()?;
    }
    cpio::newc::trailer(w)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_holds_init_console_and_dirs() {
        let mut buf = Vec::new();
        write_cpio(b"\x7fELF-fake", Some(b"\x7fELF-32"), &mut buf).unwrap();
        let mut names = Vec::new();
        let mut r = std::io::Cursor::new(buf);
        loop {
            let rd = cpio::newc::Reader::new(r).unwrap();
            if rd.entry().is_trailer() {
                break;
            }
            let e = rd.entry();
            names.push((
                e.name().to_string(),
                e.mode(),
                e.rdev_major(),
                e.file_size(),
            ));
            r = rd.finish().unwrap();
        }
        assert!(names
            .iter()
            .any(|n| n.0 == "init" && n.1 & 0o777 == 0o755 && n.3 == 9));
        assert!(names
            .iter()
            .any(|n| n.0 == "init32" && n.1 & 0o777 == 0o755 && n.3 == 7));
        assert!(names
            .iter()
            .any(|n| n.0 == "dev/console" && n.2 == 5 && n.1 & 0o170000 == 0o020000));
        assert!(names.iter().any(|n| n.0 == "proc"));
    }
}
