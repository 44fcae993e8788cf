//! Notifications of new approval requests (PLACEHOLDER: the console helper replaces this
//! module). Owns: [`WebhookConfig`] and [`run`].

use crate::daemon::Daemon;
use serde::Deserialize;
use std::sync::Arc;

/// Where to post new requests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The receiver's URL.
    pub url: String,
}

/// Posts each new request to the webhook until the daemon stops (placeholder: logs that
/// it is not built and returns).
pub async fn run(daemon: Arc<Daemon>, cfg: WebhookConfig) {
    daemon.log(&format!(
        "webhook {} configured but not built in this version",
        cfg.url
    ));
}
