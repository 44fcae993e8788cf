//! The native half of the npm package `lumenflow`: a thin napi-rs layer over
//! `lumenflow-core`, using only the types and functions its crate root exports.
//!
//! This module only translates. Values cross the boundary as JSON text (the JavaScript
//! wrapper serialises with `JSON.stringify`, which rejects cyclic objects and BigInt
//! before anything reaches Rust), and results go back as JSON text that the wrapper
//! parses. Every error is thrown as a JavaScript `Error` whose message is a JSON object
//! `{"code", "message", "diagnostics"?}`; the wrapper (`index.js`) turns it into the
//! matching `LumenflowError` subclass. No panic crosses the boundary: every entry point
//! runs under [`guard`].

#![deny(missing_docs)]

mod remote;

use lumenflow_core::{
    canonical_json, export, replay_path, Action, Approver, Checkpoint, Choice, Context, Decision,
    Durability, Error as CoreError, ExportFormat, Governor, GovernorOptions, KeyPair, Keyring,
    ManualClock, Outcome, Policy, PolicyError, PolicySet, Redactor, Request, Status, TestSuite,
};
use napi::bindgen_prelude::{AsyncTask, Buffer, ToNapiValue, TypeName};
use napi::{Env, Task};
use napi_derive::napi;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// An error on its way to JavaScript: a stable code and the core's message, intact.
#[derive(Debug)]
struct Failure {
    code: &'static str,
    message: String,
    diagnostics: Option<Value>,
}

impl Failure {
    fn invalid(message: impl Into<String>) -> Failure {
        Failure {
            code: "LUMENFLOW_INVALID",
            message: message.into(),
            diagnostics: None,
        }
    }
}

impl<E: Into<CoreError>> From<E> for Failure {
    fn from(e: E) -> Failure {
        let e: CoreError = e.into();
        let diagnostics = match &e {
            CoreError::Policy(p) if !p.diagnostics().is_empty() => {
                serde_json::to_value(p.diagnostics()).ok()
            }
            _ => None,
        };
        let code = match e.code() {
            "policy" => "LUMENFLOW_POLICY",
            "action" => "LUMENFLOW_ACTION",
            "key" => "LUMENFLOW_KEY",
            "evidence" => "LUMENFLOW_EVIDENCE",
            "approval" => "LUMENFLOW_APPROVAL",
            _ => "LUMENFLOW_INVALID",
        };
        Failure {
            code,
            message: e.to_string(),
            diagnostics,
        }
    }
}

impl From<Failure> for napi::Error {
    fn from(f: Failure) -> napi::Error {
        let mut body = json!({"code": f.code, "message": f.message});
        if let Some(d) = f.diagnostics {
            body["diagnostics"] = d;
        }
        napi::Error::new(napi::Status::GenericFailure, body.to_string())
    }
}

/// Runs `f`, turning a panic into a `LUMENFLOW_INTERNAL` error instead of letting it
/// unwind into Node.
fn guard<T>(f: impl FnOnce() -> Result<T, Failure>) -> napi::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(napi::Error::from),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Failure {
                code: "LUMENFLOW_INTERNAL",
                message: format!("internal error in lumenflow (please report): {what}"),
                diagnostics: None,
            }
            .into())
        }
    }
}

/// Reads JSON text that the wrapper produced; `what` names the argument in errors.
fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::invalid(format!("{what}: {e}")))
}

