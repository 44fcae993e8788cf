"""Types and documentation of ``lumenflow._lumenflow``, the Rust extension module."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Union, final

from typing_extensions import disjoint_base

_Path = Union[str, "os.PathLike[str]"]
_PolicyArg = Union[_Path, Sequence[_Path], "PolicySet"]
_Actor = Union[str, Mapping[str, Any]]
_Approver = Union[str, Mapping[str, Any]]

__version__: str
__all__ = [
    "ActionError",
    "ApprovalError",
    "DaemonError",
    "Decision",
    "Error",
    "EvidenceError",
    "Governor",
    "ManualClock",
    "PolicyError",
    "PolicySet",
    "RemoteGovernor",
    "SigningKeyError",
    "VerifyReport",
    "canonicalize",
    "export_log",
    "generate_key",
    "output_digest",
    "replay",
    "run_policy_tests",
    "sign_vote",
    "verify",
    "verify_jsonl",
    "verify_signature",
    "__version__",
]

class Error(Exception):
    """Base class of every error LumenFlow raises; the message is the core's, intact."""

class PolicyError(Error):
    """A policy could not be read or is invalid (file, rule, line and column named)."""

class ActionError(Error):
    """An action or context was rejected: an ill-typed field, non-JSON, a limit exceeded."""

class SigningKeyError(Error):
    """A signing or verifying key could not be read, parsed, generated or written."""

class EvidenceError(Error):
    """Evidence could not be written or read; when ``decide`` raises it, nothing was
    recorded and the tool must not run."""

class ApprovalError(Error):
    """An approval could not be given, refused or found."""

class DaemonError(Error):
    """The daemon of ``lumenflow serve`` could not be reached, did not answer in time,
    answered badly or refused: do not run the action."""

@final
class Decision:
    """The answer to "may this action run?", with everything that led to it
    (spec/decision.md); a Governor's also carries its evidence record and verdict."""

    @property
    def effect(self) -> str:
        """``"allow"``, ``"deny"`` or ``"require_approval"``."""
    @property
    def allowed(self) -> bool:
        """True if the effect is allow."""
    @property
    def decided_by(self) -> str:
        """``"rule"``, ``"default"``, ``"invalid_input"``, ``"budget"``, ``"approval"``,
        ``"auto_approval"`` or ``"override"``."""
    @property
    def deciding_rules(self) -> List[Tuple[str, str]]:
        """The rules that produced the effect, as ``(policy, rule)`` pairs."""
    @property
    def matched(self) -> List[Dict[str, Any]]:
        """Every matched rule: policy, rule, effect, reason (and error)."""
    @property
    def errors(self) -> List[Dict[str, Any]]:
        """Rules whose condition failed: policy, rule, message, effect."""
    @property
    def warnings(self) -> List[Dict[str, Any]]:
        """Refused loosening attempts and other notes: policy, rules, message."""
    @property
    def policies(self) -> List[Dict[str, str]]:
        """The policies, in layer order: name and digest."""
    @property
    def approvers(self) -> List[str]:
        """Who may approve, when the effect is require_approval."""
    @property
    def reason(self) -> str:
        """A one-line explanation."""
    @property
    def eval_ns(self) -> int:
        """Time spent evaluating, in nanoseconds."""
    @property
    def verdict(self) -> Optional[str]:
        """Governor decisions: ``"allow"``, ``"deny"``, ``"approval_required"`` or
        ``"budget_exceeded"``; None for a PolicySet's decision."""
    @property
    def request_id(self) -> Optional[str]:
        """The approval request this decision opened (for ``Governor.approve``), if any."""
    @property
    def approval(self) -> Optional[Dict[str, Any]]:
        """The approval terms asked for, or the approval that allowed it."""
    @property
    def budgets(self) -> List[Dict[str, Any]]:
        """What each budget made of the action (Governor decisions only)."""
    @property
    def id(self) -> Optional[str]:
        """The decision record's id (``<stream>:<seq>``), or None if not recorded."""
    @property
    def hash(self) -> Optional[str]:
        """The decision record's hash, or None if not recorded."""
    def to_dict(self) -> Dict[str, Any]:
        """The decision as plain data (spec/decision.md), plus id, hash, verdict and
        request_id when recorded."""

