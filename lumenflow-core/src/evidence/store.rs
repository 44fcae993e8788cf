//! Evidence storage: the [`Store`] trait and its embedded default, [`DirStore`], a
//! directory of append-only JSONL segments.
//!
//! ```text
//! DIR/stream                 the stream id (written once, at creation)
//! DIR/lock                   exclusive lock taken around every append (all processes)
//! DIR/segments/NNNNNNNNNNNN.jsonl   records, one canonical JSON line each, in order
//! DIR/checkpoint.json        the latest signed checkpoint
//! DIR/keys/<key id>.pub      public keys that signed records here (for convenience only)
//! DIR/instances/<id>.lock    held by each open Governor, to find ones that died
//! ```
//!
//! Every append takes the in-process mutex and then an exclusive lock on `DIR/lock`, finds
//! the current head (cached, and re-read whenever another process has written), repairs a
//! torn final line left by a crash (cutting it off and appending a `recovery` record that
//! says what was cut), writes the new line with one `write`, and honours the durability
//! mode. See `spec/evidence.md` for what each mode promises.

use crate::evidence::record::{kind, Checkpoint, Head, Record, RecordError};
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// What an append promises once it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Every record is on stable storage (`fdatasync`) before its append returns.
    Sync,
    /// As `Sync`, but appends made at the same time share one `fdatasync` (group commit):
    /// each append still returns only once its record is on stable storage.
    #[default]
    Group,
    /// The record is handed to the operating system before the append returns: it
    /// survives the process being killed, not a power loss or kernel crash.
    None,
}

impl std::str::FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Durability, String> {
        match s {
            "sync" => Ok(Durability::Sync),
            "group" => Ok(Durability::Group),
            "none" => Ok(Durability::None),
            other => Err(format!(
                "unknown durability {other:?} (\"sync\", \"group\" or \"none\")"
            )),
        }
    }
}

/// Why evidence could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The log's existing content is not a valid record where one is required.
    #[error("{path}: line {line}: {reason}")]
    Corrupt {
        /// The segment.
        path: String,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// Another process held the log's lock for longer than the timeout.
    #[error("{path}: the evidence lock was held by another process for more than {seconds} s")]
    Locked {
        /// The lock file.
        path: String,
        /// How long this process waited.
        seconds: u64,
    },
    /// The log lost records it had (a shorter or missing segment, a head behind the
    /// directory's checkpoint, a head whose signature fails): appending is refused until
    /// an explicit, recorded repair.
    #[error("{path}: {reason}; refusing to append to this log until it is repaired")]
    Damaged {
        /// The segment or file that shows the damage.
        path: String,
        /// What is wrong, naming the seq where known.
        reason: String,
    },
    /// A record could not be checked.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A key could not be used.
    #[error(transparent)]
    Key(#[from] crate::evidence::keys::KeyError),
    /// No decision with this id is waiting for an outcome.
    #[error("unknown decision {0}: no open decision of this log has that id")]
    UnknownDecision(String),
    /// Something about the request itself.
    #[error("{0}")]
    Invalid(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Builds and signs records for a store (the store calls it under its lock, with the head).
pub trait Sealer {
    /// Seals the record of `kind` and `body` that follows `head` in `stream`.
    fn seal(&self, stream: &str, head: Option<&Head>, kind: &str, body: Value) -> Record;
    /// The keys a head must be signed by before a record is chained to it; `None` checks
    /// only that the head parses.
    fn trusted(&self) -> Option<&crate::evidence::keys::Keyring> {
        None
    }
}

/// How long an append waits for another process's lock on `DIR/lock`.
pub const LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Holds `DIR/lock` and releases it when dropped, on every path, unwinding included.
struct LockGuard<'a>(&'a File);

impl<'a> LockGuard<'a> {
    /// Takes the exclusive lock, waiting at most [`LOCK_TIMEOUT`].
    fn take(file: &'a File, path: &Path) -> Result<LockGuard<'a>, EvidenceError> {
        let start = std::time::Instant::now();
        let mut pause = std::time::Duration::from_micros(50);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(LockGuard(file)),
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_TIMEOUT => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(EvidenceError::Locked {
                        path: path.display().to_string(),
                        seconds: LOCK_TIMEOUT.as_secs(),
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io_err(path)(e)),
            }
        }
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// A position in a [`DirStore`]'s log: everything before it has been read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    /// The segment number (1-based; 0 means the start).
    pub segment: u64,
    /// The byte offset in that segment.
    pub offset: u64,
}

/// One raw line of a log, with where it was found.
#[derive(Debug, Clone)]
pub struct RawLine {
    /// The segment's file name (or the bundle member).
    pub segment: String,
    /// 1-based line number in the segment.
    pub line: u64,
    /// The line's bytes, without the newline.
    pub bytes: Vec<u8>,
    /// False for a final line that has no newline (a torn write).
    pub complete: bool,
}

/// Where evidence is kept. Implementations must make appends atomic and totally ordered
/// across every thread and process that appends to the same log.
pub trait Store: Send + Sync {
    /// The stream id of the log.
    fn stream(&self) -> &str;
    /// Appends records of these kinds and bodies, in order and without interleaving,
    /// sealed by `sealer` against the head found under the lock.
    fn append(
        &self,
        sealer: &dyn Sealer,
        items: Vec<(String, Value)>,
    ) -> Result<Vec<Record>, EvidenceError>;
    /// Every line of the log, in order.
    fn lines(&self) -> Result<Vec<RawLine>, EvidenceError>;
    /// Writes a checkpoint where readers of this store find it.
    fn put_checkpoint(&self, c: &Checkpoint) -> Result<(), EvidenceError>;
    /// The latest checkpoint written, if any.
    fn checkpoint(&self) -> Result<Option<Checkpoint>, EvidenceError>;
}

/// Options for [`DirStore::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The durability mode.
    pub durability: Durability,
    /// Start a new segment once the current one is this large.
    pub segment_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::default(),
            segment_bytes: 64 * 1024 * 1024,
        }
    }
}

