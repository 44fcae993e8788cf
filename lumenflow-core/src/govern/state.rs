//! State derived from the evidence log: open decisions, approval requests and their
//! grants, budget spend, and denies that may be overridden.
//!
//! The log is the only source of truth: a [`State`] is a fold over its records, so it
//! survives restarts and is shared by every process that writes to the same log. A
//! governor keeps one in memory and, under the log's lock, reads only what other writers
//! appended since it last looked ([`crate::evidence::store::DirStore::transact`]); that is what
//! makes reserving budget and consuming a grant atomic across threads and processes.
//! [`evaluate`] is the one stateful decision procedure, used by the governor and by
//! [`crate::govern::replay`].

use crate::action::{Action, Context};
use crate::evidence::record::{kind, Record};
use crate::evidence::store::RawLine;
use crate::govern::approval::{Approver, Choice, Request, RequestState, Vote};
use crate::govern::budget::{self, Accounts, ChargeStatus};
use crate::policy::decide::{DecidedBy, Decision, Effect, PolicySet, RuleError, RuleRef};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A decision that has no outcome yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Open {
    pub hash: String,
    pub instance: String,
    /// The decision's effect: an outcome's status must fit it.
    #[serde(default)]
    pub effect: Option<Effect>,
    /// The recorded (redacted) action, kept when budgets reserved for it.
    pub action: Option<Value>,
    /// The proposing actor's id (a daemon lets only that actor record the outcome).
    /// Absent in snapshots written before it was kept: then nobody is its owner.
    #[serde(default)]
    pub actor: Option<String>,
}

/// A deny, kept so that it can be overridden.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Denied {
    pub hash: String,
    pub action: Value,
    pub input_digest: String,
    pub binding: String,
    pub decided_by: DecidedBy,
    pub rules: Vec<RuleRef>,
    pub redactions: Value,
    pub overridden_by: Option<String>,
    /// The policies (names and digests) that made the deny: an override is judged by
    /// them, not by whatever policy the overrider holds.
    #[serde(default)]
    pub policies: Vec<crate::policy::decide::PolicyRef>,
}

/// Everything governing needs to know about the log so far. Serialisable, for the
/// governor's signed snapshot (see [`crate::govern::governor`]).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct State {
    pub(crate) accounts: Accounts,
    requests: HashMap<String, Request>,
    order: Vec<String>,
    by_binding: HashMap<String, Vec<String>>,
    pub(crate) open: HashMap<String, Open>,
    pub(crate) denied: HashMap<String, Denied>,
    records: u64,
    /// Votes the fold did not count, with why (a bad signature, an approver the rule does
    /// not allow, after expiry, a second vote by one identity).
    #[serde(default)]
    ignored: Vec<String>,
    /// Whose word makes a vote count (not saved: a snapshot records the registry's digest,
    /// and the governor that loads it sets this).
    #[serde(skip)]
    trust: crate::govern::approval::VoteTrust,
}

/// Microseconds since the epoch of an RFC 3339 time (0 if it does not parse).
pub(crate) fn micros(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts).map_or(0, |t| t.timestamp_micros())
}

/// The digest an approval is bound to: the action without its free-form `metadata`
/// (tool, args, actor, session, run, cost, tokens), so that changing anything else
/// (an argument, the amount) is a different action.
pub fn binding(action: &Value) -> String {
    crate::evidence::canonical::digest(&bound(action)).unwrap_or_default()
}

/// The approval binding as a governor records it: [`binding`]'s fields under the
/// directory's digest key ([`crate::evidence::store::DirStore::digest_key`]), so that a
/// reader without the key cannot confirm a guessed value of the unredacted action.
pub fn keyed_binding(key: &[u8; 32], action: &Value) -> String {
    crate::evidence::canonical::keyed_digest(key, &bound(action)).unwrap_or_default()
}

