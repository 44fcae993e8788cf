//! `lumenflow._lumenflow`: the Rust half of the Python package `lumenflow`.
//!
//! Only translation lives here: Python objects become the core's `Action`, `Context`,
//! `PolicySet`, `Governor` and `Outcome`, and the core's results and errors become Python
//! objects and exceptions. Every semantic is `lumenflow-core`'s. The Python half
//! (`python/lumenflow/__init__.py`) adds the `guard` decorator and the exceptions that a
//! guarded call raises (`Denied`, `ApprovalRequired`, `BudgetExceeded`).
//!
//! Calls that do real work (`decide`, `record`, `checkpoint`, `verify`, ...) release the
//! GIL, and every entry point catches panics and raises `lumenflow.Error` instead.

use lumenflow_core::approval::{self, Approver, Choice, Request, VoteSignature};
use lumenflow_core::clock::ManualClock;
use lumenflow_core::decide::DecidedBy;
use lumenflow_core::evidence::Checkpoint;
use lumenflow_core::governor::{
    Governed, Governor as CoreGovernor, GovernorOptions, Outcome, Status,
};
use lumenflow_core::keys::{parse_public, KeyPair, Keyring};
use lumenflow_core::redact::Redactor;
use lumenflow_core::store::{split_lines, Durability};
use lumenflow_core::verify::{
    verify_lines, Completeness, Integrity, Report as CoreReport, Verifier,
};
use lumenflow_core::{canonical, export, Action, Actor, Context, Decision as CoreDecision};
use lumenflow_core::{Policy, PolicySet as CorePolicySet};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use pythonize::pythonize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

create_exception!(
    lumenflow,
    Error,
    PyException,
    "Base class of every error LumenFlow raises; the message is the core's, intact."
);
create_exception!(
    lumenflow,
    PolicyError,
    Error,
    "A policy could not be read or is invalid (the message names file, rule, line and column)."
);
create_exception!(
    lumenflow,
    ActionError,
    Error,
    "An action or context was rejected: a missing or ill-typed field, a value that is not JSON, or a limit exceeded."
);
create_exception!(
    lumenflow,
    SigningKeyError,
    Error,
    "A signing or verifying key could not be read, parsed, generated or written. (Not named KeyError, so as not to shadow the builtin.)"
);
create_exception!(
    lumenflow,
    EvidenceError,
    Error,
    "Evidence could not be written or read; when `decide` raises it, no decision was recorded and the tool must not run."
);
create_exception!(
    lumenflow,
    ApprovalError,
    Error,
    "An approval could not be given, refused or found."
);

/// Maps a core error to the exception class for its code, keeping the message intact.
fn core_err(e: impl Into<lumenflow_core::Error>) -> PyErr {
    let e: lumenflow_core::Error = e.into();
    let msg = e.to_string();
    match e.code() {
        "policy" => PolicyError::new_err(msg),
        "action" => ActionError::new_err(msg),
        "key" => SigningKeyError::new_err(msg),
        "evidence" => EvidenceError::new_err(msg),
        "approval" => ApprovalError::new_err(msg),
        _ => Error::new_err(msg),
    }
}

/// Runs `f`, turning a panic into `lumenflow.Error` (none may cross into Python as a
/// `PanicException`, which `except Exception` does not catch).
fn shield<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::new_err(format!(
                "internal error in LumenFlow (please report it): {what}"
            )))
        }
    }
}

/// Deepest nesting converted from Python (the core's own limit is lower; this only keeps
/// the conversion from exhausting the stack).
const MAX_DEPTH: usize = 256;

/// Why a Python value is not JSON: the message, and the path to the value, innermost
/// segment first (built only when a conversion fails, so success costs nothing).
struct NotJson {
    path: Vec<String>,
    message: String,
}

impl NotJson {
    fn new(message: String) -> NotJson {
        NotJson {
            path: Vec::new(),
            message,
        }
    }

    fn at(mut self, segment: String) -> NotJson {
        self.path.push(segment);
        self
    }

    /// `root.key[2]: message`.
    fn render(&self, root: &str) -> String {
        let mut p = root.to_owned();
        for seg in self.path.iter().rev() {
            if !seg.starts_with('[') && !p.is_empty() {
                p.push('.');
            }
            p.push_str(seg);
        }
        if p.is_empty() {
            self.message.clone()
        } else {
            format!("{p}: {}", self.message)
        }
    }
}

/// The UTF-8 text of a Python str, without the intermediate bytes object that PyO3's
/// limited-API (abi3, Python 3.9) path creates.
fn py_str(s: &Bound<'_, PyString>) -> PyResult<String> {
    // `PyUnicode_AsUTF8AndSize` is in the stable ABI from 3.10 and exported, with the
    // same signature, by every CPython 3.x (>= 3.3) shared library and executable.
    extern "C" {
        fn PyUnicode_AsUTF8AndSize(
            o: *mut pyo3::ffi::PyObject,
            size: *mut pyo3::ffi::Py_ssize_t,
        ) -> *const std::os::raw::c_char;
    }
    let mut len: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str (we hold the GIL through `Bound`); the returned buffer is
    // owned by the str object and valid while it lives, and we copy it at once.
    unsafe {
        let ptr = PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut len);
        if ptr.is_null() {
            return Err(PyErr::fetch(s.py()));
        }
        let bytes = std::slice::from_raw_parts(ptr.cast::<u8>(), len as usize);
        Ok(std::str::from_utf8_unchecked(bytes).to_owned())
    }
}

/// Converts Python data to JSON: None, bool, int, float (finite), str, list, tuple and
/// dict with str keys. Anything else is an error naming where it is.
fn to_json(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, NotJson> {
    if let Ok(s) = obj.cast::<PyString>() {
        return py_str(s)
            .map(Value::String)
            .map_err(|e| NotJson::new(e.to_string()));
    }
    if depth > MAX_DEPTH {
        return Err(NotJson::new(format!(
            "nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(NotJson::new("integer out of the 64-bit range".into()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| {
                NotJson::new(format!(
                    "{v} is not a JSON number (JSON has no NaN or infinity)"
                ))
            });
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(k) => py_str(k).map_err(|e| NotJson::new(e.to_string()))?,
                Err(_) => {
                    return Err(NotJson::new(format!(
                        "keys must be str, not {} ({})",
                        type_name(&k),
                        k.repr().map(|r| r.to_string()).unwrap_or_default()
                    )))
                }
            };
            match to_json(&v, depth + 1) {
                Ok(v) => {
                    m.insert(key, v);
                }
                Err(e) => return Err(e.at(key)),
            }
        }
        return Ok(Value::Object(m));
    }
    let seq = |items: &mut dyn ExactSizeIterator<Item = Bound<'_, PyAny>>| {
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.enumerate() {
            out.push(to_json(&v, depth + 1).map_err(|e| e.at(format!("[{i}]")))?);
        }
        Ok(Value::Array(out))
    };
    if let Ok(l) = obj.cast::<PyList>() {
        return seq(&mut l.iter());
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return seq(&mut t.iter());
    }
    Err(NotJson::new(format!(
        "{} is not JSON data (use dict, list, str, int, float, bool or None)",
        type_name(obj)
    )))
}

