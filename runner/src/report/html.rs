//! One self-contained HTML page (inline CSS, no scripts, no network): per
//! arch/config group a coloured grid of cases x cells, rows that pass in
//! every cell folded away, then what did not pass with its evidence. Each
//! cell links its console log relative to the out dir, where `kmatrix run`
//! writes the page as report.html.

use super::{is_suite_case, short, CellReport, CellStatus, Report};
use crate::oracle::{Case, Verdict};
use std::fmt::Write;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn class(v: Verdict) -> &'static str {
    v.name()
}

/// The console log, relative to the out dir the page is written to.
fn console_href(c: &CellReport) -> String {
    let dir = c
        .artifacts
        .file_name()
        .map_or_else(String::new, |d| d.to_string_lossy().into_owned());
    format!("{}/console.log", dir)
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #ccc}
.summary span{display:inline-block;padding:.15em .6em;margin-right:.4em;border-radius:3px}
table.grid{border-collapse:collapse;margin:.3em 0 .8em}
.grid th,.grid td{border:1px solid #ddd;padding:.2em .5em;text-align:center;white-space:nowrap}
.grid th.case,.grid td.case{text-align:left;font-family:ui-monospace,monospace;font-size:12.5px}
.grid thead th{background:#f3f3f3;vertical-align:bottom}
td.pass,span.pass{background:#d7f2d7;color:#145214}td.fail,span.fail{background:#f8c9c9;color:#7a0d0d;font-weight:bold}
td.known,span.known{background:#fbe6b3;color:#6b4a00}td.skip,span.skip{background:#e6e6e6;color:#555}
td.error,span.error{background:#e3d3f5;color:#4b1f7a;font-weight:bold}td.none{color:#aaa}
tr.meta td:not(.error){background:#fafafa;color:#444}
details{margin:.2em 0 .6em}summary{cursor:pointer;color:#245}
.ev{margin:.2em 0 .8em 1.2em}.ev li{margin:.2em 0}
pre{background:#f6f6f6;border-left:3px solid #bbb;padding:.3em .6em;margin:.2em 0;white-space:pre-wrap;font-size:12px}
.common{color:#555}";

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let green = r.green();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>kmatrix report</title><style>{CSS}</style></head><body>\n"
    );
    let _ = writeln!(
        s,
        "<h1>kmatrix: the AIO syscalls against their specs, {} cells: <span id=\"overall\" class=\"{}\">{}</span></h1>",
        r.cells.len(),
        if green { "pass" } else { "fail" },
        if green { "green" } else { "not green" }
    );
    // Per syscall, the spec its cases were judged against.
    if !r.specs.is_empty() {
        s.push_str("<ul class=\"specs\">");
        for u in &r.specs {
            let _ = write!(
                s,
                "<li>{} judged against <code>{}</code></li>",
                esc(&u.syscall),
                esc(&u.label())
            );
        }
        s.push_str("</ul>\n");
    }
    let mut counts = [0usize; 5];
    for k in r.cells.iter().flat_map(|c| &c.cases) {
        counts[k.verdict as usize] += 1;
    }
    s.push_str("<p class=\"summary\">");
    for v in [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::KnownDeviation,
        Verdict::Skip,
        Verdict::Error,
    ] {
        let _ = write!(
            s,
            "<span class=\"{}\">{} {}</span>",
            class(v),
            counts[v as usize],
            short(v)
        );
    }
    if !r.unfinished.is_empty() {
        let _ = write!(
            s,
            "<span class=\"error\">{} cells unfinished: {}</span>",
            r.unfinished.len(),
            esc(&r.unfinished.join(", "))
        );
    }
    s.push_str("</p>\n");
    // Groups in first-seen order: arch/config.
    let mut groups: Vec<(String, Vec<&CellReport>)> = Vec::new();
    for c in &r.cells {
        let key = format!("{}/{}", c.cell.arch, c.cell.config);
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(c),
            None => groups.push((key, vec![c])),
        }
    }
    for (key, cells) in &groups {
        grid(&mut s, key, cells);
    }
    evidence(&mut s, r);
    let (diffs, paired) = super::abi::differences(r);
    if paired > 0 {
        let both: Vec<_> = diffs.iter().filter(|d| d.judged_in_both).collect();
        let _ = writeln!(
            s,
            "<h2 id=\"abi\">native vs compat: {paired} compat cell(s) beside their native twin, {} case(s) judged in both differ ({} judged in one ABI only)</h2><ul class=\"ev\">",
            both.len(),
            diffs.len() - both.len()
        );
        for d in &both {
            let _ = writeln!(
                s,
                "<li><code>{}</code> in {}: native {}, compat {}</li>",
                esc(&d.case),
                esc(&d.compat_cell),
                esc(&d.native),
                esc(&d.compat)
            );
        }
        s.push_str("</ul>\n");
    }
    for u in &r.unchecked {
        let _ = writeln!(s, "<p class=\"unchecked\">not checked: {}</p>", esc(u));
    }
    s.push_str("</body></html>\n");
    s
}

fn grid(s: &mut String, key: &str, cells: &[&CellReport]) {
    let cell_refs: Vec<&crate::matrix::Cell> = cells.iter().map(|c| &c.cell).collect();
    let (titles, common) = super::column_titles(&cell_refs);
    let _ = writeln!(
        s,
        "<h2 id=\"group-{}\">{}</h2>",
        esc(&key.replace('/', "-")),
        esc(key)
    );
    if !common.is_empty() && cells.len() > 1 {
        let _ = writeln!(
            s,
            "<p class=\"common\">every cell here: {}</p>",
            esc(&common)
        );
    }
    let _ = write!(
        s,
        "<table class=\"grid\" data-group=\"{}\"><thead><tr><th class=\"case\">case</th>",
        esc(key)
    );
    for (c, t) in cells.iter().zip(&titles) {
        let _ = write!(
            s,
            "<th class=\"cell\" title=\"{}\">{}<br><a href=\"{}\">console</a></th>",
            esc(&c.cell.name),
            esc(t),
            esc(&console_href(c))
        );
    }
    s.push_str("</tr></thead><tbody>\n");
    let meta = |s: &mut String, label: &str, vals: Vec<(String, &str)>| {
        let _ = write!(s, "<tr class=\"meta\"><td class=\"case\">{label}</td>");
        for (v, cls) in vals {
            let _ = write!(s, "<td class=\"{cls}\">{}</td>", esc(&v));
        }
        s.push_str("</tr>\n");
    };
    meta(
        s,
        "status",
        cells
            .iter()
            .map(|c| {
                let st = format!("{:?}", c.status).to_lowercase();
                (
                    st,
                    if c.status == CellStatus::Ok {
                        "pass"
                    } else {
                        "error"
                    },
                )
            })
            .collect(),
    );
    meta(
        s,
        "boot (ms)",
        cells
            .iter()
            .map(|c| (c.boot_ms().map_or("-".into(), |b| b.0.to_string()), ""))
            .collect(),
    );
    meta(
        s,
        "run (ms)",
        cells.iter().map(|c| (c.run_ms.to_string(), "")).collect(),
    );
    let mut ids: Vec<&str> = Vec::new();
    for c in cells {
        for k in &c.cases {
            if !ids.contains(&k.id.as_str()) {
                ids.push(&k.id);
            }
        }
    }
    let verdicts = |id: &str| -> Vec<Option<&Case>> {
        cells
            .iter()
            .map(|c| c.cases.iter().find(|k| k.id == id))
            .collect()
    };
    let all_pass = |id: &str| {
        verdicts(id)
            .iter()
            .all(|k| k.is_some_and(|k| k.verdict == Verdict::Pass))
    };
    let row = |s: &mut String, id: &str| {
        let _ = write!(s, "<tr><td class=\"case\">{}</td>", esc(id));
        for k in verdicts(id) {
            match k {
                Some(k) => {
                    let tip = format!("expected {}, observed {}", k.expected, k.observed);
                    let _ = write!(
                        s,
                        "<td class=\"{}\" title=\"{}\">{}</td>",
                        class(k.verdict),
                        esc(&tip),
                        short(k.verdict)
                    );
                }
                None => s.push_str("<td class=\"none\">-</td>"),
            }
        }
        s.push_str("</tr>\n");
    };
    for id in ids.iter().filter(|id| !all_pass(id)) {
        row(s, id);
    }
    s.push_str("</tbody></table>\n");
    // Rows that pass everywhere say nothing cell by cell: one line, unfolded on demand.
    let passing: Vec<&&str> = ids.iter().filter(|id| all_pass(id)).collect();
    if !passing.is_empty() {
        let _ = write!(
            s,
            "<details class=\"collapsed\"><summary>{} cases pass in every cell of {}</summary><table class=\"grid\"><tbody>",
            passing.len(),
            esc(key)
        );
        for id in passing {
            row(s, id);
        }
        s.push_str("</tbody></table></details>\n");
    }
}

fn evidence(s: &mut String, r: &Report) {
    // One entry per (case, verdict, observation, evidence), naming every
    // cell that saw it: a big matrix lists a deviation once, not per cell.
    let section = |s: &mut String, title: &str, id: &str, suite: bool| {
        let mut groups: Vec<(&Case, Vec<&CellReport>)> = Vec::new();
        for c in &r.cells {
            for k in c.cases.iter().filter(|k| {
                k.verdict != Verdict::Pass
                    && is_suite_case(&k.id) == suite
                    && (suite || k.verdict != Verdict::Skip)
            }) {
                let same = |g: &&mut (&Case, Vec<&CellReport>)| {
                    g.0.id == k.id
                        && g.0.verdict == k.verdict
                        && g.0.observed == k.observed
                        && g.0.detail == k.detail
                };
                match groups.iter_mut().find(|g| same(g)) {
                    Some(g) => g.1.push(c),
                    None => groups.push((k, vec![c])),
                }
            }
        }
        if groups.is_empty() {
            return;
        }
        let _ = writeln!(s, "<h2 id=\"{id}\">{title}</h2><ul class=\"ev\">");
        for (k, cells) in groups {
            let _ = write!(
                s,
                "<li><span class=\"{}\">{}</span> <code>{}</code>: expected {}, observed <b>{}</b> in ",
                class(k.verdict),
                short(k.verdict),
                esc(&k.id),
                esc(&k.expected),
                esc(&k.observed)
            );
            let links: Vec<String> = cells
                .iter()
                .map(|c| {
                    format!(
                        "<a href=\"{}\">{}</a>",
                        esc(&console_href(c)),
                        esc(&c.cell.name)
                    )
                })
                .collect();
            s.push_str(&links.join(", "));
            if !k.detail.is_empty() {
                let _ = write!(s, "<pre>{}</pre>", esc(&k.detail));
            }
            s.push_str("</li>\n");
        }
        s.push_str("</ul>\n");
    };
    let broken: Vec<&CellReport> = r
        .cells
        .iter()
        .filter(|c| c.status != CellStatus::Ok)
        .collect();
    if !broken.is_empty() {
        s.push_str("<h2 id=\"cells\">cells that did not finish</h2><ul class=\"ev\">");
        for c in broken {
            let _ = write!(
                s,
                "<li><span class=\"error\">{:?}</span> <a href=\"{}\">{}</a>: {}",
                c.status,
                esc(&console_href(c)),
                esc(&c.cell.name),
                esc(&c.status_detail)
            );
            if !c.console_excerpt.is_empty() {
                let _ = write!(s, "<pre>{}</pre>", esc(&c.console_excerpt));
            }
            s.push_str("</li>\n");
        }
        s.push_str("</ul>\n");
    }
    section(s, "spec deviations (kernel != spec)", "deviations", false);
    section(
        s,
        "test programs and shares (--exec, --share)",
        "programs",
        true,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
