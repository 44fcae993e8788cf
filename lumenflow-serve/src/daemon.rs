//! The daemon's shared state: the governor (with its current policy and the reload of
//! changed policy files), the peers' identities, and the channel of what happened.
//!
//! Owns: [`Daemon`] (open, decide/record/read on behalf of a [`Peer`], votes for people
//! the console authenticated, policy reload), [`Event`] (what the console streams and
//! the webhook announces), [`watch_policies`]. Semantics are the core's
//! ([`lumenflow_core::Governor`]); this module only says who is asking.
//!
//! Every [`Daemon`] method that touches the log blocks (it may fsync): async callers run
//! it in `tokio::task::spawn_blocking`.

use crate::config::Config;
use lumenflow_core::{
    Action, Actor, Approver, Choice, Context, Governed, Governor, GovernorOptions, KeyPair,
    Outcome, PolicySet, Record, Registry, Request, VoteSignature,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::broadcast;

/// Why the daemon could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A policy file does not check clean (at start: the daemon does not start).
    #[error("policy: {0}")]
    Policy(String),
    /// The signing key could not be read.
    #[error("key {path}: {message}")]
    Key {
        /// The key file.
        path: String,
        /// Why.
        message: String,
    },
    /// The approver registry could not be read.
    #[error("approver registry {path}: {message}")]
    Registry {
        /// The registry file.
        path: String,
        /// Why.
        message: String,
    },
    /// The evidence directory could not be opened.
    #[error("evidence {path}: {message}")]
    Evidence {
        /// The directory.
        path: String,
        /// Why.
        message: String,
    },
    /// An I/O step of serving failed.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The HTTP side failed.
    #[error("http: {0}")]
    Http(String),
    /// A task of the daemon ended abnormally.
    #[error("daemon task: {0}")]
    Task(String),
}

/// Who is on the other end of an agent connection, as the kernel says (SO_PEERCRED),
/// never as the client says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// The peer process's uid.
    pub uid: u32,
    /// Its gid.
    pub gid: u32,
    /// Its pid (at connect time).
    pub pid: i32,
    /// The actor id its actions are recorded under: `unix:<user name>` (or
    /// `unix:uid:<uid>` for a uid with no name).
    pub actor: String,
    /// The session label the connection gave in its hello, if any (a label, not an
    /// identity).
    pub session: Option<String>,
}

impl Peer {
    /// The peer with these credentials, named from the user database.
    pub fn from_cred(uid: u32, gid: u32, pid: i32) -> Peer {
        Peer {
            uid,
            gid,
            pid,
            actor: actor_for_uid(uid),
            session: None,
        }
    }
}

/// `unix:<name>` for a uid, from the user database (`unix:uid:<n>` if it has no entry).
pub fn actor_for_uid(uid: u32) -> String {
    match user_name(uid) {
        Some(n) => format!("unix:{n}"),
        None => format!("unix:uid:{uid}"),
    }
}

fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes into `pwd` and `buf` (of the given length) only, and sets
    // `out` to `&pwd` on success; the name is copied out before `buf` is dropped.
    let rc =
        unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into `buf`, NUL-terminated, as getpwuid_r succeeded.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    name.to_str().ok().map(str::to_owned)
}

/// What happened, as the console streams it and the webhook announces it. Carries ids
/// and redacted data only (what the evidence records hold).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A decision was recorded.
    Decided {
        /// The decision record's id.
        id: String,
        /// allow / deny / approval_required / budget_exceeded.
        verdict: lumenflow_core::Verdict,
        /// The deciding reason.
        reason: String,
        /// Who proposed it.
        actor: String,
        /// The action's session.
        session: String,
        /// The tool.
        tool: String,
    },
    /// A decision opened an approval request.
    RequestOpened {
        /// The request as it stands.
        request: Request,
    },
    /// A vote was counted on a request.
    Voted {
        /// The request as it stands after the vote.
        request: Request,
        /// Who voted (the identity it counted under).
        approver: String,
        /// approve / reject.
        verdict: Choice,
    },
    /// An outcome closed a decision.
    Outcome {
        /// The decision closed.
        decision: String,
        /// How it went.
        status: lumenflow_core::Status,
    },
    /// Changed policy files checked clean and are now in force.
    PolicyReloaded {
        /// `name@digest` of each layer.
        policies: Vec<String>,
    },
    /// Changed policy files did not check clean; the old ones stay in force.
    PolicyRejected {
        /// Why.
        reason: String,
    },
}

