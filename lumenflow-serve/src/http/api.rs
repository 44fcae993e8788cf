//! The routes of the HTTP API and the console's static files, with the request guards
//! (host, origin, content type, session, CSRF) and the security headers every answer
//! carries. Table of routes: `spec/console.md`, The API.

use super::auth::{self, AuthError, Session};
use super::{present, timeline, Console};
use crate::daemon::{Daemon, VoteAuth};
use axum::body::Bytes;
use axum::extract::{Path, Query, Request as HttpRequest, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use lumenflow_core::{ApprovalError, Choice, Request};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const INDEX: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/console.js");
const STYLE: &str = include_str!("../console/console.css");

/// The Content-Security-Policy of every answer: the page's own script and style only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The longest reason a vote may give, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// What the handlers share.
#[derive(Clone)]
pub struct App {
    daemon: Arc<Daemon>,
    console: Arc<Console>,
    /// Recorded (redacted) actions of decision records, by record id.
    actions: Arc<Mutex<HashMap<String, Value>>>,
}

/// An error answer: a status and `{"error": why}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        r
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        let status = match e {
            AuthError::BadCredentials
            | AuthError::NoSession
            | AuthError::UnknownSession
            | AuthError::Expired => StatusCode::UNAUTHORIZED,
            AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::BadOrigin { .. } | AuthError::BadCsrf => StatusCode::FORBIDDEN,
            AuthError::BadHost { .. } => StatusCode::MISDIRECTED_REQUEST,
            AuthError::BadHash { .. } | AuthError::WeakSecret => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<lumenflow_core::Error> for ApiError {
    fn from(e: lumenflow_core::Error) -> ApiError {
        let status = match &e {
            lumenflow_core::Error::Approval(a) => match a {
                ApprovalError::UnknownRequest(_) => StatusCode::NOT_FOUND,
                ApprovalError::Expired { .. } => StatusCode::GONE,
                ApprovalError::Closed { .. } | ApprovalError::AlreadyVoted { .. } => {
                    StatusCode::CONFLICT
                }
                ApprovalError::NotAnApprover { .. }
                | ApprovalError::NotAuthenticated { .. }
                | ApprovalError::BadSignature { .. } => StatusCode::FORBIDDEN,
                _ => StatusCode::CONFLICT,
            },
            lumenflow_core::Error::Invalid(_) | lumenflow_core::Error::Action(_) => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Runs blocking governor work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("task: {e}")))?
}

/// The routes, with the host check and security headers on every one.
pub fn router(daemon: Arc<Daemon>, console: Arc<Console>) -> Router {
    let app = App {
        daemon,
        console,
        actions: Arc::new(Mutex::new(HashMap::new())),
    };
    Router::new()
        .route("/", get(index))
        .route("/console.js", get(script))
        .route("/console.css", get(style))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/session", get(session))
        .route("/api/requests", get(requests))
        .route("/api/requests/{id}", get(one_request))
        .route("/api/requests/{id}/vote", post(vote))
        .route("/api/events", get(events))
        .route("/api/evidence", get(evidence))
        .route("/api/budgets", get(budgets))
        .route("/api/verify", get(verify))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Refuses a request for another host (DNS rebinding) and adds the security headers.
async fn guard(State(app): State<App>, req: HttpRequest, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let api = req.uri().path().starts_with("/api/");
    let mut res = if host.as_deref() != Some(app.console.host.as_str()) {
        ApiError::from(AuthError::BadHost {
            got: host,
            want: app.console.host.clone(),
        })
        .into_response()
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}
async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}
async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl App {
    /// The live session of a request's cookie.
    fn session(&self, headers: &HeaderMap) -> ApiResult<(String, Session)> {
        let token = auth::cookie(header_str(headers, header::COOKIE), auth::COOKIE);
        let s = self.console.sessions.get(token)?;
        Ok((token.unwrap_or_default().to_owned(), s))
    }

    /// The checks of a state-changing request: same origin, JSON.
    fn same_origin(&self, headers: &HeaderMap) -> ApiResult<()> {
        let origin = header_str(headers, header::ORIGIN);
        if origin != Some(self.console.origin.as_str()) {
            return Err(AuthError::BadOrigin {
                got: origin.map(str::to_owned),
                want: self.console.origin.clone(),
            }
            .into());
        }
        let ct = header_str(headers, header::CONTENT_TYPE).unwrap_or_default();
        if ct.split(';').next().map(str::trim) != Some("application/json") {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "a state-changing request must be Content-Type: application/json",
            ));
        }
        Ok(())
    }

    /// [`App::same_origin`], a live session and its CSRF token.
    fn changing(&self, headers: &HeaderMap) -> ApiResult<(String, Session)> {
        self.same_origin(headers)?;
        let (token, s) = self.session(headers)?;
        if !auth::csrf_matches(&s, header_str(headers, auth::CSRF_HEADER)) {
            return Err(AuthError::BadCsrf.into());
        }
        Ok((token, s))
    }

    /// The recorded (redacted) action of decision record `id`, if the log holds one
    /// signed by the daemon's key.
    fn action_of(&self, id: &str) -> Option<Value> {
        if let Some(a) = self
            .actions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            return Some(a.clone());
        }
        let dir = self.daemon.governor().store().dir().to_path_buf();
        let key = self.daemon.governor().key_id().to_owned();
        let records = timeline::read(&dir).ok()?;
        let mut m = self.actions.lock().unwrap_or_else(|p| p.into_inner());
        for r in records {
            if r.kind == lumenflow_core::kind::DECISION && r.key == key {
                if let Some(a) = r.body.get("action") {
                    m.insert(r.id(), a.clone());
                }
            }
        }
        m.get(id).cloned()
    }

    /// A request as the API shows it: its fields, `approvals`, the recorded action and
    /// its presentation.
    fn show(&self, r: &Request) -> Value {
        let mut v = serde_json::to_value(r.view()).unwrap_or(Value::Null);
        let action = self.action_of(&r.id);
        let args = action
            .as_ref()
            .and_then(|a| a.get("args"))
            .cloned()
            .unwrap_or(Value::Null);
        v["presentation"] = present::detail(&r.tool, &args);
        v["action"] = action.unwrap_or(Value::Null);
        v
    }
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &Bytes, what: &str) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("{what}: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    id: String,
    secret: String,
}

