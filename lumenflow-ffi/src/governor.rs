//! Keys and the governed API: decide, record, checkpoint, close.

use crate::approvals::{
    ApprovalRequest, Approver, BudgetStatus, Choice, ManualClock, VoteSignature,
};
use crate::decide::{Action, Context, Decision, PolicySet};
use crate::error::{guard, Result};
use crate::keys::KeyPair;
use lumenflow_core as core;
use std::sync::Arc;
use std::time::Duration;

/// What an append promises once it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Durability {
    /// Every record is on stable storage before its append returns.
    Sync,
    /// As `Sync`, with concurrent appends sharing one sync (the default).
    Group,
    /// Handed to the operating system: survives the process, not a power loss.
    None,
}

impl From<Durability> for core::Durability {
    fn from(d: Durability) -> core::Durability {
        match d {
            Durability::Sync => core::Durability::Sync,
            Durability::Group => core::Durability::Group,
            Durability::None => core::Durability::None,
        }
    }
}

/// Options for [`Governor::open`].
#[derive(Debug, Clone, uniffi::Record)]
pub struct GovernorOptions {
    /// The context decisions are made in (unless given per call); empty if not given.
    #[uniffi(default = None)]
    pub context: Option<Arc<Context>>,
    /// Evidence durability; group commit if not given.
    #[uniffi(default = None)]
    pub durability: Option<Durability>,
    /// Whether decisions still open when this governor closes (or its process ends) are
    /// closed as `unknown`: true for a program that runs the tools itself.
    #[uniffi(default = true)]
    pub close_open_on_exit: bool,
    /// Whether the host asks for approval itself (as Claude Code does): then a
    /// require_approval decision stays open for the call's outcome instead of opening a
    /// LumenFlow approval request.
    #[uniffi(default = false)]
    pub host_approves: bool,
    /// A manual clock (for tests of expiry and budget windows); the system clock if not
    /// given.
    #[uniffi(default = None)]
    pub clock: Option<Arc<ManualClock>>,
    /// Other writers' public keys (PEM or hex) whose records count; only this governor's
    /// own if not given.
    #[uniffi(default = None)]
    pub trusted_keys: Option<Vec<String>>,
    /// The approver registry file: votes then count only if signed by a registered key
    /// or attested by a declared attester.
    #[uniffi(default = None)]
    pub registry_path: Option<String>,
}

/// How an action turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Status {
    /// It ran and succeeded.
    Success,
    /// It ran and failed.
    Failure,
    /// It was not run because it was denied.
    Denied,
    /// Nobody knows how it went.
    Unknown,
    /// Not run yet: it waits for approval.
    AwaitingApproval,
}

impl From<Status> for core::Status {
    fn from(s: Status) -> core::Status {
        match s {
            Status::Success => core::Status::Success,
            Status::Failure => core::Status::Failure,
            Status::Denied => core::Status::Denied,
            Status::Unknown => core::Status::Unknown,
            Status::AwaitingApproval => core::Status::AwaitingApproval,
        }
    }
}

/// What to record about an action's outcome.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Outcome {
    /// How it went.
    pub status: Status,
    /// Its output: only its digest is recorded, never the bytes.
    #[uniffi(default = None)]
    pub output: Option<Vec<u8>>,
    /// How long it took, in milliseconds.
    #[uniffi(default = None)]
    pub duration_ms: Option<u64>,
    /// An error message (redacted before it is recorded).
    #[uniffi(default = None)]
    pub error: Option<String>,
    /// What it actually cost (settles budgets counted on `action.cost`).
    #[uniffi(default = None)]
    pub cost: Option<f64>,
    /// Tokens it actually consumed (settles budgets counted on `action.tokens`).
    #[uniffi(default = None)]
    pub tokens: Option<i64>,
}

impl From<Outcome> for core::Outcome {
    fn from(o: Outcome) -> core::Outcome {
        let mut out = core::Outcome {
            error: o.error,
            ..core::Outcome::new(o.status.into())
        };
        if let Some(bytes) = &o.output {
            out = out.with_output(bytes);
        }
        if let Some(ms) = o.duration_ms {
            out = out.with_duration(Duration::from_millis(ms));
        }
        if let Some(c) = o.cost {
            out = out.with_cost(c);
        }
        if let Some(t) = o.tokens {
            out = out.with_tokens(t);
        }
        out
    }
}

