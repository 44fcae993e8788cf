//! Approvals: requests opened by `require_approval` decisions, votes, and one-shot grants.
//!
//! A `require_approval` decision opens a request bound to the exact action: its tool,
//! arguments, actor and session (the *binding* digest). Approvers the rule allows vote
//! (`approve` / `reject`); a request is approved once `quorum` distinct approvers have
//! approved and nobody rejected, and it can be voted on only until it expires. Re-proposing
//! the same action then yields allow, consuming the grant; any change to the action is not
//! covered. The proposer never approves their own request. Votes may be signed with the
//! approver's own Ed25519 key; rules can demand that with `key:<key id>` approvers.
//! Everything is recorded as evidence and the state is derived from the log
//! ([`crate::govern::state`]). Normative description: `spec/approvals.md`.

pub use crate::error::ApprovalError;
use crate::evidence::canonical;
use crate::evidence::keys::{parse_public, KeyPair};
use crate::govern::registry::Registry;
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Who votes (or overrides): an id and the roles the embedding program vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Approver {
    /// The approver's id (`alice`, `user:alice`).
    pub id: String,
    /// Roles, matched by `role:<name>` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

impl Approver {
    /// An approver with no roles.
    pub fn new(id: impl Into<String>) -> Approver {
        Approver {
            id: id.into(),
            roles: Vec::new(),
        }
    }

    /// Adds a role.
    pub fn with_role(mut self, role: impl Into<String>) -> Approver {
        self.roles.push(role.into());
        self
    }
}

/// An approver's choice: approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Approve.
    Approve,
    /// Reject.
    Reject,
}

impl std::str::FromStr for Choice {
    type Err = String;
    fn from_str(s: &str) -> Result<Choice, String> {
        match s {
            "approve" => Ok(Choice::Approve),
            "reject" => Ok(Choice::Reject),
            other => Err(format!(
                "verdict must be \"approve\" or \"reject\", not {other:?}"
            )),
        }
    }
}

impl Choice {
    /// `approve` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Approve => "approve",
            Choice::Reject => "reject",
        }
    }
}

/// An approver's own signature on a vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteSignature {
    /// The approver's public key (PEM).
    pub public_key: String,
    /// Ed25519 signature over [`signing_message`], hex.
    pub signature: String,
}

/// The bytes an approver signs: a domain tag, then the canonical JSON of the request id,
/// the action's binding digest, the verdict, the approver's id and the reason.
pub fn signing_message(
    request: &str,
    binding: &str,
    verdict: Choice,
    approver: &str,
    reason: &str,
) -> Vec<u8> {
    let body = serde_json::json!({
        "request": request,
        "binding": binding,
        "verdict": verdict.as_str(),
        "approver": approver,
        "reason": reason,
    });
    let mut m = b"lumenflow/approval/v1\n".to_vec();
    m.extend_from_slice(&canonical::to_vec(&body).unwrap_or_default());
    m
}

/// Signs a vote with the approver's key.
pub fn sign(
    key: &KeyPair,
    request: &str,
    binding: &str,
    verdict: Choice,
    approver: &str,
    reason: &str,
) -> VoteSignature {
    let sig = key.sign(&signing_message(
        request, binding, verdict, approver, reason,
    ));
    VoteSignature {
        public_key: key.public_pem(),
        signature: canonical::hex(&sig.to_bytes()),
    }
}

/// Checks a vote signature; returns the signing key's id.
pub fn check_signature(
    s: &VoteSignature,
    request: &str,
    binding: &str,
    verdict: Choice,
    approver: &str,
    reason: &str,
) -> Result<String, String> {
    check_message(
        s,
        &signing_message(request, binding, verdict, approver, reason),
    )
    .map_err(|e| e.replace("the message", "the vote"))
}

/// Checks a signature over `message`; returns the signing key's id.
fn check_message(s: &VoteSignature, message: &[u8]) -> Result<String, String> {
    let key =
        parse_public(&s.public_key, "the approver's public key").map_err(|e| e.to_string())?;
    let bytes = crate::evidence::keys::hex_decode(&s.signature)
        .filter(|b| b.len() == 64)
        .ok_or("the signature is not 64 bytes of hex")?;
    let sig = Signature::from_slice(&bytes).map_err(|e| e.to_string())?;
    key.verify_strict(message, &sig)
        .map_err(|_| "the signature does not match the message".to_owned())?;
    Ok(crate::evidence::keys::key_id(&key))
}

/// The bytes an overrider signs: a domain tag, then the canonical JSON of the denied
/// decision's id and hash, the overrider's id and the reason.
pub fn override_message(
    decision: &str,
    decision_hash: &str,
    approver: &str,
    reason: &str,
) -> Vec<u8> {
    let body = serde_json::json!({
        "decision": decision,
        "decision_hash": decision_hash,
        "approver": approver,
        "reason": reason,
    });
    let mut m = b"lumenflow/override/v1\n".to_vec();
    m.extend_from_slice(&canonical::to_vec(&body).unwrap_or_default());
    m
}

