//! JUnit XML for CI dashboards.

use super::{CellStatus, Report};
use crate::oracle::Verdict;

/// JUnit XML for CI dashboards: a suite per cell, a testcase per case.
pub fn render_junit(r: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut jr = JReport::new("kmatrix");
    for c in &r.cells {
        let mut suite = TestSuite::new(c.cell.name.clone());
        if c.status != CellStatus::Ok {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(format!("cell {:?}: {}", c.status, c.status_detail));
            st.set_description(c.console_excerpt.clone());
            suite.add_test_case(TestCase::new("cell", st));
        }
        for k in &c.cases {
            let status = match k.verdict {
                Verdict::Pass => TestCaseStatus::success(),
                Verdict::KnownDeviation => {
                    let mut s = TestCaseStatus::success();
                    s.set_description(format!(
                        "known deviation: expected {}, observed {}; {}",
                        k.expected, k.observed, k.detail
                    ));
                    s
                }
                Verdict::Skip => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(k.detail.clone());
                    s
                }
                Verdict::Fail | Verdict::Error => {
                    let kind = if k.verdict == Verdict::Fail {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(format!("expected {}, observed {}", k.expected, k.observed));
                    s.set_description(k.detail.clone());
                    s
                }
            };
            let mut tc = TestCase::new(k.id.clone(), status);
            tc.set_classname(c.cell.name.clone());
            suite.add_test_case(tc);
        }
        jr.add_test_suite(suite);
    }
    jr.to_string().unwrap_or_default()
}
