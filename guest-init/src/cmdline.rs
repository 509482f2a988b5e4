//! Parsing of the `kmatrix.*` words of /proc/cmdline into a Config.
//! Bad words never abort: they become `problems`, reported as log records.

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
    /// Human-readable complaints about words that were ignored.
    pub problems: Vec<String>,
}

pub fn parse(cmdline: &str) -> Config {
    let mut cfg = Config {
        mode: Mode::Probe,
        sysctls: Vec::new(),
        cases: Vec::new(),
        timeout_s: DEFAULT_TIMEOUT_S,
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
