//! Where specs come from: a C file or patch, a kmatrix spec file, a kernel
//! tree, a `kapi -f json` output, a debugfs `specs-json` file or directory,
//! or the specs built into kmatrix. Every spec carries its [`Origin`]: the
//! path (and line), the file's sha256 and whose text it is.
//!
//! A kernel tree is walked in parallel (the `ignore` crate) for `*.c`
//! files, and only a file whose bytes contain a KAPI context line
//! (`contexts:` / `context-flags:`, found with `memchr::memmem`) is parsed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{dsl, json, Spec, Warning};

/// Whose text a spec is: kmatrix's own spec/ files, or the kernel's (a
/// tree's blocks, upstream's JSON exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Author {
    Upstream,
    Kmatrix,
}

impl std::fmt::Display for Author {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Author::Upstream => "upstream",
            Author::Kmatrix => "kmatrix",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The file (for built-in specs: `spec/<file>`, embedded in kmatrix).
    pub path: String,
    /// First line of the block (0 for JSON).
    pub line: usize,
    /// sha256 of the whole file, hex.
    pub sha256: String,
    pub author: Author,
    /// `kernel-doc`, `debugfs-json` or `kapi-json`.
    pub form: &'static str,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(f, " ({}, sha256 {})", self.author, &self.sha256[..12])
    }
}

/// One spec read from somewhere.
#[derive(Debug, Clone, Serialize)]
pub struct Loaded {
    pub spec: Spec,
    pub origin: Origin,
    /// `path:line: what` of each tolerated oddity.
    pub warnings: Vec<String>,
}

/// What a source held: its specs, and every block that did not parse.
#[derive(Debug, Default)]
pub struct Found {
    pub specs: Vec<Loaded>,
    /// `path:line: error` of each malformed block or file.
    pub errors: Vec<String>,
    /// `path:line: warning` not tied to a loaded spec (skipped blocks).
    pub warnings: Vec<String>,
    pub files_scanned: usize,
    pub files_parsed: usize,
}

impl Found {
    /// The specs, or every error at once.
    pub fn into_result(self) -> Result<Vec<Loaded>> {
        if !self.errors.is_empty() {
            bail!("{}", self.errors.join("\n"));
        }
        Ok(self.specs)
    }

    /// The one spec for `syscall` (an error in another block does not
    /// matter; two blocks for one syscall do).
    pub fn one(&self, syscall: &str) -> Result<Option<Loaded>> {
        let v: Vec<&Loaded> = self
            .specs
            .iter()
            .filter(|l| l.spec.syscall == syscall)
            .collect();
        match v.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((*one).clone())),
            many => bail!(
                "{} specs for {syscall}: {}",
                many.len(),
                many.iter()
                    .map(|l| l.origin.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn at(path: &str, line: usize, msg: &str) -> String {
    if line == 0 {
        format!("{path}: {msg}")
    } else {
        format!("{path}:{line}: {msg}")
    }
}

fn is_json(path: &Path, text: &str) -> bool {
    path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{')
}

/// Reads one file's specs into `found`. `author` is kmatrix for its own
/// `*-kapi-spec.txt` files, else upstream.
pub fn load_text(found: &mut Found, label: &str, text: &str, author: Option<Author>) {
    let sha = sha256_hex(text.as_bytes());
    let path = Path::new(label);
    found.files_parsed += 1;
    if is_json(path, text) {
        match json::parse(text) {
            Ok((spec, shape, w)) => found.specs.push(Loaded {
                spec,
                origin: Origin {
                    path: label.to_string(),
                    line: 0,
                    sha256: sha,
                    author: author.unwrap_or(Author::Upstream),
                    form: match shape {
                        json::Shape::Debugfs => "debugfs-json",
                        json::Shape::KapiTool => "kapi-json",
                    },
                },
                warnings: w.iter().map(|w| at(label, w.line, &w.msg)).collect(),
            }),
            Err(e) => found.errors.push(at(label, e.line, &e.msg)),
        }
        return;
    }
    let author = author.unwrap_or_else(|| {
        if label.ends_with("-kapi-spec.txt") {
            Author::Kmatrix
        } else {
            Author::Upstream
        }
    });
    let (blocks, skipped) = dsl::blocks(text);
    found
        .warnings
        .extend(skipped.iter().map(|w| at(label, w.line, &w.msg)));
    if blocks.is_empty() && author == Author::Kmatrix {
        // A spec file must hold a block: say why this one does not.
        if let Err(e) = dsl::parse(text) {
            found.errors.push(at(label, e.line, &e.msg));
        }
    }
    for b in blocks {
        match b.result {
            Ok((spec, w)) => found.specs.push(Loaded {
                spec,
                origin: Origin {
                    path: label.to_string(),
                    line: b.line,
                    sha256: sha.clone(),
                    author,
                    form: "kernel-doc",
                },
                warnings: w
                    .iter()
                    .map(|w: &Warning| at(label, w.line, &w.msg))
                    .collect(),
            }),
            Err(e) => found.errors.push(at(label, e.line, &e.msg)),
        }
    }
}

/// Specs under `path`: a file (C, patch, spec file, JSON), a kernel tree
/// (every `*.c`) or a debugfs `specs-json` directory.
pub fn load(path: &Path) -> Result<Found> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("spec source {}", path.display()))?;
    let mut found = Found::default();
    if meta.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading spec source {}", path.display()))?;
        found.files_scanned = 1;
        load_text(&mut found, &path.display().to_string(), &text, None);
        if found.specs.is_empty() && found.errors.is_empty() {
            found.errors.push(format!(
                "{}: no KAPI block (a kernel-doc comment with contexts:/context-flags: and a param:, error:, ... section) and no spec JSON",
                path.display()
            ));
        }
        return Ok(found);
    }
    if is_debugfs_dir(path)? {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let text =
                std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            found.files_scanned += 1;
            load_text(&mut found, &f.display().to_string(), &text, None);
        }
        return Ok(found);
    }
    walk_tree(path, &mut found)?;
    found
        .specs
        .sort_by(|a, b| a.spec.syscall.cmp(&b.spec.syscall));
    found.errors.sort();
    found.warnings.sort();
    Ok(found)
}

