//! Agent-client hook protocols: one file per client, each turning that client's events
//! into [`Action`]s of ONE schema (the `bash`/`write`/`edit`/`read`/`glob`/`grep`/`ls`/
//! `http`/MCP shapes policies already see) and a [`Decision`] into the answer the client
//! expects, in that client's blocking form on any failure. Normative: `spec/hooks.md`.
//!
//! Owns: [`claude_code`], [`codex`], [`cursor`], [`gemini`], [`copilot`] (the mappings),
//! [`patch`] (Codex `apply_patch` parsing), [`paths`] (where a file tool reaches),
//! [`calls`] (the index from a client's call to its decisions), [`git`] (the action of a
//! commit or a push), [`mcp`] (an MCP `tools/call` as an action, for `lumenflow mcp`). May use: [`crate::action`], [`crate::policy`], [`crate::evidence`].

pub mod calls;
pub mod claude_code;
pub mod codex;
pub mod copilot;
pub mod cursor;
pub mod gemini;
pub mod git;
pub mod mcp;
pub mod patch;
pub mod paths;

use crate::action::{Action, Actor};
use crate::govern::governor::{Outcome, Status};
use crate::policy::decide::{Decision, Effect};
use serde_json::{json, Map, Value};

/// The record kind of a client's user answering an approval at the client's own prompt
/// (Claude Code's `ask`, an MCP client's elicitation): the host's word, recorded as such.
pub const HOST_ANSWER: &str = "host_answer";

/// Why a hook event could not be read (the call is then blocked, and recorded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// The input is not JSON, or not a JSON object.
    #[error("invalid {client} hook input: {message}")]
    Malformed {
        /// The client whose protocol was expected.
        client: &'static str,
        /// What is wrong, and where.
        message: String,
    },
    /// A field the protocol requires is missing or of the wrong type.
    #[error("invalid {client} hook input: field `{field}`: {message}")]
    Field {
        /// The client whose protocol was expected.
        client: &'static str,
        /// The field (a JSON path such as `tool_input.command`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A Codex patch that cannot be parsed (so what it writes is unknown).
    #[error(
        "invalid {client} hook input: the patch cannot be read: {0}",
        client = "codex"
    )]
    Patch(#[from] patch::PatchError),
}

impl HookError {
    pub(crate) fn field(client: &'static str, field: &str, message: impl Into<String>) -> Self {
        HookError::Field {
            client,
            field: field.to_owned(),
            message: message.into(),
        }
    }
    pub(crate) fn malformed(client: &'static str, message: impl Into<String>) -> Self {
        HookError::Malformed {
            client,
            message: message.into(),
        }
    }
}

/// The agent clients whose hook protocol LumenFlow speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    /// Anthropic's Claude Code (`PreToolUse`, `PostToolUse`, `PostToolUseFailure`, `PermissionDenied`).
    ClaudeCode,
    /// OpenAI's Codex CLI (Claude-compatible `PreToolUse` / `PostToolUse`).
    Codex,
    /// Cursor (`beforeShellExecution`, `beforeMCPExecution`, `beforeReadFile`, `preToolUse`, and the `after…` events).
    Cursor,
    /// Google's Gemini CLI (`BeforeTool` / `AfterTool`).
    Gemini,
    /// GitHub Copilot CLI (`preToolUse` / `postToolUse`).
    Copilot,
}

impl Client {
    /// Every client.
    pub const ALL: [Client; 5] = [
        Client::ClaudeCode,
        Client::Codex,
        Client::Cursor,
        Client::Gemini,
        Client::Copilot,
    ];

