//! `kmatrix bisect` on a real history: Debian 6.1 committed, then 16
//! commits (tests/common/trees.rs `bisect_history`). Each step is built in
//! the staging place, so it compiles a few objects, not the kernel.

mod common;
use common::trees::{bisect_history, debian_tree};
use common::*;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const CELL: [&str; 4] = ["--arch", "x86_64", "--config", "aio-on"];

fn bisect(tree: &Path, args: &[&str], out: &Path) -> (Value, String, f64) {
    let t = Instant::now();
    let mut all = vec!["bisect", "--tree", tree.to_str().unwrap()];
    all.extend_from_slice(args);
    all.extend_from_slice(&CELL);
    all.extend_from_slice(&["--format", "json", "--out", out.to_str().unwrap()]);
    let o = kmatrix(&all);
    let secs = t.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    (v, err, secs)
}

/// Every step: its revision, build time, objects compiled, verdict.
fn steps_line(v: &Value) -> String {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} build {:.1} s {} objects, boot {:.1} s: {}\n",
                s["role"],
                &s["commit"]["subject"],
                s["build_s"].as_f64().unwrap(),
                s["objects"],
                s["run_s"].as_f64().unwrap(),
                s["judged"]
            )
        })
        .collect()
}

fn check_steps(v: &Value, c: &[String]) {
    // ceil(log2(17)) + 1 revisions asked for by git, each incremental.
    let n = v["bisect_steps"].as_u64().unwrap();
    assert!(n <= 6, "{n} steps:\n{}", steps_line(v));
    for s in v["steps"].as_array().unwrap() {
        let objects = s["objects"].as_u64().unwrap();
        assert!(objects < 50, "a cold build:\n{}", steps_line(v));
    }
    // c8 does not compile: if git asked for it, it was skipped, saying so.
    for s in v["steps"].as_array().unwrap() {
        if s["commit"]["id"] == c[8].as_str() {
            assert_eq!(s["judged"], "skip", "{}", steps_line(v));
            let why = s["reason"].as_str().unwrap();
            assert!(why.starts_with("does not build: x86_64/aio-on"), "{why}");
        } else {
            assert_ne!(s["judged"], "skip", "{}", steps_line(v));
        }
    }
}

#[test]
fn bisect_names_the_commits_that_changed_a_verdict_and_an_observation() {
    let debian = debian_tree();
    let (tree, c) = bisect_history(&debian);
    assert_eq!(c.len(), 17);
    let out = tempfile::tempdir().unwrap();

    // The verdict: io_setup(0) is EINVAL until c10.
    let (v, err, secs) = bisect(
        &tree,
        &[
            "--good",
            &c[0],
            "--bad",
            &c[16],
            "--case",
            "error.EINVAL.nr_events-zero",
        ],
        &out.path().join("verdict"),
    );
    eprintln!("verdict bisect: {secs:.0} s\n{}", steps_line(&v));
    assert_eq!(
        v["first_bad"]["id"],
        c[10].as_str(),
        "{}\n{err}",
        steps_line(&v)
    );
    assert_eq!(
        v["first_bad"]["subject"],
        "aio: let io_setup take nr_events == 0"
    );
    assert_eq!(v["first_bad"]["date"], "2024-01-01T00:10:00Z");
    let ch = v["changes"].as_array().unwrap();
    assert_eq!(ch.len(), 1, "{ch:?}");
    let case = ch[0]["case"].as_str().unwrap();
    assert!(
        case.starts_with("x86_64/aio-on/") && case.ends_with(" error.EINVAL.nr_events-zero"),
        "{case}"
    );
    assert_eq!(ch[0]["before"], "pass (EINVAL)");
    assert_eq!(ch[0]["after"], "fail (OK)");
    check_steps(&v, &c);
    // Git asks for c8 first (the middle): skipped, and the answer is still c10.
    assert!(
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["commit"]["id"] == c[8].as_str()),
        "c8 was never asked for:\n{}",
        steps_line(&v)
    );
    // Only the experiment behind the case was run.
    let step_dir = std::fs::read_dir(out.path().join("verdict"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().contains("-step-"))
        .unwrap()
        .path();
    let rep: Value =
        serde_json::from_slice(&std::fs::read(step_dir.join("report.json")).unwrap()).unwrap();
    let exps: std::collections::BTreeSet<&str> = rep["cells"][0]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["verdict"] != "skip")
        .map(|k| k["experiment"].as_str().unwrap())
        .collect();
    // ("boot": the console's kernel reports outside any experiment.)
    assert!(
        exps.iter()
            .all(|x| ["einval.nr-zero", "hello", "boot"].contains(x)),
        "{exps:?}"
    );

    interrupted_and_resumed(&tree, &c, out.path());

    // The observation: c5 makes the ring bigger, and notes.capacity still passes.
    let (v, err, secs) = bisect(
        &tree,
        &[
            "--good",
            &c[0],
            "--bad",
            &c[16],
            "--case",
            "notes.capacity",
            "--observed",
        ],
        &out.path().join("observed"),
    );
    eprintln!("observed bisect: {secs:.0} s\n{}", steps_line(&v));
    assert_eq!(
        v["first_bad"]["id"],
        c[5].as_str(),
        "{}\n{err}",
        steps_line(&v)
    );
    let ch = v["changes"].as_array().unwrap();
    assert_eq!(ch.len(), 1, "{ch:?}");
    let (before, after) = (
        ch[0]["before"].as_str().unwrap(),
        ch[0]["after"].as_str().unwrap(),
    );
    assert!(
        before.starts_with("pass (ring nr ") && after.starts_with("pass (ring nr "),
        "{ch:?}"
    );
    assert_ne!(before, after);
    check_steps(&v, &c);
    // By verdict the same case sees nothing to bisect, said once both ends are judged.
    let o = kmatrix(&[
        "bisect",
        "--tree",
        tree.to_str().unwrap(),
        "--good",
        &c[0],
        "--bad",
        &c[16],
        "--case",
        "notes.capacity",
        "--arch",
        "x86_64",
        "--config",
        "aio-on",
        "--out",
        out.path().join("same").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("are judged the same"), "{}", text(&o));
}

