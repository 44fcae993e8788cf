//! The governed API: policy + signing key + evidence store.
//!
//! [`Governor::decide`] evaluates an action and appends the signed `decision` record
//! *before* it returns; if the record cannot be written, it returns an error and the
//! caller must not run the tool. [`Governor::record`] appends the `outcome` record that
//! closes a decision. A deny is closed at once with outcome `denied`. Decisions left open
//! by a process that ended are closed with outcome `unknown` when the log is next opened,
//! and a closing governor closes its own the same way.
//!
//! A `require_approval` decision opens an approval request ([`Governor::approve`],
//! [`Governor::reject`]) and is closed at once with outcome `awaiting_approval`; once
//! approved, re-proposing the same action is allowed. Budgets are reserved at decision and
//! settled at outcome. An authorised actor may override a deny ([`Governor::override_deny`]).
//! All of that state is derived from the log ([`crate::govern::state`]) under the log's lock.
//!
//! Opening a governor folds the whole log once; to keep that fast for long logs, a
//! closing governor saves the state in `state/snapshot.json`, signed with its key, and
//! a governor opened with the same key starts from it if it still matches the log (the
//! hash of the record before its cursor), reading only what was appended since.
//!
//! A `Governor` is `Send + Sync`; any number of threads and processes may govern with the
//! same evidence directory at once.

use crate::action::{Action, Context};
use crate::error::Error;
use crate::evidence::canonical;
use crate::evidence::keys::KeyPair;
use crate::evidence::record::{kind, timestamp, Checkpoint, Head, Record};
use crate::evidence::redact::{redact_text, Redactor};
use crate::evidence::store::{
    Cursor, DirStore, Durability, EvidenceError, Sealer, Store, StoreOptions,
};
use crate::govern::approval::{
    self, ApprovalError, Approver, Choice, Request, RequestState, VoteSignature,
};
use crate::govern::clock::{Clock, SystemClock};
use crate::govern::state::{self, micros, State};
use crate::policy::decide::{DecidedBy, Decision, Effect, PolicySet};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How an action turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It ran and succeeded.
    Success,
    /// It ran and failed.
    Failure,
    /// It was not run because it was denied (or its approval was refused).
    Denied,
    /// Nobody recorded how it went (its process ended first).
    Unknown,
    /// It was not run: it needs approval. Once approved, re-proposing it is a new decision.
    AwaitingApproval,
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Status, String> {
        match s {
            "success" => Ok(Status::Success),
            "failure" => Ok(Status::Failure),
            "denied" => Ok(Status::Denied),
            "unknown" => Ok(Status::Unknown),
            "awaiting_approval" => Ok(Status::AwaitingApproval),
            other => Err(format!(
                "unknown status `{other}` (success, failure, denied, unknown, awaiting_approval)"
            )),
        }
    }
}

/// What to record about an action's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// How it went.
    pub status: Status,
    /// `sha256:` digest of its output, if any.
    pub output_digest: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: Option<u64>,
    /// An error message (redacted before recording).
    pub error: Option<String>,
    /// What the action actually cost, to settle budgets (in `action.cost` terms).
    pub cost: Option<f64>,
    /// Tokens it actually consumed, to settle budgets (in `action.tokens` terms).
    pub tokens: Option<i64>,
}

impl Outcome {
    /// An outcome with just a status.
    pub fn new(status: Status) -> Outcome {
        Outcome {
            status,
            output_digest: None,
            duration_ms: None,
            error: None,
            cost: None,
            tokens: None,
        }
    }

    /// Success.
    pub fn success() -> Outcome {
        Outcome::new(Status::Success)
    }

    /// Failure with a message.
    pub fn failure(error: impl Into<String>) -> Outcome {
        Outcome {
            error: Some(error.into()),
            ..Outcome::new(Status::Failure)
        }
    }

    /// Records the digest of the output (the output itself is never recorded).
    pub fn with_output(mut self, output: &[u8]) -> Outcome {
        self.output_digest = Some(canonical::sha256_digest(output));
        self
    }

    /// Records what the action actually cost; budgets charged on `action.cost` settle
    /// with it.
    pub fn with_cost(mut self, cost: f64) -> Outcome {
        self.cost = Some(cost);
        self
    }

    /// Records the tokens actually consumed; budgets charged on `action.tokens` settle
    /// with them.
    pub fn with_tokens(mut self, tokens: i64) -> Outcome {
        self.tokens = Some(tokens);
        self
    }

    /// Records the duration.
    pub fn with_duration(mut self, d: std::time::Duration) -> Outcome {
        self.duration_ms = Some(d.as_millis().min(u128::from(u64::MAX)) as u64);
        self
    }
}

/// A decision, and the evidence record it was written to.
#[derive(Debug, Clone)]
pub struct Governed {
    /// The decision.
    pub decision: Decision,
    /// The decision record's id (`<stream>:<seq>`), for [`Governor::record`].
    pub id: String,
    /// The decision record's hash.
    pub hash: String,
}

/// A governed decision as bindings show it (see [`Governed::view`]).
#[derive(Debug, Serialize)]
pub struct GovernedView<'a> {
    /// The decision.
    #[serde(flatten)]
    pub decision: &'a Decision,
    /// The decision record's id.
    pub id: &'a str,
    /// The decision record's hash.
    pub hash: &'a str,
    /// What it means for the caller.
    pub verdict: Verdict,
    /// The approval request it opened, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
}

/// What a governed decision means for the caller, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Run it (and record the outcome).
    Allow,
    /// Do not run it.
    Deny,
    /// Do not run it yet: approval request [`Governed::request`] is open.
    ApprovalRequired,
    /// Do not run it: a budget would be exceeded.
    BudgetExceeded,
}

impl Governed {
    /// True if the effect is allow.
    pub fn allowed(&self) -> bool {
        self.decision.allowed()
    }

    /// Allow, deny, approval required or budget exceeded.
    pub fn verdict(&self) -> Verdict {
        match (self.decision.effect, self.decision.decided_by) {
            (Effect::Allow, _) => Verdict::Allow,
            (Effect::Deny, DecidedBy::Budget)
                if self
                    .decision
                    .budgets
                    .iter()
                    .any(|c| c.status == crate::govern::budget::ChargeStatus::Exceeded) =>
            {
                Verdict::BudgetExceeded
            }
            (Effect::Deny, _) => Verdict::Deny,
            (Effect::RequireApproval, _) => Verdict::ApprovalRequired,
        }
    }

