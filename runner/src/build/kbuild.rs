//! Layer 1: kernel build. tinyconfig + kmatrix fragments + olddefconfig,
//! verified, built out of tree in the cache and keyed by everything that
//! went in, so a second run costs one stat.

use crate::matrix::arch::Arch;
use crate::matrix::kconfig::parse_config;
use crate::util::cache::{self, Key};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tokio::process::Command;

pub mod premerge;
mod staging;

pub const DEFAULT_TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";
pub const DEFAULT_VERSION: &str = "6.1";

/// Debian's linux-source-VERSION tarball: /usr/src if the package is
/// installed, else fetched with `apt-get download` (apt checks the .deb
/// against the archive's signed hashes) and unpacked into the cache.
pub async fn debian_source(version: &str) -> Result<PathBuf> {
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        bail!("--kernel-version {version}: expected a Debian linux-source version such as 6.1 or 6.12");
    }
    let name = format!("linux-source-{version}");
    let installed = PathBuf::from(format!("/usr/src/{name}.tar.xz"));
    if installed.exists() {
        return Ok(installed);
    }
    let dir = cache::root().join("debian").join(&name);
    let tar = dir.join(format!("{name}.tar.xz"));
    if tar.exists() {
        return Ok(tar);
    }
    std::fs::create_dir_all(&dir)?;
    let _lock = lock(&dir.join("lock")).await?;
    if tar.exists() {
        return Ok(tar);
    }
    let out = Command::new("apt-get")
        .args(["download", &name])
        .current_dir(&dir)
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "apt-get download {name} failed (is it in your apt sources? run apt-get update): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let deb = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .context("apt-get download left no .deb")?;
    let x = dir.join("x");
    let st = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&x)
        .status()
        .await?;
    let inner = x.join(format!("usr/src/{name}.tar.xz"));
    if !st.success() || !inner.exists() {
        bail!("{} does not hold usr/src/{name}.tar.xz", deb.display());
    }
    std::fs::rename(&inner, &tar)?;
    let _ = std::fs::remove_dir_all(&x);
    let _ = std::fs::remove_file(&deb);
    Ok(tar)
}

/// sha256 of a source tarball, computed once per (path, size, mtime).
fn tarball_sha256(tar: &Path, key: &str) -> Result<String> {
    use sha2::{Digest, Sha256};
    let memo = cache::root().join("src").join(format!("{key}.sha256"));
    if let Ok(h) = std::fs::read_to_string(&memo) {
        return Ok(h.trim().to_string());
    }
    let mut f = std::fs::File::open(tar)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    let hex = hex::encode(h.finalize());
    std::fs::write(&memo, &hex)?;
    Ok(hex)
}

/// A config fragment: a name for messages and its text.
#[derive(Debug, Clone)]
pub struct Fragment {
    pub name: String,
    pub text: String,
    /// Only flips options kbuild rebuilds incrementally (the compat ABI,
    /// 32-bit time): kernels that differ by such fragments share one
    /// staging place, so the second is an incremental make (staging.rs).
    pub shares_staging: bool,
}

/// The kernel configs kmatrix knows by name (kernels/*.config).
pub fn builtin_fragment(name: &str) -> Result<Fragment> {
    let text = match name {
        "base" => include_str!("../../../kernels/base.config"),
        "aio-on" => include_str!("../../../kernels/aio-on.config"),
        "aio-off" => include_str!("../../../kernels/aio-off.config"),
        // The debug variant's checks (matrix::Variant::Debug).
        "debug" => include_str!("../../../kernels/debug.config"),
        // Compat kernels' 32-bit time entry points (matrix::Compat).
        "time32-on" => include_str!("../../../kernels/time32-on.config"),
        "time32-off" => include_str!("../../../kernels/time32-off.config"),
        // Machine fragments (kernels/machine/), named by a machine profile.
        "q35" => include_str!("../../../kernels/machine/q35.config"),
        "virt-pci" => include_str!("../../../kernels/machine/virt-pci.config"),
        other => bail!("unknown kernel config '{other}' (known: aio-on, aio-off)"),
    };
    Ok(Fragment {
        name: format!("{name}.config"),
        text: text.to_string(),
        shares_staging: name.starts_with("time32-"),
    })
}

