//! `lumenflow hook --client NAME` (and the older `decide --hook` / `record --hook`): one
//! coding agent's hook event on standard input, decided or closed, answered in that
//! client's protocol. Every failure before a decision answers the client's blocking
//! form, and is recorded when the evidence directory and key are given. See
//! spec/hooks.md.

use crate::{load_set, read_context, read_text};
use lumenflow_core::hooks::calls::{CallEntry, CallIndex};
use lumenflow_core::hooks::{blocked_outcome, Answer, Client, HookEvent, Phase, Verdict};
use lumenflow_core::{sha256_digest, Action, Context, Effect, Governor, PolicySet};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where a hook finds its policy, context and evidence.
#[derive(Debug, Clone, Default)]
pub struct HookOptions {
    /// Policy layers (needed to decide; not to record an outcome).
    pub policies: Vec<PathBuf>,
    /// A context file.
    pub context: Option<PathBuf>,
    /// The evidence directory.
    pub evidence: Option<PathBuf>,
    /// The signing key.
    pub key: Option<PathBuf>,
    /// The project directory (else the client's environment variable, else the event's).
    pub project_dir: Option<PathBuf>,
    /// The daemon's socket (`lumenflow serve`): decide and record there, not in-process.
    pub server: Option<PathBuf>,
    /// Daemon mode: how long to wait for a person on require_approval (default: the
    /// daemon's `hook.wait_seconds`).
    pub wait: Option<std::time::Duration>,
    /// Daemon mode: where this user's call index lives (default
    /// `$XDG_RUNTIME_DIR/lumenflow`, else `$HOME/.cache/lumenflow`).
    pub calls: Option<PathBuf>,
    /// Daemon mode: how long to wait for each answer (default
    /// [`crate::remote_cmd::TIMEOUT`]).
    pub timeout: Option<std::time::Duration>,
}

/// The record kind of a client's user answering an `ask` at the client's own prompt.
pub use lumenflow_core::hooks::HOST_ANSWER;

pub(crate) fn emit(a: &Answer) -> ExitCode {
    if let Some(e) = &a.stderr {
        eprintln!("{e}");
    }
    if let Some(o) = &a.stdout {
        outln!("{o}");
    }
    ExitCode::from(a.exit)
}

/// Runs one hook event of `client`.
pub fn run(client: Client, opts: &HookOptions) -> ExitCode {
    let input = match read_text("-") {
        Ok(t) => t,
        Err(e) => {
            return emit(&client.block(
                "",
                &format!("LumenFlow could not read the hook event, so the call is blocked: {e}"),
            ))
        }
    };
    let event = match client.event(&input) {
        Ok(ev) => ev,
        Err(e) => {
            let msg = e.to_string();
            let recorded = record_invalid(client, &input, &msg, opts);
            let note = match recorded {
                Ok(Some(id)) => format!(" (recorded as decision {id})"),
                Ok(None) => String::new(),
                Err(r) => format!(" (and it could not be recorded: {r})"),
            };
            return emit(&client.block(
                &event_name_guess(&input),
                &format!("LumenFlow could not decide, so the call is blocked: {msg}{note}"),
            ));
        }
    };
    if let Some(socket) = &opts.server {
        return crate::remote_cmd::hook(&event, socket, opts);
    }
    match event.phase {
        Phase::Before => before(&event, opts),
        Phase::Ignored => emit(&client.acknowledge()),
        Phase::After | Phase::Failed | Phase::PermissionDenied => match after(&event, opts) {
            Ok(()) => emit(&client.acknowledge()),
            Err(e) => {
                eprintln!("lumenflow: {e}");
                ExitCode::from(1)
            }
        },
    }
}

