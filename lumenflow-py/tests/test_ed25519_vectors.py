"""C2SP's Ed25519 edge-case vectors (spec/vectors/ed25519-cctv/) under the strict rule,
through the Python package: as the core's tests/ed25519_vectors.rs."""

from __future__ import annotations

import json

import lumenflow
from conftest import VECTORS

CCTV = json.loads((VECTORS / "ed25519-cctv" / "ed25519vectors.json").read_text())
MIXED_ORDER = {"low_order_component_A", "low_order_component_R"}


def test_every_vector_gets_the_strict_verdict() -> None:
    assert len(CCTV) == 914
    verdicts = []
    for v in CCTV:
        expected = set(v["flags"] or []) <= MIXED_ORDER
        got = lumenflow.verify_signature(v["key"], v["msg"].encode(), v["sig"])
        assert got is expected, f"vector {v['number']} {v['flags']}"
        assert lumenflow.verify_signature(v["key"], v["msg"], v["sig"]) is expected
        verdicts.append(got)
    assert any(verdicts) and not all(verdicts)


def test_upper_case_or_signed_hex_never_verifies() -> None:
    good = next(v for v in CCTV if v["flags"] is None)
    key, msg, sig = good["key"], good["msg"], good["sig"]
    assert lumenflow.verify_signature(key, msg, sig)
    assert not lumenflow.verify_signature(key, msg, sig.upper())
    assert not lumenflow.verify_signature(key.upper(), msg, sig)
    assert not lumenflow.verify_signature(key, msg, "+" + sig[1:])
    assert not lumenflow.verify_signature(key, msg + "x", sig)