/// A directory of `sys_NAME` files (debugfs `kapi/specs-json`, or a copy).
fn is_debugfs_dir(path: &Path) -> Result<bool> {
    if path.file_name().is_some_and(|n| n == "specs-json") {
        return Ok(true);
    }
    let mut any = false;
    for e in std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))? {
        let e = e?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if e.file_type()?.is_dir() {
            return Ok(false);
        }
        if !name.starts_with("sys_") {
            return Ok(false);
        }
        any = true;
    }
    Ok(any)
}

/// Every `*.c` under `root` holding a KAPI context line, parsed.
fn walk_tree(root: &Path, found: &mut Found) -> Result<()> {
    let needles = [
        memchr::memmem::Finder::new(b"* context-flags:"),
        memchr::memmem::Finder::new(b"* contexts:"),
    ];
    let shared = Mutex::new((Found::default(), Vec::<String>::new()));
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .hidden(true)
        .follow_links(false)
        .build_parallel();
    walker.run(|| {
        let shared = &shared;
        let needles = &needles;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    shared.lock().unwrap().1.push(e.to_string());
                    return ignore::WalkState::Continue;
                }
            };
            let p = entry.path();
            let is_c = entry.file_type().is_some_and(|t| t.is_file())
                && p.extension().is_some_and(|e| e == "c");
            if !is_c {
                return ignore::WalkState::Continue;
            }
            let bytes = match std::fs::read(p) {
                Ok(b) => b,
                Err(e) => {
                    shared
                        .lock()
                        .unwrap()
                        .1
                        .push(format!("{}: {e}", p.display()));
                    return ignore::WalkState::Continue;
                }
            };
            let hit = needles.iter().any(|n| n.find(&bytes).is_some());
            let mut local = Found {
                files_scanned: 1,
                ..Found::default()
            };
            if hit {
                let label = p.display().to_string();
                match String::from_utf8(bytes) {
                    Ok(text) => load_text(&mut local, &label, &text, Some(Author::Upstream)),
                    Err(e) => local.errors.push(format!(
                        "{label}: not UTF-8 at byte {}",
                        e.utf8_error().valid_up_to()
                    )),
                }
            }
            let mut g = shared.lock().unwrap();
            g.0.files_scanned += local.files_scanned;
            g.0.files_parsed += local.files_parsed;
            g.0.specs.extend(local.specs);
            g.0.errors.extend(local.errors);
            g.0.warnings.extend(local.warnings);
            ignore::WalkState::Continue
        })
    });
    let (f, io_errors) = shared.into_inner().unwrap();
    if let Some(e) = io_errors.first() {
        bail!("walking {}: {e}", root.display());
    }
    *found = f;
    Ok(())
}