/// The same bisection (its kernels now cached) interrupted by SIGINT once
/// git's first step is judged, then `--resume`d: the same answer, no step
/// judged twice.
fn interrupted_and_resumed(tree: &Path, c: &[String], out: &Path) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmatrix"))
        .args([
            "bisect",
            "--tree",
            tree.to_str().unwrap(),
            "--good",
            &c[0],
            "--bad",
            &c[16],
        ])
        .args(["--case", "error.EINVAL.nr_events-zero", "--format", "json"])
        .args(CELL)
        .arg("--out")
        .arg(out.join("resumed"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut judged = 0;
    let mut seen = String::new();
    for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("bisect: ") && line.contains(" (build ") {
            judged += 1;
            if judged == 3 {
                // SAFETY: kill(2) on our own child's pid.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            }
        }
    }
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(130), "{seen}");
    assert!(seen.contains("kmatrix bisect --resume"), "{seen}");
    let o = kmatrix(&["bisect", "--resume", "--tree", tree.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["first_bad"]["id"], c[10].as_str(), "{}", steps_line(&v));
    let ids: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["commit"]["id"].as_str().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ids.len(),
        "a step judged twice: {}",
        steps_line(&v)
    );
    let resumed = String::from_utf8_lossy(&o.stderr);
    assert!(
        !resumed.contains(&format!("bisect: good {}", &c[0][..12])),
        "{resumed}"
    );
}

/// A small git tree that looks like a kernel tree: enough for every
/// refusal, which must come before anything is built.
fn fake_tree() -> (tempfile::TempDir, Vec<String>) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .arg("-C")
            .arg(d)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    git(&["init", "-q"]);
    std::fs::write(d.join("Makefile"), "VERSION = 6\nPATCHLEVEL = 1\n").unwrap();
    std::fs::create_dir_all(d.join("scripts/kconfig")).unwrap();
    std::fs::write(d.join("scripts/kconfig/merge_config.sh"), "").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "one"]);
    git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    let ids = git(&["rev-list", "--reverse", "HEAD"]);
    (t, ids.lines().map(str::to_string).collect())
}

#[test]
fn bad_input_is_refused_before_anything_is_built() {
    let (t, c) = fake_tree();
    let d = t.path().to_str().unwrap();
    let plain = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec![
                "--tree",
                plain.path().to_str().unwrap(),
                "--good",
                "a",
                "--bad",
                "b",
            ],
            format!("--tree {}: not a git tree", plain.path().display()),
        ),
        (
            vec!["--tree", d, "--good", "v0.0", "--bad", "HEAD"],
            "--good v0.0: no such revision in the git tree".into(),
        ),
        (
            vec!["--tree", d, "--good", &c[1], "--bad", &c[0]],
            "is not an ancestor of --bad".into(),
        ),
        (
            vec![
                "--tree",
                d,
                "--good",
                &c[0],
                "--bad",
                &c[1],
                "--case",
                "error.EINVAL.typo",
            ],
            "--case error.EINVAL.typo: matches no case".into(),
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["bisect"];
        all.extend_from_slice(&args);
        all.extend_from_slice(&CELL);
        let o = kmatrix(&all);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {t}");
        assert!(t.contains(&want), "{args:?}: want {want:?} in {t}");
        assert!(
            !t.contains("building"),
            "{args:?}: built before refusing: {t}"
        );
    }
    let o = kmatrix(&["bisect", "--resume", "--tree", d]);
    assert!(text(&o).contains("no bisection of"), "{}", text(&o));
}