fn bound(action: &Value) -> serde_json::Map<String, Value> {
    let mut b = serde_json::Map::new();
    for k in ["tool", "args", "actor", "session", "run", "cost", "tokens"] {
        b.insert(k.into(), action.get(k).cloned().unwrap_or(Value::Null));
    }
    b
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

impl State {
    /// An empty state (a log with no records).
    pub fn new() -> State {
        State::default()
    }

    /// An empty state whose votes are judged by `trust`.
    pub fn with_trust(trust: crate::govern::approval::VoteTrust) -> State {
        State {
            trust,
            ..State::default()
        }
    }

    /// Sets whose word makes a vote count, for the records folded from now on.
    pub(crate) fn set_trust(&mut self, trust: crate::govern::approval::VoteTrust) {
        self.trust = trust;
    }

    /// Whose word makes a vote count.
    pub(crate) fn trust(&self) -> &crate::govern::approval::VoteTrust {
        &self.trust
    }

    /// How many records have been folded in.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Folds in raw lines (lines that are not records are skipped: verification, not
    /// governing, reports them).
    pub fn apply_lines(&mut self, lines: &[RawLine]) {
        for l in lines {
            if let Ok(rec) = Record::parse(&l.bytes) {
                self.apply(&rec);
            }
        }
    }

    /// Folds in one record.
    pub fn apply(&mut self, rec: &Record) {
        self.records += 1;
        match rec.kind.as_str() {
            kind::DECISION | kind::OVERRIDE => self.apply_decision(rec),
            kind::OUTCOME => {
                let Some(dec) = rec.body.get("decision").and_then(Value::as_str) else {
                    return;
                };
                self.open.remove(dec);
                if let Some(settled) = rec.body.get("settled").and_then(Value::as_array) {
                    for s in settled {
                        if let (Some(b), Some(a)) = (
                            s.get("budget").and_then(Value::as_str),
                            s.get("amount").and_then(Value::as_f64),
                        ) {
                            self.accounts.settle(dec, b, a);
                        }
                    }
                }
            }
            kind::APPROVAL => self.apply_vote(rec),
            _ => {}
        }
    }

    fn apply_decision(&mut self, rec: &Record) {
        let id = rec.id();
        let body = &rec.body;
        let Some(Ok(d)) = body.get("decision").map(Decision::deserialize) else {
            return;
        };
        if rec.kind == kind::OVERRIDE {
            // Checked again here, whoever wrote it: an override that skips the writer's
            // checks (written with the governor's key by other means) decides nothing.
            if let Err(why) = self.check_override(rec, &d) {
                self.ignored.push(format!("{id}: ignored override: {why}"));
                return;
            }
        }
        let at = micros(&rec.ts);
        if matches!(d.decided_by, DecidedBy::Approval) {
            if let Some(r) = d.approval.as_ref().and_then(|a| a.request.as_ref()) {
                if let Some(req) = self.requests.get_mut(r) {
                    req.state = RequestState::Used;
                    req.used_by = Some(id.clone());
                }
            }
        }
        let mut reserved = false;
        for c in d.budgets.iter().filter(|c| c.reserved) {
            self.accounts
                .reserve(&id, &c.budget, &c.account, c.amount, at);
            reserved = true;
        }
        let action = body.get("action").cloned().unwrap_or(Value::Null);
        let binding = str_at(body, "/binding").to_owned();
        let host_approves = body.get("host_approves") == Some(&Value::Bool(true));
        if d.effect == Effect::RequireApproval && !host_approves {
            let terms = d.approval.clone();
            let mut rules: Vec<String> = d
                .deciding_rules
                .iter()
                .map(|r| format!("{}/{}", r.policy, r.rule))
                .collect();
            if d.decided_by == DecidedBy::Budget {
                rules.extend(
                    d.budgets
                        .iter()
                        .filter(|c| c.status == ChargeStatus::Exceeded)
                        .map(|c| format!("budget/{}", c.budget)),
                );
            }
            let req = Request {
                id: id.clone(),
                decision_hash: rec.hash.clone(),
                tool: str_at(&action, "/tool").to_owned(),
                actor: str_at(&action, "/actor/id").to_owned(),
                session: str_at(&action, "/session").to_owned(),
                binding: binding.clone(),
                rules,
                approvers: d.approvers.clone(),
                quorum: terms.as_ref().map_or(1, |t| t.quorum.max(1)),
                opened_at: rec.ts.clone(),
                expires_at: terms.and_then(|t| t.expires_at),
                state: RequestState::Pending,
                votes: Vec::new(),
                used_by: None,
            };
            self.by_binding
                .entry(binding.clone())
                .or_default()
                .push(id.clone());
            self.order.push(id.clone());
            self.requests.insert(id.clone(), req);
        }
        if d.effect == Effect::Deny {
            self.denied.insert(
                id.clone(),
                Denied {
                    hash: rec.hash.clone(),
                    action: action.clone(),
                    input_digest: str_at(body, "/input_digest").to_owned(),
                    binding,
                    decided_by: d.decided_by,
                    rules: d.deciding_rules.clone(),
                    redactions: body.get("redactions").cloned().unwrap_or(Value::Null),
                    overridden_by: None,
                    policies: d.policies.clone(),
                },
            );
        }
        if let Some(of) = body.pointer("/override/decision").and_then(Value::as_str) {
            if let Some(den) = self.denied.get_mut(of) {
                den.overridden_by = Some(id.clone());
            }
        }
        self.open.insert(
            id,
            Open {
                hash: rec.hash.clone(),
                instance: str_at(body, "/instance").to_owned(),
                effect: Some(d.effect),
                actor: action
                    .pointer("/actor/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                action: reserved.then_some(action),
            },
        );
    }

    /// The fold's checks of an override record: it overrides a deny of this log, not yet
    /// overridden, by its hash, for the same action; under the policies that denied; by an
    /// overrider authenticated as votes are ([`crate::govern::approval::authenticate`])
    /// whom every deciding rule's recorded `overridable_by` lets override.
    fn check_override(&self, rec: &Record, d: &Decision) -> Result<(), String> {
        let b = &rec.body;
        let of = str_at(b, "/override/decision");
        let den = self
            .denied
            .get(of)
            .ok_or_else(|| format!("overrides {of:?}, which is no deny of this log"))?;
        if let Some(by) = &den.overridden_by {
            return Err(format!("{of} was already overridden by {by}"));
        }
        if str_at(b, "/override/decision_hash") != den.hash {
            return Err(format!("the hash it names is not that of deny {of}"));
        }
        if str_at(b, "/binding") != den.binding {
            return Err(format!("it allows another action than deny {of} denied"));
        }
        if !matches!(den.decided_by, DecidedBy::Rule) || den.rules.is_empty() {
            return Err(format!("deny {of} was not made by rules"));
        }
        for r in &den.rules {
            let recorded = den.policies.iter().find(|p| p.name == r.policy);
            let held = d.policies.iter().find(|p| p.name == r.policy);
            if recorded.is_none() || recorded.map(|p| &p.digest) != held.map(|p| &p.digest) {
                return Err(format!(
                    "rule `{}` is judged by the policy that denied, not the one the override names",
                    r.rule
                ));
            }
        }
        let Some(Ok(who)) = b.pointer("/override/actor").map(Approver::deserialize) else {
            return Err("it names no overrider".into());
        };
        let reason = str_at(b, "/override/reason");
        let key_id = match (
            b.pointer("/override/public_key"),
            b.pointer("/override/signature"),
        ) {
            (None, None) => None,
            (Some(Value::String(pk)), Some(Value::String(sig))) => {
                let s = crate::govern::approval::VoteSignature {
                    public_key: pk.clone(),
                    signature: sig.clone(),
                };
                Some(crate::govern::approval::check_override(
                    &s, of, &den.hash, &who.id, reason,
                )?)
            }
            _ => return Err("malformed override signature".into()),
        };
        let attestation = b
            .pointer("/override/attestation/method")
            .and_then(Value::as_str);
        let (who, _) = crate::govern::approval::authenticate(
            &self.trust,
            &who,
            key_id.as_deref(),
            attestation,
            &rec.key,
        )?;
        // The registry's identity is what the writer judged; with a registry the actor
        // recorded must be it.
        for r in &den.rules {
            let entries = b
                .pointer("/override/overridable_by")
                .and_then(|m| m.get(format!("{}/{}", r.policy, r.rule)))
                .and_then(Value::as_array)
                .ok_or_else(|| format!("it records no `overridable_by` for rule `{}`", r.rule))?;
            if !entries
                .iter()
                .filter_map(Value::as_str)
                .any(|e| crate::govern::approval::matches(e, &who, key_id.as_deref()))
            {
                return Err(format!(
                    "rule `{}` does not let {} override it",
                    r.rule, who.id
                ));
            }
        }
        Ok(())
    }

    fn apply_vote(&mut self, rec: &Record) {
        let b = &rec.body;
        let Some(req) = b
            .get("request")
            .and_then(Value::as_str)
            .and_then(|r| self.requests.get_mut(r))
        else {
            self.ignored.push(format!(
                "{}: ignored: votes on {:?}, which is no approval request of this log",
                rec.id(),
                str_at(b, "/request")
            ));
            return;
        };
        let Some(Ok(approver)) = b.get("approver").map(Approver::deserialize) else {
            self.ignored
                .push(format!("{}: ignored: names no approver", rec.id()));
            return;
        };
        let verdict = match str_at(b, "/verdict") {
            "approve" => Choice::Approve,
            "reject" => Choice::Reject,
            other => {
                self.ignored
                    .push(format!("{}: ignored: verdict {other:?}", rec.id()));
                return;
            }
        };
        // The rules are checked again here, whoever wrote the vote: a record that skips
        // the writer's checks (written with the governor's key by other means) decides
        // nothing.
        let reason = str_at(b, "/reason").to_owned();
        let key_id = match (b.get("public_key"), b.get("signature")) {
            (None, None) => {
                if b.get("key_id").is_some() {
                    self.ignored.push(format!(
                        "{}: ignored: claims a key but carries no signature",
                        rec.id()
                    ));
                    return;
                }
                None
            }
            (Some(Value::String(pk)), Some(Value::String(sig))) => {
                let s = crate::govern::approval::VoteSignature {
                    public_key: pk.clone(),
                    signature: sig.clone(),
                };
                match crate::govern::approval::check_signature(
                    &s,
                    &req.id,
                    &req.binding,
                    verdict,
                    &approver.id,
                    &reason,
                ) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        self.ignored
                            .push(format!("{}: ignored: bad vote signature: {e}", rec.id()));
                        return;
                    }
                }
            }
            _ => {
                self.ignored
                    .push(format!("{}: ignored: malformed vote signature", rec.id()));
                return;
            }
        };
        let attestation = b.pointer("/attestation/method").and_then(Value::as_str);
        let (approver, registered) = match crate::govern::approval::authenticate(
            &self.trust,
            &approver,
            key_id.as_deref(),
            attestation,
            &rec.key,
        ) {
            Ok(a) => a,
            Err(why) => {
                self.ignored.push(format!("{}: ignored: {why}", rec.id()));
                return;
            }
        };
        let why = if at_time(req, micros(&rec.ts)).state == RequestState::Expired {
            Some("cast after the request expired")
        } else if req.state != RequestState::Pending {
            Some("cast after the request was closed")
        } else if !req.allows(&approver, key_id.as_deref()) {
            Some("the approver is not one the rule allows (or is the proposer)")
        } else {
            None
        };
        if let Some(why) = why {
            self.ignored.push(format!("{}: ignored: {why}", rec.id()));
            return;
        }
        let vote = Vote {
            approver,
            verdict,
            reason,
            at: rec.ts.clone(),
            key_id,
            record: rec.id(),
            attested: attestation.map(str::to_owned),
            registered,
        };
        if req.votes.iter().any(|v| v.identity() == vote.identity()) {
            // One vote per identity: the first stands.
            self.ignored.push(format!(
                "{}: ignored: {} already voted",
                rec.id(),
                vote.identity()
            ));
            return;
        }
        req.votes.push(vote);
        if req.state == RequestState::Pending {
            if verdict == Choice::Reject {
                req.state = RequestState::Rejected;
            } else if req.approvals() >= req.quorum as usize {
                req.state = RequestState::Approved;
            }
        }
    }

    /// A request as it stands at `now` (µs): pending or approved ones past their expiry
    /// read as expired.
    pub fn request_at(&self, id: &str, now: i64) -> Option<Request> {
        self.requests.get(id).map(|r| at_time(r, now))
    }

    /// Every request, oldest first, as it stands at `now` (µs).
    pub fn requests_at(&self, now: i64) -> Vec<Request> {
        self.order
            .iter()
            .filter_map(|id| self.requests.get(id))
            .map(|r| at_time(r, now))
            .collect()
    }

    /// The oldest approved, unused, unexpired request for this binding.
    pub fn grant_for(&self, binding: &str, now: i64) -> Option<&Request> {
        self.by_binding.get(binding)?.iter().find_map(|id| {
            let r = self.requests.get(id)?;
            (at_time(r, now).state == RequestState::Approved).then_some(r)
        })
    }

    /// Votes in the log that the fold did not count, with why.
    pub fn ignored_votes(&self) -> &[String] {
        &self.ignored
    }

    /// Spend per budget account.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The ids of decisions that have no outcome yet.
    pub fn open_decisions(&self) -> impl Iterator<Item = &str> {
        self.open.keys().map(String::as_str)
    }
}

