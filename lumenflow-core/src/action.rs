//! Actions (what an agent proposes to do) and the context the embedding program supplies.

use crate::error::ActionError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Whether an actor is an AI agent or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An AI agent (the default).
    #[default]
    Agent,
    /// A human.
    Human,
}

impl ActorKind {
    /// `agent` or `human`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Agent => "agent",
            ActorKind::Human => "human",
        }
    }
}

/// Who proposes an action. In JSON, either an object or just the id as a string.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Actor {
    /// A stable identifier (`agent-7`, `alice@example.com`).
    pub id: String,
    /// Roles, for rules and approvals (`lead`, `ops`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Agent or human.
    #[serde(default)]
    pub kind: ActorKind,
}

impl Actor {
    /// An agent actor with no roles.
    pub fn agent(id: impl Into<String>) -> Actor {
        Actor {
            id: id.into(),
            ..Actor::default()
        }
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            id: String,
            #[serde(default)]
            roles: Vec<String>,
            #[serde(default)]
            kind: ActorKind,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Id(String),
            Full(Full),
        }
        match Repr::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "actor must be a string id or an object {id, roles?, kind?: agent|human}",
            )
        })? {
            Repr::Id(id) => Ok(Actor::agent(id)),
            Repr::Full(f) => Ok(Actor {
                id: f.id,
                roles: f.roles,
                kind: f.kind,
            }),
        }
    }
}

/// A proposed tool call: the input to [`decide`](crate::PolicySet::decide).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// The tool's name (`bash`, `write`, `http`, ...).
    pub tool: String,
    /// The tool's arguments.
    #[serde(default)]
    pub args: Map<String, Value>,
    /// Who proposes it.
    #[serde(default)]
    pub actor: Actor,
    /// The agent session it belongs to.
    #[serde(default)]
    pub session: String,
    /// The run (task, job) it belongs to.
    #[serde(default)]
    pub run: String,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// What the action is expected to cost (for budgets), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Tokens the action is expected to consume, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<i64>,
}

impl Action {
    /// An action for `tool` with `args` (a JSON object; anything else is an error).
    pub fn new(tool: impl Into<String>, args: Value) -> Result<Action, ActionError> {
        let args = match args {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => {
                return Err(ActionError::Invalid(format!(
                    "args must be an object, not {}",
                    json_type(&other)
                )))
            }
        };
        Ok(Action {
            tool: tool.into(),
            args,
            ..Action::default()
        })
    }

    /// Parses an action from JSON text, naming the line and column of a problem. An object
    /// that gives a key twice anywhere is refused (see [`refuse_duplicate_keys`]).
    pub fn from_json(text: &str) -> Result<Action, ActionError> {
        refuse_duplicate_keys(text)?;
        serde_json::from_str(text).map_err(|e| ActionError::Invalid(e.to_string()))
    }

    /// Parses an action from a JSON value.
    pub fn from_value(value: Value) -> Result<Action, ActionError> {
        serde_json::from_value(value).map_err(|e| ActionError::Invalid(e.to_string()))
    }

    /// Sets the actor.
    pub fn with_actor(mut self, actor: Actor) -> Action {
        self.actor = actor;
        self
    }

    /// Sets the session.
    pub fn with_session(mut self, session: impl Into<String>) -> Action {
        self.session = session.into();
        self
    }

    /// Checks the action against `limits`.
    pub fn check(&self, limits: &Limits) -> Result<(), ActionError> {
        if self.tool.is_empty() {
            return Err(ActionError::Invalid("tool must not be empty".into()));
        }
        if let Some(c) = self.cost {
            if !c.is_finite() {
                return Err(ActionError::Invalid("cost must be a finite number".into()));
            }
        }
        if let Some(t) = self.tokens {
            exact_integer(&t.into(), "tokens")?;
        }
        let mut budget = Budget {
            bytes: limits.max_action_bytes,
            nodes: limits.max_nodes,
        };
        budget.take_str(&self.tool, "tool")?;
        budget.take_str(&self.actor.id, "actor.id")?;
        budget.take_str(&self.session, "session")?;
        budget.take_str(&self.run, "run")?;
        for r in &self.actor.roles {
            budget.take_str(r, "actor.roles")?;
        }
        for (k, v) in &self.args {
            budget.take_str(k, "args")?;
            budget.walk(v, 1, limits.max_depth, "args")?;
        }
        for (k, v) in &self.metadata {
            budget.take_str(k, "metadata")?;
            budget.walk(v, 1, limits.max_depth, "metadata")?;
        }
        Ok(())
    }
}

