//! The bridge between JSON values and CEL values.
//!
//! Actions and contexts are turned into CEL values that borrow their strings, so a
//! decision copies no text.

use crate::action::{Action, Context};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelTimestamp,
    CelUInt,
};
use cel::common::value::Val;
use serde_json::Value as Json;
use std::collections::HashMap;

/// A CEL value that may borrow from `'a`.
pub(crate) type BoxVal<'a> = Box<dyn Val + 'a>;

/// Converts a JSON value to a CEL value, borrowing strings.
pub(crate) fn json<'a>(v: &'a Json) -> BoxVal<'a> {
    match v {
        Json::Null => Box::new(CelNull),
        Json::Bool(b) => Box::new(CelBool::from(*b)),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Box::new(CelInt::from(i))
            } else if let Some(u) = n.as_u64() {
                Box::new(CelUInt::from(u))
            } else {
                Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Json::String(s) => Box::new(CelString::from(s.as_str())),
        Json::Array(a) => Box::new(CelList::from(a.iter().map(json).collect::<Vec<_>>())),
        Json::Object(o) => Box::new(object(o)),
    }
}

fn object(o: &serde_json::Map<String, Json>) -> CelMap<'_> {
    let mut m: HashMap<CelMapKey<'_>, BoxVal<'_>> = HashMap::with_capacity(o.len());
    for (k, v) in o {
        m.insert(CelMapKey::from(k.as_str()), json(v));
    }
    CelMap::from(m)
}

fn string(s: &str) -> BoxVal<'_> {
    Box::new(CelString::from(s))
}

/// The `action` variable.
pub(crate) fn action(a: &Action) -> BoxVal<'_> {
    let mut m: HashMap<CelMapKey<'_>, BoxVal<'_>> = HashMap::with_capacity(8);
    m.insert("tool".into(), string(&a.tool));
    m.insert("args".into(), Box::new(object(&a.args)));
    let mut actor: HashMap<CelMapKey<'_>, BoxVal<'_>> = HashMap::with_capacity(3);
    actor.insert("id".into(), string(&a.actor.id));
    actor.insert(
        "roles".into(),
        Box::new(CelList::from(
            a.actor.roles.iter().map(|r| string(r)).collect::<Vec<_>>(),
        )),
    );
    actor.insert("kind".into(), string(a.actor.kind.as_str()));
    m.insert("actor".into(), Box::new(CelMap::from(actor)));
    m.insert("session".into(), string(&a.session));
    m.insert("run".into(), string(&a.run));
    m.insert("metadata".into(), Box::new(object(&a.metadata)));
    if let Some(c) = a.cost {
        m.insert("cost".into(), Box::new(CelDouble::from(c)));
    }
    if let Some(t) = a.tokens {
        m.insert("tokens".into(), Box::new(CelInt::from(t)));
    }
    Box::new(CelMap::from(m))
}

/// The `context` variable; `now` as an RFC 3339 string becomes a timestamp.
pub(crate) fn context(c: &Context) -> BoxVal<'_> {
    let mut m: HashMap<CelMapKey<'_>, BoxVal<'_>> = HashMap::with_capacity(c.values().len());
    for (k, v) in c.values() {
        let val = match (k.as_str(), v) {
            ("now", Json::String(s)) => match crate::policy::cel_ext::timestamp(s) {
                Ok(t) => Box::new(CelTimestamp::from(t)) as BoxVal<'_>,
                Err(_) => json(v),
            },
            _ => json(v),
        };
        m.insert(CelMapKey::from(k.as_str()), val);
    }
    Box::new(CelMap::from(m))
}

/// Converts a CEL result value to JSON (for reporting and tests).
pub(crate) fn to_json(v: &cel::Value) -> Json {
    match v {
        cel::Value::Null => Json::Null,
        cel::Value::Bool(b) => Json::Bool(*b),
        cel::Value::Int(i) => Json::from(*i),
        cel::Value::UInt(u) => Json::from(*u),
        cel::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        cel::Value::String(s) => Json::String(s.to_string()),
        cel::Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
        cel::Value::Map(m) => Json::Object(
            m.map
                .iter()
                .map(|(k, v)| (key_string(k), to_json(v)))
                .collect(),
        ),
        other => Json::String(format!("{other:?}")),
    }
}

fn key_string(k: &cel::objects::Key) -> String {
    match k {
        cel::objects::Key::String(s) => s.to_string(),
        cel::objects::Key::Int(i) => i.to_string(),
        cel::objects::Key::Uint(u) => u.to_string(),
        cel::objects::Key::Bool(b) => b.to_string(),
    }
}