fn at_time(r: &Request, now: i64) -> Request {
    let mut r = r.clone();
    if matches!(r.state, RequestState::Pending | RequestState::Approved)
        && r.expires_at.as_deref().is_some_and(|e| micros(e) < now)
    {
        r.state = RequestState::Expired;
    }
    r
}

/// Decides `action` in `context` against `set`, given the log's `state` at time `ts`: the
/// pure decision, then budgets (visible to rules as `context.budgets`), then a grant for
/// the exact action (`binding`) if approval is required. Grants and reservations are only
/// *named* in the decision; folding its record into the state applies them.
pub fn evaluate(
    set: &PolicySet,
    state: &State,
    action: &Action,
    context: &Context,
    binding: &str,
    ts: &str,
) -> Decision {
    let now = micros(ts);
    let has_budgets = budget::all(set).next().is_some();
    let with_budgets;
    let ctx = if has_budgets {
        with_budgets = context.clone().with(
            "budgets",
            Value::Object(budget::views(set, &state.accounts, action, now)),
        );
        &with_budgets
    } else {
        context
    };
    let mut d = set.decide(action, ctx);
    if d.decided_by == DecidedBy::InvalidInput {
        return d;
    }
    if has_budgets && d.effect != Effect::Deny {
        match budget::assess(set, &state.accounts, action, ctx, now) {
            Err(message) => {
                d.effect = Effect::Deny;
                d.decided_by = DecidedBy::Budget;
                d.approvers.clear();
                d.approval = None;
                d.reason = format!("denied: {message}");
                d.errors.push(RuleError {
                    policy: "".into(),
                    rule: "".into(),
                    message,
                    effect: Effect::Deny,
                });
            }
            Ok(charges) => {
                budget_verdict(set, &mut d, &charges);
                d.budgets = charges;
            }
        }
    }
    if d.effect == Effect::RequireApproval {
        if let Some(req) = state.grant_for(binding, now) {
            d.effect = Effect::Allow;
            d.decided_by = DecidedBy::Approval;
            let by: Vec<&str> = req
                .votes
                .iter()
                .filter(|v| v.verdict == Choice::Approve)
                .map(|v| v.approver.id.as_str())
                .collect();
            d.reason = format!(
                "allowed: approval request {} was approved by {}",
                req.id,
                by.join(", ")
            );
            let terms = d
                .approval
                .get_or_insert(crate::policy::decide::ApprovalTerms {
                    quorum: req.quorum,
                    expires_in: None,
                    expires_at: None,
                    request: None,
                    automatic: Vec::new(),
                });
            terms.request = Some(req.id.clone());
            terms.expires_at = req.expires_at.clone();
        }
    }
    if d.effect == Effect::Allow {
        for c in &mut d.budgets {
            c.reserved = true;
        }
    }
    d
}

