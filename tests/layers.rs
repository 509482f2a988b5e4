//! The module graph of the runner and the guest, read from their `crate::`
//! paths: no import cycle in either, and in the runner no module imports
//! from a layer that comes after its own (kernel build -> image assembly ->
//! VM launch -> result stream -> verdict -> report -> orchestration).
//! `cargo test --test layers` is the check; a new top-level module must be
//! placed in `RUNNER_LAYERS` below, and the failure says so.
//!
//! Edges are read as text, like a reader would: `crate::a::b` anywhere, and
//! the names inside `use crate::{a, b::c}`. A child module using its parent
//! (`crate::oracle::obs` from `oracle::judges::basic`) is structure, not an
//! edge; `#[cfg(test)]` modules are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The runner's top-level modules, lowest layer first. A module may import
/// from its own layer and the ones before it.
const RUNNER_LAYERS: &[(&str, &[&str])] = &[
    ("plumbing", &["util"]),
    ("cell data", &["matrix", "spec"]),
    ("kernel build", &["build"]),
    ("image assembly", &["image"]),
    ("VM launch", &["vm"]),
    ("result stream", &["stream"]),
    ("verdict", &["oracle"]),
    ("report", &["report"]),
    ("orchestration", &["orchestration"]),
    ("CLI", &["main", "lib"]),
];

fn src(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir)
}

/// Module path (`oracle::judges::basic`) -> file, for every .rs under `root`.
fn modules(root: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|x| x.to_str()) != Some("rs") {
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.iter().any(|x| x == "tests" || x.ends_with("_tests")) {
                continue;
            }
            if parts.len() > 1 && parts.last().is_some_and(|l| l == "mod") {
                parts.pop();
            }
            out.insert(parts.join("::"), p);
        }
    }
    out
}

/// The text of a file without its `#[cfg(test)]` modules (each runs from
/// the attribute to the end of the file in this code base's layout, or to
/// the matching brace).
fn without_tests(text: &str) -> String {
    let mut s = text.to_string();
    while let Some(at) = s.find("#[cfg(test)]") {
        let rest = &s[at..];
        let Some(open) = rest.find('{') else { break };
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, ch) in rest[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        s.replace_range(at..at + end, "");
    }
    s
}

/// `crate::` paths a file names: `crate::a::b::C` and each item of
/// `crate::{a::B, c}`, as lists of path segments.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(ident) {
            continue; // `kmatrix_crate::` or similar
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let segs: Vec<String> = item
                    .split("::")
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty() && s.chars().all(ident))
                    .collect();
                if !segs.is_empty() {
                    out.push(segs);
                }
            }
            continue;
        }
        let mut segs = Vec::new();
        let mut r = rest;
        loop {
            let n = r.find(|c: char| !ident(c)).unwrap_or(r.len());
            if n == 0 {
                break;
            }
            segs.push(r[..n].to_string());
            r = &r[n..];
            match r.strip_prefix("::") {
                Some(x) => r = x,
                None => break,
            }
        }
        if !segs.is_empty() {
            out.push(segs);
        }
    }
    out
}

/// Module -> the modules it imports from (the longest module prefix of each path).
fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(root);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, file) in &mods {
        let text = without_tests(&std::fs::read_to_string(file).unwrap());
        let to = g.entry(m.clone()).or_default();
        for segs in crate_paths(&text) {
            let target = (1..=segs.len())
                .rev()
                .map(|n| segs[..n].join("::"))
                .find(|k| mods.contains_key(k));
            if let Some(t) = target {
                if &t != m && !m.starts_with(&format!("{t}::")) {
                    to.insert(t);
                }
            }
        }
    }
    g
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn no_cycles(dir: &str) {
    let g = graph(&src(dir));
    let found = cycles(&g);
    let show: Vec<String> = found
        .iter()
        .map(|c| {
            let edges: Vec<String> = c
                .iter()
                .flat_map(|m| {
                    g[m].iter()
                        .filter(|t| c.contains(t))
                        .map(move |t| format!("{m} -> {t}"))
                })
                .collect();
            format!("{{{}}}: {}", c.join(", "), edges.join("; "))
        })
        .collect();
    assert!(
        found.is_empty(),
        "import cycles in {dir}:\n{}",
        show.join("\n")
    );
}

#[test]
fn the_runner_has_no_import_cycle() {
    no_cycles("runner/src");
}

#[test]
fn the_guest_has_no_import_cycle() {
    no_cycles("guest-init/src");
}

#[test]
fn no_runner_module_imports_from_a_later_layer() {
    let g = graph(&src("runner/src"));
    let layer_of = |m: &str| {
        let top = m.split("::").next().unwrap();
        RUNNER_LAYERS
            .iter()
            .position(|(_, mods)| mods.contains(&top))
    };
    let mut problems = Vec::new();
    for (m, to) in &g {
        let Some(lm) = layer_of(m) else {
            problems.push(format!(
                "{m} is in no layer: add it to RUNNER_LAYERS in tests/layers.rs"
            ));
            continue;
        };
        for t in to {
            if let Some(lt) = layer_of(t) {
                if lt > lm {
                    problems.push(format!(
                        "{m} ({}) imports {t} ({})",
                        RUNNER_LAYERS[lm].0, RUNNER_LAYERS[lt].0
                    ));
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checks see what they claim to: a made-up cycle and a made-up upward
/// edge are found.
#[test]
fn the_checks_find_a_cycle_and_read_grouped_imports() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    assert_eq!(cycles(&g), vec![vec!["a", "b", "c"]]);
    let paths = crate_paths(
        "use crate::{oracle::Case, run};\nlet x = crate::vm::Exit::PoweredOff; my_crate::no",
    );
    assert_eq!(
        paths,
        vec![
            vec!["oracle".to_string(), "Case".into()],
            vec!["run".into()],
            vec!["vm".into(), "Exit".into(), "PoweredOff".into()],
        ]
    );
    let stripped = without_tests(
        "use crate::a;\n#[cfg(test)]\nmod tests {\n use crate::b;\n fn f() { }\n}\nuse crate::c;\n",
    );
    assert!(
        stripped.contains("crate::a")
            && stripped.contains("crate::c")
            && !stripped.contains("crate::b")
    );
}