/// Converts Python data to JSON, raising `ActionError` ("invalid {kind}: {what}...: ...").
fn json_arg(obj: &Bound<'_, PyAny>, kind: &str, what: &str) -> PyResult<Value> {
    to_json(obj, 0).map_err(|e| ActionError::new_err(format!("invalid {kind}: {}", e.render(what))))
}

/// Converts a Python value to `T` through JSON, naming `what` in the error.
fn from_py<T: DeserializeOwned>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let v = json_arg(obj, "action", what)?;
    serde_json::from_value::<T>(v)
        .map_err(|e| ActionError::new_err(format!("invalid action: {what}: {e}")))
}

/// Converts a serialisable Rust value to Python objects (dicts, lists, str, ...).
fn to_py<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    pythonize(py, v).map_err(|e| Error::new_err(format!("cannot convert to Python: {e}")))
}

/// A path from `str` or `os.PathLike`, or an error naming the argument.
fn path_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<PathBuf> {
    obj.extract::<PathBuf>().map_err(|_| {
        Error::new_err(format!(
            "{what} must be a path (str or os.PathLike), not {}",
            type_name(obj)
        ))
    })
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The fields of an action given as keyword arguments.
#[derive(Default)]
struct ActionKwargs<'a, 'py> {
    tool: Option<&'a Bound<'py, PyAny>>,
    args: Option<&'a Bound<'py, PyAny>>,
    actor: Option<&'a Bound<'py, PyAny>>,
    session: Option<&'a Bound<'py, PyAny>>,
    run: Option<&'a Bound<'py, PyAny>>,
    metadata: Option<&'a Bound<'py, PyAny>>,
    cost: Option<&'a Bound<'py, PyAny>>,
    tokens: Option<&'a Bound<'py, PyAny>>,
}

impl ActionKwargs<'_, '_> {
    fn any(&self) -> bool {
        [
            self.tool,
            self.args,
            self.actor,
            self.session,
            self.run,
            self.metadata,
            self.cost,
            self.tokens,
        ]
        .iter()
        .any(Option::is_some)
    }
}

fn opt_string(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<String> {
    match obj {
        None => Ok(String::new()),
        Some(o) => match o.cast::<PyString>() {
            Ok(s) => py_str(s),
            Err(_) => Err(ActionError::new_err(format!(
                "invalid action: {what} must be a str, not {}",
                type_name(o)
            ))),
        },
    }
}

/// Builds an action from a dict (positional) or from keyword arguments.
fn build_action(action: Option<&Bound<'_, PyAny>>, kw: ActionKwargs<'_, '_>) -> PyResult<Action> {
    if let Some(a) = action {
        if kw.any() {
            return Err(ActionError::new_err(
                "invalid action: give it either as a dict or as keyword arguments (tool=, args=, ...), not both",
            ));
        }
        let Ok(dict) = a.cast::<PyDict>() else {
            return Err(ActionError::new_err(format!(
                "invalid action: must be a dict, not {}",
                type_name(a)
            )));
        };
        // Fast path: a dict of the action's own fields with a str tool reads like keyword
        // arguments; anything else goes through the core's parser (and its messages).
        let items: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = dict.iter().collect();
        let mut fields = ActionKwargs::default();
        let simple = items.iter().all(|(k, v)| {
            let Ok(k) = k.cast::<PyString>() else {
                return false;
            };
            let slot = match k.to_cow().as_deref() {
                Ok("tool") if v.cast::<PyString>().is_ok() => &mut fields.tool,
                Ok("args") => &mut fields.args,
                Ok("actor") => &mut fields.actor,
                Ok("session") => &mut fields.session,
                Ok("run") => &mut fields.run,
                Ok("metadata") => &mut fields.metadata,
                Ok("cost") => &mut fields.cost,
                Ok("tokens") => &mut fields.tokens,
                _ => return false,
            };
            *slot = Some(v);
            true
        });
        if simple && fields.tool.is_some() {
            return build_action(None, fields);
        }
        return Action::from_value(json_arg(a, "action", "action")?).map_err(core_err);
    }
    let Some(tool) = kw.tool else {
        return Err(ActionError::new_err(
            "invalid action: missing `tool` (pass tool=\"...\" or an action dict)",
        ));
    };
    let tool = opt_string(Some(tool), "tool")?;
    let args = match kw.args {
        None => Map::new(),
        Some(a) if a.is_none() => Map::new(),
        Some(a) => match json_arg(a, "action", "args")? {
            Value::Object(m) => m,
            _ => {
                return Err(ActionError::new_err(format!(
                    "invalid action: args must be a dict, not {}",
                    type_name(a)
                )))
            }
        },
    };
    let actor = match kw.actor {
        None => Actor::default(),
        // A bare id is an agent with no roles, as the core reads `"actor": "id"`.
        Some(a) => match a.cast::<PyString>() {
            Ok(id) => Actor::agent(py_str(id)?),
            Err(_) => from_py::<Actor>(a, "actor")?,
        },
    };
    let metadata = match kw.metadata {
        None => Map::new(),
        Some(m) => from_py::<Map<String, Value>>(m, "metadata")?,
    };
    let cost = match kw.cost {
        None => None,
        Some(c) if c.is_none() => None,
        Some(c) => Some(from_py::<f64>(c, "cost")?),
    };
    let tokens = match kw.tokens {
        None => None,
        Some(t) if t.is_none() => None,
        Some(t) => Some(from_py::<i64>(t, "tokens")?),
    };
    Ok(Action {
        tool,
        args,
        actor,
        session: opt_string(kw.session, "session")?,
        run: opt_string(kw.run, "run")?,
        metadata,
        cost,
        tokens,
    })
}

fn build_context(obj: &Bound<'_, PyAny>) -> PyResult<Context> {
    let v = json_arg(obj, "context", "context")?;
    Context::from_value(v).map_err(core_err)
}

fn decided_by(d: DecidedBy) -> String {
    // The core's own (serde) name, so that new kinds need no change here.
    match serde_json::to_value(d) {
        Ok(Value::String(s)) => s,
        _ => format!("{d:?}"),
    }
}

/// The answer to "may this action run?", with everything that led to it
/// (spec/decision.md). Decisions made by a `Governor` also carry the id and hash of the
/// evidence record they were written to.
#[pyclass(frozen, module = "lumenflow", name = "Decision")]
struct PyDecision {
    decision: CoreDecision,
    id: Option<String>,
    hash: Option<String>,
    verdict: Option<String>,
    request_id: Option<String>,
}

impl PyDecision {
    fn pure(decision: CoreDecision) -> PyDecision {
        PyDecision {
            decision,
            id: None,
            hash: None,
            verdict: None,
            request_id: None,
        }
    }

    fn governed(g: Governed) -> PyDecision {
        let verdict = serde_name(&g.verdict());
        let request_id = g.request().map(str::to_owned);
        PyDecision {
            decision: g.decision,
            id: Some(g.id),
            hash: Some(g.hash),
            verdict: Some(verdict),
            request_id,
        }
    }
}

/// The serde name of a unit enum variant (`budget_exceeded`, ...).
fn serde_name<T: serde::Serialize + std::fmt::Debug>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => format!("{v:?}"),
    }
}

