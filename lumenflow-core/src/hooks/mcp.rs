//! MCP `tools/call` requests as actions, for the governing proxy (`lumenflow mcp`).
//!
//! A call of tool `T` on the server named `S` (the proxy's `--server-name`) is the
//! action `mcp:S/T` whose `args` are the call's arguments. The proxy, not the agent, adds
//! `metadata`: `mcp_server`, `mcp_tool`, and — for the tools of a server known to work on
//! files (the [`Profile::Filesystem`] of `@modelcontextprotocol/server-filesystem`) —
//! `file_access` (`"read"` or `"write"`) and `paths` (every file or directory the call
//! reaches, absolute). Policies check those (the agent cannot forge metadata; it can
//! forge any argument). Relative paths are joined to the server's working directory
//! and `~` to the home directory, and the call is forwarded with those absolute paths,
//! so the server works on exactly the files the policy checked. Normative:
//! `spec/mcp.md`.

use crate::action::{Action, Actor, Context};
use crate::hooks::paths;
use crate::policy::decide::{DecidedBy, Effect, PolicySet};
use serde_json::{json, Map, Value};

/// Why an MCP call cannot be made an action (the call is then refused, and recorded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// The server name given to the proxy is unusable.
    #[error("invalid MCP server name {name:?}: {message}")]
    ServerName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// The tool name in the request is unusable.
    #[error("invalid MCP tool name {name:?}: {message}")]
    ToolName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// An argument of a file tool is missing or of the wrong type.
    #[error("MCP tool `{tool}`: argument `{field}`: {message}")]
    Argument {
        /// The tool's name.
        tool: String,
        /// The argument (a JSON path such as `paths[1]`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// What the proxy knows of a server's tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Nothing: every tool is `mcp:<server>/<tool>` with its arguments, no file mapping.
    Generic,
    /// `@modelcontextprotocol/server-filesystem`: its file tools carry `file_access` and `paths`.
    Filesystem,
}

impl Profile {
    /// The profile for a server that names itself `server_info_name` in its `initialize`
    /// answer (`secure-filesystem-server` is the filesystem server's).
    pub fn detect(server_info_name: &str) -> Profile {
        match server_info_name {
            "secure-filesystem-server" | "filesystem" => Profile::Filesystem,
            _ => Profile::Generic,
        }
    }

    /// The profile by its name on the command line (`generic`, `filesystem`).
    pub fn from_name(name: &str) -> Option<Profile> {
        match name {
            "generic" => Some(Profile::Generic),
            "filesystem" => Some(Profile::Filesystem),
            _ => None,
        }
    }

    /// The profile's name.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Generic => "generic",
            Profile::Filesystem => "filesystem",
        }
    }
}

/// Where the server resolves the paths it is given.
#[derive(Debug, Clone, Default)]
pub struct Resolve {
    /// The server's working directory (relative paths are joined to it).
    pub cwd: String,
    /// The home directory `~` names (`None`: a path starting with `~` is refused).
    pub home: Option<String>,
}

/// A `tools/call` made an action.
#[derive(Debug, Clone)]
pub struct McpCall {
    /// The action to decide.
    pub action: Action,
    /// The arguments to forward to the server (paths made absolute as decided).
    pub arguments: Map<String, Value>,
}

