//! How the proxy is reached: on its own standard input and output (one client, the
//! process that launched it), or as a Streamable HTTP server on a loopback address
//! (`/mcp`, one [`Proxy`] and one server connection per MCP session).

use crate::gate::Gate;
use crate::proxy::{Proxy, Target};
use http_body_util::BodyExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::ServiceExt;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Why the proxy could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The client's connection failed before the handshake completed.
    #[error("the MCP client's handshake failed: {0}")]
    Handshake(String),
    /// The listen address is not a loopback address.
    #[error("--listen {0}: only a loopback address (127.0.0.0/8, ::1) is served")]
    NotLoopback(SocketAddr),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)
}

/// Serves one client on standard input and output until it disconnects (the server
/// child is stopped then).
pub fn stdio(gate: Arc<Gate>, target: Target) -> Result<(), ServeError> {
    runtime()?.block_on(async move {
        let proxy = Proxy::new(gate, Arc::new(target));
        let running = proxy
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| ServeError::Handshake(e.to_string()))?;
        let _ = running.waiting().await;
        Ok(())
    })
}

/// Serves Streamable HTTP at `http://<listen>/mcp` until interrupted (SIGINT or
/// SIGTERM). `ready` is called with the bound address once it accepts connections.
pub fn http(
    gate: Arc<Gate>,
    target: Target,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    if !listen.ip().is_loopback() {
        return Err(ServeError::NotLoopback(listen));
    }
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| ServeError::Bind { addr: listen, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr: listen, source })?;
        let ct = CancellationToken::new();
        let target = Arc::new(target);
        let mut config = StreamableHttpServerConfig::default();
        config.cancellation_token = ct.clone();
        let service = StreamableHttpService::new(
            move || Ok(Proxy::new(gate.clone(), target.clone())),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        ready(bound);
        let stop = ct.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            stop.cancel();
        });
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = ct.cancelled() => break,
            };
            let Ok((stream, _)) = accepted else { continue };
            let service = service.clone();
            let ct = ct.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut service = service.clone();
                    async move {
                        if req.uri().path() != "/mcp" {
                            let body = http_body_util::Full::new(bytes::Bytes::from_static(
                                b"LumenFlow serves MCP at /mcp\n",
                            ))
                            .map_err(|e| match e {})
                            .boxed();
                            let mut not_found = hyper::Response::new(body);
                            *not_found.status_mut() = hyper::StatusCode::NOT_FOUND;
                            return Ok::<_, std::convert::Infallible>(not_found);
                        }
                        tower_service::Service::call(&mut service, req).await
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
                tokio::select! {
                    _ = conn => {}
                    () = ct.cancelled() => {}
                }
            });
        }
        Ok(())
    })
}