#[pymethods]
impl PyDecision {
    /// `"allow"`, `"deny"` or `"require_approval"`.
    #[getter]
    fn effect(&self) -> &'static str {
        self.decision.effect.as_str()
    }

    /// True if the effect is allow.
    #[getter]
    fn allowed(&self) -> bool {
        self.decision.allowed()
    }

    /// `"rule"`, `"default"` or `"invalid_input"`.
    #[getter]
    fn decided_by(&self) -> String {
        decided_by(self.decision.decided_by)
    }

    /// The rules that produced the effect, as `(policy, rule)` pairs.
    #[getter]
    fn deciding_rules(&self) -> Vec<(String, String)> {
        self.decision
            .deciding_rules
            .iter()
            .map(|r| (r.policy.to_string(), r.rule.to_string()))
            .collect()
    }

    /// Every matched rule: dicts with policy, rule, effect and reason (and error).
    #[getter]
    fn matched<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision.matched)
    }

    /// Rules whose condition failed: dicts with policy, rule, message and effect.
    #[getter]
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision.errors)
    }

    /// Refused loosening attempts and other notes: dicts with policy, rules, message.
    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision.warnings)
    }

    /// The policies, in layer order: dicts with name and digest.
    #[getter]
    fn policies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision.policies)
    }

    /// Who may approve, when the effect is require_approval.
    #[getter]
    fn approvers(&self) -> Vec<String> {
        self.decision
            .approvers
            .iter()
            .map(|a| a.to_string())
            .collect()
    }

    /// A one-line explanation.
    #[getter]
    fn reason(&self) -> &str {
        &self.decision.reason
    }

    /// Time spent evaluating, in nanoseconds.
    #[getter]
    fn eval_ns(&self) -> u64 {
        self.decision.eval_ns
    }

    /// For a Governor's decision, what it means for the caller: `"allow"`, `"deny"`,
    /// `"approval_required"` or `"budget_exceeded"` (the core's verdict). None for a
    /// PolicySet's decision.
    #[getter]
    fn verdict(&self) -> Option<&str> {
        self.verdict.as_deref()
    }

    /// The approval request this decision opened (require_approval from a Governor),
    /// for `Governor.approve`; None otherwise.
    #[getter]
    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The approval terms asked for, or the approval that allowed it (a dict), or None.
    #[getter]
    fn approval<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision.approval)
    }

    /// What each budget made of the action: dicts with budget, account, charge, spent,
    /// limit, status... (Governor decisions only).
    #[getter]
    fn budgets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision.budgets)
    }

    /// The decision record's id (`<stream>:<seq>`), or None if no Governor recorded it.
    #[getter]
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The decision record's hash, or None if no Governor recorded it.
    #[getter]
    fn hash(&self) -> Option<&str> {
        self.hash.as_deref()
    }

    /// The decision as plain data (the spec's JSON form), plus `id` and `hash` when
    /// recorded.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = to_py(py, &self.decision)?;
        if let Ok(dict) = d.cast::<PyDict>() {
            if let Some(id) = &self.id {
                dict.set_item("id", id)?;
            }
            if let Some(h) = &self.hash {
                dict.set_item("hash", h)?;
            }
            if let Some(v) = &self.verdict {
                dict.set_item("verdict", v)?;
            }
            if let Some(r) = &self.request_id {
                dict.set_item("request_id", r)?;
            }
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "Decision(effect={:?}, decided_by={:?}, reason={:?}, id={:?})",
            self.decision.effect.as_str(),
            decided_by(self.decision.decided_by),
            self.decision.reason,
            self.id
        )
    }
}

fn load_policies(policy: &Bound<'_, PyAny>) -> PyResult<CorePolicySet> {
    if let Ok(set) = policy.cast::<PyPolicySet>() {
        return Ok(set.get().inner.clone());
    }
    if policy.cast::<PyString>().is_err() {
        if let Ok(list) = policy.extract::<Vec<Bound<'_, PyAny>>>() {
            let paths = list
                .iter()
                .map(|p| path_arg(p, "policy"))
                .collect::<PyResult<Vec<_>>>()?;
            return policies_from_files(paths);
        }
    }
    let path = path_arg(policy, "policy (a path, a list of paths, or a PolicySet)")?;
    policies_from_files(vec![path])
}

fn policies_from_files(paths: Vec<PathBuf>) -> PyResult<CorePolicySet> {
    shield(|| {
        let layers = paths
            .iter()
            .map(|p| Policy::from_file(p).map_err(core_err))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(CorePolicySet::new(layers))
    })
}

/// An ordered stack of policies (organisation → team → task) that decides actions with no
/// evidence: pure, cheap, and safe to share across threads.
#[pyclass(frozen, module = "lumenflow", name = "PolicySet")]
struct PyPolicySet {
    inner: CorePolicySet,
    context: Context,
}

