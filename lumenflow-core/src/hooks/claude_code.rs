//! Claude Code's command hooks: `PreToolUse` (decide), `PostToolUse` (success, unless
//! the response says otherwise), `PostToolUseFailure` (failure, with the event's
//! `error`), `PermissionDenied` (the user refused at Claude Code's prompt).
//!
//! Every event carries `session_id`, `transcript_path`, `cwd`, `permission_mode`,
//! `hook_event_name`, and for tool events `tool_name`, `tool_input`, `tool_use_id`;
//! a subagent's events also `agent_id` and `agent_type`. Tools map to actions:
//!
//! | `tool_name` | `action.tool` | normalised `args` |
//! |---|---|---|
//! | `Bash` | `bash` | `command`; `cwd` ← the event's `cwd` |
//! | `Write` | `write` | `path` ← `file_path` (absolute against `cwd`) |
//! | `Edit`, `MultiEdit`, `NotebookEdit` | `edit` | `path` ← `file_path` / `notebook_path` |
//! | `Read` | `read` | `path` ← `file_path` |
//! | `Glob` | `glob` | `path` ← where `pattern` reaches below `path` (else `cwd`): [`paths::glob_root`] |
//! | `Grep`, `LS` | `grep`, `ls` | `path` ← `path`, else `cwd` |
//! | `WebFetch` | `http` | `url`, `method` = `GET` |
//! | anything else (`WebSearch`, `Task`, `mcp__server__tool`) | the name in lower case | as given |
//!
//! The actor is `claude-code`; `metadata` holds `tool_name`, `tool_use_id`, `cwd`,
//! `hook_event_name`, `permission_mode`, `agent_id` and `agent_type` when given.

use super::{
    absolute_path, action, args_at, call_key, check_paths, copy, error_text, object, paths, text,
    Client, HookError, HookEvent, Phase,
};
use serde_json::{json, Map, Value};

/// Reads one Claude Code hook event.
pub fn event(input: &str) -> Result<HookEvent, HookError> {
    claude_like(Client::ClaudeCode, input)
}

/// Reads an event of Claude Code's shape (Claude Code's, and Codex's, which follows it).
pub(crate) fn claude_like(client: Client, input: &str) -> Result<HookEvent, HookError> {
    let name = client.name();
    let obj = object(name, input)?;
    let event_name = text(&obj, "hook_event_name").unwrap_or_else(|| "PreToolUse".into());
    let phase = match event_name.as_str() {
        "PreToolUse" => Phase::Before,
        "PostToolUse" => Phase::After,
        "PostToolUseFailure" => Phase::Failed,
        "PermissionDenied" => Phase::PermissionDenied,
        _ => Phase::Ignored,
    };
    let tool_name = match obj.get("tool_name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ if phase == Phase::Ignored => String::new(),
        Some(_) => {
            return Err(HookError::field(
                name,
                "tool_name",
                "must be a non-empty string",
            ))
        }
        None => return Err(HookError::field(name, "tool_name", "missing")),
    };
    let tool_input = args_at(name, &obj, "tool_input")?;
    if matches!(obj.get("tool_input"), Some(Value::String(_))) {
        return Err(HookError::field(name, "tool_input", "must be an object"));
    }
    check_paths(name, &tool_input)?;
    let cwd = text(&obj, "cwd");
    let session = text(&obj, "session_id").unwrap_or_default();
    let tool_use_id = text(&obj, "tool_use_id");
    let mut metadata = Map::new();
    metadata.insert("tool_name".into(), json!(tool_name));
    for k in [
        "tool_use_id",
        "cwd",
        "hook_event_name",
        "permission_mode",
        "agent_id",
        "agent_type",
        "turn_id",
        "model",
    ] {
        if let Some(v) = text(&obj, k) {
            metadata.insert(k.into(), json!(v));
        }
    }
    let actions = if phase == Phase::Ignored {
        Vec::new()
    } else {
        let mapped = match client {
            Client::Codex => {
                super::codex::map_tool(&tool_name, tool_input.clone(), cwd.as_deref())?
            }
            _ => vec![map_tool(&tool_name, tool_input.clone(), cwd.as_deref())],
        };
        let n = mapped.len();
        mapped
            .into_iter()
            .enumerate()
            .map(|(i, (tool, args))| {
                let mut m = metadata.clone();
                if n > 1 {
                    m.insert("part".into(), json!(format!("{}/{n}", i + 1)));
                }
                action(client, &tool, args, session.clone(), m)
            })
            .collect()
    };
    let call = match &tool_use_id {
        Some(id) => call_key(json!([name, session, id])),
        None => call_key(json!([name, session, tool_name, tool_input])),
    };
    let (response, error) = match phase {
        Phase::Failed => {
            let e = obj
                .get("error")
                .and_then(error_text)
                .unwrap_or_else(|| "the tool failed".into());
            let e = if obj.get("is_interrupt") == Some(&Value::Bool(true)) {
                format!("interrupted: {e}")
            } else {
                e
            };
            (obj.get("tool_response").cloned(), Some(e))
        }
        Phase::After => {
            let r = obj
                .get("tool_response")
                .or_else(|| obj.get("tool_output"))
                .cloned();
            let e = r.as_ref().and_then(response_failure);
            (r, e)
        }
        Phase::PermissionDenied => (None, text(&obj, "reason")),
        _ => (None, None),
    };
    Ok(HookEvent {
        client,
        event_name,
        phase,
        actions,
        call,
        cwd,
        project_dir: None,
        response,
        error,
        permission_mode: text(&obj, "permission_mode"),
    })
}

