//! `lumenflow._lumenflow`: the Rust half of the Python package `lumenflow`.
//!
//! Only translation lives here: Python objects become the core's `Action`, `Context`,
//! `PolicySet`, `Governor` and `Outcome`, and the core's results and errors become Python
//! objects and exceptions. Every semantic is `lumenflow-core`'s, used through its crate
//! root only. The Python half (`python/lumenflow/__init__.py`) adds the `guard` decorator
//! and the exceptions a guarded call raises; the stubs (`_lumenflow.pyi`) document the API.
//!
//! Calls that do real work release the GIL (`detached`), and every entry point catches
//! panics and raises `lumenflow.Error` instead (`shield`).

use lumenflow_core::{
    canonical_json, export, replay_path, sign_vote as sign, verify_records, Action, Actor,
    Approver, Checkpoint, Choice, Clock, Context, Decision, Error as CoreError,
    EvidenceError as StoreError, ExportFormat, Governed, Governor, GovernorOptions, Integrity,
    KeyPair, Keyring, ManualClock, Outcome, Policy, PolicySet, Report, RuleRef, Status, TestSuite,
    VoteSignature,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use pythonize::pythonize;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod remote;

create_exception!(lumenflow, Error, PyException);
create_exception!(lumenflow, PolicyError, Error);
create_exception!(lumenflow, ActionError, Error);
create_exception!(lumenflow, SigningKeyError, Error);
create_exception!(lumenflow, EvidenceError, Error);
create_exception!(lumenflow, ApprovalError, Error);
create_exception!(lumenflow, DaemonError, Error);

/// Maps a core error to the exception class for its code, keeping the message intact.
fn core_err(e: impl Into<CoreError>) -> PyErr {
    let e: CoreError = e.into();
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

/// Runs the core's work `f` without the GIL, shielded, raising its error as `core_err`.
fn detached<T: Send, E: Into<CoreError>>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, E> + Send,
) -> PyResult<T> {
    py.detach(|| shield(|| f().map_err(core_err)))
}

/// Deepest nesting converted from Python (the core's own limit is lower; this only keeps
/// the conversion from exhausting the stack).
const MAX_DEPTH: usize = 256;

/// Why a Python value is not JSON: the path to the value below the root (`.key[2]`,
/// built only when a conversion fails, so success costs nothing) and the message.
struct NotJson(String, String);

fn not_json(message: impl Into<String>) -> NotJson {
    NotJson(String::new(), message.into())
}

/// The UTF-8 text of a Python str, borrowed from it: without the temporary bytes object
/// that PyO3's limited-API (abi3, Python 3.9) path creates.
fn py_text<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    // `PyUnicode_AsUTF8AndSize` is in the stable ABI from 3.10 and exported, with the
    // same signature, by every CPython 3.x (>= 3.3) shared library and executable.
    extern "C" {
        fn PyUnicode_AsUTF8AndSize(
            o: *mut pyo3::ffi::PyObject,
            size: *mut pyo3::ffi::Py_ssize_t,
        ) -> *const std::os::raw::c_char;
    }
    let mut len: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str (we hold the GIL through `Bound`); the returned UTF-8
    // buffer is cached in and owned by the str object, so it lives as long as `s`.
    unsafe {
        let ptr = PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut len);
        if ptr.is_null() {
            return Err(PyErr::fetch(s.py()));
        }
        let bytes = std::slice::from_raw_parts(ptr.cast::<u8>(), len as usize);
        Ok(std::str::from_utf8_unchecked(bytes))
    }
}

fn py_str(s: &Bound<'_, PyString>) -> PyResult<String> {
    py_text(s).map(str::to_owned)
}