#[pymethods]
impl PyPolicySet {
    /// Loads policy files (YAML or JSON), most general layer first. `context` is what
    /// rules see as `context` when a `decide` call gives none.
    #[new]
    #[pyo3(signature = (*paths, context = None))]
    fn new(paths: Vec<Bound<'_, PyAny>>, context: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let paths = paths
            .iter()
            .map(|p| path_arg(p, "policy"))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyPolicySet {
            inner: policies_from_files(paths)?,
            context: context.map(build_context).transpose()?.unwrap_or_default(),
        })
    }

    /// Loads policies from YAML (or JSON) text, one string per layer; `origin` names them
    /// in error messages; `context` as for the constructor.
    #[staticmethod]
    #[pyo3(signature = (*texts, origin = "<string>", context = None))]
    fn from_yaml(
        texts: Vec<Bound<'_, PyAny>>,
        origin: &str,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let context = context.map(build_context).transpose()?.unwrap_or_default();
        let texts = texts
            .iter()
            .map(|t| {
                t.cast::<PyString>()
                    .map_err(|_| {
                        PolicyError::new_err(format!(
                            "{origin}: policy text must be a str, not {}",
                            type_name(t)
                        ))
                    })
                    .and_then(|s| Ok(s.to_cow()?.into_owned()))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let n = texts.len();
        let layers = shield(|| {
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let name = if n > 1 {
                        format!("{origin}[{i}]")
                    } else {
                        origin.to_owned()
                    };
                    Policy::from_yaml(t, &name).map_err(core_err)
                })
                .collect::<PyResult<Vec<_>>>()
        })?;
        Ok(PyPolicySet {
            inner: CorePolicySet::new(layers),
            context,
        })
    }

    /// The layers, in order: dicts with name, origin and digest.
    #[getter]
    fn policies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v: Vec<Value> = self
            .inner
            .policies()
            .iter()
            .map(|p| serde_json::json!({"name": p.name(), "origin": p.origin(), "digest": p.digest()}))
            .collect();
        to_py(py, &v)
    }

    /// Decides an action (a dict, or keyword arguments) in `context` (else the set's own).
    /// Pure: nothing is recorded. Never raises for a well-typed action: invalid input is
    /// denied.
    #[pyo3(signature = (action = None, /, *, tool = None, args = None, actor = None, session = None, run = None, metadata = None, cost = None, tokens = None, context = None))]
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        py: Python<'_>,
        action: Option<&Bound<'_, PyAny>>,
        tool: Option<&Bound<'_, PyAny>>,
        args: Option<&Bound<'_, PyAny>>,
        actor: Option<&Bound<'_, PyAny>>,
        session: Option<&Bound<'_, PyAny>>,
        run: Option<&Bound<'_, PyAny>>,
        metadata: Option<&Bound<'_, PyAny>>,
        cost: Option<&Bound<'_, PyAny>>,
        tokens: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyDecision> {
        let action = build_action(
            action,
            ActionKwargs {
                tool,
                args,
                actor,
                session,
                run,
                metadata,
                cost,
                tokens,
            },
        )?;
        let given = context.map(build_context).transpose()?;
        let context = given.as_ref().unwrap_or(&self.context);
        let set = &self.inner;
        let decision = py.detach(|| shield(|| Ok(set.decide(&action, context))))?;
        Ok(PyDecision::pure(decision))
    }

    fn __repr__(&self) -> String {
        let names: Vec<&str> = self.inner.policies().iter().map(|p| p.name()).collect();
        format!("PolicySet({names:?})")
    }
}

fn parse_durability(obj: &Bound<'_, PyAny>) -> PyResult<Durability> {
    let s = obj
        .cast::<PyString>()
        .map_err(|_| Error::new_err("durability must be \"sync\", \"group\" or \"none\""))?;
    serde_json::from_value(Value::String(s.to_cow()?.into_owned())).map_err(|_| {
        Error::new_err(format!(
            "unknown durability {:?} (\"sync\", \"group\" or \"none\")",
            s.to_cow().unwrap_or_default()
        ))
    })
}

/// Decides actions under a policy and records every decision and outcome as signed,
/// hash-chained evidence. Thread-safe: share one across threads.
#[pyclass(frozen, subclass, module = "lumenflow", name = "Governor")]
struct PyGovernor {
    inner: Arc<CoreGovernor>,
    evidence: PathBuf,
    closed: AtomicBool,
}

impl PyGovernor {
    fn live(&self) -> PyResult<&Arc<CoreGovernor>> {
        if self.closed.load(Ordering::Acquire) {
            Err(EvidenceError::new_err(format!(
                "this Governor ({}) is closed",
                self.evidence.display()
            )))
        } else {
            Ok(&self.inner)
        }
    }
}

