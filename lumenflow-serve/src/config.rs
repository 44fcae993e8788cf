//! The daemon's configuration: one YAML file (read with serde-saphyr, as policies are).
//! Relative paths are taken from the configuration file's directory.
//!
//! ```yaml
//! socket: /run/lumenflow/agent.sock
//! socket_mode: "0660"          # who may connect: the socket's owner (the service user) and group
//! socket_group: lumenflow-agents
//! evidence: /var/lib/lumenflow/evidence
//! key: /etc/lumenflow/lumenflow.key
//! policies: [/etc/lumenflow/policy.yaml]
//! registry: /etc/lumenflow/registry.yaml
//! context: { worktree: /home/agent/repo }   # overrides what clients say
//! hook: { wait_seconds: 0, host_approval: true }
//! max_wait_seconds: 3600
//! reload_interval_ms: 1000
//! ```

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML is malformed or has an unknown or mistyped field.
    #[error("configuration {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with line and column when known.
        message: String,
    },
    /// A field has a value the daemon cannot use.
    #[error("configuration {path}: field `{field}`: {message}")]
    Field {
        /// The file.
        path: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// What the `hook` clients are told to do on require_approval.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// How long a hook waits for a person to decide in the console before it gives up
    /// and blocks (0: it does not wait).
    #[serde(default)]
    pub wait_seconds: u64,
    /// Whether a client that asks its own user (Claude Code's `ask`) may do so: then a
    /// require_approval decision is answered `ask` and the user at the client's prompt
    /// decides. False: only people in the console approve.
    #[serde(default)]
    pub host_approval: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    socket: PathBuf,
    #[serde(default)]
    socket_mode: Option<String>,
    #[serde(default)]
    socket_group: Option<String>,
    evidence: PathBuf,
    key: PathBuf,
    policies: Vec<PathBuf>,
    #[serde(default)]
    registry: Option<PathBuf>,
    #[serde(default)]
    context: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    hook: Option<HookConfig>,
    #[serde(default)]
    max_wait_seconds: Option<u64>,
    #[serde(default)]
    reload_interval_ms: Option<u64>,
    #[serde(default)]
    log: Option<PathBuf>,
    #[serde(default)]
    http: Option<crate::http::HttpConfig>,
    #[serde(default)]
    webhook: Option<crate::webhook::WebhookConfig>,
}

/// The daemon's configuration, checked and with absolute paths.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the configuration was read from (for messages).
    pub origin: String,
    /// The agents' Unix socket.
    pub socket: PathBuf,
    /// The socket's permission bits (default `0o660`: owner and group).
    pub socket_mode: u32,
    /// The group the socket is given (the agents' group), if any.
    pub socket_group: Option<String>,
    /// The evidence directory.
    pub evidence: PathBuf,
    /// The signing key.
    pub key: PathBuf,
    /// The policy layers, in order.
    pub policies: Vec<PathBuf>,
    /// The approver registry.
    pub registry: Option<PathBuf>,
    /// Context values that override what clients send.
    pub context: serde_json::Map<String, serde_json::Value>,
    /// What hooks do on require_approval.
    pub hook: HookConfig,
    /// The longest `wait_for_approval` the daemon grants.
    pub max_wait: std::time::Duration,
    /// How often the policy files are checked for changes.
    pub reload_interval: std::time::Duration,
    /// The daemon's log file (standard error if none).
    pub log: Option<PathBuf>,
    /// The HTTP API and console, if served.
    pub http: Option<crate::http::HttpConfig>,
    /// The webhook, if any.
    pub webhook: Option<crate::webhook::WebhookConfig>,
}

impl Config {
    /// Reads and checks the configuration file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = std::path::absolute(&base).unwrap_or(base);
        Config::from_yaml(&text, &path.display().to_string(), &base)
    }

    /// Parses configuration text; `origin` names it in errors, relative paths are taken
    /// from `base`.
    pub fn from_yaml(text: &str, origin: &str, base: &Path) -> Result<Config, ConfigError> {
        let raw: Raw = serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        let field = |field: &'static str, message: String| ConfigError::Field {
            path: origin.to_owned(),
            field,
            message,
        };
        let abs = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let socket_mode = match raw.socket_mode.as_deref() {
            None => 0o660,
            Some(s) => {
                let digits = s.strip_prefix("0o").unwrap_or(s);
                let m = u32::from_str_radix(digits, 8).map_err(|_| {
                    field(
                        "socket_mode",
                        format!("{s:?} is not an octal mode such as \"0660\""),
                    )
                })?;
                if m > 0o777 {
                    return Err(field("socket_mode", format!("{s:?} is more than 0777")));
                }
                if m & 0o002 != 0 {
                    return Err(field(
                        "socket_mode",
                        format!(
                            "{s:?} lets every user connect (world-writable); use the agents' group"
                        ),
                    ));
                }
                m
            }
        };
        if raw.policies.is_empty() {
            return Err(field(
                "policies",
                "at least one policy file is needed".into(),
            ));
        }
        let max_wait = std::time::Duration::from_secs(raw.max_wait_seconds.unwrap_or(3600));
        let hook = raw.hook.unwrap_or_default();
        if hook.wait_seconds > max_wait.as_secs() {
            return Err(field(
                "hook",
                format!(
                    "wait_seconds {} is more than max_wait_seconds {}",
                    hook.wait_seconds,
                    max_wait.as_secs()
                ),
            ));
        }
        let reload_interval =
            std::time::Duration::from_millis(raw.reload_interval_ms.unwrap_or(1000).max(50));
        if raw.socket.as_os_str().is_empty() {
            return Err(field("socket", "must not be empty".into()));
        }
        Ok(Config {
            origin: origin.to_owned(),
            socket: abs(raw.socket),
            socket_mode,
            socket_group: raw.socket_group,
            evidence: abs(raw.evidence),
            key: abs(raw.key),
            policies: raw.policies.into_iter().map(abs).collect(),
            registry: raw.registry.map(abs),
            context: raw.context.unwrap_or_default(),
            hook,
            max_wait,
            reload_interval,
            log: raw.log.map(abs),
            http: raw.http,
            webhook: raw.webhook,
        })
    }
}
