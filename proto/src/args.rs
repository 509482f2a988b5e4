//! The guest's arguments: `kmatrix.NAME=VALUE` words on the kernel command
//! line, built by the runner with `GuestArgs::to_words` and read back by
//! guest-init with `GuestArgs::parse` (from /proc/cmdline).
//!
//! The kernel splits its command line on whitespace and guest-init sees it
//! raw, so values are percent-encoded: any byte outside plain ASCII, and
//! the separators `% " = , :` and space, travel as %XX. Words typed by hand
//! (`--append kmatrix.drill=panic`) need no encoding. Bad words never abort
//! the guest: they become problems, reported as log records.

use crate::{share_tag, ARG_PREFIX};

/// kmatrix.timeout when none is given: per experiment, in seconds.
pub const DEFAULT_TIMEOUT_S: u64 = 20;
/// Upper bound for kmatrix.timeout, so a typo cannot park a VM for days.
pub const MAX_TIMEOUT_S: u64 = 3600;

pub const ARG_MODE: &str = "mode";
pub const ARG_SYSCTL: &str = "sysctl";
pub const ARG_CASES: &str = "cases";
pub const ARG_TIMEOUT: &str = "timeout";
pub const ARG_DRILL: &str = "drill";
pub const ARG_SHARE: &str = "share";
pub const ARG_EXEC: &str = "exec";
pub const ARG_ENV: &str = "env";
pub const ARG_CWD: &str = "cwd";
/// kmatrix.abi=compat: PID 1 runs the experiments in the 32-bit build of
/// itself (`COMPAT_PROBE`), not in its own process.
pub const ARG_ABI: &str = "abi";
/// Where the initramfs holds the 32-bit guest-init of compat cells.
pub const COMPAT_PROBE: &str = "/init32";
/// argv[1] of the 32-bit guest-init when PID 1 execs it to probe; then
/// argv[2..] are the descriptors and facts it inherits (guest-init's compat.rs).
pub const COMPAT_PROBE_ARG: &str = "--compat-probe";
/// kmatrix.exit=reset: the machine cannot power off (x86 microvm without
/// ACPI), so the guest resets and QEMU's -no-reboot ends the VM. Machine
/// data, not a GuestArgs field: the guest's power-off reads it itself.
pub const ARG_EXIT: &str = "exit";
pub const EXIT_RESET_WORD: &str = "kmatrix.exit=reset";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Run the experiments.
    Probe,
    /// hello + end only: used to check that an accelerator boots at all.
    Ping,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Probe => "probe",
            Mode::Ping => "ping",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "probe" => Some(Mode::Probe),
            "ping" => Some(Mode::Ping),
            _ => None,
        }
    }
}

/// A virtiofs share as the guest mounts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// The vhost-user-fs tag, e.g. "kmx0" (`crate::share_tag`).
    pub tag: String,
    /// Absolute mount point in the guest.
    pub path: String,
    pub rw: bool,
}

/// virtio-fs tags are at most 36 bytes (the device's config field).
pub const MAX_TAG: usize = 36;

impl Share {
    /// The `index`th share of a run, mounted at `path`.
    pub fn new(index: usize, path: &str, rw: bool) -> Share {
        Share {
            tag: share_tag(index),
            path: path.to_string(),
            rw,
        }
    }

    /// Parses the value of kmatrix.share, TAG:GUEST_PATH:ro|rw.
    pub fn parse(value: &str) -> Result<Share, String> {
        let parts: Vec<&str> = value.split(':').collect();
        let (tag, path, mode) = match parts.as_slice() {
            [t, p, m] => (decode(t)?, decode(p)?, *m),
            _ => return Err("expected TAG:GUEST_PATH:ro|rw".to_string()),
        };
        let tag_ok = !tag.is_empty()
            && tag.len() <= MAX_TAG
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !tag_ok {
            return Err(format!(
                "tag {tag:?} must be 1..={MAX_TAG} characters of [A-Za-z0-9_.-]"
            ));
        }
        check_guest_path(&path)?;
        let rw = match mode {
            "rw" => true,
            "ro" => false,
            _ => return Err(format!("mode {mode:?} must be ro or rw")),
        };
        Ok(Share { tag, path, rw })
    }

    fn to_value(&self) -> String {
        format!(
            "{}:{}:{}",
            encode(&self.tag),
            encode(&self.path),
            if self.rw { "rw" } else { "ro" }
        )
    }
}

/// The rule for a share's guest path, on both sides: absolute, not "/"
/// itself (that would hide the initramfs), no "..", plain characters.
pub fn check_guest_path(path: &str) -> Result<(), String> {
    let ok = path.starts_with('/')
        && !path.contains("..")
        && !path.trim_matches('/').is_empty()
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "guest path {path:?} must be absolute, not /, without .., and only [A-Za-z0-9/_.-]"
        ))
    }
}

