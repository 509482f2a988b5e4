//! A tiny JSON writer: objects and arrays built member by member into a
//! String, used by the guest for records and observations. No parser: text
//! embedded with `raw` was produced by this module (in the guest or a
//! forked child of it).

use std::fmt::Write;

/// Appends `s` as a quoted JSON string.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // Other control characters are not allowed raw in JSON strings.
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` as a quoted JSON string.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_string(&mut out, s);
    out
}

/// A JSON object under construction. Keys are written in call order.
#[derive(Clone, Debug)]
pub struct Obj {
    // Always starts with '{' and lacks the closing brace.
    buf: String,
}

impl Default for Obj {
    fn default() -> Self {
        Obj::new()
    }
}

impl Obj {
    pub fn new() -> Obj {
        Obj {
            buf: String::from("{"),
        }
    }

    fn key(&mut self, k: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        push_string(&mut self.buf, k);
        self.buf.push(':');
    }

    /// Adds a member whose value is already JSON text (from this module).
    pub fn raw(&mut self, k: &str, json: &str) -> &mut Obj {
        self.key(k);
        self.buf.push_str(json);
        self
    }

    pub fn u64(&mut self, k: &str, v: u64) -> &mut Obj {
        self.key(k);
        let _ = write!(self.buf, "{v}");
        self
    }

    pub fn i64(&mut self, k: &str, v: i64) -> &mut Obj {
        self.key(k);
        let _ = write!(self.buf, "{v}");
        self
    }

    pub fn bool(&mut self, k: &str, v: bool) -> &mut Obj {
        self.raw(k, if v { "true" } else { "false" })
    }

    pub fn str(&mut self, k: &str, v: &str) -> &mut Obj {
        self.key(k);
        push_string(&mut self.buf, v);
        self
    }

    pub fn null(&mut self, k: &str) -> &mut Obj {
        self.raw(k, "null")
    }

    pub fn opt_u64(&mut self, k: &str, v: Option<u64>) -> &mut Obj {
        match v {
            Some(v) => self.u64(k, v),
            None => self.null(k),
        }
    }

    pub fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Obj {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }

    pub fn obj(&mut self, k: &str, v: &Obj) -> &mut Obj {
        self.key(k);
        self.buf.push_str(&v.buf);
        self.buf.push('}');
        self
    }

    pub fn opt_obj(&mut self, k: &str, v: Option<&Obj>) -> &mut Obj {
        match v {
            Some(v) => self.obj(k, v),
            None => self.null(k),
        }
    }

    /// Appends the members of another object's text (written by this
    /// module, e.g. a child's obs line); keys must not repeat ours.
    pub fn members_of(&mut self, object_json: &str) -> &mut Obj {
        // `get` rather than indexing: malformed input adds nothing instead
        // of panicking.
        let inner = object_json
            .get(1..object_json.len().saturating_sub(1))
            .unwrap_or("")
            .trim();
        if !inner.is_empty() {
            if self.buf.len() > 1 {
                self.buf.push(',');
            }
            self.buf.push_str(inner);
        }
        self
    }

    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(self.buf.len() + 1);
        s.push_str(&self.buf);
        s.push('}');
        s
    }
}

/// A JSON array under construction.
#[derive(Clone, Debug)]
pub struct Arr {
    // Always starts with '[' and lacks the closing bracket.
    buf: String,
}

impl Default for Arr {
    fn default() -> Self {
        Arr::new()
    }
}

impl Arr {
    pub fn new() -> Arr {
        Arr {
            buf: String::from("["),
        }
    }

    /// Appends an element that is already JSON text (from this module).
    pub fn push_raw(&mut self, json: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        self.buf.push_str(json);
    }

    pub fn push_obj(&mut self, o: &Obj) {
        self.push_raw(&o.to_json());
    }

    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(self.buf.len() + 1);
        s.push_str(&self.buf);
        s.push(']');
        s
    }
}

/// Cheap sanity check for object text received from a child: one line,
/// braces at both ends, no raw control characters (our writer escapes them).
/// It is not a parser; it guards against truncated or foreign output.
pub fn looks_like_object(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('{') && s.ends_with('}') && !s.bytes().any(|b| b < 0x20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_specials_and_controls() {
        assert_eq!(string("plain"), "\"plain\"");
        assert_eq!(string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(string("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
        assert_eq!(string("\u{8}\u{c}"), "\"\\b\\f\"");
        assert_eq!(string("\u{0}\u{1f}"), "\"\\u0000\\u001f\"");
        assert_eq!(string("/[aio] (deleted)"), "\"/[aio] (deleted)\"");
        // Non-ASCII passes through as UTF-8, which JSON allows.
        assert_eq!(string("é\u{2028}"), "\"é\u{2028}\"");
    }

    #[test]
    fn builds_objects_and_arrays() {
        let mut inner = Obj::new();
        inner.u64("id", 0).null("x");
        let mut o = Obj::new();
        o.u64("a", u64::MAX)
            .i64("b", -1)
            .bool("c", true)
            .str("d", "q\"")
            .opt_u64("e", None)
            .opt_str("f", Some("s"))
            .obj("g", &inner)
            .opt_obj("h", None);
        let mut arr = Arr::new();
        arr.push_obj(&inner);
        arr.push_raw("1");
        o.raw("i", &arr.to_json());
        assert_eq!(
            o.to_json(),
            "{\"a\":18446744073709551615,\"b\":-1,\"c\":true,\"d\":\"q\\\"\",\"e\":null,\
             \"f\":\"s\",\"g\":{\"id\":0,\"x\":null},\"h\":null,\"i\":[{\"id\":0,\"x\":null},1]}"
        );
        assert_eq!(Obj::new().to_json(), "{}");
        assert_eq!(Arr::new().to_json(), "[]");
    }

    #[test]
    fn appends_members() {
        let merged = |a: &mut Obj, b: &str| a.members_of(b).to_json();
        assert_eq!(merged(&mut Obj::new(), "{}"), "{}");
        assert_eq!(merged(Obj::new().u64("a", 1), "{}"), "{\"a\":1}");
        assert_eq!(merged(&mut Obj::new(), "{\"b\":2}"), "{\"b\":2}");
        assert_eq!(
            merged(Obj::new().u64("a", 1), "{\"b\":{}}"),
            "{\"a\":1,\"b\":{}}"
        );
        assert_eq!(merged(Obj::new().u64("a", 1), ""), "{\"a\":1}");
        assert_eq!(merged(Obj::new().u64("a", 1), "{"), "{\"a\":1}");
    }

    #[test]
    fn object_sanity() {
        assert!(looks_like_object("{}"));
        assert!(looks_like_object("{\"a\":\"x\\ny\"}"));
        assert!(!looks_like_object("{\"a\":1"));
        assert!(!looks_like_object("{\"a\":\"x\ny\"}"));
        assert!(!looks_like_object(""));
        assert!(!looks_like_object("}"));
    }
}

/// A minimal reader, only for this crate's round-trip tests (the runner
/// parses with its JSON library, the guest never parses).
#[cfg(test)]
pub mod mini {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        /// The number's text, as written.
        Num(String),
        Str(String),
        Arr(Vec<Value>),
        Obj(Vec<(String, Value)>),
    }

    pub fn parse(text: &str) -> Result<Value, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut at = 0;
        let v = value(&chars, &mut at)?;
        if at != chars.len() {
            return Err(format!("trailing text at {at}"));
        }
        Ok(v)
    }

    fn value(c: &[char], at: &mut usize) -> Result<Value, String> {
        let rest: String = c[*at..].iter().take(5).collect();
        for (word, v) in [
            ("null", Value::Null),
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
        ] {
            if rest.starts_with(word) {
                *at += word.len();
                return Ok(v);
            }
        }
        match c.get(*at) {
            Some('"') => string(c, at).map(Value::Str),
            Some('{') => {
                *at += 1;
                let mut members = Vec::new();
                if c.get(*at) == Some(&'}') {
                    *at += 1;
                    return Ok(Value::Obj(members));
                }
                loop {
                    let k = string(c, at)?;
                    expect(c, at, ':')?;
                    members.push((k, value(c, at)?));
                    match c.get(*at) {
                        Some(',') => *at += 1,
                        Some('}') => {
                            *at += 1;
                            return Ok(Value::Obj(members));
                        }
                        _ => return Err(format!("bad object at {at}")),
                    }
                }
            }
            Some('[') => {
                *at += 1;
                let mut items = Vec::new();
                if c.get(*at) == Some(&']') {
                    *at += 1;
                    return Ok(Value::Arr(items));
                }
                loop {
                    items.push(value(c, at)?);
                    match c.get(*at) {
                        Some(',') => *at += 1,
                        Some(']') => {
                            *at += 1;
                            return Ok(Value::Arr(items));
                        }
                        _ => return Err(format!("bad array at {at}")),
                    }
                }
            }
            Some(ch) if *ch == '-' || ch.is_ascii_digit() => {
                let start = *at;
                while c
                    .get(*at)
                    .map_or(false, |ch| *ch == '-' || ch.is_ascii_digit())
                {
                    *at += 1;
                }
                Ok(Value::Num(c[start..*at].iter().collect()))
            }
            _ => Err(format!("unexpected input at {at}")),
        }
    }

    fn expect(c: &[char], at: &mut usize, ch: char) -> Result<(), String> {
        if c.get(*at) == Some(&ch) {
            *at += 1;
            Ok(())
        } else {
            Err(format!("expected {ch:?} at {at}"))
        }
    }

    fn string(c: &[char], at: &mut usize) -> Result<String, String> {
        expect(c, at, '"')?;
        let mut s = String::new();
        loop {
            let ch = *c.get(*at).ok_or("unterminated string")?;
            *at += 1;
            match ch {
                '"' => return Ok(s),
                '\\' => {
                    let e = *c.get(*at).ok_or("unterminated escape")?;
                    *at += 1;
                    match e {
                        'n' => s.push('\n'),
                        'r' => s.push('\r'),
                        't' => s.push('\t'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'u' => {
                            let hex: String =
                                c.get(*at..*at + 4).ok_or("short \\u")?.iter().collect();
                            *at += 4;
                            let n = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                            s.push(char::from_u32(n).ok_or("bad \\u")?);
                        }
                        other => s.push(other),
                    }
                }
                c if (c as u32) < 0x20 => return Err("raw control character".to_string()),
                c => s.push(c),
            }
        }
    }
}