#[pymethods]
impl PyGovernor {
    /// Opens (or creates) the evidence directory and loads the policy and signing key.
    ///
    /// `policy`: a path, a list of paths (layers, most general first) or a PolicySet.
    /// `key`: path of a private key (see `generate_key`). `context`: what rules see as
    /// `context` unless a call gives its own. `durability`: "group" (default), "sync" or
    /// "none". `redact`: field names whose values are never recorded (besides secrets).
    /// `host_approves`: leave require_approval decisions open for a host that asks its user
    /// itself. `clock`: a ManualClock (tests).
    #[new]
    #[pyo3(signature = (*, policy, evidence, key, context = None, durability = None, redact = None, host_approves = false, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        policy: &Bound<'_, PyAny>,
        evidence: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
        durability: Option<&Bound<'_, PyAny>>,
        redact: Option<Vec<String>>,
        host_approves: bool,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let policies = load_policies(policy)?;
        let dir = path_arg(evidence, "evidence")?;
        let key_path = path_arg(key, "key")?;
        let mut options = GovernorOptions::default();
        if let Some(c) = context {
            options.context = build_context(c)?;
        }
        if let Some(d) = durability {
            options.durability = parse_durability(d)?;
        }
        if let Some(fields) = redact {
            options.redactor = Redactor {
                pointers: Vec::new(),
                fields,
            };
        }
        options.host_approves = host_approves;
        if let Some(c) = clock.filter(|c| !c.is_none()) {
            let c = c.cast::<PyManualClock>().map_err(|_| {
                Error::new_err(format!(
                    "clock must be a lumenflow.ManualClock, not {}",
                    type_name(c)
                ))
            })?;
            options.clock = c.get().clock.clone();
        }
        let gov = py.detach(|| {
            shield(|| {
                let kp = KeyPair::from_file(&key_path).map_err(core_err)?;
                CoreGovernor::open(&dir, policies, kp, options).map_err(core_err)
            })
        })?;
        Ok(PyGovernor {
            inner: Arc::new(gov),
            evidence: dir,
            closed: AtomicBool::new(false),
        })
    }

    /// The evidence directory.
    #[getter]
    fn evidence(&self) -> PathBuf {
        self.evidence.clone()
    }

    /// The signing key's id (`ed25519:...`).
    #[getter]
    fn key_id(&self) -> String {
        self.inner.key_id().to_owned()
    }

    /// The policies this governor decides with.
    #[getter]
    fn policy(&self) -> PyPolicySet {
        PyPolicySet {
            inner: self.inner.policies().clone(),
            context: Context::new(),
        }
    }

    /// Decides an action (a dict, or keyword arguments) and records the decision before
    /// returning. A deny is closed at once; an allow waits for `record`. Raises
    /// `EvidenceError` if the record cannot be written (then do not run the tool).
    #[pyo3(signature = (action = None, /, *, tool = None, args = None, actor = None, session = None, run = None, metadata = None, cost = None, tokens = None, context = None))]
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        py: Python<'_>,
        action: Option<&Bound<'_, PyAny>>,
        tool: Option<&Bound<'_, PyAny>>,
        args: Option<&Bound<'_, PyAny>>,
        actor: Option<&Bound<'_, PyAny>>,
        session: Option<&Bound<'_, PyAny>>,
        run: Option<&Bound<'_, PyAny>>,
        metadata: Option<&Bound<'_, PyAny>>,
        cost: Option<&Bound<'_, PyAny>>,
        tokens: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyDecision> {
        let gov = self.live()?;
        let action = build_action(
            action,
            ActionKwargs {
                tool,
                args,
                actor,
                session,
                run,
                metadata,
                cost,
                tokens,
            },
        )?;
        let context = context.map(build_context).transpose()?;
        let g = py.detach(|| {
            shield(|| {
                match &context {
                    Some(c) => gov.decide_in(&action, c),
                    None => gov.decide(&action),
                }
                .map_err(core_err)
            })
        })?;
        Ok(PyDecision::governed(g))
    }

    /// Records how a decided action turned out; returns the outcome record's id.
    ///
    /// `decision`: a Decision from `decide` or its id. `status`: "success", "failure",
    /// "denied" or "unknown". `output` (bytes or str): only its digest is recorded.
    /// `duration`: seconds. `error`: a message (secrets are redacted before recording).
    #[pyo3(signature = (decision, /, status = None, *, output = None, duration = None, error = None, cost = None, tokens = None))]
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        py: Python<'_>,
        decision: &Bound<'_, PyAny>,
        status: Option<&Bound<'_, PyAny>>,
        output: Option<&Bound<'_, PyAny>>,
        duration: Option<&Bound<'_, PyAny>>,
        error: Option<&Bound<'_, PyAny>>,
        cost: Option<&Bound<'_, PyAny>>,
        tokens: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let gov = self.live()?;
        let id = if let Ok(d) = decision.cast::<PyDecision>() {
            d.get().id.clone().ok_or_else(|| {
                Error::new_err("this Decision was not recorded by a Governor (it came from PolicySet.decide), so it has no outcome to record")
            })?
        } else if let Ok(s) = decision.cast::<PyString>() {
            s.to_cow()?.into_owned()
        } else {
            return Err(Error::new_err(format!(
                "record: decision must be a Decision or its id (str), not {}",
                type_name(decision)
            )));
        };
        let status: Status = match status {
            None => Status::Success,
            Some(st) => st
                .cast::<PyString>()
                .map_err(|_| {
                    Error::new_err(format!(
                        "record: status must be a str, not {}",
                        type_name(st)
                    ))
                })?
                .to_cow()?
                .parse()
                .map_err(|e: String| Error::new_err(format!("record: {e}")))?,
        };
        let mut outcome = Outcome::new(status);
        if let Some(o) = output.filter(|o| !o.is_none()) {
            if let Ok(b) = o.cast::<PyBytes>() {
                outcome = outcome.with_output(b.as_bytes());
            } else if let Ok(s) = o.cast::<PyString>() {
                outcome = outcome.with_output(s.to_cow()?.as_bytes());
            } else {
                return Err(Error::new_err(format!(
                    "record: output must be bytes or str, not {}",
                    type_name(o)
                )));
            }
        }
        if let Some(d) = duration.filter(|d| !d.is_none()) {
            let secs: f64 = d.extract().map_err(|_| {
                Error::new_err(format!(
                    "record: duration must be a number of seconds, not {}",
                    type_name(d)
                ))
            })?;
            let d = Duration::try_from_secs_f64(secs).map_err(|_| {
                Error::new_err(format!(
                    "record: duration must be a finite, non-negative number of seconds, not {secs}"
                ))
            })?;
            outcome = outcome.with_duration(d);
        }
        if let Some(e) = error.filter(|e| !e.is_none()) {
            let msg = e.cast::<PyString>().map_err(|_| {
                Error::new_err(format!("record: error must be a str, not {}", type_name(e)))
            })?;
            outcome.error = Some(msg.to_cow()?.into_owned());
        }
        if let Some(c) = cost.filter(|c| !c.is_none()) {
            let c: f64 = c.extract().map_err(|_| {
                Error::new_err(format!(
                    "record: cost must be a number, not {}",
                    type_name(c)
                ))
            })?;
            outcome = outcome.with_cost(c);
        }
        if let Some(t) = tokens.filter(|t| !t.is_none()) {
            let t: i64 = t.extract().map_err(|_| {
                Error::new_err(format!(
                    "record: tokens must be an int, not {}",
                    type_name(t)
                ))
            })?;
            outcome = outcome.with_tokens(t);
        }
        py.detach(|| shield(|| gov.record(&id, outcome).map(|r| r.id()).map_err(core_err)))
    }

    /// Approves approval request `request` (a Decision's `request_id`) as `approver` (an
    /// id, or a dict `{"id": ..., "roles": [...]}`); returns the request as it stands
    /// (a dict with state, votes, ...). Raises `ApprovalError` if refused.
    #[pyo3(signature = (request, approver, reason = ""))]
    fn approve<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        approver: &Bound<'py, PyAny>,
        reason: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let gov = self.live()?;
        let request = request_id(request)?;
        let who = approver_arg(approver)?;
        let r = py.detach(|| shield(|| gov.approve(&request, &who, reason).map_err(core_err)))?;
        request_to_py(py, &r)
    }

    /// Rejects approval request `request` as `approver` (one reject closes it); returns
    /// the request as it stands.
    #[pyo3(signature = (request, approver, reason = ""))]
    fn reject<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        approver: &Bound<'py, PyAny>,
        reason: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let gov = self.live()?;
        let request = request_id(request)?;
        let who = approver_arg(approver)?;
        let r = py.detach(|| shield(|| gov.reject(&request, &who, reason).map_err(core_err)))?;
        request_to_py(py, &r)
    }

    /// Votes on approval request `request` as `approver`: `verdict` "approve" or
    /// "reject", optionally with the approver's own `signature` (a dict from
    /// `sign_vote`), which `key:<id>` approvers require. Returns the request as it stands.
    #[pyo3(signature = (request, approver, verdict, reason = "", *, signature = None))]
    fn vote<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        approver: &Bound<'py, PyAny>,
        verdict: &str,
        reason: &str,
        signature: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let gov = self.live()?;
        let request = request_id(request)?;
        let who = approver_arg(approver)?;
        let choice = choice_arg(verdict)?;
        let sig: Option<VoteSignature> = signature
            .filter(|s| !s.is_none())
            .map(|s| {
                let v = to_json(s, 0).map_err(|e| Error::new_err(e.render("signature")))?;
                serde_json::from_value(v).map_err(|e| {
                    Error::new_err(format!(
                        "signature must be a dict {{\"public_key\": str, \"signature\": str}} (from sign_vote): {e}"
                    ))
                })
            })
            .transpose()?;
        let r = py.detach(|| {
            shield(|| {
                gov.vote(&request, &who, choice, reason, sig.as_ref())
                    .map_err(core_err)
            })
        })?;
        request_to_py(py, &r)
    }

    /// One approval request as it stands now (a dict).
    fn approval<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let gov = self.live()?;
        let request = request_id(request)?;
        let r = py.detach(|| shield(|| gov.approval(&request).map_err(core_err)))?;
        request_to_py(py, &r)
    }

    /// Every approval request in the log, oldest first, as it stands now (dicts).
    fn approvals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let gov = self.live()?;
        let r = py.detach(|| shield(|| gov.approvals().map_err(core_err)))?;
        let list = pyo3::types::PyList::empty(py);
        for req in &r {
            list.append(request_to_py(py, req)?)?;
        }
        Ok(list.into_any())
    }

    /// Every budget account charged so far (dicts with budget, account, spent, limit,
    /// remaining, unit).
    fn budgets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let gov = self.live()?;
        let r = py.detach(|| shield(|| gov.budgets().map_err(core_err)))?;
        to_py(py, &r)
    }

    /// Overrides a deny (break-glass): `who` must be allowed by the deciding rules'
    /// `overridable_by` and give a `reason`. Returns the allowing Decision; run the
    /// action and `record` its outcome as for any allowed decision.
    fn override_deny(
        &self,
        py: Python<'_>,
        decision: &Bound<'_, PyAny>,
        who: &Bound<'_, PyAny>,
        reason: &str,
    ) -> PyResult<PyDecision> {
        let gov = self.live()?;
        let id = request_id(decision)?;
        let who = approver_arg(who)?;
        let g = py.detach(|| shield(|| gov.override_deny(&id, &who, reason).map_err(core_err)))?;
        Ok(PyDecision::governed(g))
    }

    /// Signs a checkpoint of the log's head, writes it to the evidence directory and
    /// returns it as a dict (None for an empty log). Keep a copy elsewhere: it lets
    /// `verify` detect a cut-off tail.
    fn checkpoint<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let gov = self.live()?;
        let c = py.detach(|| shield(|| gov.checkpoint().map_err(core_err)))?;
        c.map(|c| to_py(py, &c)).transpose()
    }

    /// Closes the decisions still open as `unknown`, writes a checkpoint and releases the
    /// governor; later calls raise `EvidenceError`. Idempotent. Also done on `with` exit.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let gov = &self.inner;
        py.detach(|| shield(|| gov.close().map_err(core_err)))
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Governor(evidence={:?}, key_id={:?}{})",
            self.evidence.display().to_string(),
            self.inner.key_id(),
            if self.closed() { ", closed" } else { "" }
        )
    }
}

