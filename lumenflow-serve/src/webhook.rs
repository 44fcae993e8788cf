//! The webhook: a POST on each new approval request, retried with backoff.
//!
//! The body is one JSON object that a Slack incoming webhook accepts as it is (`text`, the
//! fallback line, and `blocks`) and that any other receiver parses through its
//! `lumenflow` member (`event`, `request`, `tool`, `summary`, `rules`, `actor`,
//! `session`, `quorum`, `expires_at`, `console`). Every value in it comes from the
//! evidence record of the decision that opened the request, that is, as redacted by the
//! governor: the webhook never sees an unredacted argument. Normative description:
//! `spec/console.md`, Webhook.

use crate::daemon::{Daemon, Event};
use crate::http::{present, timeline};
use lumenflow_core::{Request, RequestState};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// The most attempts a configuration may ask for.
pub const MAX_ATTEMPTS: u32 = 20;
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The `webhook:` section of the daemon's configuration.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST (`http://` or `https://`). A Slack incoming webhook URL is a secret:
    /// it is never logged, only its host.
    pub url: String,
    /// The console's address for the link in each message (default: the HTTP API's
    /// `public_url`).
    #[serde(default)]
    pub console_url: Option<String>,
    /// How many attempts per message (default 5, at most [`MAX_ATTEMPTS`]).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// The wait before the first retry, in milliseconds (default 1000); it doubles after
    /// each failed attempt, up to [`MAX_BACKOFF`].
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// How long one attempt may take, in milliseconds (default 10000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_attempts() -> u32 {
    5
}
fn default_backoff() -> u64 {
    1000
}
fn default_timeout() -> u64 {
    10_000
}

/// Why the webhook cannot be configured, or a message could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A configuration value is not usable.
    #[error("webhook.{field}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Every attempt failed.
    #[error("webhook to {host}: gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// The receiver's host (never the whole URL, which may be a secret).
        host: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}

impl WebhookConfig {
    /// Checks the values: the URL parses as `http(s)://host/...`, attempts are 1 to
    /// [`MAX_ATTEMPTS`], the timeout is positive.
    pub fn check(&self) -> Result<(), WebhookError> {
        let u = reqwest::Url::parse(&self.url).map_err(|e| WebhookError::Config {
            field: "url",
            reason: format!("not a URL: {e}"),
        })?;
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            return Err(WebhookError::Config {
                field: "url",
                reason: "must be an http:// or https:// URL with a host".into(),
            });
        }
        if self.attempts == 0 || self.attempts > MAX_ATTEMPTS {
            return Err(WebhookError::Config {
                field: "attempts",
                reason: format!("must be 1 to {MAX_ATTEMPTS}, not {}", self.attempts),
            });
        }
        if self.timeout_ms == 0 {
            return Err(WebhookError::Config {
                field: "timeout_ms",
                reason: "must be positive".into(),
            });
        }
        Ok(())
    }

    fn host(&self) -> String {
        reqwest::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "?".into())
    }
}

/// Escapes text for Slack's `mrkdwn` (`&`, `<`, `>`; backticks would end a code span).
fn mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'")
}

/// The link to one request in the console.
pub fn request_link(console: &str, request: &str) -> String {
    format!(
        "{}/#request={}",
        console.trim_end_matches('/'),
        request.replace(['&', '#', '<', '>', ' ', '|'], "")
    )
}

/// The message for a new request. `action` is the action as its decision record holds
/// it (redacted); `console` the console's base address.
pub fn message(request: &Request, action: &Value, console: &str) -> Value {
    let args = action.get("args").cloned().unwrap_or(Value::Null);
    let summary = present::summary(&request.tool, &args);
    let link = request_link(console, &request.id);
    let rules = request.rules.join(", ");
    let expires = request.expires_at.clone().unwrap_or_else(|| "never".into());
    let text = format!(
        "LumenFlow: approval needed for {} by {} (session {}): {} [rules: {}; request {}; expires {}] {}",
        request.tool, request.actor, request.session, summary, rules, request.id, expires, link
    );
    let fields = [
        ("Tool", request.tool.clone()),
        (
            "Asked by",
            format!("{} (session {})", request.actor, request.session),
        ),
        ("Rules", rules.clone()),
        ("Expires", expires.clone()),
        ("Quorum", request.quorum.to_string()),
        ("Request", request.id.clone()),
    ];
    json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn",
                "text": format!("*Approval needed* — `{}`", mrkdwn(&summary))}},
            {"type": "section", "fields": fields.iter().map(|(k, v)| json!({
                "type": "mrkdwn", "text": format!("*{k}*\n{}", mrkdwn(v))})).collect::<Vec<_>>()},
            {"type": "context", "elements": [{"type": "mrkdwn",
                "text": format!("<{}|Open in the LumenFlow console>", mrkdwn(&link))}]},
        ],
        "lumenflow": {
            "event": "approval_requested",
            "request": request.id,
            "tool": request.tool,
            "summary": summary,
            "rules": request.rules,
            "actor": request.actor,
            "session": request.session,
            "quorum": request.quorum,
            "opened_at": request.opened_at,
            "expires_at": request.expires_at,
            "console": link,
        },
    })
}

/// Sends webhook messages, one attempt after another with doubling waits.
#[derive(Debug, Clone)]
pub struct Sender {
    config: WebhookConfig,
    client: reqwest::Client,
}

