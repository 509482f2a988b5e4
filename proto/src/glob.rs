//! `*` wildcard matching for experiment ids (kmatrix.cases, --cases): part
//! of the contract, since the host checks the patterns the guest will use.

/// Whether `text` matches `pattern`, where `*` matches any run of bytes.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // Position of the last '*' seen and the text index it is currently
    // assumed to have consumed up to; backtracking only ever moves forward,
    // so this is linear-ish and never recurses.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether `text` matches any pattern; an empty list selects everything.
pub fn any_matches(patterns: &[String], text: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| matches(p, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard() {
        assert!(matches("setup.basic", "setup.basic"));
        assert!(!matches("setup.basic", "setup.basics"));
        assert!(!matches("setup", "setup.basic"));
        assert!(matches("*", ""));
        assert!(matches("*", "anything"));
        assert!(matches("einval.*", "einval.nr-zero"));
        assert!(!matches("einval.*", "efault.null"));
        assert!(matches("*.null", "efault.null"));
        assert!(matches("e*.*a*", "enomem.fail-nth"));
        assert!(!matches("e*.*o*", "enomem.fail-nth"));
        assert!(matches("**a**", "a"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(!matches("", "x"));
        assert!(matches("", ""));
    }

    #[test]
    fn any() {
        assert!(any_matches(&[], "x"));
        let pats = vec!["eagain.*".to_string(), "table.many".to_string()];
        assert!(any_matches(&pats, "eagain.boundary"));
        assert!(any_matches(&pats, "table.many"));
        assert!(!any_matches(&pats, "setup.basic"));
    }
}
