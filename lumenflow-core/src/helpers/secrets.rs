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
    // Formats from gitleaks' published rules (github.com/gitleaks/gitleaks, config/gitleaks.toml).
    Kind {
        name: "npm_token",
        pattern: r"\bnpm_[A-Za-z0-9]{36}\b",
    },
    Kind {
        name: "pypi_token",
        pattern: r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9\-_]{50,}",
    },
    Kind {
        name: "sendgrid_key",
        pattern: r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b",
    },
    Kind {
        name: "shopify_token",
        pattern: r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",
    },
    Kind {
        name: "docker_token",
        pattern: r"\bdckr_pat_[A-Za-z0-9_\-]{27,}",
    },
    Kind {
        name: "azure_key",
        pattern: r"(?:AccountKey=[A-Za-z0-9+/]{86}==|\b[a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.\-]{31,34}\b)",
    },
    Kind {
        name: "slack_webhook",
        pattern: r"(?i)https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_\-]{20,}",
    },
    Kind {
        name: "discord_webhook",
        pattern: r"(?i)https?://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_\-]{20,}",
    },
    Kind {
        name: "putty_key",
        pattern: r"PuTTY-User-Key-File-\d+:",
    },
    Kind {
        name: "age_secret_key",
        pattern: r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
    },
    Kind {
        name: "huggingface_token",
        pattern: r"\bhf_[A-Za-z]{34}\b",
    },
    Kind {
        name: "vault_token",
        pattern: r"\bhv[sb]\.[A-Za-z0-9_\-]{24,}",
    },
    Kind {
        name: "digitalocean_token",
        pattern: r"\bdo[por]_v1_[a-f0-9]{64}\b",
    },
    Kind {
        name: "databricks_token",
        pattern: r"\bdapi[a-f0-9]{32}(?:-\d)?\b",
    },
    Kind {
        name: "twilio_key",
        pattern: r"\bSK[0-9a-fA-F]{32}\b",
    },
    Kind {
        name: "telegram_bot_token",
        pattern: r"\b\d{8,10}:AA[A-Za-z0-9_\-]{33}\b",
    },
    Kind {
        name: "linear_api_key",
        pattern: r"\blin_api_[A-Za-z0-9]{40}\b",
    },
    Kind {
        name: "postman_key",
        pattern: r"\bPMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}\b",
    },
    Kind {
        name: "grafana_token",
        pattern: r"\b(?:glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})",
    },
    Kind {
        name: "supabase_token",
        pattern: r"\bsbp_[a-f0-9]{40}\b",
    },
    Kind {
        name: "newrelic_key",
        pattern: r"\bNRAK-[A-Z0-9]{27}\b",
    },
    Kind {
        name: "docker_auth",
        // A Docker config's registry credential: `"auth": "<base64 of user:password>"`.
        pattern: r#""auth"\s*:\s*"[A-Za-z0-9+/]{12,}={0,2}""#,
    },
    Kind {
        name: "assigned_secret",
        // A name ending in one of these words (`DB_PASSWORD`, `aws_secret_access_key`), an
        // `=` or `:`, and a value of 8 or more characters; placeholders are dropped after
        // matching (see `is_placeholder`).
        pattern: r#"(?i)\b[A-Za-z0-9_.\-]*?(?:api[_-]?key|secret[_-]?key|secret[_-]?access[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|refresh[_-]?token|private[_-]?key|password|passwd|secret)["']?\s*[:=]\s*["']?([^\s"',;]{8,})"#,
    },
];

