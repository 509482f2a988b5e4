//! KAPI specs as data: one typed model, read from every form a spec comes
//! in, and where each spec came from.
//!
//! Forms (each its own module, all giving the same [`Spec`]):
//! - kernel-doc blocks (`dsl`): kmatrix's own `spec/*-kapi-spec.txt`, the
//!   long upstream form (`context-flags: KAPI_CTX_*`, `type: KAPI_TYPE_*`,
//!   `constraint-type: KAPI_CONSTRAINT_RANGE` + `range: lo, hi`) and the
//!   short linux-next form (`contexts: process, sleepable`, `type: uint,
//!   input`, `constraint-type: range(lo, hi)`), in a spec file, a C file or
//!   a patch (leading `+`);
//! - JSON (`json`): the kernel's debugfs `specs-json/<name>` object and the
//!   `kapi -f json` tool's `{"api_details": ...}`.
//!
//! `source` finds specs in a path (file, kernel tree, JSON file or
//! directory), `hints` lays kmatrix's test hints (spec/hints/*.toml) over a
//! spec, `diff` compares two specs clause by clause.
//!
//! Malformed input is an error naming the file and line (JSON: the key
//! path), never a guess and never a panic. Upstream quirks that are not
//! errors (an `error:` inside a `signal:` block, `error: (driver-specific)`)
//! are read or skipped with a warning naming the line.

pub mod cases;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub mod diff;
pub mod dsl;
pub mod hints;
pub mod json;
pub mod source;

pub use dsl::parse;

/// What `kmatrix spec` and `kmatrix spec diff` print: stdout, and
/// warnings/errors for stderr; `failed` when a block the command needed did
/// not parse (or, for diff, when the specs differ).
pub struct SpecOutput {
    pub stdout: String,
    pub stderr: String,
    pub failed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// 1-based line in the file (0: the file as a whole).
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for SpecError {}

pub(crate) fn err<T>(line: usize, msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError {
        line,
        msg: msg.into(),
    })
}

/// Something read but not modelled, or read in a tolerated non-standard
/// way: said once, with where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub line: usize,
    pub msg: String,
}

/// `enum kapi_param_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamType {
    Void,
    Int,
    Uint,
    Ptr,
    Struct,
    Union,
    Enum,
    FuncPtr,
    Array,
    Fd,
    UserPtr,
    Path,
    Custom,
}

impl ParamType {
    /// Long (`KAPI_TYPE_UINT`), short (`uint`, case-insensitive) or
    /// `specs-json` token (`user_pointer`).
    pub fn from_token(t: &str) -> Option<ParamType> {
        use ParamType::*;
        let l = t.trim().to_ascii_lowercase();
        let l = l.strip_prefix("kapi_type_").unwrap_or(&l);
        Some(match l {
            "void" => Void,
            "int" => Int,
            "uint" => Uint,
            "ptr" | "pointer" => Ptr,
            "struct" => Struct,
            "union" => Union,
            "enum" => Enum,
            "func_ptr" | "function_pointer" => FuncPtr,
            "array" => Array,
            "fd" | "file_descriptor" => Fd,
            "user_ptr" | "uptr" | "user_pointer" => UserPtr,
            "path" | "pathname" => Path,
            "custom" => Custom,
            _ => return None,
        })
    }

    /// The enum value (`kapi -f json`'s `param_type`).
    pub fn from_number(n: u64) -> Option<ParamType> {
        use ParamType::*;
        [
            Void, Int, Uint, Ptr, Struct, Union, Enum, FuncPtr, Array, Fd, UserPtr, Path, Custom,
        ]
        .get(n as usize)
        .copied()
    }