/// Refuses JSON text in which an object gives the same key twice, anywhere, naming the
/// key and where its second occurrence ends. JSON parsers disagree about such objects
/// (most keep the last value, some the first), so the action a policy judged could differ
/// from the one a tool runs; the policy loader refuses them for the same reason.
pub fn refuse_duplicate_keys(text: &str) -> Result<(), ActionError> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    struct Walk;
    impl<'de> DeserializeSeed<'de> for Walk {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(Walk)
        }
    }
    impl<'de> Visitor<'de> for Walk {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_i128<E>(self, _: i128) -> Result<(), E> {
            Ok(())
        }
        fn visit_u128<E>(self, _: u128) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            while a.next_element_seed(Walk)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                if !seen.insert(k.clone().into_owned()) {
                    return Err(serde::de::Error::custom(format!("duplicate key `{k}`")));
                }
                m.next_value_seed(Walk)?;
            }
            Ok(())
        }
    }
    let mut d = serde_json::Deserializer::from_str(text);
    Walk.deserialize(&mut d)
        .and_then(|()| d.end())
        .map_err(|e| ActionError::Invalid(e.to_string()))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Bounds on what an action (and a context) may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes of strings and keys.
    pub max_action_bytes: usize,
    /// Nesting depth of `args` and `metadata`.
    pub max_depth: usize,
    /// Total number of JSON values.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_action_bytes: 1024 * 1024,
            max_depth: 32,
            max_nodes: 100_000,
        }
    }
}

/// The largest integer magnitude JSON numbers carry exactly everywhere (2^53): beyond
/// it, two different integers can read as one (an account number, an amount) in
/// JavaScript, in canonical JSON (RFC 8785) and in digests that bind an approval.
pub const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// Refuses an integer outside ±2^53, including one too large for 64 bits that was read
/// as a (rounded) float; a number with a fraction is approximate by nature and passes.
fn exact_integer(n: &serde_json::Number, field: &str) -> Result<(), ActionError> {
    let out = match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => i.unsigned_abs() > MAX_EXACT_INTEGER,
        (None, Some(u), _) => u > MAX_EXACT_INTEGER,
        (None, None, Some(f)) => f.fract() == 0.0 && f.abs() > MAX_EXACT_INTEGER as f64,
        _ => false,
    };
    if out {
        return Err(ActionError::Invalid(format!(
            "{field}: the integer {n} is outside ±2^53, where JSON numbers stop being exact; give it as a string"
        )));
    }
    Ok(())
}

struct Budget {
    bytes: usize,
    nodes: usize,
}

impl Budget {
    fn take_str(&mut self, s: &str, field: &str) -> Result<(), ActionError> {
        self.bytes = self.bytes.checked_sub(s.len()).ok_or_else(|| {
            ActionError::TooLarge(format!("{field}: more than the limit of bytes of text"))
        })?;
        Ok(())
    }

    fn walk(
        &mut self,
        v: &Value,
        depth: usize,
        max_depth: usize,
        field: &str,
    ) -> Result<(), ActionError> {
        if depth > max_depth {
            return Err(ActionError::TooLarge(format!(
                "{field}: nested deeper than {max_depth} levels"
            )));
        }
        self.nodes = self
            .nodes
            .checked_sub(1)
            .ok_or_else(|| ActionError::TooLarge(format!("{field}: more values than the limit")))?;
        match v {
            Value::String(s) => self.take_str(s, field),
            Value::Array(a) => a
                .iter()
                .try_for_each(|x| self.walk(x, depth + 1, max_depth, field)),
            Value::Object(o) => o.iter().try_for_each(|(k, x)| {
                self.take_str(k, field)?;
                self.walk(x, depth + 1, max_depth, field)
            }),
            Value::Number(n) => exact_integer(n, field),
            _ => Ok(()),
        }
    }
}