#[derive(Debug, Clone)]
pub enum Source {
    /// A Debian linux-source tarball, unpacked once into the cache.
    Tarball(PathBuf),
    /// Debian's linux-source-VERSION, fetched if not installed.
    Debian(String),
    /// A user's kernel tree (pre-merge testing); built out of tree.
    Tree(PathBuf),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Built {
    pub image: PathBuf,
    pub config: PathBuf,
    pub key: String,
    pub source: String,
    pub version: String,
    /// sha256 of the source tarball (empty for trees).
    #[serde(default)]
    pub source_sha256: String,
    /// true when this run built nothing
    #[serde(skip)]
    pub cached: bool,
    /// sha256 of the entry's image and config, checked before every reuse.
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
}

/// Every option the fragments ask for that the final .config does not have,
/// as "CONFIG_X=y (fragment.config) but .config has: not set". As in
/// merge_config.sh, a later fragment overrides an earlier one (a machine
/// fragment turns PCI back on), so only the last word on each option counts.
pub fn unmet_options(fragments: &[Fragment], final_config: &str) -> Vec<String> {
    let have = parse_config(final_config);
    let mut want: BTreeMap<String, (String, &str)> = BTreeMap::new();
    for f in fragments {
        for (k, v) in parse_config(&f.text) {
            want.insert(k, (v, &f.name));
        }
    }
    let mut bad = Vec::new();
    for (k, (want, from)) in want {
        let got = have.get(&k).map(String::as_str).unwrap_or("n");
        if got != want {
            let shown = if got == "n" {
                "not set".to_string()
            } else {
                got.to_string()
            };
            bad.push(format!(
                "{k}={want} (from {from}) but the kernel config has {shown}"
            ));
        }
    }
    bad
}

/// Wall time of a build phase against its floor: the CPU time its
/// children used (user + sys) spread over the cores it had.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub cores: usize,
}

impl Timing {
    pub fn floor_s(&self) -> f64 {
        self.cpu_s / self.cores.max(1) as f64
    }
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.cpu_s < 0.5 {
            return write!(f, "build: {:.1} s wall, nothing compiled", self.wall_s);
        }
        write!(
            f,
            "build: {:.1} s wall; floor {:.1} s (CPU {:.1} s user+sys / {} cores); wall/floor {:.2}",
            self.wall_s,
            self.floor_s(),
            self.cpu_s,
            self.cores,
            self.wall_s / self.floor_s()
        )
    }
}

/// Starts measuring a build phase (see `Timing`).
pub struct Timer {
    t0: std::time::Instant,
    cpu0: f64,
    cores: usize,
}

impl Timer {
    pub fn start(cores: usize) -> Timer {
        Timer {
            t0: std::time::Instant::now(),
            cpu0: crate::util::jobserver::children_cpu_secs(),
            cores,
        }
    }
    pub fn stop(&self) -> Timing {
        Timing {
            wall_s: self.t0.elapsed().as_secs_f64(),
            cpu_s: crate::util::jobserver::children_cpu_secs() - self.cpu0,
            cores: self.cores,
        }
    }
}

/// The step a build reports when it really starts (not a cache hit).
pub const STARTED: &str = "build started";

pub struct Builder<'a> {
    pub arch: &'a Arch,
    pub source: &'a Source,
    pub fragments: Vec<Fragment>,
    pub jobs: usize,
    /// Called with a short step name ("tinyconfig", "make bzImage", ...).
    pub on_step: &'a (dyn Fn(&str) + Sync),
}