struct Tail {
    seg_no: u64,
    file: Option<Arc<File>>,
    /// Size of the tail segment after our last write (to notice others' writes).
    size: u64,
    head: Option<Head>,
    /// Whether `size`/`head` are known (false until the first append).
    known: bool,
    /// The highest seq this writer has seen at the head (kept across errors): a head
    /// below it means records were removed.
    seen: Option<u64>,
    /// Write generation, for group commit.
    written: u64,
}

struct SyncState {
    synced: u64,
    leader: bool,
}

/// A log in a directory of JSONL segments (see the module docs).
pub struct DirStore {
    dir: PathBuf,
    stream: String,
    /// The directory's digest key (`DIR/digest.key`), see [`DirStore::digest_key`].
    secret: [u8; 32],
    options: StoreOptions,
    lock: File,
    tail: Mutex<Tail>,
    sync: Mutex<SyncState>,
    synced: Condvar,
}

impl std::fmt::Debug for DirStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DirStore({})", self.dir.display())
    }
}

fn segment_name(n: u64) -> String {
    format!("{n:012}.jsonl")
}

fn fsync_dir(dir: &Path) -> Result<(), EvidenceError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

impl DirStore {
    /// Opens the log in `dir`, creating it (and its stream id) if it does not exist.
    pub fn open(dir: impl AsRef<Path>, options: StoreOptions) -> Result<DirStore, EvidenceError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(dir.join("segments")).map_err(io_err(&dir))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        let (stream, secret) = {
            let _guard = LockGuard::take(&lock, &lock_path)?;
            (Self::stream_id(&dir)?, Self::digest_secret(&dir)?)
        };
        let seg_no = Self::last_segment(&dir)?;
        Ok(DirStore {
            dir,
            stream,
            secret,
            options,
            lock,
            tail: Mutex::new(Tail {
                seg_no,
                file: None,
                size: 0,
                head: None,
                known: false,
                seen: None,
                written: 0,
            }),
            sync: Mutex::new(SyncState {
                synced: 0,
                leader: false,
            }),
            synced: Condvar::new(),
        })
    }

    /// The key of the digests that commit to unredacted values (the input digest and the
    /// approval binding): 32 random bytes in `DIR/digest.key` (mode 0600), made with the
    /// directory and never exported, so that a reader of a bundle cannot confirm a guessed
    /// secret against a digest, while every writer of the directory computes the same ones.
    pub fn digest_key(&self) -> &[u8; 32] {
        &self.secret
    }

    /// Reads, or (under the lock) creates, the digest key.
    fn digest_secret(dir: &Path) -> Result<[u8; 32], EvidenceError> {
        let path = dir.join("digest.key");
        let parse = |s: &str| -> Result<[u8; 32], EvidenceError> {
            crate::evidence::keys::hex_decode(s.trim())
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .ok_or_else(|| EvidenceError::Corrupt {
                    path: path.display().to_string(),
                    line: 1,
                    reason: "not a digest key (64 lower-case hex digits)".into(),
                })
        };
        match std::fs::read_to_string(&path) {
            Ok(s) => parse(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| {
                    EvidenceError::Invalid(format!("no randomness for a digest key: {e}"))
                })?;
                let tmp = dir.join("digest.key.tmp");
                let _ = std::fs::remove_file(&tmp);
                let mut o = OpenOptions::new();
                o.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    o.mode(0o600);
                }
                let mut f = o.open(&tmp).map_err(io_err(&tmp))?;
                f.write_all(format!("{}\n", crate::evidence::canonical::hex(&key)).as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(io_err(&tmp))?;
                std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
                fsync_dir(dir)?;
                Ok(key)
            }
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Reads, or (under the lock) creates, the stream id.
    fn stream_id(dir: &Path) -> Result<String, EvidenceError> {
        let path = dir.join("stream");
        match std::fs::read_to_string(&path) {
            Ok(s) => {
                let s = s.trim().to_owned();
                if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(EvidenceError::Corrupt {
                        path: path.display().to_string(),
                        line: 1,
                        reason: "not a stream id (32 hex digits)".into(),
                    });
                }
                Ok(s)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut id = [0u8; 16];
                getrandom::fill(&mut id).map_err(|e| {
                    EvidenceError::Invalid(format!("no randomness for a stream id: {e}"))
                })?;
                let id = crate::evidence::canonical::hex(&id);
                let tmp = dir.join("stream.tmp");
                std::fs::write(&tmp, format!("{id}\n")).map_err(io_err(&tmp))?;
                File::open(&tmp)
                    .and_then(|f| f.sync_all())
                    .map_err(io_err(&tmp))?;
                std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
                fsync_dir(dir)?;
                Ok(id)
            }
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    fn last_segment(dir: &Path) -> Result<u64, EvidenceError> {
        let segs = dir.join("segments");
        let mut max = 1;
        for e in std::fs::read_dir(&segs).map_err(io_err(&segs))? {
            let e = e.map_err(io_err(&segs))?;
            if let Some(n) = e
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".jsonl"))
                .and_then(|n| n.parse::<u64>().ok())
            {
                max = max.max(n);
            }
        }
        Ok(max)
    }

    /// Appends under the log's lock what `choose` decides after seeing the lines other
    /// writers appended since `cursor` (all of them are read, then `cursor` moves past
    /// everything, including what is appended here). With no cursor, `choose` sees no
    /// lines. If `choose` fails, nothing is appended. This is how state derived from the
    /// log (approvals, budgets) is read and changed atomically across processes.
    pub fn transact<T, E: From<EvidenceError>>(
        &self,
        sealer: &dyn Sealer,
        mut cursor: Option<&mut Cursor>,
        choose: impl FnOnce(Vec<RawLine>) -> Result<(Vec<(String, Value)>, T), E>,
    ) -> Result<(Vec<Record>, T), E> {
        let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let lock_path = self.dir.join("lock");
        let guard = LockGuard::take(&self.lock, &lock_path)?;
        let mut chosen = None;
        let result = (|| -> Result<Vec<Record>, E> {
            let mut out = Vec::new();
            if let Some(rec) = self.refresh_and_note(&mut tail, sealer)? {
                out.push(rec);
            }
            let lines = match cursor.as_deref_mut() {
                Some(c) => self.read_after(c, &tail)?,
                None => Vec::new(),
            };
            let (items, t) = choose(lines)?;
            chosen = Some(t);
            for (k, body) in items {
                let rec = sealer.seal(&self.stream, tail.head.as_ref(), &k, body);
                self.write_line(&mut tail, &rec.to_line())?;
                tail.head = Some(rec.head());
                tail.seen = Some(rec.seq);
                out.push(rec);
            }
            if self.options.durability == Durability::Sync {
                let f = tail.file.clone().expect("refreshed");
                f.sync_data()
                    .map_err(io_err(&self.segment_path(tail.seg_no)))?;
            }
            if let Some(c) = cursor {
                *c = Cursor {
                    segment: tail.seg_no,
                    offset: tail.size,
                };
            }
            Ok(out)
        })();
        if result.is_err() {
            // Whatever happened, re-read the files before the next append.
            tail.known = false;
        }
        drop(guard);
        tail.written += 1;
        let gen = tail.written;
        let file = tail.file.clone();
        let path = self.segment_path(tail.seg_no);
        drop(tail);
        let out = result?;
        if self.options.durability == Durability::Group && !out.is_empty() {
            if let Some(f) = file {
                self.group_sync(gen, &f, &path)?;
            }
        }
        Ok((out, chosen.expect("set when choose succeeded")))
    }

    /// [`DirStore::refresh`], and the `recovery` record of a torn tail it cut off.
    fn refresh_and_note(
        &self,
        tail: &mut Tail,
        sealer: &dyn Sealer,
    ) -> Result<Option<Record>, EvidenceError> {
        let Some((segment, offset, bytes, kept)) = self.refresh(tail, sealer.trusted())? else {
            return Ok(None);
        };
        let body = json!({
            "reason": "torn_tail",
            "detail": "a partial final line (a write interrupted by a crash) was cut off",
            "segment": segment,
            "offset": offset,
            "bytes": bytes.len(),
            "digest": crate::evidence::canonical::sha256_digest(&bytes),
            "quarantine": kept,
        });
        let rec = sealer.seal(&self.stream, tail.head.as_ref(), kind::RECOVERY, body);
        self.write_line(tail, &rec.to_line())?;
        tail.head = Some(rec.head());
        tail.seen = Some(rec.seq);
        Ok(Some(rec))
    }

    /// Under the lock, after the checks an append makes: signs a checkpoint of the log's
    /// current head with `sign` and writes it as `DIR/checkpoint.json` (atomically, never
    /// backwards). `None` for an empty log.
    pub fn checkpoint_head(
        &self,
        sealer: &dyn Sealer,
        sign: &dyn Fn(&str, &Head) -> Checkpoint,
    ) -> Result<Option<Checkpoint>, EvidenceError> {
        let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let lock_path = self.dir.join("lock");
        let _guard = LockGuard::take(&self.lock, &lock_path)?;
        let result = (|| {
            self.refresh_and_note(&mut tail, sealer)?;
            let Some(head) = tail.head.clone() else {
                return Ok(None);
            };
            let c = sign(&self.stream, &head);
            write_checkpoint(&self.dir, &c)?;
            Ok(Some(c))
        })();
        if result.is_err() {
            tail.known = false;
        }
        result
    }

    /// The hash of the record that ends just before `cursor` (the last one a state at this
    /// cursor has folded in), if there is one.
    pub fn hash_before(&self, cursor: &Cursor) -> Result<Option<String>, EvidenceError> {
        if cursor.segment == 0 || cursor.offset == 0 {
            return Ok(None);
        }
        let path = self.segment_path(cursor.segment);
        let f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let size = f.metadata().map_err(io_err(&path))?.len();
        if size < cursor.offset {
            return Ok(None);
        }
        let end = last_line(&f, cursor.offset, &path)?;
        if end.torn.is_some() {
            return Ok(None);
        }
        Ok(end
            .last
            .and_then(|(_, bytes)| Record::parse(&bytes).ok())
            .map(|r| r.hash))
    }

    /// The lines after `cursor` up to the tail (under the lock).
    fn read_after(&self, cursor: &Cursor, tail: &Tail) -> Result<Vec<RawLine>, EvidenceError> {
        let mut out = Vec::new();
        if cursor.segment == tail.seg_no && cursor.offset == tail.size {
            return Ok(out);
        }
        let mut seg = cursor.segment.max(1);
        let mut offset = cursor.offset;
        while seg <= tail.seg_no {
            let path = self.segment_path(seg);
            let end = if seg == tail.seg_no {
                tail.size
            } else {
                u64::MAX
            };
            match File::open(&path) {
                Ok(mut f) => {
                    f.seek(SeekFrom::Start(offset)).map_err(io_err(&path))?;
                    let mut data = Vec::new();
                    f.take(end.saturating_sub(offset))
                        .read_to_end(&mut data)
                        .map_err(io_err(&path))?;
                    split_lines(&segment_name(seg), &data, &mut out);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path)(e)),
            }
            seg += 1;
            offset = 0;
        }
        Ok(out)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn segment_path(&self, n: u64) -> PathBuf {
        self.dir.join("segments").join(segment_name(n))
    }

    fn open_segment(&self, n: u64) -> Result<Arc<File>, EvidenceError> {
        let p = self.segment_path(n);
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .append(true)
            .open(&p)
            .map_err(io_err(&p))?;
        Ok(Arc::new(f))
    }

    /// Brings `tail` up to date with the files (under the lock): follows segments other
    /// processes created and re-reads the head if the tail changed. Refuses (with
    /// [`EvidenceError::Damaged`]) a log that lost what it had: a segment missing or
    /// shorter than this writer left it, a head behind `DIR/checkpoint.json`, a head not
    /// signed by a `trusted` key. A final line that is a complete record missing only its
    /// newline gets the newline back; a final line that is not a complete record is
    /// quarantined (its bytes kept in `DIR/quarantine/`, synced) and only then cut off,
    /// and its segment, offset, bytes and quarantine file are returned for the recovery
    /// record.
    #[allow(clippy::type_complexity)]
    fn refresh(
        &self,
        tail: &mut Tail,
        trusted: Option<&crate::evidence::keys::Keyring>,
    ) -> Result<Option<(String, u64, Vec<u8>, String)>, EvidenceError> {
        let damaged = |path: &Path, reason: String| EvidenceError::Damaged {
            path: path.display().to_string(),
            reason,
        };
        let mut moved = false;
        while self.segment_path(tail.seg_no + 1).exists() {
            tail.seg_no += 1;
            moved = true;
        }
        let path = self.segment_path(tail.seg_no);
        // The size by path, not by handle: a segment deleted or replaced under an open
        // handle would otherwise look untouched (and appends would go to a file no reader
        // sees).
        let (on_disk, same_file) = match std::fs::metadata(&path) {
            Ok(m) => (
                Some(m.len()),
                tail.file.as_ref().is_some_and(|f| same_file(f, &m)),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, false),
            Err(e) => return Err(io_err(&path)(e)),
        };
        if tail.known && !moved {
            match on_disk {
                None => {
                    return Err(damaged(
                        &path,
                        "the segment this writer appended to is gone".into(),
                    ))
                }
                Some(n) if n < tail.size => {
                    return Err(damaged(
                        &path,
                        format!(
                            "the segment is {n} bytes, shorter than the {} this writer left",
                            tail.size
                        ),
                    ))
                }
                Some(n) if n == tail.size && same_file => return Ok(None),
                Some(_) => {}
            }
        }
        let first = !tail.known;
        if tail.file.is_none() || moved || first || !same_file {
            if first {
                self.check_segments(tail.seg_no)?;
            }
            tail.file = Some(self.open_segment(tail.seg_no)?);
        }
        tail.known = false;
        let file = tail.file.clone().expect("opened above");
        let size = file.metadata().map_err(io_err(&path))?.len();
        let SegmentEnd { last, torn } = last_line(&file, size, &path)?;
        // A final line missing only its newline is a complete record: keep it.
        let (last, torn) = match torn {
            Some((offset, bytes))
                if Record::parse(&bytes).is_ok_and(|r| r.stream == self.stream) =>
            {
                (Some((offset, bytes)), None)
            }
            t => (last, t),
        };
        // The last record is in this segment, or (for a new, empty one) in the previous.
        let last = match last {
            Some(l) => Some((path.clone(), l)),
            None if tail.seg_no > 1 => {
                let prev_path = self.segment_path(tail.seg_no - 1);
                let prev = File::open(&prev_path).map_err(io_err(&prev_path))?;
                let psize = prev.metadata().map_err(io_err(&prev_path))?.len();
                last_line(&prev, psize, &prev_path)?
                    .last
                    .map(|l| (prev_path, l))
            }
            None => None,
        };
        let head = match &last {
            None => None,
            Some((at, (offset, bytes))) => {
                let corrupt = |reason: String| EvidenceError::Corrupt {
                    path: at.display().to_string(),
                    line: line_number(at, *offset),
                    reason,
                };
                let rec = Record::parse(bytes)
                    .map_err(|e| corrupt(format!("the last record cannot be chained to: {e}")))?;
                if rec.stream != self.stream {
                    return Err(corrupt(format!(
                        "the last record belongs to stream {}, not {}",
                        rec.stream, self.stream
                    )));
                }
                if let Some(ring) = trusted {
                    // Another writer's head may be signed by a key that is only published
                    // (not trusted): it is chained to if its signature holds, and verify
                    // and the state treat the record as untrusted.
                    let checked = match rec.check_signature(ring) {
                        Err(RecordError::UnknownKey(_)) => {
                            let mut published = crate::evidence::keys::Keyring::new();
                            for pem in published_keys(&self.dir).unwrap_or_default() {
                                if let Ok(k) = crate::evidence::keys::parse_public(&pem, "key") {
                                    published.add(k);
                                }
                            }
                            rec.check_signature(&published)
                        }
                        r => r,
                    };
                    checked.map_err(|e| {
                        damaged(
                            at,
                            format!(
                                "the last record (seq {}) is not signed by a trusted key: {e}",
                                rec.seq
                            ),
                        )
                    })?;
                }
                Some(rec.head())
            }
        };
        if let Some(seen) = tail.seen {
            if head.as_ref().is_none_or(|h| h.seq < seen) {
                return Err(damaged(
                    &path,
                    format!(
                        "the log ends {} but this writer saw it reach seq {seen}",
                        head.as_ref()
                            .map_or("empty".to_owned(), |h| format!("at seq {}", h.seq))
                    ),
                ));
            }
        }
        // Never extend a log that ends before the checkpoint this directory already has.
        if let Some(cp) = read_checkpoint(&self.dir)? {
            let cp_path = self.dir.join("checkpoint.json");
            if cp.stream == self.stream {
                match &head {
                    None => {
                        return Err(damaged(
                            &cp_path,
                            format!("the log is empty but the checkpoint covers seq {}", cp.seq),
                        ))
                    }
                    Some(h) if h.seq < cp.seq => {
                        return Err(damaged(
                            &cp_path,
                            format!(
                                "the log ends at seq {} but the checkpoint covers seq {}",
                                h.seq, cp.seq
                            ),
                        ))
                    }
                    Some(h) if h.seq == cp.seq && h.hash != cp.head => {
                        return Err(damaged(
                            &cp_path,
                            format!(
                                "the record at seq {} is not the one the checkpoint signed",
                                h.seq
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        let mut size = size;
        let mut cut = None;
        if let Some((offset, bytes)) = torn {
            let kept = self.quarantine(tail.seg_no, offset, &bytes)?;
            file.set_len(offset).map_err(io_err(&path))?;
            file.sync_data().map_err(io_err(&path))?;
            size = offset;
            cut = Some((segment_name(tail.seg_no), offset, bytes, kept));
        } else if let Some((_, (offset, bytes))) = &last {
            // Restore a newline that is missing after a complete final record.
            let end = offset + bytes.len() as u64;
            if end == size && last.as_ref().is_some_and(|(p, _)| *p == path) {
                (&*file).write_all(b"\n").map_err(io_err(&path))?;
                file.sync_data().map_err(io_err(&path))?;
                size += 1;
            }
        }
        tail.seen = head.as_ref().map(|h| h.seq).max(tail.seen);
        tail.head = head;
        tail.size = size;
        tail.known = true;
        Ok(cut)
    }

    /// Repairs a damaged log ([`EvidenceError::Damaged`]), explicitly and on the record,
    /// under the lock. The log is checked from its first record with the sealer's trusted
    /// keys (and the keys published in `DIR/keys/`, which let another writer's records be
    /// chained to); everything from the first line that breaks the chain, or that follows
    /// the last record signed by a known key, is moved to `DIR/quarantine/` (bytes kept,
    /// never deleted: a whole segment is renamed there, the rest of a segment copied and
    /// synced before it is cut); a checkpoint (and state snapshot) the remaining log does
    /// not reach is moved there too. Then a `recovery` record with reason `repair`, the
    /// operator's `reason`, what was found and what was moved (files, sizes, digests) is
    /// appended to the remaining log, and returned. A log with nothing to repair is left
    /// untouched ([`EvidenceError::Invalid`]).
    pub fn repair(&self, sealer: &dyn Sealer, reason: &str) -> Result<Record, EvidenceError> {
        if reason.trim().is_empty() {
            return Err(EvidenceError::Invalid(
                "a repair needs a reason (it is recorded)".into(),
            ));
        }
        let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let lock_path = self.dir.join("lock");
        let _guard = LockGuard::take(&self.lock, &lock_path)?;
        tail.known = false;
        let mut ring = sealer.trusted().cloned().unwrap_or_default();
        for pem in published_keys(&self.dir).unwrap_or_default() {
            if let Ok(k) = crate::evidence::keys::parse_public(&pem, "key") {
                ring.add(k);
            }
        }
        // Segments in order, with each line's byte offset.
        let segs_dir = self.dir.join("segments");
        let segs = segment_files(&segs_dir)?;
        let mut verifier =
            crate::evidence::verify::Verifier::new(&ring).expect_stream(&self.stream);
        // (segment index, byte offset, seq expected there, what is wrong) of the cut.
        let mut cut: Option<(usize, u64, u64, String)> = None;
        let mut last_known: Option<(usize, u64)> = None; // end of the last known-key record
        let mut head: Option<Head> = None;
        let mut head_known: Option<Head> = None;
        // The hash of the record at the checkpoint's seq, found on the way (a checkpoint
        // below the remaining head must sign that record).
        let checkpoint = read_checkpoint(&self.dir)?;
        let mut hash_at_checkpoint: Option<String> = None;
        'segs: for (i, (_, path)) in segs.iter().enumerate() {
            let data = std::fs::read(path).map_err(io_err(path))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let mut lines = Vec::new();
            split_lines(&name, &data, &mut lines);
            let mut offset = 0u64;
            for l in &lines {
                let expected = head.as_ref().map_or(0, |h| h.seq + 1);
                verifier.push(l);
                if verifier.is_broken() {
                    let why = verifier
                        .broken()
                        .map_or("the chain breaks here".into(), |b| b.reason.clone());
                    cut = Some((i, offset, expected, why));
                    break 'segs;
                }
                let rec = Record::parse(&l.bytes)?;
                if checkpoint.as_ref().is_some_and(|c| c.seq == rec.seq) {
                    hash_at_checkpoint = Some(rec.hash.clone());
                }
                head = Some(rec.head());
                offset += l.bytes.len() as u64 + 1;
                if rec.check_signature(&ring).is_ok() {
                    last_known = Some((i, offset));
                    head_known = head.clone();
                }
            }
        }
        // Records after the last one signed by a known key cannot be chained to: the cut
        // moves back to just after it.
        if head.as_ref().map(|h| h.seq) != head_known.as_ref().map(|h| h.seq) {
            let (i, off) = last_known.unwrap_or((0, 0));
            let seq = head_known.as_ref().map_or(0, |h| h.seq + 1);
            let why = match cut.take() {
                Some((_, _, _, why)) => format!(
                    "{why} (after records signed by a key neither trusted nor published here)"
                ),
                None => "signed by a key neither trusted nor published here".into(),
            };
            cut = Some((i, off, seq, why));
        }
        // After a cut, the log ends at the last record signed by a known key.
        let head = if cut.is_some() {
            head_known.clone()
        } else {
            head
        };
        let quarantine = self.dir.join("quarantine");
        std::fs::create_dir_all(&quarantine).map_err(io_err(&quarantine))?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ").to_string();
        let mut moved: Vec<Value> = Vec::new();
        let mut keep_seg = segs.first().map_or(1, |s| s.0);
        if let Some((i, off, _, _)) = &cut {
            // Whole segments after the cut, and the cut one if nothing of it stays.
            for (j, (n, path)) in segs.iter().enumerate().skip(*i) {
                let data = std::fs::read(path).map_err(io_err(path))?;
                if j == *i && *off > 0 {
                    let rest = &data[(*off as usize).min(data.len())..];
                    let name = format!("{n:012}-{off}-{stamp}.repair");
                    let q = quarantine.join(&name);
                    let f = File::create(&q).map_err(io_err(&q))?;
                    (&f).write_all(rest).map_err(io_err(&q))?;
                    f.sync_all().map_err(io_err(&q))?;
                    fsync_dir(&quarantine)?;
                    moved.push(json!({"file": format!("quarantine/{name}"), "from": segment_name(*n), "offset": off, "bytes": rest.len(), "digest": crate::evidence::canonical::sha256_digest(rest)}));
                    let f = OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(io_err(path))?;
                    f.set_len(*off).map_err(io_err(path))?;
                    f.sync_all().map_err(io_err(path))?;
                    keep_seg = *n;
                } else {
                    let name = format!("{}-{stamp}.repair", segment_name(*n));
                    let q = quarantine.join(&name);
                    std::fs::rename(path, &q).map_err(io_err(path))?;
                    moved.push(json!({"file": format!("quarantine/{name}"), "from": segment_name(*n), "offset": 0, "bytes": data.len(), "digest": crate::evidence::canonical::sha256_digest(&data)}));
                }
            }
            fsync_dir(&quarantine)?;
            fsync_dir(&segs_dir)?;
            if *off == 0 {
                keep_seg = if *i == 0 { 1 } else { segs[*i - 1].0 };
            }
        } else if let Some(last) = segs.last() {
            keep_seg = last.0;
        }
        // A checkpoint the remaining log does not reach, or that signs another record.
        let mut superseded = Value::Null;
        if let Some(cp) = checkpoint {
            let reaches = cp.stream != self.stream
                || head
                    .as_ref()
                    .is_some_and(|h| h.seq > cp.seq || (h.seq == cp.seq && h.hash == cp.head));
            // A checkpoint below the head must sign the record at its seq.
            let differs = cp.stream == self.stream
                && head.as_ref().is_some_and(|h| h.seq > cp.seq)
                && hash_at_checkpoint.is_none_or(|h| h != cp.head);
            if !reaches || differs {
                let name = format!("checkpoint-{}-{stamp}.json", cp.seq);
                let from = self.dir.join("checkpoint.json");
                let q = quarantine.join(&name);
                std::fs::rename(&from, &q).map_err(io_err(&from))?;
                superseded =
                    json!({"file": format!("quarantine/{name}"), "seq": cp.seq, "head": cp.head});
            }
        }
        let snapshot = self.dir.join("state").join("snapshot.json");
        if (cut.is_some() || !superseded.is_null()) && snapshot.exists() {
            let q = quarantine.join(format!("snapshot-{stamp}.json"));
            std::fs::rename(&snapshot, &q).map_err(io_err(&snapshot))?;
        }
        fsync_dir(&quarantine)?;
        fsync_dir(&self.dir)?;
        if cut.is_none() && superseded.is_null() {
            return Err(EvidenceError::Invalid(format!(
                "{}: nothing to repair: the log checks out from its first record to its head{}",
                self.dir.display(),
                head.as_ref()
                    .map_or(String::new(), |h| format!(" (seq {})", h.seq))
            )));
        }
        let (found, first_lost) = match &cut {
            Some((i, off, seq, why)) => (
                json!({"segment": segment_name(segs[*i].0), "offset": off, "seq": seq, "problem": why}),
                json!(seq),
            ),
            None => (Value::Null, Value::Null),
        };
        let body = json!({
            "reason": "repair",
            "detail": reason,
            "head": head.as_ref().map(|h| json!({"seq": h.seq, "hash": h.hash})),
            "cut": found,
            "first_removed_seq": first_lost,
            "quarantined": moved,
            "checkpoint_superseded": superseded,
        });
        // Chain the record to what remains.
        tail.seg_no = keep_seg;
        tail.file = Some(self.open_segment(keep_seg)?);
        tail.size = tail
            .file
            .as_ref()
            .map(|f| f.metadata().map(|m| m.len()))
            .transpose()
            .map_err(io_err(&self.segment_path(keep_seg)))?
            .unwrap_or(0);
        tail.head = head;
        tail.seen = tail.head.as_ref().map(|h| h.seq);
        let rec = sealer.seal(&self.stream, tail.head.as_ref(), kind::RECOVERY, body);
        self.write_line(&mut tail, &rec.to_line())?;
        let f = tail.file.clone().expect("opened above");
        f.sync_data()
            .map_err(io_err(&self.segment_path(tail.seg_no)))?;
        fsync_dir(&segs_dir)?;
        tail.head = Some(rec.head());
        tail.seen = Some(rec.seq);
        tail.known = true;
        Ok(rec)
    }

    /// Checks that segments 1..=`last` all exist (a missing one lost its records).
    fn check_segments(&self, last: u64) -> Result<(), EvidenceError> {
        for n in 1..last {
            let p = self.segment_path(n);
            if !p.exists() {
                return Err(EvidenceError::Damaged {
                    path: p.display().to_string(),
                    reason: format!("segment {n} is missing before segment {last}"),
                });
            }
        }
        Ok(())
    }

    /// Keeps torn bytes in `DIR/quarantine/` (synced, with its directory) before they are
    /// cut from the segment; returns the file's name.
    fn quarantine(&self, seg: u64, offset: u64, bytes: &[u8]) -> Result<String, EvidenceError> {
        let dir = self.dir.join("quarantine");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let name = format!("{seg:012}-{offset}.torn");
        let p = dir.join(&name);
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&p)
            .map_err(io_err(&p))?;
        f.write_all(bytes).map_err(io_err(&p))?;
        f.sync_all().map_err(io_err(&p))?;
        fsync_dir(&dir)?;
        fsync_dir(&self.dir)?;
        Ok(format!("quarantine/{name}"))
    }

    fn write_line(&self, tail: &mut Tail, line: &[u8]) -> Result<(), EvidenceError> {
        if tail.size > 0 && tail.size + line.len() as u64 > self.options.segment_bytes {
            // Rotate: the old segment is complete and, when durability matters, synced.
            let old = tail.file.clone().expect("refreshed");
            if self.options.durability != Durability::None {
                old.sync_data()
                    .map_err(io_err(&self.segment_path(tail.seg_no)))?;
            }
            let next = tail.seg_no + 1;
            let p = self.segment_path(next);
            let f = OpenOptions::new()
                .create_new(true)
                .read(true)
                .append(true)
                .open(&p)
                .map_err(io_err(&p))?;
            if self.options.durability != Durability::None {
                fsync_dir(&self.dir.join("segments"))?;
            }
            tail.seg_no = next;
            tail.file = Some(Arc::new(f));
            tail.size = 0;
        }
        let file = tail.file.clone().expect("refreshed");
        let path = self.segment_path(tail.seg_no);
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        (&*file).write_all(&buf).map_err(io_err(&path))?;
        tail.size += buf.len() as u64;
        Ok(())
    }

    /// Waits until a sync covering write generation `gen` has completed (group commit).
    fn group_sync(&self, gen: u64, file: &Arc<File>, path: &Path) -> Result<(), EvidenceError> {
        let mut st = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if st.synced >= gen {
                return Ok(());
            }
            if !st.leader {
                st.leader = true;
                // Sync the current segment up to everything written so far; a rotation in
                // between synced the older segment before it moved on.
                let (target, current) = {
                    let t = self.tail.lock().unwrap_or_else(|p| p.into_inner());
                    (t.written, t.file.clone().unwrap_or_else(|| file.clone()))
                };
                drop(st);
                let r = current.sync_data();
                st = self.sync.lock().unwrap_or_else(|p| p.into_inner());
                st.leader = false;
                if r.is_ok() {
                    st.synced = st.synced.max(target.max(gen));
                }
                self.synced.notify_all();
                r.map_err(io_err(path))?;
            } else {
                st = self.synced.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        }
    }

    /// Publishes a public key in `DIR/keys/` (a convenience for readers; verification
    /// should pin keys it trusts).
    pub fn publish_key(&self, key: &crate::evidence::keys::KeyPair) -> Result<(), EvidenceError> {
        let keys = self.dir.join("keys");
        std::fs::create_dir_all(&keys).map_err(io_err(&keys))?;
        let p = keys.join(format!("{}.pub", key.id().replace(':', "_")));
        if !p.exists() {
            std::fs::write(&p, key.public_pem()).map_err(io_err(&p))?;
        }
        Ok(())
    }
}

/// Whether an open handle is still the file at its path (not one deleted or replaced).
fn same_file(handle: &File, at_path: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        handle
            .metadata()
            .is_ok_and(|h| h.dev() == at_path.dev() && h.ino() == at_path.ino())
    }
    #[cfg(not(unix))]
    {
        handle.metadata().is_ok_and(|h| h.len() == at_path.len())
    }
}

/// The last complete line of a segment, and, if the file does not end with a newline, the
/// torn remainder.
struct SegmentEnd {
    /// Byte offset where the last complete line starts, and its bytes (no newline).
    last: Option<(u64, Vec<u8>)>,
    /// Offset and bytes of a final line without a newline.
    torn: Option<(u64, Vec<u8>)>,
}

/// Finds a segment's last line by reading backwards from its end, in chunks that double
/// until they hold it: the cost follows the last record's size, not the segment's.
fn last_line(file: &File, size: u64, path: &Path) -> Result<SegmentEnd, EvidenceError> {
    let mut chunk: u64 = 64 * 1024;
    loop {
        let start = size.saturating_sub(chunk);
        let mut buf = Vec::with_capacity((size - start) as usize);
        let mut f = file;
        f.seek(SeekFrom::Start(start)).map_err(io_err(path))?;
        f.take(size - start)
            .read_to_end(&mut buf)
            .map_err(io_err(path))?;
        let more = start > 0;
        // The end of the complete lines: just after the last newline.
        let complete = match buf.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if more => {
                chunk *= 2;
                continue;
            }
            None => 0,
        };
        let torn =
            (complete < buf.len()).then(|| (start + complete as u64, buf[complete..].to_vec()));
        if complete == 0 {
            return Ok(SegmentEnd { last: None, torn });
        }
        let line_start = match buf[..complete - 1].iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if more => {
                chunk *= 2;
                continue;
            }
            None => 0,
        };
        return Ok(SegmentEnd {
            last: Some((
                start + line_start as u64,
                buf[line_start..complete - 1].to_vec(),
            )),
            torn,
        });
    }
}

/// The 1-based number of the line starting at `offset` (reads the file up to it; only
/// for error messages).
fn line_number(path: &Path, offset: u64) -> u64 {
    let mut data = Vec::new();
    match File::open(path).and_then(|f| f.take(offset).read_to_end(&mut data)) {
        Ok(_) => data.iter().filter(|&&b| b == b'\n').count() as u64 + 1,
        Err(_) => 0,
    }
}

impl Store for DirStore {
    fn stream(&self) -> &str {
        &self.stream
    }

    fn append(
        &self,
        sealer: &dyn Sealer,
        items: Vec<(String, Value)>,
    ) -> Result<Vec<Record>, EvidenceError> {
        self.transact(sealer, None, |_| Ok::<_, EvidenceError>((items, ())))
            .map(|(r, ())| r)
    }

    fn lines(&self) -> Result<Vec<RawLine>, EvidenceError> {
        read_segments(&self.dir.join("segments"))
    }

    fn put_checkpoint(&self, c: &Checkpoint) -> Result<(), EvidenceError> {
        let lock_path = self.dir.join("lock");
        let _guard = LockGuard::take(&self.lock, &lock_path)?;
        write_checkpoint(&self.dir, c)
    }

    fn checkpoint(&self) -> Result<Option<Checkpoint>, EvidenceError> {
        read_checkpoint(&self.dir)
    }
}

/// Writes `c` as `DIR/checkpoint.json` atomically (a synced temporary file renamed over
/// it), refusing one that would move the directory's checkpoint backwards. The caller
/// holds the log's lock.
pub fn write_checkpoint(dir: &Path, c: &Checkpoint) -> Result<(), EvidenceError> {
    let path = dir.join("checkpoint.json");
    if let Ok(Some(old)) = read_checkpoint(dir) {
        if old.stream == c.stream && old.seq > c.seq {
            return Err(EvidenceError::Invalid(format!(
                "{}: the checkpoint covers seq {}; a checkpoint of seq {} would move it backwards",
                path.display(),
                old.seq,
                c.seq
            )));
        }
    }
    let tmp = dir.join("checkpoint.json.tmp");
    std::fs::write(&tmp, format!("{}\n", c.to_json())).map_err(io_err(&tmp))?;
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    fsync_dir(dir)
}

/// The checkpoint kept in an evidence directory (`DIR/checkpoint.json`), if there is one.
pub fn read_checkpoint(dir: &Path) -> Result<Option<Checkpoint>, EvidenceError> {
    let path = dir.join("checkpoint.json");
    match std::fs::read_to_string(&path) {
        Ok(t) => Ok(Some(Checkpoint::parse(&t)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path)(e)),
    }
}

/// The public keys published in an evidence directory (`DIR/keys/`), as PEM text in file
/// name order. A convenience for readers: verification should pin the keys it trusts.
pub fn published_keys(dir: &Path) -> Result<Vec<String>, EvidenceError> {
    let keys = dir.join("keys");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&keys) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&keys)(e)),
    };
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).map_err(io_err(p)))
        .collect()
}

