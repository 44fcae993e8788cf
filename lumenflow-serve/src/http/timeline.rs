//! The evidence timeline the console shows (records filtered by kind, tool, effect and
//! time) and `verify` of the daemon's log, with its own key pinned.

use super::present;
use lumenflow_core::{kind, Keyring, Record, Registry};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The default number of records a query returns.
pub const DEFAULT_LIMIT: usize = 200;
/// The most records a query returns.
pub const MAX_LIMIT: usize = 1000;

/// A timeline filter; every field given must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Record kind (`decision`, `outcome`, `approval`, ...).
    pub kind: Option<String>,
    /// The action's tool (for records about a decision: its decision's).
    pub tool: Option<String>,
    /// The decision's effect (`allow`, `deny`, `require_approval`).
    pub effect: Option<String>,
    /// At or after.
    pub since: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// At or before.
    pub until: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The last this many matches.
    pub limit: usize,
}

/// A query parameter that is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter {name}: {reason}")]
pub struct FilterError {
    /// The parameter.
    pub name: String,
    /// Why.
    pub reason: String,
}

impl Filter {
    /// The filter of a query string's parameters (`kind`, `tool`, `effect`, `since`,
    /// `until`, `limit`); an unknown parameter or a bad value is an error naming it.
    pub fn from_query(q: &HashMap<String, String>) -> Result<Filter, FilterError> {
        let err = |name: &str, reason: String| FilterError {
            name: name.into(),
            reason,
        };
        let mut f = Filter {
            limit: DEFAULT_LIMIT,
            ..Filter::default()
        };
        for (k, v) in q {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k.as_str() {
                "kind" => f.kind = Some(v.to_owned()),
                "tool" => f.tool = Some(v.to_owned()),
                "effect" => {
                    if !matches!(v, "allow" | "deny" | "require_approval") {
                        return Err(err(
                            k,
                            format!("{v:?} is not allow, deny or require_approval"),
                        ));
                    }
                    f.effect = Some(v.to_owned())
                }
                "since" | "until" => {
                    let t = chrono::DateTime::parse_from_rfc3339(v)
                        .map_err(|e| err(k, format!("{v:?} is not an RFC 3339 time ({e})")))?;
                    if k == "since" {
                        f.since = Some(t)
                    } else {
                        f.until = Some(t)
                    }
                }
                "limit" => {
                    f.limit = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| err(k, format!("must be 1 to {MAX_LIMIT}")))?
                }
                other => return Err(err(other, "unknown parameter".into())),
            }
        }
        Ok(f)
    }
}

/// Every record of the evidence directory `dir`, in order.
pub fn read(dir: &Path) -> Result<Vec<Record>, lumenflow_core::EvidenceError> {
    lumenflow_core::read_records(dir)
}

