//! The socket protocol of `lumenflow serve` (normative text: `spec/serve.md`).
//!
//! One JSON object per line, UTF-8, each at most [`MAX_LINE_BYTES`]. The client sends an
//! [`Envelope`] (`{"id": N, "op": "...", ...}`); the daemon answers each with a
//! [`Reply`] carrying the same `id`, either `{"id": N, "ok": true, "result": ...}` or
//! `{"id": N, "ok": false, "error": {"code": "...", "message": "..."}}`. Answers come
//! in the order the requests were sent on that connection.
//!
//! The operations an agent may use are exactly the variants of [`Op`]; anything else
//! (`approve`, `reject`, `override`, `keygen`, `reload`, ...) is answered with
//! [`ErrorCode::Forbidden`] or [`ErrorCode::BadRequest`] and changes nothing.

use crate::action::{Action, Context};
use crate::govern::approval::Request;
use crate::govern::governor::{Outcome, Status, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol version the daemon speaks and the client expects (in [`Hello`]).
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest line either side accepts (1 MiB); a longer line is an error that ends the
/// connection.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Operations that exist in LumenFlow but are never served on the agents' socket: the
/// daemon names them in its refusal so that a client sees it was refused, not mistyped.
pub const FORBIDDEN_OPS: &[&str] = &[
    "approve",
    "reject",
    "vote",
    "attest",
    "override",
    "override_deny",
    "keygen",
    "config",
    "reload",
    "shutdown",
    "append",
    "checkpoint",
    "repair",
    "export",
    "budgets",
];

/// One request line: an id the client chooses (echoed in the reply) and the operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Echoed in the [`Reply`].
    pub id: u64,
    /// What to do.
    #[serde(flatten)]
    pub op: Op,
}

/// What an agent may ask of the daemon.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
// One request per line, parsed and dropped at once: boxing the large variant would only
// add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Op {
    /// Protocol handshake: the daemon answers with [`Hello`] (who it takes the peer for).
    Hello {
        /// A session label for this connection (a claim: it names, it does not identify).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    /// Decide an action and record the decision. The daemon replaces the action's actor
    /// with the peer's identity; context keys the daemon configures override the
    /// client's.
    Decide {
        /// The proposed action.
        action: Action,
        /// Context values the client supplies (claims; see `spec/serve.md`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<Context>,
        /// The client's host asks its own user on require_approval (Claude Code's
        /// `ask`); honoured only if the daemon's configuration allows it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        host_approves: bool,
    },
    /// Record the outcome of one of the peer's own open decisions.
    Record {
        /// The decision record's id.
        decision: String,
        /// How it went.
        outcome: OutcomeWire,
    },
    /// The state of one of the peer's own approval requests.
    Request {
        /// The request's id (the decision record's id).
        request: String,
    },
    /// Wait until one of the peer's own requests is no longer pending, or `timeout_ms`
    /// passes (capped by the daemon); answers the request as it then stands.
    WaitForApproval {
        /// The request's id.
        request: String,
        /// How long to wait at most, in milliseconds.
        timeout_ms: u64,
    },
    /// The peer's own approval requests, oldest first.
    Approvals {},
    /// The peer's own evidence records (decisions, and the outcomes of those), in order.
    Log {
        /// Only records of this session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// At most this many, the latest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
}

impl Op {
    /// The operation's wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Hello { .. } => "hello",
            Op::Decide { .. } => "decide",
            Op::Record { .. } => "record",
            Op::Request { .. } => "request",
            Op::WaitForApproval { .. } => "wait_for_approval",
            Op::Approvals {} => "approvals",
            Op::Log { .. } => "log",
        }
    }
}

/// An outcome on the wire (see [`Outcome`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeWire {
    /// How it went.
    pub status: Status,
    /// `sha256:` digest of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_digest: Option<String>,
    /// Duration in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// An error message (redacted when recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Actual cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Actual tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<i64>,
}

impl From<Outcome> for OutcomeWire {
    fn from(o: Outcome) -> Self {
        OutcomeWire {
            status: o.status,
            output_digest: o.output_digest,
            duration_ms: o.duration_ms,
            error: o.error,
            cost: o.cost,
            tokens: o.tokens,
        }
    }
}

impl From<OutcomeWire> for Outcome {
    fn from(o: OutcomeWire) -> Self {
        Outcome {
            status: o.status,
            output_digest: o.output_digest,
            duration_ms: o.duration_ms,
            error: o.error,
            cost: o.cost,
            tokens: o.tokens,
        }
    }
}

