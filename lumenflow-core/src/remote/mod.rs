//! Remote governing: the wire protocol between agents and the `lumenflow serve` daemon,
//! and the blocking client that speaks it.
//!
//! Owns: [`protocol`] (the JSON-lines messages on the daemon's Unix socket, their
//! operations, answers and error codes) and [`client`] (a blocking [`Client`] over
//! `std::os::unix::net::UnixStream`, used by the CLI, the hook and the bindings). May
//! use: [`crate::action`], [`crate::govern`], [`crate::policy`], [`crate::evidence`].
//! Std only: no async runtime (the daemon, `lumenflow-serve`, brings its own).
//! Normative description: `spec/serve.md`.

pub mod client;
pub mod protocol;

pub use client::{Client, ClientError};
pub use protocol::{
    Decided, Envelope, ErrorCode, Hello, Op, OutcomeWire, Reply, ReplyError, RequestInfo,
    MAX_LINE_BYTES, PROTOCOL_VERSION,
};
