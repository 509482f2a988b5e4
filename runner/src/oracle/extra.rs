//! The user's `--exec` program and `--share` mounts: not spec clauses, but
//! judged with the same verdicts.

use super::{errno_name, Case, Verdict};
use crate::stream::Stream;
use serde_json::Value;

/// The user's `--exec` program: not a spec clause, but judged with the same
/// verdicts: pass on exit status 0, fail otherwise, error if it never ran.
pub fn judge_exec(stream: &Stream, wanted: Option<&str>) -> Option<Case> {
    let cmd = wanted?;
    let id = format!("exec:{}", cmd.split_whitespace().next().unwrap_or(cmd));
    let Some(e) = stream.experiment("exec") else {
        return Some(Case {
            id,
            experiment: "exec".into(),
            expected: "exit 0".into(),
            observed: "-".into(),
            verdict: Verdict::Error,
            detail: "no exec record from the guest".into(),
        });
    };
    let o = &e.obs;
    let status = o
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let mut detail = String::new();
    for k in ["error", "stdout", "stderr"] {
        if let Some(t) = o.get(k).and_then(Value::as_str).filter(|t| !t.is_empty()) {
            let t: String = t.chars().take(300).collect();
            detail.push_str(&format!("{k}: {} ", t.trim_end()));
        }
    }
    let verdict = if e.fate != "exited" || o.get("error").is_some() {
        Verdict::Error
    } else if status == "exit:0" {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    Some(Case {
        id,
        experiment: "exec".into(),
        expected: "exit:0".into(),
        observed: status,
        verdict,
        detail: detail.trim().to_string(),
    })
}

/// Each `--share`: mounted, and writable exactly when `:rw` was asked for.
pub fn judge_shares(stream: &Stream, shares: &[crate::share::Share]) -> Vec<Case> {
    let mut out = Vec::new();
    for (i, sh) in shares.iter().enumerate() {
        let exp = format!("share.mount/kmx{i}");
        let id = format!("share:{}", sh.guest_path);
        let expected = if sh.rw {
            "mounted, writable"
        } else {
            "mounted, write fails with EROFS"
        };
        let Some(e) = stream.experiment(&exp) else {
            out.push(Case {
                id,
                experiment: exp,
                expected: expected.into(),
                observed: "-".into(),
                verdict: Verdict::Error,
                detail: "no mount record from the guest".into(),
            });
            continue;
        };
        let o = &e.obs;
        let mount = o.get("mount_ret").and_then(Value::as_i64);
        let wret = o.get("write_ret").and_then(Value::as_i64);
        let werr = o.get("write_errno").and_then(Value::as_i64).unwrap_or(0);
        let observed = match (mount, wret) {
            (Some(0), Some(0)) => "mounted, writable".to_string(),
            (Some(0), _) => format!(
                "mounted, write fails with {}",
                if werr == 30 {
                    "EROFS".into()
                } else {
                    errno_name(werr)
                }
            ),
            _ => format!(
                "mount failed: {}",
                errno_name(o.get("mount_errno").and_then(Value::as_i64).unwrap_or(0))
            ),
        };
        let verdict = if observed == expected {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        out.push(Case {
            id,
            experiment: exp,
            expected: expected.into(),
            observed,
            verdict,
            detail: String::new(),
        });
    }
    out
}