impl Builder<'_> {
    pub async fn build(&self) -> Result<Built> {
        let (src_dir, src_identity, pinned, src_sha, to_unpack) =
            prepare_source(self.source, self.on_step).await?;
        let cc = format!("{}gcc", self.arch.cross_compile);
        let cc_version = tool_version(&cc).await.with_context(|| {
            format!(
                "compiler {cc} for {} kernels is missing: apt-get install {} (scripts/setup.sh installs it)",
                self.arch.name, self.arch.cc_package
            )
        })?;

        let mut key = Key::new("kernel-v1");
        key.add("source", src_identity.as_bytes())
            .add("arch", self.arch.name.as_bytes());
        key.add("cc", cc_version.as_bytes());
        for f in &self.fragments {
            key.add(&f.name, f.text.as_bytes());
        }
        let key = key.hex();
        let names: Vec<_> = self
            .fragments
            .iter()
            .map(|f| f.name.trim_end_matches(".config"))
            .collect();
        let entry = cache::root().join("kernels").join(format!(
            "{}-{}-{key}",
            self.arch.name,
            names.join("+")
        ));
        let meta_path = entry.join("kmatrix-built.json");

        // A pinned source (tarball, clean git tree) with a finished entry is a hit.
        if pinned {
            if let Ok(b) = finished_entry(&meta_path, &src_sha) {
                return Ok(b);
            }
        }

        std::fs::create_dir_all(&entry)?;
        // Two kmatrix processes (or tests) building the same entry take turns;
        // the second then finds the finished entry.
        let _lock = lock(&entry.join("lock")).await?;
        if pinned {
            match finished_entry(&meta_path, &src_sha) {
                Ok(b) => return Ok(b),
                // A damaged entry is rebuilt, and says why.
                Err(why) if meta_path.exists() => {
                    (self.on_step)(&format!("rebuilding: {why}"));
                    eprintln!(
                        "kmatrix: cache entry {}: {why}; rebuilding",
                        entry.display()
                    );
                }
                Err(_) => {}
            }
        }
        // Unfinished from here on until the seal is written again.
        for p in [seal_of(&meta_path), meta_path.clone()] {
            let _ = std::fs::remove_file(p);
        }
        if let Some(tar) = &to_unpack {
            unpack(tar, &src_dir, self.on_step).await?;
        }
        (self.on_step)(STARTED);
        let log_path = entry.join("build.log");
        let log = Log::create(&log_path)?;
        // Built in this config's staging place when it is free, so a tree a
        // few lines off the last one built there is an incremental make
        // (kbuild/staging.rs); else in the entry's own build dir.
        let staged = self.stage(&src_dir, &cc_version, &log).await?;
        let (src_dir, out) = match &staged {
            Some(s) => (s.src(), s.build()),
            None => (src_dir, entry.join("build")),
        };
        std::fs::create_dir_all(&out)?;
        let make = |target: &str| {
            let mut c = Command::new("make");
            c.arg("-C")
                .arg(&src_dir)
                .arg(format!("O={}", out.display()));
            c.arg(format!("ARCH={}", self.arch.kernel_arch));
            if !self.arch.cross_compile.is_empty() {
                c.arg(format!("CROSS_COMPILE={}", self.arch.cross_compile));
            }
            c.arg(target);
            c
        };

        (self.on_step)("tinyconfig");
        log.run(make("tinyconfig"), "make tinyconfig").await?;

        (self.on_step)("merge fragments");
        let frag_dir = entry.join("fragments");
        std::fs::create_dir_all(&frag_dir)?;
        let mut merge = Command::new("sh");
        merge.arg(src_dir.join("scripts/kconfig/merge_config.sh"));
        merge.arg("-m").arg("-O").arg(&out).arg(out.join(".config"));
        for f in &self.fragments {
            let p = frag_dir.join(&f.name);
            std::fs::write(&p, &f.text)?;
            merge.arg(p);
        }
        merge.current_dir(&src_dir);
        log.run(merge, "merge_config.sh").await?;

        (self.on_step)("olddefconfig");
        log.run(make("olddefconfig"), "make olddefconfig").await?;
        let final_config = std::fs::read_to_string(out.join(".config"))?;
        let unmet = unmet_options(&self.fragments, &final_config);
        if !unmet.is_empty() {
            bail!(
                "{} kernel config: {} option(s) did not take (a dependency is missing or the option does not exist in this tree):\n  {}",
                self.arch.name,
                unmet.len(),
                unmet.join("\n  ")
            );
        }

        (self.on_step)(&format!("make {}", self.arch.image_target));
        let mut m = make(&self.arch.image_target);
        // Every build of this process draws from one jobserver, so builds
        // run side by side without oversubscribing and the last one left
        // gets every core.
        crate::util::jobserver::shared(self.jobs).join(&mut m);
        log.run(m, &format!("make {}", self.arch.image_target))
            .await?;

        let image = entry.join(Path::new(&self.arch.image_path).file_name().unwrap());
        let built_image = out.join(&self.arch.image_path);
        let bytes = std::fs::read(&built_image)
            .with_context(|| format!("reading {}", built_image.display()))?;
        cache::write_atomic(&image, &bytes)?;
        self.arch.check_image(&image)?;
        let config = entry.join("config");
        cache::write_atomic(&config, final_config.as_bytes())?;
        let mut checksums = BTreeMap::new();
        for p in [&image, &config] {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            checksums.insert(name, cache::sha256_file(p)?);
        }
        let version = std::fs::read_to_string(out.join("include/config/kernel.release"))
            .unwrap_or_default()
            .trim()
            .to_string();
        let built = Built {
            image,
            config,
            key,
            source: src_identity,
            version,
            source_sha256: src_sha,
            cached: false,
            checksums,
        };
        // Written last, then sealed: a sealed meta whose checksums match
        // means the entry is complete and unchanged.
        cache::write_atomic(&meta_path, &serde_json::to_vec_pretty(&built)?)?;
        cache::seal(&meta_path)?;
        Ok(built)
    }
}