/// An approval request as a dict, with `approvals` (distinct approvers who approved).
fn request_to_py<'py>(py: Python<'py>, r: &Request) -> PyResult<Bound<'py, PyAny>> {
    let d = to_py(py, r)?;
    if let Ok(dict) = d.cast::<PyDict>() {
        dict.set_item("approvals", r.approvals())?;
    }
    Ok(d)
}

/// A clock that moves only when told to, for tests of expiry and time windows: pass it
/// as `Governor(clock=...)`.
#[pyclass(frozen, module = "lumenflow", name = "ManualClock")]
struct PyManualClock {
    clock: Arc<ManualClock>,
}

#[pymethods]
impl PyManualClock {
    /// A clock showing `start`, an RFC 3339 time (`"2026-11-21T09:00:00Z"`).
    #[new]
    fn new(start: &str) -> PyResult<Self> {
        let t = chrono::DateTime::parse_from_rfc3339(start)
            .map_err(|e| {
                Error::new_err(format!(
                    "ManualClock: {start:?} is not an RFC 3339 time: {e}"
                ))
            })?
            .with_timezone(&chrono::Utc);
        Ok(PyManualClock {
            clock: Arc::new(ManualClock::new(t)),
        })
    }

    /// Moves the clock forward by `seconds` (may be fractional; not negative).
    fn advance(&self, seconds: f64) -> PyResult<()> {
        let d = Duration::try_from_secs_f64(seconds)
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .ok_or_else(|| {
                Error::new_err(format!(
                    "advance: {seconds} is not a finite, non-negative number of seconds"
                ))
            })?;
        self.clock.advance(d);
        Ok(())
    }

    /// The time shown, RFC 3339.
    #[getter]
    fn now(&self) -> String {
        use lumenflow_core::clock::Clock;
        self.clock.now().to_rfc3339()
    }
}

/// A decision or request id: a Decision (its id) or a str.
fn request_id(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(d) = obj.cast::<PyDecision>() {
        return d.get().id.clone().ok_or_else(|| {
            Error::new_err(
                "this Decision was not recorded by a Governor (it came from PolicySet.decide)",
            )
        });
    }
    obj.cast::<PyString>()
        .map_err(|_| {
            Error::new_err(format!(
                "expected a Decision or an id (str), not {}",
                type_name(obj)
            ))
        })?
        .to_cow()
        .map(|c| c.into_owned())
}

/// An approver: an id (str) or a dict `{"id": ..., "roles": [...]}`.
fn approver_arg(obj: &Bound<'_, PyAny>) -> PyResult<Approver> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Approver::new(s.to_cow()?.into_owned()));
    }
    let v = to_json(obj, 0).map_err(|e| Error::new_err(e.render("approver")))?;
    serde_json::from_value(v).map_err(|e| {
        Error::new_err(format!(
            "approver must be an id (str) or a dict {{\"id\": str, \"roles\": [str]}}: {e}"
        ))
    })
}

fn choice_arg(verdict: &str) -> PyResult<Choice> {
    match verdict {
        "approve" => Ok(Choice::Approve),
        "reject" => Ok(Choice::Reject),
        other => Err(Error::new_err(format!(
            "verdict must be \"approve\" or \"reject\", not {other:?}"
        ))),
    }
}