/// Options given as JSON text, or their defaults.
fn options<T: DeserializeOwned + Default>(text: Option<&str>, what: &str) -> Result<T, Failure> {
    Ok(text
        .map(|t| from_json(t, what))
        .transpose()?
        .unwrap_or_default())
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Failure> {
    serde_json::to_string(v).map_err(|e| Failure::invalid(format!("cannot serialise: {e}")))
}

fn context(text: &str) -> Result<Context, Failure> {
    Ok(Context::from_value(from_json(text, "context")?)?)
}

/// A layered set of policies (organisation, team, task, ...), loaded once.
#[napi]
pub struct NativePolicies {
    set: Arc<PolicySet>,
    /// The last context parsed, by its JSON text: programs pass the same context call
    /// after call, and parsing it again each time would cost more than deciding.
    last_context: Mutex<Option<(String, Arc<Context>)>>,
}

impl NativePolicies {
    fn new(layers: Result<Vec<Policy>, PolicyError>) -> Result<Self, Failure> {
        Ok(NativePolicies {
            set: Arc::new(PolicySet::new(layers?)),
            last_context: Mutex::new(None),
        })
    }

    fn decision(&self, action: &str, text: Option<String>) -> Result<Decision, Failure> {
        let action = Action::from_json(action)?;
        let Some(text) = text else {
            return Ok(self.set.decide(&action, &Context::new()));
        };
        let mut last = self.last_context.lock().unwrap_or_else(|p| p.into_inner());
        let c = match &*last {
            Some((t, c)) if *t == text => c.clone(),
            _ => {
                let c = Arc::new(context(&text)?);
                *last = Some((text, c.clone()));
                c
            }
        };
        drop(last);
        Ok(self.set.decide(&action, &c))
    }
}

#[napi]
impl NativePolicies {
    /// Loads policy files (YAML or JSON), as layers in order.
    #[napi(factory)]
    pub fn from_files(paths: Vec<String>) -> napi::Result<NativePolicies> {
        guard(|| NativePolicies::new(paths.iter().map(Policy::from_file).collect()))
    }

    /// Loads policies from texts (YAML or JSON), as layers in order; `origins[i]` names
    /// `texts[i]` in error messages.
    #[napi(factory)]
    pub fn from_texts(texts: Vec<String>, origins: Vec<String>) -> napi::Result<NativePolicies> {
        guard(|| {
            if texts.len() != origins.len() {
                return Err(Failure::invalid("texts and origins differ in length"));
            }
            let layers = texts.iter().zip(&origins);
            NativePolicies::new(layers.map(|(t, o)| Policy::from_yaml(t, o)).collect())
        })
    }

    /// Decides an action (JSON text) in a context (JSON text, or none for empty);
    /// returns only the effect (`allow`, `deny`, `require_approval`). Pure: nothing is
    /// recorded. Deciding is a pure function of the policies, action and context, so the
    /// wrapper asks `decideJson` for the details only when they are read: serialising
    /// every decision would cost more than deciding it.
    #[napi]
    pub fn decide(&self, action: String, context: Option<String>) -> napi::Result<&'static str> {
        guard(|| Ok(self.decision(&action, context)?.effect.as_str()))
    }

    /// As `decide`, with the whole decision as JSON text (spec/decision.md).
    #[napi]
    pub fn decide_json(&self, action: String, context: Option<String>) -> napi::Result<String> {
        guard(|| to_json(&self.decision(&action, context)?))
    }

    /// Replays the decisions of an evidence directory or bundle under these policies;
    /// returns the report (JSON text).
    #[napi]
    pub fn replay(&self, path: String) -> napi::Result<String> {
        guard(|| to_json(&replay_path(Path::new(&path), &self.set)?))
    }

    /// Runs a policy test file against these policies; returns the report as JSON text.
    #[napi]
    pub fn run_tests(&self, path: String) -> napi::Result<String> {
        guard(|| {
            let report = TestSuite::from_file(&path)?.run(&self.set);
            let results: Vec<Value> = report
                .results
                .iter()
                .map(|r| {
                    json!({
                        "name": r.case.name,
                        "line": r.case.line,
                        "expect": r.case.expect.as_str(),
                        "effect": r.decision.effect.as_str(),
                        "failure": r.failure,
                    })
                })
                .collect();
            to_json(&json!({
                "passed": report.passed(),
                "failed": report.failed(),
                "results": results,
                "unexercised": report.unexercised,
            }))
        })
    }
}

/// Options for opening a governor (JSON text from the wrapper).
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OpenOptions {
    context: Option<Value>,
    durability: Option<Durability>,
    segment_bytes: Option<u64>,
    redact: Option<Redactor>,
    /// A manual clock starting at this RFC 3339 time (for tests: see `advanceClock`).
    manual_clock: Option<String>,
    /// Other writers' public keys (paths or PEM text) whose records count.
    trusted_keys: Option<Vec<String>>,
    /// The approver registry file: votes then count only if signed by a registered key
    /// or attested by a declared attester.
    registry: Option<String>,
}

/// A keyring of public keys given as paths or PEM text.
fn keyring_of(keys: &[String], what: &str) -> Result<Keyring, Failure> {
    Ok(Keyring::from_pems_or_paths(keys, what)?)
}

