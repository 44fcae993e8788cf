//! The CLI's daemon mode (`--server SOCKET`): decide, record, approvals and log through
//! `lumenflow serve`'s socket with [`lumenflow_core::remote::Client`], and the hook's
//! daemon mode. Every failure fails closed: a hook answers its client's blocking form, a
//! command exits 1 with the daemon's or the connection's error. See spec/serve.md.

use crate::hook_cmd::{emit, HookOptions};
use lumenflow_core::hooks::calls::{CallEntry, CallIndex};
use lumenflow_core::hooks::{blocked_outcome, HookEvent, Phase, Verdict};
use lumenflow_core::remote::{Client, ClientError, Decided};
use lumenflow_core::{Action, Context, Effect, Outcome, RequestState};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// How long a CLI call waits for the daemon's answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to the daemon, with an error that says what to do.
pub fn connect(socket: &Path) -> Result<Client, String> {
    Client::connect(socket, TIMEOUT).map_err(|e| e.to_string())
}

/// This user's call index directory in daemon mode.
fn calls_dir(opts: &HookOptions) -> Result<PathBuf, String> {
    if let Some(d) = &opts.calls {
        return Ok(d.clone());
    }
    for (var, sub) in [
        ("XDG_RUNTIME_DIR", "lumenflow"),
        ("HOME", ".cache/lumenflow"),
    ] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(v).join(sub));
        }
    }
    Err(
        "no directory for the hook's call index: give --calls DIR, or set XDG_RUNTIME_DIR or HOME"
            .into(),
    )
}