/// The recorded (redacted) action of decision record `id`, if the log holds one signed
/// by key `key`.
pub fn action_of(dir: &Path, key: &str, id: &str) -> Option<Value> {
    read(dir)
        .ok()?
        .into_iter()
        .find(|r| r.kind == kind::DECISION && r.key == key && r.id() == id)
        .and_then(|r| r.body.get("action").cloned())
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// What a decision's row shows: its tool, effect, summary and rules/reason.
struct Decided {
    tool: String,
    effect: String,
    summary: String,
}

/// The timeline rows matching `filter`: `{matched, records: [{id, seq, ts, kind, tool,
/// effect, summary, note, trusted}]}`. `trusted` is false for a record not signed by the
/// daemon's key `key` (such a record decides nothing; see security.md).
pub fn query(
    dir: &Path,
    key: &str,
    filter: &Filter,
) -> Result<Value, lumenflow_core::EvidenceError> {
    let mut decisions: HashMap<String, Decided> = HashMap::new();
    let mut rows: Vec<Value> = Vec::new();
    let mut matched = 0usize;
    for r in read(dir)? {
        let b = &r.body;
        let (tool, effect, summary, note) = match r.kind.as_str() {
            kind::DECISION | kind::OVERRIDE => {
                let tool = str_at(b, &["action", "tool"])
                    .unwrap_or_default()
                    .to_owned();
                let args = b
                    .get("action")
                    .and_then(|a| a.get("args"))
                    .cloned()
                    .unwrap_or(Value::Null);
                let effect = str_at(b, &["decision", "effect"])
                    .unwrap_or_default()
                    .to_owned();
                let summary = present::summary(&tool, &args);
                let note = str_at(b, &["decision", "reason"])
                    .or_else(|| str_at(b, &["override", "reason"]))
                    .unwrap_or_default()
                    .to_owned();
                if r.key == key {
                    decisions.insert(
                        r.id(),
                        Decided {
                            tool: tool.clone(),
                            effect: effect.clone(),
                            summary: summary.clone(),
                        },
                    );
                }
                (tool, effect, summary, note)
            }
            _ => {
                let about = str_at(b, &["decision"]).or_else(|| str_at(b, &["request"]));
                let d = about.and_then(|id| decisions.get(id));
                let note = match r.kind.as_str() {
                    kind::OUTCOME => format!(
                        "{}{}",
                        str_at(b, &["status"]).unwrap_or_default(),
                        str_at(b, &["error"])
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ),
                    kind::APPROVAL => format!(
                        "{} by {}: {}",
                        str_at(b, &["verdict"]).unwrap_or("vote"),
                        str_at(b, &["approver", "id"]).unwrap_or("?"),
                        str_at(b, &["reason"]).unwrap_or_default()
                    ),
                    _ => str_at(b, &["reason"]).unwrap_or_default().to_owned(),
                };
                (
                    d.map(|d| d.tool.clone()).unwrap_or_default(),
                    d.map(|d| d.effect.clone()).unwrap_or_default(),
                    d.map(|d| d.summary.clone()).unwrap_or_default(),
                    note,
                )
            }
        };
        if filter.kind.as_ref().is_some_and(|k| *k != r.kind)
            || filter.tool.as_ref().is_some_and(|t| *t != tool)
            || filter.effect.as_ref().is_some_and(|e| *e != effect)
        {
            continue;
        }
        if filter.since.is_some() || filter.until.is_some() {
            let Ok(t) = chrono::DateTime::parse_from_rfc3339(&r.ts) else {
                continue;
            };
            if filter.since.is_some_and(|s| t < s) || filter.until.is_some_and(|u| t > u) {
                continue;
            }
        }
        matched += 1;
        rows.push(json!({
            "id": r.id(), "seq": r.seq, "ts": r.ts, "kind": r.kind, "tool": tool,
            "effect": effect, "summary": summary, "note": present_note(&note),
            "trusted": r.key == key,
        }));
        if rows.len() > filter.limit {
            rows.remove(0);
        }
    }
    Ok(json!({ "matched": matched, "records": rows }))
}

fn present_note(note: &str) -> String {
    let mut s: String = note.chars().take(500).collect();
    if note.chars().count() > 500 {
        s.push('…');
    }
    s
}

/// Verifies the daemon's evidence directory with `keys` pinned (and votes judged by the
/// approver registry): `{ok, summary, report}`.
pub fn verify(
    dir: &Path,
    keys: &Keyring,
    registry: Option<&Arc<Registry>>,
) -> Result<Value, lumenflow_core::EvidenceError> {
    let report = lumenflow_core::verify_path_with(dir, Some(keys), None, registry, &|_| {})?;
    let code = report.exit_code();
    let summary = match code {
        0 => format!(
            "valid: {} records, every one signed by the daemon's key and chained",
            report.records
        ),
        1 => "TAMPERED: a record was altered, removed, inserted or forged".to_owned(),
        2 => "INCOMPLETE: records are missing from the end of the log".to_owned(),
        3 => "records signed by a key that is not the daemon's".to_owned(),
        5 => "votes or overrides in the log do not count".to_owned(),
        _ => format!("not valid (exit {code})"),
    };
    Ok(json!({ "ok": code == 0, "exit_code": code, "summary": summary, "report": report }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_filters_and_names_bad_ones() {
        let f = Filter::from_query(&q(&[
            ("kind", "decision"),
            ("effect", "deny"),
            ("since", "2026-12-03T00:00:00Z"),
            ("tool", ""),
        ]))
        .unwrap();
        assert_eq!(f.kind.as_deref(), Some("decision"));
        assert_eq!(f.effect.as_deref(), Some("deny"));
        assert!(f.since.is_some() && f.tool.is_none());
        assert_eq!(f.limit, DEFAULT_LIMIT);
        let e = Filter::from_query(&q(&[("effect", "maybe")])).unwrap_err();
        assert_eq!(e.name, "effect");
        let e = Filter::from_query(&q(&[("since", "yesterday")])).unwrap_err();
        assert!(e.to_string().starts_with("query parameter since"), "{e}");
        assert_eq!(
            Filter::from_query(&q(&[("limit", "0")])).unwrap_err().name,
            "limit"
        );
        assert_eq!(
            Filter::from_query(&q(&[("limit", "5000")]))
                .unwrap_err()
                .name,
            "limit"
        );
        assert_eq!(
            Filter::from_query(&q(&[("user", "x")])).unwrap_err().name,
            "user"
        );
    }
}
