//! The native half of the npm package `lumenflow`: a thin napi-rs layer over
//! `lumenflow-core`.
//!
//! This module only translates. Values cross the boundary as JSON text (the JavaScript
//! wrapper serialises with `JSON.stringify`, which rejects cyclic objects and BigInt
//! before anything reaches Rust), and results go back as JSON text that the wrapper
//! parses. Every error is thrown as a JavaScript `Error` whose message is a JSON object
//! `{"code", "message", "diagnostics"?}`; the wrapper (`index.js`) turns it into the
//! matching `LumenflowError` subclass. No panic crosses the boundary: every entry point
//! runs under [`guard`].

#![deny(missing_docs)]

use lumenflow_core::approval::{Approver, Request};
use lumenflow_core::clock::ManualClock;
use lumenflow_core::evidence::Checkpoint;
use lumenflow_core::governor::{Governed, Governor, GovernorOptions, Outcome, Status};
use lumenflow_core::keys::{parse_public, KeyPair, Keyring};
use lumenflow_core::redact::Redactor;
use lumenflow_core::store::{split_lines, Durability};
use lumenflow_core::testing::TestSuite;
use lumenflow_core::verify::{verify_lines, Report, Verifier};
use lumenflow_core::{Action, Context, Error as CoreError, Policy, PolicySet};
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};
use napi_derive::napi;
use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex};
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