/// What a governed decision means for the caller, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Verdict {
    /// Run it (and record the outcome).
    Allow,
    /// Do not run it.
    Deny,
    /// Do not run it yet: approval request `request` is open.
    ApprovalRequired,
    /// Do not run it: a budget would be exceeded.
    BudgetExceeded,
}

impl From<core::Verdict> for Verdict {
    fn from(v: core::Verdict) -> Verdict {
        match v {
            core::Verdict::Allow => Verdict::Allow,
            core::Verdict::Deny => Verdict::Deny,
            core::Verdict::ApprovalRequired => Verdict::ApprovalRequired,
            core::Verdict::BudgetExceeded => Verdict::BudgetExceeded,
        }
    }
}

/// A decision and the evidence record it was written to.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Governed {
    /// The decision.
    pub decision: Decision,
    /// The decision record's id (`<stream>:<seq>`), for [`Governor::record`].
    pub id: String,
    /// The decision record's hash.
    pub hash: String,
    /// True if the effect is allow.
    pub allowed: bool,
    /// Allow, deny, approval required or budget exceeded (the core's verdict).
    pub verdict: Verdict,
    /// The approval request this decision opened (its own id), if it requires approval.
    pub request: Option<String>,
}

/// One evidence record as written.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EvidenceRecord {
    /// Its id (`<stream>:<seq>`).
    pub id: String,
    /// Its sequence number.
    pub seq: u64,
    /// Its kind (`decision`, `outcome`, ...).
    pub kind: String,
    /// Its hash.
    pub hash: String,
    /// The record's line, exactly as stored.
    pub json: String,
}

impl EvidenceRecord {
    pub(crate) fn from_core(r: &core::Record) -> EvidenceRecord {
        EvidenceRecord {
            id: r.id(),
            seq: r.seq,
            kind: r.kind.clone(),
            hash: r.hash.clone(),
            json: String::from_utf8_lossy(&r.to_line()).into_owned(),
        }
    }
}

/// A signed statement of a log's head; keep it apart from the log to detect a cut tail.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Checkpoint {
    /// The stream.
    pub stream: String,
    /// The head's sequence number.
    pub seq: u64,
    /// The head's hash.
    pub head: String,
    /// The checkpoint as JSON text (what `verify` takes back).
    pub json: String,
}

impl Checkpoint {
    pub(crate) fn from_core(c: &core::Checkpoint) -> Checkpoint {
        Checkpoint {
            stream: c.stream.clone(),
            seq: c.seq,
            head: c.head.clone(),
            json: c.to_json(),
        }
    }
}

/// Decides actions under a policy and records every decision and outcome as signed,
/// hash-chained evidence, before anything runs. Thread-safe; several governors (and
/// processes) may share one evidence directory.
#[derive(Debug, uniffi::Object)]
pub struct Governor(core::Governor);

#[uniffi::export]
impl Governor {
    /// Opens (or creates) the evidence directory `dir`.
    #[uniffi::constructor(default(options = None))]
    pub fn open(
        dir: String,
        policies: Arc<PolicySet>,
        key: Arc<KeyPair>,
        options: Option<GovernorOptions>,
    ) -> Result<Arc<Governor>> {
        guard(|| {
            let mut o = core::GovernorOptions::default();
            if let Some(opts) = options {
                if let Some(c) = opts.context {
                    o.context = c.0.clone();
                }
                if let Some(d) = opts.durability {
                    o.durability = d.into();
                }
                o.close_open_on_exit = opts.close_open_on_exit;
                o.host_approves = opts.host_approves;
                if let Some(c) = opts.clock {
                    o.clock = c.0.clone();
                }
                if let Some(k) = opts.trusted_keys {
                    o.trusted_keys = Some(core::Keyring::from_pems(&k, "trusted_keys")?);
                }
                if let Some(p) = opts.registry_path {
                    o.registry = Some(Arc::new(core::Registry::load(p)?));
                }
            }
            let g = core::Governor::open(&dir, policies.0.clone(), key.0.clone(), o)?;
            Ok(Arc::new(Governor(g)))
        })
    }

    /// Decides `action` in the governor's context and records the decision before
    /// returning. Run the tool only if `allowed`; a deny is closed automatically.
    pub fn decide(&self, action: Arc<Action>) -> Result<Governed> {
        guard(|| governed(self.0.decide(&action.0)?))
    }

    /// As [`Governor::decide`], in `context`.
    pub fn decide_in(&self, action: Arc<Action>, context: Arc<Context>) -> Result<Governed> {
        guard(|| governed(self.0.decide_in(&action.0, &context.0)?))
    }