/// Maps a tool of Claude Code's naming to an action's tool and args.
pub(crate) fn map_tool(
    tool_name: &str,
    input: Map<String, Value>,
    cwd: Option<&str>,
) -> (String, Map<String, Value>) {
    let mut args = input;
    let tool = match tool_name {
        "Bash" => {
            if let Some(c) = cwd {
                args.entry("cwd").or_insert_with(|| json!(c));
            }
            "bash".to_owned()
        }
        "Write" => {
            copy(&mut args, "file_path", "path");
            absolute_path(&mut args, cwd);
            "write".to_owned()
        }
        "Edit" | "MultiEdit" | "NotebookEdit" => {
            copy(&mut args, "file_path", "path");
            copy(&mut args, "notebook_path", "path");
            absolute_path(&mut args, cwd);
            "edit".to_owned()
        }
        "Read" => {
            copy(&mut args, "file_path", "path");
            absolute_path(&mut args, cwd);
            "read".to_owned()
        }
        "Glob" => {
            let base = match args.get("path").and_then(Value::as_str) {
                Some(p) => cwd.map_or_else(|| p.to_owned(), |c| paths::join(c, p)),
                None => cwd.unwrap_or_default().to_owned(),
            };
            let pattern = args
                .get("pattern")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            args.insert("path".into(), json!(paths::glob_root(&base, &pattern)));
            "glob".to_owned()
        }
        "Grep" | "LS" => {
            if !args.contains_key("path") {
                if let Some(c) = cwd {
                    args.insert("path".into(), json!(c));
                }
            }
            absolute_path(&mut args, cwd);
            tool_name.to_ascii_lowercase()
        }
        "WebFetch" => {
            args.entry("method").or_insert_with(|| json!("GET"));
            "http".to_owned()
        }
        other => other.to_ascii_lowercase(),
    };
    (tool, args)
}