    /// The approval request this decision opened (its own id), if it requires approval.
    pub fn request(&self) -> Option<&str> {
        (self.decision.effect == Effect::RequireApproval).then_some(self.id.as_str())
    }

    /// The governed decision as plain data for a binding or an API: the decision's
    /// fields plus `id`, `hash`, `verdict` and, if it opened one, `request_id`.
    pub fn view(&self) -> GovernedView<'_> {
        GovernedView {
            decision: &self.decision,
            id: &self.id,
            hash: &self.hash,
            verdict: self.verdict(),
            request_id: self.request(),
        }
    }
}

pub use crate::govern::budget::BudgetStatus;

/// Replaces every occurrence of each of `values` in the strings (and keys) of `v`.
fn scrub(v: &mut Value, values: &[String]) {
    let clean = |s: &str| {
        let mut s = s.to_owned();
        for x in values {
            if s.contains(x.as_str()) {
                s = s.replace(x.as_str(), "[REDACTED:field]");
            }
        }
        s
    };
    match v {
        Value::String(s) => *s = clean(s),
        Value::Array(a) => a.iter_mut().for_each(|x| scrub(x, values)),
        Value::Object(o) => {
            let entries = std::mem::take(o);
            for (k, mut x) in entries {
                scrub(&mut x, values);
                o.insert(clean(&k), x);
            }
        }
        _ => {}
    }
}

/// A free-text reason with any secret in it replaced.
fn redacted_reason(reason: &str) -> String {
    // Redact first, then bound: cutting first could leave most of a token behind.
    let r = redact_text(reason).map_or_else(|| reason.to_owned(), |(clean, _)| clean);
    crate::error::bound(r)
}

/// A signed reason is re-checked against the reason as recorded, so it must be recorded
/// as signed: no secret to redact, nothing to cut.
fn signed_reason(reason: &str, what: &str) -> Result<(), Error> {
    if redacted_reason(reason) == reason {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "a signed {what}'s reason must hold no secret and fit the message limit (it is recorded exactly as signed)"
    )))
}

/// Options for [`Governor::open`].
#[derive(Debug, Clone)]
pub struct GovernorOptions {
    /// The context decisions are made in (unless given per call).
    pub context: Context,
    /// Evidence durability.
    pub durability: Durability,
    /// Segment size before rotation.
    pub segment_bytes: u64,
    /// Fields to redact besides secrets.
    pub redactor: Redactor,
    /// The clock (injectable for tests).
    pub clock: Arc<dyn Clock>,
    /// Whether decisions still open when this governor closes (or its process dies) are
    /// closed as `unknown`. True for a governor that runs the tools itself; false for one
    /// whose outcomes another process records (the CLI's `decide` and `record`).
    pub close_open_on_exit: bool,
    /// Whether the host asks for approval itself (as Claude Code does for an `ask`
    /// answer): then a require_approval decision stays open for the outcome of the call
    /// the host's user let run, instead of opening a LumenFlow approval request.
    pub host_approves: bool,
    /// Keys trusted besides this governor's own: records of the log signed by any other
    /// key (decisions, votes, overrides, outcomes) are not folded into the state, decide
    /// nothing, and are listed by [`Governor::rejected_records`]. Trust is pinned, never
    /// discovered: keys published in the directory's `keys/` are not trusted for being
    /// there, since anyone who can write the directory can add one. `None`: only this
    /// governor's own key.
    pub trusted_keys: Option<crate::evidence::keys::Keyring>,
    /// The approver registry. With one, a vote counts only if it is signed by a key the
    /// registry binds to an identity, or attested by an attester it declares; the vote
    /// counts under the registry's identity and roles, never the names and roles it
    /// claims. `None`: this program authenticates people itself, and its word (the
    /// approver it passes) is recorded as attested by `host`
    /// ([`crate::govern::approval::VoteTrust`]).
    pub registry: Option<Arc<crate::govern::registry::Registry>>,
}

impl Default for GovernorOptions {
    fn default() -> Self {
        GovernorOptions {
            context: Context::new(),
            durability: Durability::default(),
            segment_bytes: StoreOptions::default().segment_bytes,
            redactor: Redactor::default(),
            clock: Arc::new(SystemClock),
            close_open_on_exit: true,
            host_approves: false,
            trusted_keys: None,
            registry: None,
        }
    }
}

/// How many records folded from the log (each signature checked) make a governor save
/// a state snapshot, so that the next one to open need not check them again.
const SNAPSHOT_EVERY: usize = 256;

struct Seal<'a> {
    key: &'a KeyPair,
    ts: &'a str,
    trusted: &'a crate::evidence::keys::Keyring,
}

impl Sealer for Seal<'_> {
    fn seal(&self, stream: &str, head: Option<&Head>, kind: &str, body: Value) -> Record {
        Record::seal(stream, head, self.ts, kind, body, self.key)
    }
    fn trusted(&self) -> Option<&crate::evidence::keys::Keyring> {
        Some(self.trusted)
    }
}

/// The state derived from the log, and how far into the log it has read.
struct Tracked {
    cursor: Cursor,
    state: State,
}

impl Tracked {
    /// Nothing read yet; votes to be judged as `options` say.
    fn fresh(options: &GovernorOptions) -> Tracked {
        Tracked {
            cursor: Cursor::default(),
            state: State::with_trust(vote_trust(options)),
        }
    }
}

fn vote_trust(options: &GovernorOptions) -> crate::govern::approval::VoteTrust {
    match &options.registry {
        Some(r) => crate::govern::approval::VoteTrust::Registry(r.clone()),
        None => crate::govern::approval::VoteTrust::Host,
    }
}

/// Decides actions under a policy and records every decision and outcome as evidence.
pub struct Governor {
    /// The current policies; [`Governor::reload_policies`] swaps them (a decision uses
    /// the set it started with throughout).
    policies: std::sync::RwLock<Arc<PolicySet>>,
    key: KeyPair,
    store: Arc<DirStore>,
    options: GovernorOptions,
    instance: String,
    instance_lock: Mutex<Option<(File, PathBuf)>>,
    tracked: Mutex<Tracked>,
    resumed: std::sync::atomic::AtomicBool,
    /// This governor's key and the pinned keys ([`GovernorOptions::trusted_keys`]).
    trusted: crate::evidence::keys::Keyring,
    rejected: Mutex<Vec<String>>,
    /// Records of the log folded (each signature checked) since the last snapshot.
    folded: std::sync::atomic::AtomicUsize,
    /// The head after this governor's last append.
    last: Mutex<Option<Head>>,
}

