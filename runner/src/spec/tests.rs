//! The spec model and its readers: kmatrix's files, both upstream DSL
//! forms, both JSON shapes, and every malformed-input path.

use super::source;
use super::*;

fn all() -> Vec<Spec> {
    load_dir(&default_dir()).expect("every spec/ file parses")
}

#[test]
fn every_spec_file_parses() {
    let specs = all();
    let names: Vec<&str> = specs.iter().map(|s| s.syscall.as_str()).collect();
    assert_eq!(
        names,
        [
            "io_cancel",
            "io_destroy",
            "io_getevents",
            "io_pgetevents",
            "io_setup",
            "io_submit"
        ]
    );
    for s in &specs {
        assert!(!s.params.is_empty(), "{}", s.syscall);
        assert!(!s.errors.is_empty(), "{}", s.syscall);
        assert!(s.ret.is_some(), "{}", s.syscall);
        assert!(
            s.errors.iter().any(|e| e.name == "ENOSYS") || s.syscall == "io_setup",
            "{} lists ENOSYS",
            s.syscall
        );
    }
}

#[test]
fn embedded_is_every_file() {
    let mut files: Vec<String> = std::fs::read_dir(default_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with("-kapi-spec.txt"))
        .collect();
    files.sort();
    let embedded: Vec<&str> = EMBEDDED.iter().map(|e| e.0).collect();
    assert_eq!(files, embedded, "spec::EMBEDDED must list every spec file");
    assert_eq!(builtin().unwrap(), all());
}

#[test]
fn io_setup_seed_model() {
    let s = all().into_iter().find(|s| s.syscall == "io_setup").unwrap();
    let nr = s.param("nr_events").unwrap();
    assert_eq!(nr.ty, ParamType::Uint);
    assert_eq!(nr.range, Some((Bound::Num(1), Bound::Num(8388608))));
    let ctxp = s.param("ctxp").unwrap();
    assert!(ctxp.written() && ctxp.has(ParamFlag::User));
    let errs: Vec<&str> = s.errors.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(errs, ["EFAULT", "EINVAL", "EAGAIN", "ENOMEM", "EINTR"]);
    assert_eq!(s.locks.len(), 4);
    assert_eq!(s.signals[0].name, "SIGKILL");
    assert_eq!(s.signals[0].error, "-EINTR");
    assert_eq!(s.side_effects.len(), 7);
    assert_eq!(s.side_effects[6].target, "aio_nr (global counter)");
    assert_eq!(s.state_trans[1].to, "aio_nr = N + nr_events");
    assert_eq!(s.constraints[0].expr, "aio_nr + nr_events <= aio_max_nr");
    assert!(s.notes.contains("\n\n"), "paragraphs kept");
    assert!(nr.constraint.ends_with("for per-CPU batching."));
    assert!(s.clauses().contains(&Clause {
        kind: "error",
        name: "EAGAIN".into()
    }));
}

#[test]
fn family_models() {
    let specs = all();
    let ge = specs.iter().find(|s| s.syscall == "io_getevents").unwrap();
    let min = ge.param("min_nr").unwrap();
    assert_eq!(min.range, Some((Bound::Num(0), Bound::Param("nr".into()))));
    assert_eq!(min.out_of_range.as_deref(), Some("EINVAL"));
    let t = ge.param("timeout").unwrap();
    assert!(t.has(ParamFlag::Optional));
    assert_eq!(t.fault, Some(Fault::Errno("EFAULT".into())));
    let cancel = specs.iter().find(|s| s.syscall == "io_cancel").unwrap();
    assert_eq!(
        cancel.ret.as_ref().unwrap().base.as_deref(),
        Some("EINPROGRESS")
    );
    assert_eq!(
        cancel.param("iocb").unwrap().base.as_deref(),
        Some("pending-poll")
    );
    // Outcomes the hints fix: a count, not just "OK".
    let sub = specs.iter().find(|s| s.syscall == "io_submit").unwrap();
    assert_eq!(sub.ret.as_ref().unwrap().base.as_deref(), Some("0"));
    assert_eq!(sub.param("nr").unwrap().in_range.as_deref(), Some("EFAULT"));
    assert_eq!(ge.param("nr").unwrap().in_range.as_deref(), Some("0"));
    assert!(cancel
        .errors
        .iter()
        .any(|e| e.name == "EAGAIN" && e.untestable.is_some()));
    assert!(cancel.kernel_read.contains("6.12"));
}

