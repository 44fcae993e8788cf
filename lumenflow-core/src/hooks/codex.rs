//! OpenAI Codex CLI's command hooks, which follow Claude Code's shape: `PreToolUse` and
//! `PostToolUse` with `session_id`, `turn_id`, `cwd`, `model`, `permission_mode`,
//! `tool_name`, `tool_input`, `tool_use_id` (and a subagent's `agent_id`/`agent_type`).
//!
//! | `tool_name` | actions |
//! |---|---|
//! | `Bash` (`tool_input.command`) | `bash` with `command`, `cwd`; a command that runs `apply_patch` with a patch is also read as the patch |
//! | `apply_patch` (`tool_input.command`, or `patch`/`input`) | one action per file: `write` (`*** Add File`), `edit` (`*** Update File`; its `*** Move to` also a `write`), `edit` with `delete: true` (`*** Delete File`); `path` absolute against `cwd` |
//! | `mcp__server__tool`, others | the name in lower case, `args` as given |
//!
//! Codex blocks on `permissionDecision: "deny"` with a non-empty reason (or exit 2 with
//! a reason on stderr); it does not support `ask` (a hook answering it fails and the
//! tool runs), so a `require_approval` is answered as a block naming the approval
//! request LumenFlow opened.

use super::patch::{self, FileOp};
use super::{paths, HookError, HookEvent, Mapped};
use serde_json::{json, Map, Value};

/// Reads one Codex hook event.
pub fn event(input: &str) -> Result<HookEvent, HookError> {
    super::claude_code::claude_like(super::Client::Codex, input)
}

/// Maps a Codex tool to actions (several for a patch that writes several files).
pub(crate) fn map_tool(
    tool_name: &str,
    input: Map<String, Value>,
    cwd: Option<&str>,
) -> Result<Vec<Mapped>, HookError> {
    match tool_name {
        "apply_patch" => {
            let text = ["command", "patch", "input"]
                .iter()
                .find_map(|k| match input.get(*k) {
                    Some(Value::String(s)) => Some(s.clone()),
                    // The shell form: ["apply_patch", "<patch>"].
                    Some(Value::Array(a)) => {
                        a.iter().rev().find_map(Value::as_str).map(str::to_owned)
                    }
                    _ => None,
                })
                .ok_or_else(|| {
                    HookError::field(
                        "codex",
                        "tool_input.command",
                        "apply_patch needs the patch text",
                    )
                })?;
            patch_actions(&text, cwd)
        }
        "Bash" | "shell" | "shell_command" | "exec_command" | "local_shell" => {
            let mut args = input;
            let command = match args.get("command").or_else(|| args.get("cmd")) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(a)) => shell_join(a),
                _ => {
                    return Err(HookError::field(
                        "codex",
                        "tool_input.command",
                        "missing or not a string",
                    ))
                }
            };
            args.insert("command".into(), json!(command));
            let dir = args
                .get("workdir")
                .and_then(Value::as_str)
                .map(|w| cwd.map_or_else(|| w.to_owned(), |c| paths::join(c, w)))
                .or_else(|| cwd.map(str::to_owned));
            if let Some(d) = &dir {
                args.insert("cwd".into(), json!(d));
            }
            let mut out = vec![("bash".to_owned(), args)];
            let runs_patch =
                command.trim_start().starts_with("apply_patch") || command.contains("applypatch");
            if runs_patch {
                if let Some(p) = patch::find_patch(&command) {
                    out.extend(patch_actions(p, dir.as_deref())?);
                }
            }
            Ok(out)
        }
        other => Ok(vec![super::claude_code::map_tool(other, input, cwd)]),
    }
}

