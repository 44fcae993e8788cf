//! The approver registry: who the people who approve are, bound to their keys.
//!
//! A vote's `approver` field is a claim. With a registry, a vote counts only if it is
//! signed by a key the registry binds to an identity, or attested by a program the
//! registry declares as one that authenticates people itself (with the method recorded);
//! the identity and roles it counts under are the registry's, never the vote's. One key
//! belongs to one identity, so quorum counts people, not keys or names. Format and rules:
//! `spec/approvals.md`, Approver registry.

use crate::error::{Diagnostic, PolicyError};
use crate::evidence::canonical;
use crate::evidence::keys::{is_key_id, key_id, parse_public};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The registry format version this build reads.
pub const REGISTRY_VERSION: u64 = 1;

/// One registered approver: an identity, its roles, and the keys that sign for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredApprover {
    /// The identity (`alice`); votes count under this id whatever they name.
    pub id: String,
    /// The roles `role:<r>` entries match.
    pub roles: Vec<String>,
    /// The ids of the keys that sign for this identity.
    pub keys: Vec<String>,
}

/// A program that authenticates people itself (a console with its own login, say):
/// votes it writes, signed with its key, count as attested by one of `methods`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attester {
    /// The id of the key the program signs its records with.
    pub key: String,
    /// The authentication methods it may record (`password`, `webauthn`, ...).
    pub methods: Vec<String>,
}

/// The approver registry (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    approvers: BTreeMap<String, RegisteredApprover>,
    by_key: HashMap<String, String>,
    attesters: Vec<Attester>,
    digest: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    version: u64,
    #[serde(default)]
    approvers: Vec<EntryDoc>,
    #[serde(default)]
    attesters: Vec<AttesterDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDoc {
    id: String,
    #[serde(default)]
    roles: Vec<String>,
    keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttesterDoc {
    key: String,
    methods: Vec<String>,
}

/// A key given as a key id (`ed25519:<32 hex>`) or a PEM public key, as its id.
fn key_of(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.starts_with("-----BEGIN") {
        return parse_public(s, "a registry key")
            .map(|k| key_id(&k))
            .map_err(|e| e.to_string());
    }
    if is_key_id(s) {
        return Ok(s.to_owned());
    }
    Err(format!(
        "{s:?} is neither a key id (`ed25519:` and 32 lower-case hex digits) nor a PEM public key"
    ))
}

/// Whether `s` is a plain name (an id, role or method): 1 to 128 of `[A-Za-z0-9._-@+]`.
pub(crate) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c))
}