const GOOD: &str = "/**\n * sys_x - X\n * @a: the a\n *\n * param: a\n *   type: KAPI_TYPE_UINT\n *   flags: KAPI_PARAM_IN\n *   range: 0, 4\n *\n * error: EINVAL, bad\n *   desc: when a > 4\n *     really.\n */\n";

fn bad(text: &str) -> SpecError {
    match parse(text) {
        Ok(s) => panic!("parsed: {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn small_block() {
    let s = parse(GOOD).unwrap();
    assert_eq!(s.syscall, "x");
    assert_eq!(s.errors[0].desc, "when a > 4 really.");
    assert_eq!(
        s.clauses(),
        vec![
            Clause {
                kind: "param",
                name: "a".into()
            },
            Clause {
                kind: "error",
                name: "EINVAL".into()
            }
        ]
    );
}

#[test]
fn malformed_blocks_name_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("nothing here", 1, "no kernel-doc block"),
        (&GOOD.replace(" */\n", ""), 12, "not closed"),
        (&GOOD.replace("sys_x - X", "x - X"), 2, "sys_"),
        (&GOOD.replace("sys_x - X", "sys_x"), 2, "first line"),
        (
            &GOOD.replace("KAPI_TYPE_UINT", "KAPI_TYPE_BLOB"),
            6,
            "unknown param type",
        ),
        (
            &GOOD.replace("KAPI_PARAM_IN", "KAPI_PARAM_SIDEWAYS"),
            7,
            "unknown param flag",
        ),
        (&GOOD.replace("0, 4", "0 4"), 8, "low, high"),
        (&GOOD.replace("0, 4", "0, 4x"), 8, "not a number"),
        (&GOOD.replace("0, 4", "0, b"), 5, "names no param"),
        (
            &GOOD.replace("EINVAL, bad", "EWHAT?, bad"),
            10,
            "errno name",
        ),
        (
            &GOOD.replace("   desc: when", "   colour: when"),
            11,
            "unknown field",
        ),
        (
            &GOOD.replace(" * error:", " * mistake:"),
            10,
            "unknown clause",
        ),
        (
            &GOOD.replace("   desc: when", "  desc: when"),
            11,
            "three spaces",
        ),
        (&GOOD.replace(" *   range", "    range"), 8, "' * ' line"),
        (
            &GOOD.replace(" * @a: the a\n", ""),
            4,
            "not one of the @arguments",
        ),
        (
            &GOOD.replace(" * error: EINVAL, bad\n", " * state-trans: a\n *   to: b\n"),
            10,
            "no from field",
        ),
        (
            &GOOD.replace(
                " *   flags: KAPI_PARAM_IN\n",
                " *   flags: KAPI_PARAM_IN\n *   flags: KAPI_PARAM_IN\n",
            ),
            8,
            "twice",
        ),
        (
            &GOOD.replace(" * param: a\n", " *   stray: 1\n * param: a\n"),
            5,
            "before any clause",
        ),
    ];
    for (text, line, needle) in cases {
        let e = bad(text);
        assert!(
            e.msg.contains(needle) && e.line == *line,
            "want line {line} with {needle:?}, got {e}"
        );
    }
}

#[test]
fn arbitrary_text_never_panics() {
    for n in 0..GOOD.len() {
        let _ = parse(&GOOD[..n]);
        let mut s = GOOD.to_string();
        s.insert(n, ':');
        let _ = parse(&s);
    }
}

// ---- upstream forms (fixtures written for these tests, same syntax) ----

const LONG_C: &str = include_str!("fixtures/long-form.c");
const SHORT_C: &str = include_str!("fixtures/short-form.c");
const DEBUGFS_JSON: &str = include_str!("fixtures/debugfs-sys_frob.json");
const KAPI_JSON: &str = include_str!("fixtures/kapi-frob.json");