/// Checks a server name: non-empty, at most 64 characters, letters, digits, `.`, `_`, `-`
/// (so `mcp:<server>/<tool>` splits at its first `/`).
pub fn check_server_name(name: &str) -> Result<(), McpError> {
    let bad = |m: &str| McpError::ServerName {
        name: name.to_owned(),
        message: m.to_owned(),
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() > 64 {
        return Err(bad("it is longer than 64 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(bad("only letters, digits, `.`, `_` and `-` are allowed"));
    }
    Ok(())
}

fn check_tool_name(name: &str) -> Result<(), McpError> {
    let bad = |m: &str| McpError::ToolName {
        name: name.chars().take(80).collect(),
        message: m.to_owned(),
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() > 256 {
        return Err(bad("it is longer than 256 bytes"));
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("it holds whitespace or control characters"));
    }
    Ok(())
}

/// The action tool name of `tool` on `server`: `mcp:<server>/<tool>`.
pub fn tool_name(server: &str, tool: &str) -> String {
    format!("mcp:{server}/{tool}")
}

/// What a filesystem-server tool does with files: `(access, path arguments)`; `None`
/// for a tool this mapping does not know (it stays generic).
fn file_tool(tool: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match tool {
        "read_file"
        | "read_text_file"
        | "read_media_file"
        | "list_directory"
        | "list_directory_with_sizes"
        | "directory_tree"
        | "search_files"
        | "get_file_info" => ("read", &["path"]),
        "read_multiple_files" => ("read", &["paths"]),
        "list_allowed_directories" => ("read", &[]),
        "write_file" | "edit_file" | "create_directory" => ("write", &["path"]),
        "move_file" => ("write", &["source", "destination"]),
        _ => return None,
    })
}

/// `p` made absolute as the server would resolve it.
fn resolve(tool: &str, field: &str, p: &str, r: &Resolve) -> Result<String, McpError> {
    let bad = |m: &str| McpError::Argument {
        tool: tool.to_owned(),
        field: field.to_owned(),
        message: m.to_owned(),
    };
    if p.is_empty() {
        return Err(bad("is empty"));
    }
    if p.contains('\0') {
        return Err(bad("holds a NUL character"));
    }
    if p == "~" || p.starts_with("~/") {
        let home = r
            .home
            .as_deref()
            .ok_or_else(|| bad("starts with `~` but no home directory is known"))?;
        return Ok(paths::join(
            home,
            p.trim_start_matches('~').trim_start_matches('/'),
        ));
    }
    if p.starts_with('~') {
        return Err(bad("names another user's home directory (`~user`)"));
    }
    if p.starts_with('/') {
        return Ok(p.to_owned());
    }
    if r.cwd.is_empty() {
        return Err(bad("is relative but the server's directory is unknown"));
    }
    Ok(paths::join(&r.cwd, p))
}

/// The action of calling `tool` with `arguments` on `server`, as `profile` maps it.
/// `arguments` must be an object (or absent). For a filesystem tool, every path argument
/// must be a non-empty string (an array of them for `paths`).
pub fn call_action(
    server: &str,
    tool: &str,
    arguments: Option<Map<String, Value>>,
    profile: Profile,
    resolve_in: &Resolve,
) -> Result<McpCall, McpError> {
    check_server_name(server)?;
    check_tool_name(tool)?;
    let mut arguments = arguments.unwrap_or_default();
    let mut metadata = Map::new();
    metadata.insert("mcp_server".into(), json!(server));
    metadata.insert("mcp_tool".into(), json!(tool));
    if let (Profile::Filesystem, Some((access, keys))) = (profile, file_tool(tool)) {
        let mut reached = Vec::new();
        for &k in keys {
            let missing = || McpError::Argument {
                tool: tool.to_owned(),
                field: k.to_owned(),
                message: "is required".into(),
            };
            match arguments.get(k).ok_or_else(missing)? {
                Value::String(p) if k != "paths" => {
                    let abs = resolve(tool, k, p, resolve_in)?;
                    reached.push(abs.clone());
                    arguments.insert(k.to_owned(), json!(abs));
                }
                Value::Array(items) if k == "paths" => {
                    let mut out = Vec::new();
                    for (i, v) in items.iter().enumerate() {
                        let field = format!("paths[{i}]");
                        let p = v.as_str().ok_or_else(|| McpError::Argument {
                            tool: tool.to_owned(),
                            field: field.clone(),
                            message: "must be a string".into(),
                        })?;
                        let abs = resolve(tool, &field, p, resolve_in)?;
                        reached.push(abs.clone());
                        out.push(json!(abs));
                    }
                    arguments.insert(k.to_owned(), Value::Array(out));
                }
                _ => {
                    return Err(McpError::Argument {
                        tool: tool.to_owned(),
                        field: k.to_owned(),
                        message: if k == "paths" {
                            "must be an array of strings".into()
                        } else {
                            "must be a string".into()
                        },
                    })
                }
            }
        }
        metadata.insert("file_access".into(), json!(access));
        metadata.insert("paths".into(), json!(reached));
    }
    let action = Action {
        tool: tool_name(server, tool),
        args: arguments.clone(),
        actor: Actor::agent("mcp-client"),
        session: String::new(),
        run: String::new(),
        metadata,
        cost: None,
        tokens: None,
    };
    Ok(McpCall { action, arguments })
}

/// Whether a rule's condition reads only what a probe with no arguments fixes: every
/// `action` it mentions is followed by `.tool`, `.actor`, `.session`, `.run`, `.cost` or
/// `.tokens` (so not `action.args`, `action.metadata`, nor `action` as a whole).
fn independent_of_arguments(when: &str) -> bool {
    const FIXED: [&str; 6] = [".tool", ".actor", ".session", ".run", ".cost", ".tokens"];
    let bytes = when.as_bytes();
    let mut from = 0;
    while let Some(i) = when[from..].find("action") {
        let at = from + i;
        let end = at + "action".len();
        let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let starts_word = at == 0 || !ident(bytes[at - 1]);
        let ends_word = end >= bytes.len() || !ident(bytes[end]);
        if starts_word && ends_word {
            let rest = when[end..].trim_start();
            if !FIXED.iter().any(|f| {
                rest.starts_with(f) && rest[f.len()..].bytes().next().is_none_or(|b| !ident(b))
            }) {
                return false;
            }
        }
        from = end;
    }
    true
}

/// Whether `tools/list` may hide `tool` of `server`: the policy denies it whatever its
/// arguments. The probe is the action with no arguments and no file metadata; it is
/// denied outright when its decision is deny with no rule error and either
/// - rules decided, and every deny rule that matched reads nothing but the tool, the
///   actor, the session, the run, the cost and the tokens (not `action.args`, not
///   `action.metadata`, not `action` as a whole); or
/// - the default decided, and no allow or require_approval rule of any layer reads
///   anything else either (so no arguments could make one match).
///
/// Anything else (an approval, a deny that depends on arguments, a budget) keeps the
/// tool listed: its calls are decided one by one.
pub fn denied_outright(set: &PolicySet, server: &str, tool: &str, context: &Context) -> bool {
    let Ok(call) = call_action(server, tool, None, Profile::Generic, &Resolve::default()) else {
        return false;
    };
    let mut probe = call.action;
    probe.metadata.clear();
    let d = set.decide(&probe, context);
    if d.effect != Effect::Deny || !d.errors.is_empty() {
        return false;
    }
    let rules = || {
        set.policies().iter().flat_map(|p| {
            let name = p.name().to_owned();
            p.rules().iter().map(move |r| (name.clone(), r))
        })
    };
    match d.decided_by {
        DecidedBy::Rule => d
            .matched
            .iter()
            .filter(|m| m.effect == Effect::Deny)
            .all(|m| {
                rules().any(|(p, r)| {
                    *p == *m.policy && r.id() == &*m.rule && independent_of_arguments(r.when())
                })
            }),
        DecidedBy::Default => rules()
            .filter(|(_, r)| r.effect() != Effect::Deny)
            .all(|(_, r)| independent_of_arguments(r.when())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::file::Policy;

    fn fs() -> Resolve {
        Resolve {
            cwd: "/w".into(),
            home: Some("/home/a".into()),
        }
    }

    fn args(v: Value) -> Option<Map<String, Value>> {
        v.as_object().cloned()
    }

    #[test]
    fn generic_tool_is_named_and_keeps_arguments() {
        let c = call_action(
            "gh",
            "create_issue",
            args(json!({"title": "x", "path": "rel"})),
            Profile::Generic,
            &fs(),
        )
        .unwrap();
        assert_eq!(c.action.tool, "mcp:gh/create_issue");
        assert_eq!(c.action.args["path"], "rel");
        assert!(!c.action.metadata.contains_key("file_access"));
        assert_eq!(c.action.metadata["mcp_server"], "gh");
        assert_eq!(c.arguments["title"], "x");
    }

    #[test]
    fn filesystem_paths_are_made_absolute_and_forwarded_so() {
        let c = call_action(
            "fs",
            "write_file",
            args(json!({"path": "src/../x.txt", "content": "hi"})),
            Profile::Filesystem,
            &fs(),
        )
        .unwrap();
        assert_eq!(c.action.metadata["file_access"], "write");
        assert_eq!(c.action.metadata["paths"], json!(["/w/src/../x.txt"]));
        assert_eq!(c.arguments["path"], "/w/src/../x.txt");
        let m = call_action(
            "fs",
            "move_file",
            args(json!({"source": "/w/a", "destination": "~/.ssh/authorized_keys"})),
            Profile::Filesystem,
            &fs(),
        )
        .unwrap();
        assert_eq!(
            m.action.metadata["paths"],
            json!(["/w/a", "/home/a/.ssh/authorized_keys"])
        );
        let r = call_action(
            "fs",
            "read_multiple_files",
            args(json!({"paths": ["a", "/etc/passwd"]})),
            Profile::Filesystem,
            &fs(),
        )
        .unwrap();
        assert_eq!(r.action.metadata["file_access"], "read");
        assert_eq!(r.arguments["paths"], json!(["/w/a", "/etc/passwd"]));
    }

    #[test]
    fn bad_file_arguments_are_refused_with_where() {
        for (tool, a, field) in [
            ("write_file", json!({"content": "x"}), "path"),
            ("write_file", json!({"path": 3}), "path"),
            (
                "read_multiple_files",
                json!({"paths": ["/w/a", 1]}),
                "paths[1]",
            ),
            ("read_multiple_files", json!({"paths": "/w/a"}), "paths"),
            (
                "read_text_file",
                json!({"path": "~root/.ssh/id_rsa"}),
                "path",
            ),
            ("read_text_file", json!({"path": ""}), "path"),
            ("move_file", json!({"source": "/w/a"}), "destination"),
        ] {
            let e = call_action("fs", tool, args(a), Profile::Filesystem, &fs()).unwrap_err();
            match e {
                McpError::Argument { field: f, .. } => assert_eq!(f, field, "{tool}"),
                other => panic!("{other}"),
            }
        }
        assert!(matches!(
            call_action("fs", "", None, Profile::Generic, &fs()),
            Err(McpError::ToolName { .. })
        ));
        assert!(matches!(
            call_action("f/s", "t", None, Profile::Generic, &fs()),
            Err(McpError::ServerName { .. })
        ));
        // A tilde with no known home is refused, not read as a relative directory named `~`.
        let no_home = Resolve {
            cwd: "/w".into(),
            home: None,
        };
        assert!(call_action(
            "fs",
            "read_text_file",
            args(json!({"path": "~/.aws/credentials"})),
            Profile::Filesystem,
            &no_home
        )
        .is_err());
    }

    #[test]
    fn an_agent_cannot_forge_file_metadata_through_arguments() {
        let c = call_action(
            "evil",
            "run",
            args(json!({"file_access": "read", "paths": ["/w/x"]})),
            Profile::Generic,
            &fs(),
        )
        .unwrap();
        assert!(!c.action.metadata.contains_key("file_access"));
    }

    #[test]
    fn argument_independence_is_read_from_the_condition() {
        assert!(independent_of_arguments(r#"action.tool == "mcp:x/y""#));
        assert!(independent_of_arguments(
            r#"action.tool.startsWith("mcp:") && action.actor.kind != "human""#
        ));
        assert!(!independent_of_arguments(
            r#"secrets.contains(action.args)"#
        ));
        assert!(!independent_of_arguments(r#"secrets.contains(action)"#));
        assert!(!independent_of_arguments(r#"has(action.metadata.paths)"#));
        assert!(!independent_of_arguments(r#"action.toolbox == 1"#));
        assert!(independent_of_arguments(r#"reaction.args == 1"#));
    }

    fn set(yaml: &str) -> PolicySet {
        PolicySet::single(Policy::from_yaml(yaml, "p.yaml").unwrap())
    }

    #[test]
    fn only_argument_independent_denies_hide_a_tool() {
        let p = set(r#"
version: 1
name: p
default: deny
rules:
  - id: no-env
    effect: deny
    when: action.tool == "mcp:e/printEnv"
  - id: no-secret-echo
    effect: deny
    when: action.tool == "mcp:e/echo" && has(action.args.message) && action.args.message == "x"
  - id: echo-ok
    effect: allow
    when: action.tool == "mcp:e/echo"
  - id: approve-add
    effect: require_approval
    when: action.tool == "mcp:e/add"
"#);
        let ctx = Context::new();
        assert!(denied_outright(&p, "e", "printEnv", &ctx));
        assert!(!denied_outright(&p, "e", "echo", &ctx));
        assert!(!denied_outright(&p, "e", "add", &ctx));
        // Default deny, and every allow rule reads only the tool: hidden.
        assert!(denied_outright(&p, "e", "unknown", &ctx));
        // Default deny, but an allow rule reads the arguments: a call might be allowed.
        let q = set(r#"
version: 1
name: q
default: deny
rules:
  - id: reads
    effect: allow
    when: action.tool.startsWith("mcp:") && has(action.metadata.file_access) && action.metadata.file_access == "read"
"#);
        assert!(!denied_outright(&q, "fs", "read_text_file", &ctx));
        // A deny that only a rule error produced does not hide.
        let r = set(r#"
version: 1
name: r
default: allow
rules:
  - id: broken
    effect: allow
    on_error: deny
    when: action.tool == "mcp:e/t" && action.args.missing == 1
"#);
        assert!(!denied_outright(&r, "e", "t", &ctx));
    }
}
