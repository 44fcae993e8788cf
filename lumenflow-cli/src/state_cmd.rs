//! The commands over state derived from the log: approvals, approve, reject, override,
//! budgets and replay. Each parses its input, calls the core, and prints.

use crate::load_set;
use lumenflow_core::{
    budget_statuses, read_segments, replay_path, sign_override, sign_vote, Approver, Choice,
    Context, DecidedBy, Governor, KeyPair, PolicySet, Request, RequestState, State, VoteTrust,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) fn json_line<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The state of an evidence directory, read without writing anything.
fn read_state(dir: &Path) -> Result<State, String> {
    let segs = dir.join("segments");
    if !segs.is_dir() {
        return Err(format!(
            "{}: not an evidence directory (no segments/)",
            dir.display()
        ));
    }
    let lines = read_segments(&segs).map_err(|e| e.to_string())?;
    let mut st = State::with_trust(VoteTrust::Registry(crate::registry()?));
    st.apply_lines(&lines);
    Ok(st)
}

pub(crate) fn print_request(r: &Request) {
    let approvers: Vec<&str> = r.approvers.iter().map(|a| &**a).collect();
    outln!(
        "{}  {:<9} {} by {} in session {} ({}); approvals {}/{}; approvers: {}{}",
        r.id,
        r.state.as_str(),
        r.tool,
        if r.actor.is_empty() { "-" } else { &r.actor },
        if r.session.is_empty() {
            "-"
        } else {
            &r.session
        },
        r.rules.join(", "),
        r.approvals(),
        r.quorum,
        if approvers.is_empty() {
            "anyone but the proposer".to_owned()
        } else {
            approvers.join(", ")
        },
        r.expires_at
            .as_deref()
            .map(|e| format!("; expires {e}"))
            .unwrap_or_default()
    );
    for v in &r.votes {
        outln!(
            "    {} {} at {}{}: {}",
            v.approver.id,
            v.verdict.as_str(),
            v.at,
            match (&v.key_id, &v.attested) {
                (Some(k), _) => format!(" (signed by key {k})"),
                (None, Some(m)) => format!(" (attested: {m})"),
                (None, None) => String::new(),
            },
            v.reason
        );
    }
}

/// `lumenflow approvals list DIR`.
pub fn list(dir: &Path, all: bool, json: bool) -> Result<ExitCode, String> {
    let st = read_state(dir)?;
    let reqs: Vec<Request> = st
        .requests_at(now())
        .into_iter()
        .filter(|r| all || r.state == RequestState::Pending)
        .collect();
    for r in &reqs {
        if json {
            outln!("{}", json_line(r)?);
        } else {
            print_request(r);
        }
    }
    if !json && reqs.is_empty() {
        outln!("no {}approval requests", if all { "" } else { "pending " });
    }
    Ok(ExitCode::SUCCESS)
}

/// A governor that only writes votes and overrides (its decisions, if any, stay open).
fn writer(dir: &Path, key: &Path, set: PolicySet) -> Result<Governor, String> {
    crate::evidence_cmd::governor(dir, key, set, Context::new(), false)
}

/// `lumenflow approve` / `lumenflow reject`: a vote signed with the approver's own key,
/// which the approver registry binds to the identity the vote counts under.
#[allow(clippy::too_many_arguments)]
pub fn vote(
    dir: &Path,
    request: &str,
    who: Option<&str>,
    roles: Vec<String>,
    reason: &str,
    key: &Path,
    sign_key: Option<&Path>,
    choice: Choice,
) -> Result<ExitCode, String> {
    let (k, entry_id) = registered_key(sign_key, key, &roles, "a vote")?;
    let who = who.unwrap_or(&entry_id).to_owned();
    let g = writer(dir, key, PolicySet::new(vec![]))?;
    let req = g.approval(request).map_err(|e| e.to_string())?;
    let signature = sign_vote(&k, &req.id, &req.binding, choice, &who, reason);
    let approver = Approver::new(who);
    let r = g
        .vote(request, &approver, choice, reason, Some(&signature))
        .map_err(|e| e.to_string())?;
    g.close().map_err(|e| e.to_string())?;
    print_request(&r);
    Ok(ExitCode::SUCCESS)
}