fn specs_of(text: &str) -> (Vec<(Spec, Vec<Warning>)>, Vec<Warning>) {
    let (blocks, skipped) = dsl::blocks(text);
    let v = blocks
        .into_iter()
        .map(|b| {
            b.result
                .unwrap_or_else(|e| panic!("block at {}: {e}", b.line))
        })
        .collect();
    (v, skipped)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn long_form_c_file() {
    let (v, skipped) = specs_of(LONG_C);
    // frob_helper is plain kernel-doc; widget_poke is KAPI but no syscall.
    let names: Vec<&str> = v.iter().map(|s| s.0.syscall.as_str()).collect();
    assert_eq!(names, ["frob", "unfrob"]);
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0].msg.contains("widget_poke")
            && skipped[0].line == line_of(LONG_C, "widget_poke - a")
    );
    let (s, w) = &v[0];
    assert_eq!(s.context_flags, ["KAPI_CTX_PROCESS", "KAPI_CTX_SLEEPABLE"]);
    let count = s.param("count").unwrap();
    assert_eq!(count.range, Some((Bound::Num(1), Bound::Num(4096))));
    assert_eq!(
        count.constraint_type.as_deref(),
        Some("KAPI_CONSTRAINT_RANGE")
    );
    assert!(
        count.constraint.ends_with("Note: at least one."),
        "a sentence with a colon is text"
    );
    assert_eq!(s.param("flags").unwrap().mask, Some(3));
    assert!(s.param("out").unwrap().written());
    let r = s.ret.as_ref().unwrap();
    assert_eq!(r.success_value, Some(Success::AtLeast(0)));
    assert_eq!(r.check_type, "KAPI_RETURN_ERROR_CHECK");
    // Two EINVAL conditions are one clause; the driver-specific one is skipped.
    let errs: Vec<&str> = s.errors.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(errs, ["EINVAL", "EFAULT"]);
    assert!(s.errors[0].desc.contains("4096") && s.errors[0].desc.contains("0x3"));
    assert_eq!(s.signals[0].error, "-EINTR");
    assert_eq!(s.locks[0].ty, "KAPI_LOCK_MUTEX");
    assert_eq!(
        s.side_effects[0].kind,
        "KAPI_EFFECT_MODIFY_STATE | KAPI_EFFECT_ALLOC_MEMORY"
    );
    assert_eq!(s.state_trans[0].to, "frobbed");
    assert_eq!(s.since, "9.9");
    assert!(s.long_desc.contains("\n\nA second paragraph"));
    // Quirks are warnings naming their line.
    let skip_line = line_of(LONG_C, "(widget-specific)");
    assert!(
        w.iter()
            .any(|w| w.line == skip_line && w.msg.contains("names no errno")),
        "{w:?}"
    );
    let sig_line = line_of(LONG_C, "error: -EINTR");
    assert!(
        w.iter()
            .any(|w| w.line == sig_line && w.msg.contains("inside signal")),
        "{w:?}"
    );
    let (u, uw) = &v[1];
    assert_eq!(
        u.ret.as_ref().unwrap().success_value,
        Some(Success::Errno("EINPROGRESS".into()))
    );
    assert!(uw.iter().any(|w| w.msg.contains("-EINPROGRESS")));
    assert_eq!(
        u.param("id").unwrap().range,
        Some((Bound::Num(0), Bound::Symbol("WIDGET_MAX".into())))
    );
    assert!(uw.iter().any(|w| w.msg.contains("WIDGET_MAX")));
}

/// The structural clauses both forms share (the short form has no
/// since-version; the long fixture has no capability).
fn structure(s: &Spec) -> String {
    let mut s = s.clone();
    s.since.clear();
    s.capabilities.clear();
    for p in &mut s.params {
        p.line = 0;
    }
    for e in &mut s.errors {
        e.line = 0;
    }
    for t in &mut s.state_trans {
        t.condition.clear();
    }
    if let Some(r) = &mut s.ret {
        r.ty.clear();
        r.check_type.clear();
    }
    format!("{s:?}")
}

#[test]
fn short_form_reads_as_the_long_form() {
    let (long, _) = specs_of(LONG_C);
    let (short, _) = specs_of(SHORT_C);
    let (s, w) = &short[0];
    assert_eq!(s.capabilities[0].name, "CAP_SYS_ADMIN");
    assert_eq!(s.capabilities[0].action, "KAPI_CAP_BYPASS_CHECK");
    assert!(
        s.param("out").unwrap().has(ParamFlag::User),
        "user_ptr adds USER"
    );
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(structure(&long[0].0), structure(s));
}