    /// The client's name on the command line and in evidence (`claude-code`, `codex`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Client::ClaudeCode => "claude-code",
            Client::Codex => "codex",
            Client::Cursor => "cursor",
            Client::Gemini => "gemini",
            Client::Copilot => "copilot",
        }
    }

    /// The client named `name`, if any.
    pub fn from_name(name: &str) -> Option<Client> {
        Client::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Environment variables through which the client tells a hook its project directory,
    /// most specific first.
    pub fn project_env(self) -> &'static [&'static str] {
        match self {
            Client::ClaudeCode => &["CLAUDE_PROJECT_DIR"],
            Client::Gemini => &["GEMINI_PROJECT_DIR", "CLAUDE_PROJECT_DIR"],
            Client::Cursor => &["CURSOR_PROJECT_DIR"],
            Client::Codex | Client::Copilot => &[],
        }
    }

    /// Whether the event's `cwd` is the session's root (it does not follow a `cd` of the
    /// agent's shell), so that it may stand for the project directory.
    pub fn cwd_is_session_root(self) -> bool {
        matches!(self, Client::Codex | Client::Copilot)
    }

    /// Reads one hook event of this client.
    pub fn event(self, input: &str) -> Result<HookEvent, HookError> {
        match self {
            Client::ClaudeCode => claude_code::event(input),
            Client::Codex => codex::event(input),
            Client::Cursor => cursor::event(input),
            Client::Gemini => gemini::event(input),
            Client::Copilot => copilot::event(input),
        }
    }

    /// Whether the client can ask its user itself for `event_name` (then a
    /// `require_approval` is answered with the client's "ask", and the user's answer is
    /// the approval); otherwise a `require_approval` is answered as a block.
    pub fn can_ask(self, event_name: &str) -> bool {
        match self {
            Client::ClaudeCode => true,
            Client::Cursor => event_name != "beforeReadFile",
            // Codex refuses `ask` from a hook (and would then run the tool); Gemini and
            // Copilot process only allow and deny.
            Client::Codex | Client::Gemini | Client::Copilot => false,
        }
    }

    /// The answer to a before-event, given the decision of every action it carried (the
    /// most restrictive decides). `request` names the approval request a blocked
    /// `require_approval` opened, if any.
    pub fn answer(self, event_name: &str, verdict: &Verdict) -> Answer {
        match verdict.effect {
            Effect::Allow => self.allow(event_name, &verdict.reason),
            Effect::RequireApproval if self.can_ask(event_name) => {
                self.ask(event_name, &verdict.reason)
            }
            Effect::RequireApproval => {
                let how = match &verdict.request {
                    Some(id) => format!(
                        "; approval request {id} is open: once it is approved (lumenflow approve), the same call is allowed"
                    ),
                    None => String::new(),
                };
                self.block(
                    event_name,
                    &format!("LumenFlow: approval required: {}{how}", verdict.reason),
                )
            }
            Effect::Deny => self.block(event_name, &format!("LumenFlow: {}", verdict.reason)),
        }
    }

    /// The answer that blocks the call (a deny, or LumenFlow failing: fail closed).
    pub fn block(self, event_name: &str, message: &str) -> Answer {
        let stdout = match self {
            Client::ClaudeCode | Client::Codex => permission_json(event_name, "deny", message),
            Client::Cursor => {
                json!({"permission": "deny", "user_message": message, "agent_message": message})
            }
            Client::Gemini => json!({"decision": "deny", "reason": message}),
            Client::Copilot => {
                json!({"permissionDecision": "deny", "permissionDecisionReason": message})
            }
        };
        Answer {
            stdout: Some(stdout.to_string()),
            stderr: Some(message.to_owned()),
            exit: 0,
        }
    }

    fn allow(self, event_name: &str, reason: &str) -> Answer {
        let reason = format!("LumenFlow: {reason}");
        let stdout = match self {
            Client::ClaudeCode => Some(permission_json(event_name, "allow", &reason)),
            // Codex treats `allow` without `updatedInput` as unsupported: say nothing.
            Client::Codex => None,
            Client::Cursor => Some(json!({"permission": "allow"})),
            Client::Gemini => Some(json!({"decision": "allow"})),
            Client::Copilot => Some(json!({"permissionDecision": "allow"})),
        };
        Answer {
            stdout: stdout.map(|v| v.to_string()),
            stderr: None,
            exit: 0,
        }
    }

    fn ask(self, event_name: &str, reason: &str) -> Answer {
        let reason = format!("LumenFlow: approval required: {reason}");
        let stdout = match self {
            Client::Cursor => {
                json!({"permission": "ask", "user_message": reason, "agent_message": reason})
            }
            _ => permission_json(event_name, "ask", &reason),
        };
        Answer {
            stdout: Some(stdout.to_string()),
            stderr: None,
            exit: 0,
        }
    }

    /// The answer to an after-event (the outcome is recorded; nothing is changed).
    pub fn acknowledge(self) -> Answer {
        let stdout = match self {
            Client::Cursor | Client::Gemini => Some("{}".to_owned()),
            Client::ClaudeCode | Client::Codex | Client::Copilot => None,
        };
        Answer {
            stdout,
            stderr: None,
            exit: 0,
        }
    }
}

