//! The blocking client of the daemon's socket (see [`super::protocol`]).
//!
//! Every method sends one request and reads its reply; a reply that is missing, late,
//! malformed or for another id is an error, so a caller that treats every error as
//! "do not run" fails closed.

use super::protocol::{
    Decided, Envelope, ErrorCode, Hello, Op, OutcomeWire, Reply, RequestInfo, MAX_LINE_BYTES,
    PROTOCOL_VERSION,
};
use crate::action::{Action, Context};
use crate::evidence::record::Record;
use crate::govern::governor::Outcome;
use serde::de::DeserializeOwned;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a call to the daemon failed. Every variant means: nothing may run on its account.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached (daemon down, wrong path, no permission).
    #[error("cannot connect to the LumenFlow daemon at {path}: {source}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading or writing the socket failed, or timed out.
    #[error("talking to the LumenFlow daemon at {path} failed during `{op}`: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The operation.
        op: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The daemon's answer could not be understood.
    #[error("the LumenFlow daemon at {path} gave a bad answer to `{op}`: {message}")]
    BadAnswer {
        /// The socket path.
        path: PathBuf,
        /// The operation.
        op: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The daemon refused or failed the request.
    #[error("the LumenFlow daemon refused `{op}` ({}): {message}", code.as_str())]
    Refused {
        /// The operation.
        op: &'static str,
        /// The daemon's error code.
        code: ErrorCode,
        /// The daemon's message.
        message: String,
    },
}

impl ClientError {
    /// A stable name for the kind of failure, for bindings that map it to their own
    /// error types: `unreachable`, `io`, `bad_answer`, or the daemon's refusal code
    /// ([`ErrorCode::as_str`]: `invalid`, `not_found`, `forbidden`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::Connect { .. } => "unreachable",
            ClientError::Io { .. } => "io",
            ClientError::BadAnswer { .. } => "bad_answer",
            ClientError::Refused { code, .. } => code.as_str(),
        }
    }
}

/// A connection to `lumenflow serve`'s agent socket.
#[derive(Debug)]
pub struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    timeout: Duration,
    hello: Hello,
}

