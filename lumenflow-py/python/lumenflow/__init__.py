"""LumenFlow: policy and evidence for AI agents.

An agent proposes a tool call; a policy of CEL rules decides it (allow, deny or require
approval) and a :class:`Governor` records every decision and outcome as signed,
hash-chained evidence before anything runs. Everything is decided by the Rust core
(``lumenflow-core``); this package only translates.

>>> import lumenflow
>>> gov = lumenflow.Governor(policy="policy.yaml", evidence="./evidence",
...                          key="agent.key", context={"worktree": "/repo"})
>>> d = gov.decide(tool="bash", args={"command": "ls"}, actor="agent-7", session="s-1")
>>> if d.allowed:
...     gov.record(d, "success", output=run())

Every error is a :class:`Error`: the core's (its message intact) and, from a guarded
call that did not run, :class:`Denied`, :class:`BudgetExceeded` or
:class:`ApprovalRequired`, by the core's verdict (``Decision.verdict``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import time
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, TypeVar, Union

from ._lumenflow import (
    ActionError,
    ApprovalError,
    DaemonError,
    Decision,
    Error,
    EvidenceError,
    ManualClock,
    PolicyError,
    PolicySet,
    SigningKeyError,
    VerifyReport,
    __version__,
    canonicalize,
    export_log,
    generate_key,
    output_digest,
    replay,
    run_policy_tests,
    sign_vote,
    verify,
    verify_jsonl,
    verify_signature,
)
from ._lumenflow import Governor as _CoreGovernor
from ._lumenflow import RemoteGovernor as _CoreRemoteGovernor

__all__ = [
    "ActionError",
    "ApprovalError",
    "ApprovalRequired",
    "BudgetExceeded",
    "DaemonError",
    "Decision",
    "Denied",
    "Error",
    "EvidenceError",
    "Governor",
    "ManualClock",
    "PolicyError",
    "PolicySet",
    "RemoteGovernor",
    "SigningKeyError",
    "VerifyReport",
    "__version__",
    "canonicalize",
    "connect",
    "export_log",
    "generate_key",
    "output_digest",
    "replay",
    "run_policy_tests",
    "sign_vote",
    "verify",
    "verify_jsonl",
    "verify_signature",
]

F = TypeVar("F", bound=Callable[..., Any])
_Approver = Union[str, Mapping[str, Any]]


class Denied(Error):
    """A guarded call was denied by the policy and did not run; ``decision`` is the
    :class:`Decision` (its ``reason``, ``deciding_rules``, and ``id`` of the evidence record).
    """

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"{decision.effect}: {decision.reason}")
        self.decision = decision


class ApprovalRequired(Error):
    """A guarded call needs an approval first and did not run.

    ``decision`` is the :class:`Decision`; ``approvers`` who may approve; ``request_id``
    the approval request to pass to :meth:`Governor.approve`. Once approved, calling
    again with the same arguments (same actor and session) is allowed, once.
    """

    def __init__(self, decision: Decision, request_id: Optional[str] = None) -> None:
        super().__init__(
            f"approval required ({', '.join(decision.approvers) or 'no approver named'}): "
            f"{decision.reason}"
        )
        self.decision = decision
        self.request_id = decision.request_id if request_id is None else request_id
        self.approvers = list(decision.approvers)


class BudgetExceeded(Denied):
    """A guarded call was refused because a budget is exhausted (a kind of :class:`Denied`);
    ``decision.budgets`` says which budget and how much was spent."""


def _output_bytes(result: Any) -> Optional[bytes]:
    """What a guarded function's return value is digested as: bytes as they are, text as
    UTF-8, None as nothing, anything else as its canonical JSON (or its repr)."""
    if result is None:
        return None
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result)
    if isinstance(result, str):
        return result.encode("utf-8")
    try:
        return canonicalize(result).encode("utf-8")
    except Error:
        return repr(result).encode("utf-8", "replace")


_REFUSALS = {"approval_required": ApprovalRequired, "budget_exceeded": BudgetExceeded}


class _Guarded:
    """The ``guard`` decorator, shared by :class:`Governor` and :class:`RemoteGovernor`
    (it needs only their ``decide`` and ``record``)."""

    decide: Callable[..., Decision]
    record: Callable[..., str]

    def guard(
        self,
        tool: str,
        *,
        actor: Any = None,
        session: Optional[str] = None,
        run: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        context: Optional[Mapping[str, Any]] = None,
        cost: Any = None,
        tokens: Any = None,
    ) -> Callable[[F], F]:
        """Decorates a function (``def`` or ``async def``) as the tool ``tool``.

        Each call is decided first, with the call's arguments (bound to the function's
        parameters by name) as the action's ``args``. A refused call does not run and
        raises :class:`Denied`, :class:`BudgetExceeded` or :class:`ApprovalRequired`. An
        allowed call runs and its outcome is recorded: success with the digest of its
        return value and its duration, or failure with the exception's type and message,
        which is re-raised.

        ``cost`` and ``tokens`` (for budgets) are numbers, or callables given the call's
        ``args`` dict that return one. ``actor``, ``session``, ``run``, ``metadata`` and
        ``context`` are passed to :meth:`decide` as they are.
        """
        if not isinstance(tool, str):
            raise Error(f"guard: tool must be a str, not {type(tool).__name__}")

        def decorate(fn: F) -> F:
            sig = inspect.signature(fn)

            def decide(a: Tuple[Any, ...], kw: Dict[str, Any]) -> Decision:
                """Decides the call; raises unless allowed (the core closes a refusal)."""
                try:
                    bound = sig.bind(*a, **kw)
                except TypeError as e:
                    raise ActionError(f"invalid action: {tool}: {e}") from None
                bound.apply_defaults()
                args: Dict[str, Any] = {}
                for name, value in bound.arguments.items():
                    kind = sig.parameters[name].kind
                    if kind is inspect.Parameter.VAR_KEYWORD:
                        args.update(value)
                    elif kind is inspect.Parameter.VAR_POSITIONAL:
                        args[name] = list(value)
                    else:
                        args[name] = value
                decision = self.decide(
                    tool=tool,
                    args=args,
                    cost=cost(args) if callable(cost) else cost,
                    tokens=tokens(args) if callable(tokens) else tokens,
                    actor=actor,
                    session=session,
                    run=run,
                    metadata=metadata,
                    context=context,
                )
                if decision.verdict != "allow":
                    raise _REFUSALS.get(decision.verdict or "", Denied)(decision)
                return decision

            def outcome(decision: Decision, started: float, result: Any, e: Any) -> None:
                """Records a success (the digest of ``result``) or, with ``e``, a failure."""
                took = time.monotonic() - started
                if e is None:
                    self.record(decision, "success", output=_output_bytes(result), duration=took)
                else:
                    error = f"{type(e).__name__}: {e}"
                    self.record(decision, "failure", duration=took, error=error)

            if inspect.iscoroutinefunction(fn):

                @functools.wraps(fn)
                async def async_wrapper(*a: Any, **kw: Any) -> Any:
                    loop = asyncio.get_running_loop()
                    # decide and record wait for the evidence write: keep the loop free.
                    decision = await loop.run_in_executor(None, decide, a, kw)
                    started = time.monotonic()
                    try:
                        result = await fn(*a, **kw)
                    except BaseException as e:
                        await loop.run_in_executor(None, outcome, decision, started, None, e)
                        raise
                    await loop.run_in_executor(None, outcome, decision, started, result, None)
                    return result

                return async_wrapper  # type: ignore[return-value]

            @functools.wraps(fn)
            def wrapper(*a: Any, **kw: Any) -> Any:
                decision = decide(a, kw)
                started = time.monotonic()
                try:
                    result = fn(*a, **kw)
                except BaseException as e:
                    outcome(decision, started, None, e)
                    raise
                outcome(decision, started, result, None)
                return result

            return wrapper  # type: ignore[return-value]

        return decorate


class Governor(_Guarded, _CoreGovernor):
    """Decides tool calls under a policy and records signed evidence of each decision and
    outcome. Safe to share across threads; ``decide`` and ``record`` release the GIL.

    ``Governor(policy=..., evidence=..., key=..., context=None, durability=None,
    redact=None, host_approves=False, clock=None, trusted_keys=None, registry=None)``: ``policy`` is a path, a list of paths (layers)
    or a :class:`PolicySet`; ``evidence`` a directory (created if missing); ``key`` the
    path of a private key made by :func:`generate_key` or ``lumenflow keygen``;
    ``context`` what rules see as ``context`` unless a call gives its own;
    ``durability`` "group" (default), "sync" or "none"; ``redact`` field names never
    recorded (besides secrets); ``host_approves`` leaves require_approval decisions open
    for a host that asks its user itself, instead of opening LumenFlow approval requests;
    ``clock`` a :class:`ManualClock` for tests; ``trusted_keys`` other writers' public
    keys whose records count; ``registry`` an approver registry file (then a vote counts
    only if signed by a registered key, or attested with :meth:`attest` by a declared
    attester). Use it as a context manager, or call
    :meth:`close`, to close open decisions and checkpoint.
    """

    def approve(
        self, request: Union[Decision, str], approver: _Approver, reason: str = ""
    ) -> Dict[str, Any]:
        """Approves a request (a Decision's ``request_id``) as ``approver`` (an id, or
        ``{"id": ..., "roles": [...]}``); returns the request as it stands."""
        return self.vote(request, approver, "approve", reason)

    def reject(
        self, request: Union[Decision, str], approver: _Approver, reason: str = ""
    ) -> Dict[str, Any]:
        """Rejects a request (one reject closes it); returns the request as it stands."""
        return self.vote(request, approver, "reject", reason)


class RemoteGovernor(_Guarded, _CoreRemoteGovernor):
    """The :class:`Governor` API served by the daemon ``lumenflow serve`` over its Unix
    socket: made by :func:`connect`. The daemon holds the key, the policy and the
    evidence; this process only proposes, so an agent that runs as another OS user than
    the daemon cannot approve, rewrite or erase anything.

    ``decide``, ``record``, ``guard``, ``approval`` and ``approvals`` work as on the
    in-process Governor; the actor is who the kernel says this process is (``actor``),
    whatever an action claims. ``wait_for_approval(request, timeout)`` (and
    :meth:`wait_for_approval_async`) blocks until a person approves or rejects the
    request in the console, it expires, or ``timeout`` seconds pass, and returns the
    request as it then stands. ``log(session=None, limit=None)`` returns this actor's
    evidence records. Approving, overriding and keys are not served to agents: there is
    no method for them. Every failure to reach the daemon raises :class:`DaemonError`
    (do not run the action).
    """

    async def wait_for_approval_async(
        self, request: Union[Decision, str], timeout: float
    ) -> Dict[str, Any]:
        """:meth:`wait_for_approval` without blocking the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.wait_for_approval, request, timeout)


def connect(
    socket: Union[str, "os.PathLike[str]"], *, timeout: float = 10.0, session: Optional[str] = None
) -> RemoteGovernor:
    """Connects to the daemon's agent socket: a :class:`RemoteGovernor`, the same API as
    :class:`Governor`, so a program switches with one line. ``timeout`` bounds each call
    (seconds); ``session`` labels the connection (it groups, it never authorises)."""
    return RemoteGovernor(socket, timeout=timeout, session=session)
