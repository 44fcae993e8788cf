//! The gate: what the proxy asks of `lumenflow-core` for each `tools/call` — decide it
//! (recorded before anything is forwarded), record the host's answer to an approval it
//! asked for, record the outcome — and whether `tools/list` may hide a tool. Synchronous
//! (the core's [`Governor`] is); the proxy calls it off the async runtime's workers.

use lumenflow_core::hooks::mcp::{self as mapping, McpCall, Profile, Resolve};
use lumenflow_core::hooks::HOST_ANSWER;
use lumenflow_core::{
    canonical_json, Action, Actor, Context, Durability, Effect, Governor, GovernorOptions, KeyPair,
    Outcome, PolicySet, Registry, Status,
};
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Why the gate could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The server name is unusable.
    #[error(transparent)]
    ServerName(#[from] mapping::McpError),
    /// The evidence directory could not be opened with the key.
    #[error("evidence directory {dir}: {message}")]
    Evidence {
        /// The directory.
        dir: String,
        /// What went wrong.
        message: String,
    },
}

/// Everything the gate decides and records with.
#[derive(Clone)]
pub struct GateOptions {
    /// The server's name in action tools (`mcp:<server>/<tool>`).
    pub server: String,
    /// The policy layers.
    pub policies: PolicySet,
    /// The context every call is decided in.
    pub context: Context,
    /// The evidence directory.
    pub dir: PathBuf,
    /// The key that signs evidence.
    pub key: KeyPair,
    /// The approver registry (`None`: no vote counts unless the program vouches).
    pub registry: Option<Arc<Registry>>,
    /// What an evidence append promises before it returns.
    pub durability: Durability,
    /// Whether `tools/list` hides tools the policy denies outright.
    pub hide_denied: bool,
    /// The server's profile; `None`: detected from its `initialize` answer.
    pub profile: Option<Profile>,
    /// Where the server resolves relative paths and `~`.
    pub resolve: Resolve,
    /// The session every action is proposed in.
    pub session: String,
}

/// What to do with a `tools/call`.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Forward it with these arguments, then [`Gate::finish`] decision `id`.
    Run {
        /// The decision record's id.
        id: String,
        /// The arguments to forward (paths resolved as decided).
        arguments: Map<String, Value>,
    },
    /// Ask the client's user (elicitation); then [`Gate::answer`] decision `id`.
    Ask {
        /// The decision record's id.
        id: String,
        /// The arguments to forward if the user approves.
        arguments: Map<String, Value>,
        /// What to ask.
        message: String,
    },
    /// Answer with a tool error carrying this text; the server never sees the call.
    Refuse(String),
}

/// The governing side of the proxy, shared by every connection.
pub struct Gate {
    options: GateOptions,
    /// Opens approval requests for `require_approval` (answered with `lumenflow approve`).
    plain: Governor,
    /// For clients that can be asked (elicitation): the host answers, on the record.
    host: OnceLock<Result<Governor, String>>,
    /// Decides nothing (an empty policy set): records calls that cannot be made actions.
    refusals: OnceLock<Result<Governor, String>>,
}

fn open(o: &GateOptions, set: PolicySet, host_approves: bool) -> Result<Governor, String> {
    let options = GovernorOptions {
        context: o.context.clone(),
        durability: o.durability,
        close_open_on_exit: true,
        host_approves,
        registry: o.registry.clone(),
        ..GovernorOptions::default()
    };
    Governor::open(&o.dir, set, o.key.clone(), options).map_err(|e| e.to_string())
}

/// The text of a tool result's content blocks, for an outcome's error.
fn result_text(result: &Value) -> String {
    let mut out = String::new();
    if let Some(items) = result.get("content").and_then(Value::as_array) {
        for c in items {
            if let Some(t) = c.get("text").and_then(Value::as_str) {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(t);
            }
        }
    }
    if out.is_empty() {
        "the tool reported an error".into()
    } else {
        out
    }
}

impl Gate {
    /// Opens the evidence directory with the key (a bad key or directory fails here,
    /// before any client is served).
    pub fn new(options: GateOptions) -> Result<Gate, GateError> {
        mapping::check_server_name(&options.server)?;
        let plain = open(&options, options.policies.clone(), false).map_err(|message| {
            GateError::Evidence {
                dir: options.dir.display().to_string(),
                message,
            }
        })?;
        Ok(Gate {
            options,
            plain,
            host: OnceLock::new(),
            refusals: OnceLock::new(),
        })
    }

    /// The options the gate was made with.
    pub fn options(&self) -> &GateOptions {
        &self.options
    }

