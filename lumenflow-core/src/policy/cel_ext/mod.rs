//! The CEL dialect rules are written in, beyond what the native evaluator compiles: the
//! `cel` crate's environment (standard library, optional values, and the strings, math,
//! lists and encoders extensions), and the table of functions the load-time check knows.
//!
//! Kept apart from `eval.rs` (the native evaluator) and `functions.rs` (LumenFlow's
//! helpers) so that each grows without touching the others.

pub(crate) mod known;
mod macros;
pub(crate) use macros::ITER2;
pub(crate) mod network;

use std::sync::{Arc, OnceLock};

/// The `cel` crate environment every expression is parsed and interpreted in.
pub(crate) fn env() -> Arc<cel::Env> {
    static ENV: OnceLock<Arc<cel::Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(build_env())).clone()
}

/// A new environment like [`env`] (the conformance suite sets a container on one).
pub(crate) fn build_env() -> cel::Env {
    {
        let mut env = cel::Env::stdlib();
        for (name, ext) in [
            (
                "strings",
                cel::extensions::strings as fn(&mut cel::Env) -> _,
            ),
            ("math", cel::extensions::math),
            ("lists", cel::extensions::lists),
            ("encoders", cel::extensions::encoders),
        ] {
            env.add_extension(ext)
                .unwrap_or_else(|e| panic!("the {name} extension registers: {e}"));
        }
        for m in macros::all() {
            env.add_macro(m)
                .expect("cel.bind/block/index and the two-variable macros do not clash");
        }
        macros::register(&mut env).expect("the internal @ functions do not clash");
        network::register_env(&mut env).expect("net.IP and net.CIDR do not clash");
        env
    }
}

/// A parsed expression and where each of its nodes was written.
pub(crate) struct Parsed {
    /// The expression, macros expanded.
    pub(crate) expr: cel::parser::Expression,
    /// The source offsets of its nodes.
    pub(crate) info: cel::common::ast::SourceInfo,
}

/// Parses `src` in [`env`], expanding its macros (the standard ones and the
/// extensions'), with backtick-quoted field names (`` m.`b-c` ``) allowed as CEL
/// defines them.
pub(crate) fn compile(src: &str) -> Result<Parsed, cel::ParseErrors> {
    env()
        .parser()
        .enable_ident_escape_syntax(true)
        .parse_with_source_info(src)
        .map(|(expr, info)| Parsed { expr, info })
}

/// The earliest and latest instants CEL's timestamps hold: 0001-01-01T00:00:00Z and
/// 9999-12-31T23:59:59.999999999Z.
fn in_range(t: &chrono::DateTime<chrono::FixedOffset>) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&t.with_timezone(&chrono::Utc).year())
}

/// Parses an RFC 3339 timestamp within CEL's range (years 1 to 9999, in UTC).
pub(crate) fn timestamp(s: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    let t = chrono::DateTime::parse_from_rfc3339(s).map_err(|e| e.to_string())?;
    if in_range(&t) {
        Ok(t)
    } else {
        Err(format!(
            "{s} is outside the range of timestamps (years 1 to 9999)"
        ))
    }
}

/// The timestamp `secs` seconds after 1970-01-01T00:00:00Z (`timestamp(int)`), within
/// CEL's range (years 1 to 9999).
pub(crate) fn timestamp_of_seconds(
    secs: i64,
) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.fixed_offset())
        .filter(in_range)
        .ok_or_else(|| format!("{secs} s is outside the range of timestamps (years 1 to 9999)"))
}
