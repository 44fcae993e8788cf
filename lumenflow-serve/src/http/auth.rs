//! Approver authentication for the HTTP API and console: per-person secrets, sessions
//! and the cross-site request defences.
//!
//! A person logs in with their id and their own secret, checked against the Argon2id
//! hash configured for them in the daemon's configuration (a file the agent's OS user
//! cannot read). A successful login creates a session: a random 256-bit token sent as an
//! `HttpOnly; SameSite=Strict` cookie, stored here only as its SHA-256 (a lookup by hash
//! is no timing oracle on the token), with an absolute expiry and its own CSRF token. A
//! state-changing request must come from the console's own origin (`Origin` equal to the
//! configured public origin) and carry the session's CSRF token in a header. A name or
//! role in a request body is never an identity: who votes is the session's person.
//! Normative description: `spec/console.md`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The name of the session cookie.
pub const COOKIE: &str = "lumenflow_session";
/// The header a state-changing request carries its session's CSRF token in.
pub const CSRF_HEADER: &str = "x-lumenflow-csrf";
/// Failed logins allowed per person (and overall per window) before logins are refused
/// until the window ends.
pub const MAX_FAILURES: u32 = 5;
/// The window failed logins are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// The most sessions held at once; a login beyond it evicts the one closest to expiry.
pub const MAX_SESSIONS: usize = 1024;
/// The shortest secret [`hash_secret`] accepts, in bytes.
pub const MIN_SECRET_BYTES: usize = 12;

/// Why a person could not be authenticated, or a request was refused as cross-site.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The id is not configured or the secret does not match (one answer for both, so
    /// the answer does not tell which ids exist).
    #[error("unknown person or wrong secret")]
    BadCredentials,
    /// Too many failed logins for this person (or overall) in the window.
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until logins are accepted again.
        retry_after_secs: u64,
    },
    /// The request carries no session cookie.
    #[error("not logged in (no session cookie)")]
    NoSession,
    /// The session cookie names no live session (forged, logged out, or the daemon
    /// restarted).
    #[error("the session is unknown (forged, logged out, or the daemon restarted)")]
    UnknownSession,
    /// The session expired.
    #[error("the session expired; log in again")]
    Expired,
    /// The request's `Origin` is missing or not the console's.
    #[error("cross-origin request refused: Origin {got:?} is not {want:?}")]
    BadOrigin {
        /// The `Origin` header, if any.
        got: Option<String>,
        /// The console's origin.
        want: String,
    },
    /// The request's `Host` is not the console's (DNS rebinding).
    #[error("request for host {got:?} refused: the console is served as {want:?}")]
    BadHost {
        /// The `Host` header, if any.
        got: Option<String>,
        /// The console's host.
        want: String,
    },
    /// The CSRF header is missing or does not match the session's token.
    #[error("missing or wrong {CSRF_HEADER} header")]
    BadCsrf,
    /// A configured secret hash cannot be used.
    #[error("person {id:?}: secret_hash is not a usable Argon2id PHC string: {reason}")]
    BadHash {
        /// The person.
        id: String,
        /// Why.
        reason: String,
    },
    /// A secret given to [`hash_secret`] is too short.
    #[error("a secret must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
}

/// Hashes a secret for the configuration (`people[].secret_hash`): Argon2id with the
/// crate's default parameters and a random salt, as a PHC string.
pub fn hash_secret(secret: &str) -> Result<String, AuthError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(AuthError::WeakSecret);
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthError::BadHash {
        id: String::new(),
        reason: format!("no randomness: {e}"),
    })?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::BadHash {
        id: String::new(),
        reason: e.to_string(),
    })?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::BadHash {
            id: String::new(),
            reason: e.to_string(),
        })
}

/// The configured people and their secret hashes, checked at load.
#[derive(Debug)]
pub struct Credentials {
    people: HashMap<String, String>,
    /// A hash checked when the id is unknown, so an unknown id costs the same time.
    decoy: String,
    failures: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    per_person: HashMap<String, (Instant, u32)>,
    overall: Option<(Instant, u32)>,
}