/// Converts Python data to JSON: None, bool, int, float (finite), str, list, tuple and
/// dict with str keys. Anything else is an error naming where it is.
fn to_json(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, NotJson> {
    let text = |s: &Bound<'_, PyString>| py_str(s).map_err(|e| not_json(e.to_string()));
    if let Ok(s) = obj.cast::<PyString>() {
        return text(s).map(Value::String);
    }
    if depth > MAX_DEPTH {
        return Err(not_json(format!(
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
        return obj
            .extract::<i64>()
            .map(Value::from)
            .or_else(|_| obj.extract::<u64>().map(Value::from))
            .map_err(|_| not_json("integer out of the 64-bit range"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| {
                not_json(format!(
                    "{v} is not a JSON number (JSON has no NaN or infinity)"
                ))
            });
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let Ok(key) = k.cast::<PyString>() else {
                return Err(not_json(format!(
                    "keys must be str, not {} ({})",
                    type_name(&k),
                    k.repr().map(|r| r.to_string()).unwrap_or_default()
                )));
            };
            let key = text(key)?;
            match to_json(&v, depth + 1) {
                Ok(v) => m.insert(key, v),
                Err(NotJson(path, m)) => return Err(NotJson(format!(".{key}{path}"), m)),
            };
        }
        return Ok(Value::Object(m));
    }
    let seq = |items: &mut dyn ExactSizeIterator<Item = Bound<'_, PyAny>>| {
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.enumerate() {
            out.push(
                to_json(&v, depth + 1)
                    .map_err(|NotJson(path, m)| NotJson(format!("[{i}]{path}"), m))?,
            );
        }
        Ok(Value::Array(out))
    };
    if let Ok(l) = obj.cast::<PyList>() {
        return seq(&mut l.iter());
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return seq(&mut t.iter());
    }
    Err(not_json(format!(
        "{} is not JSON data (use dict, list, str, int, float, bool or None)",
        type_name(obj)
    )))
}

/// Python data as JSON, or why not (`what.key[2]: message`).
fn json_of(obj: &Bound<'_, PyAny>, what: &str) -> Result<Value, String> {
    to_json(obj, 0).map_err(|NotJson(path, m)| format!("{what}{path}: {m}"))
}

/// Python data as a `T` through JSON; errors are `err("{what}...: why")` when it is not
/// JSON and `err("{expected}: why")` when it is not a `T`.
fn data_arg<T: DeserializeOwned>(
    obj: &Bound<'_, PyAny>,
    what: &str,
    expected: &str,
    err: impl Fn(String) -> PyErr,
) -> PyResult<T> {
    let v = json_of(obj, what).map_err(&err)?;
    serde_json::from_value(v).map_err(|e| err(format!("{expected}: {e}")))
}

fn invalid_action(message: String) -> PyErr {
    ActionError::new_err(format!("invalid action: {message}"))
}

/// Converts a serialisable Rust value to Python objects (dicts, lists, str, ...).
fn to_py<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    pythonize(py, v).map_err(|e| Error::new_err(format!("cannot convert to Python: {e}")))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".into(), |n| n.to_string())
}

/// `lumenflow.Error("{what}, not {type of obj}")`.
fn not_a(what: &str, obj: &Bound<'_, PyAny>) -> PyErr {
    Error::new_err(format!("{what}, not {}", type_name(obj)))
}

/// An optional argument as a `T` (absent and None are None), else `not_a(what)`.
fn opt<'py, T: FromPyObjectOwned<'py>>(
    obj: Option<&Bound<'py, PyAny>>,
    what: &str,
) -> PyResult<Option<T>> {
    obj.filter(|o| !o.is_none())
        .map(|o| o.extract().map_err(|_| not_a(what, o)))
        .transpose()
}

/// A path from `str` or `os.PathLike`.
fn path_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<PathBuf> {
    obj.extract()
        .map_err(|_| not_a(&format!("{what} must be a path (str or os.PathLike)"), obj))
}

/// A number of seconds as a duration.
fn to_duration(secs: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        Error::new_err(format!(
            "{what}: {secs} is not a finite, non-negative number of seconds"
        ))
    })
}

/// Bytes, or a str as its UTF-8 bytes.
fn bytes_arg<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        Ok(Cow::Borrowed(b.as_bytes()))
    } else if let Ok(s) = obj.cast::<PyString>() {
        Ok(Cow::Owned(py_str(s)?.into_bytes()))
    } else {
        Err(not_a(&format!("{what} must be bytes or str"), obj))
    }
}

/// The fields of an action, as given in an action dict or as `decide`'s keywords.
const FIELDS: [&str; 8] = [
    "tool", "args", "actor", "session", "run", "metadata", "cost", "tokens",
];
type Fields<'py> = [Option<Bound<'py, PyAny>>; 8];

fn slot<'a, 'py>(f: &'a mut Fields<'py>, name: &str) -> Option<&'a mut Option<Bound<'py, PyAny>>> {
    FIELDS.iter().position(|n| *n == name).map(|i| &mut f[i])
}

