//! Cursor's hooks (`.cursor/hooks.json`). Every event carries `hook_event_name`,
//! `conversation_id`, `generation_id`, `workspace_roots` (the first is the project
//! directory) and optionally `model`, `cursor_version`, `user_email`.
//!
//! | event | actions |
//! |---|---|
//! | `beforeShellExecution` (`command`, `cwd`) | `bash` with `command`, `cwd` |
//! | `beforeMCPExecution` (`tool_name`, `tool_input` object or JSON string, `url` or `command` of the server) | `mcp__<server>__<tool>` with `tool_input` as `args`; `<server>` is `url`'s host, else the server command's program, else `unknown` |
//! | `beforeReadFile` (`file_path`, `content`) | `read` with `path` (the content is not recorded) |
//! | `preToolUse` (`tool_name`, `tool_input`, `tool_use_id`?) | `Shell` → `bash`, `Read` → `read`, `Write` → `write`, `Edit`/`StrReplace`/`MultiEdit` → `edit`, `Delete` → `edit` with `delete: true`, `Grep`/`Glob`/`LS` as Claude Code's, `MCP:<tool>` → `mcp__unknown__<tool>`, others in lower case |
//! | `afterShellExecution`, `afterMCPExecution`, `postToolUse`, `postToolUseFailure` | close the call's decisions |
//!
//! The answer is `{"permission": "allow"|"deny"|"ask", "user_message", "agent_message"}`;
//! `beforeReadFile` takes no `ask`, so a `require_approval` there is a deny. Configure the
//! hooks with `"failClosed": true` so that a hook that fails blocks.

use super::{
    absolute_path, action, args_at, call_key, copy, error_text, object, paths, text, Client,
    HookError, HookEvent, Phase,
};
use serde_json::{json, Map, Value};

const NAME: &str = "cursor";

/// Reads one Cursor hook event.
pub fn event(input: &str) -> Result<HookEvent, HookError> {
    let obj = object(NAME, input)?;
    let event_name = text(&obj, "hook_event_name")
        .ok_or_else(|| HookError::field(NAME, "hook_event_name", "missing"))?;
    let session = text(&obj, "conversation_id").unwrap_or_default();
    let generation = text(&obj, "generation_id").unwrap_or_default();
    let project_dir = obj
        .get("workspace_roots")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_str)
        .map(str::to_owned);
    let cwd = text(&obj, "cwd").or_else(|| project_dir.clone());
    let mut metadata = Map::new();
    metadata.insert("hook_event_name".into(), json!(event_name));
    for k in [
        "conversation_id",
        "generation_id",
        "tool_use_id",
        "model",
        "cursor_version",
        "user_email",
    ] {
        if let Some(v) = text(&obj, k) {
            metadata.insert(k.into(), json!(v));
        }
    }
    if let Some(c) = &cwd {
        metadata.insert("cwd".into(), json!(c));
    }
    let command = || -> Result<String, HookError> {
        text(&obj, "command")
            .ok_or_else(|| HookError::field(NAME, "command", "missing or not a string"))
    };
    let (phase, tool, args, key): (Phase, String, Map<String, Value>, Value) =
        match event_name.as_str() {
            "beforeShellExecution" | "afterShellExecution" => {
                let c = command()?;
                let mut a = Map::new();
                a.insert("command".into(), json!(c));
                if let Some(d) = &cwd {
                    a.insert("cwd".into(), json!(d));
                }
                let phase = if event_name.starts_with("before") {
                    Phase::Before
                } else {
                    Phase::After
                };
                (phase, "bash".into(), a, json!(["shell", c]))
            }
            "beforeMCPExecution" | "afterMCPExecution" => {
                let t = text(&obj, "tool_name")
                    .ok_or_else(|| HookError::field(NAME, "tool_name", "missing"))?;
                let a = args_at(NAME, &obj, "tool_input")?;
                let server = mcp_server(&obj);
                let phase = if event_name.starts_with("before") {
                    Phase::Before
                } else {
                    Phase::After
                };
                metadata.insert("tool_name".into(), json!(t));
                let key = json!(["mcp", t, a]);
                (phase, format!("mcp__{server}__{t}"), a, key)
            }
            "beforeReadFile" => {
                let p = text(&obj, "file_path")
                    .ok_or_else(|| HookError::field(NAME, "file_path", "missing"))?;
                let mut a = Map::new();
                a.insert("path".into(), json!(p));
                absolute_path(&mut a, cwd.as_deref());
                (Phase::Before, "read".into(), a, json!(["read", p]))
            }
            "preToolUse" | "postToolUse" | "postToolUseFailure" => {
                let t = text(&obj, "tool_name")
                    .ok_or_else(|| HookError::field(NAME, "tool_name", "missing"))?;
                let input = args_at(NAME, &obj, "tool_input")?;
                super::check_paths(NAME, &input)?;
                metadata.insert("tool_name".into(), json!(t));
                let key = match text(&obj, "tool_use_id") {
                    Some(id) => json!(["id", id]),
                    None => json!(["tool", t, input]),
                };
                let (tool, args) = map_tool(&t, input, cwd.as_deref());
                let phase = match event_name.as_str() {
                    "preToolUse" => Phase::Before,
                    "postToolUse" => Phase::After,
                    _ => Phase::Failed,
                };
                (phase, tool, args, key)
            }
            _ => (Phase::Ignored, String::new(), Map::new(), json!(null)),
        };
    let actions = if phase == Phase::Ignored {
        Vec::new()
    } else {
        vec![action(
            Client::Cursor,
            &tool,
            args,
            session.clone(),
            metadata,
        )]
    };
    let (response, error) = match phase {
        Phase::After | Phase::Failed => {
            let r = obj
                .get("output")
                .or_else(|| obj.get("result_json"))
                .or_else(|| obj.get("tool_output"))
                .cloned();
            let e = obj
                .get("error")
                .and_then(error_text)
                .or_else(|| (phase == Phase::Failed).then(|| "the tool failed".to_owned()));
            (r, e)
        }
        _ => (None, None),
    };
    Ok(HookEvent {
        client: Client::Cursor,
        event_name,
        phase,
        actions,
        call: call_key(json!([NAME, session, generation, key])),
        cwd,
        project_dir,
        response,
        error,
        permission_mode: None,
    })
}