/// The event's name, read leniently from input that did not parse as an event.
fn event_name_guess(input: &str) -> String {
    serde_json::from_str::<Value>(input)
        .ok()
        .and_then(|v| {
            v.get("hook_event_name")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

/// The project directory: `--project-dir`, the context's `worktree`, the client's
/// environment variable, the event's own (Cursor's workspace root), or — for clients
/// whose `cwd` is the session's root — the `cwd`. Never a `cwd` that follows the
/// agent's `cd`.
fn project_dir(
    event: &HookEvent,
    opts: &HookOptions,
    ctx: &Context,
) -> Result<Option<String>, String> {
    if let Some(p) = &opts.project_dir {
        return Ok(Some(p.display().to_string()));
    }
    if ctx.values().contains_key("worktree") {
        return Ok(None);
    }
    for var in event.client.project_env() {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return Ok(Some(v));
            }
        }
    }
    if let Some(p) = &event.project_dir {
        return Ok(Some(p.clone()));
    }
    if event.client.cwd_is_session_root() {
        if let Some(c) = &event.cwd {
            return Ok(Some(c.clone()));
        }
    }
    Err(format!(
        "no project directory: give --project-dir, a context with `worktree`, or set {}",
        match event.client.project_env() {
            [] => "--project-dir".to_owned(),
            vars => vars.join(" or "),
        }
    ))
}

pub(crate) fn context(event: &HookEvent, opts: &HookOptions) -> Result<Context, String> {
    let mut ctx = match &opts.context {
        Some(p) => read_context(p)?,
        None => Context::new(),
    };
    if let Some(dir) = project_dir(event, opts, &ctx)? {
        ctx = ctx.with("worktree", dir);
    }
    if let Some(c) = &event.cwd {
        ctx = ctx.with("cwd", c.clone());
    }
    ctx = ctx.with("client", event.client.name());
    if let Some(m) = &event.permission_mode {
        ctx = ctx.with("permission_mode", m.clone());
    }
    Ok(ctx)
}

fn governor(
    opts: &HookOptions,
    set: PolicySet,
    ctx: Context,
    host_approves: bool,
) -> Result<Option<Governor>, String> {
    match (&opts.evidence, &opts.key) {
        (Some(dir), Some(key)) => {
            crate::evidence_cmd::governor(dir, key, set, ctx, host_approves).map(Some)
        }
        _ => Ok(None),
    }
}

fn before(event: &HookEvent, opts: &HookOptions) -> ExitCode {
    let client = event.client;
    let host_asks = client.can_ask(&event.event_name);
    let decided = (|| -> Result<Verdict, String> {
        if opts.policies.is_empty() {
            return Err("no policy given (--policy)".into());
        }
        let set = load_set(&opts.policies)?;
        let ctx = context(event, opts)?;
        match governor(opts, set.clone(), ctx.clone(), host_asks)? {
            Some(g) => {
                let index = CallIndex::new(opts.evidence.as_deref().unwrap_or(Path::new(".")));
                let mut decisions = Vec::new();
                let mut opened = Vec::new();
                for a in &event.actions {
                    let gd = g
                        .decide(a)
                        .map_err(|e| format!("evidence could not be written: {e}"))?;
                    let open = match gd.decision.effect {
                        Effect::Allow => true,
                        Effect::RequireApproval => host_asks,
                        Effect::Deny => false,
                    };
                    if open {
                        let file = index
                            .add(
                                &event.call,
                                &CallEntry {
                                    decision: gd.id.clone(),
                                    effect: gd.decision.effect,
                                    client: client.name().into(),
                                },
                            )
                            .map_err(|e| e.to_string())?;
                        opened.push((file, gd.id.clone(), gd.decision.effect));
                    }
                    let request = (gd.decision.effect == Effect::RequireApproval && !host_asks)
                        .then(|| gd.id.clone());
                    decisions.push((gd.decision, request));
                }
                let v = Verdict::combine(decisions.iter().map(|(d, r)| (d, r.clone())));
                // Parts of a blocked call (a patch whose other file is denied) never run:
                // close them now, or they would stay open with no after-event to come.
                for (file, id, effect) in opened {
                    let runs = match v.effect {
                        Effect::Allow => true,
                        Effect::RequireApproval => host_asks,
                        Effect::Deny => false,
                    };
                    if runs {
                        continue;
                    }
                    g.record(&id, blocked_outcome(effect, &v.reason))
                        .map_err(|e| e.to_string())?;
                    index.remove(&file).map_err(|e| e.to_string())?;
                }
                Ok(v)
            }
            None => {
                let ds: Vec<_> = event.actions.iter().map(|a| set.decide(a, &ctx)).collect();
                Ok(Verdict::combine(ds.iter().map(|d| (d, None))))
            }
        }
    })();
    match decided {
        Ok(v) => emit(&client.answer(&event.event_name, &v)),
        Err(e) => {
            let note = match record_failed(event, &e, opts) {
                Ok(Some(ids)) => format!(" (recorded as decision {ids})"),
                Ok(None) => String::new(),
                Err(r) => format!(" (and it could not be recorded: {r})"),
            };
            emit(&client.block(
                &event.event_name,
                &format!("LumenFlow could not decide, so the call is blocked: {e}{note}"),
            ))
        }
    }
}

/// Records, with no policy (so denied), the actions of an event LumenFlow could not
/// decide, with why. `None` when no evidence directory is configured.
fn record_failed(
    event: &HookEvent,
    why: &str,
    opts: &HookOptions,
) -> Result<Option<String>, String> {
    let Some(g) = governor(opts, PolicySet::new(vec![]), Context::new(), false)? else {
        return Ok(None);
    };
    let mut ids = Vec::new();
    for a in &event.actions {
        let mut a = a.clone();
        a.metadata.insert("hook_error".into(), json!(why));
        ids.push(g.decide(&a).map_err(|e| e.to_string())?.id);
    }
    Ok(Some(ids.join(", ")))
}

/// Records a malformed event as a decision of an action with an empty tool (so
/// `decided_by: invalid_input`, deny), whose metadata says why and holds the input's
/// digest and its first 2 KiB.
fn record_invalid(
    client: Client,
    input: &str,
    why: &str,
    opts: &HookOptions,
) -> Result<Option<String>, String> {
    let Some(g) = governor(opts, PolicySet::new(vec![]), Context::new(), false)? else {
        return Ok(None);
    };
    let mut end = input.len().min(2048);
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    let mut a = Action::new("", json!({})).map_err(|e| e.to_string())?;
    a.actor = lumenflow_core::Actor::agent(client.name());
    a.metadata.insert("hook_error".into(), json!(why));
    a.metadata.insert("client".into(), json!(client.name()));
    a.metadata.insert(
        "input_digest".into(),
        json!(sha256_digest(input.as_bytes())),
    );
    a.metadata
        .insert("input_excerpt".into(), json!(&input[..end]));
    Ok(Some(g.decide(&a).map_err(|e| e.to_string())?.id))
}

/// Closes the decisions of the event's call.
fn after(event: &HookEvent, opts: &HookOptions) -> Result<(), String> {
    let (Some(dir), Some(_)) = (&opts.evidence, &opts.key) else {
        return Err(
            "recording an outcome needs --evidence (or the evidence directory) and --key".into(),
        );
    };
    let set = if opts.policies.is_empty() {
        PolicySet::new(vec![])
    } else {
        load_set(&opts.policies)?
    };
    let g = governor(opts, set, Context::new(), false)?.ok_or("no evidence directory")?;
    let index = CallIndex::new(dir);
    let entries = index.entries(&event.call).map_err(|e| e.to_string())?;
    if entries.is_empty() {
        return Err(format!(
            "no open decision for this {} call ({}) in {}",
            event.client.name(),
            event.event_name,
            dir.display()
        ));
    }
    let bytes = event.response_bytes().map_err(|e| e.to_string())?;
    for (file, entry) in entries {
        if entry.effect == Effect::RequireApproval {
            let answer = if event.phase == Phase::PermissionDenied {
                "deny"
            } else {
                "allow"
            };
            g.append(vec![(
                HOST_ANSWER.to_owned(),
                json!({
                    "decision": entry.decision,
                    "client": event.client.name(),
                    "answer": answer,
                    "answered_by": "user",
                    "via": format!("{} permission prompt", event.client.name()),
                    "permission_mode": event.permission_mode,
                    "event": event.event_name,
                }),
            )])
            .map_err(|e| e.to_string())?;
        }
        let o = event.outcome(entry.effect, bytes.as_deref());
        match g.record(&entry.decision, o) {
            Ok(_) => {}
            // Closed already (a duplicate after-event, or another process): nothing to do.
            Err(lumenflow_core::EvidenceError::UnknownDecision(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
        index.remove(&file).map_err(|e| e.to_string())?;
    }
    Ok(())
}
