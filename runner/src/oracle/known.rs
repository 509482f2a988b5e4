//! Known deviations (spec/known-deviations.toml): a failing case is reported
//! as `known` only in the cell conditions where the deviation was seen, and
//! only if the entry names the observation of every check that failed, so an
//! excuse for one check never hides a second one.

use super::{Case, CellFacts, Check, Verdict};
use crate::stream::Stream;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownDeviation {
    /// D1, D2, ...: the finding this entry belongs to.
    pub id: String,
    pub case: String,
    /// Check name -> the observation excused. Every failing check of the
    /// case must be listed, and every listed check must be observed so.
    pub observed: BTreeMap<String, String>,
    #[serde(default)]
    pub when: When,
    pub reason: String,
    #[allow(dead_code)]
    pub evidence: String,
    /// For a `kernel.splat/<experiment>` case: text of the kernel report's
    /// first line this entry accepts. A report no entry names stays a FAIL.
    #[serde(default)]
    pub splat: Option<String>,
}

/// The cell conditions the deviation was seen in; an empty list or an
/// absent bound means "any".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    #[serde(default)]
    pub arch: Vec<String>,
    /// Kernel major.minor, e.g. "6.1" (matches 6.1.192, not 6.12).
    #[serde(default)]
    pub kernel: Vec<String>,
    pub aio_max_nr_min: Option<u64>,
    pub aio_max_nr_max: Option<u64>,
    #[serde(default)]
    pub mem_mb: Vec<u32>,
    #[serde(default)]
    pub cpus: Vec<u32>,
}

/// The conditions of one cell, as configured and as the guest reported them.
#[derive(Debug, Clone)]
pub struct Conditions {
    pub arch: String,
    /// major.minor of uname -r; None when the guest never said hello.
    pub kernel: Option<String>,
    pub aio_max_nr: Option<u64>,
    pub mem_mb: u32,
    pub cpus: u32,
}

impl Conditions {
    pub fn of(f: &CellFacts, s: &Stream) -> Self {
        let h = s.hello.as_ref();
        Conditions {
            arch: f.arch.clone(),
            kernel: h.and_then(|h| major_minor(&h.uname_release)),
            aio_max_nr: h.and_then(|h| h.aio_max_nr),
            mem_mb: f.mem_mb,
            cpus: f.cpus,
        }
    }
}

/// "6.1" of "6.1.0-42-amd64" or "6.1.192".
pub fn major_minor(release: &str) -> Option<String> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let (a, b) = (it.next()?, it.next()?);
    (!a.is_empty() && !b.is_empty()).then(|| format!("{a}.{b}"))
}

impl When {
    fn holds(&self, c: &Conditions) -> bool {
        let any_of = |l: &[String], v: Option<&str>| {
            l.is_empty() || v.is_some_and(|v| l.iter().any(|x| x == v))
        };
        any_of(&self.arch, Some(&c.arch))
            && any_of(&self.kernel, c.kernel.as_deref())
            && (self.mem_mb.is_empty() || self.mem_mb.contains(&c.mem_mb))
            && (self.cpus.is_empty() || self.cpus.contains(&c.cpus))
            && self
                .aio_max_nr_min
                .is_none_or(|m| c.aio_max_nr.is_some_and(|v| v >= m))
            && self
                .aio_max_nr_max
                .is_none_or(|m| c.aio_max_nr.is_some_and(|v| v <= m))
    }
}

impl KnownDeviation {
    fn excuses(&self, case: &Case, checks: &[Check], c: &Conditions) -> bool {
        let failing_listed = checks
            .iter()
            .filter(|k| !k.holds)
            .all(|k| self.observed.get(k.name) == Some(&k.observed));
        let listed_seen = self
            .observed
            .iter()
            .all(|(name, v)| checks.iter().any(|k| k.name == name && &k.observed == v));
        self.case == case.id && self.when.holds(c) && failing_listed && listed_seen
    }
}

