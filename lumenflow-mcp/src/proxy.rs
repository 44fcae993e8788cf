//! The proxy's two faces on rmcp: [`Proxy`] is the MCP server the client talks to (one
//! per client connection), and `Upstream` the MCP client it keeps to the real server.
//! `tools/call` goes through the [`Gate`]; `tools/list` may be filtered; every other
//! request and notification is forwarded as it came, in both directions (the server's
//! sampling, elicitation and roots requests reach the client), with progress tokens and
//! cancellations translated to the other side's request ids.

// rmcp marks logging and resources/subscribe deprecated for the 2026-07-28 revision; the
// proxy speaks 2025-11-25, where they are current, and forwards them.
#![allow(deprecated)]

use crate::gate::{Admission, Gate};
use lumenflow_core::hooks::mcp::Profile;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult, ClientConfig,
    ClientNotification, ClientRequest, ClientResult, CompleteRequest, CompleteRequestParams,
    CompleteResult, ContentBlock, CustomNotification, CustomRequest, CustomResult,
    ElicitRequestParams, ElicitationAction, GetMeta, GetPromptRequest, GetPromptRequestParams,
    GetPromptResponse, Implementation, InitializeRequestParams, InitializeResult,
    ListPromptsRequest, ListPromptsResult, ListResourceTemplatesRequest,
    ListResourceTemplatesResult, ListResourcesRequest, ListResourcesResult, ListToolsRequest,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ProgressToken,
    ProtocolVersion, ReadResourceRequest, ReadResourceRequestParams, ReadResourceResponse,
    RequestMetaObject, ServerNotification, ServerRequest, ServerResult, SetLevelRequest,
    SetLevelRequestParams, SubscribeRequest, SubscribeRequestParams, UnsubscribeRequest,
    UnsubscribeRequestParams,
};
use rmcp::service::{
    NotificationContext, PeerRequestOptions, RequestContext, RoleClient, RoleServer,
    RunningService, ServiceRole,
};
use rmcp::{ErrorData as McpError, Peer, ServerHandler, Service, ServiceError, ServiceExt};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// The newest protocol revision the proxy speaks: the newest with an `initialize`
/// handshake (2025-11-25), the one the npm servers and the SDK clients' handshakes use.
pub const NEWEST: ProtocolVersion = ProtocolVersion::LATEST_WITH_INITIALIZE;

