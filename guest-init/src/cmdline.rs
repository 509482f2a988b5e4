//! Parsing of the `kmatrix.*` words of /proc/cmdline into a Config.
//! Bad words never abort: they become `problems`, reported as log records.

use crate::drill::Drill;
use crate::share::{self, Share};

pub const DEFAULT_TIMEOUT_S: u64 = 20;
/// Upper bound for kmatrix.timeout, so a typo cannot park a VM for days.
const MAX_TIMEOUT_S: u64 = 3600;

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
}

#[derive(Debug, PartialEq, Eq)]
pub struct Config {
    pub mode: Mode,
    /// (key, value) in command-line order, e.g. ("fs.aio-max-nr", "65536").
    pub sysctls: Vec<(String, String)>,
    /// kmatrix.cases patterns; empty selects every experiment.
    pub cases: Vec<String>,
    pub timeout_s: u64,
    /// kmatrix.drill: misbehave on purpose instead of probing.
    pub drill: Option<Drill>,
    /// kmatrix.share items, in command-line order.
    pub shares: Vec<Share>,
    /// kmatrix.exec items in order, still hex: decoding errors belong in
    /// each program's record.
    pub exec: Vec<String>,
    /// kmatrix.env items (hex KEY=VALUE) and kmatrix.cwd (hex) for them.
    pub env: Vec<String>,
    pub cwd: Option<String>,
    /// Human-readable complaints about words that were ignored.
    pub problems: Vec<String>,
}

