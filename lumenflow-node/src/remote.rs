//! `connect(socket)`: the Governor API over the socket of `lumenflow serve`.
//!
//! Translation only: each method is one request of `lumenflow_core::remote::Client`
//! (spec/serve.md); the daemon decides, records and signs. Answers are the same JSON the
//! in-process `NativeGovernor` gives. Waiting for an approval uses a connection of its
//! own (on the libuv pool for the async form), so other calls go on meanwhile.

use super::{background, from_json, guard, outcome_of, to_json, Background, Failure};
use lumenflow_core::remote::{Client, ClientError, Hello};
use lumenflow_core::{Action, Context};
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi_derive::napi;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// A client failure as a Failure: an invalid action or outcome is `LUMENFLOW_ACTION`, an
/// unknown or foreign request `LUMENFLOW_APPROVAL`, anything else (daemon unreachable,
/// timeout, bad answer, refusal) `LUMENFLOW_DAEMON`. Each means: do not run.
fn daemon(e: ClientError) -> Failure {
    let code = match e.code() {
        "invalid" => "LUMENFLOW_ACTION",
        "not_found" | "not_owner" => "LUMENFLOW_APPROVAL",
        _ => "LUMENFLOW_DAEMON",
    };
    Failure {
        code,
        message: e.to_string(),
        diagnostics: None,
    }
}

/// Milliseconds from JavaScript as a duration (finite, non-negative).
fn millis(ms: f64, what: &str) -> Result<Duration, Failure> {
    Ok(Duration::from_secs_f64(
        super::non_negative(ms, what)? / 1000.0,
    ))
}

/// A connection to the daemon's agent socket.
#[napi]
pub struct NativeRemote {
    socket: PathBuf,
    timeout: Duration,
    session: Option<String>,
    hello: Hello,
    client: Mutex<Option<Client>>,
}

impl NativeRemote {
    /// The error of a call on a closed connection.
    fn closed_error(&self) -> Failure {
        Failure {
            code: "LUMENFLOW_DAEMON",
            message: format!("this RemoteGovernor ({}) is closed", self.socket.display()),
            diagnostics: None,
        }
    }

    fn slot(&self) -> MutexGuard<'_, Option<Client>> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the open connection.
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T, Failure>) -> napi::Result<T> {
        guard(|| match self.slot().as_mut() {
            Some(c) => f(c),
            None => Err(self.closed_error()),
        })
    }

    /// What a wait needs, checked on the calling thread.
    fn wait_args(&self) -> Result<(PathBuf, Duration, Option<String>), Failure> {
        if self.slot().is_none() {
            return Err(self.closed_error());
        }
        Ok((self.socket.clone(), self.timeout, self.session.clone()))
    }
}

/// Waits on a connection of its own (so the main one stays free).
fn wait(
    socket: &PathBuf,
    timeout: Duration,
    session: Option<&str>,
    request: &str,
    wait: Duration,
) -> Result<String, Failure> {
    let mut c = Client::connect_session(socket, timeout, session).map_err(daemon)?;
    to_json(&c.wait_for_approval(request, wait).map_err(daemon)?)
}

#[napi]
impl NativeRemote {
    /// Connects to the socket and shakes hands; `timeoutMs` bounds each call.
    #[napi(factory)]
    pub fn connect(
        socket: String,
        timeout_ms: f64,
        session: Option<String>,
    ) -> napi::Result<NativeRemote> {
        guard(|| {
            let timeout = millis(timeout_ms, "timeoutMs")?;
            let socket = PathBuf::from(socket);
            let client =
                Client::connect_session(&socket, timeout, session.as_deref()).map_err(daemon)?;
            Ok(NativeRemote {
                hello: client.hello().clone(),
                socket,
                timeout,
                session,
                client: Mutex::new(Some(client)),
            })
        })
    }

    /// The handshake as JSON text: `{protocol, actor, uid, pid, max_wait_ms, ...}`.
    #[napi(getter)]
    pub fn hello(&self) -> napi::Result<String> {
        guard(|| to_json(&self.hello))
    }

    /// Whether `close` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.slot().is_none()
    }

    /// Has the daemon decide and record an action (JSON text); the same JSON as
    /// `NativeGovernor.decide`.
    #[napi]
    pub fn decide(&self, action: String, context: Option<String>) -> napi::Result<String> {
        self.with(|c| {
            let action = Action::from_json(&action)?;
            let context = match context {
                Some(t) => Some(Context::from_value(from_json(&t, "context")?)?),
                None => None,
            };
            to_json(
                &c.decide_with(&action, context.as_ref(), false)
                    .map_err(daemon)?
                    .into_governed()
                    .view(),
            )
        })
    }

    /// Records the outcome of one of this peer's decisions, as `NativeGovernor.record`.
    #[napi]
    pub fn record(
        &self,
        id: String,
        outcome: String,
        output: Option<Buffer>,
    ) -> napi::Result<String> {
        self.with(|c| {
            let outcome = outcome_of(&outcome, output.as_deref())?;
            Ok(c.record(&id, outcome).map_err(daemon)?.id())
        })
    }

    /// One of this peer's approval requests (JSON text).
    #[napi]
    pub fn approval(&self, request: String) -> napi::Result<String> {
        self.with(|c| to_json(&c.request(&request).map_err(daemon)?))
    }

    /// This peer's approval requests, oldest first (JSON text).
    #[napi]
    pub fn approvals(&self) -> napi::Result<String> {
        self.with(|c| to_json(&c.approvals().map_err(daemon)?))
    }

    /// This peer's evidence records (JSON text), of one session and the latest `limit`.
    #[napi]
    pub fn log(&self, session: Option<String>, limit: Option<u32>) -> napi::Result<String> {
        self.with(|c| {
            to_json(
                &c.log(session.as_deref(), limit.map(|l| l as usize))
                    .map_err(daemon)?,
            )
        })
    }

    /// Blocks until the request is decided or expires, or `timeoutMs` passes (JSON text
    /// of the request as it then stands). Blocks the event loop: see
    /// `waitForApprovalAsync`.
    #[napi]
    pub fn wait_for_approval(&self, request: String, timeout_ms: f64) -> napi::Result<String> {
        guard(|| {
            let (socket, timeout, session) = self.wait_args()?;
            let w = millis(timeout_ms, "timeoutMs")?;
            wait(&socket, timeout, session.as_deref(), &request, w)
        })
    }

    /// `waitForApproval` on the thread pool: resolves to the JSON text.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn wait_for_approval_async(
        &self,
        request: String,
        timeout_ms: f64,
    ) -> napi::Result<AsyncTask<Background<String>>> {
        let (socket, timeout, session) = guard(|| self.wait_args())?;
        let w = guard(|| millis(timeout_ms, "timeoutMs"))?;
        Ok(background(move || {
            wait(&socket, timeout, session.as_deref(), &request, w)
        }))
    }

    /// Closes the connection.
    #[napi]
    pub fn close(&self) {
        self.slot().take();
    }
}