/// Signs a vote with the approver's own private key (`key`, a path), for
/// `Governor.vote(..., signature=)`. `request` is the request dict (from
/// `Governor.approval`) whose `id` and `binding` are signed with `verdict`, `approver`
/// (the approver's id) and `reason`. Returns `{"public_key": ..., "signature": ...}`.
#[pyfunction]
#[pyo3(signature = (key, request, verdict, approver, reason = ""))]
fn sign_vote<'py>(
    py: Python<'py>,
    key: &Bound<'py, PyAny>,
    request: &Bound<'py, PyAny>,
    verdict: &str,
    approver: &str,
    reason: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let key = path_arg(key, "key")?;
    let choice = choice_arg(verdict)?;
    let req = to_json(request, 0).map_err(|e| Error::new_err(e.render("request")))?;
    let field = |name: &str| -> PyResult<String> {
        req.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new_err(format!(
                    "request must be the request dict from Governor.approval (no `{name}`)"
                ))
            })
    };
    let (id, binding) = (field("id")?, field("binding")?);
    let sig = py.detach(|| {
        shield(|| {
            let kp = KeyPair::from_file(&key).map_err(core_err)?;
            Ok(approval::sign(&kp, &id, &binding, choice, approver, reason))
        })
    })?;
    to_py(py, &sig)
}

/// Runs a policy test file (spec/policy-tests.md, as `lumenflow test`) against `policy`
/// (a path, a list of paths or a PolicySet). Returns a dict: `passed`, `failed`,
/// `cases` (name, line, expect, effect, deciding rules, failure or None) and
/// `unexercised` (rules no case matched, as `(policy, rule)`).
#[pyfunction]
fn run_policy_tests<'py>(
    py: Python<'py>,
    policy: &Bound<'py, PyAny>,
    tests: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let set = load_policies(policy)?;
    let path = path_arg(tests, "tests")?;
    let out = py.detach(|| {
        shield(|| {
            let suite = lumenflow_core::testing::TestSuite::from_file(&path).map_err(core_err)?;
            let report = suite.run(&set);
            let cases: Vec<Value> = report
                .results
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "name": r.case.name,
                        "line": r.case.line,
                        "expect": r.case.expect.as_str(),
                        "effect": r.decision.effect.as_str(),
                        "deciding_rules": r.decision.deciding_rules.iter()
                            .map(|x| [x.policy.to_string(), x.rule.to_string()])
                            .collect::<Vec<_>>(),
                        "failure": r.failure,
                    })
                })
                .collect();
            Ok(serde_json::json!({
                "passed": report.passed(),
                "failed": report.failed(),
                "cases": cases,
                "unexercised": report.unexercised.iter()
                    .map(|x| [x.policy.to_string(), x.rule.to_string()])
                    .collect::<Vec<_>>(),
            }))
        })
    })?;
    to_py(py, &out)
}

/// Re-decides every recorded decision of an evidence directory or bundle under `policy`
/// (a path, a list of paths or a PolicySet), writing nothing; returns the report as a
/// dict (decisions, same, changed, entries with recorded and replayed outcomes).
#[pyfunction]
fn replay<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    policy: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let path = path_arg(path, "path")?;
    let set = load_policies(policy)?;
    let r = py
        .detach(|| shield(|| lumenflow_core::replay::replay_path(&path, &set).map_err(core_err)))?;
    to_py(py, &r)
}

/// The result of verifying evidence: integrity (are the records present authentic and
/// unaltered?) and completeness (is the tail missing?), reported separately.
#[pyclass(frozen, module = "lumenflow", name = "VerifyReport")]
struct PyReport {
    report: CoreReport,
}

#[pymethods]
impl PyReport {
    /// 0 valid, 1 tampered, 2 incomplete, 3 unknown key (as `lumenflow verify`).
    #[getter]
    fn exit_code(&self) -> i32 {
        self.report.exit_code()
    }

    /// True if the log is intact, signed by known keys and (where checkable) complete.
    #[getter]
    fn valid(&self) -> bool {
        self.report.exit_code() == 0
    }

    /// `"valid"` or `"broken"`.
    #[getter]
    fn integrity(&self) -> &'static str {
        match self.report.integrity {
            Integrity::Valid => "valid",
            Integrity::Broken(_) => "broken",
        }
    }

    /// The sequence number where the log first stops being trustworthy, or None.
    #[getter]
    fn broken_seq(&self) -> Option<u64> {
        match &self.report.integrity {
            Integrity::Broken(b) => Some(b.seq),
            Integrity::Valid => None,
        }
    }

    /// Why the log is broken (with segment and line), or None.
    #[getter]
    fn broken_reason(&self) -> Option<String> {
        match &self.report.integrity {
            Integrity::Broken(b) => Some(format!("{}:{}: {}", b.segment, b.line, b.reason)),
            Integrity::Valid => None,
        }
    }

    /// `"complete"`, `"incomplete"` or `"unchecked"` (no checkpoint to check against).
    #[getter]
    fn completeness(&self) -> &'static str {
        match self.report.completeness {
            Completeness::Complete { .. } => "complete",
            Completeness::Incomplete { .. } => "incomplete",
            Completeness::Unchecked => "unchecked",
        }
    }

    /// Records read (including broken lines).
    #[getter]
    fn records(&self) -> u64 {
        self.report.records
    }

    /// Key ids that signed records but were not trusted.
    #[getter]
    fn unknown_keys(&self) -> Vec<String> {
        self.report.unknown_keys.clone()
    }

    /// Records per kind.
    #[getter]
    fn kinds(&self) -> std::collections::BTreeMap<String, u64> {
        self.report.kinds.clone()
    }

    /// Which keys and checkpoint were used.
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.report.notes.clone()
    }

    /// The whole report as plain data (as `lumenflow verify --json`), plus `exit_code`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = to_py(py, &self.report)?;
        if let Ok(dict) = d.cast::<PyDict>() {
            dict.set_item("exit_code", self.report.exit_code())?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifyReport(exit_code={}, integrity={:?}, completeness={:?}, records={})",
            self.exit_code(),
            self.integrity(),
            self.completeness(),
            self.report.records
        )
    }
}

/// Trusted keys: each a path to a public key file, or SPKI PEM text.
fn keyring(keys: &Bound<'_, PyAny>) -> PyResult<Keyring> {
    let items: Vec<Bound<'_, PyAny>> = if keys.cast::<PyString>().is_ok() {
        vec![keys.clone()]
    } else {
        keys.extract().map_err(|_| {
            Error::new_err(format!(
                "keys must be a list of paths or PEM strings, not {}",
                type_name(keys)
            ))
        })?
    };
    let mut ring = Keyring::new();
    for k in items {
        if let Ok(s) = k.cast::<PyString>() {
            let s = s.to_cow()?;
            if s.trim_start().starts_with("-----BEGIN") {
                ring.add(parse_public(&s, "keys").map_err(core_err)?);
                continue;
            }
        }
        let p = path_arg(&k, "keys")?;
        ring.add_file(&p).map_err(core_err)?;
    }
    Ok(ring)
}

