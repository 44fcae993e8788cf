//! Secrets: finding token-shaped values (API keys, bearer tokens, private keys) in text
//! and in JSON values.
//!
//! The detector is deliberately specific: each pattern matches a documented token format
//! (prefix plus length and alphabet) or an explicit assignment such as `password=...`, so
//! that ordinary text does not trip it. It is used by rules (`secrets.contains`) and,
//! before anything is recorded, by evidence redaction.

use regex::{Regex, RegexSet};
use std::sync::OnceLock;

/// One kind of secret the detector knows, with the pattern that finds it.
struct Kind {
    name: &'static str,
    pattern: &'static str,
}

const KINDS: &[Kind] = &[
    Kind {
        name: "private_key",
        pattern: r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    },
    Kind {
        name: "aws_access_key_id",
        pattern: r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
    },
    Kind {
        name: "github_token",
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b",
    },
    Kind {
        name: "gitlab_token",
        pattern: r"\bglpat-[A-Za-z0-9_\-]{20,}\b",
    },
    Kind {
        name: "anthropic_api_key",
        pattern: r"\bsk-ant-[A-Za-z0-9_\-]{20,}",
    },
    Kind {
        name: "openai_api_key",
        pattern: r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
    },
    Kind {
        name: "slack_token",
        pattern: r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
    },
    Kind {
        name: "stripe_key",
        pattern: r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b",
    },
    Kind {
        name: "google_api_key",
        pattern: r"\bAIza[0-9A-Za-z_\-]{35}\b",
    },
    Kind {
        name: "jwt",
        pattern: r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    },
    Kind {
        name: "bearer_token",
        pattern: r"(?i)\b(?:bearer|token)\s+[A-Za-z0-9\-._~+/]{20,}=*",
    },
    Kind {
        name: "basic_auth_url",
        pattern: r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]+:[^/\s:@]{3,}@",
    },
    Kind {
        name: "assigned_secret",
        pattern: r#"(?i)\b(?:api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|password|passwd|secret)["']?\s*[:=]\s*["']?[^\s"',;]{8,}"#,
    },
];

struct Detector {
    set: RegexSet,
    each: Vec<Regex>,
    names: Vec<&'static str>,
}

/// Each kind's pattern, then each kind's redaction placeholder (`[REDACTED:<kind>]`):
/// a value that evidence redaction replaced still reads as the secret it was, so that
/// replaying a recorded action decides as the original did.
fn detector() -> &'static Detector {
    static D: OnceLock<Detector> = OnceLock::new();
    D.get_or_init(|| {
        let mut patterns: Vec<String> = KINDS.iter().map(|k| k.pattern.to_owned()).collect();
        let mut names: Vec<&'static str> = KINDS.iter().map(|k| k.name).collect();
        for k in KINDS {
            patterns.push(regex::escape(&format!("[REDACTED:{}]", k.name)));
            names.push(k.name);
        }
        Detector {
            set: RegexSet::new(&patterns).expect("secret patterns are valid"),
            each: patterns
                .iter()
                .map(|p| Regex::new(p).expect("secret pattern is valid"))
                .collect(),
            names,
        }
    })
}

/// A secret found in a string: its kind and byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The kind of secret (`github_token`, `private_key`, ...).
    pub kind: &'static str,
    /// Byte offsets of the match in the scanned string.
    pub start: usize,
    /// End (exclusive) of the match.
    pub end: usize,
}

/// Whether `text` contains anything token-shaped.
pub fn contains(text: &str) -> bool {
    text.len() >= 8 && detector().set.is_match(text)
}

/// Every secret in `text`, in order of position; overlapping matches keep the first.
pub fn find(text: &str) -> Vec<Found> {
    if !contains(text) {
        return Vec::new();
    }
    let d = detector();
    let mut found: Vec<Found> = d
        .set
        .matches(text)
        .into_iter()
        .flat_map(|i| {
            d.each[i].find_iter(text).map(move |m| Found {
                kind: d.names[i],
                start: m.start(),
                end: m.end(),
            })
        })
        .collect();
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut out: Vec<Found> = Vec::with_capacity(found.len());
    for f in found {
        if out.last().is_none_or(|l| f.start >= l.end) {
            out.push(f);
        }
    }
    out
}