/// Everything the runner tells guest-init.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestArgs {
    pub mode: Mode,
    /// (key, value) in order, e.g. ("fs.aio-max-nr", "65536").
    pub sysctls: Vec<(String, String)>,
    /// Experiment id patterns (glob); empty selects every experiment.
    pub cases: Vec<String>,
    pub timeout_s: u64,
    /// Misbehave on purpose instead of probing (the guest knows the names).
    pub drill: Option<String>,
    pub shares: Vec<Share>,
    /// The user's command lines, in order, hex-encoded (`exec_hex`): the
    /// guest decodes them itself so that a bad encoding lands in the record.
    pub exec_hex: Vec<String>,
    /// KEY=VALUE for the programs' environment, hex-encoded.
    pub env_hex: Vec<String>,
    /// The programs' working directory, hex-encoded.
    pub cwd_hex: Option<String>,
    /// Probe with the 32-bit build (kmatrix.abi=compat).
    pub compat: bool,
}

impl Default for GuestArgs {
    fn default() -> Self {
        GuestArgs {
            mode: Mode::Probe,
            sysctls: Vec::new(),
            cases: Vec::new(),
            timeout_s: DEFAULT_TIMEOUT_S,
            drill: None,
            shares: Vec::new(),
            exec_hex: Vec::new(),
            env_hex: Vec::new(),
            cwd_hex: None,
            compat: false,
        }
    }
}

/// `command` hex-encoded, as GuestArgs::exec_hex carries it.
pub fn exec_hex(command: &str) -> String {
    command.bytes().map(|b| format!("{b:02x}")).collect()
}

impl GuestArgs {
    /// The kernel command-line words, in a fixed order.
    pub fn to_words(&self) -> Vec<String> {
        let w = |name: &str, value: &str| format!("{ARG_PREFIX}{name}={value}");
        let mut v = vec![
            w(ARG_MODE, self.mode.as_str()),
            w(ARG_TIMEOUT, &self.timeout_s.to_string()),
        ];
        for (k, val) in &self.sysctls {
            v.push(w(ARG_SYSCTL, &format!("{}={}", encode(k), encode(val))));
        }
        if !self.cases.is_empty() {
            let enc: Vec<String> = self.cases.iter().map(|c| encode(c)).collect();
            v.push(w(ARG_CASES, &enc.join(",")));
        }
        if let Some(d) = &self.drill {
            v.push(w(ARG_DRILL, &encode(d)));
        }
        for s in &self.shares {
            v.push(w(ARG_SHARE, &s.to_value()));
        }
        for h in &self.exec_hex {
            v.push(w(ARG_EXEC, &encode(h)));
        }
        for h in &self.env_hex {
            v.push(w(ARG_ENV, &encode(h)));
        }
        if let Some(h) = &self.cwd_hex {
            v.push(w(ARG_CWD, &encode(h)));
        }
        if self.compat {
            v.push(w(ARG_ABI, "compat"));
        }
        v
    }

    /// Reads the kmatrix.* words of a command line; other words are the
    /// kernel's. Returns the arguments and a complaint per ignored word.
    pub fn parse(cmdline: &str) -> (GuestArgs, Vec<String>) {
        let mut a = GuestArgs::default();
        let mut problems = Vec::new();
        for word in cmdline.split_whitespace() {
            let rest = match word.strip_prefix(ARG_PREFIX) {
                Some(r) => r,
                None => continue,
            };
            if let Err(e) = a.apply(rest) {
                problems.push(format!("ignoring {word}: {e}"));
            }
        }
        (a, problems)
    }

    /// One word without its prefix; on error `self` is unchanged.
    fn apply(&mut self, word: &str) -> Result<(), String> {
        let (name, value) = word
            .split_once('=')
            .ok_or_else(|| format!("expected {ARG_PREFIX}NAME=VALUE"))?;
        match name {
            ARG_MODE => {
                self.mode = Mode::parse(value).ok_or("unknown mode (probe, ping)")?;
            }
            ARG_SYSCTL => match value.split_once('=') {
                Some((k, v)) if !k.is_empty() => self.sysctls.push((decode(k)?, decode(v)?)),
                _ => return Err(format!("expected {ARG_PREFIX}{ARG_SYSCTL}=KEY=VALUE")),
            },
            ARG_CASES => {
                let mut pats = Vec::new();
                for p in value.split(',').filter(|p| !p.is_empty()) {
                    pats.push(decode(p)?);
                }
                self.cases.extend(pats);
            }
            ARG_TIMEOUT => match value.parse::<u64>() {
                Ok(n) if n > 0 && n <= MAX_TIMEOUT_S => self.timeout_s = n,
                _ => {
                    return Err(format!(
                        "expected 1..={MAX_TIMEOUT_S} seconds; using {}",
                        self.timeout_s
                    ))
                }
            },
            ARG_DRILL => self.drill = Some(decode(value)?),
            ARG_SHARE => self.shares.push(Share::parse(value)?),
            ARG_EXEC => self.exec_hex.push(decode(value)?),
            ARG_ENV => self.env_hex.push(decode(value)?),
            ARG_CWD => self.cwd_hex = Some(decode(value)?),
            ARG_ABI => match value {
                "compat" => self.compat = true,
                "native" => self.compat = false,
                _ => return Err("expected native or compat; probing natively".to_string()),
            },
            ARG_EXIT => match value {
                "reset" | "poweroff" => {}
                _ => return Err("expected reset or poweroff; powering off".to_string()),
            },
            _ => return Err("unknown parameter".to_string()),
        }
        Ok(())
    }
}