/// Applies exceeded budgets to the decision: a deny if any such budget says so, else
/// approval (an allow becomes require_approval with the budgets' approvers).
fn budget_verdict(set: &PolicySet, d: &mut Decision, charges: &[budget::Charge]) {
    let exceeded: Vec<&budget::Budget> = charges
        .iter()
        .filter(|c| c.status == ChargeStatus::Exceeded)
        .filter_map(|c| budget::find(set, &c.budget))
        .collect();
    let Some(first) = exceeded.first() else {
        return;
    };
    let describe = |b: &budget::Budget| {
        let c = charges.iter().find(|c| c.budget == b.id).expect("charged");
        format!(
            "budget `{}` would be exceeded ({} spent + {} > limit {} {} for {} `{}`)",
            b.id,
            c.spent,
            c.amount,
            c.limit,
            c.unit,
            serde_json::to_value(c.per)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            c.account
        )
    };
    if let Some(b) = exceeded.iter().find(|b| b.on_exceed == Effect::Deny) {
        d.effect = Effect::Deny;
        d.decided_by = DecidedBy::Budget;
        d.approvers.clear();
        d.approval = None;
        d.reason = format!("denied: {}", describe(b));
        return;
    }
    if d.effect == Effect::Allow {
        d.effect = Effect::RequireApproval;
        d.decided_by = DecidedBy::Budget;
        d.approvers.clear();
        let mut terms = crate::policy::decide::ApprovalTerms {
            quorum: 1,
            expires_in: None,
            expires_at: None,
            request: None,
            automatic: Vec::new(),
        };
        for b in &exceeded {
            for a in &b.approvers {
                if !d.approvers.contains(a) {
                    d.approvers.push(a.clone());
                }
            }
            terms.quorum = terms.quorum.max(b.quorum);
            if let Some(e) = b.expires_in {
                terms.expires_in = Some(terms.expires_in.map_or(e, |x| x.min(e)));
            }
        }
        d.approval = Some(terms);
        d.reason = format!("requires approval: {}", describe(first));
    } else {
        d.reason = format!("{}; also {}", d.reason, describe(first));
    }
}

/// The grant-free request and the policy's rules for an override: every deciding rule
/// of the deny must list the actor in `overridable_by`.
pub(crate) fn may_override(
    set: &PolicySet,
    denied: &Denied,
    who: &Approver,
) -> Result<Vec<Arc<str>>, String> {
    if !matches!(denied.decided_by, DecidedBy::Rule) || denied.rules.is_empty() {
        return Err(format!(
            "only a deny by rules that name `overridable_by` can be overridden; this one was decided by {}",
            serde_json::to_value(denied.decided_by)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ));
    }
    let mut rules = Vec::new();
    for r in &denied.rules {
        let Some(rule) = set.rule(&r.policy, &r.rule) else {
            return Err(format!(
                "rule `{}` of `{}` is not in the loaded policies",
                r.rule, r.policy
            ));
        };
        if !rule
            .overridable_by()
            .any(|e| crate::govern::approval::matches(e, who, None))
        {
            let allowed: Vec<&str> = rule.overridable_by().collect();
            return Err(format!(
                "rule `{}` does not let {} override it (overridable_by: [{}])",
                r.rule,
                who.id,
                allowed.join(", ")
            ));
        }
        rules.push(r.rule.clone());
    }
    Ok(rules)
}