/// How a person's vote through the daemon is authenticated.
#[derive(Debug, Clone)]
pub enum VoteAuth {
    /// Signed by the approver's own key (registered in the approver registry).
    Signed(VoteSignature),
    /// Authenticated by the daemon itself (the console's login) by this method
    /// (`password`, `webauthn`, ...): counts only if the registry declares the daemon's
    /// key an attester for it.
    Attested(String),
}

/// What the policy files looked like when last loaded.
type Stamp = Vec<(PathBuf, Option<SystemTime>, u64, Option<String>)>;

/// The daemon's shared state. `Send + Sync`; share it as `Arc<Daemon>`.
pub struct Daemon {
    config: Config,
    governor: Governor,
    /// A second governor over the same log for clients whose host asks its own user
    /// (only with `hook.host_approval`).
    host_governor: Option<Governor>,
    events: broadcast::Sender<Event>,
    stamp: Mutex<Stamp>,
    log: Mutex<Option<std::fs::File>>,
    started: Instant,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Daemon({}, {:?})", self.config.origin, self.governor)
    }
}

/// Loads policy layers; every problem of every file, or the set.
pub fn load_policies(paths: &[PathBuf]) -> Result<PolicySet, String> {
    PolicySet::from_files(paths).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        lines.join(
            "
",
        )
    })
}

fn stamp_of(paths: &[PathBuf]) -> Stamp {
    paths
        .iter()
        .map(|p| {
            let meta = std::fs::metadata(p).ok();
            let digest = std::fs::read(p)
                .ok()
                .map(|b| lumenflow_core::sha256_digest(&b));
            (
                p.clone(),
                meta.as_ref().and_then(|m| m.modified().ok()),
                meta.map_or(0, |m| m.len()),
                digest,
            )
        })
        .collect()
}

