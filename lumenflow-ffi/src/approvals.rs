//! Approvals, budgets, overrides, replay and the manual clock, as foreign types.

use crate::decide::{Effect, PolicyRef, PolicySet};
use crate::error::{guard, LumenFlowError, Result};
use lumenflow_core as core;
use std::path::Path;
use std::sync::Arc;

/// Who votes on a request (or overrides a deny): an id and the roles the program vouches
/// for (matched by `role:<name>` approvers).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Approver {
    /// The approver's id (`alice`, `user:alice`).
    pub id: String,
    /// Roles.
    #[uniffi(default = [])]
    pub roles: Vec<String>,
}

impl From<Approver> for core::Approver {
    fn from(a: Approver) -> core::Approver {
        core::Approver {
            id: a.id,
            roles: a.roles,
        }
    }
}

impl From<&core::Approver> for Approver {
    fn from(a: &core::Approver) -> Approver {
        Approver {
            id: a.id.clone(),
            roles: a.roles.clone(),
        }
    }
}

/// An approver's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Choice {
    /// Approve.
    Approve,
    /// Reject.
    Reject,
}

impl From<Choice> for core::Choice {
    fn from(c: Choice) -> core::Choice {
        match c {
            Choice::Approve => core::Choice::Approve,
            Choice::Reject => core::Choice::Reject,
        }
    }
}

impl From<core::Choice> for Choice {
    fn from(c: core::Choice) -> Choice {
        match c {
            core::Choice::Approve => Choice::Approve,
            core::Choice::Reject => Choice::Reject,
        }
    }
}

/// An approver's own Ed25519 signature on a vote (rules demand one with `key:<id>`
/// approvers).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VoteSignature {
    /// The approver's public key (PEM).
    pub public_key: String,
    /// The signature over the vote's signing message, hex.
    pub signature: String,
}

impl From<VoteSignature> for core::VoteSignature {
    fn from(s: VoteSignature) -> core::VoteSignature {
        core::VoteSignature {
            public_key: s.public_key,
            signature: s.signature,
        }
    }
}

/// Signs a vote with the approver's own key: `request` is the request id, `binding` the
/// request's binding digest (`ApprovalRequest.binding`).
#[uniffi::export]
pub fn sign_vote(
    key: Arc<crate::keys::KeyPair>,
    request: String,
    binding: String,
    choice: Choice,
    approver: String,
    reason: String,
) -> Result<VoteSignature> {
    guard(|| {
        let s = core::sign_vote(
            &key.0,
            &request,
            &binding,
            choice.into(),
            &approver,
            &reason,
        );
        Ok(VoteSignature {
            public_key: s.public_key,
            signature: s.signature,
        })
    })
}

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RequestState {
    /// Waiting for votes.
    Pending,
    /// Approved: re-proposing the exact action is allowed once.
    Approved,
    /// Rejected by an approver.
    Rejected,
    /// Expired before it was approved, or before its grant was used.
    Expired,
    /// Approved, and the grant has been used.
    Used,
}

impl From<core::RequestState> for RequestState {
    fn from(s: core::RequestState) -> RequestState {
        match s {
            core::RequestState::Pending => RequestState::Pending,
            core::RequestState::Approved => RequestState::Approved,
            core::RequestState::Rejected => RequestState::Rejected,
            core::RequestState::Expired => RequestState::Expired,
            core::RequestState::Used => RequestState::Used,
        }
    }
}

/// One recorded vote.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Vote {
    /// Who voted.
    pub approver: Approver,
    /// Approve or reject.
    pub choice: Choice,
    /// Why.
    pub reason: String,
    /// When (RFC 3339).
    pub at: String,
    /// The id of the key the approver signed with, if they signed.
    pub key_id: Option<String>,
    /// The vote record's id.
    pub record: String,
}

/// An approval request, as derived from the log (spec/approvals.md).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ApprovalRequest {
    /// The request's id: the id of the decision record that opened it.
    pub id: String,
    /// That decision record's hash.
    pub decision_hash: String,
    /// The action's tool.
    pub tool: String,
    /// The proposing actor's id.
    pub actor: String,
    /// The action's session.
    pub session: String,
    /// The binding digest: tool, args, actor and session.
    pub binding: String,
    /// The rules (or budgets) that required approval, as `policy/rule`.
    pub rules: Vec<String>,
    /// Who may approve (empty: anyone but the proposer).
    pub approvers: Vec<String>,
    /// How many distinct approvers must approve.
    pub quorum: u32,
    /// Distinct approvers who approved so far.
    pub approvals: u32,
    /// When it was opened (RFC 3339).
    pub opened_at: String,
    /// When it expires (RFC 3339), if it does.
    pub expires_at: Option<String>,
    /// Where it stands (when it was read).
    pub state: RequestState,
    /// The votes, in order.
    pub votes: Vec<Vote>,
    /// The decision that used the grant, once used.
    pub used_by: Option<String>,
}

impl From<&core::Request> for ApprovalRequest {
    fn from(r: &core::Request) -> ApprovalRequest {
        ApprovalRequest {
            id: r.id.clone(),
            decision_hash: r.decision_hash.clone(),
            tool: r.tool.clone(),
            actor: r.actor.clone(),
            session: r.session.clone(),
            binding: r.binding.clone(),
            rules: r.rules.clone(),
            approvers: r.approvers.iter().map(|a| a.to_string()).collect(),
            quorum: r.quorum,
            approvals: u32::try_from(r.approvals()).unwrap_or(u32::MAX),
            opened_at: r.opened_at.clone(),
            expires_at: r.expires_at.clone(),
            state: r.state.into(),
            votes: r
                .votes
                .iter()
                .map(|v| Vote {
                    approver: (&v.approver).into(),
                    choice: v.verdict.into(),
                    reason: v.reason.clone(),
                    at: v.at.clone(),
                    key_id: v.key_id.clone(),
                    record: v.record.clone(),
                })
                .collect(),
            used_by: r.used_by.clone(),
        }
    }
}