/// A secret found inside a JSON value: the JSON Pointer (RFC 6901) of the string that
/// holds it, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundIn {
    /// JSON Pointer to the string (or object key) holding the secret.
    pub pointer: String,
    /// The kind of secret.
    pub kind: &'static str,
}

/// Every secret anywhere in a JSON value (strings and object keys).
pub fn find_in_json(value: &serde_json::Value) -> Vec<FoundIn> {
    let mut out = Vec::new();
    walk(value, &mut String::new(), &mut out);
    out
}

/// Whether any string or key anywhere in a JSON value holds a secret.
pub fn json_contains(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => contains(s),
        serde_json::Value::Array(a) => a.iter().any(json_contains),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| contains(k) || json_contains(v)),
        _ => false,
    }
}

fn walk(value: &serde_json::Value, ptr: &mut String, out: &mut Vec<FoundIn>) {
    match value {
        serde_json::Value::String(s) => {
            for f in find(s) {
                out.push(FoundIn {
                    pointer: ptr.clone(),
                    kind: f.kind,
                });
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let len = ptr.len();
                ptr.push('/');
                ptr.push_str(&i.to_string());
                walk(v, ptr, out);
                ptr.truncate(len);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, v) in o {
                let len = ptr.len();
                ptr.push('/');
                ptr.push_str(&k.replace('~', "~0").replace('/', "~1"));
                for f in find(k) {
                    out.push(FoundIn {
                        pointer: ptr.clone(),
                        kind: f.kind,
                    });
                }
                walk(v, ptr, out);
                ptr.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_secret_still_reads_as_one() {
        let text = "curl -H 'Authorization: token ghp_abcdefghijklmnopqrstuvwxyz0123456789'";
        let (clean, kinds) = crate::evidence::redact::redact_text(text).unwrap();
        assert!(!clean.contains("ghp_"));
        let again: Vec<&str> = find(&clean).iter().map(|f| f.kind).collect();
        assert_eq!(again, kinds);
        assert_eq!(
            crate::evidence::redact::redact_text(&clean).unwrap().0,
            clean
        );
        assert!(
            !contains("[REDACTED:field]"),
            "configured fields are not secrets"
        );
    }

    #[test]
    fn finds_token_shapes() {
        let cases = [
            ("key AKIAIOSFODNN7EXAMPLE here", "aws_access_key_id"),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_token"),
            ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456", "bearer_token"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "private_key"),
            ("-----BEGIN PRIVATE KEY-----", "private_key"),
            ("OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx", "openai_api_key"),
            ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "anthropic_api_key"),
            ("xoxb-1234567890-abcdefghij", "slack_token"),
            ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt"),
            ("password: hunter2hunter2", "assigned_secret"),
            ("https://user:s3cr3tpw@example.com/x", "basic_auth_url"),
            ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "google_api_key"),
        ];
        for (text, kind) in cases {
            let f = find(text);
            assert_eq!(f.first().map(|f| f.kind), Some(kind), "{text}");
            assert!(contains(text));
        }
    }

    #[test]
    fn ignores_ordinary_text() {
        for text in [
            "git push origin main",
            "ls -la /tmp",
            "the token was rejected",
            "password",
            "sk-short",
            "https://example.com/a:b@c",
            "AKIA lowercase",
        ] {
            assert!(!contains(text), "{text}");
            assert!(find(text).is_empty());
        }
    }

    #[test]
    fn walks_json() {
        let v = serde_json::json!({"a": ["x", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"], "b/c": {"d": "Bearer abcdefghijklmnopqrstuvwxyz123456"}});
        let f = find_in_json(&v);
        assert_eq!(
            f,
            vec![
                FoundIn {
                    pointer: "/a/1".into(),
                    kind: "github_token"
                },
                FoundIn {
                    pointer: "/b~1c/d".into(),
                    kind: "bearer_token"
                },
            ]
        );
        assert!(json_contains(&v));
        assert!(!json_contains(&serde_json::json!({"a": [1, "b"]})));
    }
}