/// One hook event in daemon mode.
pub fn hook(event: &HookEvent, socket: &Path, opts: &HookOptions) -> ExitCode {
    let client = event.client;
    match event.phase {
        Phase::Ignored => emit(&client.acknowledge()),
        Phase::Before => match before(event, socket, opts) {
            Ok(v) => emit(&client.answer(&event.event_name, &v)),
            Err(e) => emit(&client.block(
                &event.event_name,
                &format!("LumenFlow could not decide, so the call is blocked: {e}"),
            )),
        },
        Phase::After | Phase::Failed | Phase::PermissionDenied => {
            match after(event, socket, opts) {
                Ok(()) => emit(&client.acknowledge()),
                Err(e) => {
                    eprintln!("lumenflow: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn before(event: &HookEvent, socket: &Path, opts: &HookOptions) -> Result<Verdict, String> {
    let client = event.client;
    let ctx: Context = crate::hook_cmd::context(event, opts)?;
    let mut c =
        Client::connect(socket, opts.timeout.unwrap_or(TIMEOUT)).map_err(|e| e.to_string())?;
    let host_asks = client.can_ask(&event.event_name) && c.hello().host_approval;
    let wait = opts
        .wait
        .unwrap_or(Duration::from_millis(c.hello().hook_wait_ms));
    let index = CallIndex::new(&calls_dir(opts)?);
    let mut decisions = Vec::new();
    let mut opened = Vec::new();
    for a in &event.actions {
        let mut d = c
            .decide_with(a, Some(&ctx), host_asks)
            .map_err(|e| e.to_string())?;
        if let (Some(req), false) = (d.request_id.clone(), host_asks) {
            if !wait.is_zero() {
                d = wait_then_retry(&mut c, a, &ctx, &req, wait, d)?;
            }
        }
        let effect = d.decision.effect;
        let open = match effect {
            Effect::Allow => true,
            Effect::RequireApproval => host_asks,
            Effect::Deny => false,
        };
        if open {
            let file = index
                .add(
                    &event.call,
                    &CallEntry {
                        decision: d.id.clone(),
                        effect,
                        client: client.name().into(),
                    },
                )
                .map_err(|e| e.to_string())?;
            opened.push((file, d.id.clone(), effect));
        }
        let request = (effect == Effect::RequireApproval && !host_asks).then(|| d.id.clone());
        decisions.push((d.decision, request));
    }
    let v = Verdict::combine(decisions.iter().map(|(d, r)| (d, r.clone())));
    let runs = match v.effect {
        Effect::Allow => true,
        Effect::RequireApproval => host_asks,
        Effect::Deny => false,
    };
    if !runs {
        // Parts of a blocked call never run: close them now.
        for (file, id, effect) in opened {
            c.record(&id, blocked_outcome(effect, &v.reason))
                .map_err(|e| e.to_string())?;
            index.remove(&file).map_err(|e| e.to_string())?;
        }
    }
    Ok(v)
}

/// Waits up to `wait` for a person to decide request `req`; if approved, proposes the
/// action again (now allowed by the grant) and returns that decision; otherwise the
/// original one (still require_approval: the call is blocked, the request stays open).
fn wait_then_retry(
    c: &mut Client,
    a: &Action,
    ctx: &Context,
    req: &str,
    wait: Duration,
    first: Decided,
) -> Result<Decided, String> {
    let r = c.wait_for_approval(req, wait).map_err(|e| e.to_string())?;
    match r.request.state {
        RequestState::Approved => c
            .decide_with(a, Some(ctx), false)
            .map_err(|e| e.to_string()),
        RequestState::Pending => {
            let mut d = first;
            d.decision.reason = format!(
                "{} (approval request {req} is still pending after {} s: approve it in the console, then retry)",
                d.decision.reason,
                wait.as_secs()
            );
            Ok(d)
        }
        other => {
            let mut d = first;
            d.decision.effect = Effect::Deny;
            d.decision.reason = format!(
                "{} (approval request {req} was {})",
                d.decision.reason,
                other.as_str()
            );
            Ok(d)
        }
    }
}

fn after(event: &HookEvent, socket: &Path, opts: &HookOptions) -> Result<(), String> {
    let index = CallIndex::new(&calls_dir(opts)?);
    let entries = index.entries(&event.call).map_err(|e| e.to_string())?;
    if entries.is_empty() {
        return Err(format!(
            "no open decision for this {} call ({}) in the call index",
            event.client.name(),
            event.event_name
        ));
    }
    let mut c =
        Client::connect(socket, opts.timeout.unwrap_or(TIMEOUT)).map_err(|e| e.to_string())?;
    let bytes = event.response_bytes().map_err(|e| e.to_string())?;
    for (file, entry) in entries {
        let o = event.outcome(entry.effect, bytes.as_deref());
        match c.record(&entry.decision, o) {
            Ok(_) => {}
            // Closed already (a duplicate after-event): nothing to do.
            Err(ClientError::Refused {
                code: lumenflow_core::remote::ErrorCode::NotFound,
                ..
            }) => {}
            Err(e) => return Err(e.to_string()),
        }
        index.remove(&file).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `lumenflow decide --server SOCKET`: the daemon decides and records; prints as
/// in-process `decide` does (with `evidence.id`).
pub fn decide(
    socket: &Path,
    action: &Action,
    context: Option<&Context>,
    json: bool,
) -> Result<ExitCode, String> {
    let mut c = connect(socket)?;
    let d = c
        .decide_with(action, context, false)
        .map_err(|e| format!("the decision could not be made, so it must not be acted on: {e}"))?;
    if json {
        let mut v = serde_json::to_value(&d.decision).map_err(|e| e.to_string())?;
        v["evidence"] = serde_json::json!({"id": d.id, "hash": d.hash});
        v["verdict"] = serde_json::to_value(d.verdict).map_err(|e| e.to_string())?;
        if let Some(r) = &d.request_id {
            v["request_id"] = serde_json::json!(r);
        }
        outln!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
        );
    } else {
        crate::print_decision(&d.decision);
        outln!("recorded decision {}", d.id);
    }
    Ok(ExitCode::SUCCESS)
}

/// `lumenflow record --server SOCKET`: records the outcome of one of this user's decisions.
pub fn record(
    socket: &Path,
    decision: Option<String>,
    st: Option<crate::StatusArg>,
    output: Option<PathBuf>,
    error: Option<String>,
    duration_ms: Option<u64>,
    (cost, tokens): (Option<f64>, Option<i64>),
) -> Result<ExitCode, String> {
    let id = decision.ok_or("--decision is required")?;
    let mut outcome = Outcome::new(crate::evidence_cmd::status(
        st.ok_or("--status is required")?,
    ));
    if let Some(p) = output {
        let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        outcome = outcome.with_output(&bytes);
    }
    outcome.error = error;
    outcome.duration_ms = duration_ms;
    outcome.cost = cost;
    outcome.tokens = tokens;
    let mut c = connect(socket)?;
    let rec = c.record(&id, outcome).map_err(|e| e.to_string())?;
    outln!("recorded outcome {} for decision {id}", rec.id());
    Ok(ExitCode::SUCCESS)
}

/// `lumenflow approvals list --server SOCKET`: this user's requests.
pub fn approvals(socket: &Path, all: bool, json: bool) -> Result<ExitCode, String> {
    let mut c = connect(socket)?;
    let reqs: Vec<_> = c
        .approvals()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|r| all || r.request.state == RequestState::Pending)
        .collect();
    for r in &reqs {
        if json {
            outln!("{}", crate::state_cmd::json_line(r)?);
        } else {
            crate::state_cmd::print_request(&r.request);
        }
    }
    if !json && reqs.is_empty() {
        outln!("no {}approval requests", if all { "" } else { "pending " });
    }
    Ok(ExitCode::SUCCESS)
}

/// `lumenflow log --server SOCKET`: this user's records.
pub fn log(socket: &Path, session: Option<String>, json: bool) -> Result<ExitCode, String> {
    let mut c = connect(socket)?;
    let records = c.log(session.as_deref(), None).map_err(|e| e.to_string())?;
    crate::evidence_cmd::print_records(records, json);
    Ok(ExitCode::SUCCESS)
}