/// The numbered `*.jsonl` segments in `dir`, in segment order.
fn segment_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, EvidenceError> {
    let mut names: Vec<(u64, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let e = e.map_err(io_err(dir))?;
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(n) = name
            .strip_suffix(".jsonl")
            .and_then(|n| n.parse::<u64>().ok())
        {
            names.push((n, e.path()));
        }
    }
    names.sort();
    Ok(names)
}

/// Every line of every `*.jsonl` segment in `dir`, in segment order.
pub fn read_segments(dir: &Path) -> Result<Vec<RawLine>, EvidenceError> {
    let mut out = Vec::new();
    for (_, path) in segment_files(dir)? {
        let data = std::fs::read(&path).map_err(io_err(&path))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        split_lines(&name, &data, &mut out);
    }
    Ok(out)
}

/// Splits a segment's bytes into lines.
pub fn split_lines(segment: &str, data: &[u8], out: &mut Vec<RawLine>) {
    let mut start = 0;
    let mut n = 0;
    while start < data.len() {
        n += 1;
        match data[start..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                out.push(RawLine {
                    segment: segment.to_owned(),
                    line: n,
                    bytes: data[start..start + i].to_vec(),
                    complete: true,
                });
                start += i + 1;
            }
            None => {
                out.push(RawLine {
                    segment: segment.to_owned(),
                    line: n,
                    bytes: data[start..].to_vec(),
                    complete: false,
                });
                break;
            }
        }
    }
}

