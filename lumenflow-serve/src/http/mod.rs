//! The people's side: HTTP API and web console (PLACEHOLDER: the console helper
//! replaces this module). Owns: [`HttpConfig`] and [`serve`].

use crate::daemon::Daemon;
use serde::Deserialize;
use std::sync::Arc;

/// Where and how the HTTP API and console listen.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to bind (loopback by default).
    #[serde(default = "default_listen")]
    pub listen: String,
}

fn default_listen() -> String {
    "127.0.0.1:8377".into()
}

/// Serves the HTTP API until the daemon stops (placeholder: returns an error saying it
/// is not built yet, so that a configured console is never silently absent).
pub async fn serve(daemon: Arc<Daemon>, cfg: HttpConfig) -> Result<(), String> {
    let _ = daemon;
    Err(format!(
        "the HTTP console ({}) is not built in this version",
        cfg.listen
    ))
}