impl Builder<'_> {
    /// Takes this config's staging place and syncs `src` into it; None
    /// (build in the entry) while another build holds it.
    async fn stage(
        &self,
        src: &Path,
        cc_version: &str,
        log: &Log,
    ) -> Result<Option<staging::Staging>> {
        use std::io::Write;
        let Some(s) = staging::Staging::try_take(
            &cache::root(),
            &self.arch.name,
            cc_version,
            &self.fragments,
            src,
        )?
        else {
            writeln!(&log.file, "### staging place busy: building in the entry")?;
            return Ok(None);
        };
        (self.on_step)("syncing source into staging");
        let t = std::time::Instant::now();
        let synced = s.sync(src).await?;
        writeln!(
            &log.file,
            "### staged {} in {} ({:.1} s): {}",
            src.display(),
            s.src().display(),
            t.elapsed().as_secs_f64(),
            if synced.fresh {
                "new staging place".to_string()
            } else {
                format!(
                    "{} file(s) written, {} deleted",
                    synced.written, synced.deleted
                )
            }
        )?;
        Ok(Some(s))
    }
}

fn seal_of(p: &Path) -> PathBuf {
    PathBuf::from(format!("{}.sha256", p.display()))
}

/// The build recorded in a cache entry if it finished and its meta, image
/// and config are exactly what was written; else why not.
fn finished_entry(meta_path: &Path, src_sha: &str) -> Result<Built, String> {
    cache::check_seal(meta_path)?;
    let text = std::fs::read(meta_path).map_err(|e| format!("{}: {e}", meta_path.display()))?;
    let mut b: Built =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", meta_path.display()))?;
    // Files are found beside the meta (the entry may have been moved).
    let dir = meta_path.parent().unwrap_or(Path::new("."));
    for name in ["image", "config"] {
        let recorded = if name == "image" { &b.image } else { &b.config };
        let file = recorded
            .file_name()
            .ok_or_else(|| format!("{}: no {name} recorded", meta_path.display()))?;
        let p = dir.join(file);
        let want = b
            .checksums
            .get(&file.to_string_lossy().into_owned())
            .ok_or_else(|| format!("{}: no checksum for {}", meta_path.display(), p.display()))?;
        let got = cache::sha256_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        if &got != want {
            return Err(format!(
                "{}: checksum mismatch (truncated or changed after it was written)",
                p.display()
            ));
        }
        if name == "image" {
            b.image = p;
        } else {
            b.config = p;
        }
    }
    b.cached = true;
    b.source_sha256 = src_sha.to_string();
    Ok(b)
}

/// The source's tree, identity, whether it is pinned, its tarball's sha256,
/// and the tarball still to unpack into the tree (on a cache miss).
type Prepared = (PathBuf, String, bool, String, Option<PathBuf>);

