//! The governed API: policy + signing key + evidence store.
//!
//! [`Governor::decide`] evaluates an action and appends the signed `decision` record
//! *before* it returns; if the record cannot be written, it returns an error and the
//! caller must not run the tool. [`Governor::record`] appends the `outcome` record that
//! closes a decision. A deny is closed at once with outcome `denied`. Decisions left open
//! by a process that ended are closed with outcome `unknown` when the log is next opened,
//! and a closing governor closes its own the same way.
//!
//! A `Governor` is `Send + Sync`; any number of threads and processes may govern with the
//! same evidence directory at once.

use crate::action::{Action, Context};
use crate::canonical;
use crate::clock::{Clock, SystemClock};
use crate::decide::{Decision, Effect, PolicySet};
use crate::evidence::{kind, timestamp, Checkpoint, Head, Record};
use crate::keys::KeyPair;
use crate::redact::{redact_text, Redactor};
use crate::store::{DirStore, Durability, EvidenceError, Sealer, Store, StoreOptions};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
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
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Status, String> {
        match s {
            "success" => Ok(Status::Success),
            "failure" => Ok(Status::Failure),
            "denied" => Ok(Status::Denied),
            "unknown" => Ok(Status::Unknown),
            other => Err(format!(
                "unknown status `{other}` (success, failure, denied, unknown)"
            )),
        }
    }
}

/// What to record about an action's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How it went.
    pub status: Status,
    /// `sha256:` digest of its output, if any.
    pub output_digest: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: Option<u64>,
    /// An error message (redacted before recording).
    pub error: Option<String>,
}

impl Outcome {
    /// An outcome with just a status.
    pub fn new(status: Status) -> Outcome {
        Outcome {
            status,
            output_digest: None,
            duration_ms: None,
            error: None,
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

impl Governed {
    /// True if the effect is allow.
    pub fn allowed(&self) -> bool {
        self.decision.allowed()
    }
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
        }
    }
}

struct Seal<'a> {
    key: &'a KeyPair,
    clock: &'a dyn Clock,
}

impl Sealer for Seal<'_> {
    fn seal(&self, stream: &str, head: Option<&Head>, kind: &str, body: Value) -> Record {
        Record::seal(
            stream,
            head,
            &timestamp(self.clock.now()),
            kind,
            body,
            self.key,
        )
    }
}

