//! How an action is shown to a person: a one-line summary, the parsed shell command, the
//! diff of an edit, the URL and method of a request.
//!
//! Everything here works on the action **as the evidence record holds it**, that is with
//! secrets already redacted by the governor; nothing here ever sees an unredacted value.
//! The console and the webhook show the same presentation.

use lumenflow_core::helpers::shell;
use serde_json::{json, Value};

/// The longest summary, in characters (a longer one ends with `…`).
pub const SUMMARY_CHARS: usize = 300;
/// The longest diff shown, in bytes (a longer one is cut at a line and says so).
pub const DIFF_BYTES: usize = 64 * 1024;

fn s<'a>(args: &'a Value, k: &str) -> Option<&'a str> {
    args.get(k).and_then(Value::as_str)
}

fn path_of(args: &Value) -> Option<&str> {
    [
        "path",
        "file_path",
        "notebook_path",
        "absolute_path",
        "filePath",
    ]
    .iter()
    .find_map(|k| s(args, k))
}

fn cut(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One line saying what the action does: the command of a `bash` call, the path of a
/// `write`/`edit`/`read`, the method and URL of an `http` call, else the tool and its
/// arguments as compact JSON.
pub fn summary(tool: &str, args: &Value) -> String {
    let text = match tool {
        "bash" => s(args, "command").map(str::to_owned),
        "write" | "edit" | "read" | "ls" | "grep" | "glob" => {
            path_of(args).map(|p| format!("{tool} {p}"))
        }
        "http" => s(args, "url").map(|u| format!("{} {u}", s(args, "method").unwrap_or("GET"))),
        _ => None,
    };
    cut(
        &text.unwrap_or_else(|| format!("{tool} {args}")),
        SUMMARY_CHARS,
    )
}

/// The (old, new) texts an edit replaces, from the argument shapes the clients use:
/// `old_string`/`new_string` (Claude Code's Edit, Gemini's replace), `edits[]`
/// (MultiEdit), `content` (a whole new file).
fn edit_pairs(args: &Value) -> Vec<(String, String)> {
    if let (Some(o), Some(n)) = (s(args, "old_string"), s(args, "new_string")) {
        return vec![(o.to_owned(), n.to_owned())];
    }
    if let Some(edits) = args.get("edits").and_then(Value::as_array) {
        return edits
            .iter()
            .filter_map(|e| {
                Some((
                    s(e, "old_string")?.to_owned(),
                    s(e, "new_string")?.to_owned(),
                ))
            })
            .collect();
    }
    if let Some(c) = s(args, "content") {
        return vec![(String::new(), c.to_owned())];
    }
    Vec::new()
}

/// The unified diff of an edit or write (`None` if the arguments hold no edit).
pub fn diff(args: &Value) -> Option<String> {
    if let Some(p) = s(args, "patch").or_else(|| s(args, "diff")) {
        return Some(bounded(p.to_owned()));
    }
    let pairs = edit_pairs(args);
    if pairs.is_empty() {
        return None;
    }
    let path = path_of(args).unwrap_or("file");
    let mut out = String::new();
    for (old, new) in pairs {
        let d = similar::TextDiff::from_lines(&old, &new);
        out.push_str(
            &d.unified_diff()
                .context_radius(3)
                .header(&format!("a{path}"), &format!("b{path}"))
                .to_string(),
        );
    }
    Some(bounded(out))
}

fn bounded(mut text: String) -> String {
    if text.len() > DIFF_BYTES {
        let mut at = DIFF_BYTES;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let at = text[..at].rfind('\n').map_or(at, |i| i + 1);
        text.truncate(at);
        text.push_str("… (diff cut at 64 KiB)\n");
    }
    text
}

/// The simple commands a shell command line runs, as the policy's parser reads them
/// (or why it cannot be read).
pub fn commands(command: &str) -> Value {
    match shell::parse(command) {
        Ok(p) => json!(p
            .commands
            .iter()
            .map(|c| json!({
                "name": c.name, "args": c.args, "cwd": c.cwd,
                "dynamic": c.dynamic, "opaque": c.opaque, "via": c.via, "env": c.env,
            }))
            .collect::<Vec<_>>()),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

/// The whole presentation of an action: `summary`, and as they apply `commands` (a
/// `bash` call), `diff` (an edit or write), `method` and `url` (an `http` call).
pub fn detail(tool: &str, args: &Value) -> Value {
    let mut out = json!({ "summary": summary(tool, args) });
    if tool == "bash" {
        if let Some(c) = s(args, "command") {
            out["commands"] = commands(c);
        }
    }
    if let Some(d) = diff(args) {
        out["diff"] = json!(d);
    }
    if tool == "http" {
        out["method"] = json!(s(args, "method").unwrap_or("GET"));
        out["url"] = json!(s(args, "url"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_each_tool() {
        assert_eq!(
            summary("bash", &json!({"command": "git push\n-f"})),
            "git push -f"
        );
        assert_eq!(summary("edit", &json!({"path": "/w/a.rs"})), "edit /w/a.rs");
        assert_eq!(
            summary(
                "http",
                &json!({"url": "https://x.example/a", "method": "POST"})
            ),
            "POST https://x.example/a"
        );
        assert_eq!(
            summary("mcp__gh__merge", &json!({"pr": 1})),
            "mcp__gh__merge {\"pr\":1}"
        );
        let long = summary("bash", &json!({"command": "x".repeat(1000)}));
        assert_eq!(long.chars().count(), SUMMARY_CHARS);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn diffs_edits_and_writes() {
        let d = diff(
            &json!({"path": "/w/a.txt", "old_string": "one\ntwo\n", "new_string": "one\n2\n"}),
        )
        .unwrap();
        assert!(
            d.contains("--- a/w/a.txt") && d.contains("-two") && d.contains("+2"),
            "{d}"
        );
        let d = diff(&json!({"path": "/w/n", "content": "new\n"})).unwrap();
        assert!(d.contains("+new"), "{d}");
        let d = diff(&json!({"path": "/w/m", "edits": [
            {"old_string": "a\n", "new_string": "b\n"}, {"old_string": "c\n", "new_string": "d\n"}]}))
        .unwrap();
        assert!(d.contains("-a") && d.contains("+d"), "{d}");
        assert!(diff(&json!({"path": "/w/x"})).is_none());
        let big = diff(&json!({"path": "/w/b", "content": "line\n".repeat(40_000)})).unwrap();
        assert!(big.len() <= DIFF_BYTES + 40 && big.ends_with("(diff cut at 64 KiB)\n"));
    }

    #[test]
    fn parses_commands_or_says_why_not() {
        let c = detail("bash", &json!({"command": "env X=1 bash -c 'git push -f'"}));
        let cmds = c["commands"].as_array().unwrap();
        assert!(cmds.iter().any(|c| c["name"] == "git"), "{c}");
        let bad = detail("bash", &json!({"command": "echo 'unterminated"}));
        assert!(bad["commands"]["error"].is_string(), "{bad}");
        let h = detail("http", &json!({"url": "https://a.example/"}));
        assert_eq!(h["method"], "GET");
    }
}