pub fn parse(cmdline: &str) -> Config {
    let mut cfg = Config {
        mode: Mode::Probe,
        sysctls: Vec::new(),
        cases: Vec::new(),
        timeout_s: DEFAULT_TIMEOUT_S,
        drill: None,
        shares: Vec::new(),
        exec: Vec::new(),
        env: Vec::new(),
        cwd: None,
        problems: Vec::new(),
    };
    for word in cmdline.split_whitespace() {
        let rest = match word.strip_prefix("kmatrix.") {
            Some(r) => r,
            None => continue,
        };
        let (name, value) = match rest.split_once('=') {
            Some(nv) => nv,
            None => {
                cfg.problems
                    .push(format!("ignoring {word}: expected kmatrix.NAME=VALUE"));
                continue;
            }
        };
        match name {
            "mode" => match value {
                "probe" => cfg.mode = Mode::Probe,
                "ping" => cfg.mode = Mode::Ping,
                _ => cfg
                    .problems
                    .push(format!("unknown mode in {word}; using probe")),
            },
            "sysctl" => match value.split_once('=') {
                Some((k, v)) if !k.is_empty() => cfg.sysctls.push((k.to_string(), v.to_string())),
                _ => cfg.problems.push(format!(
                    "ignoring {word}: expected kmatrix.sysctl=KEY=VALUE"
                )),
            },
            "cases" => cfg.cases.extend(
                value
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            ),
            "timeout" => match value.parse::<u64>() {
                Ok(n) if n > 0 && n <= MAX_TIMEOUT_S => cfg.timeout_s = n,
                _ => cfg.problems.push(format!(
                    "ignoring {word}: expected 1..={MAX_TIMEOUT_S} seconds; using {}",
                    cfg.timeout_s
                )),
            },
            "drill" => match Drill::parse(value) {
                Some(d) => cfg.drill = Some(d),
                None => cfg
                    .problems
                    .push(format!("unknown drill in {word}; running the normal probe")),
            },
            "share" => match share::parse(value) {
                Ok(s) => cfg.shares.push(s),
                Err(e) => cfg.problems.push(format!("ignoring {word}: {e}")),
            },
            "exec" => cfg.exec.push(value.to_string()),
            "env" => cfg.env.push(value.to_string()),
            "cwd" => cfg.cwd = Some(value.to_string()),
            _ => cfg
                .problems
                .push(format!("ignoring unknown parameter {word}")),
        }
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = parse("console=ttyS0 quiet panic=-1\n");
        assert_eq!(c.mode, Mode::Probe);
        assert!(c.sysctls.is_empty() && c.cases.is_empty() && c.problems.is_empty());
        assert_eq!(c.timeout_s, DEFAULT_TIMEOUT_S);
        assert_eq!((c.drill, c.shares.len(), c.exec.len()), (None, 0, 0));
        assert_eq!((c.env.len(), c.cwd), (0, None));
    }

    #[test]
    fn drills() {
        assert_eq!(parse("kmatrix.drill=panic").drill, Some(Drill::Panic));
        assert_eq!(
            parse("kmatrix.drill=hang kmatrix.drill=flood-console").drill,
            Some(Drill::FloodConsole)
        );
        for (name, d) in [
            ("silent", Drill::Silent),
            ("garbage", Drill::Garbage),
            ("truncate", Drill::Truncate),
            ("flood", Drill::Flood),
        ] {
            let c = parse(&format!("quiet kmatrix.drill={name}"));
            assert_eq!(c.drill, Some(d));
            assert!(c.problems.is_empty());
        }
        // Unknown: a problem (log record) and the normal probe.
        let c = parse("kmatrix.drill=explode kmatrix.drill=");
        assert_eq!(c.drill, None);
        assert_eq!(c.mode, Mode::Probe);
        assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
        assert!(c.problems[0].contains("kmatrix.drill=explode"));
    }

    #[test]
    fn shares_and_exec() {
        let c = parse(
            "kmatrix.share=kmx0:/mnt/host:ro kmatrix.share=kmx1:/mnt/out:rw              kmatrix.share=kmx2:/mnt/../x:rw kmatrix.share=kmx3:/m              kmatrix.exec=2f6d6e742f686f73742f74 kmatrix.exec=zz \
             kmatrix.env=413d31 kmatrix.cwd=2f",
        );
        assert_eq!(
            c.shares,
            vec![
                Share {
                    tag: "kmx0".to_string(),
                    path: "/mnt/host".to_string(),
                    rw: false
                },
                Share {
                    tag: "kmx1".to_string(),
                    path: "/mnt/out".to_string(),
                    rw: true
                }
            ]
        );
        // Every exec in order, undecoded; the bad shares are problems.
        assert_eq!(c.exec, ["2f6d6e742f686f73742f74", "zz"]);
        assert_eq!(
            (c.env.as_slice(), c.cwd.as_deref()),
            (&["413d31".to_string()][..], Some("2f"))
        );
        assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
        assert!(c.problems[0].contains("kmx2"));
    }

    #[test]
    fn all_parameters() {
        let c = parse(
            "console=ttyAMA0 kmatrix.mode=ping kmatrix.sysctl=fs.aio-max-nr=65536 \
             kmatrix.sysctl=vm.max_map_count=100 kmatrix.cases=einval.*,,setup.basic \
             kmatrix.cases=table.many kmatrix.timeout=5\n",
        );
        assert_eq!(c.mode, Mode::Ping);
        assert_eq!(
            c.sysctls,
            vec![
                ("fs.aio-max-nr".to_string(), "65536".to_string()),
                ("vm.max_map_count".to_string(), "100".to_string())
            ]
        );
        assert_eq!(c.cases, vec!["einval.*", "setup.basic", "table.many"]);
        assert_eq!(c.timeout_s, 5);
        assert!(c.problems.is_empty());
    }

    #[test]
    fn value_may_contain_equals_and_be_empty() {
        let c = parse("kmatrix.sysctl=a.b=x=y kmatrix.sysctl=a.c=");
        assert_eq!(c.sysctls[0], ("a.b".to_string(), "x=y".to_string()));
        assert_eq!(c.sysctls[1], ("a.c".to_string(), String::new()));
    }

    #[test]
    fn bad_words_become_problems() {
        let c = parse(
            "kmatrix.mode=fast kmatrix.timeout=0 kmatrix.timeout=abc kmatrix.sysctl=novalue \
             kmatrix.sysctl==1 kmatrix.bogus=1 kmatrix.flag",
        );
        assert_eq!(c.mode, Mode::Probe);
        assert_eq!(c.timeout_s, DEFAULT_TIMEOUT_S);
        assert!(c.sysctls.is_empty());
        assert_eq!(c.problems.len(), 7, "{:?}", c.problems);
        assert!(c.problems[0].contains("kmatrix.mode=fast"));
    }
}