#[test]
fn both_json_shapes_read_as_the_block() {
    let (long, _) = specs_of(LONG_C);
    let want = &long[0].0;
    for (text, shape) in [
        (DEBUGFS_JSON, json::Shape::Debugfs),
        (KAPI_JSON, json::Shape::KapiTool),
    ] {
        let (s, got_shape, w) = json::parse(text).unwrap();
        assert_eq!(got_shape, shape);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.syscall, "frob");
        assert_eq!(s.context_flags, want.context_flags, "{shape:?}");
        assert_eq!(
            s.param("count").unwrap().range,
            want.param("count").unwrap().range
        );
        assert_eq!(s.param("flags").unwrap().mask, Some(3));
        assert_eq!(
            s.param("out").unwrap().flags,
            want.param("out").unwrap().flags
        );
        assert_eq!(
            s.ret.as_ref().unwrap().success_value,
            Some(Success::AtLeast(0))
        );
        let errs: Vec<&str> = s.errors.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(errs, ["EINVAL", "EFAULT"]);
        assert_eq!(s.signals[0].error, "-EINTR");
        assert_eq!(s.signals[0].timing, "KAPI_SIGNAL_TIME_DURING");
        assert_eq!(s.locks[0].ty, "KAPI_LOCK_MUTEX");
        assert_eq!(
            s.side_effects[0].kind,
            "KAPI_EFFECT_ALLOC_MEMORY | KAPI_EFFECT_MODIFY_STATE"
        );
        assert_eq!(s.state_trans[0], want.state_trans[0]);
        assert_eq!(s.constraints, want.constraints);
        assert_eq!(s.args, want.args);
    }
}

#[test]
fn malformed_json_names_line_or_key() {
    let cases: Vec<(String, usize, &str)> = vec![
        (DEBUGFS_JSON.replace("\"version\": 1,", "\"version\": 1"), 4, "not JSON"),
        ("[1, 2]".into(), 1, "an object"),
        ("{\"apis\": [{\"name\": \"sys_frob\"}]}".into(), 1, "list output"),
        ("{\"hello\": 1}".into(), 1, "neither"),
        (
            DEBUGFS_JSON.replace("\"type_class\": \"uint\",\n      \"flags\": \"0x1\",\n      \"description\": \"How", "\"type_class\": \"ulong\",\n      \"flags\": \"0x1\",\n      \"description\": \"How"),
            11,
            "parameters[0].type_class: unknown token",
        ),
        (DEBUGFS_JSON.replace("\"flags\": \"0x42\"", "\"flags\": \"42\""), 29, "parameters[1].flags: expected a hex string"),
        (DEBUGFS_JSON.replace("\"context_flags\": \"0x21\"", "\"context_flags\": \"0x100\""), 6, "unknown bits"),
        (DEBUGFS_JSON.replace("\"name\": \"sys_frob\"", "\"name\": \"frob\""), 2, "sys_NAME"),
        (DEBUGFS_JSON.replace("\"code\": -14", "\"code\": -22"), 79, "code -22 is EINVAL"),
        (KAPI_JSON.replace("\"lock_type\": 1", "\"lock_type\": 99"), 115, "lock_type: unknown value"),
        (KAPI_JSON.replace("\"timing\": 1", "\"timing\": 7"), 129, "expected 0, 1 or 2"),
        (DEBUGFS_JSON.replace("\"capabilities\": [],", "\"capabilities\": {},"), 98, "capabilities: expected an array"),
    ];
    for (text, line, needle) in cases {
        match json::parse(&text) {
            Ok(s) => panic!("parsed, wanted {needle:?}: {:?}", s.0.syscall),
            Err(e) => assert!(
                e.msg.contains(needle) && e.line == line,
                "want line {line} with {needle:?}, got {e}"
            ),
        }
    }
}

