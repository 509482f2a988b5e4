//! The guest's view of its kmatrix.* arguments: the protocol crate parses
//! them (GuestArgs, shared with the runner that writes them); this adds
//! what only the guest knows (drill names). Bad words never abort: they
//! become `problems`, reported as log records.

use crate::drill::Drill;
use crate::share::Share;
pub use kmatrix_proto::args::{GuestArgs, Mode};

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
    /// kmatrix.abi=compat: the experiments run in the 32-bit probe.
    pub compat: bool,
    /// Human-readable complaints about words that were ignored.
    pub problems: Vec<String>,
}

pub fn parse(cmdline: &str) -> Config {
    let (a, mut problems) = GuestArgs::parse(cmdline);
    let drill = a.drill.as_deref().and_then(|name| {
        let d = Drill::parse(name);
        if d.is_none() {
            problems.push(format!(
                "unknown drill kmatrix.drill={name}; running the normal probe"
            ));
        }
        d
    });
    Config {
        mode: a.mode,
        sysctls: a.sysctls,
        cases: a.cases,
        timeout_s: a.timeout_s,
        drill,
        shares: a.shares,
        exec: a.exec_hex,
        env: a.env_hex,
        cwd: a.cwd_hex,
        compat: a.compat,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Word syntax and encoding are tested with GuestArgs in the protocol
    // crate; these check the guest's additions and that nothing is lost.
    #[test]
    fn defaults() {
        let c = parse("console=ttyS0 quiet panic=-1\n");
        assert_eq!(c.mode, Mode::Probe);
        assert!(c.sysctls.is_empty() && c.cases.is_empty() && c.problems.is_empty());
        assert_eq!(c.timeout_s, kmatrix_proto::args::DEFAULT_TIMEOUT_S);
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
        let c = parse("kmatrix.drill=explode");
        assert_eq!(c.drill, None);
        assert_eq!(c.mode, Mode::Probe);
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert!(c.problems[0].contains("kmatrix.drill=explode"));
    }

    #[test]
    fn what_the_runner_writes_arrives() {
        let a = GuestArgs {
            mode: Mode::Ping,
            sysctls: vec![("fs.aio-max-nr".to_string(), "65536".to_string())],
            cases: vec!["einval.*".to_string()],
            timeout_s: 5,
            drill: Some("garbage".to_string()),
            shares: vec![Share::new(1, "/mnt/out", true)],
            exec_hex: vec![
                kmatrix_proto::args::exec_hex("/mnt/out/t a b"),
                kmatrix_proto::args::exec_hex("/mnt/out/u"),
            ],
            env_hex: vec![kmatrix_proto::args::exec_hex("A=1")],
            cwd_hex: Some(kmatrix_proto::args::exec_hex("/tmp")),
            compat: true,
        };
        let c = parse(&a.to_words().join(" "));
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert!(c.compat);
        assert_eq!(
            (
                c.mode,
                c.sysctls,
                c.cases,
                c.timeout_s,
                c.drill,
                c.shares,
                c.exec,
                c.env,
                c.cwd
            ),
            (
                a.mode,
                a.sysctls,
                a.cases,
                5,
                Some(Drill::Garbage),
                a.shares,
                a.exec_hex,
                a.env_hex,
                a.cwd_hex
            )
        );
    }
}
