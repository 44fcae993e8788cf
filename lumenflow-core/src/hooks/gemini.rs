//! Gemini CLI's hooks (`settings.json` → `hooks`): `BeforeTool` (decide) and `AfterTool`
//! (record), with `session_id`, `transcript_path`, `cwd`, `hook_event_name`,
//! `timestamp`, `tool_name`, `tool_input`, `mcp_context`, and after the tool
//! `tool_response` (`llmContent`, `returnDisplay`, `error`). Gemini gives no call id, so
//! an `AfterTool` is matched to its `BeforeTool` by session, tool and input.
//!
//! | `tool_name` | actions |
//! |---|---|
//! | `run_shell_command` (`command`, `dir_path`/`directory`) | `bash` with `command`, `cwd` |
//! | `write_file` (`file_path`, `content`) | `write` with `path` |
//! | `replace` (`file_path`, `old_string`, `new_string`) | `edit` with `path` |
//! | `read_file` (`file_path`/`absolute_path`) | `read` with `path` |
//! | `read_many_files` (`include`/`paths`, ...) | one `glob` per pattern, `path` where it reaches |
//! | `list_directory` (`dir_path`/`path`) | `ls` with `path` |
//! | `glob` (`pattern`, `dir_path`/`path`) | `glob`, `path` where the pattern reaches |
//! | `search_file_content`, `grep_search` (`pattern`, `dir_path`/`path`) | `grep` with `path` |
//! | `web_fetch` (`prompt` with URLs) | one `http` `GET` per URL in the prompt (none: `web_fetch` as given) |
//! | an MCP tool (`mcp_context.server_name`) | `mcp__<server>__<tool>` |
//! | others | the name in lower case |
//!
//! The answer is `{"decision": "allow"}` or `{"decision": "deny", "reason": ...}` (the
//! reason goes to the model); Gemini has no `ask`, so `require_approval` is a deny.

use super::{
    action, args_at, call_key, error_text, object, paths, text, Client, HookError, HookEvent, Phase,
};
use serde_json::{json, Map, Value};

const NAME: &str = "gemini";