#[test]
fn malformed_upstream_forms_name_the_line() {
    let cases: Vec<(String, usize, &str)> = vec![
        (
            SHORT_C.replace("contexts: process, sleepable", "contexts: process, dozing"),
            14,
            "unknown context",
        ),
        (
            LONG_C.replace(
                "KAPI_CTX_PROCESS | KAPI_CTX_SLEEPABLE",
                "KAPI_CTX_PROCESS | KAPI_CTX_NAPPING",
            ),
            22,
            "unknown context flag",
        ),
        (
            SHORT_C.replace("range(1, 4096)", "ranged(1, 4096)"),
            18,
            "unknown constraint type",
        ),
        (
            SHORT_C.replace("range(1, 4096)", "range(1 4096)"),
            18,
            "low, high",
        ),
        (
            SHORT_C.replace("constraint-type: user_ptr", "constraint-type: buffer(two)"),
            24,
            "param index",
        ),
        (
            SHORT_C.replace("constraint-type: user_ptr", "constraint-type: buffer(7)"),
            21,
            "size-param 7 names no param",
        ),
        (
            SHORT_C.replace("constraint-type: user_ptr", "constraint-type: nonzero(1)"),
            24,
            "takes no arguments",
        ),
        (
            SHORT_C.replace("check-type: error_check", "check-type: mostly"),
            33,
            "check-type",
        ),
        (
            SHORT_C.replace("lock: frob_lock, mutex", "lock: frob_lock"),
            46,
            "no type field",
        ),
        (
            LONG_C.replace("KAPI_LOCK_MUTEX", "KAPI_LOCK_BOLT"),
            63,
            "unknown lock type",
        ),
        (
            SHORT_C.replace("mask(0x3)", "mask(0x1ffffffffffffffff)"),
            29,
            "not a u64",
        ),
        (
            SHORT_C.replace(
                "type: uint, input\n *   constraint-type: mask",
                "type: uint, sideways\n *   constraint-type: mask",
            ),
            28,
            "unknown param flag",
        ),
        (
            SHORT_C.replace(
                " *   constraint-type: mask(0x3)\n",
                " *   constraint-type: mask(0x3)\n *   valid-mask: 0x3\n",
            ),
            30,
            "mask given twice",
        ),
        (
            SHORT_C.replace(
                "state-trans: widget, idle, frobbed, Frobbed widgets stay frobbed.",
                "state-trans: widget",
            ),
            63,
            "no from field",
        ),
        (
            LONG_C.replace(
                " *   range: 1, 4096\n",
                " *   range: 1, 4096\n *   rnage: 1, 2\n",
            ),
            29,
            "unknown field \"rnage\"",
        ),
        (
            LONG_C.replace(" * since-version: 9.9\n", " * sinse-version: 9.9\n"),
            93,
            "unknown clause",
        ),
    ];
    for (text, line, needle) in cases {
        let (blocks, _) = dsl::blocks(&text);
        let e = blocks
            .into_iter()
            .find_map(|b| b.result.err())
            .unwrap_or_else(|| panic!("no error, wanted {needle:?}"));
        assert!(
            e.msg.contains(needle) && e.line == line,
            "want line {line} with {needle:?}, got {e}"
        );
    }
}

#[test]
fn truncated_or_garbled_input_never_panics() {
    for text in [LONG_C, SHORT_C, DEBUGFS_JSON, KAPI_JSON] {
        for n in (0..text.len()).step_by(7) {
            if !text.is_char_boundary(n) {
                continue;
            }
            let cut = &text[..n];
            let _ = dsl::blocks(cut);
            let _ = json::parse(cut);
            let mut s = text.to_string();
            s.insert(n, ':');
            let _ = dsl::blocks(&s);
            let _ = json::parse(&s);
        }
    }
}

#[test]
fn source_load_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("linux");
    std::fs::create_dir_all(tree.join("fs")).unwrap();
    std::fs::create_dir_all(tree.join("kernel")).unwrap();
    std::fs::write(tree.join("fs/frob.c"), LONG_C).unwrap();
    std::fs::write(tree.join("kernel/plain.c"), "int x;\n").unwrap();
    let broken = SHORT_C
        .replace("sys_frob", "sys_frob2")
        .replace("contexts: process, sleepable", "contexts: dozing");
    std::fs::write(tree.join("kernel/broken.c"), broken).unwrap();
    let found = source::load(&tree).unwrap();
    assert_eq!(found.files_scanned, 3);
    assert_eq!(found.files_parsed, 2, "plain.c has no KAPI marker");
    let names: Vec<&str> = found
        .specs
        .iter()
        .map(|l| l.spec.syscall.as_str())
        .collect();
    assert_eq!(names, ["frob", "unfrob"]);
    let frob = found.one("frob").unwrap().unwrap();
    assert_eq!(frob.origin.author, source::Author::Upstream);
    assert_eq!(frob.origin.line, line_of(LONG_C, "sys_frob - ") - 1);
    assert_eq!(frob.origin.sha256, source::sha256_hex(LONG_C.as_bytes()));
    assert!(frob
        .warnings
        .iter()
        .any(|w| w.contains("fs/frob.c:") && w.contains("names no errno")));
    assert_eq!(found.errors.len(), 1);
    assert!(
        found.errors[0].contains("kernel/broken.c:14: unknown context"),
        "{:?}",
        found.errors
    );
    assert!(found.warnings.iter().any(|w| w.contains("widget_poke")));
    // A debugfs specs-json directory and a kapi output file.
    let dj = dir.path().join("specs-json");
    std::fs::create_dir_all(&dj).unwrap();
    std::fs::write(dj.join("sys_frob"), DEBUGFS_JSON).unwrap();
    let f = source::load(&dj).unwrap();
    assert_eq!(f.specs[0].origin.form, "debugfs-json");
    let kj = dir.path().join("frob.json");
    std::fs::write(&kj, KAPI_JSON.replace("\"flags\": 66", "\"flags\": \"x\"")).unwrap();
    let f = source::load(&kj).unwrap();
    assert!(
        f.errors[0].starts_with(&format!("{}:", kj.display())),
        "{:?}",
        f.errors
    );
    // Not there at all.
    assert!(source::load(&dir.path().join("nope")).is_err());
}

