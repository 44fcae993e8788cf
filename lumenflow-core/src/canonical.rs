//! Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) and the digests built on it.
//!
//! Canonical bytes are what LumenFlow hashes and signs: object members sorted by their
//! UTF-16 code units, no insignificant white space, strings in minimal escaping, and
//! numbers in ECMAScript's shortest round-trip form. The serialisation itself is done by
//! `serde_json_canonicalizer`; the spec's published vectors are run against it in
//! `tests/canonical_vectors.rs`.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Serialises `value` to RFC 8785 canonical JSON bytes.
pub fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    value_to_vec(&serde_json::to_value(value)?)
}

/// Serialises `value` to an RFC 8785 canonical JSON string.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let bytes = to_vec(value)?;
    // Both serialisers emit UTF-8 only.
    Ok(String::from_utf8(bytes).expect("JSON serialisers emit UTF-8"))
}

/// Canonical bytes of a JSON value.
///
/// A `serde_json::Value`'s objects are sorted by code point, and `serde_json` writes
/// compact JSON with the same string escapes as RFC 8785; so when no number is a float
/// (whose form RFC 8785 takes from ECMAScript), no integer is beyond 2^53 (where it would
/// be rounded to a double), and no object key holds a character above
/// U+FFFF (where UTF-16 order, which RFC 8785 sorts by, differs from code-point order),
/// `serde_json`'s output *is* the canonical form. Otherwise the full RFC 8785 serialiser
/// runs. `fast_path_agrees` checks the two against each other.
pub fn value_to_vec(value: &serde_json::Value) -> Result<Vec<u8>, serde_json::Error> {
    if fast_path_ok(value) {
        serde_json::to_vec(value)
    } else {
        serde_json_canonicalizer::to_vec(value)
    }
}

/// Whether `serde_json`'s output for `v` is already its canonical form (see [`value_to_vec`]).
pub(crate) fn fast_path_ok(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        // RFC 8785 writes every number as an IEEE double: integers are exact up to 2^53.
        Value::Number(n) => {
            n.as_i64().is_some_and(|i| i.unsigned_abs() <= 1 << 53)
                || n.as_u64().is_some_and(|u| u <= 1 << 53)
        }
        Value::Array(a) => a.iter().all(fast_path_ok),
        Value::Object(o) => o
            .iter()
            .all(|(k, v)| k.chars().all(|c| (c as u32) <= 0xFFFF) && fast_path_ok(v)),
        _ => true,
    }
}

/// `sha256:` followed by the lower-case hex SHA-256 of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// The `sha256:` digest of the canonical form of `value`.
pub fn digest<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(sha256_digest(&to_vec(value)?))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            "\\PC*|[\\x00-\\x1f\"\\\\/\u{7f}\u{e000}\u{ffff}\u{10000}\u{1f600}]{0,6}"
                .prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map(
                    "[a-zA-Z_]{0,4}|[\u{e000}\u{ffff}\u{10000}\u{1f600}é]{1,3}",
                    inner,
                    0..6
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Wherever the fast path is taken, it gives exactly the RFC 8785 serialiser's bytes.
        #[test]
        fn fast_path_agrees(v in arb_json()) {
            prop_assert_eq!(value_to_vec(&v).unwrap(), serde_json_canonicalizer::to_vec(&v).unwrap());
        }
    }

    #[test]
    fn sorts_and_compacts() {
        let v = serde_json::json!({"b": [1.0, 2.5e-7, 1e21], "a": "\u{20ac}\n", "\u{e9}": null});
        assert_eq!(
            to_string(&v).unwrap(),
            "{\"a\":\"\u{20ac}\\n\",\"b\":[1,2.5e-7,1e+21],\"\u{e9}\":null}"
        );
        assert_eq!(
            digest(&serde_json::json!({})).unwrap(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
