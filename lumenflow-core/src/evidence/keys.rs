//! Signing keys: Ed25519 key pairs, key ids, PEM files, and keyrings for verification.
//!
//! Private keys are PKCS#8 PEM files written with mode 0600; public keys are SPKI PEM.
//! A key id is `ed25519:` and the first 16 bytes, in hex, of SHA-256 over the domain tag
//! `lumenflow.key.v1` (with a NUL) and the 32-byte public key: it is derived from the
//! key itself, so it cannot be claimed for another key. Signatures are checked with
//! `verify_strict` (see `spec/evidence.md`).

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A key file or key bytes are not a valid key.
    #[error("{what}: not a valid Ed25519 {kind}: {message}")]
    Invalid {
        /// Where the key came from.
        what: String,
        /// `private key` or `public key`.
        kind: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The operating system's random source failed.
    #[error("no randomness for a new key: {0}")]
    Random(String),
}

/// Whether `s` is spelled as a key id: `ed25519:` and exactly 32 lower-case hex digits.
pub fn is_key_id(s: &str) -> bool {
    s.strip_prefix("ed25519:")
        .is_some_and(|h| h.len() == 32 && hex_decode(h).is_some())
}

/// A key's id: `ed25519:` and 32 lower-case hex digits of a digest of the public key.
pub fn key_id(key: &VerifyingKey) -> String {
    let mut h = Sha256::new();
    h.update(b"lumenflow.key.v1\0");
    h.update(key.as_bytes());
    format!(
        "ed25519:{}",
        crate::evidence::canonical::hex(&h.finalize()[..16])
    )
}

/// A private signing key with its id. Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct KeyPair {
    signing: SigningKey,
    id: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair({})", self.id)
    }
}

impl KeyPair {
    /// A new random key.
    pub fn generate() -> Result<KeyPair, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(KeyPair::from_seed(&seed))
    }

    /// The key for a 32-byte seed (for tests and vectors; use [`generate`](Self::generate)).
    pub fn from_seed(seed: &[u8; 32]) -> KeyPair {
        let signing = SigningKey::from_bytes(seed);
        let id = key_id(&signing.verifying_key());
        KeyPair { signing, id }
    }

    /// Reads a PKCS#8 PEM private key file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<KeyPair, KeyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        KeyPair::from_pem(&text, &path.display().to_string())
    }

    /// Parses a PKCS#8 PEM private key; `what` names it in errors.
    pub fn from_pem(pem: &str, what: &str) -> Result<KeyPair, KeyError> {
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|e| KeyError::Invalid {
            what: what.to_owned(),
            kind: "private key",
            message: e.to_string(),
        })?;
        let id = key_id(&signing.verifying_key());
        Ok(KeyPair { signing, id })
    }

    /// Writes the private key (PKCS#8 PEM, mode 0600, refusing to overwrite) and the public
    /// key next to it (`<path>.pub`, SPKI PEM).
    pub fn write_files(&self, path: impl AsRef<Path>) -> Result<(), KeyError> {
        let path = path.as_ref();
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        // PKCS#8 v1 (RFC 5208: no public key inside), the form OpenSSL 3 and Python's
        // `cryptography` read; reading accepts v1 and v2 (RFC 5958).
        let pem = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.signing.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(Default::default())
        .map_err(|e| KeyError::Invalid {
            what: path.display().to_string(),
            kind: "private key",
            message: e.to_string(),
        })?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(io)?;
        std::io::Write::write_all(&mut f, pem.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        let pub_path = public_path(path);
        std::fs::write(&pub_path, self.public_pem()).map_err(|source| KeyError::Io {
            path: pub_path.display().to_string(),
            source,
        })
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The public key.
    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key as SPKI PEM.
    pub fn public_pem(&self) -> String {
        public_pem(&self.public())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }
}

/// Where the public key of a private key file is written: `<path>.pub`.
pub fn public_path(private: &Path) -> std::path::PathBuf {
    let mut s = private.as_os_str().to_owned();
    s.push(".pub");
    s.into()
}

/// SPKI PEM of a public key.
pub fn public_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(Default::default())
        .expect("an Ed25519 public key always encodes")
}