impl Registry {
    /// Reads a registry file (YAML or JSON).
    pub fn load(path: impl AsRef<Path>) -> Result<Registry, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Registry::parse(&text, &path.display().to_string())
    }

    /// Parses a registry from text (YAML or JSON); `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Registry, PolicyError> {
        let one = |m: String| PolicyError::Invalid(vec![Diagnostic::new(origin, m)]);
        let doc: Doc = serde_saphyr::from_str(text).map_err(|e| {
            PolicyError::Invalid(vec![crate::policy::file::saphyr_diagnostic(origin, &e)])
        })?;
        if doc.version != REGISTRY_VERSION {
            return Err(one(format!(
                "registry version {} is not supported (this build reads version {REGISTRY_VERSION})",
                doc.version
            )));
        }
        let mut diags = Vec::new();
        let mut approvers = BTreeMap::new();
        let mut by_key: HashMap<String, String> = HashMap::new();
        for (i, e) in doc.approvers.into_iter().enumerate() {
            let at = |field: &str, m: String| {
                let mut d = Diagnostic::new(origin, m);
                d.field = Some(format!("approvers[{i}].{field}"));
                d
            };
            // Ids are plain names: `user:`, `role:` and `key:` are how rules *refer* to
            // them, and a `*` would make a rule's prefix entries ambiguous.
            if !valid_name(&e.id) {
                diags.push(at(
                    "id",
                    format!(
                        "approver id {:?} must be 1 to 128 letters, digits or ._-@+",
                        e.id
                    ),
                ));
                continue;
            }
            if approvers.contains_key(&e.id) {
                diags.push(at("id", format!("approver {:?} is registered twice", e.id)));
                continue;
            }
            for r in &e.roles {
                if !valid_name(r) {
                    diags.push(at(
                        "roles",
                        format!("role {r:?} must be 1 to 128 letters, digits or ._-@+"),
                    ));
                }
            }
            if e.keys.is_empty() {
                diags.push(at(
                    "keys",
                    format!("approver {:?} has no key: an identity is its keys", e.id),
                ));
            }
            let mut keys = Vec::new();
            for k in &e.keys {
                match key_of(k) {
                    Ok(k) => {
                        // One key is one identity: a key under two names would count twice.
                        if let Some(other) = by_key.get(&k) {
                            diags.push(at(
                                "keys",
                                format!("key {k} is registered to {other:?} and to {:?}: one key is one identity", e.id),
                            ));
                        } else {
                            by_key.insert(k.clone(), e.id.clone());
                            keys.push(k);
                        }
                    }
                    Err(m) => diags.push(at("keys", m)),
                }
            }
            let mut roles = e.roles;
            roles.sort();
            roles.dedup();
            approvers.insert(
                e.id.clone(),
                RegisteredApprover {
                    id: e.id,
                    roles,
                    keys,
                },
            );
        }
        let mut attesters = Vec::new();
        for (i, a) in doc.attesters.into_iter().enumerate() {
            let at = |field: &str, m: String| {
                let mut d = Diagnostic::new(origin, m);
                d.field = Some(format!("attesters[{i}].{field}"));
                d
            };
            let key = match key_of(&a.key) {
                Ok(k) => k,
                Err(m) => {
                    diags.push(at("key", m));
                    continue;
                }
            };
            if let Some(who) = by_key.get(&key) {
                diags.push(at(
                    "key",
                    format!("key {key} is registered to approver {who:?}; an attester's key must be its own"),
                ));
            }
            if a.methods.is_empty() || a.methods.iter().any(|m| !valid_name(m)) {
                diags.push(at(
                    "methods",
                    "an attester names at least one method, each 1 to 128 letters, digits or ._-@+"
                        .into(),
                ));
            }
            attesters.push(Attester {
                key,
                methods: a.methods,
            });
        }
        if !diags.is_empty() {
            return Err(PolicyError::Invalid(diags));
        }
        let canon = serde_json::json!({
            "version": REGISTRY_VERSION,
            "approvers": approvers.values().collect::<Vec<_>>(),
            "attesters": attesters,
        });
        let digest = canonical::digest(&canon).unwrap_or_default();
        Ok(Registry {
            approvers,
            by_key,
            attesters,
            digest,
        })
    }

    /// A registry with nobody in it: no vote counts.
    pub fn empty() -> Registry {
        Registry::parse("version: 1\n", "an empty registry").expect("the empty registry parses")
    }

    /// The approver a key signs for.
    pub fn by_key(&self, key_id: &str) -> Option<&RegisteredApprover> {
        self.by_key
            .get(key_id)
            .and_then(|id| self.approvers.get(id))
    }

    /// A registered approver by id (`alice`; `user:alice` is the same).
    pub fn get(&self, id: &str) -> Option<&RegisteredApprover> {
        self.approvers.get(id.strip_prefix("user:").unwrap_or(id))
    }

    /// Every registered approver, by id.
    pub fn approvers(&self) -> impl Iterator<Item = &RegisteredApprover> {
        self.approvers.values()
    }

    /// Whether the program signing with `key_id` may attest votes by `method`.
    pub fn attests(&self, key_id: &str, method: &str) -> bool {
        self.attesters
            .iter()
            .any(|a| a.key == key_id && a.methods.iter().any(|m| m == method))
    }

    /// The declared attesters.
    pub fn attesters(&self) -> &[Attester] {
        &self.attesters
    }

    /// The digest of the registry's canonical form (recorded with each vote, and in the
    /// state snapshot: a snapshot folded under another registry is not reused).
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "ed25519:00112233445566778899aabbccddeeff";
    const B: &str = "ed25519:ffeeddccbbaa99887766554433221100";

    fn errs(text: &str) -> String {
        Registry::parse(text, "r.yaml").unwrap_err().to_string()
    }

    #[test]
    fn binds_keys_to_identities() {
        let r = Registry::parse(
            &format!("version: 1\napprovers:\n  - {{id: alice, roles: [lead, lead], keys: [{A}]}}\n  - {{id: bob, keys: [{B}]}}\n"),
            "r.yaml",
        )
        .unwrap();
        assert_eq!(r.by_key(A).unwrap().id, "alice");
        assert_eq!(r.by_key(A).unwrap().roles, vec!["lead".to_owned()]);
        assert_eq!(r.get("user:bob").unwrap().keys, vec![B.to_owned()]);
        assert!(r
            .by_key("ed25519:0000000000000000000000000000000f")
            .is_none());
        assert!(r.digest().starts_with("sha256:"));
    }

    #[test]
    fn refuses_one_key_under_two_names_and_bad_entries() {
        let e = errs(&format!(
            "version: 1\napprovers:\n  - {{id: alice, keys: [{A}]}}\n  - {{id: al, keys: [{A}]}}\n"
        ));
        assert!(e.contains("one key is one identity"), "{e}");
        assert!(errs(&format!(
            "version: 1\napprovers:\n  - {{id: 'user:x', keys: [{A}]}}\n"
        ))
        .contains("approvers[0].id"));
        assert!(errs("version: 1\napprovers:\n  - {id: x, keys: []}\n").contains("has no key"));
        assert!(
            errs("version: 1\napprovers:\n  - {id: x, keys: [ED25519:00]}\n")
                .contains("neither a key id")
        );
        assert!(errs("version: 2\n").contains("not supported"));
        assert!(
            errs("version: 1\nversion: 1\n").contains("duplicate"),
            "{}",
            errs("version: 1\nversion: 1\n")
        );
        assert!(errs("version: 1\nextra: 1\n").contains("unknown field"));
        assert!(errs(&format!(
            "version: 1\napprovers:\n  - {{id: x, keys: [{A}]}}\n  - {{id: x, keys: [{B}]}}\n"
        ))
        .contains("registered twice"));
        assert!(errs(&format!("version: 1\napprovers:\n  - {{id: x, keys: [{A}]}}\nattesters:\n  - {{key: {A}, methods: [pw]}}\n")).contains("must be its own"));
        assert!(errs(&format!(
            "version: 1\nattesters:\n  - {{key: {B}, methods: []}}\n"
        ))
        .contains("at least one method"));
    }

    #[test]
    fn attesters_are_per_method() {
        let r = Registry::parse(
            &format!("version: 1\nattesters:\n  - {{key: {B}, methods: [webauthn]}}\n"),
            "r.yaml",
        )
        .unwrap();
        assert!(r.attests(B, "webauthn"));
        assert!(!r.attests(B, "password"));
        assert!(!r.attests(A, "webauthn"));
    }
}
