//! Agent-runtime hook protocols: turning a runtime's pre-tool-use event into an
//! [`Action`], and a [`Decision`] into the answer the runtime expects.
//!
//! Claude Code (`PreToolUse` / `PostToolUse` command hooks) sends JSON on standard input:
//! `session_id`, `cwd`, `hook_event_name`, `tool_name`, `tool_input` and `tool_use_id`
//! (and, after the tool ran, `tool_response`). Its tools map to actions as follows, with
//! every field of `tool_input` kept in `args`:
//!
//! | `tool_name` | `action.tool` | normalised `args` |
//! |---|---|---|
//! | `Bash` | `bash` | `command` |
//! | `Write` | `write` | `path` ← `file_path` |
//! | `Edit`, `MultiEdit`, `NotebookEdit` | `edit` | `path` ← `file_path` / `notebook_path` |
//! | `Read` | `read` | `path` ← `file_path` |
//! | `Glob`, `Grep`, `LS` | `glob`, `grep`, `ls` | `path` ← `path`, else the session's `cwd` |
//! | `WebFetch` | `http` | `url`, `method` = `GET` |
//! | anything else (`WebSearch`, `Task`, `mcp__server__tool`) | the name in lower case | as given |
//!
//! The actor is `claude-code` (an agent), the session is `session_id`, and `metadata`
//! holds `tool_name`, `tool_use_id` and `cwd`. The answer maps allow/deny/require_approval
//! to `permissionDecision` allow/deny/ask, with the decision's reason.

use crate::action::{Action, Actor};
use crate::policy::decide::{Decision, Effect};
use serde_json::{json, Map, Value};

/// Why a hook event could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Claude Code hook input: {0}")]
pub struct HookError(pub String);

/// The parts of a Claude Code hook event LumenFlow uses.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaudeEvent {
    /// The action it proposes.
    pub action: Action,
    /// The session's working directory, if given.
    pub cwd: Option<String>,
    /// `tool_use_id`, if given.
    pub tool_use_id: Option<String>,
    /// `tool_response` (PostToolUse), if given.
    pub tool_response: Option<Value>,
}

/// Reads a Claude Code `PreToolUse` or `PostToolUse` event.
pub fn claude_code_event(input: &str) -> Result<ClaudeEvent, HookError> {
    let v: Value = serde_json::from_str(input).map_err(|e| HookError(e.to_string()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| HookError("expected a JSON object".into()))?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    let tool_name = text("tool_name").ok_or_else(|| HookError("missing tool_name".into()))?;
    let tool_input = match obj.get("tool_input") {
        Some(Value::Object(m)) => m.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(HookError("tool_input must be an object".into())),
    };
    let cwd = text("cwd");
    let mut args = tool_input.clone();
    let tool = match tool_name.as_str() {
        "Bash" => "bash".to_owned(),
        "Write" => {
            copy(&mut args, "file_path", "path");
            "write".to_owned()
        }
        "Edit" | "MultiEdit" | "NotebookEdit" => {
            copy(&mut args, "file_path", "path");
            copy(&mut args, "notebook_path", "path");
            "edit".to_owned()
        }
        "Read" => {
            copy(&mut args, "file_path", "path");
            "read".to_owned()
        }
        "Glob" | "Grep" | "LS" => {
            if !args.contains_key("path") {
                if let Some(c) = &cwd {
                    args.insert("path".into(), json!(c));
                }
            }
            tool_name.to_ascii_lowercase()
        }
        "WebFetch" => {
            args.entry("method").or_insert_with(|| json!("GET"));
            "http".to_owned()
        }
        other => other.to_ascii_lowercase(),
    };
    let mut metadata = Map::new();
    metadata.insert("tool_name".into(), json!(tool_name));
    if let Some(id) = text("tool_use_id") {
        metadata.insert("tool_use_id".into(), json!(id));
    }
    if let Some(c) = &cwd {
        metadata.insert("cwd".into(), json!(c));
    }
    let action = Action {
        tool,
        args,
        actor: Actor::agent("claude-code"),
        session: text("session_id").unwrap_or_default(),
        run: String::new(),
        metadata,
        cost: None,
        tokens: None,
    };
    Ok(ClaudeEvent {
        action,
        cwd,
        tool_use_id: text("tool_use_id"),
        tool_response: obj.get("tool_response").cloned(),
    })
}

fn copy(args: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = args.get(from).cloned() {
        args.entry(to.to_owned()).or_insert(v);
    }
}

/// The answer to a `PreToolUse` hook for `decision`.
pub fn claude_code_answer(decision: &Decision) -> Value {
    let permission = match decision.effect {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
        Effect::RequireApproval => "ask",
    };
    json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": permission,
            "permissionDecisionReason": format!("LumenFlow: {}", decision.reason),
        }
    })
}

/// The answer that blocks a tool when LumenFlow itself fails (fail closed).
pub fn claude_code_failure(message: &str) -> Value {
    json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": format!("LumenFlow could not decide, so the call is blocked: {message}"),
        }
    })
}

/// Whether a `PostToolUse` response says the tool failed.
pub fn claude_code_failed(response: &Value) -> bool {
    response.get("success") == Some(&Value::Bool(false))
        || response.get("is_error") == Some(&Value::Bool(true))
        || response.get("interrupted") == Some(&Value::Bool(true))
        || response.get("error").is_some_and(|e| !e.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_tools() {
        let e = claude_code_event(r#"{"session_id":"abc","cwd":"/w","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git push -f","description":"push"},"tool_use_id":"t1"}"#).unwrap();
        assert_eq!(e.action.tool, "bash");
        assert_eq!(e.action.args["command"], "git push -f");
        assert_eq!(e.action.session, "abc");
        assert_eq!(e.action.metadata["tool_use_id"], "t1");
        let e = claude_code_event(r#"{"tool_name":"Edit","tool_input":{"file_path":"/w/a.rs","old_string":"a","new_string":"b"}}"#).unwrap();
        assert_eq!(
            (e.action.tool.as_str(), e.action.args["path"].as_str()),
            ("edit", Some("/w/a.rs"))
        );
        let e = claude_code_event(
            r#"{"tool_name":"WebFetch","tool_input":{"url":"https://x.io","prompt":"p"}}"#,
        )
        .unwrap();
        assert_eq!(
            (e.action.tool.as_str(), e.action.args["method"].as_str()),
            ("http", Some("GET"))
        );
        let e =
            claude_code_event(r#"{"tool_name":"Grep","cwd":"/w","tool_input":{"pattern":"x"}}"#)
                .unwrap();
        assert_eq!(e.action.args["path"], "/w");
        let e =
            claude_code_event(r#"{"tool_name":"mcp__gh__create_issue","tool_input":{}}"#).unwrap();
        assert_eq!(e.action.tool, "mcp__gh__create_issue");
        assert!(claude_code_event("[]").is_err());
        assert!(claude_code_event(r#"{"tool_input":{}}"#).is_err());
        assert!(claude_code_event(r#"{"tool_name":"Bash","tool_input":"x"}"#).is_err());
    }
}
