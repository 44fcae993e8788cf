//! Replay: re-deciding every recorded action under a policy, with no side effects.
//!
//! Each `decision` record is re-decided from what it recorded (the redacted action and
//! context, the approval binding, its time) against the state the log had just before it
//! (grants, budget spend), by the same procedure the governor uses
//! ([`crate::govern::state::evaluate`]). The state then moves on with the record as it was
//! written, so each decision is replayed in the situation it was made in. Under the
//! recorded policies every decision must come out the same (decisions are deterministic);
//! under another policy the report shows exactly which would change. Overrides are
//! listed, not re-decided. Nothing is written.

use crate::action::{Action, Context};
use crate::evidence::record::{kind, Record};
use crate::evidence::store::{EvidenceError, RawLine};
use crate::govern::state::{self, State};
use crate::policy::decide::{DecidedBy, Decision, Effect, PolicyRef, PolicySet};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// What one decision was, or would be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// allow, deny or require_approval.
    pub effect: Effect,
    /// What decided it.
    pub decided_by: DecidedBy,
    /// The deciding rules, as `policy/rule`.
    pub rules: Vec<String>,
}

impl Outcome {
    fn of(d: &Decision) -> Outcome {
        Outcome {
            effect: d.effect,
            decided_by: d.decided_by,
            rules: d
                .deciding_rules
                .iter()
                .map(|r| format!("{}/{}", r.policy, r.rule))
                .collect(),
        }
    }
}

/// One replayed decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The decision record's id.
    pub decision: String,
    /// When it was made.
    pub ts: String,
    /// The tool.
    pub tool: String,
    /// What was recorded.
    pub recorded: Outcome,
    /// What the replay decided.
    pub replayed: Outcome,
    /// The replay's reason.
    pub reason: String,
    /// Whether the effect, what decided it, or the deciding rules differ.
    pub changed: bool,
    /// Whether parts of the input were redacted in the record (secrets or configured
    /// fields), so the replay saw placeholders where the original saw the values.
    pub redacted: bool,
}

/// The result of a replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The policies replayed with, in layer order.
    pub policies: Vec<PolicyRef>,
    /// Whether every decision was recorded under exactly these policies (then every
    /// decision must come out the same).
    pub same_policies: bool,
    /// Decisions replayed.
    pub decisions: u64,
    /// Of those, how many came out the same.
    pub same: u64,
    /// Of those, how many changed.
    pub changed: u64,
    /// Overrides seen (not re-decided).
    pub overrides: u64,
    /// Records that could not be replayed, with why (`id: reason`).
    pub skipped: Vec<String>,
    /// Every replayed decision, in log order.
    pub entries: Vec<Entry>,
}

/// Replays the decisions in `lines` (a log, in order) under `set`.
pub fn replay(lines: &[RawLine], set: &PolicySet) -> Report {
    let policies = set.refs();
    let mut report = Report {
        policies: policies.clone(),
        same_policies: true,
        decisions: 0,
        same: 0,
        changed: 0,
        overrides: 0,
        skipped: Vec::new(),
        entries: Vec::new(),
    };
    let mut st = State::new();
    for line in lines {
        let Ok(rec) = Record::parse(&line.bytes) else {
            report
                .skipped
                .push(format!("{} line {}: not a record", line.segment, line.line));
            continue;
        };
        if rec.kind == kind::OVERRIDE {
            report.overrides += 1;
        } else if rec.kind == kind::DECISION {
            match replay_one(&rec, set, &st) {
                Ok((entry, recorded_policies)) => {
                    if recorded_policies != policies {
                        report.same_policies = false;
                    }
                    report.decisions += 1;
                    if entry.changed {
                        report.changed += 1;
                    } else {
                        report.same += 1;
                    }
                    report.entries.push(entry);
                }
                Err(why) => report.skipped.push(format!("{}: {why}", rec.id())),
            }
        }
        st.apply(&rec);
    }
    report
}

fn replay_one(
    rec: &Record,
    set: &PolicySet,
    st: &State,
) -> Result<(Entry, Vec<PolicyRef>), String> {
    let b = &rec.body;
    let recorded = b
        .get("decision")
        .map(Decision::deserialize)
        .ok_or("no decision in the record")?
        .map_err(|e| format!("unreadable decision: {e}"))?;
    let action = Action::from_value(b.get("action").cloned().unwrap_or(Value::Null))
        .map_err(|e| e.to_string())?;
    let context = Context::from_value(b.get("context").cloned().unwrap_or(Value::Null))
        .map_err(|e| e.to_string())?;
    let binding = match b.get("binding").and_then(Value::as_str) {
        Some(x) => x.to_owned(),
        None => state::binding(b.get("action").unwrap_or(&Value::Null)),
    };
    let replayed = state::evaluate(set, st, &action, &context, &binding, &rec.ts);
    let (r, p) = (Outcome::of(&recorded), Outcome::of(&replayed));
    let redacted = b
        .get("redactions")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter().any(|x| {
                x.get("pointer")
                    .and_then(Value::as_str)
                    .is_some_and(|p| p.starts_with("/action") || p.starts_with("/context"))
            })
        });
    Ok((
        Entry {
            decision: rec.id(),
            ts: rec.ts.clone(),
            tool: action.tool.clone(),
            changed: r != p,
            recorded: r,
            replayed: p,
            reason: replayed.reason,
            redacted,
        },
        recorded.policies,
    ))
}

/// Replays an evidence directory or a bundle file under `set`.
pub fn replay_path(path: &Path, set: &PolicySet) -> Result<Report, EvidenceError> {
    let lines = if crate::evidence::export::is_bundle(path) {
        crate::evidence::export::read_bundle(path)?.1
    } else if path.join("segments").is_dir() {
        crate::evidence::store::read_segments(&path.join("segments"))?
    } else {
        return Err(EvidenceError::Invalid(format!(
            "{}: not an evidence directory (no segments/) nor a bundle file",
            path.display()
        )));
    };
    Ok(replay(&lines, set))
}
