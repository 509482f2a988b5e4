//! KTAP output: a subtest per cell.

use super::{CellStatus, Report};
use crate::oracle::Verdict;
use std::fmt::Write;

/// KTAP (Documentation/dev-tools/ktap.rst): a subtest per cell.
pub fn render_ktap(r: &Report) -> String {
    let mut s = String::from("KTAP version 1\n");
    let _ = writeln!(s, "1..{}", r.cells.len());
    for (i, c) in r.cells.iter().enumerate() {
        let _ = writeln!(s, "    KTAP version 1\n    # Subtest: {}", c.cell.name);
        let _ = writeln!(s, "    1..{}", c.cases.len());
        if c.status != CellStatus::Ok {
            let _ = writeln!(
                s,
                "    # cell {:?}: {}",
                c.status,
                c.status_detail.replace('\n', " ")
            );
        }
        for (j, k) in c.cases.iter().enumerate() {
            let (ok, directive) = match k.verdict {
                Verdict::Pass => ("ok", String::new()),
                Verdict::KnownDeviation => ("ok", format!(" # XFAIL observed {}", k.observed)),
                Verdict::Skip => ("ok", format!(" # SKIP {}", k.detail)),
                Verdict::Fail => ("not ok", String::new()),
                Verdict::Error => ("not ok", String::new()),
            };
            if matches!(k.verdict, Verdict::Fail | Verdict::Error) {
                let _ = writeln!(
                    s,
                    "    # {}: expected {}, observed {} {}",
                    k.id, k.expected, k.observed, k.detail
                );
            }
            let _ = writeln!(s, "    {ok} {} {}{directive}", j + 1, k.id);
        }
        let _ = writeln!(
            s,
            "{} {} {}",
            if c.green() { "ok" } else { "not ok" },
            i + 1,
            c.cell.name
        );
    }
    s
}
