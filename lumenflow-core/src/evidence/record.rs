//! Evidence records: canonical JSON, hash-chained, Ed25519-signed.
//!
//! A record is one line of RFC 8785 canonical JSON with exactly these members:
//! `v` (format, 1), `stream` (the log's id), `seq` (0, 1, 2, ... without gaps), `prev`
//! (the previous record's `hash`; for `seq` 0 the genesis value of 64 zeros), `ts` (RFC
//! 3339 UTC), `kind` (`decision`, `outcome`, `approval`, `budget`, `override`,
//! `recovery`, ...), `body` (an object), `key` (the signing key's id), `hash` and `sig`.
//!
//! `hash` is `sha256:` + hex of SHA-256(`lumenflow.record.v1` NUL ‖ canonical JSON of
//! the record without `hash` and `sig`): every attested field, including the stream and
//! the kind, is hashed, so a record cannot be moved to another stream or passed off as
//! another kind. `sig` is the hex Ed25519 signature of (`lumenflow.sig.v1` NUL ‖ the 32
//! hash bytes), checked with `verify_strict`. Checkpoints are hashed under
//! `lumenflow.checkpoint.v1`. The byte-exact rules are in `spec/evidence.md`.

use crate::evidence::canonical;
use crate::evidence::keys::{hex_decode, KeyPair, Keyring};
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The record format version.
pub const FORMAT: u64 = 1;
/// `prev` of the first record of a stream.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
const RECORD_DOMAIN: &[u8] = b"lumenflow.record.v1\0";
const CHECKPOINT_DOMAIN: &[u8] = b"lumenflow.checkpoint.v1\0";
const SIG_DOMAIN: &[u8] = b"lumenflow.sig.v1\0";
/// Largest record line accepted, in bytes.
pub const MAX_RECORD_BYTES: usize = 8 * 1024 * 1024;

/// Record kinds LumenFlow writes.
pub mod kind {
    /// A decision, written before the tool runs.
    pub const DECISION: &str = "decision";
    /// The outcome of a decided action.
    pub const OUTCOME: &str = "outcome";
    /// An approval request, vote or grant.
    pub const APPROVAL: &str = "approval";
    /// A budget charge, warning or refusal.
    pub const BUDGET: &str = "budget";
    /// A break-glass override.
    pub const OVERRIDE: &str = "override";
    /// A note that the log was repaired (a torn tail cut off) or reconciled.
    pub const RECOVERY: &str = "recovery";
}

/// The position of a log's last record: what the next record links to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The last record's sequence number.
    pub seq: u64,
    /// The last record's hash.
    pub hash: String,
}

/// One evidence record. (Fields are declared in canonical order: see [`canonical_bytes`].)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The content.
    pub body: Value,
    /// `sha256:<hex>` of the attested fields.
    pub hash: String,
    /// The signing key's id.
    pub key: String,
    /// What it records (see [`kind`]).
    pub kind: String,
    /// The previous record's hash ([`GENESIS`] for the first).
    pub prev: String,
    /// Sequence number, from 0 without gaps.
    pub seq: u64,
    /// Hex Ed25519 signature of the hash.
    pub sig: String,
    /// The stream (log) id.
    pub stream: String,
    /// When it was written (RFC 3339, UTC, microseconds).
    pub ts: String,
    /// Format version ([`FORMAT`]).
    pub v: u64,
}

/// Canonical bytes of a record-shaped struct whose fields are declared in canonical
/// (sorted) order: `serde_json` then writes them in that order, so if the body takes the
/// canonical fast path the output is already canonical; otherwise the full serialiser runs.
fn canonical_bytes<T: Serialize>(v: &T, body: &Value) -> Vec<u8> {
    if canonical::fast_path_ok(body) {
        canonical::fast_to_vec(v).expect("records serialise")
    } else {
        canonical::to_vec(v).expect("records serialise")
    }
}

/// The attested fields, in canonical order.
#[derive(Serialize)]
struct Attested<'a> {
    body: &'a Value,
    key: &'a str,
    kind: &'a str,
    prev: &'a str,
    seq: u64,
    stream: &'a str,
    ts: &'a str,
    v: u64,
}

