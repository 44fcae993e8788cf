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
/// compact JSON with the same string escapes as RFC 8785; with numbers written in
/// ECMAScript's form (by `ryu-js`, integers beyond 2^53 as the doubles RFC 8785 makes of
/// them), its output *is* the canonical form, unless an object key holds a character
/// above U+FFFF (where UTF-16 order, which RFC 8785 sorts by, differs from code-point
/// order). Then the full RFC 8785 serialiser runs. `fast_path_agrees` checks the two
/// against each other.
pub fn value_to_vec(value: &serde_json::Value) -> Result<Vec<u8>, serde_json::Error> {
    if fast_path_ok(value) {
        fast_to_vec(value)
    } else {
        serde_json_canonicalizer::to_vec(value)
    }
}

/// Serialises with `serde_json` and ECMAScript number formatting: canonical wherever
/// [`fast_path_ok`] holds for every object in it.
pub(crate) fn fast_to_vec<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JsNumbers);
    v.serialize(&mut ser)?;
    Ok(out)
}

/// `serde_json`'s compact formatter, with numbers as ECMAScript writes doubles.
struct JsNumbers;

impl JsNumbers {
    fn double<W: ?Sized + std::io::Write>(w: &mut W, v: f64) -> std::io::Result<()> {
        if !v.is_finite() {
            return Err(std::io::Error::other("RFC 8785 has no NaN or infinity"));
        }
        w.write_all(ryu_js::Buffer::new().format_finite(v).as_bytes())
    }
}

impl serde_json::ser::Formatter for JsNumbers {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        Self::double(w, v)
    }
    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f32) -> std::io::Result<()> {
        Self::double(w, f64::from(v))
    }
    fn write_i64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: i64) -> std::io::Result<()> {
        if v.unsigned_abs() <= 1 << 53 {
            w.write_all(itoa::Buffer::new().format(v).as_bytes())
        } else {
            Self::double(w, v as f64)
        }
    }
    fn write_u64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: u64) -> std::io::Result<()> {
        if v <= 1 << 53 {
            w.write_all(itoa::Buffer::new().format(v).as_bytes())
        } else {
            Self::double(w, v as f64)
        }
    }
    fn write_i128<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        v: i128,
    ) -> std::io::Result<()> {
        Self::double(w, v as f64)
    }
    fn write_u128<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        v: u128,
    ) -> std::io::Result<()> {
        Self::double(w, v as f64)
    }
}

/// Whether [`fast_to_vec`]'s output for `v` is its canonical form: no object key holds a
/// character above U+FFFF.
pub(crate) fn fast_path_ok(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
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

/// A keyed digest of the canonical JSON of `value`: `hmac-sha256:` + lower-case hex of
/// HMAC-SHA-256 under `key`. For digests that commit to unredacted values: without the
/// key, a reader of a record cannot confirm a guessed value (spec/evidence.md).
pub fn keyed_digest<T: Serialize>(key: &[u8; 32], value: &T) -> Result<String, serde_json::Error> {
    use hmac::Mac;
    let bytes = to_vec(value)?;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(&bytes);
    Ok(format!("hmac-sha256:{}", hex(&mac.finalize().into_bytes())))
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
            // Amounts and fractions, around the edges of the fast path's float range.
            (any::<i64>(), 0u32..20)
                .prop_map(|(m, e)| serde_json::Value::from(m as f64 / 10f64.powi(e as i32))),
            prop_oneof![1e-6..1e-4f64, 0.0..1.0f64, 1e14..1e16f64, -1e3..1e3f64]
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
        #![proptest_config(ProptestConfig::with_cases(4000))]
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