fn open_governor(
    dir: &str,
    set: &PolicySet,
    key: &str,
    text: Option<&str>,
) -> Result<NativeGovernor, Failure> {
    let o: OpenOptions = options(text, "governor options")?;
    let mut g = GovernorOptions::default();
    if let Some(c) = o.context {
        g.context = Context::from_value(c)?;
    }
    g.durability = o.durability.unwrap_or(g.durability);
    g.segment_bytes = o.segment_bytes.unwrap_or(g.segment_bytes);
    g.redactor = o.redact.unwrap_or(g.redactor);
    let clock = match o.manual_clock {
        Some(start) => Some(Arc::new(ManualClock::new(start.parse().map_err(|e| {
            Failure::invalid(format!(
                "manualClock: `{start}` is not an RFC 3339 time: {e}"
            ))
        })?))),
        None => None,
    };
    if let Some(c) = &clock {
        g.clock = c.clone();
    }
    if let Some(k) = &o.trusted_keys {
        g.trusted_keys = Some(keyring_of(k, "trustedKeys")?);
    }
    if let Some(r) = &o.registry {
        g.registry = Some(Arc::new(lumenflow_core::Registry::load(r)?));
    }
    let gov = Governor::open(dir, set.clone(), KeyPair::from_file(key)?, g)?;
    Ok(NativeGovernor {
        gov: Mutex::new(Some(Arc::new(gov))),
        clock,
    })
}

/// An outcome from JavaScript (JSON text from the wrapper).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OutcomeInput {
    status: String,
    duration_ms: Option<f64>,
    error: Option<String>,
    cost: Option<f64>,
    tokens: Option<i64>,
}

/// The core's `Outcome` of `outcome` (JSON text `{status, durationMs?, error?, cost?,
/// tokens?}`) and `output` (digested, never stored), as both governors record it.
fn outcome_of(outcome: &str, output: Option<&[u8]>) -> Result<Outcome, Failure> {
    let o: OutcomeInput = from_json(outcome, "outcome")?;
    let status = o.status.parse::<Status>().map_err(Failure::invalid)?;
    let mut outcome = Outcome {
        error: o.error,
        cost: o.cost,
        tokens: o.tokens,
        ..Outcome::new(status)
    };
    if let Some(out) = output {
        outcome = outcome.with_output(out);
    }
    if let Some(ms) = o.duration_ms {
        let ms = non_negative(ms, "durationMs")?;
        outcome = outcome.with_duration(Duration::from_secs_f64(ms / 1000.0));
    }
    Ok(outcome)
}

/// A finite, non-negative number, or an error naming it.
fn non_negative(n: f64, what: &str) -> Result<f64, Failure> {
    if n.is_finite() && n >= 0.0 {
        Ok(n)
    } else {
        Err(Failure::invalid(format!(
            "{what} must be a finite, non-negative number"
        )))
    }
}

/// Decides actions under policies and records every decision and outcome as signed,
/// hash-chained evidence.
#[napi]
pub struct NativeGovernor {
    gov: Mutex<Option<Arc<Governor>>>,
    clock: Option<Arc<ManualClock>>,
}

impl NativeGovernor {
    fn slot(&self) -> MutexGuard<'_, Option<Arc<Governor>>> {
        self.gov.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self) -> Result<Arc<Governor>, Failure> {
        let gov = self.slot().clone();
        gov.ok_or_else(|| Failure::invalid("this governor is closed"))
    }
}

fn approver(text: &str, what: &str) -> Result<Approver, Failure> {
    serde_json::from_str(text)
        .map_err(|e| Failure::invalid(format!("{what}: must be an id or {{id, roles?}}: {e}")))
}

#[napi]
impl NativeGovernor {
    /// Opens (or creates) the evidence directory `dir` with these policies and the
    /// private key at `key`. Blocks; see `openGovernorAsync`.
    #[napi(factory)]
    pub fn open(
        dir: String,
        policies: &NativePolicies,
        key: String,
        options: Option<String>,
    ) -> napi::Result<NativeGovernor> {
        guard(|| open_governor(&dir, &policies.set, &key, options.as_deref()))
    }

    /// Decides an action (JSON text), in `context` (JSON text) or the governor's own,
    /// and records the decision before returning it: JSON text of the decision plus `id`,
    /// `hash`, `verdict` and `request_id`.
    #[napi]
    pub fn decide(&self, action: String, context: Option<String>) -> napi::Result<String> {
        guard(|| {
            let gov = self.get()?;
            let action = Action::from_json(&action)?;
            let g = match context {
                Some(c) => gov.decide_in(&action, &self::context(&c)?)?,
                None => gov.decide(&action)?,
            };
            to_json(&g.view())
        })
    }