/// How long a call waits for its answer unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Client {
    /// Connects to the socket at `path` and shakes hands. `timeout` bounds each call
    /// (a wait for approval gets its own wait added).
    pub fn connect(path: impl AsRef<Path>, timeout: Duration) -> Result<Client, ClientError> {
        Client::connect_session(path, timeout, None)
    }

    /// Connects, naming a session for this connection (a label only).
    pub fn connect_session(
        path: impl AsRef<Path>,
        timeout: Duration,
        session: Option<&str>,
    ) -> Result<Client, ClientError> {
        let path = path.as_ref().to_path_buf();
        let stream = UnixStream::connect(&path).map_err(|source| ClientError::Connect {
            path: path.clone(),
            source,
        })?;
        let writer = stream.try_clone().map_err(|source| ClientError::Connect {
            path: path.clone(),
            source,
        })?;
        let mut c = Client {
            path,
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
            timeout,
            hello: Hello {
                protocol: 0,
                actor: String::new(),
                uid: 0,
                pid: 0,
                max_wait_ms: 0,
                hook_wait_ms: 0,
                host_approval: false,
                key_id: String::new(),
            },
        };
        let hello: Hello = c.call(
            Op::Hello {
                session: session.map(str::to_owned),
            },
            timeout,
        )?;
        if hello.protocol != PROTOCOL_VERSION {
            return Err(ClientError::BadAnswer {
                path: c.path.clone(),
                op: "hello",
                message: format!(
                    "the daemon speaks protocol {}, this client {PROTOCOL_VERSION}",
                    hello.protocol
                ),
            });
        }
        c.hello = hello;
        Ok(c)
    }

    /// What the daemon said at the handshake (who it takes this peer for, its limits).
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// Decides `action` (recorded by the daemon before it answers).
    pub fn decide(&mut self, action: &Action) -> Result<Decided, ClientError> {
        self.decide_with(action, None, false)
    }

    /// Decides `action` with client-supplied context values and, for a host that asks
    /// its own user, `host_approves`.
    pub fn decide_with(
        &mut self,
        action: &Action,
        context: Option<&Context>,
        host_approves: bool,
    ) -> Result<Decided, ClientError> {
        self.call(
            Op::Decide {
                action: action.clone(),
                context: context.cloned(),
                host_approves,
            },
            self.timeout,
        )
    }

    /// Records the outcome of one of this peer's open decisions; returns the outcome
    /// record.
    pub fn record(&mut self, decision: &str, outcome: Outcome) -> Result<Record, ClientError> {
        self.call(
            Op::Record {
                decision: decision.to_owned(),
                outcome: OutcomeWire::from(outcome),
            },
            self.timeout,
        )
    }

    /// The state of one of this peer's approval requests.
    pub fn request(&mut self, request: &str) -> Result<RequestInfo, ClientError> {
        self.call(
            Op::Request {
                request: request.to_owned(),
            },
            self.timeout,
        )
    }

    /// Waits until the request is no longer pending or `timeout` passes (the daemon may
    /// cap it at [`Hello::max_wait_ms`]); returns it as it then stands.
    pub fn wait_for_approval(
        &mut self,
        request: &str,
        timeout: Duration,
    ) -> Result<RequestInfo, ClientError> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let wait = Duration::from_millis(ms.min(self.hello.max_wait_ms));
        self.call(
            Op::WaitForApproval {
                request: request.to_owned(),
                timeout_ms: ms,
            },
            self.timeout + wait,
        )
    }

    /// This peer's approval requests, oldest first.
    pub fn approvals(&mut self) -> Result<Vec<RequestInfo>, ClientError> {
        self.call(Op::Approvals {}, self.timeout)
    }

    /// This peer's evidence records, optionally of one session and the latest `limit`.
    pub fn log(
        &mut self,
        session: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Record>, ClientError> {
        self.call(
            Op::Log {
                session: session.map(str::to_owned),
                limit,
            },
            self.timeout,
        )
    }

    fn call<T: DeserializeOwned>(&mut self, op: Op, timeout: Duration) -> Result<T, ClientError> {
        let name = op.name();
        let id = self.next_id;
        self.next_id += 1;
        let io = |path: &Path, source: std::io::Error| ClientError::Io {
            path: path.to_path_buf(),
            op: name,
            source,
        };
        let bad = |path: &Path, message: String| ClientError::BadAnswer {
            path: path.to_path_buf(),
            op: name,
            message,
        };
        let mut line = serde_json::to_vec(&Envelope { id, op })
            .map_err(|e| bad(&self.path, format!("cannot encode the request: {e}")))?;
        line.push(b'\n');
        let timeout = Some(timeout.max(Duration::from_millis(1)));
        self.writer
            .set_write_timeout(timeout)
            .map_err(|e| io(&self.path, e))?;
        self.writer
            .write_all(&line)
            .map_err(|e| io(&self.path, e))?;
        self.reader
            .get_ref()
            .set_read_timeout(timeout)
            .map_err(|e| io(&self.path, e))?;
        let mut buf = Vec::new();
        let n = (&mut self.reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| io(&self.path, e))?;
        if n == 0 {
            return Err(bad(&self.path, "the daemon closed the connection".into()));
        }
        if !buf.ends_with(b"\n") {
            return Err(bad(
                &self.path,
                "the answer is not a complete line (too long, or cut off)".into(),
            ));
        }
        let reply: Reply = serde_json::from_slice(&buf)
            .map_err(|e| bad(&self.path, format!("not a reply: {e}")))?;
        if reply.id != id {
            return Err(bad(
                &self.path,
                format!("answer for request {} where {id} was asked", reply.id),
            ));
        }
        match (reply.ok, reply.result, reply.error) {
            (true, Some(v), None) => serde_json::from_value(v)
                .map_err(|e| bad(&self.path, format!("unexpected result: {e}"))),
            (false, None, Some(e)) => Err(ClientError::Refused {
                op: name,
                code: e.code,
                message: e.message,
            }),
            _ => Err(bad(
                &self.path,
                "a reply must be ok with a result or not ok with an error".into(),
            )),
        }
    }
}

use std::io::Read as _;