/// A checkpoint: a dict, JSON text, or the path of a checkpoint file.
fn checkpoint_arg(obj: &Bound<'_, PyAny>) -> PyResult<Checkpoint> {
    let text = if obj.cast::<PyDict>().is_ok() {
        let v = to_json(obj, 0).map_err(|e| Error::new_err(e.render("checkpoint")))?;
        v.to_string()
    } else if let Some(s) = obj
        .cast::<PyString>()
        .ok()
        .filter(|s| s.to_cow().is_ok_and(|t| t.trim_start().starts_with('{')))
    {
        s.to_cow()?.into_owned()
    } else {
        let p = path_arg(obj, "checkpoint (a dict, JSON text or a path)")?;
        std::fs::read_to_string(&p).map_err(|e| {
            EvidenceError::new_err(format!("cannot read checkpoint {}: {e}", p.display()))
        })?
    };
    Checkpoint::parse(&text).map_err(|e| EvidenceError::new_err(format!("checkpoint: {e}")))
}

/// Verifies an evidence directory or an exported bundle, offline.
///
/// `keys`: trusted public keys (paths or PEM text); without them the keys shipped with
/// the log are used, which proves consistency, not who signed. `checkpoint`: one kept
/// elsewhere (dict, JSON text or path); without it the log's own latest is used.
#[pyfunction]
#[pyo3(signature = (path, *, keys = None, checkpoint = None))]
fn verify(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    keys: Option<&Bound<'_, PyAny>>,
    checkpoint: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyReport> {
    let path = path_arg(path, "path")?;
    let ring = keys.map(keyring).transpose()?;
    let cp = checkpoint.map(checkpoint_arg).transpose()?;
    let report = py.detach(|| {
        shield(|| export::verify_path(&path, ring.as_ref(), cp, &|_| {}).map_err(core_err))
    })?;
    Ok(PyReport { report })
}

/// Verifies a bare JSONL log (records only, as written by `export(format="jsonl")`) with
/// the trusted `keys` and, to detect a missing tail, a `checkpoint`.
#[pyfunction]
#[pyo3(signature = (path, *, keys, checkpoint = None))]
fn verify_jsonl(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    keys: &Bound<'_, PyAny>,
    checkpoint: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyReport> {
    let path = path_arg(path, "path")?;
    let ring = keyring(keys)?;
    let cp = checkpoint.map(checkpoint_arg).transpose()?;
    let report = py.detach(|| {
        shield(|| {
            let data = std::fs::read(&path)
                .map_err(|e| EvidenceError::new_err(format!("{}: {e}", path.display())))?;
            let mut lines = Vec::new();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            split_lines(&name, &data, &mut lines);
            let mut v = Verifier::new(&ring);
            if let Some(c) = cp {
                v = v.with_checkpoint(c);
            }
            Ok(verify_lines(&lines, v, &|_| {}))
        })
    })?;
    Ok(PyReport { report })
}

/// Writes `evidence`'s log to `out` as a self-contained "bundle" (verifiable alone),
/// "jsonl" or "csv"; returns the number of records.
#[pyfunction]
#[pyo3(signature = (evidence, out, *, format = "bundle"))]
fn export_log(
    py: Python<'_>,
    evidence: &Bound<'_, PyAny>,
    out: &Bound<'_, PyAny>,
    format: &str,
) -> PyResult<u64> {
    let dir = path_arg(evidence, "evidence")?;
    let out = path_arg(out, "out")?;
    let format = match format {
        "bundle" => export::Format::Bundle,
        "jsonl" => export::Format::Jsonl,
        "csv" => export::Format::Csv,
        other => {
            return Err(Error::new_err(format!(
                "unknown export format {other:?} (\"bundle\", \"jsonl\" or \"csv\")"
            )))
        }
    };
    py.detach(|| shield(|| export::export(&dir, &out, format).map_err(core_err)))
}

/// Generates an Ed25519 signing key, writes it to `path` (mode 0600) and its public key
/// to `path + ".pub"`, and returns the key id. Never overwrites an existing key.
#[pyfunction]
fn generate_key(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<String> {
    let path = path_arg(path, "path")?;
    py.detach(|| {
        shield(|| {
            let kp = KeyPair::generate().map_err(core_err)?;
            kp.write_files(&path).map_err(core_err)?;
            Ok(kp.id().to_owned())
        })
    })
}

/// The RFC 8785 canonical JSON form of a JSON-compatible value (what LumenFlow hashes
/// and signs).
#[pyfunction]
fn canonicalize(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let v = to_json(obj, 0)
        .map_err(|e| Error::new_err(format!("canonicalize: {}", e.render("value"))))?;
    shield(|| canonical::to_string(&v).map_err(|e| Error::new_err(format!("canonicalize: {e}"))))
}

/// The `sha256:` digest LumenFlow records for an output of these bytes (or UTF-8 text).
#[pyfunction]
fn output_digest(data: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(b) = data.cast::<PyBytes>() {
        Ok(canonical::sha256_digest(b.as_bytes()))
    } else if let Ok(s) = data.cast::<PyString>() {
        Ok(canonical::sha256_digest(s.to_cow()?.as_bytes()))
    } else {
        Err(Error::new_err(format!(
            "output_digest: expected bytes or str, not {}",
            type_name(data)
        )))
    }
}

/// The extension module.
#[pymodule]
fn _lumenflow(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("PolicyError", py.get_type::<PolicyError>())?;
    m.add("ActionError", py.get_type::<ActionError>())?;
    m.add("SigningKeyError", py.get_type::<SigningKeyError>())?;
    m.add("EvidenceError", py.get_type::<EvidenceError>())?;
    m.add("ApprovalError", py.get_type::<ApprovalError>())?;
    m.add_class::<PyDecision>()?;
    m.add_class::<PyPolicySet>()?;
    m.add_class::<PyGovernor>()?;
    m.add_class::<PyReport>()?;
    m.add_class::<PyManualClock>()?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(verify_jsonl, m)?)?;
    m.add_function(wrap_pyfunction!(export_log, m)?)?;
    m.add_function(wrap_pyfunction!(generate_key, m)?)?;
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(output_digest, m)?)?;
    m.add_function(wrap_pyfunction!(replay, m)?)?;
    m.add_function(wrap_pyfunction!(sign_vote, m)?)?;
    m.add_function(wrap_pyfunction!(run_policy_tests, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