/// The action and context of a `decide(action=None, /, **kwargs)` call: the action as a
/// dict or as keyword arguments (a None argument is absent), never both; `context=`
/// with either.
fn decide_args(
    method: &str,
    action: Option<&Bound<'_, PyAny>>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<(Action, Option<Context>)> {
    let mut fields = Fields::default();
    let (mut given, mut context) = (false, None);
    for (k, v) in kwargs.into_iter().flat_map(|d| d.iter()) {
        let name = py_text(k.cast::<PyString>()?)?;
        let slot = match (name, slot(&mut fields, name)) {
            ("context", _) => &mut context,
            (_, Some(slot)) => {
                given |= !v.is_none();
                slot
            }
            (_, None) => {
                return Err(PyTypeError::new_err(format!(
                    "{method}() got an unexpected keyword argument '{name}'"
                )))
            }
        };
        *slot = Some(v).filter(|v| !v.is_none());
    }
    let action = match action {
        Some(_) if given => Err(invalid_action(
            "give it either as a dict or as keyword arguments (tool=, args=, ...), not both".into(),
        )),
        Some(a) => action_from_dict(a),
        None => action_from_fields(fields),
    }?;
    Ok((action, context.as_ref().map(context_arg).transpose()?))
}

fn action_from_dict(a: &Bound<'_, PyAny>) -> PyResult<Action> {
    let dict = a
        .cast::<PyDict>()
        .map_err(|_| invalid_action(format!("must be a dict, not {}", type_name(a))))?;
    // Fast path: a dict of the action's own fields with a str tool reads like keyword
    // arguments; anything else goes through the core's parser (and its messages).
    let mut fields = Fields::default();
    let simple = dict.iter().all(|(k, v)| {
        let Some(name) = k.cast::<PyString>().ok().and_then(|k| py_text(k).ok()) else {
            return false;
        };
        let ok = name != "tool" || v.cast::<PyString>().is_ok();
        match slot(&mut fields, name) {
            Some(slot) if ok => *slot = Some(v),
            _ => return false,
        }
        true
    });
    if simple && fields[0].is_some() {
        return action_from_fields(fields);
    }
    Action::from_value(json_of(a, "action").map_err(invalid_action)?).map_err(core_err)
}

fn action_from_fields(fields: Fields<'_>) -> PyResult<Action> {
    let [tool, args, actor, session, run, metadata, cost, tokens] = &fields;
    if tool.is_none() {
        let msg = "missing `tool` (pass tool=\"...\" or an action dict)";
        return Err(invalid_action(msg.into()));
    }
    let args = match args {
        Some(a) if !a.is_none() => match json_of(a, "args").map_err(invalid_action)? {
            Value::Object(m) => m,
            _ => {
                let msg = format!("args must be a dict, not {}", type_name(a));
                return Err(invalid_action(msg));
            }
        },
        _ => Map::new(),
    };
    let actor = match actor {
        // A bare id is an agent with no roles, as the core reads `"actor": "id"`.
        Some(a) if a.cast::<PyString>().is_ok() => Actor::agent(text_field(actor, "actor")?),
        a => field(a, "actor")?.unwrap_or_default(),
    };
    Ok(Action {
        tool: text_field(tool, "tool")?,
        args,
        actor,
        metadata: field(metadata, "metadata")?.unwrap_or_default(),
        cost: field(cost, "cost")?.flatten(),
        tokens: field(tokens, "tokens")?.flatten(),
        session: text_field(session, "session")?,
        run: text_field(run, "run")?,
    })
}

/// A data field of an action, if given.
fn field<T: DeserializeOwned>(obj: &Option<Bound<'_, PyAny>>, what: &str) -> PyResult<Option<T>> {
    let data = |o| data_arg(o, what, what, invalid_action);
    obj.as_ref().map(data).transpose()
}

/// A text field of an action: absent is empty.
fn text_field(obj: &Option<Bound<'_, PyAny>>, what: &str) -> PyResult<String> {
    match obj.as_ref().map(|o| o.cast::<PyString>().map_err(|_| o)) {
        None => Ok(String::new()),
        Some(Ok(s)) => py_str(s),
        Some(Err(o)) => Err(invalid_action(format!(
            "{what} must be a str, not {}",
            type_name(o)
        ))),
    }
}

fn context_arg(obj: &Bound<'_, PyAny>) -> PyResult<Context> {
    let v = json_of(obj, "context")
        .map_err(|m| ActionError::new_err(format!("invalid context: {m}")))?;
    Context::from_value(v).map_err(core_err)
}

/// The serde name of a unit enum variant (`budget_exceeded`, ...): new ones need no change.
fn serde_name<T: serde::Serialize + std::fmt::Debug>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => format!("{v:?}"),
    }
}

fn rule_pairs(rules: &[RuleRef]) -> Vec<(String, String)> {
    let pair = |r: &RuleRef| (r.policy.to_string(), r.rule.to_string());
    rules.iter().map(pair).collect()
}

enum Decided {
    /// From `PolicySet.decide`: not recorded.
    Pure(Decision),
    /// From a Governor: recorded, with its id, hash and verdict.
    Governed(Governed),
}

#[pyclass(frozen, module = "lumenflow", name = "Decision")]
struct PyDecision(Decided);