    /// A pointer into user memory (NULL/unmapped/read-only cases apply).
    pub fn is_user_pointer(self) -> bool {
        matches!(self, ParamType::UserPtr | ParamType::Path)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamFlag {
    In,
    Out,
    Inout,
    User,
    Optional,
    Const,
    Volatile,
    Dma,
    Aligned,
}

impl ParamFlag {
    /// Long (`KAPI_PARAM_IN`) or short (`input`) spelling.
    pub fn from_token(t: &str) -> Option<ParamFlag> {
        use ParamFlag::*;
        let l = t.trim().to_ascii_lowercase();
        let l = l.strip_prefix("kapi_param_").unwrap_or(&l);
        Some(match l {
            "in" | "input" => In,
            "out" | "output" => Out,
            "inout" => Inout,
            "user" => User,
            "optional" => Optional,
            "const" => Const,
            "volatile" => Volatile,
            "dma" => Dma,
            "aligned" => Aligned,
            _ => return None,
        })
    }

    /// `enum kapi_param_flags` bits (IN|OUT is INOUT).
    pub fn from_bits(b: u64) -> Vec<ParamFlag> {
        use ParamFlag::*;
        let mut v = match b & 3 {
            1 => vec![In],
            2 => vec![Out],
            3 => vec![Inout],
            _ => vec![],
        };
        for (bit, f) in [
            (0x8, Optional),
            (0x10, Const),
            (0x20, Volatile),
            (0x40, User),
            (0x80, Dma),
            (0x100, Aligned),
        ] {
            if b & bit != 0 {
                v.push(f);
            }
        }
        v
    }
}

/// One end of a range: a number, another parameter's (baseline) value, or
/// a constant user space cannot evaluate (`KMALLOC_MAX_SIZE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    Num(i128),
    Param(String),
    Symbol(String),
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Num(n) => write!(f, "{n}"),
            Bound::Param(p) | Bound::Symbol(p) => write!(f, "{p}"),
        }
    }
}

/// What a bad pointer gives in the baseline call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Not dereferenced in the baseline call: the baseline outcome stands.
    None,
    Errno(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub line: usize,
    pub ty: ParamType,
    pub flags: Vec<ParamFlag>,
    /// `KAPI_CONSTRAINT_*`, whichever form it was written in.
    pub constraint_type: Option<String>,
    pub range: Option<(Bound, Bound)>,
    /// Valid bits; any other bit is unknown.
    pub mask: Option<u64>,
    /// A mask or enum written as an expression user space cannot evaluate.
    pub symbolic: Option<String>,
    pub enum_values: Vec<String>,
    pub size: Option<String>,
    /// 0-based index of the param holding this buffer's size.
    pub size_param: Option<usize>,
    pub alignment: Option<u64>,
    pub constraint: String,
    // kmatrix's test hints (spec/hints/<syscall>.toml, or inline kmatrix-*
    // fields in kmatrix's own files); never upstream text.
    pub base: Option<String>,
    pub fault: Option<Fault>,
    pub invalid: Option<String>,
    pub out_of_range: Option<String>,
    /// Outcome of an in-range value other than the baseline's: `OK`, a
    /// count the call returns, or an errno.
    pub in_range: Option<String>,
}

impl Param {
    pub fn has(&self, f: ParamFlag) -> bool {
        self.flags.contains(&f)
    }
    /// The kernel writes through this pointer.
    pub fn written(&self) -> bool {
        self.has(ParamFlag::Out) || self.has(ParamFlag::Inout)
    }
}

/// `success:` of a return clause, read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Success {
    /// `0`, `= 0`, `== 0`
    Exact(i128),
    /// `>= N`
    AtLeast(i128),
    /// `LO .. HI` (a bound may name a param)
    Between(Bound, Bound),
    /// `-EINPROGRESS`: success is reported as this errno.
    Errno(String),
    /// Anything else, kept as written.
    Text(String),
}