/// What the embedding program knows about the world: the `context` variable of rules
/// (for example `worktree`, `env`, `now`). A `now` given as an RFC 3339 string is seen by
/// rules as a CEL timestamp.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Context {
    values: Map<String, Value>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// A context from a JSON value, which must be an object (or null for empty).
    pub fn from_value(value: Value) -> Result<Context, ActionError> {
        match value {
            Value::Object(values) => Ok(Context { values }),
            Value::Null => Ok(Context::default()),
            other => Err(ActionError::Invalid(format!(
                "context must be an object, not {}",
                json_type(&other)
            ))),
        }
    }

    /// Sets one entry.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Context {
        self.values.insert(key.into(), value.into());
        self
    }

    /// The entries.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// Checks the context against `limits`.
    pub fn check(&self, limits: &Limits) -> Result<(), ActionError> {
        let mut budget = Budget {
            bytes: limits.max_action_bytes,
            nodes: limits.max_nodes,
        };
        for (k, v) in &self.values {
            budget.take_str(k, "context")?;
            budget.walk(v, 1, limits.max_depth, "context")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_shorthand_and_strict_fields() {
        let a = Action::from_json(r#"{"tool":"bash","args":{"command":"ls"},"actor":"agent-7"}"#)
            .unwrap();
        assert_eq!(a.actor, Actor::agent("agent-7"));
        let a = Action::from_json(
            r#"{"tool":"bash","actor":{"id":"al","roles":["lead"],"kind":"human"}}"#,
        )
        .unwrap();
        assert_eq!(a.actor.kind, ActorKind::Human);
        // The same key twice, at the top or nested, is refused, naming the key and line.
        for dup in [
            "{\"tool\":\"read\",\"tool\":\"bash\"}",
            "{\"tool\":\"bash\",\"args\":{\"command\":\"ls\",\n\"command\":\"rm -rf /\"}}",
            "{\"tool\":\"bash\",\"args\":{\"x\":[{\"a\":1,\"a\":2}]}}",
            "{\"tool\":\"bash\",\"args\":{\"c\\u006fmmand\":\"x\",\"command\":\"y\"}}",
        ] {
            let e = Action::from_json(dup).unwrap_err().to_string();
            assert!(e.contains("duplicate key"), "{dup}: {e}");
            assert!(e.contains("line"), "{e}");
        }
        assert!(Action::from_json(
            "{\"tool\":\"bash\",\"args\":{\"a\":{\"k\":1},\"b\":{\"k\":1}}}"
        )
        .is_ok());
        let e = Action::from_json(r#"{"tool":"bash","argz":{}}"#).unwrap_err();
        assert!(e.to_string().contains("argz"), "{e}");
        let e = Action::from_json("{\"tool\":\"bash\",\n\"args\": 3}").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(Action::new("x", serde_json::json!([1])).is_err());
    }

    #[test]
    fn limits() {
        let mut deep = serde_json::json!(1);
        for _ in 0..40 {
            deep = serde_json::json!([deep]);
        }
        let a = Action::new("t", serde_json::json!({ "x": deep })).unwrap();
        assert!(
            matches!(a.check(&Limits::default()), Err(ActionError::TooLarge(m)) if m.contains("deeper"))
        );
        let big = Action::new("t", serde_json::json!({ "x": "a".repeat(2 << 20) })).unwrap();
        assert!(big.check(&Limits::default()).is_err());
        let ok = Action::new("t", serde_json::json!({ "x": "a" })).unwrap();
        assert!(ok.check(&Limits::default()).is_ok());
    }
}