impl Sender {
    /// A sender for a checked configuration.
    pub fn new(config: WebhookConfig) -> Result<Sender, WebhookError> {
        config.check()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WebhookError::Config {
                field: "url",
                reason: format!("no HTTP client: {e}"),
            })?;
        Ok(Sender { config, client })
    }

    /// The configuration.
    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// POSTs `body`; a network error, a timeout, a 429 or a 5xx is retried after the
    /// backoff (or the receiver's `Retry-After`, bounded by [`MAX_BACKOFF`]); another 4xx
    /// is final. Returns the number of attempts it took.
    pub async fn send(&self, body: &Value) -> Result<u32, WebhookError> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let mut wait = Duration::from_millis(self.config.backoff_ms).min(MAX_BACKOFF);
        let mut last = String::new();
        for attempt in 1..=self.config.attempts {
            let res = self
                .client
                .post(&self.config.url)
                .header("content-type", "application/json")
                .body(bytes.clone())
                .send()
                .await;
            let mut retry_after = None;
            match res {
                Ok(r) if r.status().is_success() => return Ok(attempt),
                Ok(r) => {
                    let status = r.status();
                    retry_after = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s).min(MAX_BACKOFF));
                    last = format!("HTTP {status}");
                    if status.is_client_error() && status.as_u16() != 429 {
                        return Err(self.gave_up(attempt, last));
                    }
                }
                Err(e) => {
                    last = if e.is_timeout() {
                        "timed out".into()
                    } else if e.is_connect() {
                        "could not connect".into()
                    } else {
                        "request failed".into()
                    };
                }
            }
            if attempt < self.config.attempts {
                tokio::time::sleep(retry_after.unwrap_or(wait)).await;
                wait = (wait * 2).min(MAX_BACKOFF);
            }
        }
        Err(self.gave_up(self.config.attempts, last))
    }

    fn gave_up(&self, attempts: u32, last: String) -> WebhookError {
        WebhookError::GaveUp {
            host: self.config.host(),
            attempts,
            last,
        }
    }
}

/// The console's base address for links: `console_url`, else the HTTP section's
/// `public_url`, else `http://<listen>`.
pub fn console_base(daemon: &Daemon, cfg: &WebhookConfig) -> String {
    if let Some(u) = &cfg.console_url {
        return u.clone();
    }
    match &daemon.config().http {
        Some(h) => h
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", h.listen)),
        None => format!("http://{}", crate::http::DEFAULT_LISTEN),
    }
}

/// Builds the message for a request, reading its recorded action from the log.
pub fn message_for(daemon: &Daemon, request: &Request, console: &str) -> Value {
    let g = daemon.governor();
    let action =
        timeline::action_of(g.store().dir(), g.key_id(), &request.id).unwrap_or(Value::Null);
    message(request, &action, console)
}

/// Posts each new request to the webhook until the daemon stops. Sends run in their own
/// tasks (a slow receiver delays no other message); when the event feed lags, pending
/// requests not yet announced are found in the governor's state and announced.
pub async fn run(daemon: Arc<Daemon>, cfg: WebhookConfig) {
    let sender = match Sender::new(cfg.clone()) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            daemon.log(&format!("webhook not started: {e}"));
            return;
        }
    };
    let console = console_base(&daemon, &cfg);
    let mut rx = daemon.subscribe();
    let mut sent: HashSet<String> = HashSet::new();
    loop {
        let requests: Vec<Request> = match rx.recv().await {
            Ok(Event::RequestOpened { request }) => vec![request],
            Ok(_) => continue,
            Err(RecvError::Lagged(n)) => {
                daemon.log(&format!(
                    "webhook: {n} events lost; re-reading pending requests"
                ));
                let d = daemon.clone();
                tokio::task::spawn_blocking(move || d.governor().approvals())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| r.state == RequestState::Pending)
                    .collect()
            }
            Err(RecvError::Closed) => return,
        };
        for request in requests {
            if !sent.insert(request.id.clone()) {
                continue;
            }
            let (d, s, c) = (daemon.clone(), sender.clone(), console.clone());
            tokio::spawn(async move {
                let d2 = d.clone();
                let id = request.id.clone();
                let body = match tokio::task::spawn_blocking(move || message_for(&d2, &request, &c))
                    .await
                {
                    Ok(b) => b,
                    Err(e) => {
                        d.log(&format!("webhook: request {id}: {e}"));
                        return;
                    }
                };
                match s.send(&body).await {
                    Ok(n) => d.log(&format!("webhook: request {id} announced ({n} attempt(s))")),
                    Err(e) => d.log(&format!("webhook: request {id}: {e}")),
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            console_url: None,
            attempts: 3,
            backoff_ms: 1,
            timeout_ms: 1000,
        }
    }

    #[test]
    fn refuses_bad_configuration_by_field() {
        let e = cfg("ftp://x/").check().unwrap_err().to_string();
        assert!(e.starts_with("webhook.url"), "{e}");
        assert!(cfg("not a url").check().is_err());
        let mut c = cfg("http://127.0.0.1:1/");
        c.attempts = 0;
        assert!(c
            .check()
            .unwrap_err()
            .to_string()
            .starts_with("webhook.attempts"));
        c.attempts = 3;
        c.timeout_ms = 0;
        assert!(c
            .check()
            .unwrap_err()
            .to_string()
            .starts_with("webhook.timeout_ms"));
    }

    #[test]
    fn links_cannot_be_bent_by_an_id() {
        assert_eq!(
            request_link("http://127.0.0.1:8470/", "s:3"),
            "http://127.0.0.1:8470/#request=s:3"
        );
        assert_eq!(
            request_link("http://h", "x>|<evil&a=1"),
            "http://h/#request=xevila=1"
        );
        assert_eq!(mrkdwn("<!channel> & `x`"), "&lt;!channel&gt; &amp; 'x'");
    }
}