/// Signs an override with the overrider's own key.
pub fn sign_override(
    key: &KeyPair,
    decision: &str,
    decision_hash: &str,
    approver: &str,
    reason: &str,
) -> VoteSignature {
    let sig = key.sign(&override_message(decision, decision_hash, approver, reason));
    VoteSignature {
        public_key: key.public_pem(),
        signature: canonical::hex(&sig.to_bytes()),
    }
}

/// Checks an override signature; returns the signing key's id.
pub fn check_override(
    s: &VoteSignature,
    decision: &str,
    decision_hash: &str,
    approver: &str,
    reason: &str,
) -> Result<String, String> {
    check_message(
        s,
        &override_message(decision, decision_hash, approver, reason),
    )
    .map_err(|e| e.replace("the message", "the override"))
}

/// Whether an approver (who signed with key `key_id`, if any) matches one entry of a
/// rule's `approvers` (or `overridable_by`): `role:<r>` needs the role, `key:<id>` a
/// signature by that key, `user:<x>` the id `x` or `user:x`, a trailing `*` matches any
/// id with that prefix, anything else the id exactly.
pub fn matches(entry: &str, who: &Approver, key_id: Option<&str>) -> bool {
    if let Some(r) = entry.strip_prefix("role:") {
        return who.roles.iter().any(|x| x == r);
    }
    if let Some(k) = entry.strip_prefix("key:") {
        return key_id == Some(k);
    }
    if let Some(prefix) = entry.strip_suffix('*') {
        return who.id.starts_with(prefix);
    }
    if let Some(u) = entry.strip_prefix("user:") {
        if who.id == u {
            return true;
        }
    }
    who.id == entry
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for votes.
    Pending,
    /// Approved: re-proposing the exact action is allowed once.
    Approved,
    /// Rejected by an approver.
    Rejected,
    /// Expired before it was approved, or before its grant was used.
    Expired,
    /// Approved, and the grant has been used.
    Used,
}

impl RequestState {
    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            RequestState::Expired => "expired",
            RequestState::Used => "used",
        }
    }
}

/// One recorded vote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    /// Who voted.
    pub approver: Approver,
    /// Approve or reject.
    pub verdict: Choice,
    /// Why.
    pub reason: String,
    /// When (RFC 3339).
    pub at: String,
    /// The id of the key the approver signed with, if they signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The vote record's id.
    pub record: String,
    /// How the person was authenticated when the vote was attested by a program that
    /// authenticates people itself (`host` for the embedding program's word).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attested: Option<String>,
    /// Whether `approver` is an identity from the approver registry (then the vote counts
    /// under that id, whichever of its keys signed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub registered: bool,
}

impl Vote {
    /// Who this vote counts as, for quorum and for one vote per approver: the signing
    /// key's id when the vote is signed (one key is one identity, whatever names it is
    /// given), else the approver's id without a `user:` prefix (`alice` and `user:alice`
    /// are one).
    pub fn identity(&self) -> String {
        identity(&self.approver.id, self.key_id.as_deref(), self.registered)
    }
}

/// Whose word makes a vote count (see `spec/approvals.md`, Approver registry).
#[derive(Debug, Clone, Default)]
pub enum VoteTrust {
    /// The embedding program authenticates people itself and vouches for the approver
    /// it passes (id and roles): every vote written with a trusted key counts, recorded as
    /// attested by `host`. For a program that is trusted and the only one that can write
    /// with its key; never for a key the governed agent can read.
    #[default]
    Host,
    /// Votes count only if signed by a key the registry binds to an identity, or attested
    /// by an attester the registry declares (for the method recorded); they count under
    /// the registry's identity and roles, never the vote's.
    Registry(Arc<Registry>),
}

impl VoteTrust {
    /// The registry's digest, if votes are judged by a registry.
    pub fn digest(&self) -> Option<&str> {
        match self {
            VoteTrust::Host => None,
            VoteTrust::Registry(r) => Some(r.digest()),
        }
    }
}