@final
class PolicySet:
    """An ordered stack of policies that decides actions, with no evidence."""

    def __new__(cls, *paths: _Path, context: Optional[Mapping[str, Any]] = None) -> PolicySet:
        """Loads policy files (YAML or JSON), most general layer first; ``context`` is
        used when a ``decide`` call gives none (a Governor uses its own)."""
    @staticmethod
    def from_yaml(
        *texts: str, origin: str = "<string>", context: Optional[Mapping[str, Any]] = None
    ) -> PolicySet:
        """Loads policies from YAML (or JSON) text, one string per layer."""
    @property
    def policies(self) -> List[Dict[str, str]]:
        """The layers: name, origin and digest."""
    def decide(
        self,
        action: Optional[Mapping[str, Any]] = None,
        /,
        *,
        tool: Optional[str] = None,
        args: Optional[Mapping[str, Any]] = None,
        actor: Optional[_Actor] = None,
        session: Optional[str] = None,
        run: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        cost: Optional[float] = None,
        tokens: Optional[int] = None,
        context: Optional[Mapping[str, Any]] = None,
    ) -> Decision:
        """Decides an action (a dict, or keyword arguments) in ``context`` (else the
        set's own); pure."""

@disjoint_base
class Governor:
    """The core of :class:`lumenflow.Governor`."""

    def __new__(
        cls,
        *,
        policy: _PolicyArg,
        evidence: _Path,
        key: _Path,
        context: Optional[Mapping[str, Any]] = None,
        durability: Optional[str] = None,
        redact: Optional[Sequence[str]] = None,
        host_approves: bool = False,
        clock: Optional[ManualClock] = None,
        trusted_keys: Optional[Union[_Path, Sequence[_Path]]] = None,
        registry: Optional[_Path] = None,
    ) -> Governor:
        """Opens (or creates) the evidence directory and loads the policy and key.
        ``trusted_keys``: other writers' public keys (paths or PEM) whose records count;
        ``registry``: the approver registry file (votes then count only if signed by a
        registered key or attested by a declared attester)."""
    @property
    def evidence(self) -> os.PathLike[str]:
        """The evidence directory."""
    @property
    def key_id(self) -> str:
        """The signing key's id (``ed25519:...``)."""
    @property
    def policy(self) -> PolicySet:
        """The policies this governor decides with."""
    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
    def decide(
        self,
        action: Optional[Mapping[str, Any]] = None,
        /,
        *,
        tool: Optional[str] = None,
        args: Optional[Mapping[str, Any]] = None,
        actor: Optional[_Actor] = None,
        session: Optional[str] = None,
        run: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        cost: Optional[float] = None,
        tokens: Optional[int] = None,
        context: Optional[Mapping[str, Any]] = None,
    ) -> Decision:
        """Decides an action and records the decision before returning (EvidenceError if
        it cannot: then do not run the tool); an allow waits for ``record``."""
    def record(
        self,
        decision: Union[Decision, str],
        /,
        status: Optional[str] = None,
        *,
        output: Union[bytes, str, None] = None,
        duration: Optional[float] = None,
        error: Optional[str] = None,
        cost: Optional[float] = None,
        tokens: Optional[int] = None,
    ) -> str:
        """Records how a decided action turned out (status: "success" when None,
        "failure", "denied", "unknown", "awaiting_approval"; only the digest of ``output``
        is kept; ``duration`` in seconds); returns the outcome record's id."""
    def vote(
        self,
        request: Union[Decision, str],
        approver: _Approver,
        verdict: str,
        reason: str = "",
        *,
        signature: Optional[Mapping[str, str]] = None,
    ) -> Dict[str, Any]:
        """Votes "approve" or "reject", optionally signed (``sign_vote``); returns the
        request as it stands."""
    def attest(
        self,
        request: Union[Decision, str],
        approver: str,
        verdict: str,
        reason: str = "",
        *,
        method: str,
    ) -> Dict[str, Any]:
        """Votes for a registered approver this program authenticated itself by
        ``method``; counts only if the registry declares this governor's key an attester
        for it."""
    def rejected_records(self) -> List[str]:
        """Records of the log that decided nothing (untrusted, or votes and overrides
        that do not count), with why."""
    def approval(self, request: Union[Decision, str]) -> Dict[str, Any]:
        """One approval request as it stands now."""
    def approvals(self) -> List[Dict[str, Any]]:
        """Every approval request in the log, oldest first."""
    def budgets(self) -> List[Dict[str, Any]]:
        """Every budget account charged so far."""
    def override_deny(
        self, decision: Union[Decision, str], who: _Approver, reason: str
    ) -> Decision:
        """Overrides a deny (break-glass); returns the allowing Decision."""
    def checkpoint(self) -> Optional[Dict[str, Any]]:
        """Signs and writes a checkpoint of the head; returns it (None if empty)."""
    def close(self) -> None:
        """Closes open decisions as unknown, checkpoints, releases the governor."""
    def __enter__(self) -> Governor: ...
    def __exit__(self, *exc: object) -> Literal[False]: ...