impl Daemon {
    /// Opens the daemon's state: checks the policy, reads the key and registry, opens the
    /// evidence directory (state from the log, as any governor does).
    pub fn open(config: Config) -> Result<Daemon, DaemonError> {
        let log = match &config.log {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| DaemonError::Io(format!("opening the log {}", p.display()), e))?,
            ),
            None => None,
        };
        let stamp = stamp_of(&config.policies);
        let policies = load_policies(&config.policies).map_err(DaemonError::Policy)?;
        let registry = match &config.registry {
            Some(p) => Some(Arc::new(Registry::load(p).map_err(|e| {
                DaemonError::Registry {
                    path: p.display().to_string(),
                    message: e.to_string(),
                }
            })?)),
            None => None,
        };
        let open = |host_approves: bool| -> Result<Governor, DaemonError> {
            let key = KeyPair::from_file(&config.key).map_err(|e| DaemonError::Key {
                path: config.key.display().to_string(),
                message: e.to_string(),
            })?;
            let context = Context::from_value(Value::Object(config.context.clone()))
                .map_err(|e| DaemonError::Policy(format!("configuration `context`: {e}")))?;
            Governor::open(
                &config.evidence,
                policies.clone(),
                key,
                GovernorOptions {
                    context,
                    // Agents record outcomes after the tool ran, maybe after a restart of
                    // the daemon: its decisions stay open until they do.
                    close_open_on_exit: false,
                    host_approves,
                    registry: registry.clone(),
                    ..GovernorOptions::default()
                },
            )
            .map_err(|e| DaemonError::Evidence {
                path: config.evidence.display().to_string(),
                message: e.to_string(),
            })
        };
        let governor = open(false)?;
        let host_governor = if config.hook.host_approval {
            Some(open(true)?)
        } else {
            None
        };
        let (events, _) = broadcast::channel(1024);
        Ok(Daemon {
            config,
            governor,
            host_governor,
            events,
            stamp: Mutex::new(stamp),
            log: Mutex::new(log),
            started: Instant::now(),
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The governor (its log, state, approvals, budgets). The console reads through it;
    /// votes go through [`Daemon::vote_as`] so that they are announced.
    pub fn governor(&self) -> &Governor {
        &self.governor
    }

    /// A live feed of what happens from now on. A receiver that lags loses the oldest
    /// events (`RecvError::Lagged`) and should re-read the state from the governor.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// How long the daemon has run.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    fn emit(&self, e: Event) {
        // No receiver is not an error: nobody is watching.
        let _ = self.events.send(e);
    }

    /// Writes a line to the daemon's log (its file, else standard error).
    pub fn log(&self, msg: &str) {
        let line = format!(
            "{} lumenflow-serve: {msg}\n",
            lumenflow_core::timestamp(chrono::Utc::now())
        );
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        match log.as_mut() {
            Some(f) => {
                let _ = f.write_all(line.as_bytes());
            }
            None => eprint!("{line}"),
        }
    }

    /// Decides `action` for `peer`: its actor becomes the peer's identity (whatever the
    /// client put there), its session the connection's label if it gave none; context
    /// values the configuration sets win over the client's.
    pub fn decide(
        &self,
        peer: &Peer,
        mut action: Action,
        context: Option<Context>,
        host_approves: bool,
    ) -> Result<Governed, lumenflow_core::Error> {
        action.actor = Actor::agent(peer.actor.clone());
        if action.session.is_empty() {
            if let Some(s) = &peer.session {
                action.session = s.clone();
            }
        }
        let mut values = context.map(|c| c.values().clone()).unwrap_or_default();
        for (k, v) in &self.config.context {
            values.insert(k.clone(), v.clone());
        }
        values.insert("peer".into(), json!({"uid": peer.uid, "pid": peer.pid}));
        let context = Context::from_value(Value::Object(values))?;
        let g = match (&self.host_governor, host_approves) {
            (Some(h), true) => h,
            _ => &self.governor,
        };
        let d = g.decide_in(&action, &context)?;
        self.emit(Event::Decided {
            id: d.id.clone(),
            verdict: d.verdict(),
            reason: d.decision.reason.clone(),
            actor: action.actor.id.clone(),
            session: action.session.clone(),
            tool: action.tool.clone(),
        });
        if let Some(r) = d.request() {
            if let Ok(req) = self.governor.approval(r) {
                self.emit(Event::RequestOpened { request: req });
            }
        }
        Ok(d)
    }

    /// Records the outcome of one of `peer`'s own open decisions.
    pub fn record(
        &self,
        peer: &Peer,
        decision: &str,
        outcome: Outcome,
    ) -> Result<Record, lumenflow_core::Error> {
        let status = outcome.status;
        let r = self.governor.record_owned(decision, outcome, &peer.actor)?;
        self.emit(Event::Outcome {
            decision: r
                .body
                .get("decision")
                .and_then(Value::as_str)
                .unwrap_or(decision)
                .to_owned(),
            status,
        });
        Ok(r)
    }

    /// One of `peer`'s own approval requests. Another actor's request is refused as if
    /// it did not exist (an agent learns nothing of other agents' requests).
    pub fn own_request(&self, peer: &Peer, request: &str) -> Result<Request, OwnError> {
        match self.governor.approval(request) {
            Ok(r) if r.actor == peer.actor => Ok(r),
            Ok(_) => Err(OwnError::NotOwner(request.to_owned())),
            Err(lumenflow_core::Error::Approval(
                lumenflow_core::ApprovalError::UnknownRequest(id),
            )) => Err(OwnError::NotFound(id)),
            Err(e) => Err(OwnError::Core(e)),
        }
    }

    /// `peer`'s own approval requests, oldest first.
    pub fn own_requests(&self, peer: &Peer) -> Result<Vec<Request>, lumenflow_core::Error> {
        Ok(self
            .governor
            .approvals()?
            .into_iter()
            .filter(|r| r.actor == peer.actor)
            .collect())
    }

    /// `peer`'s own evidence records: its decisions and the records about them
    /// (outcomes, votes, host answers), in log order; of one session if given; the last
    /// `limit` if given.
    pub fn own_log(
        &self,
        peer: &Peer,
        session: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Record>, lumenflow_core::Error> {
        let records = lumenflow_core::read_records(&self.config.evidence)
            .map_err(lumenflow_core::Error::Evidence)?;
        let mut mine = std::collections::HashSet::new();
        let mut out = Vec::new();
        for r in records {
            let own = if r.kind == lumenflow_core::kind::DECISION {
                let actor = r.body.pointer("/action/actor/id").and_then(Value::as_str);
                let sess = r.body.pointer("/action/session").and_then(Value::as_str);
                let own =
                    actor == Some(peer.actor.as_str()) && session.is_none_or(|s| sess == Some(s));
                if own {
                    mine.insert(r.id());
                }
                own
            } else {
                ["decision", "request"].iter().any(|f| {
                    r.body
                        .get(*f)
                        .and_then(Value::as_str)
                        .is_some_and(|d| mine.contains(d))
                })
            };
            if own {
                out.push(r);
            }
        }
        if let Some(n) = limit {
            let skip = out.len().saturating_sub(n);
            out.drain(..skip);
        }
        Ok(out)
    }

    /// Waits until `peer`'s request `request` is no longer pending, or `timeout` (capped
    /// at the configured maximum) passes; the request as it then stands. Blocks.
    pub fn wait_for_approval(
        &self,
        peer: &Peer,
        request: &str,
        timeout: Duration,
    ) -> Result<Request, OwnError> {
        let deadline = Instant::now() + timeout.min(self.config.max_wait);
        let mut rx = self.subscribe();
        loop {
            let r = self.own_request(peer, request)?;
            if r.state != lumenflow_core::RequestState::Pending {
                return Ok(r);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(r);
            }
            // Woken by a vote through this daemon; polled for votes written by other
            // processes on the same log (the service user's `lumenflow approve`).
            let step = (deadline - now).min(Duration::from_millis(250));
            let until = Instant::now() + step;
            loop {
                match rx.try_recv() {
                    Ok(Event::Voted { .. }) => break,
                    Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                    Err(broadcast::error::TryRecvError::Empty) => {
                        if Instant::now() >= until {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(broadcast::error::TryRecvError::Closed) => break,
                }
            }
        }
    }

    /// Votes on `request` as person `approver`, whom the caller (the console)
    /// authenticated as `auth` says; the core's rules apply (registry, quorum, expiry, the
    /// proposer never approves their own). Announced as [`Event::Voted`].
    pub fn vote_as(
        &self,
        approver: &str,
        request: &str,
        verdict: Choice,
        reason: &str,
        auth: &VoteAuth,
    ) -> Result<Request, lumenflow_core::Error> {
        let r = match auth {
            VoteAuth::Signed(sig) => self.governor.vote(
                request,
                &Approver::new(approver),
                verdict,
                reason,
                Some(sig),
            )?,
            VoteAuth::Attested(method) => self
                .governor
                .attest(request, approver, verdict, reason, method)?,
        };
        self.emit(Event::Voted {
            request: r.clone(),
            approver: approver.to_owned(),
            verdict,
        });
        Ok(r)
    }

    /// Checks the policy files; if they changed and check clean, puts them in force and
    /// records a `policy_reload` evidence record; if they changed and do not, keeps the
    /// old ones, says why in the daemon log and records a `policy_rejected` record.
    /// Returns whether anything changed. Blocks.
    pub fn reload_if_changed(&self) -> bool {
        let now = stamp_of(&self.config.policies);
        {
            let mut old = self.stamp.lock().unwrap_or_else(|p| p.into_inner());
            if *old == now {
                return false;
            }
            *old = now;
        }
        match load_policies(&self.config.policies) {
            Ok(set) => {
                let names: Vec<String> = set
                    .refs()
                    .iter()
                    .map(|p| format!("{}@{}", p.name, p.digest))
                    .collect();
                self.governor.reload_policies(set.clone());
                if let Some(h) = &self.host_governor {
                    h.reload_policies(set);
                }
                self.log(&format!("policy reloaded: {}", names.join(", ")));
                if let Err(e) = self
                    .governor
                    .append(vec![("policy_reload".into(), json!({"policies": names}))])
                {
                    self.log(&format!("could not record the policy reload: {e}"));
                }
                self.emit(Event::PolicyReloaded { policies: names });
            }
            Err(why) => {
                let kept: Vec<String> = self
                    .governor
                    .policies()
                    .refs()
                    .iter()
                    .map(|p| format!("{}@{}", p.name, p.digest))
                    .collect();
                self.log(&format!(
                    "changed policy rejected, keeping {}: {why}",
                    kept.join(", ")
                ));
                if let Err(e) = self.governor.append(vec![(
                    "policy_rejected".into(),
                    json!({"reason": lumenflow_core::evidence::redact::redact_text(&why).map_or_else(|| why.clone(), |(clean, _)| clean), "kept": kept}),
                )]) {
                    self.log(&format!("could not record the rejected policy: {e}"));
                }
                self.emit(Event::PolicyRejected { reason: why });
            }
        }
        true
    }

    /// Closes the governors (saves the state snapshot).
    pub fn close(&self) {
        if let Err(e) = self.governor.close() {
            self.log(&format!("closing the evidence store: {e}"));
        }
        if let Some(h) = &self.host_governor {
            let _ = h.close();
        }
    }
}

/// Why a read of a peer's own request failed.
#[derive(Debug, thiserror::Error)]
pub enum OwnError {
    /// No such request.
    #[error("unknown approval request {0}")]
    NotFound(String),
    /// It is another actor's.
    #[error("approval request {0} is not yours")]
    NotOwner(String),
    /// The core failed.
    #[error(transparent)]
    Core(#[from] lumenflow_core::Error),
}

/// Polls the policy files every `reload_interval` and reloads them when they change
/// (see [`Daemon::reload_if_changed`]). Runs until the daemon stops.
pub async fn watch_policies(daemon: Arc<Daemon>) -> Result<(), DaemonError> {
    let mut tick = tokio::time::interval(daemon.config().reload_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let d = daemon.clone();
        tokio::task::spawn_blocking(move || d.reload_if_changed())
            .await
            .map_err(|e| DaemonError::Task(e.to_string()))?;
    }
}