impl PyDecision {
    fn decision(&self) -> &Decision {
        match &self.0 {
            Decided::Pure(d) => d,
            Decided::Governed(g) => &g.decision,
        }
    }

    fn governed(&self) -> Option<&Governed> {
        match &self.0 {
            Decided::Pure(_) => None,
            Decided::Governed(g) => Some(g),
        }
    }
}

#[pymethods]
impl PyDecision {
    #[getter]
    fn effect(&self) -> &'static str {
        self.decision().effect.as_str()
    }

    #[getter]
    fn allowed(&self) -> bool {
        self.decision().allowed()
    }

    #[getter]
    fn decided_by(&self) -> String {
        serde_name(&self.decision().decided_by)
    }

    #[getter]
    fn deciding_rules(&self) -> Vec<(String, String)> {
        rule_pairs(&self.decision().deciding_rules)
    }

    #[getter]
    fn matched<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision().matched)
    }

    #[getter]
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision().errors)
    }

    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision().warnings)
    }

    #[getter]
    fn policies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision().policies)
    }

    #[getter]
    fn approvers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision().approvers)
    }

    #[getter]
    fn reason(&self) -> &str {
        &self.decision().reason
    }

    #[getter]
    fn eval_ns(&self) -> u64 {
        self.decision().eval_ns
    }

    #[getter]
    fn verdict(&self) -> Option<String> {
        self.governed().map(|g| serde_name(&g.verdict()))
    }

    #[getter]
    fn request_id(&self) -> Option<&str> {
        self.governed().and_then(Governed::request)
    }

    #[getter]
    fn approval<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision().approval)
    }

    #[getter]
    fn budgets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.decision().budgets)
    }

    #[getter]
    fn id(&self) -> Option<&str> {
        self.governed().map(|g| g.id.as_str())
    }

    #[getter]
    fn hash(&self) -> Option<&str> {
        self.governed().map(|g| g.hash.as_str())
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.0 {
            Decided::Pure(d) => to_py(py, d),
            Decided::Governed(g) => to_py(py, &g.view()),
        }
    }

    fn __repr__(&self) -> String {
        let d = self.decision();
        format!(
            "Decision(effect={:?}, decided_by={:?}, reason={:?}, id={:?})",
            d.effect.as_str(),
            self.decided_by(),
            d.reason,
            self.id()
        )
    }
}

/// A policy argument: a path, a list of paths (layers) or a PolicySet.
fn load_policies(policy: &Bound<'_, PyAny>) -> PyResult<PolicySet> {
    if let Ok(set) = policy.cast::<PyPolicySet>() {
        return Ok(set.get().inner.clone());
    }
    match policy.extract::<Vec<Bound<'_, PyAny>>>() {
        Ok(paths) => policies_from_files(&paths),
        Err(_) => policies_from_files(std::slice::from_ref(policy)),
    }
}

fn policies_from_files(paths: &[Bound<'_, PyAny>]) -> PyResult<PolicySet> {
    let paths = paths
        .iter()
        .map(|p| path_arg(p, "policy (a path, a list of paths or a PolicySet)"))
        .collect::<PyResult<Vec<_>>>()?;
    shield(|| {
        let layers = paths
            .iter()
            .map(Policy::from_file)
            .collect::<Result<_, _>>();
        Ok(PolicySet::new(layers.map_err(core_err)?))
    })
}

#[pyclass(frozen, module = "lumenflow", name = "PolicySet")]
struct PyPolicySet {
    inner: PolicySet,
    context: Context,
}

#[pymethods]
impl PyPolicySet {
    #[new]
    #[pyo3(signature = (*paths, context = None))]
    fn new(paths: Vec<Bound<'_, PyAny>>, context: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Ok(PyPolicySet {
            inner: policies_from_files(&paths)?,
            context: context.map(context_arg).transpose()?.unwrap_or_default(),
        })
    }

    #[staticmethod]
    #[pyo3(signature = (*texts, origin = "<string>", context = None))]
    fn from_yaml(
        texts: Vec<Bound<'_, PyAny>>,
        origin: &str,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let context = context.map(context_arg).transpose()?.unwrap_or_default();
        let layers = texts.iter().enumerate().map(|(i, t)| {
            let text: String = t.extract().map_err(|_| {
                let msg = format!("{origin}: policy text must be a str, not {}", type_name(t));
                PolicyError::new_err(msg)
            })?;
            let name = match texts.len() {
                1 => origin.to_owned(),
                _ => format!("{origin}[{i}]"),
            };
            shield(|| Policy::from_yaml(&text, &name).map_err(core_err))
        });
        Ok(PyPolicySet {
            inner: PolicySet::new(layers.collect::<PyResult<_>>()?),
            context,
        })
    }

    #[getter]
    fn policies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let layer =
            |p: &Arc<Policy>| json!({"name": p.name(), "origin": p.origin(), "digest": p.digest()});
        let layers: Vec<Value> = self.inner.policies().iter().map(layer).collect();
        to_py(py, &layers)
    }

    // The keywords are read by `decide_args`; the text signature shows them.
    #[pyo3(signature = (action = None, /, **kwargs), text_signature = "($self, action=None, /, *, tool=None, args=None, actor=None, session=None, run=None, metadata=None, cost=None, tokens=None, context=None)")]
    fn decide(
        &self,
        py: Python<'_>,
        action: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyDecision> {
        let (action, context) = decide_args("PolicySet.decide", action, kwargs)?;
        let context = context.as_ref().unwrap_or(&self.context);
        let d = py.detach(|| shield(|| Ok(self.inner.decide(&action, context))))?;
        Ok(PyDecision(Decided::Pure(d)))
    }

    fn __repr__(&self) -> String {
        let names: Vec<&str> = self.inner.policies().iter().map(|p| p.name()).collect();
        format!("PolicySet({names:?})")
    }
}