/// A budget account as it stands.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BudgetStatus {
    /// The budget's id.
    pub budget: String,
    /// The account (session, actor, run id, or `*`).
    pub account: String,
    /// Spend counted now (settled and reserved, inside the window).
    pub spent: f64,
    /// The limit.
    pub limit: f64,
    /// `limit - spent`, never below 0.
    pub remaining: f64,
    /// The unit.
    pub unit: String,
}

impl From<&core::BudgetStatus> for BudgetStatus {
    fn from(b: &core::BudgetStatus) -> BudgetStatus {
        BudgetStatus {
            budget: b.budget.clone(),
            account: b.account.clone(),
            spent: b.spent,
            limit: b.limit,
            remaining: b.remaining,
            unit: b.unit.clone(),
        }
    }
}

/// A clock that moves only when told to, for tests of expiry and budget windows.
#[derive(Debug, uniffi::Object)]
pub struct ManualClock(pub(crate) Arc<core::ManualClock>);

#[uniffi::export]
impl ManualClock {
    /// A clock showing `start` (RFC 3339).
    #[uniffi::constructor]
    pub fn new(start: String) -> Result<Arc<ManualClock>> {
        guard(|| {
            let t = chrono_parse(&start)?;
            Ok(Arc::new(ManualClock(Arc::new(core::ManualClock::new(t)))))
        })
    }

    /// Moves the clock forward by `seconds` (not backward).
    pub fn advance(&self, seconds: f64) -> Result<()> {
        guard(|| {
            if !seconds.is_finite() || seconds < 0.0 {
                return Err(LumenFlowError::invalid(format!(
                    "seconds must be a finite number >= 0, not {seconds}"
                )));
            }
            let ms = (seconds * 1000.0).round().min(i64::MAX as f64) as i64;
            self.0
                .advance(chrono::Duration::try_milliseconds(ms).ok_or_else(|| {
                    LumenFlowError::invalid(format!("seconds: {seconds} is too large"))
                })?);
            Ok(())
        })
    }
}

fn chrono_parse(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| LumenFlowError::invalid(format!("start: `{s}` is not an RFC 3339 time: {e}")))
}

/// What one decision was, or would be (in a replay).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReplayOutcome {
    /// allow, deny or require_approval.
    pub effect: Effect,
    /// What decided it.
    pub decided_by: crate::decide::DecidedBy,
    /// The deciding rules, as `policy/rule`.
    pub rules: Vec<String>,
}

impl From<&core::ReplayOutcome> for ReplayOutcome {
    fn from(o: &core::ReplayOutcome) -> ReplayOutcome {
        ReplayOutcome {
            effect: o.effect.into(),
            decided_by: o.decided_by.into(),
            rules: o.rules.clone(),
        }
    }
}

/// One replayed decision.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReplayEntry {
    /// The decision record's id.
    pub decision: String,
    /// When it was made.
    pub ts: String,
    /// The tool.
    pub tool: String,
    /// What was recorded.
    pub recorded: ReplayOutcome,
    /// What the replay decided.
    pub replayed: ReplayOutcome,
    /// The replay's reason.
    pub reason: String,
    /// Whether the effect, what decided it, or the deciding rules differ.
    pub changed: bool,
    /// Whether the record had redacted input (the replay saw placeholders).
    pub redacted: bool,
}

/// The result of replaying a log under (other) policies.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReplayReport {
    /// The policies replayed with.
    pub policies: Vec<PolicyRef>,
    /// Whether every decision was recorded under exactly these policies.
    pub same_policies: bool,
    /// Decisions replayed.
    pub decisions: u64,
    /// Of those, how many came out the same.
    pub same: u64,
    /// Of those, how many changed.
    pub changed: u64,
    /// Overrides seen (not re-decided).
    pub overrides: u64,
    /// Records that could not be replayed, with why.
    pub skipped: Vec<String>,
    /// Every replayed decision, in log order.
    pub entries: Vec<ReplayEntry>,
    /// The whole report as JSON.
    pub json: String,
}

/// Replays the decisions of an evidence directory or bundle under `policies`: what would
/// have been decided, and what changed.
#[uniffi::export]
pub fn replay(path: String, policies: Arc<PolicySet>) -> Result<ReplayReport> {
    guard(|| {
        let r = core::replay_path(Path::new(&path), &policies.0)?;
        Ok(ReplayReport {
            policies: r
                .policies
                .iter()
                .map(|p| PolicyRef {
                    name: p.name.to_string(),
                    digest: p.digest.to_string(),
                })
                .collect(),
            same_policies: r.same_policies,
            decisions: r.decisions,
            same: r.same,
            changed: r.changed,
            overrides: r.overrides,
            skipped: r.skipped.clone(),
            entries: r
                .entries
                .iter()
                .map(|e| ReplayEntry {
                    decision: e.decision.clone(),
                    ts: e.ts.clone(),
                    tool: e.tool.clone(),
                    recorded: (&e.recorded).into(),
                    replayed: (&e.replayed).into(),
                    reason: e.reason.clone(),
                    changed: e.changed,
                    redacted: e.redacted,
                })
                .collect(),
            json: serde_json::to_string(&r).map_err(|e| LumenFlowError::invalid(e.to_string()))?,
        })
    })
}