    /// Records how decision `id` turned out. `outcome` is JSON text
    /// `{status, durationMs?, error?, cost?, tokens?}`; `output` is digested, never
    /// stored. Returns the outcome record's id.
    #[napi]
    pub fn record(
        &self,
        id: String,
        outcome: String,
        output: Option<Buffer>,
    ) -> napi::Result<String> {
        guard(|| {
            let gov = self.get()?;
            Ok(gov
                .record(&id, outcome_of(&outcome, output.as_deref())?)?
                .id())
        })
    }

    /// Votes `choice` (`approve` or `reject`) on request `request` as `approver` (JSON:
    /// `{id, roles?}`), optionally with the approver's own signature (JSON
    /// `{public_key, signature}` from `signVote`); returns the request as it stands (JSON
    /// text).
    #[napi]
    pub fn vote(
        &self,
        request: String,
        approver: String,
        choice: String,
        reason: String,
        signature: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let who = self::approver(&approver, "approver")?;
            let choice = choice.parse::<Choice>().map_err(Failure::invalid)?;
            let sig: Option<lumenflow_core::approval::VoteSignature> = signature
                .map(|s| {
                    serde_json::from_str(&s).map_err(|e| {
                        Failure::invalid(format!(
                            "signature: must be {{public_key, signature}} from signVote: {e}"
                        ))
                    })
                })
                .transpose()?;
            to_json(
                &self
                    .get()?
                    .vote(&request, &who, choice, &reason, sig.as_ref())?
                    .view(),
            )
        })
    }

    /// Votes for registered approver `approver` whom this program authenticated itself by
    /// `method`; counts only if the registry declares this governor's key an attester for
    /// it. Returns the request as it stands (JSON text).
    #[napi]
    pub fn attest(
        &self,
        request: String,
        approver: String,
        choice: String,
        reason: String,
        method: String,
    ) -> napi::Result<String> {
        guard(|| {
            let choice = choice.parse::<Choice>().map_err(Failure::invalid)?;
            to_json(
                &self
                    .get()?
                    .attest(&request, &approver, choice, &reason, &method)?
                    .view(),
            )
        })
    }

    /// Records of the log that decided nothing (untrusted, or votes and overrides that
    /// do not count), with why (JSON text: a list of strings).
    #[napi]
    pub fn rejected_records(&self) -> napi::Result<String> {
        guard(|| to_json(&self.get()?.rejected_records()))
    }

    /// One approval request as it stands now (JSON text).
    #[napi]
    pub fn approval(&self, request: String) -> napi::Result<String> {
        guard(|| to_json(&self.get()?.approval(&request)?.view()))
    }

    /// Every approval request of the log, oldest first (JSON text).
    #[napi]
    pub fn approvals(&self) -> napi::Result<String> {
        guard(|| {
            let list = self.get()?.approvals()?;
            to_json(&list.iter().map(Request::view).collect::<Vec<_>>())
        })
    }

    /// Every budget account charged so far (JSON text).
    #[napi]
    pub fn budgets(&self) -> napi::Result<String> {
        guard(|| to_json(&self.get()?.budgets()?))
    }

    /// Overrides deny `decision` as `who` (break-glass), with a reason; the returned
    /// decision (JSON text, see `decide`) allows the same action.
    #[napi]
    pub fn override_deny(
        &self,
        decision: String,
        who: String,
        reason: String,
    ) -> napi::Result<String> {
        guard(|| {
            let who = approver(&who, "who")?;
            to_json(&self.get()?.override_deny(&decision, &who, &reason)?.view())
        })
    }

    /// Moves a manual clock (the `manualClock` option) forward by `seconds`.
    #[napi]
    pub fn advance_clock(&self, seconds: f64) -> napi::Result<()> {
        guard(|| {
            let Some(c) = &self.clock else {
                return Err(Failure::invalid(
                    "advanceClock needs the manualClock option",
                ));
            };
            let ms = non_negative(seconds, "seconds")? * 1000.0;
            c.advance(chrono::Duration::milliseconds(ms.round() as i64));
            Ok(())
        })
    }

    /// Signs a checkpoint of the current head, writes it to the evidence directory and
    /// returns it as JSON text (null for an empty log).
    #[napi]
    pub fn checkpoint(&self) -> napi::Result<Option<String>> {
        guard(|| Ok(self.get()?.checkpoint()?.map(|c| c.to_json())))
    }

    /// The signing key's id.
    #[napi(getter)]
    pub fn key_id(&self) -> napi::Result<String> {
        guard(|| Ok(self.get()?.key_id().to_owned()))
    }

    /// Whether `close` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.slot().is_none()
    }

    /// Closes the governor: open decisions are closed as `unknown`, a checkpoint is
    /// written. Later calls throw; closing twice does nothing.
    #[napi]
    pub fn close(&self) -> napi::Result<()> {
        guard(|| {
            let gov = self.slot().take();
            if let Some(g) = gov {
                g.close()?;
            }
            Ok(())
        })
    }
}