    /// Records how the decided action turned out; `decision` is the id from `decide`.
    pub fn record(&self, decision: String, outcome: Outcome) -> Result<EvidenceRecord> {
        guard(|| {
            let rec = self.0.record(&decision, outcome.into())?;
            Ok(EvidenceRecord::from_core(&rec))
        })
    }

    /// Signs and writes a checkpoint of the current head (none if the log is empty).
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        guard(|| Ok(self.0.checkpoint()?.as_ref().map(Checkpoint::from_core)))
    }

    /// Closes this governor's open decisions as `unknown`, writes a checkpoint and
    /// releases its instance. (Also done, best effort, when the object is destroyed.)
    pub fn shutdown(&self) -> Result<()> {
        guard(|| Ok(self.0.close()?))
    }

    /// Approves request `request` (a decision id) as `approver`. Refused (an `approval`
    /// error) if the approver is not one the rule allows (the proposer never is), or the
    /// request expired or is closed.
    pub fn approve(
        &self,
        request: String,
        approver: Approver,
        reason: String,
    ) -> Result<ApprovalRequest> {
        guard(|| Ok((&self.0.approve(&request, &approver.into(), &reason)?).into()))
    }

    /// Rejects request `request` as `approver` (one reject closes it).
    pub fn reject(
        &self,
        request: String,
        approver: Approver,
        reason: String,
    ) -> Result<ApprovalRequest> {
        guard(|| Ok((&self.0.reject(&request, &approver.into(), &reason)?).into()))
    }

    /// Votes for registered approver `approver_id`, whom this program authenticated
    /// itself by `method`; counts only if the registry declares this governor's key an
    /// attester for it.
    pub fn attest(
        &self,
        request: String,
        approver_id: String,
        choice: Choice,
        reason: String,
        method: String,
    ) -> Result<ApprovalRequest> {
        guard(|| {
            Ok((&self
                .0
                .attest(&request, &approver_id, choice.into(), &reason, &method)?)
                .into())
        })
    }

    /// Records of the log that decided nothing (untrusted, or votes and overrides that
    /// do not count), with why.
    pub fn rejected_records(&self) -> Result<Vec<String>> {
        guard(|| Ok(self.0.rejected_records()))
    }

    /// Votes on a request, optionally with the approver's own signature (see
    /// [`crate::sign_vote`]); `key:<id>` approvers require one.
    #[uniffi::method(default(signature = None))]
    pub fn vote(
        &self,
        request: String,
        approver: Approver,
        choice: Choice,
        reason: String,
        signature: Option<VoteSignature>,
    ) -> Result<ApprovalRequest> {
        guard(|| {
            let sig = signature.map(Into::into);
            Ok((&self.0.vote(
                &request,
                &approver.into(),
                choice.into(),
                &reason,
                sig.as_ref(),
            )?)
                .into())
        })
    }

    /// One approval request as it stands now.
    pub fn approval(&self, request: String) -> Result<ApprovalRequest> {
        guard(|| Ok((&self.0.approval(&request)?).into()))
    }

    /// Every approval request in the log, oldest first.
    pub fn approvals(&self) -> Result<Vec<ApprovalRequest>> {
        guard(|| Ok(self.0.approvals()?.iter().map(Into::into).collect()))
    }

    /// Every budget account charged so far.
    pub fn budgets(&self) -> Result<Vec<BudgetStatus>> {
        guard(|| Ok(self.0.budgets()?.iter().map(Into::into).collect()))
    }

    /// Overrides deny `decision` (break-glass): `who` must be allowed by every deciding
    /// rule's `overridable_by` and give a reason. Returns the allowing decision; run the
    /// action and `record` its outcome as for any allowed decision.
    pub fn override_deny(
        &self,
        decision: String,
        who: Approver,
        reason: String,
    ) -> Result<Governed> {
        guard(|| governed(self.0.override_deny(&decision, &who.into(), &reason)?))
    }

    /// The signing key's id.
    pub fn key_id(&self) -> String {
        self.0.key_id().to_owned()
    }

    /// The evidence directory.
    pub fn dir(&self) -> String {
        self.0.store().dir().display().to_string()
    }
}

fn governed(g: core::Governed) -> Result<Governed> {
    Ok(Governed {
        allowed: g.allowed(),
        verdict: g.verdict().into(),
        request: g.request().map(str::to_owned),
        decision: Decision::from_core(&g.decision)?,
        id: g.id,
        hash: g.hash,
    })
}