fn plain(b: u8) -> bool {
    b.is_ascii_graphic() && !b"%\"=,:".contains(&b)
}

/// Percent-encodes what the kernel's command line would split or mangle.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if plain(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes `encode`; a malformed %XX or non-UTF-8 result is an error.
pub fn decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let byte = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape at byte {i} of {s:?}"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} does not decode to UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hostile() -> GuestArgs {
        GuestArgs {
            mode: Mode::Ping,
            sysctls: vec![
                ("fs.aio-max-nr".to_string(), "65536".to_string()),
                ("we ird=key".to_string(), "a b=c, \"d\" é\t%41".to_string()),
                ("empty".to_string(), String::new()),
            ],
            cases: vec![
                "einval.*".to_string(),
                "with,comma and space".to_string(),
                "ünï".to_string(),
            ],
            timeout_s: 3600,
            drill: Some("flood console".to_string()),
            shares: vec![
                Share::new(0, "/mnt/host", false),
                Share::new(1, "/opt/x.y-z", true),
            ],
            exec_hex: vec![exec_hex("/opt/t/hello wörld \"x=1\""), exec_hex("/b")],
            env_hex: vec![exec_hex("KCONFIG_PATH=/a b")],
            cwd_hex: Some(exec_hex("/tmp")),
            compat: true,
        }
    }

    #[test]
    fn round_trip_with_hostile_values() {
        let a = hostile();
        let words = a.to_words();
        for w in &words {
            assert!(w.is_ascii() && !w.contains(char::is_whitespace), "{w}");
        }
        let line = format!("console=ttyS0 quiet {} panic=-1\n", words.join(" "));
        assert_eq!(GuestArgs::parse(&line), (a, vec![]));
        let d = GuestArgs::default();
        assert_eq!(GuestArgs::parse(&d.to_words().join(" ")), (d, vec![]));
    }

    #[test]
    fn exit_word_is_known_and_checked() {
        let (_, p) = GuestArgs::parse(&format!("{EXIT_RESET_WORD} kmatrix.exit=poweroff"));
        assert!(p.is_empty(), "{p:?}");
        let (_, p) = GuestArgs::parse("kmatrix.exit=halt");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("kmatrix.exit=halt"), "{p:?}");
    }

    #[test]
    fn defaults_and_foreign_words() {
        let (a, p) = GuestArgs::parse("console=ttyS0 quiet panic=-1\n");
        assert_eq!((a, p), (GuestArgs::default(), vec![]));
    }

    #[test]
    fn hand_typed_words_need_no_encoding() {
        let (a, p) = GuestArgs::parse(
            "kmatrix.drill=flood-console kmatrix.sysctl=vm.max_map_count=100 \
             kmatrix.cases=einval.*,,setup.basic kmatrix.cases=table.many \
             kmatrix.sysctl=a.b=x=y kmatrix.share=kmx0:/mnt/host:ro",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(a.drill.as_deref(), Some("flood-console"));
        assert_eq!(a.cases, ["einval.*", "setup.basic", "table.many"]);
        assert_eq!(a.sysctls[1], ("a.b".to_string(), "x=y".to_string()));
        assert_eq!(a.shares, [Share::new(0, "/mnt/host", false)]);
    }

    #[test]
    fn bad_words_become_problems_and_change_nothing() {
        let (a, p) = GuestArgs::parse(
            "kmatrix.mode=fast kmatrix.timeout=0 kmatrix.timeout=abc kmatrix.sysctl=novalue \
             kmatrix.sysctl==1 kmatrix.bogus=1 kmatrix.flag kmatrix.cases=%zz \
             kmatrix.share=kmx2:/mnt/../x:rw kmatrix.share=kmx3:/m kmatrix.sysctl=a=%ff",
        );
        assert_eq!(a, GuestArgs::default());
        assert_eq!(p.len(), 11, "{p:?}");
        assert!(p[0].contains("kmatrix.mode=fast"));
        assert!(p[7].contains("bad %-escape"));
        assert!(p[10].contains("UTF-8"));
    }

    #[test]
    fn execs_run_in_order() {
        let (a, p) = GuestArgs::parse("kmatrix.exec=2f61 kmatrix.exec=2f62 kmatrix.env=413d31");
        assert_eq!(a.exec_hex, ["2f61", "2f62"]);
        assert_eq!(a.env_hex, ["413d31"]);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn share_rules() {
        assert!(Share::parse("kmx1:/mnt/a_b-c.d/e/:rw").unwrap().rw);
        for bad in [
            "kmx0:/:ro",
            "kmx0:rel:ro",
            "k m:/a:ro",
            "kmx0:/a:rx",
            "kmx0:/a",
        ] {
            assert!(Share::parse(bad).is_err(), "{bad}");
        }
        let long = "t".repeat(37);
        assert!(Share::parse(&format!("{long}:/a:ro")).is_err());
    }
}
