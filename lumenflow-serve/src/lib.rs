//! `lumenflow serve`: the governing daemon.
//!
//! The daemon runs as its own OS user and holds what the governed agent must not reach:
//! the signing key, the policy files and the evidence directory. Agents talk to it on a
//! Unix socket ([`socket`]) and may only decide, record, and read or wait for their own
//! approval requests; people use the HTTP API and console ([`http`]); new requests are
//! announced on a webhook ([`webhook`]).
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | the daemon's YAML configuration and its checks |
//! | [`daemon`] | the shared state: the governor, the current policy and its reload, the event channel |
//! | [`socket`] | the agents' Unix socket: peer identity, the protocol's operations, refusals |
//! | [`http`] | the people's HTTP API and web console |
//! | [`webhook`] | notifications of new requests |
//!
//! The protocol types and the blocking client live in `lumenflow_core::remote` (no async
//! runtime there); semantics live in `lumenflow-core`, this crate only serves them.
//! Normative description: `spec/serve.md` (and `spec/console.md`).

#![warn(missing_docs)]

pub mod config;
pub mod daemon;
pub mod http;
pub mod socket;
pub mod webhook;

pub use config::{Config, ConfigError};
pub use daemon::{Daemon, DaemonError, Event, Peer};

/// Runs the daemon described by `config` until SIGTERM or SIGINT: opens the governor,
/// serves the socket (and, if configured, HTTP and the webhook), watches the policy.
pub async fn run(config: Config) -> Result<(), DaemonError> {
    let daemon = std::sync::Arc::new(Daemon::open(config)?);
    let mut tasks = tokio::task::JoinSet::new();
    let listener = socket::bind(daemon.config())?;
    tasks.spawn(socket::serve(daemon.clone(), listener));
    if let Some(h) = daemon.config().http.clone() {
        let d = daemon.clone();
        tasks.spawn(async move { http::serve(d, h).await.map_err(DaemonError::Http) });
    }
    if let Some(w) = daemon.config().webhook.clone() {
        let d = daemon.clone();
        tasks.spawn(async move {
            webhook::run(d, w).await;
            Ok(())
        });
    }
    tasks.spawn(daemon::watch_policies(daemon.clone()));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| DaemonError::Io("installing the SIGTERM handler".into(), e))?;
    let result = tokio::select! {
        _ = term.recv() => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
        Some(r) = tasks.join_next() => match r {
            Ok(r) => r,
            Err(e) => Err(DaemonError::Task(e.to_string())),
        },
    };
    tasks.abort_all();
    daemon.close();
    result
}