async fn login(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    app.same_origin(&headers)?;
    let b: LoginBody = json_body(&body, "login")?;
    let c = app.console.clone();
    let id = b.id.clone();
    blocking(move || {
        c.credentials
            .check(&b.id, &b.secret)
            .map_err(ApiError::from)
    })
    .await?;
    let (token, s) = app.console.sessions.open(&id)?;
    app.daemon.log(&format!("console: {id} logged in"));
    let cookie = auth::set_cookie(&token, app.console.sessions.ttl(), app.console.secure);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({ "person": s.person, "csrf": s.csrf })),
    )
        .into_response())
}

async fn logout(State(app): State<App>, headers: HeaderMap) -> ApiResult<Response> {
    let (token, _) = app.changing(&headers)?;
    app.console.sessions.close(&token);
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, auth::clear_cookie())],
    )
        .into_response())
}

async fn session(State(app): State<App>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let (_, s) = app.session(&headers)?;
    Ok(Json(json!({ "person": s.person, "csrf": s.csrf })))
}

async fn requests(State(app): State<App>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    app.session(&headers)?;
    blocking(move || {
        let all = app.daemon.governor().approvals()?;
        let shown: Vec<Value> = all.iter().map(|r| app.show(r)).collect();
        Ok(Json(json!({ "requests": shown })))
    })
    .await
}

async fn one_request(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    app.session(&headers)?;
    blocking(move || {
        let r = app.daemon.governor().approval(&id)?;
        Ok(Json(app.show(&r)))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoteBody {
    verdict: String,
    reason: String,
    binding: String,
}

async fn vote(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let (_, s) = app.changing(&headers)?;
    let b: VoteBody = json_body(&body, "vote")?;
    let verdict: Choice = b
        .verdict
        .parse()
        .map_err(|e: String| ApiError::new(StatusCode::BAD_REQUEST, e))?;
    let reason = b.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("a vote needs a reason of 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    blocking(move || {
        let req = app.daemon.governor().approval(&id)?;
        if req.binding != b.binding {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "the vote is for another action: request {} is bound to {}",
                    req.id, req.binding
                ),
            ));
        }
        let method = VoteAuth::Attested(app.console.method.clone());
        let r = app
            .daemon
            .vote_as(&s.person, &req.id, verdict, &reason, &method)?;
        app.daemon.log(&format!(
            "console: {} voted {} on {}",
            s.person,
            verdict.as_str(),
            req.id
        ));
        Ok(Json(app.show(&r)))
    })
    .await
}

async fn events(State(app): State<App>, headers: HeaderMap) -> ApiResult<Response> {
    let (_, s) = app.session(&headers)?;
    let rx = app.daemon.subscribe();
    let until = tokio::time::Instant::from_std(s.expires);
    let stream = tokio_stream::wrappers::BroadcastStream::new(rx)
        .map(|e| {
            let data = match e {
                Ok(ev) => serde_json::to_string(&ev).unwrap_or_else(|_| "{}".into()),
                // Events were lost: the console re-reads everything anyway.
                Err(_) => "{\"event\":\"lagged\"}".into(),
            };
            Ok::<_, std::convert::Infallible>(SseEvent::default().event("change").data(data))
        })
        // The stream ends with the session.
        .take_until(tokio::time::sleep_until(until));
    let hello = futures_util::stream::once(async {
        Ok::<_, std::convert::Infallible>(SseEvent::default().event("hello").data("{}"))
    });
    Ok(Sse::new(hello.chain(stream))
        .keep_alive(KeepAlive::default())
        .into_response())
}

async fn evidence(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    app.session(&headers)?;
    let filter = timeline::Filter::from_query(&q)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    blocking(move || {
        let dir = app.daemon.governor().store().dir().to_path_buf();
        let key = app.daemon.governor().key_id().to_owned();
        let out = timeline::query(&dir, &key, &filter)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok(Json(out))
    })
    .await
}

async fn budgets(State(app): State<App>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    app.session(&headers)?;
    blocking(move || {
        let b = app.daemon.governor().budgets()?;
        Ok(Json(json!({ "budgets": b })))
    })
    .await
}

async fn verify(State(app): State<App>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    app.session(&headers)?;
    blocking(move || {
        let dir = app.daemon.governor().store().dir().to_path_buf();
        let registry = match &app.daemon.config().registry {
            Some(p) => Some(Arc::new(lumenflow_core::Registry::load(p).map_err(
                |e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            )?)),
            None => None,
        };
        timeline::verify(&dir, &app.console.keyring, registry.as_ref())
            .map(Json)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    })
    .await
}