/// The upstream AIO blocks (../shared, GPL text: read here, never copied).
#[test]
fn upstream_aio_blocks_parse() {
    let p = default_dir().join("../../shared/reference/upstream-kapi/fs-aio-kapi-kerneldoc.txt");
    let p = if p.exists() {
        p
    } else {
        default_dir().join("../../../shared/reference/upstream-kapi/fs-aio-kapi-kerneldoc.txt")
    };
    if !p.exists() {
        println!("skipped: {} is absent (CI has ../shared)", p.display());
        return;
    }
    let found = source::load(&p).unwrap();
    assert!(found.errors.is_empty(), "{:?}", found.errors);
    let names: Vec<&str> = found
        .specs
        .iter()
        .map(|l| l.spec.syscall.as_str())
        .collect();
    assert_eq!(names, ["io_setup", "io_destroy", "io_submit", "io_cancel"]);
    let setup = &found.specs[0].spec;
    assert_eq!(
        setup.param("nr_events").unwrap().range,
        Some((Bound::Num(1), Bound::Num(8388608)))
    );
    let cancel = &found.specs[3];
    assert_eq!(
        cancel.spec.ret.as_ref().unwrap().success_value,
        Some(Success::Errno("EINPROGRESS".into()))
    );
    assert!(cancel
        .warnings
        .iter()
        .any(|w| w.contains("(driver-specific)")));
    let submit = &found.specs[2].spec;
    assert_eq!(
        submit.ret.as_ref().unwrap().success_value,
        Some(Success::AtLeast(0))
    );
    assert!(found.specs[0]
        .warnings
        .iter()
        .any(|w| w.contains("inside signal")));
}

// ---- hints (spec/hints/<syscall>.toml) ----

fn frob() -> Spec {
    specs_of(LONG_C).0.remove(0).0
}

#[test]
fn a_block_without_hints_still_gives_generic_cases() {
    // Upstream-style block, no kmatrix field, no hint file: baseline values
    // come from the model (pointer: a buffer, range: its low end, mask: 0).
    let cases = crate::spec::cases::generate(&frob()).unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    for want in [
        "frob.return.base",
        "frob.param.out.null",
        "frob.param.count.range/0",
        "frob.param.count.range/4097",
        "frob.param.flags.mask/unknown-bit-2",
    ] {
        assert!(ids.contains(&want), "{want} not in {ids:?}");
    }
}