@disjoint_base
class RemoteGovernor:
    """The core of :class:`lumenflow.RemoteGovernor` (made by :func:`lumenflow.connect`)."""

    def __new__(
        cls, socket: _Path, *, timeout: float = 10.0, session: Optional[str] = None
    ) -> RemoteGovernor:
        """Connects to the daemon's agent socket and shakes hands."""
    @property
    def socket(self) -> os.PathLike[str]:
        """The socket path."""
    @property
    def actor(self) -> str:
        """Who the daemon records this process's actions as (``unix:<user>``)."""
    @property
    def key_id(self) -> str:
        """The daemon's signing key id."""
    @property
    def max_wait(self) -> float:
        """The longest wait for approval the daemon grants, in seconds."""
    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
    def decide(
        self,
        action: Optional[Mapping[str, Any]] = None,
        /,
        *,
        tool: Optional[str] = None,
        args: Optional[Mapping[str, Any]] = None,
        actor: Optional[_Actor] = None,
        session: Optional[str] = None,
        run: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        cost: Optional[float] = None,
        tokens: Optional[int] = None,
        context: Optional[Mapping[str, Any]] = None,
    ) -> Decision:
        """Has the daemon decide and record an action (the actor is replaced by this
        process's)."""
    def record(
        self,
        decision: Union[Decision, str],
        /,
        status: Optional[str] = None,
        *,
        output: Union[bytes, str, None] = None,
        duration: Optional[float] = None,
        error: Optional[str] = None,
        cost: Optional[float] = None,
        tokens: Optional[int] = None,
    ) -> str:
        """Records the outcome of one of this actor's decisions; returns its id."""
    def approval(self, request: Union[Decision, str]) -> Dict[str, Any]:
        """One of this actor's approval requests as it stands now."""
    def approvals(self) -> List[Dict[str, Any]]:
        """This actor's approval requests, oldest first."""
    def wait_for_approval(self, request: Union[Decision, str], timeout: float) -> Dict[str, Any]:
        """Blocks until the request is decided or expires, or ``timeout`` seconds pass."""
    def log(
        self, session: Optional[str] = None, limit: Optional[int] = None
    ) -> List[Dict[str, Any]]:
        """This actor's evidence records (of one session, the latest ``limit``)."""
    def close(self) -> None:
        """Closes the connection."""
    def __enter__(self) -> RemoteGovernor: ...
    def __exit__(self, *exc: object) -> Literal[False]: ...

