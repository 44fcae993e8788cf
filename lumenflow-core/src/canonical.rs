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
    serde_json_canonicalizer::to_vec(value)
}

/// Serialises `value` to an RFC 8785 canonical JSON string.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    serde_json_canonicalizer::to_string(value)
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
