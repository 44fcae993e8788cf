//! The agents' Unix socket: binding it with its mode and group, reading the peer's
//! credentials (SO_PEERCRED), and serving the protocol of
//! [`lumenflow_core::remote::protocol`] — decide, record, own requests, wait; nothing
//! else. Normative description: `spec/serve.md`.

use crate::config::Config;
use crate::daemon::{Daemon, DaemonError, OwnError, Peer};
use lumenflow_core::remote::protocol::{
    parse_request, Decided, ErrorCode, Hello, Op, Reply, RequestInfo, MAX_LINE_BYTES,
    PROTOCOL_VERSION,
};
use serde_json::Value;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// Binds the socket of `config`: removes a stale socket left by a daemon that died (never
/// any other kind of file), binds, sets the mode and the group.
pub fn bind(config: &Config) -> Result<UnixListener, DaemonError> {
    let path = &config.socket;
    let shown = path.display().to_string();
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(DaemonError::Io(
                format!("{shown} exists and is not a socket; not replacing it"),
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(DaemonError::Io(
                format!("{shown}: another daemon is serving this socket"),
                std::io::Error::from(std::io::ErrorKind::AddrInUse),
            ));
        }
        std::fs::remove_file(path)
            .map_err(|e| DaemonError::Io(format!("removing the stale socket {shown}"), e))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| DaemonError::Io(format!("creating {}", dir.display()), e))?;
    }
    let listener =
        UnixListener::bind(path).map_err(|e| DaemonError::Io(format!("binding {shown}"), e))?;
    if let Some(g) = &config.socket_group {
        let gid = group_id(g).ok_or_else(|| {
            DaemonError::Io(
                format!("socket_group {g:?}: no such group"),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            )
        })?;
        std::os::unix::fs::chown(path, None, Some(gid))
            .map_err(|e| DaemonError::Io(format!("giving {shown} to group {g}"), e))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(config.socket_mode))
        .map_err(|e| DaemonError::Io(format!("setting the mode of {shown}"), e))?;
    Ok(listener)
}

/// The gid of a group name (or a number).
fn group_id(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return Some(n);
    }
    let c = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 16384];
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::group = std::ptr::null_mut();
    // SAFETY: getgrnam_r writes into `grp` and `buf` (of the given length) only; `out`
    // is set to `&grp` on success.
    let rc = unsafe {
        libc::getgrnam_r(
            c.as_ptr(),
            &mut grp,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut out,
        )
    };
    (rc == 0 && !out.is_null()).then_some(grp.gr_gid)
}

/// Accepts connections until the daemon stops; each is served on its own task.
pub async fn serve(daemon: Arc<Daemon>, listener: UnixListener) -> Result<(), DaemonError> {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                daemon.log(&format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let d = daemon.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(d.clone(), stream).await {
                d.log(&format!("connection ended: {e}"));
            }
        });
    }
}

/// Serves one connection: requests in order, one reply each.
async fn connection(daemon: Arc<Daemon>, stream: UnixStream) -> std::io::Result<()> {
    // Who is asking is what the kernel says, never what the client says. No credentials:
    // no service.
    let cred = stream.peer_cred()?;
    let mut peer = Peer::from_cred(cred.uid(), cred.gid(), cred.pid().unwrap_or(0));
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if !buf.ends_with(b"\n") {
            let r = Reply::err(
                0,
                ErrorCode::BadRequest,
                format!("request longer than {MAX_LINE_BYTES} bytes or not ended by a newline"),
            );
            write_reply(&mut write, &r).await?;
            return Ok(());
        }
        let reply = match parse_request(&buf) {
            Err(r) => r,
            Ok(env) => handle(&daemon, &mut peer, env.id, env.op).await,
        };
        write_reply(&mut write, &reply).await?;
    }
}

async fn write_reply(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    r: &Reply,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
    line.push(b'\n');
    write.write_all(&line).await
}

fn to_value<T: serde::Serialize>(id: u64, t: &T) -> Reply {
    match serde_json::to_value(t) {
        Ok(v) => Reply::ok(id, v),
        Err(e) => Reply::err(
            id,
            ErrorCode::Internal,
            format!("cannot encode the answer: {e}"),
        ),
    }
}