/// Whether the value of an assignment or URL password is a placeholder or a reference to
/// where a secret is kept rather than the secret itself: a shell or template variable
/// (`$X`, `${X}`, `{{x}}`, `%(x)s`, `<your-token>`), a read from the environment
/// (`process.env.X`, `os.environ[...]`, `os.getenv(...)`, `ENV[...]`, `System.getenv`), a
/// function call or attribute reference (`get_password()`, `self.password`), a file path,
/// or a run of one repeated character (`********`).
fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'' || c == '`');
    if v.starts_with(['$', '<', '%', '/', '[', '(']) || v.starts_with("{{") || v.starts_with("#{") {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    for marker in [
        "process.env",
        "os.environ",
        "getenv(",
        "env::var",
        "env!(",
        "dotenv",
        "deno.env",
        "env[",
        "env(",
        "env.",
        "environ.get",
        "system.getenv",
        "secrets.",
        "vault(",
        "your_",
        "your-",
        "placeholder",
        "redacted",
        "example",
        "changeit",
    ] {
        if lower.contains(marker) {
            return true;
        }
    }
    let first = v.chars().next();
    if first.is_some_and(|f| v.chars().all(|c| c == f)) {
        return true;
    }
    // An identifier followed by a call or an attribute access: `get_pw()`, `cfg.password`.
    let ident_end = v
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(v.len());
    let starts_ident = v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    starts_ident
        && ident_end < v.len()
        && v[ident_end..].starts_with(['(', '.'])
        && v[..ident_end]
            .chars()
            .any(|c| c.is_ascii_lowercase() || c == '_')
        && !v[..ident_end].chars().any(|c| c.is_ascii_digit())
}

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
    if text.len() < 8 {
        return false;
    }
    let set = &detector().set;
    if set.is_match(text) && !raw_matches(text).is_empty() {
        return true;
    }
    percent_decoded(text).is_some_and(|(d, _)| set.is_match(&d) && !raw_matches(&d).is_empty())
}

/// `text` with `%XX` escapes decoded, and for each byte of the result the offset in
/// `text` it came from (`None` when there is nothing to decode or it is not UTF-8).
fn percent_decoded(text: &str) -> Option<(String, Vec<usize>)> {
    let b = text.as_bytes();
    let is_hex = |i: usize| b.get(i).is_some_and(u8::is_ascii_hexdigit);
    if !(0..b.len()).any(|i| b[i] == b'%' && is_hex(i + 1) && is_hex(i + 2)) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    let mut map = Vec::with_capacity(b.len() + 1);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && is_hex(i + 1) && is_hex(i + 2) {
            let h = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            map.push(i);
            i += 3;
        } else {
            out.push(b[i]);
            map.push(i);
            i += 1;
        }
    }
    map.push(b.len());
    Some((String::from_utf8(out).ok()?, map))
}

/// The matches of every kind in `text`, placeholders dropped.
fn raw_matches(text: &str) -> Vec<Found> {
    let d = detector();
    d.set
        .matches(text)
        .into_iter()
        .flat_map(|i| {
            d.each[i].captures_iter(text).filter_map(move |c| {
                let m = c.get(0)?;
                let kind = d.names[i];
                let value = match kind {
                    "assigned_secret" => c.get(1).map(|v| v.as_str()),
                    "basic_auth_url" => m
                        .as_str()
                        .rsplit_once(':')
                        .map(|(_, p)| p.trim_end_matches('@')),
                    _ => None,
                };
                // A redaction placeholder is never a placeholder in this sense.
                let redacted = m.as_str().starts_with("[REDACTED:");
                if !redacted && value.is_some_and(is_placeholder) {
                    return None;
                }
                Some(Found {
                    kind,
                    start: m.start(),
                    end: m.end(),
                })
            })
        })
        .collect()
}

