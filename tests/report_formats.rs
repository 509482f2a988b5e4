//! Report formats read by other tools: KCIDB JSON checked with kcidb-io's
//! own schema validator (PyPI), and the HTML page loaded by headless
//! Chromium (Debian), its DOM checked and a screenshot taken. The report is
//! built here (no VM): an 8-cell matrix with every verdict.

mod common;
use common::*;

use kmatrix::matrix::Axes;
use kmatrix::oracle::{Case, Verdict};
use kmatrix::report::{CellStatus, KernelInfo, Report};
use std::path::Path;
use std::process::{Command, Stdio};

fn case(id: &str, v: Verdict, expected: &str, observed: &str, detail: &str) -> Case {
    Case {
        id: id.into(),
        experiment: id.split(['/', ':']).next().unwrap().into(),
        expected: expected.into(),
        observed: observed.into(),
        verdict: v,
        detail: detail.into(),
    }
}

/// A report over {x86_64, arm64} x {aio-on x max{default,65536,2^64-1}, aio-off}, with passes, a FAIL, known deviations, skips, errors, exec
/// sub-cases and one cell that panicked.
fn sample(out: &Path) -> Report {
    let mut axes = Axes::default_matrix(kmatrix::matrix::arch::by_names(&[]).unwrap());
    axes.aio_max_nr = vec![None, Some(65536), Some(u64::MAX)];
    let mut cells = Vec::new();
    for c in axes.cells() {
        let dir = out.join(c.name.replace('/', "_"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("console.log"), format!("console of {}\n", c.name)).unwrap();
        let mut r =
            kmatrix::orchestration::run::empty_report(&c, &dir, CellStatus::Ok, String::new());
        r.kernel = Some(KernelInfo {
            image: format!("/cache/{}-{}/bzImage", c.arch, c.config).into(),
            version: "6.1.192".into(),
            source: "/usr/src/linux-source-6.1.tar.xz".into(),
            source_sha256: "ab".repeat(32),
            key: format!("{}-{}-0123abcd", c.arch, c.config),
        });
        r.run_ms = 4200;
        r.timings.first_console_ms = Some(600);
        let aio = c.config == kmatrix::matrix::Config::AioOn;
        for i in 0..30 {
            r.cases.push(case(
                &format!("param.nr_events.range/{i}"),
                Verdict::Pass,
                "OK",
                "OK",
                "",
            ));
        }
        r.cases.push(if aio {
            case(
                "param.nr_events.range/4194305",
                Verdict::KnownDeviation,
                "OK",
                "EINVAL",
                "D1",
            )
        } else {
            case(
                "constraint.CONFIG_AIO.enosys",
                Verdict::Pass,
                "ENOSYS",
                "ENOSYS",
                "",
            )
        });
        if c.aio_max_nr == Some(u64::MAX) && c.arch.name == "arm64" {
            r.cases.push(case(
                "side-effect.aio-nr",
                Verdict::Fail,
                "aio_nr +1",
                "aio_nr +2",
                "observed <b>2</b> & more",
            ));
        }
        r.cases.push(case(
            "exec:/opt/ltp/io_setup01",
            if aio { Verdict::Pass } else { Verdict::Skip },
            "exit:0 (no TFAIL/TBROK/TWARN/TCONF)",
            if aio { "exit:0" } else { "exit:32" },
            if aio {
                ""
            } else {
                "io_setup01.c:57: TCONF: io_setup(): AIO not supported by kernel: ENOSYS (38)"
            },
        ));
        if c.name.starts_with("x86_64/aio-on/max65536") {
            r.cases.push(case(
                "exec:/opt/t/tap/deliberate",
                Verdict::Fail,
                "ok",
                "not ok",
                "# fails on purpose\nnot ok 2 deliberate",
            ));
            r.cases.push(case(
                "share:/opt/t",
                Verdict::Error,
                "mounted",
                "-",
                "no mount record from the guest",
            ));
        }
        if c.name.starts_with("arm64/aio-off") {
            r.status = CellStatus::Panic;
            r.status_detail = "kernel panic on the console".into();
            r.console_excerpt = "Kernel panic - not syncing: Attempted to kill init!".into();
        }
        cells.push(r);
    }
    Report::new(cells, vec![])
}

fn render(report: &Path, format: &str) -> String {
    let o = kmatrix(&["report", report.to_str().unwrap(), "--format", format]);
    assert!(!o.stdout.is_empty(), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn validate_kcidb(doc: &str) -> std::process::Output {
    let mut p = Command::new("python3")
        .args(["-c", "import json, sys, kcidb_io; kcidb_io.schema.LATEST.validate(json.load(sys.stdin)); print('valid')"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    p.stdin.take().unwrap().write_all(doc.as_bytes()).unwrap();
    p.wait_with_output().unwrap()
}

#[test]
fn kcidb_output_validates_with_kcidb_io() {
    let out = tempfile::tempdir().unwrap();
    let r = sample(out.path());
    let file = out.path().join("report.json");
    std::fs::write(&file, serde_json::to_string(&r).unwrap()).unwrap();
    let doc = render(&file, "kcidb");
    let v = validate_kcidb(&doc);
    assert!(
        v.status.success(),
        "kcidb-io rejects it (pip install kcidb-io; scripts/setup.sh): {}",
        text(&v)
    );
    let j: serde_json::Value = serde_json::from_str(&doc).unwrap();
    // A build per kernel (arch x config), a test per case and cell plus a boot test each.
    assert_eq!(j["builds"].as_array().unwrap().len(), 4);
    assert_eq!(j["checkouts"].as_array().unwrap().len(), 1);
    let n_cases: usize = r.cells.iter().map(|c| c.cases.len() + 1).sum();
    assert_eq!(j["tests"].as_array().unwrap().len(), n_cases);
    let tests = j["tests"].as_array().unwrap();
    let fail = tests
        .iter()
        .find(|t| t["status"] == "FAIL" && t["path"] == "kmatrix.side-effect.aio-nr")
        .unwrap();
    assert!(fail["log_excerpt"]
        .as_str()
        .unwrap()
        .contains("observed aio_nr +2"));
    assert!(
        tests
            .iter()
            .any(|t| t["path"] == "kmatrix.boot" && t["status"] == "FAIL"),
        "the panicked cell's boot"
    );
    assert!(tests.iter().any(|t| t["status"] == "SKIP"
        && t["log_excerpt"]
            .as_str()
            .is_some_and(|l| l.contains("TCONF"))));
    // The validator does reject what breaks the schema.
    let mut bad = j.clone();
    bad["tests"][0].as_object_mut().unwrap().remove("origin");
    assert!(
        !validate_kcidb(&bad.to_string()).status.success(),
        "validator accepted a test without origin"
    );
}

fn chromium(args: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (apt-get install chromium; scripts/setup.sh)")
}

#[test]
fn html_page_renders_in_chromium() {
    let out = tempfile::tempdir().unwrap();
    let r = sample(out.path());
    let file = out.path().join("report.json");
    std::fs::write(&file, serde_json::to_string(&r).unwrap()).unwrap();
    let html = render(&file, "html");
    for no in ["http://", "https://", "<script", " src="] {
        assert!(
            !html.contains(no),
            "the page must be self-contained: found {no}"
        );
    }
    let page = out.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let o = chromium(&["--dump-dom"], &page);
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && dom.contains("</html>"),
        "{}",
        text(&o)
    );
    // One grid per arch/config, each with its cells' console links.
    assert_eq!(
        dom.matches("<table class=\"grid\" data-group=").count(),
        4,
        "{dom}"
    );
    for c in &r.cells {
        let link = format!(
            "href=\"{}/console.log\"",
            c.artifacts.file_name().unwrap().to_string_lossy()
        );
        assert!(dom.contains(&link), "no {link}");
        assert!(out
            .path()
            .join(c.artifacts.file_name().unwrap())
            .join("console.log")
            .exists());
    }
    // Columns say what differs (no two alike), identical passing rows fold.
    assert!(
        dom.contains(">max65536<br>") && dom.contains(">max2^64-1<br>"),
        "{dom}"
    );
    assert!(
        dom.contains("31 cases pass in every cell of x86_64/aio-on"),
        "{dom}"
    );
    assert!(dom.contains("class=\"fail\""));
    // Deviations and exec results, each with evidence, in their own sections.
    let (spec, programs) = dom
        .split_once("id=\"programs\"")
        .expect("a programs section");
    assert!(
        spec.contains("id=\"deviations\"")
            && spec.contains("observed &lt;b&gt;2&lt;/b&gt; &amp; more")
    );
    assert!(!spec
        .split_once("id=\"deviations\"")
        .unwrap()
        .1
        .contains("exec:"));
    assert!(programs.contains("TCONF: io_setup(): AIO not supported"));
    // The same deviation in six cells is one entry naming them all.
    assert_eq!(
        spec.matches("<code>param.nr_events.range/4194305</code>")
            .count(),
        1
    );
    assert!(dom.contains("Kernel panic - not syncing"));
    assert!(dom.contains("id=\"overall\" class=\"fail\""));
    // A screenshot, kept where the closing note can point to it.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kmatrix-report.png");
    let _ = std::fs::remove_file(&shot);
    let o = chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1800",
            "--hide-scrollbars",
        ],
        &page,
    );
    assert!(shot.exists(), "no screenshot: {}", text(&o));
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    eprintln!("screenshot: {}", shot.display());
}

/// The table folds what only passes or skips, and never a case that failed,
/// deviated or could not be judged; `--verbose` lists every case.
#[test]
fn table_folds_quiet_rows_and_names_every_other() {
    let out = tempfile::tempdir().unwrap();
    let r = sample(out.path());
    let file = out.path().join("report.json");
    std::fs::write(&file, serde_json::to_string(&r).unwrap()).unwrap();
    let row = |table: &str, id: &str| {
        table
            .lines()
            .any(|l| l.split_whitespace().next() == Some(id))
    };
    let table = render(&file, "table");
    assert!(
        table.contains("(30 cases pass in every cell)"),
        "the 30 passing rows fold into one:\n{table}"
    );
    assert!(!row(&table, "param.nr_events.range/7"), "{table}");
    for c in &r.cells {
        for k in c.cases.iter().filter(|k| {
            matches!(
                k.verdict,
                Verdict::Fail | Verdict::KnownDeviation | Verdict::Error
            )
        }) {
            assert!(
                row(&table, &k.id),
                "{} ({:?}) folded away:\n{table}",
                k.id,
                k.verdict
            );
        }
    }
    // A pattern only one case has keeps its name (exec: pass in aio-on, skip in aio-off).
    assert!(row(&table, "exec:/opt/ltp/io_setup01"), "{table}");
    let o = kmatrix(&[
        "report",
        file.to_str().unwrap(),
        "--format",
        "table",
        "--verbose",
    ]);
    let verbose = String::from_utf8(o.stdout).unwrap();
    for i in 0..30 {
        assert!(
            row(&verbose, &format!("param.nr_events.range/{i}")),
            "{verbose}"
        );
    }
    assert!(!verbose.contains("cases pass in every cell"), "{verbose}");
}

/// Every format names, per syscall, the spec its cases were judged
/// against: path, sha256, upstream or kmatrix.
#[test]
fn every_format_names_the_spec_per_syscall() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = sample(dir.path());
    // What `run --kernel-src` records when the tree has an io_setup block.
    let u = r
        .specs
        .iter_mut()
        .find(|u| u.syscall == "io_setup")
        .unwrap();
    u.path = "/src/linux/fs/aio.c".into();
    u.line = 1369;
    u.author = "upstream".into();
    u.sha256 = "ab".repeat(32);
    let p = dir.path().join("report.json");
    std::fs::write(&p, serde_json::to_vec(&r).unwrap()).unwrap();
    let tree = "/src/linux/fs/aio.c:1369 (upstream, sha256 abababababab)";
    let own = "spec/io_submit-kapi-spec.txt:1 (kmatrix, sha256 ";
    let table = render(&p, "table");
    assert!(table.contains(&format!("spec io_setup: {tree}")), "{table}");
    assert!(table.contains(&format!("spec io_submit: {own}")), "{table}");
    let json: serde_json::Value = serde_json::from_str(&render(&p, "json")).unwrap();
    assert_eq!(json["specs"][4]["syscall"], "io_setup");
    assert_eq!(json["specs"][4]["author"], "upstream");
    assert_eq!(json["specs"][4]["path"], "/src/linux/fs/aio.c");
    let html = render(&p, "html");
    assert!(html.contains(&format!("io_setup judged against <code>{tree}</code>")));
    let kcidb: serde_json::Value = serde_json::from_str(&render(&p, "kcidb")).unwrap();
    assert_eq!(kcidb["checkouts"][0]["misc"]["specs"]["io_setup"], tree);
    let t = kcidb["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["path"].as_str().is_some_and(|p| p.contains("nr_events")))
        .expect("an io_setup case");
    assert_eq!(t["misc"]["spec"], tree);
}