/// Who a vote is from, as it counts: the approver (the registry's identity and roles, or
/// the host's word), whether that is a registered identity, and how it was attested.
/// `claimed` is what the vote names, `key_id` the key that signed the vote (checked by
/// the caller), `attestation` the method a writing program recorded, `writer` the key the
/// record was signed with. The one rule for the governor that writes a vote and for every
/// fold that reads it.
pub(crate) fn authenticate(
    trust: &VoteTrust,
    claimed: &Approver,
    key_id: Option<&str>,
    attestation: Option<&str>,
    writer: &str,
) -> Result<(Approver, bool), String> {
    let reg = match trust {
        VoteTrust::Host => return Ok((claimed.clone(), false)),
        VoteTrust::Registry(r) => r,
    };
    let bare = claimed.id.strip_prefix("user:").unwrap_or(&claimed.id);
    let entry = if let Some(k) = key_id {
        let e = reg.by_key(k).ok_or_else(|| {
            format!("signed by key {k}, which the approver registry does not register")
        })?;
        if !bare.is_empty() && bare != e.id {
            return Err(format!(
                "signed by the key of {:?} but names {:?}",
                e.id, claimed.id
            ));
        }
        e
    } else if let Some(m) = attestation {
        if !reg.attests(writer, m) {
            return Err(format!(
                "attested ({m}) by key {writer}, which the approver registry does not declare as an attester for {m}"
            ));
        }
        reg.get(bare)
            .ok_or_else(|| format!("{:?} is not a registered approver", claimed.id))?
    } else {
        return Err(
            "neither signed by a registered approver's key nor attested by a declared attester (a name and roles in a vote are claims)"
                .into(),
        );
    };
    Ok((
        Approver {
            id: entry.id.clone(),
            roles: entry.roles.clone(),
        },
        true,
    ))
}

/// Who a vote by `id`, signed with `key_id` if signed, counts as (see [`Vote::identity`]):
/// a `registered` id (from the approver registry) is the identity itself.
pub(crate) fn identity(id: &str, key_id: Option<&str>, registered: bool) -> String {
    match key_id {
        _ if registered => id.to_owned(),
        Some(k) => format!("key:{k}"),
        None => id.strip_prefix("user:").unwrap_or(id).to_owned(),
    }
}

/// A request with its count of distinct approvals, as bindings show it.
#[derive(Debug, Serialize)]
pub struct RequestView<'a> {
    /// The request.
    #[serde(flatten)]
    pub request: &'a Request,
    /// Distinct approvers who approved so far.
    pub approvals: usize,
}

/// An approval request, as derived from the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The request's id: the id of the decision record that opened it.
    pub id: String,
    /// That decision record's hash.
    pub decision_hash: String,
    /// The action's tool.
    pub tool: String,
    /// The proposing actor's id.
    pub actor: String,
    /// The action's session.
    pub session: String,
    /// The binding digest: tool, args, actor and session.
    pub binding: String,
    /// The rules (or budgets) that required approval, as `policy/rule`.
    pub rules: Vec<String>,
    /// Who may approve (empty: anyone but the proposer).
    pub approvers: Vec<Arc<str>>,
    /// How many distinct approvers must approve.
    pub quorum: u32,
    /// When it was opened (RFC 3339).
    pub opened_at: String,
    /// When it expires (RFC 3339), if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Where it stands (at the time it was read).
    pub state: RequestState,
    /// The votes, in order.
    pub votes: Vec<Vote>,
    /// The decision that used the grant, once used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
}

impl Request {
    /// Distinct approvers who approved.
    pub fn approvals(&self) -> usize {
        let mut ids: Vec<String> = self
            .votes
            .iter()
            .filter(|v| v.verdict == Choice::Approve)
            .map(Vote::identity)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// The request as plain data for a binding or an API: its fields plus `approvals`,
    /// the count of distinct approvers who approved.
    pub fn view(&self) -> RequestView<'_> {
        RequestView {
            request: self,
            approvals: self.approvals(),
        }
    }

    /// Whether `who` (signing with `key_id`) may vote on this request. The proposer never
    /// may; the comparison ignores a `user:` prefix on either side and a `unix:` prefix
    /// on the proposer (`unix:alice` is the actor `lumenflow serve` gives alice's OS
    /// account, so alice cannot approve what her own account's agent asked).
    pub fn allows(&self, who: &Approver, key_id: Option<&str>) -> bool {
        let bare = |s: &str| {
            let s = s.strip_prefix("user:").unwrap_or(s);
            s.strip_prefix("unix:").unwrap_or(s).to_owned()
        };
        if bare(&who.id) == bare(&self.actor) {
            return false;
        }
        self.approvers.is_empty() || self.approvers.iter().any(|e| matches(e, who, key_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(actor: &str) -> Request {
        Request {
            id: "s:1".into(),
            decision_hash: String::new(),
            tool: "bash".into(),
            actor: actor.into(),
            session: String::new(),
            binding: String::new(),
            rules: Vec::new(),
            approvers: Vec::new(),
            quorum: 1,
            opened_at: String::new(),
            expires_at: None,
            state: RequestState::Pending,
            votes: Vec::new(),
            used_by: None,
        }
    }

    #[test]
    fn the_proposer_never_approves_whatever_the_prefix() {
        for actor in ["alice", "user:alice", "unix:alice"] {
            let r = request(actor);
            assert!(!r.allows(&Approver::new("alice"), None), "{actor}");
            assert!(!r.allows(&Approver::new("user:alice"), None), "{actor}");
            assert!(r.allows(&Approver::new("bob"), None), "{actor}");
        }
        assert!(request("unix:alicia").allows(&Approver::new("alice"), None));
    }
}
