//! Redaction: what must never reach an evidence record in clear.
//!
//! Token-shaped secrets (see [`secrets`](crate::helpers::secrets)) are replaced, wherever they
//! occur in a string or an object key, by `[REDACTED:<kind>]`; configured fields (by JSON
//! Pointer, or by name anywhere) are replaced whole by `[REDACTED:field]`. Every
//! replacement is listed with the JSON Pointer of the value it was in and its kind, so a
//! record says what was removed and where without saying what it was.

use crate::helpers::secrets;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One replacement made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// JSON Pointer (RFC 6901) to the value (or key) that held it.
    pub pointer: String,
    /// `field` for a configured field, else the secret's kind.
    pub kind: String,
}

/// What to redact besides token-shaped secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redactor {
    /// JSON Pointers of values to remove whole (relative to the value redacted, e.g.
    /// `/args/password` in an action).
    #[serde(default)]
    pub pointers: Vec<String>,
    /// Object keys whose values are removed whole wherever they occur (compared
    /// case-insensitively, e.g. `authorization`, `password`).
    #[serde(default)]
    pub fields: Vec<String>,
}

impl Redactor {
    /// Redacts `value` in place; returns what was replaced, in document order.
    pub fn redact(&self, value: &mut Value) -> Vec<Redaction> {
        let mut out = Vec::new();
        for p in &self.pointers {
            if let Some(v) = value.pointer_mut(p) {
                if *v != Value::String("[REDACTED:field]".into()) {
                    *v = Value::String("[REDACTED:field]".into());
                    out.push(Redaction {
                        pointer: p.clone(),
                        kind: "field".into(),
                    });
                }
            }
        }
        let fields: Vec<String> = self.fields.iter().map(|f| f.to_ascii_lowercase()).collect();
        walk(value, &mut String::new(), &fields, &mut out);
        out.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        out
    }
}

/// Replaces every secret in `text`; returns the new text and the kinds replaced.
pub fn redact_text(text: &str) -> Option<(String, Vec<&'static str>)> {
    let found = secrets::find(text);
    if found.is_empty() {
        return None;
    }
    let mut s = String::with_capacity(text.len());
    let mut at = 0;
    let mut kinds = Vec::new();
    for f in found {
        s.push_str(&text[at..f.start]);
        s.push_str("[REDACTED:");
        s.push_str(f.kind);
        s.push(']');
        at = f.end;
        kinds.push(f.kind);
    }
    s.push_str(&text[at..]);
    Some((s, kinds))
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn walk(v: &mut Value, ptr: &mut String, fields: &[String], out: &mut Vec<Redaction>) {
    match v {
        Value::String(s) => {
            if let Some((clean, kinds)) = redact_text(s) {
                *s = clean;
                for k in kinds {
                    out.push(Redaction {
                        pointer: ptr.clone(),
                        kind: k.into(),
                    });
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                let len = ptr.len();
                ptr.push('/');
                ptr.push_str(&i.to_string());
                walk(x, ptr, fields, out);
                ptr.truncate(len);
            }
        }
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            let mut renamed: Map<String, Value> = Map::new();
            for k in keys {
                let mut x = o.remove(&k).unwrap_or(Value::Null);
                let mut key = k.clone();
                let len = ptr.len();
                ptr.push('/');
                ptr.push_str(&escape(&k));
                if let Some((clean, kinds)) = redact_text(&k) {
                    key = clean;
                    for kind in kinds {
                        out.push(Redaction {
                            pointer: ptr.clone(),
                            kind: kind.into(),
                        });
                    }
                }
                if fields.iter().any(|f| *f == k.to_ascii_lowercase())
                    && x != Value::String("[REDACTED:field]".into())
                {
                    x = Value::String("[REDACTED:field]".into());
                    out.push(Redaction {
                        pointer: ptr.clone(),
                        kind: "field".into(),
                    });
                } else {
                    walk(&mut x, ptr, fields, out);
                }
                ptr.truncate(len);
                // Two keys redacted to the same text stay distinct.
                while renamed.contains_key(&key) {
                    key.push('~');
                }
                renamed.insert(key, x);
            }
            *o = renamed;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_and_fields() {
        let r = Redactor {
            pointers: vec!["/args/pin".into()],
            fields: vec!["Authorization".into()],
        };
        let mut v = json!({"args": {"cmd": "curl -H 'x' ghp_abcdefghijklmnopqrstuvwxyz0123456789 end", "pin": "1234",
            "headers": {"authorization": "whatever"}, "list": ["ok", "AKIAIOSFODNN7EXAMPLE"]}});
        let got = r.redact(&mut v);
        let text = v.to_string();
        assert!(
            !text.contains("ghp_")
                && !text.contains("1234")
                && !text.contains("whatever")
                && !text.contains("AKIA"),
            "{text}"
        );
        assert_eq!(v["args"]["cmd"], "curl -H 'x' [REDACTED:github_token] end");
        assert_eq!(
            got,
            vec![
                Redaction {
                    pointer: "/args/cmd".into(),
                    kind: "github_token".into()
                },
                Redaction {
                    pointer: "/args/headers/authorization".into(),
                    kind: "field".into()
                },
                Redaction {
                    pointer: "/args/list/1".into(),
                    kind: "aws_access_key_id".into()
                },
                Redaction {
                    pointer: "/args/pin".into(),
                    kind: "field".into()
                },
            ]
        );
        let mut clean = json!({"a": "nothing here"});
        assert!(r.redact(&mut clean).is_empty());
    }
}