@final
class VerifyReport:
    """The result of verifying evidence: integrity and completeness, separately."""

    @property
    def exit_code(self) -> int:
        """0 valid, 1 tampered, 2 incomplete, 3 unknown key (as ``lumenflow verify``)."""
    @property
    def valid(self) -> bool:
        """True if intact, signed by known keys and (where checkable) complete."""
    @property
    def integrity(self) -> str:
        """``"valid"`` or ``"broken"``."""
    @property
    def broken_seq(self) -> Optional[int]:
        """Where the log first stops being trustworthy, or None."""
    @property
    def broken_reason(self) -> Optional[str]:
        """Why it is broken (segment:line: reason), or None."""
    @property
    def completeness(self) -> str:
        """``"complete"``, ``"incomplete"``, ``"unchecked"`` (no checkpoint) or ``"uncovered"`` (a bundle's checkpoint misses its tail)."""
    @property
    def records(self) -> int:
        """Records read (including broken lines)."""
    @property
    def unknown_keys(self) -> List[str]:
        """Key ids that signed records but were not trusted."""
    @property
    def kinds(self) -> Dict[str, int]:
        """Records per kind."""
    @property
    def uncounted(self) -> List[str]:
        """Votes and overrides in the log that do not count, with why."""
    @property
    def notes(self) -> List[str]:
        """Which keys and checkpoint were used."""
    def to_dict(self) -> Dict[str, Any]:
        """The whole report as plain data, plus exit_code."""

@final
class ManualClock:
    """A clock that moves only when told to (tests of expiry and windows)."""

    def __new__(cls, start: str) -> ManualClock:
        """A clock showing ``start`` (RFC 3339)."""
    def advance(self, seconds: float) -> None:
        """Moves the clock forward."""
    @property
    def now(self) -> str:
        """The time shown, RFC 3339."""

def verify(
    path: _Path,
    *,
    keys: Union[_Path, Sequence[_Path], None] = None,
    checkpoint: Union[Mapping[str, Any], str, _Path, None] = None,
    registry: Optional[_Path] = None,
) -> VerifyReport:
    """Verifies an evidence directory or bundle, offline, with trusted ``keys`` (paths or
    PEM text; else the log's own, which proves consistency, not who signed). Votes and
    overrides that do not count (judged by ``registry`` if given) are listed in
    ``uncounted`` (exit code 5)."""

def verify_jsonl(
    path: _Path,
    *,
    keys: Union[_Path, Sequence[_Path]],
    checkpoint: Union[Mapping[str, Any], str, _Path, None] = None,
) -> VerifyReport:
    """Verifies a bare JSONL log with trusted keys."""

def export_log(evidence: _Path, out: _Path, *, format: str = "bundle") -> int:
    """Exports a log as "bundle", "jsonl" or "csv"; returns the record count."""

def replay(path: _Path, policy: _PolicyArg) -> Dict[str, Any]:
    """Re-decides every recorded decision under ``policy``; writes nothing."""

def run_policy_tests(policy: _PolicyArg, tests: _Path) -> Dict[str, Any]:
    """Runs a policy test file against ``policy``: passed, failed, cases, unexercised."""

def sign_vote(
    key: _Path, request: Mapping[str, Any], verdict: str, approver: str, reason: str = ""
) -> Dict[str, str]:
    """Signs a vote on ``request`` (from ``Governor.approval``) with the approver's
    private key, for ``Governor.vote``."""

def generate_key(path: _Path) -> str:
    """Generates an Ed25519 key at ``path`` (+ ``.pub``); returns its id."""

def canonicalize(obj: Any) -> str:
    """The RFC 8785 canonical JSON form of a JSON-compatible value."""

def output_digest(data: Union[bytes, str]) -> str:
    """The ``sha256:`` digest recorded for an output."""

def verify_signature(public_key: str, message: Union[bytes, str], signature: str) -> bool:
    """Whether ``signature`` (lower-case hex) of ``message`` by ``public_key`` (lower-case hex) holds under the strict Ed25519 rule."""
