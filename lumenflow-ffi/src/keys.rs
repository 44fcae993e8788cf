//! Signing keys.

use crate::error::{guard, Result};
use lumenflow_core as core;
use std::sync::Arc;

/// An Ed25519 signing key with its id. Its private half never leaves the library except
/// through [`KeyPair::write_files`].
#[derive(Debug, uniffi::Object)]
pub struct KeyPair(pub(crate) core::KeyPair);

#[uniffi::export]
impl KeyPair {
    /// A new random key.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<KeyPair>> {
        guard(|| Ok(Arc::new(KeyPair(core::KeyPair::generate()?))))
    }

    /// Reads a private key file (PKCS#8 PEM, as `lumenflow keygen` writes).
    #[uniffi::constructor]
    pub fn from_file(path: String) -> Result<Arc<KeyPair>> {
        guard(|| Ok(Arc::new(KeyPair(core::KeyPair::from_file(&path)?))))
    }

    /// Reads a private key from PEM text; `what` names it in errors.
    #[uniffi::constructor]
    pub fn from_pem(pem: String, what: String) -> Result<Arc<KeyPair>> {
        guard(|| Ok(Arc::new(KeyPair(core::KeyPair::from_pem(&pem, &what)?))))
    }

    /// Writes the private key to `path` (mode 0600) and the public key to `path.pub`.
    pub fn write_files(&self, path: String) -> Result<()> {
        guard(|| Ok(self.0.write_files(&path)?))
    }

    /// The key id (`ed25519:...`).
    pub fn id(&self) -> String {
        self.0.id().to_owned()
    }

    /// The public key as SPKI PEM (give it to verifiers).
    pub fn public_pem(&self) -> String {
        self.0.public_pem()
    }
}