fn permission_json(event_name: &str, decision: &str, reason: &str) -> Value {
    let name = if event_name.is_empty() {
        "PreToolUse"
    } else {
        event_name
    };
    json!({
        "hookSpecificOutput": {
            "hookEventName": name,
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    })
}

/// What a hook prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The JSON for standard output, if any.
    pub stdout: Option<String>,
    /// A line for standard error, if any.
    pub stderr: Option<String>,
    /// The exit code.
    pub exit: u8,
}

/// The combined verdict on an event's actions: the most restrictive effect, its reason,
/// and the approval request a `require_approval` opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// deny > require_approval > allow.
    pub effect: Effect,
    /// The deciding decision's reason.
    pub reason: String,
    /// The approval request's id, when LumenFlow opened one.
    pub request: Option<String>,
}

impl Verdict {
    /// The most restrictive of `decisions` (each with the request id it opened, if any);
    /// no decision at all is a deny.
    pub fn combine<'a>(
        decisions: impl IntoIterator<Item = (&'a Decision, Option<String>)>,
    ) -> Verdict {
        let rank = |e: Effect| match e {
            Effect::Allow => 0,
            Effect::RequireApproval => 1,
            Effect::Deny => 2,
        };
        let mut best: Option<Verdict> = None;
        for (d, request) in decisions {
            if best
                .as_ref()
                .is_none_or(|b| rank(d.effect) > rank(b.effect))
            {
                best = Some(Verdict {
                    effect: d.effect,
                    reason: d.reason.clone(),
                    request,
                });
            }
        }
        best.unwrap_or(Verdict {
            effect: Effect::Deny,
            reason: "the event proposed no action".into(),
            request: None,
        })
    }
}

/// Which moment of a tool call an event reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Before the tool runs: decide.
    Before,
    /// After the tool ran (its response may still say it failed).
    After,
    /// The tool failed (Claude Code's `PostToolUseFailure`).
    Failed,
    /// The client's user refused the call at the client's own prompt.
    PermissionDenied,
    /// An event LumenFlow does not govern (answered with the client's neutral answer).
    Ignored,
}

/// One hook event, mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    /// Whose protocol.
    pub client: Client,
    /// The client's event name (`PreToolUse`, `beforeShellExecution`, ...).
    pub event_name: String,
    /// Before, after, failed, ...
    pub phase: Phase,
    /// The actions it proposes (one per file for a patch; usually one).
    pub actions: Vec<Action>,
    /// Correlates an after-event with its before-event: the client's call id, else a
    /// digest of the session, tool and input.
    pub call: String,
    /// The directory the tool runs in, if given.
    pub cwd: Option<String>,
    /// The project directory the event names (Cursor's `workspace_roots[0]`), if any.
    pub project_dir: Option<String>,
    /// The tool's response (after-events), if given.
    pub response: Option<Value>,
    /// The failure the client reports (failed events), if any.
    pub error: Option<String>,
    /// The client's permission mode (`default`, `acceptEdits`, `plan`, `bypassPermissions`, ...), if given.
    pub permission_mode: Option<String>,
}

impl HookEvent {
    /// What an after-event's output is digested as: its response as canonical JSON
    /// (`None` without a response). Compute it once per event, for all its decisions.
    pub fn response_bytes(&self) -> Result<Option<Vec<u8>>, serde_json::Error> {
        self.response
            .as_ref()
            .map(crate::evidence::canonical::to_vec)
            .transpose()
    }

    /// The outcome this after-event reports for one of its decisions, of effect
    /// `effect`, with `output` (from [`HookEvent::response_bytes`]) digested. The user
    /// refusing at the client's prompt closes a decision as denied, but an allowed one
    /// as unknown ("not run": closing an allow as denied would refund its budget); a
    /// reported failure is a failure; anything else is a success.
    pub fn outcome(&self, effect: Effect, output: Option<&[u8]>) -> Outcome {
        let o = match (&self.phase, &self.error) {
            (Phase::PermissionDenied, e) => {
                let why = e
                    .clone()
                    .unwrap_or_else(|| "the user refused the call at the client's prompt".into());
                if effect == Effect::Allow {
                    let mut o = Outcome::new(Status::Unknown);
                    o.error = Some(format!("not run: {why}"));
                    o
                } else {
                    let mut o = Outcome::new(Status::Denied);
                    o.error = Some(why);
                    o
                }
            }
            (_, Some(e)) => Outcome::failure(e.clone()),
            (Phase::Failed, None) => Outcome::failure("the tool failed"),
            _ => Outcome::success(),
        };
        match output {
            Some(b) => o.with_output(b),
            None => o,
        }
    }
}

