//! GitHub Copilot CLI's hooks (`.github/hooks/*.json`, `version: 1`): `preToolUse`
//! (`timestamp`, `cwd`, `toolName`, `toolArgs` — a JSON **string**) and `postToolUse`
//! (the same, plus `toolResult` with `resultType` `success`|`failure`|`denied` and
//! `textResultForLlm`). The input does not name its event: one with `toolResult` is
//! the post-tool event. Copilot gives no session or call id: the call is matched by
//! `cwd`, tool and arguments.
//!
//! | `toolName` | actions |
//! |---|---|
//! | `bash`, `shell` (`command`) | `bash` with `command`, `cwd` |
//! | `create` (`path`, `file_text`) | `write` |
//! | `edit`, `str_replace`, `str_replace_editor` (`path`) | `edit` |
//! | `view` (`path`) | `read` (`ls` is not distinguished: a directory view is a read of it) |
//! | `glob`, `grep` (`pattern`, `path`) | as Claude Code's |
//! | `web_fetch`, `fetch` (`url`) | `http` `GET` |
//! | others | the name in lower case |
//!
//! The answer is `{"permissionDecision": "allow"|"deny", "permissionDecisionReason"}`;
//! only `deny` is processed by Copilot, so a `require_approval` is a deny.

use super::{
    absolute_path, action, args_at, call_key, copy, object, paths, text, Client, HookError,
    HookEvent, Phase,
};
use serde_json::{json, Map, Value};

const NAME: &str = "copilot";

/// Reads one Copilot CLI hook event.
pub fn event(input: &str) -> Result<HookEvent, HookError> {
    let obj = object(NAME, input)?;
    let tool_name = match obj.get("toolName") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(HookError::field(
                NAME,
                "toolName",
                "missing or not a non-empty string",
            ))
        }
    };
    let input = args_at(NAME, &obj, "toolArgs")?;
    super::check_paths(NAME, &input)?;
    let cwd = text(&obj, "cwd");
    let result = obj.get("toolResult").cloned();
    let (phase, event_name) = match &result {
        Some(_) => (Phase::After, "postToolUse"),
        None => (Phase::Before, "preToolUse"),
    };
    let mut metadata = Map::new();
    metadata.insert("tool_name".into(), json!(tool_name));
    metadata.insert("hook_event_name".into(), json!(event_name));
    if let Some(c) = &cwd {
        metadata.insert("cwd".into(), json!(c));
    }
    let (tool, args) = map_tool(&tool_name, input.clone(), cwd.as_deref());
    let error = result
        .as_ref()
        .and_then(|r| match r.get("resultType").and_then(Value::as_str) {
            Some("success") => None,
            Some(other) => Some(format!(
                "{other}: {}",
                r.get("textResultForLlm")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            )),
            None => Some("the tool result has no resultType".into()),
        });
    let session = String::new();
    Ok(HookEvent {
        client: Client::Copilot,
        event_name: event_name.to_owned(),
        phase,
        actions: vec![action(Client::Copilot, &tool, args, session, metadata)],
        call: call_key(json!([NAME, cwd, tool_name, input])),
        cwd,
        project_dir: None,
        response: result,
        error,
        permission_mode: None,
    })
}

fn map_tool(
    tool_name: &str,
    input: Map<String, Value>,
    cwd: Option<&str>,
) -> (String, Map<String, Value>) {
    let mut args = input;
    copy(&mut args, "file_path", "path");
    let file = |mut args: Map<String, Value>, tool: &str| {
        absolute_path(&mut args, cwd);
        (tool.to_owned(), args)
    };
    match tool_name {
        "bash" | "shell" | "powershell" => {
            if let Some(c) = cwd {
                args.entry("cwd").or_insert_with(|| json!(c));
            }
            ("bash".into(), args)
        }
        "create" | "write" => file(args, "write"),
        "edit" | "str_replace" | "str_replace_editor" | "insert" => file(args, "edit"),
        "view" | "read" => file(args, "read"),
        "glob" => {
            let base = args
                .get("path")
                .and_then(Value::as_str)
                .map(|p| cwd.map_or_else(|| p.to_owned(), |c| paths::join(c, p)))
                .or_else(|| cwd.map(str::to_owned))
                .unwrap_or_default();
            let pattern = args
                .get("pattern")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            args.insert("path".into(), json!(paths::glob_root(&base, &pattern)));
            ("glob".into(), args)
        }
        "grep" => {
            if !args.contains_key("path") {
                if let Some(c) = cwd {
                    args.insert("path".into(), json!(c));
                }
            }
            file(args, "grep")
        }
        "web_fetch" | "fetch" => {
            args.entry("method").or_insert_with(|| json!("GET"));
            ("http".into(), args)
        }
        other => (other.to_ascii_lowercase(), args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_tools() {
        let e = event(r#"{"timestamp":1704614600000,"cwd":"/w","toolName":"bash","toolArgs":"{\"command\":\"rm -rf dist\",\"description\":\"Clean build directory\"}"}"#).unwrap();
        assert_eq!(e.phase, Phase::Before);
        let a = &e.actions[0];
        assert_eq!(
            (
                a.tool.as_str(),
                a.args["command"].as_str(),
                a.actor.id.as_str()
            ),
            ("bash", Some("rm -rf dist"), "copilot")
        );
        let e2 = event(r#"{"timestamp":1704614700000,"cwd":"/w","toolName":"bash","toolArgs":"{\"command\":\"rm -rf dist\",\"description\":\"Clean build directory\"}","toolResult":{"resultType":"failure","textResultForLlm":"permission denied"}}"#).unwrap();
        assert_eq!(
            (e2.phase, e2.call.clone(), e2.error.as_deref()),
            (Phase::After, e.call, Some("failure: permission denied"))
        );
        let e = event(r#"{"timestamp":1,"cwd":"/w","toolName":"create","toolArgs":"{\"path\":\"src/x.ts\",\"file_text\":\"x\"}"}"#).unwrap();
        assert_eq!(
            (
                e.actions[0].tool.as_str(),
                e.actions[0].args["path"].as_str()
            ),
            ("write", Some("/w/src/x.ts"))
        );
        let e = event(r#"{"timestamp":1,"cwd":"/w","toolName":"view","toolArgs":"{\"path\":\"/home/u/.ssh/id_ed25519\"}"}"#).unwrap();
        assert_eq!(e.actions[0].tool, "read");
        assert!(
            event(r#"{"timestamp":1,"cwd":"/w","toolName":"bash","toolArgs":"{not json"}"#)
                .is_err()
        );
        assert!(event(r#"{"timestamp":1,"cwd":"/w","toolArgs":"{}"}"#).is_err());
        assert!(event(r#"{"timestamp":1,"cwd":"/w","toolName":"create","toolArgs":"{\"path\":\"src/a\",\"file_path\":\"/etc/passwd\"}"}"#).is_err());
    }
}