/// Decides actions under a policy and records every decision and outcome as evidence.
pub struct Governor {
    policies: PolicySet,
    key: KeyPair,
    store: Arc<DirStore>,
    options: GovernorOptions,
    instance: String,
    instance_lock: Mutex<Option<(File, PathBuf)>>,
    open: Mutex<HashMap<String, String>>,
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
            let lock_path = instances.join(format!("{instance}.lock"));
            let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
            lock.lock().map_err(io_err(&lock_path))?;
            Some((lock, lock_path))
        } else {
            None
        };
        let g = Governor {
            policies,
            key,
            store,
            options,
            instance,
            instance_lock: Mutex::new(instance_lock),
            open: Mutex::new(HashMap::new()),
            last: Mutex::new(None),
        };
        g.reconcile_ended()?;
        Ok(g)
    }

    /// The policies.
    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// The evidence store.
    pub fn store(&self) -> &DirStore {
        &self.store
    }

    /// The signing key's id.
    pub fn key_id(&self) -> &str {
        self.key.id()
    }

    fn sealer(&self) -> Seal<'_> {
        Seal {
            key: &self.key,
            clock: &*self.options.clock,
        }
    }

    /// Appends records of these kinds and bodies (in order, atomically).
    pub fn append(&self, items: Vec<(String, Value)>) -> Result<Vec<Record>, EvidenceError> {
        let recs = self.store.append(&self.sealer(), items)?;
        if let Some(r) = recs.last() {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.as_ref().is_none_or(|h| h.seq < r.seq) {
                *last = Some(r.head());
            }
        }
        Ok(recs)
    }

    /// Decides `action` in the governor's context and records the decision.
    pub fn decide(&self, action: &Action) -> Result<Governed, EvidenceError> {
        self.decide_in(action, &self.options.context)
    }

    /// Decides `action` in `context` and records the decision.
    pub fn decide_in(&self, action: &Action, context: &Context) -> Result<Governed, EvidenceError> {
        let decision = self.policies.decide(action, context);
        let body = self.decision_body(action, context, &decision)?;
        let rec = self
            .append(vec![(kind::DECISION.to_owned(), body)])?
            .pop()
            .ok_or_else(|| EvidenceError::Invalid("the store wrote no record".into()))?;
        let governed = Governed {
            decision,
            id: rec.id(),
            hash: rec.hash.clone(),
        };
        if governed.decision.effect == Effect::Deny {
            self.close_decision(&governed.id, &governed.hash, Outcome::new(Status::Denied))?;
        } else {
            self.open
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(governed.id.clone(), governed.hash.clone());
        }
        Ok(governed)
    }

    /// The `decision` record's body: the redacted action, digests of the full input and
    /// the context, what was redacted, and the decision.
    fn decision_body(
        &self,
        action: &Action,
        context: &Context,
        d: &Decision,
    ) -> Result<Value, EvidenceError> {
        let full =
            serde_json::to_value(action).map_err(|e| EvidenceError::Invalid(e.to_string()))?;
        let input_digest =
            canonical::digest(&full).map_err(|e| EvidenceError::Invalid(e.to_string()))?;
        let context_digest =
            canonical::digest(context).map_err(|e| EvidenceError::Invalid(e.to_string()))?;
        let mut redacted_action = full;
        let mut redactions: Vec<Value> = self
            .options
            .redactor
            .redact(&mut redacted_action)
            .into_iter()
            .map(|r| json!({"pointer": format!("/action{}", r.pointer), "kind": r.kind}))
            .collect();
        let mut decision =
            serde_json::to_value(d).map_err(|e| EvidenceError::Invalid(e.to_string()))?;
        for r in Redactor::default().redact(&mut decision) {
            redactions.push(json!({"pointer": format!("/decision{}", r.pointer), "kind": r.kind}));
        }
        Ok(json!({
            "action": redacted_action,
            "input_digest": input_digest,
            "context_digest": context_digest,
            "redactions": redactions,
            "decision": decision,
            "instance": self.instance,
        }))
    }

    /// Records how the decided action turned out. `decision` is the id of a decision
    /// record of this log that has no outcome yet (from this or another process).
    pub fn record(&self, decision: &str, outcome: Outcome) -> Result<Record, EvidenceError> {
        let hash = match self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(decision)
            .cloned()
        {
            Some(h) => h,
            None => self.find_open_decision(decision)?,
        };
        self.close_decision(decision, &hash, outcome)
    }

    fn close_decision(
        &self,
        id: &str,
        hash: &str,
        outcome: Outcome,
    ) -> Result<Record, EvidenceError> {
        let body = self.outcome_body(id, hash, outcome);
        let rec = self
            .append(vec![body])?
            .pop()
            .ok_or_else(|| EvidenceError::Invalid("the store wrote no record".into()))?;
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        Ok(rec)
    }

    /// The `outcome` record (kind and body) closing decision `id` (with hash `hash`).
    fn outcome_body(&self, id: &str, hash: &str, outcome: Outcome) -> (String, Value) {
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
        if let Some(e) = outcome.error {
            let e = crate::error::bound(e);
            match redact_text(&e) {
                Some((clean, kinds)) => {
                    body.insert("error".into(), json!(clean));
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
                    body.insert("error".into(), json!(e));
                }
            }
        }
        body.insert("instance".into(), json!(self.instance));
        (kind::OUTCOME.to_owned(), Value::Object(body))
    }

    /// Finds a decision record by id (or bare sequence number) that has no outcome yet.
    fn find_open_decision(&self, id: &str) -> Result<String, EvidenceError> {
        let full_id = if id.contains(':') {
            id.to_owned()
        } else {
            format!("{}:{id}", self.store.stream())
        };
        let mut hash = None;
        for line in self.store.lines()? {
            let Ok(rec) = Record::parse(&line.bytes) else {
                continue;
            };
            if rec.kind == kind::DECISION && rec.id() == full_id {
                hash = Some(rec.hash.clone());
            } else if rec.kind == kind::OUTCOME
                && rec.body.get("decision").and_then(Value::as_str) == Some(&full_id)
            {
                return Err(EvidenceError::Invalid(format!(
                    "decision {full_id} already has an outcome (record {})",
                    rec.id()
                )));
            }
        }
        hash.ok_or(EvidenceError::UnknownDecision(full_id))
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
        if ended.is_empty() {
            return Ok(());
        }
        let ids: HashSet<&str> = ended.iter().map(|(i, _, _)| i.as_str()).collect();
        let mut open: Vec<(String, String, String)> = Vec::new();
        let mut closed: HashSet<String> = HashSet::new();
        for line in self.store.lines()? {
            let Ok(rec) = Record::parse(&line.bytes) else {
                continue;
            };
            let inst = rec
                .body
                .get("instance")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if rec.kind == kind::DECISION && ids.contains(inst) {
                open.push((rec.id(), rec.hash.clone(), inst.to_owned()));
            } else if rec.kind == kind::OUTCOME {
                if let Some(d) = rec.body.get("decision").and_then(Value::as_str) {
                    closed.insert(d.to_owned());
                }
            }
        }
        let items: Vec<(String, Value)> = open
            .into_iter()
            .filter(|(id, _, _)| !closed.contains(id))
            .map(|(id, hash, inst)| {
                let why = format!("governor {inst} ended without recording an outcome; reconciled when the log was reopened");
                self.outcome_body(&id, &hash, Outcome { error: Some(why), ..Outcome::new(Status::Unknown) })
            })
            .collect();
        if !items.is_empty() {
            self.append(items)?;
        }
        for (_, f, path) in ended {
            let _ = std::fs::remove_file(&path);
            drop(f);
        }
        Ok(())
    }

    /// Signs a checkpoint of the current head, writes it to the evidence directory, and
    /// returns it (keep a copy elsewhere to detect a truncated log).
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, EvidenceError> {
        let known = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let head = match known {
            Some(h) => Some(h),
            None => self
                .store
                .lines()?
                .last()
                .and_then(|l| Record::parse(&l.bytes).ok())
                .map(|r| r.head()),
        };
        let Some(head) = head else { return Ok(None) };
        let c = Checkpoint::seal(
            self.store.stream(),
            &head,
            &timestamp(self.options.clock.now()),
            &self.key,
        );
        self.store.put_checkpoint(&c)?;
        Ok(Some(c))
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
                self.checkpoint().map(|_| ())
            };
        };
        let open: Vec<(String, String)> = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        let items: Vec<(String, Value)> = open
            .into_iter()
            .map(|(id, hash)| {
                let why = "the governor closed before an outcome was recorded".to_owned();
                self.outcome_body(
                    &id,
                    &hash,
                    Outcome {
                        error: Some(why),
                        ..Outcome::new(Status::Unknown)
                    },
                )
            })
            .collect();
        let result = if items.is_empty() {
            Ok(())
        } else {
            self.append(items).map(|_| ())
        };
        let cp = self.checkpoint().map(|_| ());
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