/// Why a record or checkpoint is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not JSON, or not the record schema.
    #[error("not a valid record: {0}")]
    Malformed(String),
    /// Valid JSON, but not in canonical form (so its bytes were altered).
    #[error("not in RFC 8785 canonical form")]
    NotCanonical,
    /// The `hash` does not match the attested fields.
    #[error("hash does not match the record's content")]
    HashMismatch,
    /// Signed by a key the verifier does not hold.
    #[error("signed by unknown key {0}")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

fn sha256_tagged(domain: &[u8], bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(domain);
    h.update(bytes);
    h.finalize().into()
}

fn digest_string(d: &[u8; 32]) -> String {
    format!("sha256:{}", canonical::hex(d))
}

fn parse_digest(s: &str) -> Option<[u8; 32]> {
    hex_decode(s.strip_prefix("sha256:")?)?.try_into().ok()
}

fn sig_message(hash: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIG_DOMAIN.len() + 32);
    m.extend_from_slice(SIG_DOMAIN);
    m.extend_from_slice(hash);
    m
}

/// Whether `s` is a timestamp in the one form records and checkpoints use (what
/// [`timestamp`] writes: UTC, `T` and `Z` in upper case, six fraction digits), so that a
/// record's bytes have one spelling.
pub fn is_timestamp(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s)
        .is_ok_and(|t| timestamp(t.with_timezone(&chrono::Utc)) == s)
}

/// The current time as a record timestamp.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl Record {
    /// Builds and signs the record that follows `head` (`None` for the first).
    pub fn seal(
        stream: &str,
        head: Option<&Head>,
        ts: &str,
        kind: &str,
        body: Value,
        key: &KeyPair,
    ) -> Record {
        let seq = head.map_or(0, |h| h.seq + 1);
        let prev = head.map_or(GENESIS, |h| h.hash.as_str()).to_owned();
        let attested = Attested {
            body: &body,
            key: key.id(),
            kind,
            prev: &prev,
            seq,
            stream,
            ts,
            v: FORMAT,
        };
        let bytes = canonical_bytes(&attested, &body);
        let hash = sha256_tagged(RECORD_DOMAIN, &bytes);
        let sig = key.sign(&sig_message(&hash));
        Record {
            body,
            hash: digest_string(&hash),
            key: key.id().to_owned(),
            kind: kind.to_owned(),
            prev,
            seq,
            sig: canonical::hex(&sig.to_bytes()),
            stream: stream.to_owned(),
            ts: ts.to_owned(),
            v: FORMAT,
        }
    }

    /// The record's id: `<stream>:<seq>`.
    pub fn id(&self) -> String {
        format!("{}:{}", self.stream, self.seq)
    }

    /// The position this record makes the head of its log.
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }

    /// The record's line: canonical JSON, without the newline.
    pub fn to_line(&self) -> Vec<u8> {
        canonical_bytes(self, &self.body)
    }

    /// Parses a line and checks everything that needs no key: the schema, the exact
    /// canonical form, the format version and the hash.
    pub fn parse(line: &[u8]) -> Result<Record, RecordError> {
        if line.len() > MAX_RECORD_BYTES {
            return Err(RecordError::Malformed(format!(
                "longer than {MAX_RECORD_BYTES} bytes"
            )));
        }
        let value: Value =
            serde_json::from_slice(line).map_err(|e| RecordError::Malformed(e.to_string()))?;
        if canonical::to_vec(&value).map_err(|e| RecordError::Malformed(e.to_string()))? != line {
            return Err(RecordError::NotCanonical);
        }
        let rec: Record =
            serde_json::from_value(value).map_err(|e| RecordError::Malformed(e.to_string()))?;
        if rec.v != FORMAT {
            return Err(RecordError::Malformed(format!(
                "unsupported format version {}",
                rec.v
            )));
        }
        if !rec.body.is_object() {
            return Err(RecordError::Malformed("body is not an object".into()));
        }
        if rec.kind.is_empty()
            || rec.kind.len() > 32
            || !rec
                .kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return Err(RecordError::Malformed(format!(
                "invalid kind {:?}",
                rec.kind
            )));
        }
        if !is_timestamp(&rec.ts) {
            return Err(RecordError::Malformed(format!(
                "invalid timestamp {:?}",
                rec.ts
            )));
        }
        if parse_digest(&rec.prev).is_none() {
            return Err(RecordError::Malformed("prev is not a sha256 digest".into()));
        }
        let claimed = parse_digest(&rec.hash)
            .ok_or_else(|| RecordError::Malformed("hash is not a sha256 digest".into()))?;
        if rec.computed_hash() != claimed {
            return Err(RecordError::HashMismatch);
        }
        Ok(rec)
    }

    fn computed_hash(&self) -> [u8; 32] {
        let attested = Attested {
            body: &self.body,
            key: &self.key,
            kind: &self.kind,
            prev: &self.prev,
            seq: self.seq,
            stream: &self.stream,
            ts: &self.ts,
            v: self.v,
        };
        sha256_tagged(
            RECORD_DOMAIN,
            &canonical::to_vec(&attested).expect("records serialise"),
        )
    }

    /// Checks the signature with the key named by `key` in `keyring` (strictly).
    pub fn check_signature(&self, keyring: &Keyring) -> Result<(), RecordError> {
        check_sig(&self.hash, &self.sig, &self.key, keyring)
    }

    /// The body as a map.
    pub fn body_map(&self) -> &Map<String, Value> {
        self.body.as_object().expect("checked on parse and seal")
    }
}

