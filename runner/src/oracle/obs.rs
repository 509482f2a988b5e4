//! Typed reads of one experiment's observation. A field that is absent or
//! of the wrong type is a `Missing` naming its path: the judge then reports
//! `error`, never a default of 0 that could make a check pass.

use kmatrix_proto::obs::{Read, Success, SysRet};
use serde_json::Value;

/// A measurement the oracle needed and did not get.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing(pub String);

pub type Res<T> = Result<T, Missing>;

/// One object of an observation, with its path for error messages.
#[derive(Debug, Clone)]
pub struct Obs<'a> {
    v: &'a Value,
    path: String,
}

impl<'a> Obs<'a> {
    pub fn root(v: &'a Value, name: &str) -> Self {
        Obs {
            v,
            path: name.to_string(),
        }
    }

    fn at(&self, k: &str) -> String {
        format!("{}.{k}", self.path)
    }

    fn field(&self, k: &str) -> Res<&'a Value> {
        self.v
            .get(k)
            .ok_or_else(|| Missing(format!("field {} missing", self.at(k))))
    }

    fn bad(&self, k: &str, want: &str, got: &Value) -> Missing {
        Missing(format!("field {} is not {want}: {got}", self.at(k)))
    }

    pub fn has(&self, k: &str) -> bool {
        self.v.get(k).is_some()
    }

    /// Present and not null.
    pub fn is_set(&self, k: &str) -> bool {
        self.v.get(k).is_some_and(|v| !v.is_null())
    }

    pub fn u64(&self, k: &str) -> Res<u64> {
        let v = self.field(k)?;
        v.as_u64()
            .ok_or_else(|| self.bad(k, "an unsigned integer", v))
    }

    pub fn u32(&self, k: &str) -> Res<u32> {
        let v = self.field(k)?;
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.bad(k, "a 32-bit unsigned integer", v))
    }

    pub fn i64(&self, k: &str) -> Res<i64> {
        let v = self.field(k)?;
        v.as_i64().ok_or_else(|| self.bad(k, "an integer", v))
    }

    pub fn bool(&self, k: &str) -> Res<bool> {
        let v = self.field(k)?;
        v.as_bool().ok_or_else(|| self.bad(k, "a boolean", v))
    }

    pub fn str(&self, k: &str) -> Res<&'a str> {
        let v = self.field(k)?;
        v.as_str().ok_or_else(|| self.bad(k, "a string", v))
    }

    /// A field the guest writes as null when it has nothing (e.g. no
    /// mapping): present-and-null is None, absent is still Missing.
    pub fn opt_str(&self, k: &str) -> Res<Option<&'a str>> {
        match self.field(k)? {
            Value::Null => Ok(None),
            v => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.bad(k, "a string or null", v)),
        }
    }

    pub fn opt_u64(&self, k: &str) -> Res<Option<u64>> {
        match self.field(k)? {
            Value::Null => Ok(None),
            v => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.bad(k, "an unsigned integer or null", v)),
        }
    }

    pub fn obj(&self, k: &str) -> Res<Obs<'a>> {
        let v = self.field(k)?;
        if v.is_object() {
            Ok(Obs {
                v,
                path: self.at(k),
            })
        } else {
            Err(self.bad(k, "an object", v))
        }
    }

    pub fn opt_obj(&self, k: &str) -> Res<Option<Obs<'a>>> {
        match self.field(k)? {
            Value::Null => Ok(None),
            _ => self.obj(k).map(Some),
        }
    }

    pub fn arr(&self, k: &str) -> Res<Vec<Obs<'a>>> {
        let v = self.field(k)?;
        let a = v.as_array().ok_or_else(|| self.bad(k, "an array", v))?;
        Ok(a.iter()
            .enumerate()
            .map(|(i, v)| Obs {
                v,
                path: format!("{}[{i}]", self.at(k)),
            })
            .collect())
    }

    /// "OK" or the errno name of the io_setup or io_destroy call this
    /// object records (`ret` and `errno`): both return 0 on success.
    pub fn outcome(&self) -> Res<String> {
        Ok(SysRet::read(self)?.outcome(Success::Zero, super::errno_name))
    }

    /// The same for `<prefix>_ret` / `<prefix>_errno`.
    pub fn sysret(&self, prefix: &str) -> Res<String> {
        Ok(SysRet::read_as(self, prefix)?.outcome(Success::Zero, super::errno_name))
    }

    pub fn raw(&self) -> &'a Value {
        self.v
    }
}

impl<'a> Read for Obs<'a> {
    type Error = Missing;
    fn u64(&self, key: &str) -> Res<u64> {
        Obs::u64(self, key)
    }
    fn u32(&self, key: &str) -> Res<u32> {
        Obs::u32(self, key)
    }
    fn i64(&self, key: &str) -> Res<i64> {
        Obs::i64(self, key)
    }
    fn obj(&self, key: &str) -> Res<Obs<'a>> {
        Obs::obj(self, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let v = serde_json::json!({"a": 1, "n": null, "s": "x", "o": {"b": "y"}});
        let o = Obs::root(&v, "exp");
        assert_eq!(o.u64("a"), Ok(1));
        assert_eq!(o.u64("zz").unwrap_err().0, "field exp.zz missing");
        assert!(o.u64("s").unwrap_err().0.contains("exp.s is not"));
        assert_eq!(o.opt_u64("n"), Ok(None));
        assert!(o.opt_u64("gone").is_err(), "absent is not null");
        assert!(o
            .obj("o")
            .unwrap()
            .u64("b")
            .unwrap_err()
            .0
            .contains("exp.o.b"));
        assert!(o.outcome().unwrap_err().0.contains("exp.ret"));
    }

    #[test]
    fn typed_shapes_name_the_missing_field() {
        use kmatrix_proto::obs::{key, Call, Ring};
        let v = serde_json::json!({key::NR_EVENTS: 1, key::RET: 0, key::ERRNO: 0,
            key::RING: {key::ID: 0, key::NR: 2, key::HEAD: 0, key::TAIL: 0, key::MAGIC: 1}});
        let o = Obs::root(&v, "exp");
        assert_eq!(Call::read(&o).unwrap_err().0, "field exp.handle missing");
        let ring = o.obj(key::RING).unwrap();
        assert_eq!(
            Ring::read(&ring).unwrap_err().0,
            "field exp.ring.compat_features missing"
        );
        let big = serde_json::json!({key::NR: 1u64 << 32});
        let err = Obs::root(&big, "r").u32(key::NR).unwrap_err().0;
        assert!(err.contains("r.nr is not"), "{err}");
    }
}