/// A Governor's decision or request id: a recorded Decision (its id) or a str.
fn record_id(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if let Ok(d) = obj.cast::<PyDecision>() {
        let id = d.get().governed().map(|g| g.id.clone());
        return id.ok_or_else(|| {
            Error::new_err(
                "this Decision was not recorded by a Governor (it came from PolicySet.decide)",
            )
        });
    }
    obj.extract().map_err(|_| not_a(what, obj))
}

/// An approver: an id (str) or a dict `{"id": ..., "roles": [...]}`.
fn approver_arg(obj: &Bound<'_, PyAny>) -> PyResult<Approver> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Approver::new(py_str(s)?));
    }
    let expected = "approver must be an id (str) or a dict {\"id\": str, \"roles\": [str]}";
    data_arg(obj, "approver", expected, Error::new_err)
}

/// The `Outcome` of `record(decision, status, *, output, duration, error, cost, tokens)`,
/// as the in-process and the remote Governor take it.
fn outcome_arg(
    status: Option<&Bound<'_, PyAny>>,
    output: Option<&Bound<'_, PyAny>>,
    duration: Option<&Bound<'_, PyAny>>,
    error: Option<&Bound<'_, PyAny>>,
    cost: Option<&Bound<'_, PyAny>>,
    tokens: Option<&Bound<'_, PyAny>>,
) -> PyResult<Outcome> {
    let status = match opt::<String>(status, "record: status must be a str")? {
        None => Status::Success,
        Some(s) => s
            .parse()
            .map_err(|e: String| Error::new_err(format!("record: {e}")))?,
    };
    let mut outcome = Outcome::new(status);
    if let Some(o) = output.filter(|o| !o.is_none()) {
        outcome = outcome.with_output(&bytes_arg(o, "record: output")?);
    }
    if let Some(secs) = opt::<f64>(duration, "record: duration must be a number of seconds")? {
        outcome = outcome.with_duration(to_duration(secs, "record: duration")?);
    }
    outcome.error = opt(error, "record: error must be a str")?;
    outcome.cost = opt(cost, "record: cost must be a number")?;
    outcome.tokens = opt(tokens, "record: tokens must be an int")?;
    Ok(outcome)
}

#[pyclass(frozen, subclass, module = "lumenflow", name = "Governor")]
struct PyGovernor {
    inner: Governor,
    evidence: PathBuf,
    closed: AtomicBool,
}

impl PyGovernor {
    fn live(&self) -> PyResult<&Governor> {
        if self.closed.load(Ordering::Acquire) {
            let msg = format!("this Governor ({}) is closed", self.evidence.display());
            return Err(EvidenceError::new_err(msg));
        }
        Ok(&self.inner)
    }
}