/// A blocking call run on the libuv thread pool; its promise resolves to the value.
pub struct Background<T>(Option<Box<dyn FnOnce() -> Result<T, Failure> + Send>>);

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Background<T> {
    type Output = T;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<T> {
        let f = self.0.take();
        guard(|| f.ok_or_else(|| Failure::invalid("a background task runs once"))?())
    }

    fn resolve(&mut self, _env: Env, output: T) -> napi::Result<T> {
        Ok(output)
    }
}

fn background<T>(
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> AsyncTask<Background<T>>
where
    Background<T>: Task,
{
    AsyncTask::new(Background(Some(Box::new(f))))
}

/// `NativeGovernor.open` on the thread pool: resolves to the governor.
#[napi(ts_return_type = "Promise<NativeGovernor>")]
pub fn open_governor_async(
    dir: String,
    policies: &NativePolicies,
    key: String,
    options: Option<String>,
) -> AsyncTask<Background<NativeGovernor>> {
    let set = policies.set.clone();
    background(move || open_governor(&dir, &set, &key, options.as_deref()))
}

/// What to verify against: trusted public keys and a checkpoint.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VerifyOptions {
    /// Paths of trusted public key files.
    keys: Option<Vec<String>>,
    /// Trusted public keys as PEM text.
    key_pems: Option<Vec<String>>,
    /// Path of a checkpoint file kept elsewhere.
    checkpoint: Option<String>,
    /// A checkpoint as JSON text.
    checkpoint_json: Option<String>,
    /// An approver registry file to judge votes and overrides by.
    registry: Option<String>,
}

/// The trusted keys (none given: those shipped with the log) and checkpoint of verify
/// options.
#[allow(clippy::type_complexity)]
fn trust(
    text: Option<&str>,
) -> Result<(Option<Keyring>, Option<Checkpoint>, Option<String>), Failure> {
    let o: VerifyOptions = options(text, "verify options")?;
    let registry = o.registry;
    let keys = match (o.keys, o.key_pems) {
        (None, None) => None,
        (files, pems) => {
            let mut ring = Keyring::from_pems(pems.unwrap_or_default().as_slice(), "keyPems")?;
            for p in files.iter().flatten() {
                ring.add_file(p)?;
            }
            Some(ring)
        }
    };
    let (text, what) = match (o.checkpoint, o.checkpoint_json) {
        (Some(_), Some(_)) => {
            return Err(Failure::invalid(
                "give checkpoint (a path) or checkpointJson, not both",
            ))
        }
        (Some(path), None) => match std::fs::read_to_string(&path) {
            Ok(text) => (text, path),
            Err(e) => return Err(Failure::invalid(format!("checkpoint {path}: {e}"))),
        },
        (None, Some(text)) => (text, "checkpointJson".to_owned()),
        (None, None) => return Ok((keys, None, registry)),
    };
    let checkpoint = Checkpoint::parse(&text)
        .map_err(|e| Failure::invalid(format!("{what}: not a checkpoint: {e}")))?;
    Ok((keys, Some(checkpoint), registry))
}

/// Verifies an evidence directory or a bundle file.
fn verify_at(path: &str, options: Option<&str>) -> Result<String, Failure> {
    let (keys, checkpoint, registry) = trust(options)?;
    let registry = registry
        .map(|r| lumenflow_core::Registry::load(r).map(Arc::new))
        .transpose()?;
    let report = lumenflow_core::verify_path_with(
        Path::new(path),
        keys.as_ref(),
        checkpoint,
        registry.as_ref(),
        &|_| {},
    )?;
    to_json(&report.view())
}