fn count(slot: &mut Option<(Instant, u32)>, now: Instant) -> u32 {
    match slot {
        Some((start, n)) if now.duration_since(*start) < FAILURE_WINDOW => {
            *n += 1;
            *n
        }
        _ => {
            *slot = Some((now, 1));
            1
        }
    }
}

fn blocked(slot: Option<&(Instant, u32)>, now: Instant, limit: u32) -> Option<u64> {
    let (start, n) = slot?;
    let age = now.duration_since(*start);
    (age < FAILURE_WINDOW && *n >= limit).then(|| (FAILURE_WINDOW - age).as_secs().max(1))
}

impl Credentials {
    /// Checks each `(id, secret_hash)`: the hash must be an Argon2id PHC string.
    pub fn new(people: impl IntoIterator<Item = (String, String)>) -> Result<Self, AuthError> {
        let mut map = HashMap::new();
        for (id, hash) in people {
            let parsed = PasswordHash::new(&hash).map_err(|e| AuthError::BadHash {
                id: id.clone(),
                reason: e.to_string(),
            })?;
            if parsed.algorithm.as_str() != "argon2id" {
                return Err(AuthError::BadHash {
                    id,
                    reason: format!("algorithm {} (want argon2id)", parsed.algorithm),
                });
            }
            map.insert(id, hash);
        }
        Ok(Credentials {
            people: map,
            decoy: hash_secret("decoy secret for unknown ids").unwrap_or_default(),
            failures: Mutex::new(Failures::default()),
        })
    }

    /// Whether `id` is a configured person.
    pub fn knows(&self, id: &str) -> bool {
        self.people.contains_key(id)
    }

    /// Checks `secret` for person `id` (slow by design: call it off the async runtime).
    /// Refused while the person, or everyone together, has [`MAX_FAILURES`] (resp. ten
    /// times that) failures in the current window.
    pub fn check(&self, id: &str, secret: &str) -> Result<(), AuthError> {
        let now = Instant::now();
        // Ids that are not configured share one slot, so the map stays bounded.
        let key = if self.people.contains_key(id) { id } else { "" };
        {
            let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            let wait = blocked(f.per_person.get(key), now, MAX_FAILURES)
                .or_else(|| blocked(f.overall.as_ref(), now, MAX_FAILURES * 10));
            if let Some(retry_after_secs) = wait {
                return Err(AuthError::RateLimited { retry_after_secs });
            }
        }
        let hash = self.people.get(id).unwrap_or(&self.decoy);
        let ok = PasswordHash::new(hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(secret.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        if ok && self.people.contains_key(id) {
            return Ok(());
        }
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut slot = f.per_person.get(key).copied();
        count(&mut slot, now);
        if let Some(s) = slot {
            f.per_person.insert(key.to_owned(), s);
        }
        count(&mut f.overall, now);
        Err(AuthError::BadCredentials)
    }
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The person (a registry identity).
    pub person: String,
    /// The CSRF token state-changing requests must carry.
    pub csrf: String,
    /// When it ends.
    pub expires: Instant,
}

/// The live sessions, by the SHA-256 of their token.
#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    map: Mutex<HashMap<[u8; 32], Session>>,
}

fn random_token() -> Result<String, AuthError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| AuthError::BadHash {
        id: String::new(),
        reason: format!("no randomness: {e}"),
    })?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    /// No sessions; each lasts `ttl` from login.
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// How long a session lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Opens a session for `person`; returns its token (for the cookie) and the session.
    pub fn open(&self, person: &str) -> Result<(String, Session), AuthError> {
        let token = random_token()?;
        let session = Session {
            person: person.to_owned(),
            csrf: random_token()?,
            expires: Instant::now() + self.ttl,
        };
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        m.retain(|_, s| s.expires > now);
        if m.len() >= MAX_SESSIONS {
            if let Some(k) = m.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k) {
                m.remove(&k);
            }
        }
        m.insert(token_key(&token), session.clone());
        Ok((token, session))
    }

    /// The live session a token names.
    pub fn get(&self, token: Option<&str>) -> Result<Session, AuthError> {
        let token = token.ok_or(AuthError::NoSession)?;
        let key = token_key(token);
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let s = m.get(&key).cloned().ok_or(AuthError::UnknownSession)?;
        if s.expires <= Instant::now() {
            m.remove(&key);
            return Err(AuthError::Expired);
        }
        Ok(s)
    }

    /// Ends the session a token names (if any).
    pub fn close(&self, token: &str) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(&token_key(token));
    }
}