/// Every secret in `text`, in order of position; overlapping matches keep the first.
/// URL-encoded secrets (`ghp%5F...`, `password%3Dhunter22`) are found too, with the range
/// they take in `text`.
pub fn find(text: &str) -> Vec<Found> {
    if text.len() < 8 {
        return Vec::new();
    }
    let decoded = percent_decoded(text);
    let set = &detector().set;
    if !set.is_match(text) && decoded.as_ref().is_none_or(|(d, _)| !set.is_match(d)) {
        return Vec::new();
    }
    let mut found = raw_matches(text);
    if let Some((d, map)) = &decoded {
        for f in raw_matches(d) {
            let (Some(&start), Some(&end)) = (map.get(f.start), map.get(f.end)) else {
                continue;
            };
            found.push(Found {
                kind: f.kind,
                start,
                end: end.min(text.len()),
            });
        }
    }
    // Token formats win over the generic `name=value` shape they sit in
    // (`OPENAI_API_KEY=sk-...` is an OpenAI key); then the first and longest wins.
    found.sort_by_key(|f| {
        (
            f.kind == "assigned_secret",
            f.start,
            std::cmp::Reverse(f.end),
        )
    });
    let mut out: Vec<Found> = Vec::with_capacity(found.len());
    for f in found {
        if out.iter().all(|l| f.start >= l.end || f.end <= l.start) {
            out.push(f);
        }
    }
    out.sort_by_key(|f| f.start);
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
    fn finds_gitleaks_formats_and_named_assignments() {
        let cases = [
            ("DB_PASSWORD=hunter2hunter2", "assigned_secret"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzPLEKEY",
                "assigned_secret",
            ),
            ("export MYAPP_API_KEY='abcd1234efgh'", "assigned_secret"),
            (
                "//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789",
                "npm_token",
            ),
            (
                &format!("pypi-AgEIcHlwaS5vcmc{}", "a".repeat(60)),
                "pypi_token",
            ),
            (
                &format!("SG.{}.{}", "a".repeat(22), "b".repeat(43)),
                "sendgrid_key",
            ),
            (
                &format!("shpat_{}", "0123456789abcdef".repeat(2)),
                "shopify_token",
            ),
            ("dckr_pat_abcdefghijklmnopqrstuvwxyz0", "docker_token"),
            (
                &format!(
                    "DefaultEndpointsProtocol=https;AccountName=x;AccountKey={}==",
                    "A".repeat(86)
                ),
                "azure_key",
            ),
            (
                "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX",
                "slack_webhook",
            ),
            ("PuTTY-User-Key-File-3: ssh-ed25519", "putty_key"),
            (&format!("hf_{}", "a".repeat(34)), "huggingface_token"),
            ("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dXNlcjpwYXNzd29yZDEyMw==\"}}}", "docker_auth"),
            (&format!("hvs.{}", "a".repeat(24)), "vault_token"),
            (&format!("dop_v1_{}", "a".repeat(64)), "digitalocean_token"),
            (
                &format!("123456789:AA{}", "a".repeat(33)),
                "telegram_bot_token",
            ),
            // URL-encoded: the range found is the encoded text's.
            (
                "q=ghp%5Fabcdefghijklmnopqrstuvwxyz0123456789",
                "github_token",
            ),
            ("password%3Dhunter2hunter2", "assigned_secret"),
        ];
        for (text, kind) in cases {
            let f = find(text);
            assert_eq!(f.first().map(|f| f.kind), Some(kind), "{text}");
            assert!(contains(text), "{text}");
        }
        let t = "x=ghp%5Fabcdefghijklmnopqrstuvwxyz0123456789&y=1";
        let f = &find(t)[0];
        assert_eq!(
            &t[f.start..f.end],
            "ghp%5Fabcdefghijklmnopqrstuvwxyz0123456789"
        );
    }

    #[test]
    fn placeholders_and_environment_reads_are_not_secrets() {
        for text in [
            "password=${DB_PASSWORD}",
            "DB_PASSWORD=$DB_PASSWORD",
            "api_key: \"{{ secrets.API_KEY }}\"",
            "const apiKey = process.env.API_KEY;",
            "password = os.environ['DB_PASSWORD']",
            "password = os.getenv(\"DB_PASSWORD\")",
            "secret_key = ENV['SECRET_KEY_BASE']",
            "password=<your-password-here>",
            "password: ********",
            "client_secret = get_client_secret()",
            "password = settings.db_password",
            "https://user:${PASSWORD}@example.com/x",
            "password_file=/run/secrets/db",
            "String pw = System.getenv(\"PASSWORD\");",
            "let password = std::env::var(\"DB_PASSWORD\")?;",
        ] {
            assert!(!contains(text), "{text}: {:?}", find(text));
        }
        // A real value next to a placeholder is still found.
        assert!(contains("password=${X} secret=s3cr3tvalue"));
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
