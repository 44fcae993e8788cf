//! Codex's `apply_patch` format, read for the files it writes.
//!
//! ```text
//! *** Begin Patch
//! *** Add File: path          (then lines starting with `+`)
//! *** Update File: path       (optionally `*** Move to: new path`, then `@@` hunks)
//! *** Delete File: path
//! *** End Patch
//! ```
//!
//! Every file the patch adds, updates, deletes or moves to is returned, so that each is
//! decided as a `write` or `edit` of that path. Anything that is not this grammar is an
//! error: a patch LumenFlow cannot read is never taken to write nothing.

/// What a patch does to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOp {
    /// `*** Add File:` (a new file with this content).
    Add {
        /// The file.
        path: String,
        /// Its content (the `+` lines).
        content: String,
    },
    /// `*** Update File:` (hunks; possibly moved).
    Update {
        /// The file.
        path: String,
        /// `*** Move to:`, if given.
        move_to: Option<String>,
        /// The hunk lines as written.
        hunks: String,
    },
    /// `*** Delete File:`.
    Delete {
        /// The file.
        path: String,
    },
}

/// Why a patch cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// No `*** Begin Patch` line.
    #[error("it does not start with `*** Begin Patch`")]
    NoBegin,
    /// No `*** End Patch` line.
    #[error("it does not end with `*** End Patch`")]
    NoEnd,
    /// A line that fits nowhere.
    #[error("line {line}: unexpected {text:?}")]
    Unexpected {
        /// 1-based line number within the patch.
        line: usize,
        /// The line (cut to 80 characters).
        text: String,
    },
    /// A file header with an empty path.
    #[error("line {0}: a file header names no path")]
    EmptyPath(usize),
    /// A patch with no file operation.
    #[error("it changes no file")]
    Empty,
}

/// The patch inside `text`: the text itself, or the here-document of an
/// `apply_patch <<'EOF' ... EOF` shell command. `None` if there is no patch.
pub fn find_patch(text: &str) -> Option<&str> {
    let start = text.find("*** Begin Patch")?;
    let rest = &text[start..];
    let end = rest
        .find("*** End Patch")
        .map(|i| i + "*** End Patch".len())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Parses a patch.
pub fn parse(patch: &str) -> Result<Vec<FileOp>, PatchError> {
    let lines: Vec<&str> = patch
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut i = lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .ok_or(PatchError::NoBegin)?;
    if lines[i].trim() != "*** Begin Patch" {
        return Err(PatchError::NoBegin);
    }
    i += 1;
    let mut ops = Vec::new();
    let mut ended = false;
    let header = |line: &str, tag: &str, n: usize| -> Option<Result<String, PatchError>> {
        let p = line.strip_prefix(tag)?.trim();
        Some(if p.is_empty() {
            Err(PatchError::EmptyPath(n))
        } else {
            Ok(p.to_owned())
        })
    };
    while i < lines.len() {
        let line = lines[i];
        let n = i + 1;
        if line.trim() == "*** End Patch" {
            ended = true;
            break;
        }
        if let Some(p) = header(line, "*** Add File:", n) {
            let path = p?;
            let mut content = String::new();
            i += 1;
            while i < lines.len() && lines[i].starts_with('+') {
                content.push_str(&lines[i][1..]);
                content.push('\n');
                i += 1;
            }
            ops.push(FileOp::Add { path, content });
            continue;
        }
        if let Some(p) = header(line, "*** Delete File:", n) {
            ops.push(FileOp::Delete { path: p? });
            i += 1;
            continue;
        }
        if let Some(p) = header(line, "*** Update File:", n) {
            let path = p?;
            i += 1;
            let mut move_to = None;
            if i < lines.len() {
                if let Some(m) = header(lines[i], "*** Move to:", i + 1) {
                    move_to = Some(m?);
                    i += 1;
                }
            }
            let mut hunks = String::new();
            while i < lines.len() && !lines[i].starts_with("*** ") {
                let l = lines[i];
                let ok = l.is_empty()
                    || l.starts_with("@@")
                    || l.starts_with(' ')
                    || l.starts_with('+')
                    || l.starts_with('-');
                if !ok {
                    return Err(PatchError::Unexpected {
                        line: i + 1,
                        text: l.chars().take(80).collect(),
                    });
                }
                hunks.push_str(l);
                hunks.push('\n');
                i += 1;
            }
            if i < lines.len() && lines[i].trim() == "*** End of File" {
                i += 1;
            }
            ops.push(FileOp::Update {
                path,
                move_to,
                hunks,
            });
            continue;
        }
        if line.trim().is_empty() {
            i += 1;
            continue;
        }
        return Err(PatchError::Unexpected {
            line: n,
            text: line.chars().take(80).collect(),
        });
    }
    if !ended {
        return Err(PatchError::NoEnd);
    }
    if ops.is_empty() {
        return Err(PatchError::Empty);
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_file() {
        let p = "*** Begin Patch\n*** Add File: hello.txt\n+Hello\n+World\n*** Update File: src/a.rs\n*** Move to: src/b.rs\n@@ fn a()\n-old\n+new\n context\n*** Delete File: gone.txt\n*** End Patch\n";
        let ops = parse(p).unwrap();
        assert_eq!(
            ops,
            vec![
                FileOp::Add {
                    path: "hello.txt".into(),
                    content: "Hello\nWorld\n".into()
                },
                FileOp::Update {
                    path: "src/a.rs".into(),
                    move_to: Some("src/b.rs".into()),
                    hunks: "@@ fn a()\n-old\n+new\n context\n".into()
                },
                FileOp::Delete {
                    path: "gone.txt".into()
                },
            ]
        );
        let shell = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: ../../etc/x\n+y\n*** End Patch\nEOF\n";
        let ops = parse(find_patch(shell).unwrap()).unwrap();
        assert_eq!(
            ops,
            vec![FileOp::Add {
                path: "../../etc/x".into(),
                content: "y\n".into()
            }]
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert_eq!(parse("hello"), Err(PatchError::NoBegin));
        assert_eq!(
            parse("*** Begin Patch\n*** Add File: a\n+x\n"),
            Err(PatchError::NoEnd)
        );
        assert_eq!(
            parse("*** Begin Patch\n*** End Patch"),
            Err(PatchError::Empty)
        );
        assert_eq!(
            parse("*** Begin Patch\n*** Add File:   \n*** End Patch"),
            Err(PatchError::EmptyPath(2))
        );
        assert!(matches!(
            parse("*** Begin Patch\n*** Update File: a\nrm -rf /\n*** End Patch"),
            Err(PatchError::Unexpected { line: 3, .. })
        ));
        assert!(matches!(
            parse("*** Begin Patch\n*** Frobnicate File: a\n*** End Patch"),
            Err(PatchError::Unexpected { line: 2, .. })
        ));
    }
}