/// Reads one Gemini CLI hook event.
pub fn event(input: &str) -> Result<HookEvent, HookError> {
    let obj = object(NAME, input)?;
    let event_name = text(&obj, "hook_event_name")
        .ok_or_else(|| HookError::field(NAME, "hook_event_name", "missing"))?;
    let phase = match event_name.as_str() {
        "BeforeTool" => Phase::Before,
        "AfterTool" => Phase::After,
        _ => Phase::Ignored,
    };
    let session = text(&obj, "session_id").unwrap_or_default();
    let cwd = text(&obj, "cwd");
    if phase == Phase::Ignored {
        return Ok(HookEvent {
            client: Client::Gemini,
            event_name,
            phase,
            actions: Vec::new(),
            call: String::new(),
            cwd,
            project_dir: None,
            response: None,
            error: None,
            permission_mode: None,
        });
    }
    let tool_name = match obj.get("tool_name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(HookError::field(
                NAME,
                "tool_name",
                "missing or not a non-empty string",
            ))
        }
    };
    if matches!(obj.get("tool_input"), Some(Value::String(_))) {
        return Err(HookError::field(NAME, "tool_input", "must be an object"));
    }
    let input = args_at(NAME, &obj, "tool_input")?;
    super::check_paths(NAME, &input)?;
    let mut metadata = Map::new();
    metadata.insert("tool_name".into(), json!(tool_name));
    metadata.insert("hook_event_name".into(), json!(event_name));
    if let Some(c) = &cwd {
        metadata.insert("cwd".into(), json!(c));
    }
    let server = obj
        .get("mcp_context")
        .and_then(|m| m.get("server_name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mapped = map_tool(&tool_name, input.clone(), cwd.as_deref(), server.as_deref());
    let n = mapped.len();
    let actions = mapped
        .into_iter()
        .enumerate()
        .map(|(i, (tool, args))| {
            let mut m = metadata.clone();
            if n > 1 {
                m.insert("part".into(), json!(format!("{}/{n}", i + 1)));
            }
            action(Client::Gemini, &tool, args, session.clone(), m)
        })
        .collect();
    let (response, error) = if phase == Phase::After {
        let r = obj.get("tool_response").cloned();
        let e = r
            .as_ref()
            .and_then(|r| r.get("error"))
            .and_then(|e| match e {
                Value::Object(o) => o
                    .get("message")
                    .and_then(error_text)
                    .or_else(|| Some(e.to_string())),
                other => error_text(other),
            });
        (r, e)
    } else {
        (None, None)
    };
    Ok(HookEvent {
        client: Client::Gemini,
        event_name,
        phase,
        actions,
        call: call_key(json!([NAME, session, tool_name, input])),
        cwd,
        project_dir: None,
        response,
        error,
        permission_mode: None,
    })
}

fn dir_of(args: &Map<String, Value>, cwd: Option<&str>, keys: &[&str]) -> Option<String> {
    let given = keys
        .iter()
        .find_map(|k| args.get(*k).and_then(Value::as_str));
    match (given, cwd) {
        (Some(g), Some(c)) => Some(paths::join(c, g)),
        (Some(g), None) => Some(g.to_owned()),
        (None, c) => c.map(str::to_owned),
    }
}

fn map_tool(
    tool_name: &str,
    input: Map<String, Value>,
    cwd: Option<&str>,
    server: Option<&str>,
) -> Vec<(String, Map<String, Value>)> {
    let mut args = input;
    let file = |mut args: Map<String, Value>, tool: &str| {
        if let Some(p) = args
            .get("file_path")
            .or_else(|| args.get("absolute_path"))
            .or_else(|| args.get("path"))
            .and_then(Value::as_str)
        {
            let p = cwd.map_or_else(|| p.to_owned(), |c| paths::join(c, p));
            args.insert("path".into(), json!(p));
        }
        vec![(tool.to_owned(), args)]
    };
    match tool_name {
        "run_shell_command" => {
            if let Some(d) = dir_of(&args, cwd, &["dir_path", "directory"]) {
                args.insert("cwd".into(), json!(d));
            }
            vec![("bash".into(), args)]
        }
        "write_file" => file(args, "write"),
        "replace" | "edit" => file(args, "edit"),
        "read_file" => file(args, "read"),
        "list_directory" => {
            if let Some(d) = dir_of(&args, cwd, &["dir_path", "path"]) {
                args.insert("path".into(), json!(d));
            }
            vec![("ls".into(), args)]
        }
        "glob" => {
            let base = dir_of(&args, cwd, &["dir_path", "path"]).unwrap_or_default();
            let pattern = args
                .get("pattern")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            args.insert("path".into(), json!(paths::glob_root(&base, &pattern)));
            vec![("glob".into(), args)]
        }
        "search_file_content" | "grep_search" | "grep" => {
            if let Some(d) = dir_of(&args, cwd, &["dir_path", "path"]) {
                args.insert("path".into(), json!(d));
            }
            vec![("grep".into(), args)]
        }
        "read_many_files" => {
            let base = cwd.unwrap_or_default().to_owned();
            let patterns: Vec<String> = ["include", "paths"]
                .iter()
                .filter_map(|k| args.get(*k).and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            if patterns.is_empty() {
                let mut a = args.clone();
                a.insert("path".into(), json!(base));
                return vec![("glob".into(), a)];
            }
            patterns
                .iter()
                .map(|p| {
                    let mut a = args.clone();
                    a.insert("pattern".into(), json!(p));
                    a.insert("path".into(), json!(paths::glob_root(&base, p)));
                    ("glob".to_owned(), a)
                })
                .collect()
        }
        "web_fetch" => {
            let prompt = args
                .get("prompt")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let urls: Vec<String> = prompt
                .split(|c: char| c.is_whitespace() || "<>\"'()[]".contains(c))
                .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
                .map(|w| w.trim_end_matches(['.', ',', ';']).to_owned())
                .collect();
            if urls.is_empty() {
                return vec![("web_fetch".into(), args)];
            }
            urls.into_iter()
                .map(|u| {
                    let mut a = args.clone();
                    a.insert("url".into(), json!(u));
                    a.insert("method".into(), json!("GET"));
                    ("http".to_owned(), a)
                })
                .collect()
        }
        other => match server {
            Some(s) => {
                let t = other.strip_prefix(&format!("{s}__")).unwrap_or(other);
                vec![(format!("mcp__{s}__{t}"), args)]
            }
            None => vec![(other.to_ascii_lowercase(), args)],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_tools() {
        let e = event(r#"{"session_id":"g1","transcript_path":"/t.json","cwd":"/w","hook_event_name":"BeforeTool","timestamp":"2026-12-02T10:00:00Z","tool_name":"run_shell_command","tool_input":{"command":"rm -rf build","description":"clean","dir_path":"sub"}}"#).unwrap();
        let a = &e.actions[0];
        assert_eq!(
            (a.tool.as_str(), a.args["cwd"].as_str(), a.actor.id.as_str()),
            ("bash", Some("/w/sub"), "gemini")
        );
        let e = event(r#"{"session_id":"g1","cwd":"/w","hook_event_name":"BeforeTool","tool_name":"write_file","tool_input":{"file_path":"/w/a.txt","content":"x"}}"#).unwrap();
        assert_eq!(
            (
                e.actions[0].tool.as_str(),
                e.actions[0].args["path"].as_str()
            ),
            ("write", Some("/w/a.txt"))
        );
        let e = event(r#"{"session_id":"g1","cwd":"/w","hook_event_name":"BeforeTool","tool_name":"read_many_files","tool_input":{"include":["src/**/*.rs","/etc/*.conf"]}}"#).unwrap();
        let roots: Vec<&str> = e
            .actions
            .iter()
            .map(|a| a.args["path"].as_str().unwrap())
            .collect();
        assert_eq!(roots, vec!["/w/src", "/etc"]);
        let e = event(r#"{"session_id":"g1","cwd":"/w","hook_event_name":"BeforeTool","tool_name":"web_fetch","tool_input":{"prompt":"Summarise https://example.com/a and http://evil.test/x."}}"#).unwrap();
        let urls: Vec<&str> = e
            .actions
            .iter()
            .map(|a| a.args["url"].as_str().unwrap())
            .collect();
        assert_eq!(urls, vec!["https://example.com/a", "http://evil.test/x"]);
        let e = event(r#"{"session_id":"g1","cwd":"/w","hook_event_name":"BeforeTool","tool_name":"create_issue","tool_input":{"title":"t"},"mcp_context":{"server_name":"github","tool_name":"create_issue"}}"#).unwrap();
        assert_eq!(e.actions[0].tool, "mcp__github__create_issue");
        let after = event(r#"{"session_id":"g1","cwd":"/w","hook_event_name":"AfterTool","tool_name":"create_issue","tool_input":{"title":"t"},"tool_response":{"llmContent":"","returnDisplay":"","error":{"message":"403 forbidden"}}}"#).unwrap();
        assert_eq!(
            (after.call, after.error.as_deref()),
            (e.call, Some("403 forbidden"))
        );
        let ok = event(r#"{"session_id":"g1","cwd":"/w","hook_event_name":"AfterTool","tool_name":"read_file","tool_input":{"file_path":"/w/a"},"tool_response":{"llmContent":"x","returnDisplay":"x"}}"#).unwrap();
        assert_eq!(ok.error, None);
        assert!(event(r#"{"hook_event_name":"BeforeTool","tool_input":{}}"#).is_err());
        assert!(
            event(r#"{"hook_event_name":"BeforeTool","tool_name":"x","tool_input":"s"}"#).is_err()
        );
    }
}