#[test]
fn hints_lay_over_a_spec_and_name_what_it_lacks() {
    let ok = "[param.count]\nbase = \"3\"\nout-of-range = \"EINVAL\"\n\n[param.out]\nfault = \"none\"\n\n[return]\nbase = \"EINVAL\"\n\n[error.EFAULT]\nuntestable = \"because\"\n";
    let h = hints::parse("h.toml", ok).unwrap();
    let s = hints::apply(frob(), &h, "h.toml", ok).unwrap();
    assert_eq!(s.param("count").unwrap().base.as_deref(), Some("3"));
    assert_eq!(s.param("out").unwrap().fault, Some(Fault::None));
    assert_eq!(s.ret.as_ref().unwrap().base.as_deref(), Some("EINVAL"));
    assert_eq!(s.errors[1].untestable.as_deref(), Some("because"));
    let cases: &[(&str, &str)] = &[
        (
            "[param.widgets]\nbase = \"1\"\n",
            "h.toml:1: hint for param widgets, but the spec of frob has no param widgets",
        ),
        (
            "\n[error.EPERM]\nuntestable = \"x\"\n",
            "h.toml:2: hint for error EPERM, but the spec of frob has no error EPERM",
        ),
        (
            "[param.count]\nbase = \"many\"\n",
            "h.toml:1: param count: base \"many\"",
        ),
        (
            "[param.count]\nfault = \"EFAULT\"\n",
            "fault is for user pointers",
        ),
        (
            "[param.out]\nout-of-range = \"EINVAL\"\n",
            "no range or mask",
        ),
        ("[param.out]\nfault = \"EWHAT?\"\n", "not an errno name"),
        (
            "[param.count]\nbsae = \"1\"\n",
            "h.toml:2: unknown field `bsae`",
        ),
        (
            "[return]\nbase = \"fine\"\n",
            "return base \"fine\" is not OK, a count or an errno name",
        ),
        (
            "[param.count]\nin-range = \"lots\"\n",
            "in-range \"lots\" is not OK, a count or an errno name",
        ),
    ];
    for (text, needle) in cases {
        let r = hints::parse("h.toml", text).and_then(|h| hints::apply(frob(), &h, "h.toml", text));
        match r {
            Ok(_) => panic!("applied, wanted {needle:?}"),
            Err(e) => assert!(e.to_string().contains(needle), "want {needle:?}, got {e}"),
        }
    }
    // A hint may not contradict the same hint written inline.
    let inline = LONG_C.replace(
        " *   constraint: Writable.\n",
        " *   constraint: Writable.\n *   kmatrix-fault: EFAULT\n",
    );
    let s = specs_of(&inline).0.remove(0).0;
    let text = "[param.out]\nfault = \"none\"\n";
    let e = hints::apply(s, &hints::parse("h.toml", text).unwrap(), "h.toml", text).unwrap_err();
    assert!(e.to_string().contains("inline in the spec block"), "{e}");
}

/// The move out of the blocks changed nothing the oracle sees: spec/ has
/// no kmatrix field left, and the hints give each shipped spec its cases
/// (the guest catalogue test checks they are the same cases).
#[test]
fn shipped_specs_carry_no_hint_inline() {
    for (name, text) in EMBEDDED {
        assert!(
            !text.contains("kmatrix-"),
            "spec/{name} still has a kmatrix- field"
        );
    }
    for (sys, text) in hints::EMBEDDED {
        let spec = all().into_iter().find(|s| s.syscall == *sys).unwrap();
        let raw = parse(
            EMBEDDED
                .iter()
                .find(|e| e.0.starts_with(&format!("{sys}-")))
                .unwrap()
                .1,
        )
        .unwrap();
        let h = hints::parse(sys, text).unwrap();
        assert_eq!(hints::apply(raw, &h, sys, text).unwrap(), spec);
    }
    // Kmatrix's hints fit upstream's blocks of the same syscalls.
    let p = default_dir().join("../../shared/reference/upstream-kapi/fs-aio-kapi-kerneldoc.txt");
    if !p.exists() {
        println!("skipped the upstream half: {} is absent", p.display());
        return;
    }
    let mut failed = Vec::new();
    for l in source::load(&p).unwrap().specs {
        match hints::apply_builtin(l.spec) {
            Ok(s) => {
                crate::spec::cases::generate(&s).unwrap();
            }
            Err(e) => failed.push(e.to_string()),
        }
    }
    // Upstream's io_destroy lists no EFAULT and its io_cancel no EAGAIN
    // (both from the man page); kmatrix's hints say why none can come: a
    // hint about a clause the spec lacks is an error.
    failed.sort();
    assert_eq!(
        failed,
        [
            "spec/hints/io_cancel.toml:20: hint for error EAGAIN, but the spec of io_cancel has no error EAGAIN",
            "spec/hints/io_destroy.toml:12: hint for error EFAULT, but the spec of io_destroy has no error EFAULT",
        ]
    );
}

// ---- diff ----

