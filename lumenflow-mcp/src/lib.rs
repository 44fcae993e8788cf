//! `lumenflow mcp`: a governing MCP proxy on the official Rust SDK (`rmcp`).
//!
//! The proxy stands between an MCP client and one MCP server. Every `tools/call` is an
//! action (`mcp:<server>/<tool>`, mapped by `lumenflow_core::hooks::mcp`), decided by the
//! core's `Governor` and recorded before the server sees it; the server's result is
//! recorded as the outcome. A deny, an open approval, or any failure answers a tool
//! result with `isError` and the reason, never a hang; `tools/list` can hide tools the
//! policy denies outright; everything else passes through. Normative: `spec/mcp.md`.
//!
//! Owns: [`gate`] (the calls' decisions and records, synchronous, on the core),
//! [`proxy`] (the two rmcp services: the server the client sees, the client the server
//! sees), [`serve`] (stdio and Streamable HTTP). The semantics live in `lumenflow-core`;
//! this crate only carries messages, so that rmcp and tokio stay out of the core and the
//! bindings.

pub mod gate;
pub mod proxy;
pub mod serve;

pub use gate::{Admission, Gate, GateError, GateOptions};
pub use proxy::{Proxy, Target, NEWEST};
pub use serve::ServeError;