/// What the proxy fronts.
#[derive(Debug, Clone)]
pub enum Target {
    /// A server it launches and speaks to on the child's standard input and output.
    Command {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// A Streamable HTTP server at this URL (`http://`).
    Url(String),
}

/// Progress tokens of forwarded requests: the token the proxy's peer gave the request
/// → the token the original sender gave it.
type ProgressMap = Arc<Mutex<HashMap<ProgressToken, ProgressToken>>>;

/// The live connection to the server.
struct Link {
    running: RunningService<RoleClient, Upstream>,
    info: InitializeResult,
    profile: Profile,
}

impl Link {
    fn peer(&self) -> &Peer<RoleClient> {
        self.running.peer()
    }
}

/// The MCP client side, facing the server: forwards what the server asks of the client.
struct Upstream {
    client: Peer<RoleServer>,
    info: ClientConfig,
    progress: ProgressMap,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> McpError {
    McpError::internal_error(format!("LumenFlow: {what}: {e}"), None)
}

fn service_error(e: ServiceError, what: &str) -> McpError {
    match e {
        ServiceError::McpError(e) => e,
        other => unavailable(what, other),
    }
}

/// Sends `request` to `peer`, giving it the original sender's metadata; a cancellation of
/// the original (`ct`) cancels it on the other side. The peer's own progress token is
/// mapped back to the original one for the progress notifications it causes.
async fn forward<R: ServiceRole>(
    peer: &Peer<R>,
    mut request: R::Req,
    meta: RequestMetaObject,
    ct: &CancellationToken,
    progress: &ProgressMap,
    cancel: fn(Value) -> Option<R::Not>,
) -> Result<R::PeerResp, ServiceError>
where
    R::Req: GetMeta<Metadata = RequestMetaObject>,
{
    let original = meta.get_progress_token();
    *request.get_meta_mut() = meta;
    let handle = peer
        .send_request_with_option(request, PeerRequestOptions::no_options())
        .await?;
    let id = handle.id.clone();
    let token = handle.progress_token.clone();
    if let Some(t) = original {
        lock(progress).insert(token.clone(), t);
    }
    let result = tokio::select! {
        r = handle.await_response() => r,
        () = ct.cancelled() => {
            if let Some(n) = cancel(json!({
                "method": "notifications/cancelled",
                "params": {"requestId": id, "reason": "cancelled by the client"},
            })) {
                let _ = peer.send_notification(n).await;
            }
            Err(ServiceError::Cancelled { reason: Some("cancelled by the client".into()) })
        }
    };
    lock(progress).remove(&token);
    result
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn client_cancel(v: Value) -> Option<ClientNotification> {
    serde_json::from_value(v).ok()
}

fn server_cancel(v: Value) -> Option<ServerNotification> {
    serde_json::from_value(v).ok()
}

impl Service<RoleClient> for Upstream {
    async fn handle_request(
        &self,
        request: ServerRequest,
        context: RequestContext<RoleClient>,
    ) -> Result<ClientResult, McpError> {
        forward(
            &self.client,
            request,
            context.meta,
            &context.ct,
            &Arc::new(Mutex::new(HashMap::new())),
            server_cancel,
        )
        .await
        .map_err(|e| service_error(e, "the client did not answer the server's request"))
    }

    async fn handle_notification(
        &self,
        mut notification: ServerNotification,
        context: NotificationContext<RoleClient>,
    ) -> Result<(), McpError> {
        *notification.get_meta_mut() = context.meta;
        match &mut notification {
            // Cancellations name the proxy's request ids: `forward` sends its own.
            ServerNotification::CancelledNotification(_) => return Ok(()),
            ServerNotification::ProgressNotification(p) => {
                let Some(original) = lock(&self.progress).get(&p.params.progress_token).cloned()
                else {
                    return Ok(());
                };
                p.params.progress_token = original;
            }
            _ => {}
        }
        let _ = self.client.send_notification(notification).await;
        Ok(())
    }

    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }
}

/// The governing MCP server one client connection talks to.
pub struct Proxy {
    gate: Arc<Gate>,
    target: Arc<Target>,
    link: tokio::sync::OnceCell<Result<Link, String>>,
    progress: ProgressMap,
}

impl Proxy {
    /// A proxy for one client connection; it connects to `target` when the client
    /// initializes.
    pub fn new(gate: Arc<Gate>, target: Arc<Target>) -> Proxy {
        Proxy {
            gate,
            target,
            link: tokio::sync::OnceCell::new(),
            progress: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The connection to the server, opened on first use with the client's handshake
    /// (its capabilities and identity are the server's to see), at most [`NEWEST`].
    async fn link(&self, client: &Peer<RoleServer>) -> Result<&Link, McpError> {
        let r = self
            .link
            .get_or_init(|| async {
                let mut info = client.peer_info().map(|i| (*i).clone()).unwrap_or_else(|| {
                    InitializeRequestParams::new(
                        Default::default(),
                        Implementation::new("lumenflow-mcp", env!("CARGO_PKG_VERSION")),
                    )
                });
                if info.protocol_version.as_str() > NEWEST.as_str() {
                    info.protocol_version = NEWEST;
                }
                let mut link =
                    connect(&self.target, info, client.clone(), self.progress.clone()).await?;
                if let Some(p) = self.gate.options().profile {
                    link.profile = p;
                }
                Ok(link)
            })
            .await;
        r.as_ref()
            .map_err(|e| unavailable("the MCP server could not be reached", e))
    }

    async fn pass(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, McpError> {
        let link = self.link(&context.peer).await?;
        forward(
            link.peer(),
            request,
            context.meta,
            &context.ct,
            &self.progress,
            client_cancel,
        )
        .await
        .map_err(|e| service_error(e, "the MCP server did not answer"))
    }

    async fn call(
        &self,
        mut params: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let refuse = |text: String| Ok(CallToolResult::error(vec![ContentBlock::text(text)]));
        let link = match self.link(&context.peer).await {
            Ok(l) => l,
            Err(e) => return refuse(e.message.to_string()),
        };
        let (client, can_ask) = match context.peer.peer_info() {
            Some(i) => (
                i.client_info.name.clone(),
                i.capabilities.elicitation.is_some(),
            ),
            None => ("mcp-client".to_owned(), false),
        };
        let gate = self.gate.clone();
        let (tool, args, profile, who) = (
            params.name.to_string(),
            params.arguments.clone(),
            link.profile,
            client.clone(),
        );
        let admitted = gate_call(move || gate.admit(&tool, args, profile, &who, can_ask))
            .await
            .unwrap_or_else(|e| {
                Admission::Refuse(format!(
                    "LumenFlow could not decide, so the call was not run: {e}"
                ))
            });
        let (id, arguments, asked) = match admitted {
            Admission::Refuse(text) => return refuse(text),
            Admission::Run { id, arguments } => (id, arguments, false),
            Admission::Ask {
                id,
                arguments,
                message,
            } => {
                let (approved, detail) = ask(&context.peer, &message).await;
                let gate = self.gate.clone();
                let (rid, rclient, rdetail) = (id.clone(), client.clone(), detail.clone());
                let recorded = gate_call(move || gate.answer(&rid, approved, &rclient, &rdetail))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                if let Err(e) = recorded {
                    return refuse(format!(
                        "LumenFlow could not record the answer, so the call was not run: {e} (decision {id})"
                    ));
                }
                if !approved {
                    return refuse(format!(
                        "LumenFlow: the call was not approved ({detail}), so it was not run (decision {id})"
                    ));
                }
                (id, arguments, true)
            }
        };
        params.arguments = Some(arguments);
        let start = Instant::now();
        let sent = forward(
            link.peer(),
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            context.meta,
            &context.ct,
            &self.progress,
            client_cancel,
        )
        .await;
        let took = start.elapsed();
        let (outcome, answer): (Result<Value, String>, Result<CallToolResult, McpError>) = match sent {
            Ok(ServerResult::CallToolResult(r)) => (
                serde_json::to_value(&r).map_err(|e| e.to_string()),
                Ok(r),
            ),
            Ok(other) => (
                Err(format!("the server answered tools/call with {}", kind(&other))),
                refuse(format!(
                    "LumenFlow: the MCP server answered with {} instead of a tool result (decision {id})",
                    kind(&other)
                )),
            ),
            Err(ServiceError::McpError(e)) => (Err(format!("the server answered with error {}: {}", e.code.0, e.message)), Err(e)),
            Err(e) => (
                Err(format!("no answer from the server: {e}")),
                refuse(format!(
                    "LumenFlow: the MCP server failed before answering, so the call's outcome is unknown: {e} (decision {id})"
                )),
            ),
        };
        let gate = self.gate.clone();
        let rid = id.clone();
        let recorded = gate_call(move || {
            gate.finish(&rid, outcome.as_ref().map_err(String::as_str), took, asked)
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        if let Err(e) = recorded {
            eprintln!("lumenflow mcp: the outcome of decision {id} could not be recorded: {e}");
        }
        answer
    }
}

/// Runs a (synchronous) gate call on this worker thread, the runtime moving its other
/// tasks elsewhere meanwhile: no hand-off to a blocking thread and back on every call.
async fn gate_call<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    Ok(tokio::task::block_in_place(f))
}

fn kind(r: &ServerResult) -> &'static str {
    match r {
        ServerResult::CreateTaskResult(_) => "a task",
        ServerResult::InputRequiredResult(_) => "an input request",
        ServerResult::EmptyResult(_) => "an empty result",
        _ => "another kind of result",
    }
}

/// Asks the client's user to approve (an elicitation form with one boolean, `approve`).
/// Approved only if the user accepts with `approve: true`; anything else (a decline, a
/// cancel, an error, a malformed answer) refuses. Returns the answer and what it was.
async fn ask(client: &Peer<RoleServer>, message: &str) -> (bool, String) {
    let params: ElicitRequestParams = match serde_json::from_value(json!({
        "mode": "form",
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": {
                "approve": {
                    "type": "boolean",
                    "title": "Approve",
                    "description": "Run this tool call once, as shown"
                }
            },
            "required": ["approve"]
        }
    })) {
        Ok(p) => p,
        Err(e) => return (false, format!("the approval form could not be built: {e}")),
    };
    match client.create_elicitation(params).await {
        Ok(r) => match r.action {
            ElicitationAction::Accept => {
                let yes = r
                    .content
                    .as_ref()
                    .and_then(|c| c.get("approve"))
                    .and_then(Value::as_bool)
                    == Some(true);
                if yes {
                    (true, "accepted with approve: true".into())
                } else {
                    (
                        false,
                        format!(
                            "accepted without approve: true ({})",
                            r.content.unwrap_or_default()
                        ),
                    )
                }
            }
            ElicitationAction::Decline => (false, "declined".into()),
            ElicitationAction::Cancel => (false, "cancelled".into()),
            _ => (false, "an answer this proxy does not know".into()),
        },
        Err(e) => (
            false,
            format!("the client did not answer the approval request: {e}"),
        ),
    }
}

async fn connect(
    target: &Target,
    info: ClientConfig,
    client: Peer<RoleServer>,
    progress: ProgressMap,
) -> Result<Link, String> {
    let upstream = Upstream {
        client,
        info,
        progress,
    };
    let running = match target {
        Target::Command { program, args } => {
            let mut cmd = tokio::process::Command::new(program);
            cmd.args(args);
            let (transport, _) = rmcp::transport::TokioChildProcess::builder(cmd)
                .stderr(std::process::Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot start `{program}`: {e}"))?;
            upstream
                .serve(transport)
                .await
                .map_err(|e| format!("`{program}` did not complete the MCP handshake: {e}"))?
        }
        Target::Url(url) => upstream
            .serve(rmcp::transport::StreamableHttpClientTransport::from_uri(
                url.as_str(),
            ))
            .await
            .map_err(|e| format!("{url} did not complete the MCP handshake: {e}"))?,
    };
    let peer_info = running
        .peer()
        .peer_info()
        .ok_or("the server sent no initialize result")?;
    let mut info = InitializeResult::new(peer_info.capabilities.clone());
    info.protocol_version = peer_info.protocol_version.clone();
    if let Some(s) = &peer_info.server_info {
        info.server_info = s.clone();
    }
    info.instructions = peer_info.instructions.clone();
    let profile = Profile::detect(
        peer_info
            .server_info
            .as_ref()
            .map(|s| s.name.as_str())
            .unwrap_or_default(),
    );
    Ok(Link {
        running,
        info,
        profile,
    })
}

macro_rules! pass_through {
    ($self:ident, $ctx:ident, $req:expr, $variant:ident) => {
        match $self.pass($req, $ctx).await? {
            ServerResult::$variant(r) => Ok(r.into()),
            other => Err(McpError::internal_error(
                format!("LumenFlow: the MCP server answered with {}", kind(&other)),
                None,
            )),
        }
    };
}

macro_rules! pass_empty {
    ($self:ident, $ctx:ident, $req:expr) => {
        match $self.pass($req, $ctx).await? {
            ServerResult::EmptyResult(_) => Ok(()),
            other => Err(McpError::internal_error(
                format!("LumenFlow: the MCP server answered with {}", kind(&other)),
                None,
            )),
        }
    };
}

impl ServerHandler for Proxy {
    fn get_info(&self) -> InitializeResult {
        match self.link.get() {
            Some(Ok(l)) => l.info.clone(),
            _ => InitializeResult::default(),
        }
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        let newest = match self.link.get() {
            Some(Ok(l)) if l.info.protocol_version.as_str() < NEWEST.as_str() => {
                l.info.protocol_version.clone()
            }
            _ => NEWEST,
        };
        Cow::Borrowed(ProtocolVersion::known_up_to(&newest))
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        context.peer.set_peer_info(request.clone());
        let link = self.link(&context.peer).await?;
        Ok(link.info.clone())
    }

    async fn ping(&self, context: RequestContext<RoleServer>) -> Result<(), McpError> {
        pass_empty!(
            self,
            context,
            ClientRequest::PingRequest(Default::default())
        )
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        pass_through!(
            self,
            context,
            ClientRequest::CompleteRequest(CompleteRequest::new(request)),
            CompleteResult
        )
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        pass_empty!(
            self,
            context,
            ClientRequest::SetLevelRequest(SetLevelRequest::new(request))
        )
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        pass_through!(
            self,
            context,
            ClientRequest::GetPromptRequest(GetPromptRequest::new(request)),
            GetPromptResult
        )
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let r = ListPromptsRequest {
            params: request,
            ..Default::default()
        };
        pass_through!(
            self,
            context,
            ClientRequest::ListPromptsRequest(r),
            ListPromptsResult
        )
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let r = ListResourcesRequest {
            params: request,
            ..Default::default()
        };
        pass_through!(
            self,
            context,
            ClientRequest::ListResourcesRequest(r),
            ListResourcesResult
        )
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let r = ListResourceTemplatesRequest {
            params: request,
            ..Default::default()
        };
        pass_through!(
            self,
            context,
            ClientRequest::ListResourceTemplatesRequest(r),
            ListResourceTemplatesResult
        )
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        pass_through!(
            self,
            context,
            ClientRequest::ReadResourceRequest(ReadResourceRequest::new(request)),
            ReadResourceResult
        )
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        pass_empty!(
            self,
            context,
            ClientRequest::SubscribeRequest(SubscribeRequest::new(request))
        )
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        pass_empty!(
            self,
            context,
            ClientRequest::UnsubscribeRequest(UnsubscribeRequest::new(request))
        )
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        self.call(request, context)
            .await
            .map(CallToolResponse::from)
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let r = ListToolsRequest {
            params: request,
            ..Default::default()
        };
        let mut listed: ListToolsResult = pass_through!(
            self,
            context,
            ClientRequest::ListToolsRequest(r),
            ListToolsResult
        )?;
        listed.tools.retain(|t| self.gate.visible(&t.name));
        Ok(listed)
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        pass_through!(
            self,
            context,
            ClientRequest::CustomRequest(request),
            CustomResult
        )
    }

    async fn on_progress(
        &self,
        _notification: ProgressNotificationParam,
        _context: NotificationContext<RoleServer>,
    ) {
        // A client's progress is about a request the server sent it; those are forwarded
        // with the proxy's own tokens, which the server does not know: dropped.
    }

    async fn on_roots_list_changed(&self, context: NotificationContext<RoleServer>) {
        if let Ok(link) = self.link(&context.peer).await {
            if let Ok(n) = serde_json::from_value::<ClientNotification>(
                json!({"method": "notifications/roots/list_changed"}),
            ) {
                let _ = link.peer().send_notification(n).await;
            }
        }
    }

    async fn on_custom_notification(
        &self,
        notification: CustomNotification,
        context: NotificationContext<RoleServer>,
    ) {
        if let Ok(link) = self.link(&context.peer).await {
            let _ = link
                .peer()
                .send_notification(ClientNotification::CustomNotification(notification))
                .await;
        }
    }
}