#[pymethods]
impl PyGovernor {
    #[new]
    #[pyo3(signature = (*, policy, evidence, key, context = None, durability = None, redact = None, host_approves = false, clock = None, trusted_keys = None, registry = None))]
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
        trusted_keys: Option<&Bound<'_, PyAny>>,
        registry: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let policies = load_policies(policy)?;
        let dir = path_arg(evidence, "evidence")?;
        let key = path_arg(key, "key")?;
        let mut options = GovernorOptions {
            host_approves,
            ..GovernorOptions::default()
        };
        if let Some(c) = context {
            options.context = context_arg(c)?;
        }
        if let Some(d) = opt::<String>(durability, "durability must be a str")? {
            options.durability = d.parse().map_err(Error::new_err)?;
        }
        options.redactor.fields = redact.unwrap_or_default();
        if let Some(c) = clock {
            let c = c
                .cast::<PyManualClock>()
                .map_err(|_| not_a("clock must be a lumenflow.ManualClock", c))?;
            options.clock = c.get().clock.clone();
        }
        options.trusted_keys = trusted_keys.map(keyring).transpose()?;
        let registry = registry.map(|r| path_arg(r, "registry")).transpose()?;
        let inner = detached(py, || -> Result<_, CoreError> {
            if let Some(r) = &registry {
                options.registry = Some(Arc::new(lumenflow_core::Registry::load(r)?));
            }
            let key = KeyPair::from_file(&key)?;
            Ok(Governor::open(&dir, policies, key, options)?)
        })?;
        Ok(PyGovernor {
            inner,
            evidence: dir,
            closed: AtomicBool::new(false),
        })
    }

    #[getter]
    fn evidence(&self) -> PathBuf {
        self.evidence.clone()
    }

    #[getter]
    fn key_id(&self) -> &str {
        self.inner.key_id()
    }

    #[getter]
    fn policy(&self) -> PyPolicySet {
        PyPolicySet {
            inner: (*self.inner.policies()).clone(),
            context: Context::new(),
        }
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    // The keywords are read by `decide_args`; the text signature shows them.
    #[pyo3(signature = (action = None, /, **kwargs), text_signature = "($self, action=None, /, *, tool=None, args=None, actor=None, session=None, run=None, metadata=None, cost=None, tokens=None, context=None)")]
    fn decide(
        &self,
        py: Python<'_>,
        action: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyDecision> {
        let gov = self.live()?;
        let (action, context) = decide_args("Governor.decide", action, kwargs)?;
        let g = detached(py, || match &context {
            Some(c) => gov.decide_in(&action, c),
            None => gov.decide(&action),
        })?;
        Ok(PyDecision(Decided::Governed(g)))
    }

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
        let id = record_id(decision, "record: decision must be a Decision or its id")?;
        let outcome = outcome_arg(status, output, duration, error, cost, tokens)?;
        detached(py, || gov.record(&id, outcome).map(|r| r.id()))
    }

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
        let request = record_id(request, "request must be a Decision or an id (str)")?;
        let who = approver_arg(approver)?;
        let choice: Choice = verdict.parse().map_err(Error::new_err)?;
        let expected =
            "signature must be a dict {\"public_key\": str, \"signature\": str} (from sign_vote)";
        let sig: Option<VoteSignature> = signature
            .map(|s| data_arg(s, "signature", expected, Error::new_err))
            .transpose()?;
        let r = detached(py, || {
            gov.vote(&request, &who, choice, reason, sig.as_ref())
        })?;
        to_py(py, &r.view())
    }

    #[pyo3(signature = (request, approver, verdict, reason = "", *, method))]
    fn attest<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        approver: &str,
        verdict: &str,
        reason: &str,
        method: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let gov = self.live()?;
        let request = record_id(request, "request must be a Decision or an id (str)")?;
        let choice: Choice = verdict.parse().map_err(Error::new_err)?;
        let r = detached(py, || {
            gov.attest(&request, approver, choice, reason, method)
        })?;
        to_py(py, &r.view())
    }

    fn rejected_records(&self) -> PyResult<Vec<String>> {
        Ok(self.live()?.rejected_records())
    }

    fn approval<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let gov = self.live()?;
        let request = record_id(request, "request must be a Decision or an id (str)")?;
        let r = detached(py, || gov.approval(&request))?;
        to_py(py, &r.view())
    }

    fn approvals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let gov = self.live()?;
        let all = detached(py, || gov.approvals())?;
        to_py(py, &all.iter().map(|r| r.view()).collect::<Vec<_>>())
    }

    fn budgets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let gov = self.live()?;
        to_py(py, &detached(py, || gov.budgets())?)
    }

    fn override_deny(
        &self,
        py: Python<'_>,
        decision: &Bound<'_, PyAny>,
        who: &Bound<'_, PyAny>,
        reason: &str,
    ) -> PyResult<PyDecision> {
        let gov = self.live()?;
        let id = record_id(decision, "decision must be a Decision or its id (str)")?;
        let who = approver_arg(who)?;
        let g = detached(py, || gov.override_deny(&id, &who, reason))?;
        Ok(PyDecision(Decided::Governed(g)))
    }

    fn checkpoint<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let gov = self.live()?;
        let c = detached(py, || gov.checkpoint())?;
        c.map(|c| to_py(py, &c)).transpose()
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        detached(py, || self.inner.close())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
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