/// The MCP server's name as Cursor identifies it: `url`'s host, the program of its
/// `command`, else `unknown`.
fn mcp_server(obj: &Map<String, Value>) -> String {
    if let Some(u) = text(obj, "url") {
        if let Ok(p) = url::Url::parse(&u) {
            if let Some(h) = p.host_str() {
                return h.to_owned();
            }
        }
    }
    if let Some(c) = text(obj, "command") {
        if let Some(first) = c.split_whitespace().next() {
            let base = first.rsplit('/').next().unwrap_or(first);
            if !base.is_empty() {
                return base.to_owned();
            }
        }
    }
    "unknown".to_owned()
}

/// Maps a tool of Cursor's `preToolUse` naming.
fn map_tool(
    tool_name: &str,
    input: Map<String, Value>,
    cwd: Option<&str>,
) -> (String, Map<String, Value>) {
    let mut args = input;
    for k in ["file_path", "target_file", "filePath", "target_notebook"] {
        copy(&mut args, k, "path");
    }
    let file = |mut args: Map<String, Value>, tool: &str| {
        absolute_path(&mut args, cwd);
        (tool.to_owned(), args)
    };
    match tool_name {
        "Shell" | "Terminal" | "run_terminal_cmd" => {
            if let Some(c) = cwd {
                args.entry("cwd").or_insert_with(|| json!(c));
            }
            ("bash".into(), args)
        }
        "Read" | "read_file" => file(args, "read"),
        "Write" | "write" => file(args, "write"),
        "Edit" | "StrReplace" | "MultiEdit" | "search_replace" | "edit_file" => file(args, "edit"),
        "Delete" | "delete_file" => {
            args.insert("delete".into(), json!(true));
            file(args, "edit")
        }
        "Glob" | "glob_file_search" => {
            let base = args
                .get("target_directory")
                .or_else(|| args.get("path"))
                .and_then(Value::as_str)
                .map(|p| cwd.map_or_else(|| p.to_owned(), |c| paths::join(c, p)))
                .or_else(|| cwd.map(str::to_owned))
                .unwrap_or_default();
            let pattern = args
                .get("glob_pattern")
                .or_else(|| args.get("pattern"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            args.insert("path".into(), json!(paths::glob_root(&base, &pattern)));
            ("glob".into(), args)
        }
        "Grep" | "LS" | "list_dir" => {
            copy(&mut args, "target_directory", "path");
            if !args.contains_key("path") {
                if let Some(c) = cwd {
                    args.insert("path".into(), json!(c));
                }
            }
            let tool = if tool_name == "Grep" { "grep" } else { "ls" };
            file(args, tool)
        }
        "WebFetch" | "web_fetch" => {
            args.entry("method").or_insert_with(|| json!("GET"));
            ("http".into(), args)
        }
        other => match other.strip_prefix("MCP:") {
            Some(t) => (format!("mcp__unknown__{}", t.trim()), args),
            None => (other.to_ascii_lowercase(), args),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_events() {
        let e = event(r#"{"hook_event_name":"beforeShellExecution","conversation_id":"c1","generation_id":"g1","workspace_roots":["/w"],"command":"git push -f","cwd":"/w/sub"}"#).unwrap();
        assert_eq!(e.phase, Phase::Before);
        assert_eq!(e.project_dir.as_deref(), Some("/w"));
        let a = &e.actions[0];
        assert_eq!(
            (
                a.tool.as_str(),
                a.args["command"].as_str(),
                a.args["cwd"].as_str()
            ),
            ("bash", Some("git push -f"), Some("/w/sub"))
        );
        assert_eq!((a.actor.id.as_str(), a.session.as_str()), ("cursor", "c1"));
        let after = event(r#"{"hook_event_name":"afterShellExecution","conversation_id":"c1","generation_id":"g1","workspace_roots":["/w"],"command":"git push -f","output":"ok","duration":12}"#).unwrap();
        assert_eq!((after.phase, after.call), (Phase::After, e.call));

        let e = event(r#"{"hook_event_name":"beforeMCPExecution","conversation_id":"c","generation_id":"g","workspace_roots":["/w"],"tool_name":"create_issue","tool_input":"{\"title\":\"x\"}","url":"https://api.githubcopilot.com/mcp/"}"#).unwrap();
        assert_eq!(
            e.actions[0].tool,
            "mcp__api.githubcopilot.com__create_issue"
        );
        assert_eq!(e.actions[0].args["title"], "x");
        let e = event(r#"{"hook_event_name":"beforeMCPExecution","conversation_id":"c","generation_id":"g","workspace_roots":["/w"],"tool_name":"query","tool_input":{"sql":"drop table x"},"command":"npx -y @acme/db-mcp"}"#).unwrap();
        assert_eq!(e.actions[0].tool, "mcp__npx__query");

        let e = event(r#"{"hook_event_name":"beforeReadFile","conversation_id":"c","generation_id":"g","workspace_roots":["/w"],"file_path":"/w/.env","content":"API_KEY=sk-secret","attachments":[]}"#).unwrap();
        assert_eq!(e.actions[0].tool, "read");
        assert_eq!(e.actions[0].args["path"], "/w/.env");
        assert!(!e.actions[0].args.contains_key("content"));

        let e = event(r#"{"hook_event_name":"preToolUse","conversation_id":"c","generation_id":"g","workspace_roots":["/w"],"tool_name":"Write","tool_input":{"file_path":"src/a.ts","contents":"x"},"tool_use_id":"tu"}"#).unwrap();
        assert_eq!(
            (
                e.actions[0].tool.as_str(),
                e.actions[0].args["path"].as_str()
            ),
            ("write", Some("/w/src/a.ts"))
        );
        let e = event(r#"{"hook_event_name":"preToolUse","conversation_id":"c","generation_id":"g","workspace_roots":["/w"],"tool_name":"Delete","tool_input":{"path":"/etc/hosts"}}"#).unwrap();
        assert_eq!(
            (
                e.actions[0].tool.as_str(),
                e.actions[0].args["delete"].as_bool()
            ),
            ("edit", Some(true))
        );
        let e = event(r#"{"hook_event_name":"stop","conversation_id":"c","status":"completed"}"#)
            .unwrap();
        assert_eq!((e.phase, e.actions.len()), (Phase::Ignored, 0));
        assert!(
            event(r#"{"hook_event_name":"beforeShellExecution","conversation_id":"c"}"#).is_err()
        );
        assert!(event(r#"{"command":"ls"}"#).is_err());
    }
}