/// A command given as an argument vector, as one shell line (each word quoted when needed).
fn shell_join(words: &[Value]) -> String {
    words
        .iter()
        .map(|w| {
            let s = w.as_str().map_or_else(|| w.to_string(), str::to_owned);
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
            {
                s
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One action per file a patch writes.
pub(crate) fn patch_actions(text: &str, cwd: Option<&str>) -> Result<Vec<Mapped>, HookError> {
    let text = patch::find_patch(text).ok_or(patch::PatchError::NoBegin)?;
    let at = |p: &str| cwd.map_or_else(|| p.to_owned(), |c| paths::join(c, p));
    let mut out = Vec::new();
    for op in patch::parse(text)? {
        match op {
            FileOp::Add { path, content } => {
                let mut a = Map::new();
                a.insert("path".into(), json!(at(&path)));
                a.insert("content".into(), json!(content));
                out.push(("write".to_owned(), a));
            }
            FileOp::Update {
                path,
                move_to,
                hunks,
            } => {
                let mut a = Map::new();
                a.insert("path".into(), json!(at(&path)));
                a.insert("patch".into(), json!(hunks));
                if let Some(m) = &move_to {
                    a.insert("move_to".into(), json!(at(m)));
                }
                out.push(("edit".to_owned(), a));
                if let Some(m) = move_to {
                    let mut w = Map::new();
                    w.insert("path".into(), json!(at(&m)));
                    w.insert("moved_from".into(), json!(at(&path)));
                    out.push(("write".to_owned(), w));
                }
            }
            FileOp::Delete { path } => {
                let mut a = Map::new();
                a.insert("path".into(), json!(at(&path)));
                a.insert("delete".into(), json!(true));
                out.push(("edit".to_owned(), a));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::Phase;

    #[test]
    fn apply_patch_is_every_file_it_writes() {
        let patch = "*** Begin Patch\n*** Add File: docs/new.md\n+hi\n*** Update File: src/lib.rs\n*** Move to: ../elsewhere/lib.rs\n@@\n-a\n+b\n*** Delete File: old.txt\n*** End Patch";
        let input = json!({
            "session_id": "th-1", "turn_id": "u-1", "cwd": "/w", "hook_event_name": "PreToolUse",
            "model": "gpt-5", "permission_mode": "default", "tool_name": "apply_patch",
            "tool_input": {"command": patch}, "tool_use_id": "call-1", "transcript_path": null
        });
        let e = event(&input.to_string()).unwrap();
        assert_eq!(e.phase, Phase::Before);
        let got: Vec<(&str, &str)> = e
            .actions
            .iter()
            .map(|a| (a.tool.as_str(), a.args["path"].as_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("write", "/w/docs/new.md"),
                ("edit", "/w/src/lib.rs"),
                ("write", "/w/../elsewhere/lib.rs"),
                ("edit", "/w/old.txt"),
            ]
        );
        assert_eq!(e.actions[0].actor.id, "codex");
        assert_eq!(e.actions[3].args["delete"], true);
        assert_eq!(e.actions[1].metadata["part"], "2/4");
    }

    #[test]
    fn shell_that_runs_apply_patch_is_read_too() {
        let cmd = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: /etc/cron.d/x\n+* * * * * root sh\n*** End Patch\nEOF";
        let input = json!({"session_id":"s","cwd":"/w","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command": cmd},"tool_use_id":"c"});
        let e = event(&input.to_string()).unwrap();
        assert_eq!(e.actions[0].tool, "bash");
        assert_eq!(e.actions[1].tool, "write");
        assert_eq!(e.actions[1].args["path"], "/etc/cron.d/x");
    }

    #[test]
    fn unreadable_patch_is_an_error() {
        let input = json!({"session_id":"s","cwd":"/w","hook_event_name":"PreToolUse","tool_name":"apply_patch","tool_input":{"command":"*** Begin Patch\n*** Add File: a\n+x\n"},"tool_use_id":"c"});
        assert!(matches!(
            event(&input.to_string()),
            Err(HookError::Patch(_))
        ));
        let input = json!({"session_id":"s","hook_event_name":"PreToolUse","tool_name":"apply_patch","tool_input":{},"tool_use_id":"c"});
        assert!(event(&input.to_string()).is_err());
    }

    #[test]
    fn argv_commands_are_joined() {
        let input = json!({"session_id":"s","cwd":"/w","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":["bash","-lc","git push -f"]},"tool_use_id":"c"});
        let e = event(&input.to_string()).unwrap();
        assert_eq!(e.actions[0].args["command"], "bash -lc 'git push -f'");
    }
}