/// Why a `PostToolUse` response says the tool failed, if it does: `success: false`,
/// `is_error: true`, `interrupted: true`, a non-zero `exit_code`/`exitCode`, or a
/// non-empty `error` (NotebookEdit reports success as `"error": ""`).
pub(crate) fn response_failure(response: &Value) -> Option<String> {
    let flag = |k: &str, v: bool| response.get(k) == Some(&Value::Bool(v));
    if let Some(e) = response.get("error").and_then(error_text) {
        return Some(e);
    }
    if flag("success", false) {
        return Some("the tool reported success: false".into());
    }
    if flag("is_error", true) {
        return Some("the tool reported an error".into());
    }
    if flag("interrupted", true) {
        return Some("the tool was interrupted".into());
    }
    // Codex's shell responses carry the exit code.
    for k in ["exit_code", "exitCode"] {
        if let Some(c) = response.get(k).and_then(Value::as_i64) {
            if c != 0 {
                return Some(format!("exit code {c}"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &str) -> crate::Action {
        let e = event(input).unwrap();
        assert_eq!(e.actions.len(), 1, "{input}");
        e.actions.into_iter().next().unwrap()
    }

    #[test]
    fn maps_tools() {
        let a = one(
            r#"{"session_id":"abc","cwd":"/w","hook_event_name":"PreToolUse","permission_mode":"acceptEdits","tool_name":"Bash","tool_input":{"command":"git push -f","description":"push"},"tool_use_id":"t1","agent_id":"sub-1","agent_type":"Explore"}"#,
        );
        assert_eq!(a.tool, "bash");
        assert_eq!(a.args["command"], "git push -f");
        assert_eq!(a.args["cwd"], "/w");
        assert_eq!(a.session, "abc");
        assert_eq!(a.metadata["tool_use_id"], "t1");
        assert_eq!(a.metadata["permission_mode"], "acceptEdits");
        assert_eq!(a.metadata["agent_id"], "sub-1");
        assert_eq!(a.metadata["agent_type"], "Explore");
        let a = one(
            r#"{"tool_name":"Edit","tool_input":{"file_path":"/w/a.rs","old_string":"a","new_string":"b"}}"#,
        );
        assert_eq!(
            (a.tool.as_str(), a.args["path"].as_str()),
            ("edit", Some("/w/a.rs"))
        );
        let a = one(
            r#"{"tool_name":"Read","cwd":"/w/src","tool_input":{"file_path":"../../etc/passwd"}}"#,
        );
        assert_eq!(a.args["path"], "/w/src/../../etc/passwd");
        let a = one(r#"{"tool_name":"WebFetch","tool_input":{"url":"https://x.io","prompt":"p"}}"#);
        assert_eq!(
            (a.tool.as_str(), a.args["method"].as_str()),
            ("http", Some("GET"))
        );
        let a = one(r#"{"tool_name":"Grep","cwd":"/w","tool_input":{"pattern":"x"}}"#);
        assert_eq!(a.args["path"], "/w");
        let a = one(r#"{"tool_name":"mcp__gh__create_issue","tool_input":{}}"#);
        assert_eq!(a.tool, "mcp__gh__create_issue");
        assert!(event("[]").is_err());
        assert!(event(r#"{"tool_input":{}}"#).is_err());
        assert!(event(r#"{"tool_name":"Bash","tool_input":"x"}"#).is_err());
        assert!(event(r#"{"tool_name":7,"tool_input":{}}"#).is_err());
        // The adversary names one file for the policy and another for the tool.
        assert!(event(r#"{"tool_name":"Write","tool_input":{"file_path":"/etc/cron.d/x","path":"/w/ok.txt","content":"x"}}"#).is_err());
        assert!(
            event(r#"{"tool_name":"Read","tool_input":{"file_path":["/w/a","/etc/shadow"]}}"#)
                .is_err()
        );
        assert!(
            event(r#"{"tool_name":"Write","tool_input":{"file_path":"/w/a","path":"/w/a"}}"#)
                .is_ok()
        );
    }

    #[test]
    fn glob_pattern_is_checked_with_path() {
        let glob = |input: &str| one(input).args["path"].as_str().unwrap().to_owned();
        assert_eq!(
            glob(r#"{"tool_name":"Glob","cwd":"/w","tool_input":{"pattern":"**/*.rs"}}"#),
            "/w"
        );
        assert_eq!(
            glob(r#"{"tool_name":"Glob","cwd":"/w","tool_input":{"pattern":"/etc/**/*.conf"}}"#),
            "/etc"
        );
        assert_eq!(
            glob(
                r#"{"tool_name":"Glob","cwd":"/w","tool_input":{"pattern":"../../home/*/.ssh/*","path":"/w/src"}}"#
            ),
            "/home"
        );
    }

    #[test]
    fn outcomes() {
        let post = |r: &str| {
            let e = event(&format!(
                r#"{{"hook_event_name":"PostToolUse","tool_name":"NotebookEdit","tool_input":{{}},"tool_use_id":"t","tool_response":{r}}}"#
            ))
            .unwrap();
            assert_eq!(e.phase, Phase::After);
            e.error
        };
        assert_eq!(post(r#"{"new_source":"x","cell_id":"c","error":""}"#), None);
        assert_eq!(
            post(r#"{"error":"no such cell"}"#),
            Some("no such cell".into())
        );
        assert_eq!(
            post(r#"{"stdout":"a","stderr":"","interrupted":false}"#),
            None
        );
        assert!(post(r#"{"success":false}"#).is_some());
        assert_eq!(
            post(r#"{"exit_code":1,"output":"boom"}"#),
            Some("exit code 1".into())
        );
        assert_eq!(post(r#"{"exit_code":0,"output":"ok"}"#), None);
        assert_eq!(post(r#""Success. Updated the following files""#), None);
        let e = event(r#"{"hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_input":{"command":"false"},"tool_use_id":"t","error":"Exit code 1","is_interrupt":false}"#).unwrap();
        assert_eq!(
            (e.phase, e.error.as_deref()),
            (Phase::Failed, Some("Exit code 1"))
        );
        let pre = event(r#"{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"false"},"tool_use_id":"t"}"#).unwrap();
        let post = event(r#"{"session_id":"s","hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_input":{"command":"false"},"tool_use_id":"t","error":"x"}"#).unwrap();
        assert_eq!(pre.call, post.call);
        let other = event(r#"{"session_id":"s2","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"false"},"tool_use_id":"t"}"#).unwrap();
        assert_ne!(pre.call, other.call);
    }
}