impl std::fmt::Debug for Governor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Governor({:?}, key {}, instance {})",
            self.store,
            self.key.id(),
            self.instance
        )
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Governor {
    /// Opens (or creates) the evidence directory `dir` and closes, as `unknown`, the
    /// decisions that governors which have since ended left open.
    pub fn open(
        dir: impl AsRef<Path>,
        policies: PolicySet,
        key: KeyPair,
        options: GovernorOptions,
    ) -> Result<Governor, EvidenceError> {
        let dir = dir.as_ref();
        let store = Arc::new(DirStore::open(
            dir,
            StoreOptions {
                durability: options.durability,
                segment_bytes: options.segment_bytes,
            },
        )?);
        store.publish_key(&key)?;
        let mut id = [0u8; 12];
        getrandom::fill(&mut id)
            .map_err(|e| EvidenceError::Invalid(format!("no randomness: {e}")))?;
        let instance = canonical::hex(&id);
        let instances = dir.join("instances");
        std::fs::create_dir_all(&instances).map_err(io_err(&instances))?;
        // A live governor holds its instance lock; one whose lock is free has ended.
        let instance_lock = if options.close_open_on_exit {
            // The lock file appears under its final name already locked (created under
            // another name, locked, renamed): a reconciler that found it unlocked in
            // between would take this live governor for an ended one.
            let lock_path = instances.join(format!("{instance}.lock"));
            let tmp = instances.join(format!("{instance}.lock.new"));
            let lock = File::create(&tmp).map_err(io_err(&tmp))?;
            lock.lock().map_err(io_err(&tmp))?;
            std::fs::rename(&tmp, &lock_path).map_err(io_err(&lock_path))?;
            Some((lock, lock_path))
        } else {
            None
        };
        let mut trusted = options.trusted_keys.clone().unwrap_or_default();
        trusted.add(key.public());
        if let Some(r) = &options.registry {
            // A governor's key is the one the governed agent may hold: if it also signed
            // for an approver, the agent could approve its own requests.
            for k in trusted.ids() {
                if let Some(a) = r.by_key(k) {
                    return Err(EvidenceError::Invalid(format!(
                        "the approver registry registers key {k} to {:?}, but it is a governor's key (this governor's or a trusted one): an approver's key must be their own",
                        a.id
                    )));
                }
            }
        }
        let tracked = Tracked::fresh(&options);
        let g = Governor {
            policies: std::sync::RwLock::new(Arc::new(policies)),
            key,
            store,
            options,
            instance,
            instance_lock: Mutex::new(instance_lock),
            tracked: Mutex::new(tracked),
            resumed: std::sync::atomic::AtomicBool::new(false),
            trusted,
            rejected: Mutex::new(Vec::new()),
            folded: std::sync::atomic::AtomicUsize::new(0),
            last: Mutex::new(None),
        };
        g.load_snapshot();
        g.reconcile_ended()?;
        Ok(g)
    }

    /// The current policies (a shared handle: a reload does not change the set a caller
    /// holds).
    pub fn policies(&self) -> Arc<PolicySet> {
        self.policies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the policies for every later decision and returns the ones replaced.
    /// The caller checks the new set first (a set that loaded is compiled and valid);
    /// decisions already being made finish under the set they started with, and
    /// overrides stay judged by the policy that denied (by digest), so a deny of a
    /// policy no longer loaded can no longer be overridden.
    pub fn reload_policies(&self, policies: PolicySet) -> Arc<PolicySet> {
        let mut cur = self.policies.write().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *cur, Arc::new(policies))
    }

    /// The evidence store.
    pub fn store(&self) -> &DirStore {
        &self.store
    }

    /// The signing key's id.
    pub fn key_id(&self) -> &str {
        self.key.id()
    }

    /// Now, as the record timestamp it will be written with.
    fn now(&self) -> String {
        timestamp(self.options.clock.now())
    }

    /// Under the log's lock: brings the state up to date with what other writers appended,
    /// lets `choose` pick records to append given it, appends them, and folds them in.
    fn commit<T>(
        &self,
        ts: &str,
        choose: impl FnOnce(&State) -> Result<(Vec<(String, Value)>, T), Error>,
    ) -> Result<(Vec<Record>, T), Error> {
        let mut guard = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        let Tracked { cursor, state } = &mut *guard;
        let seal = Seal {
            key: &self.key,
            ts,
            trusted: &self.trusted,
        };
        let result = self.store.transact(&seal, Some(cursor), |lines| {
            self.fold_others(state, &lines);
            choose(state)
        });
        let (recs, t) = match result {
            Ok(r) => r,
            Err(e) => {
                // The cursor may have moved past lines the state did not fold in.
                *guard = Tracked::fresh(&self.options);
                return Err(e);
            }
        };
        for r in &recs {
            guard.state.apply(r);
        }
        drop(guard);
        // Every folded record's signature is checked; a snapshot now and then keeps the
        // next governor from checking them all again (best effort).
        if self.folded.load(std::sync::atomic::Ordering::Relaxed) >= SNAPSHOT_EVERY {
            self.folded.store(0, std::sync::atomic::Ordering::Relaxed);
            let _ = self.save_snapshot();
        }
        if let Some(r) = recs.last() {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.as_ref().is_none_or(|h| h.seq < r.seq) {
                *last = Some(r.head());
            }
        }
        Ok((recs, t))
    }

    /// Folds lines other writers appended. A record counts only if it is signed by a
    /// trusted key (this governor's or a pinned one); any other is listed as rejected.
    fn fold_others(&self, state: &mut State, lines: &[crate::evidence::store::RawLine]) {
        self.folded
            .fetch_add(lines.len(), std::sync::atomic::Ordering::Relaxed);
        for l in lines {
            let rec = match Record::parse(&l.bytes) {
                Ok(r) => r,
                Err(e) => {
                    self.note_rejected(format!("{} line {}: ignored: {e}", l.segment, l.line));
                    continue;
                }
            };
            if let Err(e) = rec.check_signature(&self.trusted) {
                self.note_rejected(format!("{} ({}): ignored: {e}", rec.id(), rec.kind));
                continue;
            }
            state.apply(&rec);
        }
    }

    fn note_rejected(&self, why: String) {
        self.rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(why);
    }

    /// Records of the log that decide nothing, with why: records of other writers not
    /// signed by a trusted key, and votes the fold did not count (a bad signature, an
    /// approver the rule does not allow, after expiry, a second vote by one identity).
    pub fn rejected_records(&self) -> Vec<String> {
        let mut out = self
            .rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let t = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        out.extend(t.state.ignored_votes().iter().cloned());
        out
    }

    /// Appends records of these kinds and bodies (in order, atomically).
    pub fn append(&self, items: Vec<(String, Value)>) -> Result<Vec<Record>, EvidenceError> {
        let ts = self.now();
        self.commit(&ts, |_| Ok((items, ())))
            .map(|(r, ())| r)
            .map_err(|e| match e {
                Error::Evidence(e) => e,
                other => EvidenceError::Invalid(other.to_string()),
            })
    }

    /// Decides `action` in the governor's context and records the decision.
    pub fn decide(&self, action: &Action) -> Result<Governed, EvidenceError> {
        self.decide_in(action, &self.options.context)
    }

    /// Decides `action` in `context` and records the decision. A deny is closed at once
    /// (`denied`), as is a decision that requires approval (`awaiting_approval`).
    pub fn decide_in(&self, action: &Action, context: &Context) -> Result<Governed, EvidenceError> {
        self.decide_inner(action, context).map_err(|e| match e {
            Error::Evidence(e) => e,
            other => EvidenceError::Invalid(other.to_string()),
        })
    }

    fn decide_inner(&self, action: &Action, context: &Context) -> Result<Governed, Error> {
        let invalid = |e: serde_json::Error| Error::Invalid(e.to_string());
        let full = serde_json::to_value(action).map_err(invalid)?;
        let input_digest =
            canonical::keyed_digest(self.store.digest_key(), &full).map_err(invalid)?;
        let binding = state::keyed_binding(self.store.digest_key(), &full);
        let policies = self.policies();
        let ts = self.now();
        let (recs, decision) = self.commit(&ts, |st| {
            let mut d = state::evaluate(&policies, st, action, context, &binding, &ts);
            if d.effect == Effect::RequireApproval {
                if let Some(t) = d.approval.as_mut() {
                    if let Some(secs) = t.expires_in {
                        let at = chrono::DateTime::parse_from_rfc3339(&ts)
                            .map_err(|e| Error::Invalid(e.to_string()))?
                            .with_timezone(&chrono::Utc)
                            .checked_add_signed(
                                i64::try_from(secs)
                                    .ok()
                                    .and_then(chrono::TimeDelta::try_seconds)
                                    .unwrap_or(chrono::TimeDelta::MAX),
                            )
                            .ok_or_else(|| {
                                Error::Invalid(format!(
                                    "an approval expiring {secs} s after {ts} is past the last representable time"
                                ))
                            })?;
                        t.expires_at = Some(timestamp(at));
                    }
                }
            }
            let body = self.decision_body(full, &input_digest, &binding, context, &d)?;
            Ok((vec![(kind::DECISION.to_owned(), body)], d))
        })?;
        let rec = recs
            .last()
            .ok_or_else(|| EvidenceError::Invalid("the store wrote no record".into()))?;
        let governed = Governed {
            decision,
            id: rec.id(),
            hash: rec.hash.clone(),
        };
        match governed.decision.effect {
            Effect::Deny => {
                self.close_decision(&governed.id, Outcome::new(Status::Denied))?;
            }
            Effect::RequireApproval if !self.options.host_approves => {
                self.close_decision(&governed.id, Outcome::new(Status::AwaitingApproval))?;
            }
            Effect::RequireApproval | Effect::Allow => {}
        }
        Ok(governed)
    }

    /// The `decision` record's body: the redacted action and context, digests of the full
    /// input, the context and the approval binding, what was redacted, and the decision.
    fn decision_body(
        &self,
        full: Value,
        input_digest: &str,
        binding: &str,
        context: &Context,
        d: &Decision,
    ) -> Result<Value, Error> {
        let invalid = |e: serde_json::Error| Error::Invalid(e.to_string());
        let context_digest =
            canonical::keyed_digest(self.store.digest_key(), context).map_err(invalid)?;
        let original_action = full.clone();
        let mut redacted_action = full;
        let mut redactions: Vec<Value> = self
            .options
            .redactor
            .redact(&mut redacted_action)
            .into_iter()
            .map(|r| json!({"pointer": format!("/action{}", r.pointer), "kind": r.kind}))
            .collect();
        let mut redacted_context = serde_json::to_value(context).map_err(invalid)?;
        for r in self.options.redactor.redact(&mut redacted_context) {
            redactions.push(json!({"pointer": format!("/context{}", r.pointer), "kind": r.kind}));
        }
        // Values the configured redactor removed from the action must not come back through
        // the decision (a rule error or reason that echoes an argument).
        let removed: Vec<String> = redactions
            .iter()
            .filter(|r| r["kind"] == "field")
            .filter_map(|r| {
                let p = r["pointer"].as_str()?.strip_prefix("/action")?;
                let v = original_action.pointer(p)?;
                Some(match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
            .filter(|s| s.len() >= 4)
            .collect();
        let mut decision = serde_json::to_value(d).map_err(invalid)?;
        if !removed.is_empty() {
            scrub(&mut decision, &removed);
        }
        for r in Redactor::default().redact(&mut decision) {
            redactions.push(json!({"pointer": format!("/decision{}", r.pointer), "kind": r.kind}));
        }
        let mut body = json!({
            "action": redacted_action,
            "context": redacted_context,
            "input_digest": input_digest,
            "context_digest": context_digest,
            "binding": binding,
            "redactions": redactions,
            "decision": decision,
            "instance": self.instance,
        });
        if self.options.host_approves && d.effect == Effect::RequireApproval {
            // The host asks its user; no LumenFlow approval request is opened.
            body["host_approves"] = json!(true);
        }
        Ok(body)
    }

    /// The full id (`<stream>:<seq>`) for an id or a bare sequence number.
    fn full_id(&self, id: &str) -> String {
        if id.contains(':') {
            id.to_owned()
        } else {
            format!("{}:{id}", self.store.stream())
        }
    }

    /// Records how the decided action turned out. `decision` is the id of a decision
    /// record of this log that has no outcome yet (from this or another process). Budgets
    /// reserved for it settle: with the actual cost or tokens if the outcome gives them,
    /// refunded if it failed without them, as reserved otherwise.
    pub fn record(&self, decision: &str, outcome: Outcome) -> Result<Record, EvidenceError> {
        self.close_decision(&self.full_id(decision), outcome)
            .map_err(|e| match e {
                Error::Evidence(e) => e,
                other => EvidenceError::Invalid(other.to_string()),
            })
    }

    /// Records the outcome of `decision` as [`Governor::record`] does, but only if the
    /// decision was proposed by actor `owner` (checked under the log's lock); for a daemon
    /// that serves many agents, each of which may close only its own decisions.
    pub fn record_owned(
        &self,
        decision: &str,
        outcome: Outcome,
        owner: &str,
    ) -> Result<Record, Error> {
        self.close_checked(&self.full_id(decision), outcome, Some(owner))
    }

    fn close_decision(&self, id: &str, outcome: Outcome) -> Result<Record, Error> {
        self.close_checked(id, outcome, None)
    }

    fn close_checked(
        &self,
        id: &str,
        outcome: Outcome,
        owner: Option<&str>,
    ) -> Result<Record, Error> {
        let ts = self.now();
        let (recs, ()) = self.commit(&ts, |st| {
            let open = st
                .open
                .get(id)
                .ok_or_else(|| EvidenceError::UnknownDecision(id.to_owned()))?;
            if let Some(owner) = owner {
                if open.actor.as_deref() != Some(owner) {
                    return Err(Error::NotOwner {
                        decision: id.to_owned(),
                        actor: owner.to_owned(),
                    });
                }
            }
            // An allowed action that ran cannot be closed as denied (which would refund
            // its budget); only a decision that did not allow can be.
            if outcome.status == Status::Denied && open.effect == Some(Effect::Allow) {
                return Err(Error::Invalid(format!(
                    "decision {id} allowed the action: its outcome cannot be `denied` (use success, failure or unknown)"
                )));
            }
            let settled = self.settlement(st, id, open, &outcome);
            Ok((
                vec![self.outcome_body(id, &open.hash, outcome, settled)],
                (),
            ))
        })?;
        recs.into_iter()
            .last()
            .ok_or_else(|| EvidenceError::Invalid("the store wrote no record".into()).into())
    }

    /// How decision `id`'s reservations settle given its outcome.
    fn settlement(&self, st: &State, id: &str, open: &state::Open, o: &Outcome) -> Vec<Value> {
        let reservations = st.accounts().reservations(id);
        if reservations.is_empty() {
            return Vec::new();
        }
        let policies = self.policies();
        let actual = (o.cost.is_some() || o.tokens.is_some())
            .then(|| {
                let mut a: Action = serde_json::from_value(open.action.clone()?).ok()?;
                a.cost = o.cost.or(a.cost).or(Some(0.0));
                a.tokens = o.tokens.or(a.tokens).or(Some(0));
                Some(a)
            })
            .flatten();
        reservations
            .into_iter()
            .map(|(budget, account, reserved)| {
                let b = crate::govern::budget::find(&policies, &budget);
                let amount = match (&actual, b) {
                    (Some(a), Some(b)) => {
                        crate::govern::budget::amount(b, a, &self.options.context).unwrap_or(reserved)
                    }
                    _ if matches!(o.status, Status::Failure | Status::Denied) => 0.0,
                    _ => reserved,
                };
                json!({"budget": budget, "account": account, "reserved": reserved, "amount": amount})
            })
            .collect()
    }

    /// The `outcome` record (kind and body) closing decision `id` (with hash `hash`).
    fn outcome_body(
        &self,
        id: &str,
        hash: &str,
        outcome: Outcome,
        settled: Vec<Value>,
    ) -> (String, Value) {
        let mut body = Map::new();
        body.insert("decision".into(), json!(id));
        body.insert("decision_hash".into(), json!(hash));
        body.insert(
            "status".into(),
            serde_json::to_value(outcome.status).expect("status serialises"),
        );
        if let Some(d) = outcome.output_digest {
            body.insert("output_digest".into(), json!(d));
        }
        if let Some(ms) = outcome.duration_ms {
            body.insert("duration_ms".into(), json!(ms));
        }
        if let Some(c) = outcome.cost.filter(|c| c.is_finite()) {
            body.insert("cost".into(), json!(c));
        }
        if let Some(t) = outcome.tokens {
            body.insert("tokens".into(), json!(t));
        }
        if !settled.is_empty() {
            body.insert("settled".into(), Value::Array(settled));
        }
        if let Some(e) = outcome.error {
            // Redact first, then bound: cutting first could leave most of a token behind.
            match redact_text(&e) {
                Some((clean, kinds)) => {
                    body.insert("error".into(), json!(crate::error::bound(clean)));
                    body.insert(
                        "redactions".into(),
                        Value::Array(
                            kinds
                                .into_iter()
                                .map(|k| json!({"pointer": "/error", "kind": k}))
                                .collect(),
                        ),
                    );
                }
                None => {
                    body.insert("error".into(), json!(crate::error::bound(e)));
                }
            }
        }
        body.insert("instance".into(), json!(self.instance));
        (kind::OUTCOME.to_owned(), Value::Object(body))
    }

    /// Approves request `request` as `approver`. Refused if the approver is not one the
    /// request allows (the proposer never is), or the request expired or is closed. The
    /// same vote again changes nothing and writes nothing; a changed vote is refused.
    pub fn approve(
        &self,
        request: &str,
        approver: &Approver,
        reason: &str,
    ) -> Result<Request, Error> {
        self.vote(request, approver, Choice::Approve, reason, None)
    }

    /// Rejects request `request` as `approver` (one reject closes it).
    pub fn reject(
        &self,
        request: &str,
        approver: &Approver,
        reason: &str,
    ) -> Result<Request, Error> {
        self.vote(request, approver, Choice::Reject, reason, None)
    }

    /// Votes on a request, optionally with the approver's own signature over
    /// [`approval::signing_message`] (checked, and recorded with the key's id; `key:<id>`
    /// approvers require it).
    pub fn vote(
        &self,
        request: &str,
        approver: &Approver,
        verdict: Choice,
        reason: &str,
        signature: Option<&VoteSignature>,
    ) -> Result<Request, Error> {
        let attestation = self.host_attestation(signature.is_some());
        self.cast(request, approver, verdict, reason, signature, attestation)
    }

    /// Votes as a program that authenticated the approver itself, by `method`
    /// (`password`, `webauthn`, ...), recorded with the vote. With an approver registry the
    /// vote counts only if the registry declares this governor's key an attester for
    /// `method` and `approver_id` is a registered identity (whose roles then apply).
    pub fn attest(
        &self,
        request: &str,
        approver_id: &str,
        verdict: Choice,
        reason: &str,
        method: &str,
    ) -> Result<Request, Error> {
        if !crate::govern::registry::valid_name(method) {
            return Err(Error::Invalid(format!(
                "attestation method {method:?} must be 1 to 128 letters, digits or ._-@+"
            )));
        }
        self.cast(
            request,
            &Approver::new(approver_id),
            verdict,
            reason,
            None,
            Some(method),
        )
    }

    /// The attestation an unsigned vote or override gets without a registry: the
    /// embedding program's word (`host`). With a registry, or when signed, none.
    fn host_attestation(&self, signed: bool) -> Option<&'static str> {
        (self.options.registry.is_none() && !signed).then_some("host")
    }

    fn cast(
        &self,
        request: &str,
        approver: &Approver,
        verdict: Choice,
        reason: &str,
        signature: Option<&VoteSignature>,
        attestation: Option<&str>,
    ) -> Result<Request, Error> {
        let id = self.full_id(request);
        if approver.id.trim().is_empty() {
            return Err(Error::Invalid("the approver's id must not be empty".into()));
        }
        // A signed vote is re-checked against the reason as recorded, so that reason must
        // be recorded as signed: no secret to redact, nothing to cut.
        if signature.is_some() {
            signed_reason(reason, "vote")?;
        }
        let ts = self.now();
        let now = micros(&ts);
        self.commit(&ts, |st| {
            let req = st
                .request_at(&id, now)
                .ok_or_else(|| ApprovalError::UnknownRequest(id.clone()))?;
            match req.state {
                RequestState::Pending => {}
                RequestState::Expired => {
                    return Err(ApprovalError::Expired {
                        request: id.clone(),
                        expired_at: req.expires_at.clone().unwrap_or_default(),
                    }
                    .into())
                }
                other => {
                    return Err(ApprovalError::Closed {
                        request: id.clone(),
                        state: other.as_str().into(),
                    }
                    .into())
                }
            }
            let key_id = signature
                .map(|s| {
                    approval::check_signature(s, &id, &req.binding, verdict, &approver.id, reason)
                        .map_err(|reason| ApprovalError::BadSignature {
                            request: id.clone(),
                            approver: approver.id.clone(),
                            reason,
                        })
                })
                .transpose()?;
            let trust = st.trust().clone();
            let (counted, registered) = approval::authenticate(
                &trust,
                approver,
                key_id.as_deref(),
                attestation,
                self.key.id(),
            )
            .map_err(|reason| ApprovalError::NotAuthenticated {
                request: id.clone(),
                approver: approver.id.clone(),
                reason,
            })?;
            let approver = &counted;
            if !req.allows(approver, key_id.as_deref()) {
                let allowed = if req.approvers.is_empty() {
                    "anyone but the proposer".to_owned()
                } else {
                    req.approvers
                        .iter()
                        .map(|a| &**a)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(ApprovalError::NotAnApprover {
                    request: id.clone(),
                    approver: approver.id.clone(),
                    allowed,
                }
                .into());
            }
            let identity = approval::identity(&approver.id, key_id.as_deref(), registered);
            if let Some(v) = req.votes.iter().find(|v| v.identity() == identity) {
                if v.verdict == verdict {
                    return Ok((Vec::new(), ()));
                }
                return Err(ApprovalError::AlreadyVoted {
                    request: id.clone(),
                    approver: approver.id.clone(),
                    verdict: v.verdict.as_str().into(),
                }
                .into());
            }
            let mut body = json!({
                "request": id,
                "request_hash": req.decision_hash,
                "binding": req.binding,
                "verdict": verdict.as_str(),
                "approver": approver,
                "reason": redacted_reason(reason),
                "instance": self.instance,
            });
            if let Some(m) = attestation {
                body["attestation"] = json!({ "method": m });
            }
            if let Some(d) = trust.digest() {
                body["registry"] = json!(d);
            }
            if let (Some(s), Some(k)) = (signature, &key_id) {
                body["key_id"] = json!(k);
                body["public_key"] = json!(s.public_key);
                body["signature"] = json!(s.signature);
            }
            Ok((vec![(kind::APPROVAL.to_owned(), body)], ()))
        })?;
        let t = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        t.state
            .request_at(&id, now)
            .ok_or_else(|| ApprovalError::UnknownRequest(id).into())
    }

    /// One approval request as it stands now.
    pub fn approval(&self, request: &str) -> Result<Request, Error> {
        let id = self.full_id(request);
        let ts = self.now();
        let now = micros(&ts);
        self.commit(&ts, |st| Ok((Vec::new(), st.request_at(&id, now))))?
            .1
            .ok_or_else(|| ApprovalError::UnknownRequest(id).into())
    }

    /// Every approval request in the log, oldest first, as it stands now.
    pub fn approvals(&self) -> Result<Vec<Request>, Error> {
        let ts = self.now();
        let now = micros(&ts);
        Ok(self
            .commit(&ts, |st| Ok((Vec::new(), st.requests_at(now))))?
            .1)
    }

    /// Every budget account charged so far, as it stands now.
    pub fn budgets(&self) -> Result<Vec<BudgetStatus>, Error> {
        let ts = self.now();
        let now = micros(&ts);
        Ok(self
            .commit(&ts, |st| {
                let statuses =
                    crate::govern::budget::statuses(&self.policies(), st.accounts(), now);
                Ok((Vec::new(), statuses))
            })?
            .1)
    }

    /// Overrides a deny (break-glass): `who` must be allowed by every deciding rule's
    /// `overridable_by`, and must give a reason. Writes an `override` record that allows
    /// the same action (flagged in every view) and returns it; run the action and
    /// [`Governor::record`] its outcome as for any allowed decision.
    pub fn override_deny(
        &self,
        decision: &str,
        who: &Approver,
        reason: &str,
    ) -> Result<Governed, Error> {
        self.override_with(decision, who, reason, None)
    }

    /// The full id and the hash of deny `decision` (an id or a bare sequence number),
    /// which an overrider signs ([`approval::override_message`]).
    pub fn deny_hash(&self, decision: &str) -> Result<(String, String), Error> {
        let id = self.full_id(decision);
        let ts = self.now();
        self.commit(&ts, |st| {
            Ok((
                Vec::new(),
                st.denied.get(&id).map(|d| (id.clone(), d.hash.clone())),
            ))
        })?
        .1
        .ok_or_else(|| {
            ApprovalError::OverrideRefused {
                decision: id,
                reason: "no deny with this id in the log".into(),
            }
            .into()
        })
    }

    /// Overrides a deny as [`Governor::override_deny`] does, with the overrider's own
    /// signature over [`approval::override_message`]. With an approver registry this is
    /// the only way: the signing key must be registered, and the overrider counts under
    /// the registry's identity and roles.
    pub fn override_signed(
        &self,
        decision: &str,
        who: &Approver,
        reason: &str,
        signature: &VoteSignature,
    ) -> Result<Governed, Error> {
        self.override_with(decision, who, reason, Some(signature))
    }

    fn override_with(
        &self,
        decision: &str,
        who: &Approver,
        reason: &str,
        signature: Option<&VoteSignature>,
    ) -> Result<Governed, Error> {
        let id = self.full_id(decision);
        if signature.is_some() {
            signed_reason(reason, "override")?;
        }
        if reason.trim().is_empty() {
            return Err(ApprovalError::OverrideRefused {
                decision: id,
                reason: "an override needs a reason".into(),
            }
            .into());
        }
        let policies = self.policies();
        let ts = self.now();
        let (recs, d) = self.commit(&ts, |st| {
            let refused = |reason: String| ApprovalError::OverrideRefused {
                decision: id.clone(),
                reason,
            };
            let den = st
                .denied
                .get(&id)
                .ok_or_else(|| refused("no deny with this id in the log".into()))?;
            if let Some(by) = &den.overridden_by {
                return Err(refused(format!("already overridden by {by}")).into());
            }
            // Judged by the policy that denied: each deciding rule's policy must be the one
            // (by digest) recorded with the deny.
            let current = policies.refs();
            for r in &den.rules {
                let recorded = den.policies.iter().find(|p| p.name == r.policy);
                let held = current.iter().find(|p| p.name == r.policy);
                if recorded.map(|p| &p.digest) != held.map(|p| &p.digest) {
                    return Err(refused(format!(
                        "rule `{}` of policy `{}` is judged by the policy that denied (digest {}), not this governor's ({})",
                        r.rule,
                        r.policy,
                        recorded.map_or("unknown", |p| &*p.digest),
                        held.map_or("none", |p| &*p.digest),
                    ))
                    .into());
                }
            }
            let key_id = signature
                .map(|s| approval::check_override(s, &id, &den.hash, &who.id, reason))
                .transpose()
                .map_err(refused)?;
            let attestation = self.host_attestation(signature.is_some());
            let (counted, _) = approval::authenticate(
                st.trust(),
                who,
                key_id.as_deref(),
                attestation,
                self.key.id(),
            )
            .map_err(refused)?;
            let who = &counted;
            let rules = state::may_override(&policies, den, who).map_err(refused)?;
            // Recorded so that every fold (and an auditor holding the policy of the digest
            // recorded) can re-check who may override.
            let overridable: serde_json::Map<String, Value> = den
                .rules
                .iter()
                .filter_map(|r| {
                    let rule = policies.rule(&r.policy, &r.rule)?;
                    Some((
                        format!("{}/{}", r.policy, r.rule),
                        json!(rule.overridable_by().collect::<Vec<_>>()),
                    ))
                })
                .collect();
            let d = Decision {
                effect: Effect::Allow,
                decided_by: DecidedBy::Override,
                deciding_rules: den.rules.clone(),
                matched: Vec::new(),
                errors: Vec::new(),
                warnings: Vec::new(),
                policies: policies.refs(),
                approvers: Vec::new(),
                approval: None,
                budgets: Vec::new(),
                reason: format!(
                    "allowed by override: {} overrode the deny {} of rule{} {}: {}",
                    who.id,
                    id,
                    if rules.len() > 1 { "s" } else { "" },
                    rules
                        .iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    redacted_reason(reason)
                ),
                eval_ns: 0,
            };
            let body = json!({
                "action": den.action,
                "input_digest": den.input_digest,
                "binding": den.binding,
                "redactions": den.redactions,
                "decision": d,
                "override": {
                    "decision": id,
                    "decision_hash": den.hash,
                    "actor": who,
                    "reason": redacted_reason(reason),
                    "overridable_by": overridable,
                },
                "instance": self.instance,
            });
            let mut body = body;
            if let Some(m) = attestation {
                body["override"]["attestation"] = json!({ "method": m });
            }
            if let Some(d) = st.trust().digest() {
                body["override"]["registry"] = json!(d);
            }
            if let (Some(s), Some(k)) = (signature, &key_id) {
                body["override"]["key_id"] = json!(k);
                body["override"]["public_key"] = json!(s.public_key);
                body["override"]["signature"] = json!(s.signature);
            }
            Ok((vec![(kind::OVERRIDE.to_owned(), body)], d))
        })?;
        let rec = recs
            .last()
            .ok_or_else(|| EvidenceError::Invalid("the store wrote no record".into()))?;
        Ok(Governed {
            decision: d,
            id: rec.id(),
            hash: rec.hash.clone(),
        })
    }

    /// Closes, as `unknown`, the open decisions of governors that have ended (their
    /// instance lock is free), then removes their locks.
    fn reconcile_ended(&self) -> Result<(), EvidenceError> {
        let instances = self.store.dir().join("instances");
        let mut ended: Vec<(String, File, PathBuf)> = Vec::new();
        for e in std::fs::read_dir(&instances)
            .map_err(io_err(&instances))?
            .flatten()
        {
            let path = e.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".lock"))
            else {
                continue;
            };
            if id == self.instance {
                continue;
            }
            let Ok(f) = File::open(&path) else { continue };
            if f.try_lock().is_ok() {
                ended.push((id.to_owned(), f, path));
            }
        }
        let ids: HashSet<&str> = ended.iter().map(|(i, _, _)| i.as_str()).collect();
        // Also brings the state up to date with the log (read once, here).
        self.close_open(
            |o| ids.contains(o.instance.as_str()),
            |o| format!("governor {} ended without recording an outcome; reconciled when the log was reopened", o.instance),
        )?;
        for (_, f, path) in ended {
            let _ = std::fs::remove_file(&path);
            drop(f);
        }
        Ok(())
    }

    fn snapshot_path(&self) -> PathBuf {
        self.store.dir().join("state").join("snapshot.json")
    }

    /// The signed bytes of a snapshot body.
    fn snapshot_message(body: &Value) -> Option<Vec<u8>> {
        let mut m = b"lumenflow/state-snapshot/v1\n".to_vec();
        m.extend_from_slice(&canonical::to_vec(body).ok()?);
        Some(m)
    }

    /// Starts from the saved state if it is ours (signed by this governor's key), of this
    /// log, and still matches it; otherwise (or on any problem) the log is folded from
    /// the start.
    fn load_snapshot(&self) {
        let Ok(text) = std::fs::read_to_string(self.snapshot_path()) else {
            return;
        };
        let Ok(mut v) = serde_json::from_str::<Value>(&text) else {
            return;
        };
        let (Some(Value::String(sig)), Some(Value::String(key))) = (
            v.as_object_mut().and_then(|o| o.remove("signature")),
            v.as_object_mut().and_then(|o| o.remove("key")),
        ) else {
            return;
        };
        if key != self.key.id() || v["stream"] != self.store.stream() || v["version"] != 1 {
            return;
        }
        let Some(sig) = crate::evidence::keys::hex_decode(&sig)
            .and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok())
        else {
            return;
        };
        let Some(msg) = Self::snapshot_message(&v) else {
            return;
        };
        if self.key.public().verify_strict(&msg, &sig).is_err() {
            return;
        }
        // Votes were counted under one registry (or none); under another they may not be.
        let trust = vote_trust(&self.options);
        if v.get("registry").and_then(Value::as_str) != trust.digest() {
            return;
        }
        let (Ok(cursor), Ok(mut state)) = (
            Cursor::deserialize(&v["cursor"]),
            State::deserialize(&v["state"]),
        ) else {
            return;
        };
        state.set_trust(trust);
        match self.store.hash_before(&cursor) {
            Ok(Some(h)) if v["head_hash"] == h.as_str() => {}
            _ => return,
        }
        *self.tracked.lock().unwrap_or_else(|p| p.into_inner()) = Tracked { cursor, state };
        self.resumed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether this governor started from a saved state snapshot rather than folding the
    /// whole log (diagnostics).
    pub fn resumed_from_snapshot(&self) -> bool {
        self.resumed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Saves the state, signed, for the next governor with this key (best effort: a
    /// missing snapshot only costs a full fold).
    fn save_snapshot(&self) -> Result<(), EvidenceError> {
        let t = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        let Some(head_hash) = self.store.hash_before(&t.cursor)? else {
            return Ok(());
        };
        let body = json!({
            "version": 1,
            "stream": self.store.stream(),
            "cursor": t.cursor,
            "head_hash": head_hash,
            "state": t.state,
            "registry": t.state.trust().digest(),
        });
        drop(t);
        let msg = Self::snapshot_message(&body)
            .ok_or_else(|| EvidenceError::Invalid("the state cannot be serialised".into()))?;
        let mut saved = body;
        saved["key"] = json!(self.key.id());
        saved["signature"] = json!(canonical::hex(&self.key.sign(&msg).to_bytes()));
        let path = self.snapshot_path();
        let dir = path.parent().expect("has a parent");
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let tmp = dir.join(format!("snapshot.{}.tmp", self.instance));
        std::fs::write(&tmp, saved.to_string()).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        Ok(())
    }

    /// Closes, as `unknown`, the open decisions that `which` selects, saying `why`.
    fn close_open(
        &self,
        which: impl Fn(&state::Open) -> bool,
        why: impl Fn(&state::Open) -> String,
    ) -> Result<(), EvidenceError> {
        let ts = self.now();
        self.commit(&ts, |st| {
            let mut ids: Vec<(&String, &state::Open)> =
                st.open.iter().filter(|(_, o)| which(o)).collect();
            ids.sort_by_key(|(id, _)| id.rsplit(':').next().and_then(|n| n.parse::<u64>().ok()));
            let items = ids
                .into_iter()
                .map(|(id, o)| {
                    let out = Outcome {
                        error: Some(why(o)),
                        ..Outcome::new(Status::Unknown)
                    };
                    let settled = self.settlement(st, id, o, &out);
                    self.outcome_body(id, &o.hash, out, settled)
                })
                .collect();
            Ok((items, ()))
        })
        .map(|_| ())
        .map_err(|e| match e {
            Error::Evidence(e) => e,
            other => EvidenceError::Invalid(other.to_string()),
        })
    }

    /// Signs a checkpoint of the current head, writes it to the evidence directory, and
    /// returns it (keep a copy elsewhere to detect a truncated log).
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, EvidenceError> {
        let ts = self.now();
        let seal = Seal {
            key: &self.key,
            ts: &ts,
            trusted: &self.trusted,
        };
        self.store.checkpoint_head(&seal, &|stream, head| {
            Checkpoint::seal(stream, head, &ts, &self.key)
        })
    }

    /// Closes this governor's open decisions as `unknown`, writes a checkpoint, and
    /// releases its instance. Also done, best effort, when the governor is dropped.
    pub fn close(&self) -> Result<(), EvidenceError> {
        let Some((lock, path)) = self
            .instance_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            // A governor that leaves decisions open for others to close only checkpoints.
            return if self.options.close_open_on_exit {
                Ok(())
            } else {
                let cp = self.checkpoint().map(|_| ());
                let _ = self.save_snapshot();
                cp
            };
        };
        let me = self.instance.clone();
        let result = self.close_open(
            |o| o.instance == me,
            |_| "the governor closed before an outcome was recorded".to_owned(),
        );
        let cp = self.checkpoint().map(|_| ());
        let _ = self.save_snapshot();
        let _ = std::fs::remove_file(&path);
        drop(lock);
        result.and(cp)
    }
}

impl Drop for Governor {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