/// Verifies a log's record lines (JSONL), as read from a segment or an export.
fn verify_lines(data: &[u8], options: Option<&str>) -> Result<String, Failure> {
    let (keys, checkpoint, _) = trust(options)?;
    let keys = keys.ok_or_else(|| {
        Failure::invalid("verifying bare records needs trusted keys (keys or keyPems)")
    })?;
    to_json(&lumenflow_core::verify_records("log", data, &keys, checkpoint).view())
}

/// Verifies an evidence directory or bundle; returns the report (JSON text, with
/// `exit_code`: 0 valid, 1 tampered, 2 incomplete, 3 unknown key). Blocks; see
/// `verifyPathAsync`.
#[napi]
pub fn verify_path(path: String, options: Option<String>) -> napi::Result<String> {
    guard(|| verify_at(&path, options.as_deref()))
}

/// Verifies record lines (the contents of a JSONL log), with trusted keys.
#[napi]
pub fn verify_records(data: Buffer, options: Option<String>) -> napi::Result<String> {
    guard(|| verify_lines(&data, options.as_deref()))
}

/// `verifyPath` on the thread pool.
#[napi(ts_return_type = "Promise<string>")]
pub fn verify_path_async(path: String, options: Option<String>) -> AsyncTask<Background<String>> {
    background(move || verify_at(&path, options.as_deref()))
}

/// `verifyRecords` on the thread pool.
#[napi(ts_return_type = "Promise<string>")]
pub fn verify_records_async(
    data: Buffer,
    options: Option<String>,
) -> AsyncTask<Background<String>> {
    let data = data.to_vec();
    background(move || verify_lines(&data, options.as_deref()))
}

/// Generates an Ed25519 key pair and writes `path` (private, 0600, never overwritten)
/// and `path.pub`; returns the key id.
#[napi]
pub fn generate_key(path: String) -> napi::Result<String> {
    guard(|| {
        let k = KeyPair::generate()?;
        k.write_files(&path)?;
        Ok(k.id().to_owned())
    })
}

/// Signs a vote on `request` (JSON text of the request from `approval`: its `id` and
/// `binding` are signed) with the approver's private key at `key`; returns JSON
/// `{public_key, signature}` for `vote`.
#[napi]
pub fn sign_vote(
    key: String,
    request: String,
    verdict: String,
    approver: String,
    reason: String,
) -> napi::Result<String> {
    #[derive(serde::Deserialize)]
    struct Signed {
        id: String,
        binding: String,
    }
    guard(|| {
        let req: Signed = serde_json::from_str(&request).map_err(|e| {
            Failure::invalid(format!("request: must be the request from approval(): {e}"))
        })?;
        let choice = verdict.parse::<Choice>().map_err(Failure::invalid)?;
        let kp = KeyPair::from_file(&key)?;
        to_json(&lumenflow_core::sign_vote(
            &kp,
            &req.id,
            &req.binding,
            choice,
            &approver,
            &reason,
        ))
    })
}

/// The strict Ed25519 rule: whether `signature_hex` signs `message` under
/// `public_key_hex` (both lower-case hex); anything malformed is `false`.
#[napi]
pub fn verify_signature(
    public_key_hex: String,
    message: Buffer,
    signature_hex: String,
) -> napi::Result<bool> {
    guard(|| {
        let valid = lumenflow_core::verify_signature(&public_key_hex, &message, &signature_hex);
        Ok(valid)
    })
}

/// RFC 8785 canonical form of a JSON text.
#[napi]
pub fn canonicalize(json_text: String) -> napi::Result<String> {
    guard(|| {
        canonical_json(&from_json::<Value>(&json_text, "value")?)
            .map_err(|e| Failure::invalid(format!("cannot canonicalise: {e}")))
    })
}

/// Exports an evidence directory to `out` as `bundle`, `jsonl` or `csv`; returns the
/// number of records written.
#[napi]
pub fn export_evidence(dir: String, out: String, format: String) -> napi::Result<f64> {
    guard(|| {
        let f = match format.as_str() {
            "bundle" => ExportFormat::Bundle,
            "jsonl" => ExportFormat::Jsonl,
            "csv" => ExportFormat::Csv,
            other => {
                return Err(Failure::invalid(format!(
                    "unknown export format `{other}` (bundle, jsonl, csv)"
                )))
            }
        };
        Ok(export(Path::new(&dir), Path::new(&out), f)? as f64)
    })
}

/// The version of the native module.
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