#[test]
fn diff_lists_each_changed_clause() {
    let a = frob();
    let edited = LONG_C
        .replace("range: 1, 4096", "range: 1, 2048")
        .replace(
            " * error: EFAULT, out not writable\n *   desc: put_user(out) failed.\n",
            " * error: ENOSPC, no room\n *   desc: full.\n",
        )
        .replace("success: >= 0", "success: 0")
        .replace("   to: frobbed", "   to: frozen")
        .replace("KAPI_CTX_PROCESS | KAPI_CTX_SLEEPABLE", "KAPI_CTX_PROCESS")
        .replace("desc: Serialises frobs.", "desc: Other words.");
    let b = specs_of(&edited).0.remove(0).0;
    let (changes, prose) = diff::diff(&a, &b);
    let got: Vec<String> = changes
        .iter()
        .map(|c| format!("{}|{}|{}|{}", c.clause, c.field, c.a, c.b))
        .collect();
    assert_eq!(
        got,
        [
            "contexts||KAPI_CTX_PROCESS | KAPI_CTX_SLEEPABLE|KAPI_CTX_PROCESS",
            "param count|range|1..4096|1..2048",
            "return|success|>= 0|0",
            "error EFAULT||present|(absent)",
            "error ENOSPC||(absent)|present",
            "state-trans widget|to|frobbed|frozen",
        ]
    );
    // Lock prose is not compared; error prose of a shared clause is.
    assert!(prose.is_empty(), "{prose:?}");
    // The same spec in every form: nothing structural differs.
    let (short, _) = specs_of(SHORT_C);
    let (mut changes, _) = diff::diff(&a, &short[0].0);
    // The short fixture has a capability and a flat state-trans (no
    // condition) the long one has not.
    changes.retain(|c| !c.clause.starts_with("capability") && c.field != "condition");
    assert_eq!(changes, vec![], "long vs short");
    // kapi --source does not read size:, so its JSON has none.
    for (text, size) in [(DEBUGFS_JSON, "8"), (KAPI_JSON, "-")] {
        let (j, _, _) = json::parse(text).unwrap();
        let (changes, prose) = diff::diff(&a, &j);
        // The JSON holds what the compiler made of size (8) and, to carry
        // `>= 0`, a range check (the generator drops success otherwise).
        let got: Vec<String> = changes
            .iter()
            .map(|c| format!("{}|{}|{}|{}", c.clause, c.field, c.a, c.b))
            .collect();
        assert_eq!(
            got,
            [
                format!("param out|size|sizeof(u64)|{size}"),
                "return|check-type|KAPI_RETURN_ERROR_CHECK|KAPI_RETURN_RANGE".into()
            ],
            "long vs json"
        );
        assert!(prose.is_empty(), "{prose:?}");
    }
}

// ---- which spec a run judges against ----

#[test]
fn a_tree_block_replaces_kmatrix_spec_for_its_syscall_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("fs")).unwrap();
    // A tree's io_submit block: kmatrix's own text, range edited.
    let (_, text) = EMBEDDED
        .iter()
        .find(|e| e.0.starts_with("io_submit"))
        .unwrap();
    let block = text.replace("range: 0, LONG_MAX", "range: 1, LONG_MAX");
    std::fs::write(
        dir.path().join("fs/aio.c"),
        format!("// aio\n{block}SYSCALL_DEFINE3(io_submit, ...)\n"),
    )
    .unwrap();
    let set = source::SpecSet::resolve(dir.path()).unwrap();
    assert!(!set.is_builtin());
    let sub = set.get("io_submit").unwrap();
    assert_eq!(sub.author, "upstream");
    assert!(
        sub.path.ends_with("fs/aio.c") && sub.line == 2,
        "{}",
        sub.label()
    );
    assert_eq!(
        sub.spec.param("nr").unwrap().range,
        Some((Bound::Num(1), Bound::Num(i64::MAX as i128)))
    );
    assert_eq!(
        sub.spec.param("ctx_id").unwrap().base.as_deref(),
        Some("ctx"),
        "hints laid over"
    );
    assert_eq!(set.get("io_setup").unwrap().author, "kmatrix");
    // A malformed block anywhere stops the run before it starts.
    std::fs::write(
        dir.path().join("fs/bad.c"),
        SHORT_C.replace("contexts: process, sleepable", "contexts: dozing"),
    )
    .unwrap();
    let e = source::SpecSet::resolve(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("fs/bad.c:14: unknown context") && e.contains("--spec-source builtin"),
        "{e}"
    );
}
