//! The people's side of the daemon: the HTTP API and the web console.
//!
//! Owns: [`HttpConfig`] (the `http:` configuration section, checked against the approver
//! registry at start), [`serve`] and [`start`] (bind and run), the routes ([`api`]),
//! approver login, sessions and cross-site defences ([`auth`]), the evidence timeline
//! and verify ([`timeline`]), and how an action is shown ([`present`]). The page itself
//! is `src/console/` (embedded with `include_str!`: no build step, nothing loaded from
//! elsewhere). Votes go through [`crate::daemon::Daemon::vote_as`], attested by the
//! daemon's key for the person the session belongs to; everything else is read through
//! the daemon's governor. Normative description: `spec/console.md`.

pub mod api;
pub mod auth;
pub mod present;
pub mod timeline;

use crate::daemon::Daemon;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";
/// The default session lifetime (8 hours).
pub const DEFAULT_SESSION_TTL_SECS: u64 = 8 * 3600;

/// One person who may log in to the console.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonConfig {
    /// Their identity in the approver registry.
    pub id: String,
    /// Argon2id PHC string of their secret ([`auth::hash_secret`]).
    pub secret_hash: String,
}

/// The `http:` section of the daemon's configuration (see `spec/console.md`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to bind (default [`DEFAULT_LISTEN`]; port 0 picks a free one).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Whether a non-loopback `listen` is allowed (default false).
    #[serde(default)]
    pub allow_remote: bool,
    /// The origin browsers reach the console at (default `http://<bound address>`).
    #[serde(default)]
    pub public_url: Option<String>,
    /// A session's absolute lifetime in seconds (default 8 h; 1 s to 7 days).
    #[serde(default = "default_ttl")]
    pub session_ttl_secs: u64,
    /// The attestation method recorded with each vote (default `password`).
    #[serde(default = "default_method")]
    pub method: String,
    /// Who may log in.
    #[serde(default)]
    pub people: Vec<PersonConfig>,
}

fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}
fn default_ttl() -> u64 {
    DEFAULT_SESSION_TTL_SECS
}
fn default_method() -> String {
    "password".into()
}

/// Why the HTTP side cannot start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// A configuration field is not usable.
    #[error("http.{field}: {reason}")]
    Config {
        /// The field (`listen`, `people[1].id`, ...).
        field: String,
        /// Why.
        reason: String,
    },
    /// The address could not be bound.
    #[error("http.listen {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("http: {0}")]
    Serve(String),
}