/// Whether a request's CSRF header matches the session's token (constant time).
pub fn csrf_matches(session: &Session, header: Option<&str>) -> bool {
    match header {
        Some(h) => h.as_bytes().ct_eq(session.csrf.as_bytes()).into(),
        None => false,
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The `Set-Cookie` value for a new session (`secure` when served over HTTPS).
pub fn set_cookie(token: &str, ttl: Duration, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        ttl.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that clears the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new([(
            "alice".to_owned(),
            hash_secret("correct horse battery").unwrap(),
        )])
        .unwrap()
    }

    #[test]
    fn checks_secrets_and_refuses_unknown_ids_alike() {
        let c = creds();
        assert_eq!(c.check("alice", "correct horse battery"), Ok(()));
        assert_eq!(c.check("alice", "wrong"), Err(AuthError::BadCredentials));
        assert_eq!(
            c.check("mallory", "correct horse battery"),
            Err(AuthError::BadCredentials)
        );
        assert_eq!(c.check("", ""), Err(AuthError::BadCredentials));
    }

    #[test]
    fn rate_limits_guessing() {
        let c = creds();
        for _ in 0..MAX_FAILURES {
            assert_eq!(c.check("alice", "guess"), Err(AuthError::BadCredentials));
        }
        // Even the right secret is refused until the window ends.
        assert!(matches!(
            c.check("alice", "correct horse battery"),
            Err(AuthError::RateLimited { .. })
        ));
    }

    #[test]
    fn refuses_unusable_hashes_and_weak_secrets() {
        let e = Credentials::new([("bob".to_owned(), "plaintext".to_owned())]).unwrap_err();
        assert!(e.to_string().contains("\"bob\""), "{e}");
        let md5ish = "$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$JGKKzQsTR+tkk7fTLKudLw";
        let e = Credentials::new([("bob".to_owned(), md5ish.to_owned())]).unwrap_err();
        assert!(e.to_string().contains("want argon2id"), "{e}");
        assert_eq!(hash_secret("short"), Err(AuthError::WeakSecret));
    }

    #[test]
    fn sessions_expire_and_forged_tokens_are_unknown() {
        let s = Sessions::new(Duration::from_millis(50));
        let (token, session) = s.open("alice").unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(s.get(Some(&token)).unwrap().person, "alice");
        assert_eq!(s.get(None).unwrap_err(), AuthError::NoSession);
        let mut forged = token.clone().into_bytes();
        forged[0] = if forged[0] == b'a' { b'b' } else { b'a' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(s.get(Some(&forged)).unwrap_err(), AuthError::UnknownSession);
        assert!(csrf_matches(&session, Some(&session.csrf)));
        assert!(!csrf_matches(&session, Some("00")));
        assert!(!csrf_matches(&session, None));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(s.get(Some(&token)).unwrap_err(), AuthError::Expired);
        assert_eq!(s.get(Some(&token)).unwrap_err(), AuthError::UnknownSession);
    }

    #[test]
    fn logout_ends_the_session() {
        let s = Sessions::new(Duration::from_secs(60));
        let (token, _) = s.open("alice").unwrap();
        s.close(&token);
        assert_eq!(s.get(Some(&token)).unwrap_err(), AuthError::UnknownSession);
    }

    #[test]
    fn parses_cookies() {
        assert_eq!(
            cookie(Some("a=1; lumenflow_session=abc; b=2"), COOKIE),
            Some("abc")
        );
        assert_eq!(cookie(Some("xlumenflow_session=abc"), COOKIE), None);
        assert_eq!(cookie(None, COOKIE), None);
        let c = set_cookie("t", Duration::from_secs(10), false);
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Max-Age=10")
        );
        assert!(set_cookie("t", Duration::from_secs(10), true).ends_with("; Secure"));
    }
}