fn core_error(id: u64, e: &lumenflow_core::Error) -> Reply {
    use lumenflow_core::{ApprovalError, Error, EvidenceError};
    let code = match e {
        Error::NotOwner { .. } => ErrorCode::NotOwner,
        Error::Evidence(EvidenceError::UnknownDecision(_))
        | Error::Approval(ApprovalError::UnknownRequest(_)) => ErrorCode::NotFound,
        Error::Action(_) | Error::Invalid(_) => ErrorCode::Invalid,
        _ => ErrorCode::Internal,
    };
    Reply::err(id, code, e.to_string())
}

fn own_error(id: u64, e: &OwnError) -> Reply {
    match e {
        // Another actor's request is answered as unknown: its existence is not the
        // asker's business.
        OwnError::NotFound(r) | OwnError::NotOwner(r) => Reply::err(
            id,
            ErrorCode::NotFound,
            format!("no approval request {r} of yours"),
        ),
        OwnError::Core(c) => core_error(id, c),
    }
}

fn info(r: lumenflow_core::Request) -> RequestInfo {
    let approvals = r.approvals();
    RequestInfo {
        request: r,
        approvals,
    }
}

/// Runs a blocking daemon call off the async threads.
async fn blocking<T: Send + 'static>(
    id: u64,
    f: impl FnOnce() -> Result<T, Reply> + Send + 'static,
) -> Result<T, Reply> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(Reply::err(
            id,
            ErrorCode::Internal,
            format!("daemon task failed: {e}"),
        )),
    }
}

async fn handle(daemon: &Arc<Daemon>, peer: &mut Peer, id: u64, op: Op) -> Reply {
    let d = daemon.clone();
    let p = peer.clone();
    let result: Result<Value, Reply> = match op {
        Op::Hello { session } => {
            peer.session = session;
            let cfg = daemon.config();
            return to_value(
                id,
                &Hello {
                    protocol: PROTOCOL_VERSION,
                    actor: peer.actor.clone(),
                    uid: peer.uid,
                    pid: peer.pid,
                    max_wait_ms: cfg.max_wait.as_millis() as u64,
                    hook_wait_ms: cfg.hook.wait_seconds * 1000,
                    host_approval: cfg.hook.host_approval,
                    key_id: daemon.governor().key_id().to_owned(),
                },
            );
        }
        Op::Decide {
            action,
            context,
            host_approves,
        } => {
            blocking(id, move || {
                let g = d
                    .decide(&p, action, context, host_approves)
                    .map_err(|e| core_error(id, &e))?;
                let out = Decided {
                    id: g.id.clone(),
                    hash: g.hash.clone(),
                    verdict: g.verdict(),
                    request_id: g.request().map(str::to_owned),
                    decision: g.decision,
                };
                serde_json::to_value(out)
                    .map_err(|e| Reply::err(id, ErrorCode::Internal, e.to_string()))
            })
            .await
        }
        Op::Record { decision, outcome } => {
            blocking(id, move || {
                let r = d
                    .record(&p, &decision, outcome.into())
                    .map_err(|e| core_error(id, &e))?;
                serde_json::to_value(r)
                    .map_err(|e| Reply::err(id, ErrorCode::Internal, e.to_string()))
            })
            .await
        }
        Op::Request { request } => {
            blocking(id, move || {
                let r = d.own_request(&p, &request).map_err(|e| own_error(id, &e))?;
                serde_json::to_value(info(r))
                    .map_err(|e| Reply::err(id, ErrorCode::Internal, e.to_string()))
            })
            .await
        }
        Op::WaitForApproval {
            request,
            timeout_ms,
        } => {
            blocking(id, move || {
                let r = d
                    .wait_for_approval(&p, &request, Duration::from_millis(timeout_ms))
                    .map_err(|e| own_error(id, &e))?;
                serde_json::to_value(info(r))
                    .map_err(|e| Reply::err(id, ErrorCode::Internal, e.to_string()))
            })
            .await
        }
        Op::Approvals {} => {
            blocking(id, move || {
                let rs = d.own_requests(&p).map_err(|e| core_error(id, &e))?;
                let v: Vec<RequestInfo> = rs.into_iter().map(info).collect();
                serde_json::to_value(v)
                    .map_err(|e| Reply::err(id, ErrorCode::Internal, e.to_string()))
            })
            .await
        }
        Op::Log { session, limit } => {
            blocking(id, move || {
                let rs = d
                    .own_log(&p, session.as_deref(), limit)
                    .map_err(|e| core_error(id, &e))?;
                serde_json::to_value(rs)
                    .map_err(|e| Reply::err(id, ErrorCode::Internal, e.to_string()))
            })
            .await
        }
    };
    match result {
        Ok(v) => Reply::ok(id, v),
        Err(r) => r,
    }
}