fn config_err(field: impl Into<String>, reason: impl Into<String>) -> HttpError {
    HttpError::Config {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A checked configuration and what it needs at run time.
#[derive(Debug)]
pub struct Console {
    /// The origin every POST must come from (`http://127.0.0.1:8470`).
    pub origin: String,
    /// The `Host` every request must name (`127.0.0.1:8470`).
    pub host: String,
    /// Whether the origin is HTTPS (cookies get `Secure`).
    pub secure: bool,
    /// The attestation method votes are recorded with.
    pub method: String,
    /// The people and their secret hashes.
    pub credentials: auth::Credentials,
    /// The live sessions.
    pub sessions: auth::Sessions,
    /// The daemon's public key, pinned for `verify`.
    pub keyring: lumenflow_core::Keyring,
}

/// A plain name, as the approver registry spells methods: 1 to 128 of `[A-Za-z0-9._-@+]`.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c))
}

fn listen_addr(cfg: &HttpConfig) -> Result<SocketAddr, HttpError> {
    let addr: SocketAddr = cfg.listen.parse().map_err(|e| {
        config_err(
            "listen",
            format!("{:?} is not an address:port ({e})", cfg.listen),
        )
    })?;
    if !addr.ip().is_loopback() && !cfg.allow_remote {
        return Err(config_err(
            "listen",
            format!("{addr} is not a loopback address; set allow_remote: true to serve people on other hosts (then put TLS in front)"),
        ));
    }
    Ok(addr)
}

/// Checks `cfg` against the daemon (bound to `bound`): the public URL, the people (each a
/// registry identity with a usable hash) and that the registry declares the daemon's key
/// an attester for the method.
pub fn check(daemon: &Daemon, cfg: &HttpConfig, bound: SocketAddr) -> Result<Console, HttpError> {
    let public = cfg
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let url = reqwest::Url::parse(&public)
        .map_err(|e| config_err("public_url", format!("{public:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(config_err(
            "public_url",
            format!("{public:?} must be an http:// or https:// URL with a host"),
        ));
    }
    let origin = url.origin().ascii_serialization();
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    if !(1..=7 * 24 * 3600).contains(&cfg.session_ttl_secs) {
        return Err(config_err(
            "session_ttl_secs",
            format!("must be 1 to 604800, not {}", cfg.session_ttl_secs),
        ));
    }
    if !valid_name(&cfg.method) {
        return Err(config_err(
            "method",
            format!("{:?} must be 1 to 128 letters, digits or ._-@+", cfg.method),
        ));
    }
    let registry_path = daemon.config().registry.as_ref().ok_or_else(|| {
        config_err(
            "people",
            "the console needs an approver registry (configuration `registry`): votes count only under registered identities",
        )
    })?;
    // The same file the daemon's governor judges votes by (read once at start by both).
    let registry = lumenflow_core::Registry::load(registry_path)
        .map_err(|e| config_err("people", format!("the approver registry: {e}")))?;
    let key_id = daemon.governor().key_id().to_owned();
    if !registry.attests(&key_id, &cfg.method) {
        return Err(config_err(
            "method",
            format!("the approver registry does not declare the daemon's key {key_id} an attester for {:?}: add `attesters: [{{key: {key_id}, methods: [{}]}}]`", cfg.method, cfg.method),
        ));
    }
    if cfg.people.is_empty() {
        return Err(config_err("people", "no person may log in"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, p) in cfg.people.iter().enumerate() {
        if registry.get(&p.id).is_none() || p.id.starts_with("user:") {
            return Err(config_err(
                format!("people[{i}].id"),
                format!("{:?} is not an identity of the approver registry", p.id),
            ));
        }
        if !seen.insert(p.id.clone()) {
            return Err(config_err(
                format!("people[{i}].id"),
                format!("{:?} is listed twice", p.id),
            ));
        }
    }
    let credentials = auth::Credentials::new(
        cfg.people
            .iter()
            .map(|p| (p.id.clone(), p.secret_hash.clone())),
    )
    .map_err(|e| config_err("people", e.to_string()))?;
    let mut keyring = lumenflow_core::Keyring::default();
    let key = lumenflow_core::KeyPair::from_file(&daemon.config().key)
        .map_err(|e| config_err("people", format!("the daemon's key: {e}")))?;
    keyring.add(key.public());
    Ok(Console {
        origin,
        host,
        secure: url.scheme() == "https",
        method: cfg.method.clone(),
        credentials,
        sessions: auth::Sessions::new(Duration::from_secs(cfg.session_ttl_secs)),
        keyring,
    })
}

/// A running HTTP server.
#[derive(Debug)]
pub struct Running {
    /// The address it is bound to.
    pub addr: SocketAddr,
    /// The origin it accepts (`http://127.0.0.1:<port>`).
    pub origin: String,
    /// The server task.
    pub task: tokio::task::JoinHandle<Result<(), HttpError>>,
}

/// Binds, checks the configuration and starts serving in a task.
pub async fn start(daemon: Arc<Daemon>, cfg: HttpConfig) -> Result<Running, HttpError> {
    let addr = listen_addr(&cfg)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| HttpError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    let d = daemon.clone();
    let console = tokio::task::spawn_blocking(move || check(&d, &cfg, bound))
        .await
        .map_err(|e| HttpError::Serve(e.to_string()))??;
    let origin = console.origin.clone();
    let app = api::router(daemon, Arc::new(console));
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .await
            .map_err(|e| HttpError::Serve(e.to_string()))
    });
    Ok(Running {
        addr: bound,
        origin,
        task,
    })
}

/// Serves the HTTP API and console until the daemon stops (an error if the
/// configuration is unusable or the address cannot be bound).
pub async fn serve(daemon: Arc<Daemon>, cfg: HttpConfig) -> Result<(), String> {
    let running = start(daemon.clone(), cfg)
        .await
        .map_err(|e| e.to_string())?;
    daemon.log(&format!(
        "console listening on {} (origin {})",
        running.addr, running.origin
    ));
    match running.task.await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("http task: {e}")),
    }
}