    fn host(&self) -> Result<&Governor, String> {
        self.host
            .get_or_init(|| open(&self.options, self.options.policies.clone(), true))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn refusals(&self) -> Result<&Governor, String> {
        self.refusals
            .get_or_init(|| open(&self.options, PolicySet::new(vec![]), false))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Records a call that could not be decided (bad arguments, unusable tool name) as a
    /// decision of an empty policy set — so denied — whose metadata says why.
    fn refuse_unmapped(
        &self,
        tool: &str,
        arguments: &Option<Map<String, Value>>,
        why: &str,
        client: &str,
    ) -> String {
        let recorded = (|| -> Result<String, String> {
            let g = self.refusals()?;
            let name: String = tool.chars().take(256).collect();
            let mut a = Action::new(
                mapping::tool_name(&self.options.server, &name),
                Value::Object(arguments.clone().unwrap_or_default()),
            )
            .or_else(|_| Action::new("", json!({})))
            .map_err(|e| e.to_string())?;
            a.actor = Actor::agent(client);
            a.session = self.options.session.clone();
            a.metadata
                .insert("mcp_server".into(), json!(self.options.server));
            a.metadata.insert("mcp_error".into(), json!(why));
            g.decide(&a).map(|d| d.id).map_err(|e| e.to_string())
        })();
        match recorded {
            Ok(id) => format!("LumenFlow refused the call, so it was not run: {why} (decision {id})"),
            Err(e) => format!(
                "LumenFlow refused the call, so it was not run: {why} (and it could not be recorded: {e})"
            ),
        }
    }

    /// Decides a call of `tool` with `arguments` from client `client` (its
    /// `clientInfo.name`), recording the decision before it returns. `can_ask`: the
    /// client declared elicitation, so a `require_approval` is asked of its user.
    /// Every failure refuses.
    pub fn admit(
        &self,
        tool: &str,
        arguments: Option<Map<String, Value>>,
        profile: Profile,
        client: &str,
        can_ask: bool,
    ) -> Admission {
        let McpCall {
            mut action,
            arguments: forward,
        } = match mapping::call_action(
            &self.options.server,
            tool,
            arguments.clone(),
            profile,
            &self.options.resolve,
        ) {
            Ok(c) => c,
            Err(e) => {
                return Admission::Refuse(self.refuse_unmapped(
                    tool,
                    &arguments,
                    &e.to_string(),
                    client,
                ))
            }
        };
        action.actor = Actor::agent(client);
        action.session = self.options.session.clone();
        action
            .metadata
            .insert("mcp_profile".into(), json!(profile.name()));
        let g = if can_ask {
            match self.host() {
                Ok(g) => g,
                Err(e) => {
                    return Admission::Refuse(format!(
                        "LumenFlow could not decide, so the call was not run: evidence: {e}"
                    ))
                }
            }
        } else {
            &self.plain
        };
        let governed = match g.decide(&action) {
            Ok(d) => d,
            Err(e) => {
                return Admission::Refuse(format!(
                    "LumenFlow could not record the decision, so the call was not run: {e}"
                ))
            }
        };
        let d = &governed.decision;
        let name = &action.tool;
        match d.effect {
            Effect::Allow => Admission::Run {
                id: governed.id,
                arguments: forward,
            },
            Effect::Deny => Admission::Refuse(format!(
                "LumenFlow denied `{name}`: {} (decision {})",
                d.reason, governed.id
            )),
            Effect::RequireApproval if can_ask => Admission::Ask {
                message: format!(
                    "LumenFlow: `{name}` needs approval: {}. Approve this call?",
                    d.reason
                ),
                id: governed.id,
                arguments: forward,
            },
            Effect::RequireApproval => Admission::Refuse(format!(
                "LumenFlow: `{name}` needs approval: {}. Approval request {id} is open{who}; \
                 once approved (`lumenflow approve {dir} {id} ...`), retry the identical call.",
                d.reason,
                id = governed.id,
                dir = self.options.dir.display(),
                who = if d.approvers.is_empty() {
                    String::new()
                } else {
                    format!(" for {}", d.approvers.join(", "))
                },
            )),
        }
    }

    /// Records the client's user's answer to the approval asked for decision `id` (the
    /// host's word, recorded as such); a refusal closes the decision as denied.
    pub fn answer(
        &self,
        id: &str,
        approved: bool,
        client: &str,
        detail: &str,
    ) -> Result<(), String> {
        let g = self.host()?;
        g.append(vec![(
            HOST_ANSWER.to_owned(),
            json!({
                "decision": id,
                "client": client,
                "answer": if approved { "allow" } else { "deny" },
                "answered_by": "user",
                "via": format!("MCP elicitation by client {client}"),
                "detail": detail,
            }),
        )])
        .map_err(|e| e.to_string())?;
        if !approved {
            let mut o = Outcome::new(Status::Denied);
            o.error = Some(format!(
                "the user refused the call at the client's prompt ({detail})"
            ));
            g.record(id, o).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Records the outcome of decision `id`: the server's result (`isError` → failure)
    /// or why there is none (the server failed, the call was cancelled).
    pub fn finish(
        &self,
        id: &str,
        result: Result<&Value, &str>,
        took: Duration,
        asked: bool,
    ) -> Result<(), String> {
        let g = if asked { self.host()? } else { &self.plain };
        let o = match result {
            Ok(r) => {
                let bytes = canonical_json(r).map_err(|e| e.to_string())?.into_bytes();
                let o = if r.get("isError").and_then(Value::as_bool) == Some(true) {
                    Outcome::failure(result_text(r))
                } else {
                    Outcome::success()
                };
                o.with_output(&bytes)
            }
            Err(why) => Outcome::failure(why.to_owned()),
        };
        g.record(id, o.with_duration(took))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Whether `tools/list` shows `tool` (with `--hide-denied`, not when the policy
    /// denies it outright: see [`mapping::denied_outright`]).
    pub fn visible(&self, tool: &str) -> bool {
        !self.options.hide_denied
            || !mapping::denied_outright(
                &self.options.policies,
                &self.options.server,
                tool,
                &self.options.context,
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lumenflow_core::Policy;

    const POLICY: &str = r#"
version: 1
name: t
default: deny
rules:
  - id: echo
    effect: allow
    when: action.tool == "mcp:e/echo"
  - id: env
    effect: deny
    when: action.tool == "mcp:e/get-env"
    reason: secrets
  - id: sum
    effect: require_approval
    when: action.tool == "mcp:e/get-sum"
    approvers: ["role:lead"]
"#;

    fn gate(name: &str) -> (Gate, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("lumenflow-mcp-gate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let set = PolicySet::single(Policy::from_yaml(POLICY, "t.yaml").unwrap());
        let g = Gate::new(GateOptions {
            server: "e".into(),
            policies: set,
            context: Context::new(),
            dir: dir.clone(),
            key: KeyPair::generate().unwrap(),
            registry: None,
            durability: Durability::None,
            hide_denied: true,
            profile: None,
            resolve: Resolve::default(),
            session: "s".into(),
        })
        .unwrap();
        (g, dir)
    }

    fn kinds(dir: &std::path::Path) -> Vec<(String, Value)> {
        lumenflow_core::read_segments(&dir.join("segments"))
            .unwrap()
            .into_iter()
            .map(|l| {
                let r: Value = serde_json::from_slice(&l.bytes).unwrap();
                (r["kind"].as_str().unwrap().to_owned(), r["body"].clone())
            })
            .collect()
    }

    #[test]
    fn each_effect_is_recorded_and_answered() {
        let (g, dir) = gate("effects");
        let Admission::Run { id, .. } = g.admit("echo", None, Profile::Generic, "c", false) else {
            panic!("echo must run")
        };
        g.finish(
            &id,
            Ok(&json!({"content": [{"type": "text", "text": "boom"}], "isError": true})),
            Duration::from_millis(3),
            false,
        )
        .unwrap();
        match g.admit("get-env", None, Profile::Generic, "c", false) {
            Admission::Refuse(t) => assert!(
                t.contains("denied `mcp:e/get-env`") && t.contains("secrets"),
                "{t}"
            ),
            other => panic!("{other:?}"),
        }
        match g.admit("get-sum", None, Profile::Generic, "c", false) {
            Admission::Refuse(t) => assert!(
                t.contains("Approval request") && t.contains("role:lead"),
                "{t}"
            ),
            other => panic!("{other:?}"),
        }
        let Admission::Ask { id: asked, .. } =
            g.admit("get-sum", None, Profile::Generic, "c", true)
        else {
            panic!("a client that can be asked is asked")
        };
        g.answer(&asked, false, "c", "declined").unwrap();
        let recs = kinds(&dir);
        let outcomes: Vec<&str> = recs
            .iter()
            .filter(|(k, _)| k == "outcome")
            .map(|(_, b)| b["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            outcomes,
            ["failure", "denied", "awaiting_approval", "denied"]
        );
        let failed = recs
            .iter()
            .find(|(k, b)| k == "outcome" && b["status"] == "failure")
            .unwrap();
        assert_eq!(failed.1["error"], "boom");
        let answer = recs.iter().find(|(k, _)| k == HOST_ANSWER).unwrap();
        assert_eq!(answer.1["answer"], "deny");
        assert_eq!(answer.1["decision"], json!(asked));
        // A call that cannot be made an action is refused and recorded as denied.
        match g.admit("bad name", None, Profile::Generic, "c", false) {
            Admission::Refuse(t) => assert!(
                t.contains("invalid MCP tool name") && t.contains("decision"),
                "{t}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(g.visible("echo") && g.visible("get-sum"));
        assert!(!g.visible("get-env") && !g.visible("anything-else"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