impl fmt::Display for Success {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Success::Exact(n) => write!(f, "{n}"),
            Success::AtLeast(n) => write!(f, ">= {n}"),
            Success::Between(a, b) => write!(f, "{a} .. {b}"),
            Success::Errno(e) => write!(f, "-{e}"),
            Success::Text(t) => write!(f, "{t}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Return {
    /// As written (`KAPI_TYPE_INT`, `int`).
    pub ty: String,
    /// `KAPI_RETURN_*` (empty: not given, which upstream reads as exact).
    pub check_type: String,
    /// As written.
    pub success: String,
    pub success_value: Option<Success>,
    pub desc: String,
    /// Hint: outcome of the generic baseline call ("OK" or an errno name).
    pub base: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorClause {
    pub name: String,
    pub summary: String,
    pub desc: String,
    /// Hint: why no case can provoke it from user space.
    pub untestable: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub name: String,
    /// `KAPI_LOCK_*`
    pub ty: String,
    pub scope: String,
    pub desc: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub name: String,
    pub direction: String,
    pub action: String,
    pub condition: String,
    pub desc: String,
    /// The errno the call fails with (`errno:`, or the older `error:`).
    pub error: String,
    pub timing: String,
    pub restartable: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideEffect {
    /// `KAPI_EFFECT_*`, `|`-joined.
    pub kind: String,
    pub target: String,
    pub desc: String,
    pub reversible: String,
    pub condition: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateTrans {
    pub name: String,
    pub from: String,
    pub to: String,
    pub condition: String,
    pub desc: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    pub name: String,
    pub desc: String,
    pub expr: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capability {
    /// `CAP_*`
    pub name: String,
    /// `KAPI_CAP_*` action
    pub action: String,
    pub allows: String,
    pub without: String,
    pub condition: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub syscall: String,
    pub summary: String,
    /// `@name: text` lines, in order (the C argument order).
    pub args: Vec<(String, String)>,
    pub long_desc: String,
    pub kernel_read: String,
    /// `KAPI_CTX_*`, whichever form they were written in.
    pub context_flags: Vec<String>,
    pub params: Vec<Param>,
    pub ret: Option<Return>,
    pub errors: Vec<ErrorClause>,
    pub locks: Vec<Lock>,
    pub signals: Vec<Signal>,
    pub side_effects: Vec<SideEffect>,
    pub state_trans: Vec<StateTrans>,
    pub constraints: Vec<Constraint>,
    pub capabilities: Vec<Capability>,
    pub examples: String,
    pub notes: String,
    pub since: String,
}

/// One checkable clause: kind and name, as `kmatrix spec` lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Clause {
    pub kind: &'static str,
    pub name: String,
}

impl Spec {
    /// Every clause a case must check (params, return, errors, locks,
    /// signals, side effects, state transitions, constraints).
    pub fn clauses(&self) -> Vec<Clause> {
        let c = |kind, name: &str| Clause {
            kind,
            name: name.to_string(),
        };
        let mut v: Vec<Clause> = self.params.iter().map(|p| c("param", &p.name)).collect();
        if self.ret.is_some() {
            v.push(c("return", "success"));
        }
        v.extend(self.errors.iter().map(|e| c("error", &e.name)));
        v.extend(self.locks.iter().map(|l| c("lock", &l.name)));
        v.extend(self.signals.iter().map(|s| c("signal", &s.name)));
        v.extend(
            self.side_effects
                .iter()
                .map(|s| c("side-effect", &s.target)),
        );
        v.extend(self.state_trans.iter().map(|s| c("state-trans", &s.name)));
        v.extend(self.constraints.iter().map(|s| c("constraint", &s.name)));
        v
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Whether the spec has this `kind:name` clause (what a hint or a
    /// hand-written judge case may name).
    pub fn has_clause(&self, kind: &str, name: &str) -> bool {
        self.clauses()
            .iter()
            .any(|c| c.kind == kind && (name == "*" || c.name == name))
    }
}

/// The first block of a spec file, with the hints of `hints/` beside it.
pub fn parse_file(path: &Path) -> anyhow::Result<Spec> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading spec {}: {e}", path.display()))?;
    let spec =
        parse(&text).map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.msg))?;
    match path.parent() {
        Some(dir) => hints::apply_from_dir(spec, dir),
        None => Ok(spec),
    }
}

/// Every spec/*-kapi-spec.txt under `dir`, hints applied, sorted by
/// syscall name.
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Spec>> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.display()))?;
    for e in entries {
        let p = e?.path();
        let is_spec = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("-kapi-spec.txt"));
        if is_spec {
            out.push(parse_file(&p)?);
        }
    }
    out.sort_by(|a, b| a.syscall.cmp(&b.syscall));
    Ok(out)
}

/// The specs compiled into the binary (so a run does not depend on the
/// working directory). A seventh syscall adds its file here.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "io_cancel-kapi-spec.txt",
        include_str!("../../../spec/io_cancel-kapi-spec.txt"),
    ),
    (
        "io_destroy-kapi-spec.txt",
        include_str!("../../../spec/io_destroy-kapi-spec.txt"),
    ),
    (
        "io_getevents-kapi-spec.txt",
        include_str!("../../../spec/io_getevents-kapi-spec.txt"),
    ),
    (
        "io_pgetevents-kapi-spec.txt",
        include_str!("../../../spec/io_pgetevents-kapi-spec.txt"),
    ),
    (
        "io_setup-kapi-spec.txt",
        include_str!("../../../spec/io_setup-kapi-spec.txt"),
    ),
    (
        "io_submit-kapi-spec.txt",
        include_str!("../../../spec/io_submit-kapi-spec.txt"),
    ),
];

/// The embedded specs, parsed, hints applied, sorted by syscall.
pub fn builtin() -> anyhow::Result<Vec<Spec>> {
    Ok(source::builtin_loaded()?
        .into_iter()
        .map(|l| l.spec)
        .collect())
}

/// The spec directory of this source tree.
pub fn default_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

#[cfg(test)]
#[cfg(test)]
mod tests;