/// Seals records with one key, trusting it and `trusted` for the heads it chains to.
struct KeySealer<'a> {
    key: &'a crate::evidence::keys::KeyPair,
    ts: String,
    trusted: crate::evidence::keys::Keyring,
}

impl Sealer for KeySealer<'_> {
    fn seal(&self, stream: &str, head: Option<&Head>, kind: &str, body: Value) -> Record {
        Record::seal(stream, head, &self.ts, kind, body, self.key)
    }
    fn trusted(&self) -> Option<&crate::evidence::keys::Keyring> {
        Some(&self.trusted)
    }
}

/// Repairs the damaged log in `dir` ([`DirStore::repair`]) with the embedding program's
/// `key`, trusting it and the `trusted` keys: what does not check out is moved to
/// `DIR/quarantine/` and a `recovery` record (reason `repair`) saying what, and why
/// (`reason`), is appended and returned.
pub fn repair_dir(
    dir: &Path,
    key: &crate::evidence::keys::KeyPair,
    trusted: Option<&crate::evidence::keys::Keyring>,
    reason: &str,
) -> Result<Record, EvidenceError> {
    if !dir.join("segments").is_dir() {
        return Err(EvidenceError::Invalid(format!(
            "{}: not an evidence directory (no segments/)",
            dir.display()
        )));
    }
    let store = DirStore::open(dir, StoreOptions::default())?;
    let mut ring = trusted.cloned().unwrap_or_default();
    ring.add(key.public());
    let sealer = KeySealer {
        key,
        ts: crate::evidence::record::timestamp(chrono::Utc::now()),
        trusted: ring,
    };
    store.repair(&sealer, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end_of(content: &[u8]) -> SegmentEnd {
        let p =
            std::env::temp_dir().join(format!("lf-seg-{}-{}", std::process::id(), content.len()));
        std::fs::write(&p, content).unwrap();
        let f = File::open(&p).unwrap();
        let e = last_line(&f, content.len() as u64, &p).unwrap();
        let _ = std::fs::remove_file(&p);
        e
    }

    #[test]
    fn finds_the_last_line_from_the_end() {
        let big = vec![b'x'; 200 * 1024]; // longer than the first chunk
        let mut c = b"first\n".to_vec();
        c.extend_from_slice(&big);
        c.push(b'\n');
        let e = end_of(&c);
        assert_eq!(e.last, Some((6, big.clone())));
        assert!(e.torn.is_none());
        c.extend_from_slice(b"{\"part");
        let e = end_of(&c);
        assert_eq!(e.last, Some((6, big.clone())));
        assert_eq!(e.torn, Some((c.len() as u64 - 6, b"{\"part".to_vec())));
        let e = end_of(b"only\n");
        assert_eq!(e.last, Some((0, b"only".to_vec())));
        let e = end_of(b"no newline at all");
        assert_eq!(
            (e.last, e.torn),
            (None, Some((0, b"no newline at all".to_vec())))
        );
        let e = end_of(&[big.as_slice(), b"\nshort\n"].concat());
        assert_eq!(e.last, Some((big.len() as u64 + 1, b"short".to_vec())));
        assert_eq!(
            line_number(&std::env::temp_dir().join("lf-no-such-file"), 10),
            0
        );
    }
}