#[pyclass(frozen, module = "lumenflow", name = "ManualClock")]
struct PyManualClock {
    clock: Arc<ManualClock>,
}

#[pymethods]
impl PyManualClock {
    #[new]
    fn new(start: &str) -> PyResult<Self> {
        let t = chrono::DateTime::parse_from_rfc3339(start).map_err(|e| {
            Error::new_err(format!(
                "ManualClock: {start:?} is not an RFC 3339 time: {e}"
            ))
        })?;
        let clock = Arc::new(ManualClock::new(t.with_timezone(&chrono::Utc)));
        Ok(PyManualClock { clock })
    }

    fn advance(&self, seconds: f64) -> PyResult<()> {
        let d = chrono::Duration::from_std(to_duration(seconds, "advance")?)
            .map_err(|e| Error::new_err(format!("advance: {e}")))?;
        self.clock.advance(d);
        Ok(())
    }

    #[getter]
    fn now(&self) -> String {
        self.clock.now().to_rfc3339()
    }
}

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
    #[derive(serde::Deserialize)]
    struct Signed {
        id: String,
        binding: String,
    }
    let key = path_arg(key, "key")?;
    let choice: Choice = verdict.parse().map_err(Error::new_err)?;
    let expected = "request must be the request dict from Governor.approval";
    let req: Signed = data_arg(request, "request", expected, Error::new_err)?;
    let sig = detached(py, || -> Result<_, CoreError> {
        let kp = KeyPair::from_file(&key)?;
        Ok(sign(&kp, &req.id, &req.binding, choice, approver, reason))
    })?;
    to_py(py, &sig)
}

#[pyfunction]
fn run_policy_tests<'py>(
    py: Python<'py>,
    policy: &Bound<'py, PyAny>,
    tests: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let set = load_policies(policy)?;
    let path = path_arg(tests, "tests")?;
    let report = detached(py, || TestSuite::from_file(&path).map(|s| s.run(&set)))?;
    let cases = report.results.iter().map(|r| {
        json!({
            "name": r.case.name,
            "line": r.case.line,
            "expect": r.case.expect.as_str(),
            "effect": r.decision.effect.as_str(),
            "deciding_rules": rule_pairs(&r.decision.deciding_rules),
            "failure": r.failure,
        })
    });
    let out = json!({
        "passed": report.passed(),
        "failed": report.failed(),
        "cases": cases.collect::<Vec<_>>(),
        "unexercised": rule_pairs(&report.unexercised),
    });
    to_py(py, &out)
}

#[pyfunction]
fn replay<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    policy: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let path = path_arg(path, "path")?;
    let set = load_policies(policy)?;
    to_py(py, &detached(py, || replay_path(&path, &set))?)
}

/// A verify report, its fields read once for Python.
#[pyclass(frozen, module = "lumenflow", name = "VerifyReport")]
struct PyReport {
    #[pyo3(get)]
    exit_code: i32,
    #[pyo3(get)]
    valid: bool,
    #[pyo3(get)]
    integrity: &'static str,
    #[pyo3(get)]
    broken_seq: Option<u64>,
    #[pyo3(get)]
    broken_reason: Option<String>,
    #[pyo3(get)]
    completeness: &'static str,
    #[pyo3(get)]
    records: u64,
    #[pyo3(get)]
    unknown_keys: Vec<String>,
    #[pyo3(get)]
    kinds: std::collections::BTreeMap<String, u64>,
    #[pyo3(get)]
    notes: Vec<String>,
    #[pyo3(get)]
    uncounted: Vec<String>,
    report: Report,
}

impl From<Report> for PyReport {
    fn from(report: Report) -> PyReport {
        let broken = match &report.integrity {
            Integrity::Broken(b) => Some(b),
            Integrity::Valid => None,
        };
        PyReport {
            exit_code: report.exit_code(),
            valid: report.exit_code() == 0,
            integrity: report.integrity.as_str(),
            broken_seq: broken.map(|b| b.seq),
            broken_reason: broken.map(|b| b.to_string()),
            completeness: report.completeness.as_str(),
            records: report.records,
            unknown_keys: report.unknown_keys.clone(),
            kinds: report.kinds.clone(),
            notes: report.notes.clone(),
            uncounted: report.uncounted.clone(),
            report,
        }
    }
}

#[pymethods]
impl PyReport {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.view())
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifyReport(exit_code={}, integrity={:?}, completeness={:?}, records={})",
            self.exit_code, self.integrity, self.completeness, self.records
        )
    }
}