impl KnownDeviation {
    /// Whether this entry accepts a kernel report whose first line is
    /// `first`, seen as case `case` in a cell with conditions `c`.
    pub fn accepts_splat(&self, case: &str, first: &str, c: &Conditions) -> bool {
        self.case == case
            && self.when.holds(c)
            && self.splat.as_deref().is_some_and(|t| first.contains(t))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownFile {
    #[serde(default)]
    deviation: Vec<KnownDeviation>,
}

pub fn parse(text: &str) -> Result<Vec<KnownDeviation>, toml::de::Error> {
    toml::from_str::<KnownFile>(text).map(|f| f.deviation)
}

/// The shipped list, parsed once (every cell is judged against it).
pub fn known_deviations() -> &'static [KnownDeviation] {
    static KNOWN: std::sync::OnceLock<Vec<KnownDeviation>> = std::sync::OnceLock::new();
    KNOWN.get_or_init(|| {
        parse(include_str!("../../../spec/known-deviations.toml"))
            .expect("spec/known-deviations.toml is valid")
    })
}

/// Turns a failure that an entry fully explains into a known deviation, so a
/// pre-merge run is green on known behaviour and red on anything new.
pub fn apply(mut case: Case, checks: &[Check], c: &Conditions, known: &[KnownDeviation]) -> Case {
    if case.verdict != Verdict::Fail {
        return case;
    }
    if let Some(k) = known.iter().find(|k| k.excuses(&case, checks, c)) {
        case.verdict = Verdict::KnownDeviation;
        case.detail = format!("known {}: {}", k.id, k.reason);
    }
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmatrix_proto::catalogue::{case, ids};

    fn cond(arch: &str, kernel: &str, max: u64, mem: u32) -> Conditions {
        Conditions {
            arch: arch.into(),
            kernel: major_minor(kernel),
            aio_max_nr: Some(max),
            mem_mb: mem,
            cpus: 2,
        }
    }

    fn failing(id: &str, checks: &[Check]) -> Case {
        Case {
            id: id.into(),
            experiment: "e".into(),
            expected: checks[0].expected.clone(),
            observed: checks[0].observed.clone(),
            verdict: Verdict::Fail,
            detail: String::new(),
        }
    }

    fn entry(text: &str) -> Vec<KnownDeviation> {
        parse(text).unwrap()
    }

    #[test]
    fn the_shipped_file_parses_and_names_every_entry() {
        let k = known_deviations();
        assert!(k.len() >= 8);
        assert!(k
            .iter()
            .all(|d| !d.observed.is_empty() && d.id.starts_with('D')));
        assert_eq!(major_minor("6.12.117"), Some("6.12".into()));
        assert_eq!(major_minor("6.1.0-42-amd64"), Some("6.1".into()));
    }

    #[test]
    fn family_outcome_excused_only_as_seen() {
        // A named check of a family case (the shape D-F1 had, before the
        // spec was fixed to state what 6.1 does with a negative timeout).
        let k = &entry(
            r#"[[deviation]]
id = "D9"
case = "io_getevents.param.timeout.negative"
observed = { negative-timeout = "EINTR ret -1 when the guest's alarm fired" }
when = { kernel = ["6.1", "6.12"], arch = ["x86_64", "arm64"] }
reason = "r"
evidence = "e"
"#,
        );
        let case = |observed: &str| Case {
            id: case::IO_GETEVENTS_PARAM_TIMEOUT_NEGATIVE.into(),
            experiment: ids::IO_GETEVENTS_TIMEOUTS.into(),
            expected: "0 events at once (< 90 ms)".into(),
            observed: observed.into(),
            verdict: Verdict::Fail,
            detail: String::new(),
        };
        let seen = "EINTR ret -1 when the guest's alarm fired";
        let on = |kernel: &str, o: &str| {
            let checks = [Check::new(
                "negative-timeout",
                "0 events at once (< 90 ms)",
                o,
                false,
            )];
            apply(case(o), &checks, &cond("arm64", kernel, 65536, 512), k).verdict
        };
        assert_eq!(on("6.1.192", seen), Verdict::KnownDeviation);
        assert_eq!(on("6.12.117", seen), Verdict::KnownDeviation);
        // Not seen on 6.6, and a different observation is a different finding.
        assert_eq!(on("6.6.0", seen), Verdict::Fail);
        assert_eq!(on("6.1.192", "OK ret 0 after 500 ms"), Verdict::Fail);
    }

    #[test]
    fn matched_on_arch_kernel_range_and_memory() {
        let k = entry(
            r#"[[deviation]]
id = "D9"
case = "x"
observed = { outcome = "EINVAL" }
when = { arch = ["arm64"], kernel = ["6.1"], aio_max_nr_min = 8388608, mem_mb = [256] }
reason = "r"
evidence = "e"
"#,
        );
        let checks = [Check::outcome(&["EAGAIN"], "EINVAL")];
        let c = failing("x", &checks);
        let v = |co: Conditions| apply(c.clone(), &checks, &co, &k).verdict;
        assert_eq!(
            v(cond("arm64", "6.1.192", 8388608, 256)),
            Verdict::KnownDeviation
        );
        assert_eq!(
            v(cond("x86_64", "6.1.192", 8388608, 256)),
            Verdict::Fail,
            "arch"
        );
        assert_eq!(
            v(cond("arm64", "6.12.1", 8388608, 256)),
            Verdict::Fail,
            "kernel"
        );
        assert_eq!(
            v(cond("arm64", "6.1.192", 65536, 256)),
            Verdict::Fail,
            "aio-max-nr"
        );
        assert_eq!(
            v(cond("arm64", "6.1.192", 8388608, 512)),
            Verdict::Fail,
            "memory"
        );
    }

    #[test]
    fn an_excuse_never_hides_a_second_failing_check() {
        let k = entry(
            r#"[[deviation]]
id = "D3"
case = "x"
observed = { outcome = "OK", ring = "127" }
reason = "r"
evidence = "e"
"#,
        );
        let c0 = cond("x86_64", "6.1.1", 1, 512);
        let both = [
            Check::outcome(&["EINVAL"], "OK"),
            Check::new("ring", ">= 2", "127", false),
            Check::new("aio-nr", "+2147483649", "+2147483649", true),
        ];
        assert_eq!(
            apply(failing("x", &both), &both, &c0, &k).verdict,
            Verdict::KnownDeviation
        );
        let leak = [
            Check::outcome(&["EINVAL"], "OK"),
            Check::new("ring", ">= 2", "127", false),
            Check::new("aio-nr", "+2147483649", "+7", false),
        ];
        assert_eq!(
            apply(failing("x", &leak), &leak, &c0, &k).verdict,
            Verdict::Fail
        );
        // The entry's listed observations must all be seen: a different ring is not excused.
        let other_ring = [
            Check::outcome(&["EINVAL"], "OK"),
            Check::new("ring", ">= 2", "3", false),
        ];
        assert_eq!(
            apply(failing("x", &other_ring), &other_ring, &c0, &k).verdict,
            Verdict::Fail
        );
    }
}