/// Parses an SPKI PEM public key, or 64 hex digits; `what` names it in errors.
pub fn parse_public(text: &str, what: &str) -> Result<VerifyingKey, KeyError> {
    let t = text.trim();
    let invalid = |message: String| KeyError::Invalid {
        what: what.to_owned(),
        kind: "public key",
        message,
    };
    let key = if t.starts_with("-----BEGIN") {
        VerifyingKey::from_public_key_pem(t).map_err(|e| invalid(e.to_string()))?
    } else {
        let bytes = hex_decode(&t.to_ascii_lowercase())
            .ok_or_else(|| invalid("expected PEM or 64 hex digits".into()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid("expected 32 bytes".into()))?;
        VerifyingKey::from_bytes(&arr).map_err(|e| invalid(e.to_string()))?
    };
    if key.is_weak() {
        return Err(invalid("a small-order (weak) key is never accepted".into()));
    }
    Ok(key)
}

/// Verifies an Ed25519 `signature` (128 lower-case hex digits) of `message` by the
/// public key `public` (64 lower-case hex digits) under LumenFlow's strict rule
/// (spec/evidence.md, Signature rule): `S` canonical, neither `R` nor the key of small
/// order (nor a non-canonical encoding of one), and the cofactorless equation holds.
/// Records, checkpoints and signed votes are checked by this rule.
pub fn verify_signature(public: &str, message: &[u8], signature: &str) -> bool {
    let Some(key) = hex_decode(public).and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
        return false;
    };
    let Some(sig) = hex_decode(signature).and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    let Ok(vk) = VerifyingKey::from_bytes(&key) else {
        return false;
    };
    !vk.is_weak()
        && vk
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&sig))
            .is_ok()
}

/// Decodes hex spelled exactly in lower case (the only form records, checkpoints and
/// key ids use); anything else is `None`.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    // Exactly lower-case hex: one byte string has one spelling (no upper case, no `+`).
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The public keys a verifier trusts, by key id (several, for key rotation).
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: BTreeMap<String, VerifyingKey>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Adds a key; returns its id.
    pub fn add(&mut self, key: VerifyingKey) -> String {
        let id = key_id(&key);
        self.keys.insert(id.clone(), key);
        id
    }

    /// A keyring of public keys given as text (SPKI PEM or hex), each error naming
    /// `what[i]`.
    pub fn from_pems<S: AsRef<str>>(pems: &[S], what: &str) -> Result<Keyring, KeyError> {
        let mut ring = Keyring::new();
        for (i, pem) in pems.iter().enumerate() {
            ring.add(parse_public(pem.as_ref(), &format!("{what}[{i}]"))?);
        }
        Ok(ring)
    }

    /// A keyring of public keys each given either as text (SPKI PEM, starting
    /// `-----BEGIN`) or as the path of a public key file, as the bindings accept them;
    /// errors name `what[i]` or the file.
    pub fn from_pems_or_paths<S: AsRef<str>>(items: &[S], what: &str) -> Result<Keyring, KeyError> {
        let mut ring = Keyring::new();
        for (i, item) in items.iter().enumerate() {
            let item = item.as_ref();
            if item.trim_start().starts_with("-----BEGIN") {
                ring.add(parse_public(item, &format!("{what}[{i}]"))?);
            } else {
                ring.add_file(item)?;
            }
        }
        Ok(ring)
    }

    /// Adds a public key file (SPKI PEM or hex).
    pub fn add_file(&mut self, path: impl AsRef<Path>) -> Result<String, KeyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(self.add(parse_public(&text, &path.display().to_string())?))
    }

    /// The key with this id.
    pub fn get(&self, id: &str) -> Option<&VerifyingKey> {
        self.keys.get(id)
    }

    /// Whether the keyring is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip_and_are_private() {
        let dir = std::env::temp_dir().join(format!("lf-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent.key");
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(public_path(&path));
        let k = KeyPair::generate().unwrap();
        k.write_files(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(k.write_files(&path).is_err(), "never overwrites a key");
        let back = KeyPair::from_file(&path).unwrap();
        assert_eq!(back.id(), k.id());
        let mut ring = Keyring::new();
        assert_eq!(ring.add_file(public_path(&path)).unwrap(), k.id());
        assert!(!format!("{k:?}").contains("PRIVATE"));
        assert!(KeyPair::from_pem("nope", "x").is_err());
        assert!(
            parse_public(&"00".repeat(32), "weak").is_err(),
            "the identity point is weak"
        );
    }
}