/// The outcome of a decision of effect `effect` whose call was blocked before it ran
/// (`reason`: why): an allowed part closes as unknown (closing an allow as denied would
/// refund its budget), any other as denied.
pub fn blocked_outcome(effect: Effect, reason: &str) -> Outcome {
    let mut o = Outcome::new(if effect == Effect::Allow {
        Status::Unknown
    } else {
        Status::Denied
    });
    o.error = Some(format!("not run: the call was blocked ({reason})"));
    o
}

/// One mapped tool call: an action's tool and its args.
pub(crate) type Mapped = (String, Map<String, Value>);

/// Text field `k` of `obj`, if it is a string.
pub(crate) fn text(obj: &Map<String, Value>, k: &str) -> Option<String> {
    obj.get(k).and_then(Value::as_str).map(str::to_owned)
}

/// Parses `input` as a JSON object.
pub(crate) fn object(client: &'static str, input: &str) -> Result<Map<String, Value>, HookError> {
    match serde_json::from_str::<Value>(input) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(HookError::malformed(client, "expected a JSON object")),
        Err(e) => Err(HookError::malformed(client, e.to_string())),
    }
}

/// The object at `field` (absent or null: empty). A string holding a JSON object (as
/// Copilot and Cursor's MCP events send) is parsed.
pub(crate) fn args_at(
    client: &'static str,
    obj: &Map<String, Value>,
    field: &str,
) -> Result<Map<String, Value>, HookError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(HookError::field(
                client,
                field,
                "the JSON string must hold an object",
            )),
            Err(e) => Err(HookError::field(client, field, format!("not JSON: {e}"))),
        },
        Some(_) => Err(HookError::field(client, field, "must be an object")),
    }
}

/// A correlation key from parts: `sha256:` of their canonical JSON.
pub(crate) fn call_key(parts: Value) -> String {
    crate::evidence::canonical::digest(&parts).unwrap_or_default()
}

/// An action of `tool` with `args`, as `client` proposes it in `session`.
pub(crate) fn action(
    client: Client,
    tool: &str,
    args: Map<String, Value>,
    session: String,
    metadata: Map<String, Value>,
) -> Action {
    Action {
        tool: tool.to_owned(),
        args,
        actor: Actor::agent(client.name()),
        session,
        run: String::new(),
        metadata,
        cost: None,
        tokens: None,
    }
}

/// The argument names under which clients give a file or directory a tool works on.
pub(crate) const PATH_KEYS: [&str; 10] = [
    "path",
    "file_path",
    "notebook_path",
    "absolute_path",
    "filePath",
    "target_file",
    "target_notebook",
    "dir_path",
    "directory",
    "target_directory",
];

/// Refuses arguments that name a path ambiguously: a path key that is not a string, or
/// two path keys with different values (`{"file_path": "/etc/x", "path": "/w/ok"}` would
/// let the policy check one file while the tool writes another).
pub(crate) fn check_paths(
    client: &'static str,
    args: &Map<String, Value>,
) -> Result<(), HookError> {
    let mut seen: Option<(&str, &str)> = None;
    for k in PATH_KEYS {
        match args.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) => match seen {
                Some((k0, v0)) if v0 != v => {
                    return Err(HookError::field(
                        client,
                        &format!("tool_input.{k}"),
                        format!("names {v:?} but `{k0}` names {v0:?}: which file the tool uses is ambiguous"),
                    ))
                }
                Some(_) => {}
                None => seen = Some((k, v)),
            },
            Some(_) => {
                return Err(HookError::field(client, &format!("tool_input.{k}"), "must be a string"))
            }
        }
    }
    Ok(())
}

/// Copies `from` to `to` unless `to` is set.
pub(crate) fn copy(args: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = args.get(from).cloned() {
        args.entry(to.to_owned()).or_insert(v);
    }
}

/// Makes `args.path` absolute against `cwd` (a relative path names a file below the
/// directory the tool runs in, not below the project).
pub(crate) fn absolute_path(args: &mut Map<String, Value>, cwd: Option<&str>) {
    if let (Some(Value::String(p)), Some(c)) = (args.get("path"), cwd) {
        if !p.starts_with('/') {
            let joined = paths::join(c, p);
            args.insert("path".into(), json!(joined));
        }
    }
}

/// A human-readable one-line error from a tool's response value: a non-empty string,
/// or any other non-null value as JSON.
pub(crate) fn error_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(false) => None,
        other => Some(other.to_string()),
    }
}