fn check_sig(hash: &str, sig: &str, key: &str, keyring: &Keyring) -> Result<(), RecordError> {
    if !crate::evidence::keys::is_key_id(key) {
        return Err(RecordError::Malformed(format!(
            "key {key:?} is not a key id (ed25519: and 32 lower-case hex digits)"
        )));
    }
    let vk = keyring
        .get(key)
        .ok_or_else(|| RecordError::UnknownKey(key.to_owned()))?;
    let hash = parse_digest(hash).ok_or(RecordError::HashMismatch)?;
    let bytes: [u8; 64] = hex_decode(sig)
        .and_then(|b| b.try_into().ok())
        .ok_or(RecordError::BadSignature)?;
    let sig = Signature::from_bytes(&bytes);
    vk.verify_strict(&sig_message(&hash), &sig)
        .map_err(|_| RecordError::BadSignature)
}

/// A signed statement of a log's head, kept apart from the log so that cutting records
/// off its end can be detected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Format version.
    pub v: u64,
    /// Always `checkpoint`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The stream.
    pub stream: String,
    /// The head's sequence number.
    pub seq: u64,
    /// The head's hash.
    pub head: String,
    /// When it was made.
    pub ts: String,
    /// The signing key's id.
    pub key: String,
    /// `sha256:` of the attested fields under the checkpoint domain.
    pub hash: String,
    /// Hex Ed25519 signature of the hash.
    pub sig: String,
}

#[derive(Serialize)]
struct CheckpointAttested<'a> {
    v: u64,
    #[serde(rename = "type")]
    kind: &'a str,
    stream: &'a str,
    seq: u64,
    head: &'a str,
    ts: &'a str,
    key: &'a str,
}

impl Checkpoint {
    /// Signs a checkpoint of `head`.
    pub fn seal(stream: &str, head: &Head, ts: &str, key: &KeyPair) -> Checkpoint {
        let mut c = Checkpoint {
            v: FORMAT,
            kind: "checkpoint".into(),
            stream: stream.to_owned(),
            seq: head.seq,
            head: head.hash.clone(),
            ts: ts.to_owned(),
            key: key.id().to_owned(),
            hash: String::new(),
            sig: String::new(),
        };
        let hash = c.computed_hash();
        c.hash = digest_string(&hash);
        c.sig = canonical::hex(&key.sign(&sig_message(&hash)).to_bytes());
        c
    }

    fn computed_hash(&self) -> [u8; 32] {
        let a = CheckpointAttested {
            v: self.v,
            kind: &self.kind,
            stream: &self.stream,
            seq: self.seq,
            head: &self.head,
            ts: &self.ts,
            key: &self.key,
        };
        sha256_tagged(
            CHECKPOINT_DOMAIN,
            &canonical::to_vec(&a).expect("checkpoints serialise"),
        )
    }