/// The daemon's answer to [`Op::Hello`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The actor id the daemon records this peer's actions under (from the socket's
    /// peer credentials, never from anything the client says).
    pub actor: String,
    /// The peer's uid as the kernel reported it.
    pub uid: u32,
    /// The peer's pid as the kernel reported it.
    pub pid: i32,
    /// The longest wait for approval the daemon grants, in milliseconds.
    pub max_wait_ms: u64,
    /// How long the daemon's configuration says a hook should wait for a person before
    /// it gives up (0: answer at once).
    pub hook_wait_ms: u64,
    /// Whether the daemon honours `host_approves` (a client that asks its own user).
    pub host_approval: bool,
    /// The signing key's id (to verify the log with the public key).
    pub key_id: String,
}

/// The daemon's answer to [`Op::Decide`]: the governed decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decided {
    /// The decision record's id (for [`Op::Record`]).
    pub id: String,
    /// The decision record's hash.
    pub hash: String,
    /// What it means for the caller.
    pub verdict: Verdict,
    /// The approval request it opened, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The full decision (effect, reason, rules, ...), as in `spec/decision.md`.
    pub decision: crate::policy::decide::Decision,
}

impl Decided {
    /// True if the action may run.
    pub fn allowed(&self) -> bool {
        self.verdict == Verdict::Allow
    }

    /// The decision as the in-process [`Governed`](crate::govern::governor::Governed) a
    /// binding shows (its verdict and request are derived from the decision the same way
    /// the daemon derived them).
    pub fn into_governed(self) -> crate::govern::governor::Governed {
        crate::govern::governor::Governed {
            decision: self.decision,
            id: self.id,
            hash: self.hash,
        }
    }
}

/// A reply line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    /// The request's id (0 for an error about a line that had no readable id).
    pub id: u64,
    /// Whether it succeeded.
    pub ok: bool,
    /// The result, when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
}

impl Reply {
    /// A successful reply.
    pub fn ok(id: u64, result: Value) -> Reply {
        Reply {
            id,
            ok: true,
            result: Some(result),
            error: None,
        }
    }

    /// A failed reply.
    pub fn err(id: u64, code: ErrorCode, message: impl Into<String>) -> Reply {
        Reply {
            id,
            ok: false,
            result: None,
            error: Some(ReplyError {
                code,
                message: crate::error::bound(message.into()),
            }),
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
}

/// The kinds of failure on the wire. A client treats every one as "do not run".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The line is not a request this protocol knows (bad JSON, unknown op, bad field).
    BadRequest,
    /// The operation exists but is never served to agents (approve, override, ...).
    Forbidden,
    /// The decision or request is not the peer's own.
    NotOwner,
    /// No such decision or request (or it is closed already).
    NotFound,
    /// The action or outcome is invalid.
    Invalid,
    /// The daemon could not write evidence or read its state: nothing was decided.
    Internal,
    /// The daemon is shutting down.
    Unavailable,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotOwner => "not_owner",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Invalid => "invalid",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

/// Parses one request line. On failure, the reply to send (with the line's `id` if it
/// had a readable one), naming the operation if it is a forbidden one.
pub fn parse_request(line: &[u8]) -> Result<Envelope, Reply> {
    let v: Value = serde_json::from_slice(line)
        .map_err(|e| Reply::err(0, ErrorCode::BadRequest, format!("not a JSON object: {e}")))?;
    let id = v.get("id").and_then(Value::as_u64).unwrap_or(0);
    let Some(obj) = v.as_object() else {
        return Err(Reply::err(
            id,
            ErrorCode::BadRequest,
            "a request must be a JSON object",
        ));
    };
    if !obj.get("id").is_some_and(Value::is_u64) {
        return Err(Reply::err(
            id,
            ErrorCode::BadRequest,
            "field `id` must be a non-negative integer",
        ));
    }
    let op = obj
        .get("op")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if FORBIDDEN_OPS.contains(&op.as_str()) {
        return Err(Reply::err(
            id,
            ErrorCode::Forbidden,
            format!("operation `{op}` is not served on the agents' socket: approvals, overrides and configuration are for people, through the console or the daemon's own user"),
        ));
    }
    serde_json::from_value::<Envelope>(v).map_err(|e| {
        Reply::err(
            id,
            ErrorCode::BadRequest,
            format!("bad `{op}` request: {e}"),
        )
    })
}

/// A request (approval) as the daemon returns it: the request and its count of approvals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestInfo {
    /// The request.
    #[serde(flatten)]
    pub request: Request,
    /// Distinct approvers who approved so far.
    pub approvals: usize,
}
