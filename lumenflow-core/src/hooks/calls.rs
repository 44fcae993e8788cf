//! The call index: from a client's call (its correlation key) to the decisions recorded
//! for it, so that the after-event closes them without reading the whole log.
//!
//! Layout, inside the evidence directory:
//!
//! ```text
//! DIR/hooks/calls/<64 hex of the call key>/<seq, 20 digits>.json   {"decision": "<stream>:<seq>", "effect": "allow", "client": "codex"}
//! ```
//!
//! One file per decision (a patch writing three files has three), written after its
//! decision record and removed once its outcome is recorded. The index is a lookup, not
//! evidence: whoever can write the directory can change it, and what it names is still
//! checked by the governor (only an open decision of this log can be closed).

use crate::policy::decide::Effect;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Why the index could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CallIndexError {
    /// A file system error, with the path.
    #[error("call index {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// An entry that is not an index entry.
    #[error("call index {path}: not an entry: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A call key that is not `sha256:<64 hex>`.
    #[error("call key {0:?} is not sha256:<64 hex>")]
    Key(String),
}

/// One decision recorded for a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEntry {
    /// The decision's id (`<stream>:<seq>`).
    pub decision: String,
    /// Its effect.
    pub effect: Effect,
    /// The client (`claude-code`, ...).
    pub client: String,
}

/// The call index of one evidence directory.
#[derive(Debug, Clone)]
pub struct CallIndex {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CallIndexError + '_ {
    move |source| CallIndexError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl CallIndex {
    /// The index of the evidence directory `dir`.
    pub fn new(dir: &Path) -> CallIndex {
        CallIndex {
            root: dir.join("hooks").join("calls"),
        }
    }

    fn dir_for(&self, call: &str) -> Result<PathBuf, CallIndexError> {
        let hex = call
            .strip_prefix("sha256:")
            .filter(|h| {
                h.len() == 64
                    && h.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
            .ok_or_else(|| CallIndexError::Key(call.to_owned()))?;
        Ok(self.root.join(hex))
    }

    /// Notes that `entry`'s decision was recorded for `call`; returns the entry's file.
    pub fn add(&self, call: &str, entry: &CallEntry) -> Result<PathBuf, CallIndexError> {
        let dir = self.dir_for(call)?;
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let seq: u64 = entry
            .decision
            .rsplit(':')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| CallIndexError::Invalid {
                path: dir.display().to_string(),
                message: format!("decision id {:?} has no sequence number", entry.decision),
            })?;
        let path = dir.join(format!("{seq:020}.json"));
        let tmp = dir.join(format!("{seq:020}.json.tmp"));
        let body = serde_json::to_vec(entry).map_err(|e| CallIndexError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, body).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(path)
    }

    /// The decisions recorded for `call`, oldest first, each with its entry's file.
    pub fn entries(&self, call: &str) -> Result<Vec<(PathBuf, CallEntry)>, CallIndexError> {
        let dir = self.dir_for(call)?;
        let read = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut files: Vec<PathBuf> = read
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).map_err(io(&p))?;
                let e: CallEntry =
                    serde_json::from_slice(&bytes).map_err(|e| CallIndexError::Invalid {
                        path: p.display().to_string(),
                        message: e.to_string(),
                    })?;
                Ok((p, e))
            })
            .collect()
    }

    /// Forgets one entry (its outcome is recorded); removes the call's directory once empty.
    pub fn remove(&self, entry_file: &Path) -> Result<(), CallIndexError> {
        match std::fs::remove_file(entry_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(entry_file)(e)),
        }
        if let Some(parent) = entry_file.parent() {
            let _ = std::fs::remove_dir(parent); // fails while other entries remain
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_list_remove() {
        let dir = std::env::temp_dir().join(format!("lf-calls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let idx = CallIndex::new(&dir);
        let key = crate::evidence::canonical::digest(&serde_json::json!(["k"])).unwrap();
        assert!(idx.entries(&key).unwrap().is_empty());
        for (seq, effect) in [(12, Effect::Allow), (3, Effect::RequireApproval)] {
            idx.add(
                &key,
                &CallEntry {
                    decision: format!("abc:{seq}"),
                    effect,
                    client: "codex".into(),
                },
            )
            .unwrap();
        }
        let got = idx.entries(&key).unwrap();
        assert_eq!(
            got.iter()
                .map(|(_, e)| e.decision.as_str())
                .collect::<Vec<_>>(),
            vec!["abc:3", "abc:12"]
        );
        for (p, _) in &got {
            idx.remove(p).unwrap();
        }
        assert!(idx.entries(&key).unwrap().is_empty());
        assert!(idx.add("../../x", &got[0].1).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