    /// Parses a checkpoint file's text.
    pub fn parse(text: &str) -> Result<Checkpoint, RecordError> {
        let c: Checkpoint =
            serde_json::from_str(text.trim()).map_err(|e| RecordError::Malformed(e.to_string()))?;
        if c.v != FORMAT || c.kind != "checkpoint" {
            return Err(RecordError::Malformed("not a version 1 checkpoint".into()));
        }
        if !is_timestamp(&c.ts) {
            return Err(RecordError::Malformed(format!(
                "invalid checkpoint timestamp {:?}",
                c.ts
            )));
        }
        Ok(c)
    }

    /// Checks the hash and (strictly) the signature.
    pub fn verify(&self, keyring: &Keyring) -> Result<(), RecordError> {
        let claimed = parse_digest(&self.hash).ok_or(RecordError::HashMismatch)?;
        if self.computed_hash() != claimed {
            return Err(RecordError::HashMismatch);
        }
        check_sig(&self.hash, &self.sig, &self.key, keyring)
    }

    /// The checkpoint as canonical JSON text.
    pub fn to_json(&self) -> String {
        canonical::to_string(self).expect("checkpoints serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyPair {
        KeyPair::from_seed(&[7; 32])
    }

    #[test]
    fn seal_parse_verify() {
        let k = key();
        let mut ring = Keyring::new();
        ring.add(k.public());
        let r0 = Record::seal(
            "s",
            None,
            "2026-01-01T00:00:00.000000Z",
            kind::DECISION,
            serde_json::json!({"a": 1}),
            &k,
        );
        assert_eq!(r0.prev, GENESIS);
        let r1 = Record::seal(
            "s",
            Some(&r0.head()),
            "2026-01-01T00:00:01.000000Z",
            kind::OUTCOME,
            serde_json::json!({}),
            &k,
        );
        assert_eq!((r1.seq, r1.prev.as_str()), (1, r0.hash.as_str()));
        let line = r1.to_line();
        let back = Record::parse(&line).unwrap();
        assert_eq!(back, r1);
        back.check_signature(&ring).unwrap();
        assert_eq!(
            back.check_signature(&Keyring::new()),
            Err(RecordError::UnknownKey(k.id().into()))
        );
        // Altered content, non-canonical spacing, altered signature.
        let text = String::from_utf8(line.clone()).unwrap();
        assert_eq!(
            Record::parse(
                text.replace("\"kind\":\"outcome\"", "\"kind\":\"decision\"")
                    .as_bytes()
            ),
            Err(RecordError::HashMismatch)
        );
        assert_eq!(
            Record::parse(text.replace("\"seq\":1", "\"seq\": 1").as_bytes()),
            Err(RecordError::NotCanonical)
        );
        let mut bad = back.clone();
        bad.sig = bad.sig.replacen('0', "1", 1).replacen('a', "b", 1);
        assert_eq!(bad.check_signature(&ring), Err(RecordError::BadSignature));
    }

    #[test]
    fn lines_are_canonical_whatever_the_body() {
        let k = key();
        for body in [
            serde_json::json!({"z": 1, "a": [1.5, "é", {"\u{1f600}": 1, "\u{e000}": 2}], "n": 9007199254740993u64}),
            serde_json::json!({"plain": "text", "n": 3}),
        ] {
            let r = Record::seal(
                "s",
                None,
                "2026-01-01T00:00:00.000000Z",
                kind::DECISION,
                body,
                &k,
            );
            let line = r.to_line();
            assert_eq!(line, canonical::to_vec(&r).unwrap());
            // RFC 8785 numbers are doubles: 2^53 + 1 is recorded as 2^53. The line, not the
            // in-memory body, is what is hashed, and it parses back to itself.
            let back = Record::parse(&line).unwrap();
            assert_eq!(back.to_line(), line);
            assert_eq!(back.hash, r.hash);
        }
    }

    #[test]
    fn checkpoints() {
        let k = key();
        let mut ring = Keyring::new();
        ring.add(k.public());
        let c = Checkpoint::seal(
            "s",
            &Head {
                seq: 9,
                hash: GENESIS.into(),
            },
            "2026-01-01T00:00:00.000000Z",
            &k,
        );
        let back = Checkpoint::parse(&c.to_json()).unwrap();
        back.verify(&ring).unwrap();
        let mut moved = back.clone();
        moved.seq = 8;
        assert_eq!(moved.verify(&ring), Err(RecordError::HashMismatch));
    }
}