/// Trusted keys: paths of public key files or SPKI PEM text, one or a list.
fn keyring(keys: &Bound<'_, PyAny>) -> PyResult<Keyring> {
    let items = keys
        .extract::<Vec<Bound<'_, PyAny>>>()
        .unwrap_or_else(|_| vec![keys.clone()]);
    let mut texts = Vec::with_capacity(items.len());
    for k in &items {
        match k.extract::<String>() {
            Ok(s) => texts.push(s),
            Err(_) => {
                let p = path_arg(k, "keys")?;
                let s = p.to_str().ok_or_else(|| {
                    Error::new_err(format!("keys: {} is not a UTF-8 path", p.display()))
                })?;
                texts.push(s.to_owned());
            }
        }
    }
    Keyring::from_pems_or_paths(&texts, "keys").map_err(core_err)
}

/// A checkpoint: a dict, JSON text, or the path of a checkpoint file.
fn checkpoint_arg(obj: &Bound<'_, PyAny>) -> PyResult<Checkpoint> {
    let text = match obj.extract::<String>() {
        _ if obj.cast::<PyDict>().is_ok() => json_of(obj, "checkpoint")
            .map_err(Error::new_err)?
            .to_string(),
        Ok(s) if s.trim_start().starts_with('{') => s,
        _ => {
            let p = path_arg(obj, "checkpoint (a dict, JSON text or a path)")?;
            std::fs::read_to_string(&p).map_err(|e| {
                EvidenceError::new_err(format!("cannot read checkpoint {}: {e}", p.display()))
            })?
        }
    };
    Checkpoint::parse(&text).map_err(|e| EvidenceError::new_err(format!("checkpoint: {e}")))
}

#[pyfunction]
#[pyo3(signature = (path, *, keys = None, checkpoint = None, registry = None))]
fn verify(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    keys: Option<&Bound<'_, PyAny>>,
    checkpoint: Option<&Bound<'_, PyAny>>,
    registry: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyReport> {
    let path = path_arg(path, "path")?;
    let ring = keys.map(keyring).transpose()?;
    let cp = checkpoint.map(checkpoint_arg).transpose()?;
    let registry = registry.map(|r| path_arg(r, "registry")).transpose()?;
    detached(py, || -> Result<Report, CoreError> {
        let reg = registry
            .map(|r| lumenflow_core::Registry::load(r).map(Arc::new))
            .transpose()?;
        Ok(lumenflow_core::verify_path_with(
            &path,
            ring.as_ref(),
            cp,
            reg.as_ref(),
            &|_| {},
        )?)
    })
    .map(PyReport::from)
}

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
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    detached(py, || -> Result<_, CoreError> {
        let data = std::fs::read(&path).map_err(|source| StoreError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(verify_records(&name, &data, &ring, cp))
    })
    .map(PyReport::from)
}

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
        "bundle" => ExportFormat::Bundle,
        "jsonl" => ExportFormat::Jsonl,
        "csv" => ExportFormat::Csv,
        other => {
            return Err(Error::new_err(format!(
                "unknown export format {other:?} (\"bundle\", \"jsonl\" or \"csv\")"
            )))
        }
    };
    detached(py, || export(&dir, &out, format))
}

#[pyfunction]
fn generate_key(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<String> {
    let path = path_arg(path, "path")?;
    detached(py, || {
        let kp = KeyPair::generate()?;
        kp.write_files(&path).map(|()| kp.id().to_owned())
    })
}

#[pyfunction]
fn canonicalize(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let err = |m: String| Error::new_err(format!("canonicalize: {m}"));
    let v = json_of(obj, "value").map_err(err)?;
    shield(|| canonical_json(&v).map_err(|e| err(e.to_string())))
}

#[pyfunction]
fn output_digest(data: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(lumenflow_core::sha256_digest(&bytes_arg(
        data,
        "output_digest: data",
    )?))
}

#[pyfunction]
fn verify_signature(
    public_key: &str,
    message: &Bound<'_, PyAny>,
    signature: &str,
) -> PyResult<bool> {
    let message = bytes_arg(message, "verify_signature: message")?;
    Ok(lumenflow_core::verify_signature(
        public_key, &message, signature,
    ))
}

#[pymodule]
mod _lumenflow {
    #[pymodule_export]
    use super::remote::PyRemoteGovernor;
    #[pymodule_export]
    use super::{
        canonicalize, export_log, generate_key, output_digest, replay, run_policy_tests, sign_vote,
        verify, verify_jsonl, verify_signature, ActionError, ApprovalError, DaemonError, Error,
        EvidenceError, PolicyError, PyDecision, PyGovernor, PyManualClock, PyPolicySet, PyReport,
        SigningKeyError,
    };

    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");
}