/// `pinned` means the identity fully describes the tree, so a finished
/// cache entry can be reused without make.
async fn prepare_source(src: &Source, on_step: &(dyn Fn(&str) + Sync)) -> Result<Prepared> {
    let fetched;
    let src = match src {
        Source::Debian(v) => {
            on_step(&format!("fetching linux-source-{v}"));
            fetched = Source::Tarball(debian_source(v).await?);
            &fetched
        }
        other => other,
    };
    match src {
        Source::Debian(_) => unreachable!("resolved above"),
        Source::Tarball(tar) => {
            let md = std::fs::metadata(tar).with_context(|| {
                format!("kernel source {} is missing (apt-get install linux-source-6.1, or pass --kernel-src DIR)", tar.display())
            })?;
            let mtime = md
                .modified()?
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs();
            let id = format!("tarball:{}:{}:{}", tar.display(), md.len(), mtime);
            let key = Key::new("src").add("id", id.as_bytes()).hex();
            let dest = cache::root().join("src").join(&key);
            let stem = tar
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace(".tar.xz", "");
            let tree = dest.join(&stem);
            std::fs::create_dir_all(cache::root().join("src"))?;
            let sha = tarball_sha256(tar, &key)?;
            // Unpacked only on a cache miss (see `unpack`): a hit needs none of it.
            Ok((tree, id, true, sha, Some(tar.clone())))
        }
        Source::Tree(dir) => {
            check_tree(dir)?;
            let dir = dir.canonicalize()?;
            // A clean git tree is pinned by its HEAD; anything else is rebuilt
            // incrementally by make (cheap when nothing changed).
            let head = git(&dir, &["rev-parse", "HEAD"]).await;
            let dirty = git(&dir, &["status", "--porcelain", "--untracked-files=no"]).await;
            match (head, dirty) {
                (Some(h), Some(d)) if d.trim().is_empty() => Ok((
                    dir.clone(),
                    format!("git:{}@{}", dir.display(), h.trim()),
                    true,
                    String::new(),
                    None,
                )),
                _ => Ok((
                    dir.clone(),
                    format!("tree:{}", dir.display()),
                    false,
                    String::new(),
                    None,
                )),
            }
        }
    }
}

/// Unpacks `tar` into `tree` (once; a second process waits for the first).
async fn unpack(tar: &Path, tree: &Path, on_step: &(dyn Fn(&str) + Sync)) -> Result<()> {
    let dest = tree.parent().context("source tree has no parent")?;
    let key = dest.file_name().unwrap_or_default().to_string_lossy();
    let stem = tree.file_name().unwrap_or_default().to_string_lossy();
    let _lock = lock(&cache::root().join("src").join(format!("{key}.lock"))).await?;
    if !tree.join("Makefile").exists() {
        on_step("unpacking source");
        let tmp = cache::root().join("src").join(format!("{key}.partial"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)?;
        let st = Command::new("tar")
            .arg("-xf")
            .arg(tar)
            .arg("-C")
            .arg(&tmp)
            .status()
            .await?;
        if !st.success() {
            bail!("unpacking {} failed ({st})", tar.display());
        }
        let _ = std::fs::remove_dir_all(dest);
        std::fs::rename(&tmp, dest)?;
        if !tree.join("Makefile").exists() {
            bail!(
                "{} does not unpack to {stem}/ with a kernel Makefile",
                tar.display()
            );
        }
    }
    Ok(())
}

/// An exclusive flock held until the returned file is dropped.
async fn lock(path: &Path) -> Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let f = tokio::task::spawn_blocking(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a file descriptor we own.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if r == 0 {
            Ok(f)
        } else {
            Err(std::io::Error::last_os_error())
        }
    })
    .await??;
    Ok(f)
}

/// Objects a build compiled: kbuild's `  CC` lines in the entry's build
/// log (0 for a cached kernel, which compiled nothing).
pub fn objects_compiled(b: &Built) -> usize {
    if b.cached {
        return 0;
    }
    let log = b.image.with_file_name("build.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("  CC "))
        .count()
}

pub fn check_tree(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        bail!("--kernel-src {}: no such directory", dir.display());
    }
    if !dir.join("Makefile").exists() || !dir.join("scripts/kconfig/merge_config.sh").exists() {
        bail!("--kernel-src {}: not a kernel source tree (no Makefile or scripts/kconfig/merge_config.sh)", dir.display());
    }
    Ok(())
}

async fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub async fn tool_version(tool: &str) -> Result<String> {
    let out = Command::new(tool).arg("--version").output().await?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

/// Appends every step's output to one log; a failing step's error names the
/// log and quotes its tail.
struct Log {
    path: PathBuf,
    file: std::fs::File,
}

impl Log {
    fn create(path: &Path) -> Result<Self> {
        Ok(Log {
            path: path.to_path_buf(),
            file: std::fs::File::create(path)?,
        })
    }

    async fn run(&self, mut cmd: Command, what: &str) -> Result<()> {
        use std::io::Write;
        writeln!(&self.file, "### {what}")?;
        cmd.stdout(self.file.try_clone()?)
            .stderr(self.file.try_clone()?)
            .stdin(std::process::Stdio::null());
        // make's compilers are its children: run it in its own process group
        // and kill the whole group if we are interrupted.
        cmd.process_group(0).kill_on_drop(true);
        // SIGKILL of the runner takes make with it (reaper.rs).
        let mut child = crate::util::reaper::spawn_owned(cmd)
            .await
            .with_context(|| format!("{what}: cannot start"))?;
        let _group = child.id().map(KillGroup);
        let st = child.wait().await?;
        if !st.success() {
            let text = std::fs::read_to_string(&self.path).unwrap_or_default();
            let tail: Vec<_> = text
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            bail!(
                "{what} failed ({st}); log {}:\n{}",
                self.path.display(),
                tail.join("\n")
            );
        }
        Ok(())
    }
}

/// Kills a process group when dropped (a no-op if it already exited).
struct KillGroup(u32);
impl Drop for KillGroup {
    fn drop(&mut self) {
        // SAFETY: kill(2) with a negative pid signals the group we created.
        unsafe { libc::kill(-(self.0 as i32), libc::SIGKILL) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmet_options_names_each_one() {
        let frag = Fragment {
            name: "x.config".into(),
            text: "CONFIG_A=y\nCONFIG_B=n\n# CONFIG_C is not set\nCONFIG_D=y\nCONFIG_E=\"s\"\n"
                .into(),
            shares_staging: false,
        };
        let cfg = "CONFIG_A=y\n# CONFIG_D is not set\nCONFIG_E=\"t\"\n";
        let bad = unmet_options(&[frag], cfg);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad[0].starts_with("CONFIG_D=y (from x.config)"));
        assert!(bad[1].contains("CONFIG_E=\"s\""));
    }

    #[test]
    fn a_later_fragment_overrides_and_is_still_checked() {
        let f = |name: &str, text: &str| Fragment {
            name: name.into(),
            text: text.into(),
            shares_staging: false,
        };
        let frags = [
            f("base.config", "CONFIG_PCI=n\nCONFIG_ACPI=n\n"),
            f("q35.config", "CONFIG_PCI=y\nCONFIG_ACPI=y\n"),
        ];
        // PCI took: the base's =n is overridden, not reported.
        let bad = unmet_options(&frags, "CONFIG_PCI=y\n# CONFIG_ACPI is not set\n");
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].starts_with("CONFIG_ACPI=y (from q35.config)"),
            "{bad:?}"
        );
    }

    #[test]
    fn machine_fragments_of_every_profile_exist() {
        for a in crate::matrix::arch::all() {
            for (name, m) in &a.machines {
                if !m.fragment.is_empty() {
                    builtin_fragment(&m.fragment)
                        .unwrap_or_else(|e| panic!("{}/{name}: {e}", a.name));
                }
            }
        }
    }

    #[tokio::test]
    async fn debian_source_rejects_odd_versions() {
        for v in ["", "6.1; rm -rf /", "../6.1", "latest"] {
            let e = debian_source(v).await.unwrap_err().to_string();
            assert!(
                e.contains("expected a Debian linux-source version"),
                "{v}: {e}"
            );
        }
    }

    #[test]
    fn builtin_fragments_exist() {
        for n in ["base", "aio-on", "aio-off"] {
            assert!(!parse_config(&builtin_fragment(n).unwrap().text).is_empty());
        }
        assert_eq!(
            parse_config(&builtin_fragment("aio-off").unwrap().text)["CONFIG_AIO"],
            "n"
        );
        assert!(builtin_fragment("nope").is_err());
    }
}