/// The JavaScript code for a core error code.
fn js_code(core: &str) -> &'static str {
    match core {
        "policy" => "LUMENFLOW_POLICY",
        "action" => "LUMENFLOW_ACTION",
        "key" => "LUMENFLOW_KEY",
        "evidence" => "LUMENFLOW_EVIDENCE",
        "approval" => "LUMENFLOW_APPROVAL",
        _ => "LUMENFLOW_INVALID",
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
        Failure {
            code: js_code(e.code()),
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

/// Parses JSON text that the wrapper produced; `what` names the argument in errors.
fn parse(text: &str, what: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::invalid(format!("{what}: not valid JSON: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Failure> {
    serde_json::to_string(v).map_err(|e| Failure::invalid(format!("cannot serialise: {e}")))
}

fn parse_action(text: &str) -> Result<Action, Failure> {
    Ok(Action::from_json(text)?)
}

fn parse_context(text: Option<String>) -> Result<Option<Context>, Failure> {
    match text {
        None => Ok(None),
        Some(t) => Ok(Some(Context::from_value(parse(&t, "context")?)?)),
    }
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
    fn new(set: PolicySet) -> NativePolicies {
        NativePolicies {
            set: Arc::new(set),
            last_context: Mutex::new(None),
        }
    }

    fn decision(
        &self,
        action: &str,
        context: Option<String>,
    ) -> Result<lumenflow_core::Decision, Failure> {
        let action = parse_action(action)?;
        let context = match context {
            Some(text) => self.context(text)?,
            None => Arc::new(Context::new()),
        };
        Ok(self.set.decide(&action, &context))
    }

    fn context(&self, text: String) -> Result<Arc<Context>, Failure> {
        let mut last = self.last_context.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, c)) = &*last {
            if *t == text {
                return Ok(c.clone());
            }
        }
        let c = Arc::new(Context::from_value(parse(&text, "context")?)?);
        *last = Some((text, c.clone()));
        Ok(c)
    }
}

#[napi]
impl NativePolicies {
    /// Loads policy files (YAML or JSON), as layers in order.
    #[napi(factory)]
    pub fn from_files(paths: Vec<String>) -> napi::Result<NativePolicies> {
        guard(|| {
            let layers = paths
                .iter()
                .map(Policy::from_file)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(NativePolicies::new(PolicySet::new(layers)))
        })
    }

    /// Loads policies from texts (YAML or JSON), as layers in order; `origins[i]` names
    /// `texts[i]` in error messages.
    #[napi(factory)]
    pub fn from_texts(texts: Vec<String>, origins: Vec<String>) -> napi::Result<NativePolicies> {
        guard(|| {
            if texts.len() != origins.len() {
                return Err(Failure::invalid("texts and origins differ in length"));
            }
            let layers = texts
                .iter()
                .zip(&origins)
                .map(|(t, o)| Policy::from_yaml(t, o))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(NativePolicies::new(PolicySet::new(layers)))
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
        guard(|| {
            to_json(&lumenflow_core::replay::replay_path(
                Path::new(&path),
                &self.set,
            )?)
        })
    }

    /// Runs a policy test file against these policies; returns the report as JSON text.
    #[napi]
    pub fn run_tests(&self, path: String) -> napi::Result<String> {
        guard(|| {
            let suite = TestSuite::from_file(&path)?;
            let report = suite.run(&self.set);
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
    #[serde(default)]
    context: Option<Value>,
    #[serde(default)]
    durability: Option<Durability>,
    #[serde(default)]
    segment_bytes: Option<u64>,
    #[serde(default)]
    redact: Option<Redactor>,
    /// A manual clock starting at this RFC 3339 time (for tests: see `advanceClock`).
    #[serde(default)]
    manual_clock: Option<String>,
}

fn open_governor(
    dir: &str,
    set: &PolicySet,
    key: &str,
    options: Option<&str>,
) -> Result<NativeGovernor, Failure> {
    let opts: OpenOptions = match options {
        None => OpenOptions::default(),
        Some(t) => serde_json::from_value(parse(t, "options")?)
            .map_err(|e| Failure::invalid(format!("governor options: {e}")))?,
    };
    let mut g = GovernorOptions::default();
    if let Some(c) = opts.context {
        g.context = Context::from_value(c)?;
    }
    if let Some(d) = opts.durability {
        g.durability = d;
    }
    if let Some(s) = opts.segment_bytes {
        g.segment_bytes = s;
    }
    if let Some(r) = opts.redact {
        g.redactor = r;
    }
    let clock = match opts.manual_clock {
        Some(start) => {
            let t = start
                .parse::<chrono::DateTime<chrono::Utc>>()
                .map_err(|e| {
                    Failure::invalid(format!(
                        "manualClock: `{start}` is not an RFC 3339 time: {e}"
                    ))
                })?;
            let c = Arc::new(ManualClock::new(t));
            g.clock = c.clone();
            Some(c)
        }
        None => None,
    };
    let key = KeyPair::from_file(key)?;
    let gov = Governor::open(dir, set.clone(), key, g)?;
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
    #[serde(default)]
    duration_ms: Option<f64>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cost: Option<f64>,
    #[serde(default)]
    tokens: Option<i64>,
}

/// Decides actions under policies and records every decision and outcome as signed,
/// hash-chained evidence.
#[napi]
pub struct NativeGovernor {
    gov: Mutex<Option<Arc<Governor>>>,
    clock: Option<Arc<ManualClock>>,
}

impl NativeGovernor {
    fn get(&self) -> Result<Arc<Governor>, Failure> {
        self.gov
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| Failure::invalid("this governor is closed"))
    }
}

/// The decision of a governed call and the evidence record it was written to.
#[napi(object)]
pub struct NativeGoverned {
    /// The decision record's id, for `record`.
    pub id: String,
    /// The decision record's hash.
    pub hash: String,
    /// What it means for the caller: `allow`, `deny`, `approval_required` or
    /// `budget_exceeded` (the core's verdict).
    pub verdict: String,
    /// The approval request this decision opened, if it requires approval.
    pub request: Option<String>,
    /// The decision, as JSON text.
    pub decision: String,
}

fn governed(g: Governed) -> Result<NativeGoverned, Failure> {
    let verdict = match serde_json::to_value(g.verdict()) {
        Ok(Value::String(v)) => v,
        other => return Err(Failure::invalid(format!("unexpected verdict {other:?}"))),
    };
    Ok(NativeGoverned {
        decision: to_json(&g.decision)?,
        request: g.request().map(str::to_owned),
        verdict,
        id: g.id,
        hash: g.hash,
    })
}

fn parse_approver(text: &str, what: &str) -> Result<Approver, Failure> {
    serde_json::from_value(parse(text, what)?)
        .map_err(|e| Failure::invalid(format!("{what}: must be an id or {{id, roles?}}: {e}")))
}

/// A request as JSON text, with its count of distinct approvals.
fn request_json(r: &Request) -> Result<String, Failure> {
    let mut v = serde_json::to_value(r).map_err(|e| Failure::invalid(e.to_string()))?;
    v["approvals"] = json!(r.approvals());
    to_json(&v)
}

#[napi]
impl NativeGovernor {
    /// Opens (or creates) the evidence directory `dir` with these policies and the
    /// private key at `key`. Blocks; see `openAsync`.
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
    /// and records the decision before returning.
    #[napi]
    pub fn decide(&self, action: String, context: Option<String>) -> napi::Result<NativeGoverned> {
        guard(|| {
            let gov = self.get()?;
            let action = parse_action(&action)?;
            let g = match parse_context(context)? {
                Some(c) => gov.decide_in(&action, &c)?,
                None => gov.decide(&action)?,
            };
            governed(g)
        })
    }

    /// Records how decision `id` turned out. `outcome` is JSON text
    /// `{status, durationMs?, error?, cost?, tokens?}` (status `success`, `failure`,
    /// `denied` or `unknown`); `output` is digested, never stored. Returns the outcome
    /// record's id.
    #[napi]
    pub fn record(
        &self,
        id: String,
        outcome: String,
        output: Option<Buffer>,
    ) -> napi::Result<String> {
        guard(|| {
            let gov = self.get()?;
            let o: OutcomeInput = serde_json::from_value(parse(&outcome, "outcome")?)
                .map_err(|e| Failure::invalid(format!("outcome: {e}")))?;
            let mut outcome = Outcome::new(o.status.parse::<Status>().map_err(Failure::invalid)?);
            outcome.error = o.error;
            if let Some(c) = o.cost {
                outcome = outcome.with_cost(c);
            }
            if let Some(t) = o.tokens {
                outcome = outcome.with_tokens(t);
            }
            if let Some(out) = &output {
                outcome = outcome.with_output(out);
            }
            if let Some(ms) = o.duration_ms {
                if !(ms.is_finite() && ms >= 0.0) {
                    return Err(Failure::invalid(
                        "durationMs must be a finite, non-negative number",
                    ));
                }
                outcome = outcome.with_duration(Duration::from_secs_f64(ms / 1000.0));
            }
            Ok(gov.record(&id, outcome)?.id())
        })
    }

    /// Approves request `request` as `approver` (JSON: an id or `{id, roles}`); returns
    /// the request as it stands (JSON text).
    #[napi]
    pub fn approve(
        &self,
        request: String,
        approver: String,
        reason: String,
    ) -> napi::Result<String> {
        guard(|| {
            let who = parse_approver(&approver, "approver")?;
            request_json(&self.get()?.approve(&request, &who, &reason)?)
        })
    }

    /// Rejects request `request` as `approver`; returns the request (JSON text).
    #[napi]
    pub fn reject(
        &self,
        request: String,
        approver: String,
        reason: String,
    ) -> napi::Result<String> {
        guard(|| {
            let who = parse_approver(&approver, "approver")?;
            request_json(&self.get()?.reject(&request, &who, &reason)?)
        })
    }

    /// One approval request as it stands now (JSON text).
    #[napi]
    pub fn approval(&self, request: String) -> napi::Result<String> {
        guard(|| request_json(&self.get()?.approval(&request)?))
    }

    /// Every approval request of the log, oldest first (JSON text).
    #[napi]
    pub fn approvals(&self) -> napi::Result<String> {
        guard(|| {
            let list = self
                .get()?
                .approvals()?
                .iter()
                .map(|r| {
                    let mut v =
                        serde_json::to_value(r).map_err(|e| Failure::invalid(e.to_string()))?;
                    v["approvals"] = json!(r.approvals());
                    Ok(v)
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            to_json(&list)
        })
    }

    /// Every budget account charged so far (JSON text).
    #[napi]
    pub fn budgets(&self) -> napi::Result<String> {
        guard(|| to_json(&self.get()?.budgets()?))
    }

    /// Overrides deny `decision` as `who` (break-glass), with a reason; the returned
    /// decision allows the same action.
    #[napi]
    pub fn override_deny(
        &self,
        decision: String,
        who: String,
        reason: String,
    ) -> napi::Result<NativeGoverned> {
        guard(|| {
            let who = parse_approver(&who, "who")?;
            governed(self.get()?.override_deny(&decision, &who, &reason)?)
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
            if !(seconds.is_finite() && seconds >= 0.0) {
                return Err(Failure::invalid(
                    "seconds must be a finite, non-negative number",
                ));
            }
            c.advance(chrono::Duration::milliseconds(
                (seconds * 1000.0).round() as i64
            ));
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
        self.gov.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// Closes the governor: open decisions are closed as `unknown`, a checkpoint is
    /// written. Later calls throw; closing twice does nothing.
    #[napi]
    pub fn close(&self) -> napi::Result<()> {
        guard(|| {
            let gov = self.gov.lock().unwrap_or_else(|p| p.into_inner()).take();
            match gov {
                Some(g) => Ok(g.close()?),
                None => Ok(()),
            }
        })
    }
}

/// Opens a governor on the libuv thread pool.
pub struct OpenTask {
    dir: String,
    set: Arc<PolicySet>,
    key: String,
    options: Option<String>,
}

/// The result of a background task: its value or the error to throw.
type Carried<T> = napi::Result<T>;

fn in_background<T>(f: impl FnOnce() -> Result<T, Failure>) -> Carried<T> {
    guard(f)
}

impl Task for OpenTask {
    type Output = NativeGovernor;
    type JsValue = NativeGovernor;

    fn compute(&mut self) -> napi::Result<NativeGovernor> {
        in_background(|| open_governor(&self.dir, &self.set, &self.key, self.options.as_deref()))
    }

    fn resolve(&mut self, _env: Env, output: NativeGovernor) -> napi::Result<NativeGovernor> {
        Ok(output)
    }
}

/// `NativeGovernor.open` on the thread pool: resolves to the governor.
#[napi(ts_return_type = "Promise<NativeGovernor>")]
pub fn open_governor_async(
    dir: String,
    policies: &NativePolicies,
    key: String,
    options: Option<String>,
) -> AsyncTask<OpenTask> {
    AsyncTask::new(OpenTask {
        dir,
        set: policies.set.clone(),
        key,
        options,
    })
}

/// What to verify against: trusted public keys and a checkpoint.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VerifyOptions {
    /// Paths of trusted public key files.
    #[serde(default)]
    keys: Option<Vec<String>>,
    /// Trusted public keys as PEM text.
    #[serde(default)]
    key_pems: Option<Vec<String>>,
    /// Path of a checkpoint file kept elsewhere.
    #[serde(default)]
    checkpoint: Option<String>,
    /// A checkpoint as JSON text.
    #[serde(default)]
    checkpoint_json: Option<String>,
}

struct Trust {
    keys: Option<Keyring>,
    checkpoint: Option<Checkpoint>,
}

fn trust(options: Option<&str>) -> Result<Trust, Failure> {
    let o: VerifyOptions = match options {
        None => VerifyOptions::default(),
        Some(t) => serde_json::from_value(parse(t, "options")?)
            .map_err(|e| Failure::invalid(format!("verify options: {e}")))?,
    };
    let keys = if o.keys.is_none() && o.key_pems.is_none() {
        None
    } else {
        let mut ring = Keyring::new();
        for p in o.keys.iter().flatten() {
            ring.add_file(p)?;
        }
        for (i, pem) in o.key_pems.iter().flatten().enumerate() {
            ring.add(parse_public(pem, &format!("keyPems[{i}]"))?);
        }
        Some(ring)
    };
    let checkpoint_text = match (o.checkpoint, o.checkpoint_json) {
        (Some(_), Some(_)) => {
            return Err(Failure::invalid(
                "give checkpoint (a path) or checkpointJson, not both",
            ))
        }
        (Some(path), None) => Some((
            std::fs::read_to_string(&path)
                .map_err(|e| Failure::invalid(format!("checkpoint {path}: {e}")))?,
            path,
        )),
        (None, Some(text)) => Some((text, "checkpointJson".to_owned())),
        (None, None) => None,
    };
    let checkpoint = match checkpoint_text {
        Some((text, what)) => Some(
            Checkpoint::parse(&text)
                .map_err(|e| Failure::invalid(format!("{what}: not a checkpoint: {e}")))?,
        ),
        None => None,
    };
    Ok(Trust { keys, checkpoint })
}

fn report_json(r: &Report) -> Result<String, Failure> {
    let mut v = serde_json::to_value(r).map_err(|e| Failure::invalid(e.to_string()))?;
    v["exit_code"] = json!(r.exit_code());
    to_json(&v)
}

/// What to verify.
enum Target {
    /// An evidence directory or a bundle file.
    Path(String),
    /// A log's record lines (JSONL), as one would read from a segment or an export.
    Lines(Vec<u8>),
}

fn verify(target: &Target, options: Option<&str>) -> Result<String, Failure> {
    let t = trust(options)?;
    let report = match target {
        Target::Path(p) => lumenflow_core::export::verify_path(
            Path::new(p),
            t.keys.as_ref(),
            t.checkpoint,
            &|_| {},
        )?,
        Target::Lines(data) => {
            let Some(ring) = t.keys.as_ref() else {
                return Err(Failure::invalid(
                    "verifying bare records needs trusted keys (keys or keyPems)",
                ));
            };
            let mut lines = Vec::new();
            split_lines("log", data, &mut lines);
            let mut v = Verifier::new(ring);
            if let Some(c) = t.checkpoint {
                v = v.with_checkpoint(c);
            }
            verify_lines(&lines, v, &|_| {})
        }
    };
    report_json(&report)
}

/// Verifies an evidence directory or bundle; returns the report (JSON text, with
/// `exit_code`: 0 valid, 1 tampered, 2 incomplete, 3 unknown key). Blocks; see
/// `verifyPathAsync`.
#[napi]
pub fn verify_path(path: String, options: Option<String>) -> napi::Result<String> {
    guard(|| verify(&Target::Path(path), options.as_deref()))
}

/// Verifies record lines (the contents of a JSONL log), with trusted keys.
#[napi]
pub fn verify_records(data: Buffer, options: Option<String>) -> napi::Result<String> {
    guard(|| verify(&Target::Lines(data.to_vec()), options.as_deref()))
}

/// Verification on the libuv thread pool.
pub struct VerifyTask {
    target: Target,
    options: Option<String>,
}

impl Task for VerifyTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        in_background(|| verify(&self.target, self.options.as_deref()))
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

/// `verifyPath` on the thread pool.
#[napi(ts_return_type = "Promise<string>")]
pub fn verify_path_async(path: String, options: Option<String>) -> AsyncTask<VerifyTask> {
    AsyncTask::new(VerifyTask {
        target: Target::Path(path),
        options,
    })
}

/// `verifyRecords` on the thread pool.
#[napi(ts_return_type = "Promise<string>")]
pub fn verify_records_async(data: Buffer, options: Option<String>) -> AsyncTask<VerifyTask> {
    AsyncTask::new(VerifyTask {
        target: Target::Lines(data.to_vec()),
        options,
    })
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

/// RFC 8785 canonical form of a JSON text.
#[napi]
pub fn canonicalize(json_text: String) -> napi::Result<String> {
    guard(|| {
        let v = parse(&json_text, "value")?;
        lumenflow_core::canonical::to_string(&v)
            .map_err(|e| Failure::invalid(format!("cannot canonicalise: {e}")))
    })
}

/// Exports an evidence directory to `out` as `bundle`, `jsonl` or `csv`; returns the
/// number of records written.
#[napi]
pub fn export_evidence(dir: String, out: String, format: String) -> napi::Result<f64> {
    guard(|| {
        use lumenflow_core::export::Format;
        let f = match format.as_str() {
            "bundle" => Format::Bundle,
            "jsonl" => Format::Jsonl,
            "csv" => Format::Csv,
            other => {
                return Err(Failure::invalid(format!(
                    "unknown export format `{other}` (bundle, jsonl, csv)"
                )))
            }
        };
        let n = lumenflow_core::export::export(Path::new(&dir), Path::new(&out), f)?;
        Ok(n as f64)
    })
}

/// The version of the native module.
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