/// Where to judge each syscall from (`--spec-source`): kmatrix's built-in
/// specs, or a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecSource {
    Builtin,
    Path(PathBuf),
}

impl std::str::FromStr for SpecSource {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s == "builtin" {
            SpecSource::Builtin
        } else {
            SpecSource::Path(PathBuf::from(s))
        })
    }
}

/// The spec a run judged one syscall against, as every report names it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SpecUsed {
    pub syscall: String,
    pub path: String,
    pub line: usize,
    pub sha256: String,
    /// `upstream` or `kmatrix`.
    pub author: String,
    /// Why kmatrix's hints do not fit this spec (its generic cases are
    /// then errors saying so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_error: Option<String>,
    /// The model, hints applied where they fit (for `compare`'s clause diff).
    pub spec: Spec,
}

impl SpecUsed {
    pub fn label(&self) -> String {
        let line = if self.line > 0 {
            format!(":{}", self.line)
        } else {
            String::new()
        };
        format!(
            "{}{line} ({}, sha256 {})",
            self.path,
            self.author,
            self.sha256.get(..12).unwrap_or(&self.sha256)
        )
    }
}

/// Per syscall kmatrix judges, the spec to judge it against: a source's
/// block where it has one, else kmatrix's own.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SpecSet {
    pub specs: Vec<SpecUsed>,
}

fn used(l: &Loaded, hint_error: Option<String>) -> SpecUsed {
    SpecUsed {
        syscall: l.spec.syscall.clone(),
        path: l.origin.path.clone(),
        line: l.origin.line,
        sha256: l.origin.sha256.clone(),
        author: l.origin.author.to_string(),
        hint_error,
        spec: l.spec.clone(),
    }
}

impl SpecSet {
    /// kmatrix's own specs for every syscall.
    pub fn builtin() -> Result<SpecSet> {
        Ok(SpecSet {
            specs: builtin_loaded()?.iter().map(|l| used(l, None)).collect(),
        })
    }

    /// The specs in `path` (a tree, file, JSON) for the syscalls kmatrix
    /// judges, kmatrix's hints laid over them; kmatrix's own for the
    /// others. A malformed block anywhere in `path` is an error: it may be
    /// the one a syscall should be judged against.
    pub fn resolve(path: &Path) -> Result<SpecSet> {
        let found = load(path)?;
        if !found.errors.is_empty() {
            bail!(
                "specs in {} do not parse (use --spec-source builtin to judge against kmatrix's own):
{}",
                path.display(),
                found.errors.join("
")
            );
        }
        let mut specs = Vec::new();
        for b in builtin_loaded()? {
            match found.one(&b.spec.syscall)? {
                None => specs.push(used(&b, None)),
                Some(l) => match super::hints::apply_builtin(l.spec.clone()) {
                    Ok(h) => specs.push(used(
                        &Loaded {
                            spec: h,
                            ..l.clone()
                        },
                        None,
                    )),
                    Err(e) => specs.push(used(&l, Some(e.to_string()))),
                },
            }
        }
        Ok(SpecSet { specs })
    }

    pub fn get(&self, syscall: &str) -> Option<&SpecUsed> {
        self.specs.iter().find(|s| s.syscall == syscall)
    }

    /// Whether every syscall is judged against kmatrix's built-in spec.
    pub fn is_builtin(&self) -> bool {
        self.specs
            .iter()
            .all(|s| s.author == "kmatrix" && s.path.starts_with("spec/"))
    }
}

/// kmatrix's built-in specs as [`Loaded`] (hints applied), labelled
/// `spec/<file>`.
pub fn builtin_loaded() -> Result<Vec<Loaded>> {
    let mut out = Vec::new();
    for (name, text) in super::EMBEDDED {
        let label = format!("spec/{name}");
        let (spec, w) =
            dsl::parse_with_warnings(text).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
        let spec = super::hints::apply_builtin(spec)?;
        out.push(Loaded {
            spec,
            origin: Origin {
                path: label.clone(),
                line: 1,
                sha256: sha256_hex(text.as_bytes()),
                author: Author::Kmatrix,
                form: "kernel-doc",
            },
            warnings: w.iter().map(|w| at(&label, w.line, &w.msg)).collect(),
        });
    }
    out.sort_by(|a, b| a.spec.syscall.cmp(&b.spec.syscall));
    Ok(out)
}