/// `lumenflow override`: signed with the overrider's own key, which the approver
/// registry binds to the identity (and roles) the override is judged under.
#[allow(clippy::too_many_arguments)]
pub fn override_deny(
    dir: &Path,
    decision: &str,
    who: Option<&str>,
    roles: Vec<String>,
    reason: &str,
    key: &Path,
    sign_key: Option<&Path>,
    policies: &[PathBuf],
) -> Result<ExitCode, String> {
    let (k, entry_id) = registered_key(sign_key, key, &roles, "an override")?;
    let who = who.unwrap_or(&entry_id).to_owned();
    let g = writer(dir, key, load_set(policies)?)?;
    let (full, hash) = g.deny_hash(decision).map_err(|e| e.to_string())?;
    let signature = sign_override(&k, &full, &hash, &who, reason);
    let d = g
        .override_signed(decision, &Approver::new(who), reason, &signature)
        .map_err(|e| e.to_string())?;
    g.close().map_err(|e| e.to_string())?;
    outln!("OVERRIDE recorded as {}: {}", d.id, d.decision.reason);
    outln!(
        "run the action, then: lumenflow record {} --key {} --decision {} --status success|failure",
        dir.display(),
        key.display(),
        d.id
    );
    Ok(ExitCode::SUCCESS)
}

/// The person's own key from `--sign-key`, and the identity the registry binds it to;
/// roles given on the command line are refused (they come from the registry).
fn registered_key(
    sign_key: Option<&Path>,
    key: &Path,
    roles: &[String],
    what: &str,
) -> Result<(KeyPair, String), String> {
    if !roles.is_empty() {
        return Err(format!(
            "--role is not accepted: the roles of {what} come from the approver registry (--registry), never from the command line"
        ));
    }
    let Some(sign_key) = sign_key else {
        return Err(format!(
            "{what} from the command line must be signed with the person's own key (--sign-key FILE), registered in the approver registry (--registry FILE); {} is the governor's key, which signs records, not people",
            key.display()
        ));
    };
    let registry = crate::registry()?;
    let k = KeyPair::from_file(sign_key).map_err(|e| e.to_string())?;
    let Some(entry) = registry.by_key(k.id()) else {
        return Err(format!(
            "{}: key {} is not registered in the approver registry{}",
            sign_key.display(),
            k.id(),
            if registry.approvers().next().is_none() {
                " (no --registry given, or it registers nobody)"
            } else {
                ""
            }
        ));
    };
    let id = entry.id.clone();
    Ok((k, id))
}

/// `lumenflow budgets DIR --policy ...`.
pub fn budgets(dir: &Path, policies: &[PathBuf], json: bool) -> Result<ExitCode, String> {
    let set = load_set(policies)?;
    let st = read_state(dir)?;
    let statuses = budget_statuses(&set, st.accounts(), now());
    for b in &statuses {
        if json {
            outln!("{}", json_line(b)?);
        } else {
            outln!(
                "{}  `{}`: {} of {} {} spent, {} remaining",
                b.budget,
                b.account,
                b.spent,
                b.limit,
                b.unit,
                b.remaining
            );
        }
    }
    if statuses.is_empty() && !json {
        outln!("no budget has been charged");
    }
    Ok(ExitCode::SUCCESS)
}

/// `lumenflow replay`: exit 0 if nothing changed, 2 if some decision would change (1 is
/// an error).
pub fn replay(
    path: &Path,
    policies: &[PathBuf],
    json: bool,
    all: bool,
) -> Result<ExitCode, String> {
    let set = load_set(policies)?;
    let report = replay_path(path, &set).map_err(|e| e.to_string())?;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        for e in report.entries.iter().filter(|e| all || e.changed) {
            let mark = if e.changed { "CHANGED" } else { "same   " };
            outln!(
                "{mark} {} {} {}: recorded {} ({}{}), now {} ({}{}){}",
                e.decision,
                e.ts,
                e.tool,
                e.recorded.effect,
                by(e.recorded.decided_by),
                rules(&e.recorded.rules),
                e.replayed.effect,
                by(e.replayed.decided_by),
                rules(&e.replayed.rules),
                if e.redacted {
                    " [input partly redacted]"
                } else {
                    ""
                }
            );
        }
        for s in &report.skipped {
            outln!("skipped {s}");
        }
        outln!(
            "{} decisions replayed: {} same, {} changed; {} overrides not re-decided; {}",
            report.decisions,
            report.same,
            report.changed,
            report.overrides,
            if report.same_policies {
                "recorded under these exact policies"
            } else {
                "recorded under other policies (or versions)"
            }
        );
    }
    Ok(if report.changed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn by(d: DecidedBy) -> String {
    serde_json::to_value(d)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn rules(r: &[String]) -> String {
    if r.is_empty() {
        String::new()
    } else {
        format!(": {}", r.join(", "))
    }
}
