//! `lumenflow.connect(socket)`: the Governor API over the socket of `lumenflow serve`.
//!
//! Translation only: every call is one request of `lumenflow_core::remote::Client`
//! (spec/serve.md); the daemon decides, records and signs. Decisions come back as the
//! same `lumenflow.Decision` the in-process Governor returns. Waiting for an approval
//! uses a connection of its own, so other threads keep deciding while one waits.

use super::{
    decide_args, outcome_arg, record_id, shield, to_duration, to_py, ActionError, ApprovalError,
    DaemonError, Decided, Error, PyDecision,
};
use lumenflow_core::remote::{Client, ClientError, Hello};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Maps a client failure to the exception for its kind, keeping the message intact:
/// an invalid action or outcome is `ActionError`, an unknown or foreign request or
/// decision `ApprovalError`, anything else (daemon unreachable, timeout, bad answer,
/// refusal) `DaemonError`. Every one means: do not run.
fn client_err(e: ClientError) -> PyErr {
    let msg = e.to_string();
    match e.code() {
        "invalid" => ActionError::new_err(msg),
        "not_found" | "not_owner" => ApprovalError::new_err(msg),
        _ => DaemonError::new_err(msg),
    }
}

/// Runs `f` on the client without the GIL, shielded from panics.
fn call<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, ClientError> + Send) -> PyResult<T> {
    py.detach(|| shield(|| f().map_err(client_err)))
}

/// A Governor whose decisions are made by the daemon behind a Unix socket.
#[pyclass(frozen, subclass, module = "lumenflow", name = "RemoteGovernor")]
pub struct PyRemoteGovernor {
    socket: PathBuf,
    timeout: Duration,
    session: Option<String>,
    hello: Hello,
    client: Mutex<Option<Client>>,
}

impl PyRemoteGovernor {
    /// The error of a call on a closed connection.
    fn closed_error(&self) -> PyErr {
        DaemonError::new_err(format!(
            "this RemoteGovernor ({}) is closed",
            self.socket.display()
        ))
    }

    /// Runs `f` on the open connection (an error once closed).
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Client) -> Result<T, ClientError> + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            shield(|| {
                let mut guard = self.client.lock().map_err(|_| {
                    DaemonError::new_err("the connection to the daemon was broken by a panic")
                })?;
                match guard.as_mut() {
                    Some(c) => f(c).map_err(client_err),
                    None => Err(self.closed_error()),
                }
            })
        })
    }
}

#[pymethods]
impl PyRemoteGovernor {
    #[new]
    #[pyo3(signature = (socket, *, timeout = 10.0, session = None))]
    fn new(
        py: Python<'_>,
        socket: PathBuf,
        timeout: f64,
        session: Option<String>,
    ) -> PyResult<Self> {
        let timeout = to_duration(timeout, "connect: timeout")?;
        let client = call(py, || {
            Client::connect_session(&socket, timeout, session.as_deref())
        })?;
        Ok(PyRemoteGovernor {
            hello: client.hello().clone(),
            socket,
            timeout,
            session,
            client: Mutex::new(Some(client)),
        })
    }

    /// The socket path.
    #[getter]
    fn socket(&self) -> PathBuf {
        self.socket.clone()
    }

    /// The actor the daemon records this process's actions under (from the kernel's
    /// peer credentials).
    #[getter]
    fn actor(&self) -> &str {
        &self.hello.actor
    }

    /// The daemon's signing key id (verify its evidence with the public key).
    #[getter]
    fn key_id(&self) -> &str {
        &self.hello.key_id
    }

    /// The longest wait for approval the daemon grants, in seconds.
    #[getter]
    fn max_wait(&self) -> f64 {
        self.hello.max_wait_ms as f64 / 1000.0
    }

    #[getter]
    fn closed(&self) -> bool {
        self.client.lock().map(|c| c.is_none()).unwrap_or(true)
    }

    #[pyo3(signature = (action = None, /, **kwargs), text_signature = "($self, action=None, /, *, tool=None, args=None, actor=None, session=None, run=None, metadata=None, cost=None, tokens=None, context=None)")]
    fn decide(
        &self,
        py: Python<'_>,
        action: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyDecision> {
        let (action, context) = decide_args("RemoteGovernor.decide", action, kwargs)?;
        let d = self.with(py, |c| c.decide_with(&action, context.as_ref(), false))?;
        Ok(PyDecision(Decided::Governed(d.into_governed())))
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
        let id = record_id(decision, "record: decision must be a Decision or its id")?;
        let outcome = outcome_arg(status, output, duration, error, cost, tokens)?;
        self.with(py, |c| c.record(&id, outcome).map(|r| r.id()))
    }

    fn approval<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = record_id(request, "request must be a Decision or an id (str)")?;
        let info = self.with(py, |c| c.request(&id))?;
        to_py(py, &info)
    }

    fn approvals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let list = self.with(py, |c| c.approvals())?;
        to_py(py, &list)
    }

    #[pyo3(signature = (request, timeout))]
    fn wait_for_approval<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = record_id(request, "request must be a Decision or an id (str)")?;
        let wait = to_duration(timeout, "wait_for_approval: timeout")?;
        if self.closed() {
            return Err(self.closed_error());
        }
        let (socket, limit, session) = (&self.socket, self.timeout, self.session.as_deref());
        let info = call(py, || {
            let mut c = Client::connect_session(socket, limit, session)?;
            c.wait_for_approval(&id, wait)
        })?;
        to_py(py, &info)
    }

    #[pyo3(signature = (session = None, limit = None))]
    fn log<'py>(
        &self,
        py: Python<'py>,
        session: Option<String>,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let records = self.with(py, |c| c.log(session.as_deref(), limit))?;
        to_py(py, &records)
    }

    fn close(&self) -> PyResult<()> {
        let mut c = self
            .client
            .lock()
            .map_err(|_| Error::new_err("the connection to the daemon was broken by a panic"))?;
        c.take();
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close()?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "RemoteGovernor(socket={:?}, actor={:?}{})",
            self.socket.display().to_string(),
            self.hello.actor,
            if self.closed() { ", closed" } else { "" }
        )
    }
}
