"""The shared cross-language vectors in spec/vectors, run through the Python package."""

from __future__ import annotations

import json
import struct

import pytest

import lumenflow
from conftest import VECTORS

DECIDE = json.loads((VECTORS / "decide.json").read_text())
CASES = [
    pytest.param(suite, case, id=f"{suite['name']}/{case['name']}")
    for suite in DECIDE["suites"]
    for case in suite["cases"]
]


def test_there_are_enough_decision_vectors():
    assert len(CASES) >= 30


@pytest.mark.parametrize("suite,case", CASES)
def test_decision_vector(suite, case):
    policies = lumenflow.PolicySet.from_yaml(*suite["policies"], origin="vector")
    d = policies.decide(case["action"], context=case["context"])
    e = case["expect"]
    assert d.effect == e["effect"], d.to_dict()
    assert d.decided_by == e["decided_by"]
    assert [list(r) for r in d.deciding_rules] == e["deciding_rules"]
    assert len(d.errors) == e["errors"], d.errors
    assert len(d.warnings) == e["warnings"], d.warnings
    if "approvers" in e:
        assert d.approvers == e["approvers"]
    assert d.allowed == (e["effect"] == "allow")
    # The plain-data form says the same.
    data = d.to_dict()
    assert data["effect"] == e["effect"]
    assert [[r["policy"], r["rule"]] for r in data["deciding_rules"]] == e["deciding_rules"]


def test_decision_vectors_with_keyword_arguments():
    """The same actions given as keyword arguments decide the same way."""
    compared = 0
    for suite in DECIDE["suites"]:
        policies = lumenflow.PolicySet.from_yaml(*suite["policies"], origin="vector")
        for case in suite["cases"]:
            a = case["action"]
            if not isinstance(a, dict) or set(a) - {
                "tool", "args", "actor", "session", "run", "metadata", "cost", "tokens"
            } or not isinstance(a.get("tool"), str):
                continue
            if any(k in a and not isinstance(a[k], str) for k in ("session", "run")):
                continue
            by_dict = policies.decide(a, context=case["context"])
            by_kwargs = policies.decide(**a, context=case["context"])
            assert by_kwargs.effect == by_dict.effect, case["name"]
            assert by_kwargs.deciding_rules == by_dict.deciding_rules, case["name"]
            compared += 1
    assert compared >= 25


EVIDENCE = VECTORS / "evidence"
RECORDS = json.loads((EVIDENCE / "records.json").read_text())
VERDICTS = json.loads((EVIDENCE / "tampered" / "verdicts.json").read_text())["cases"]


def test_verdict_vectors_are_all_there():
    assert len(VERDICTS) >= 9


@pytest.mark.parametrize("case", VERDICTS, ids=[c["file"] for c in VERDICTS])
def test_tampered_log_verdict(case):
    report = lumenflow.verify_jsonl(
        EVIDENCE / case["file"],
        keys=[RECORDS["public_key_pem"]],
        checkpoint=EVIDENCE / "checkpoint.json",
    )
    assert report.exit_code == case["exit_code"], report.to_dict()
    assert report.broken_seq == case["broken_seq"], report.to_dict()
    assert report.valid == (case["exit_code"] == 0)
    assert (report.integrity == "broken") == (case["broken_seq"] is not None)


def test_vector_log_verifies_and_counts_its_records():
    report = lumenflow.verify_jsonl(
        EVIDENCE / "log.jsonl",
        keys=RECORDS["public_key_pem"],
        checkpoint=(EVIDENCE / "checkpoint.json").read_text(),
    )
    assert report.valid and report.exit_code == 0
    assert report.records == len(RECORDS["records"])
    assert report.completeness == "complete"
    assert report.kinds == {"decision": 2, "outcome": 1, "recovery": 1}


def test_vector_log_with_the_other_key_only_is_unknown_key():
    report = lumenflow.verify_jsonl(
        EVIDENCE / "log.jsonl", keys=[RECORDS["other_public_key_pem"]]
    )
    assert report.exit_code == 3
    assert report.unknown_keys == [RECORDS["key_id"]]
    assert report.completeness == "unchecked"


def test_vector_records_are_canonical():
    """Each record's attested bytes are already canonical: canonicalising them again
    gives the same text, and the log's lines are the records in canonical form."""
    lines = (EVIDENCE / "log.jsonl").read_text().splitlines()
    for r, line in zip(RECORDS["records"], lines):
        attested = r["attested_canonical"]
        assert lumenflow.canonicalize(json.loads(attested)) == attested
        assert lumenflow.canonicalize(json.loads(line)) == line


RFC = VECTORS / "rfc8785"
RFC_NAMES = sorted(p.name for p in (RFC / "input").iterdir())


def test_rfc8785_vectors_are_all_there():
    assert len(RFC_NAMES) == 6


@pytest.mark.parametrize("name", RFC_NAMES)
def test_rfc8785_vector(name):
    value = json.loads((RFC / "input" / name).read_bytes())
    got = lumenflow.canonicalize(value).encode("utf-8")
    assert got == (RFC / "output" / name).read_bytes()
    hexed = "".join((RFC / "outhex" / name.replace(".json", ".txt")).read_text().split())
    assert got.hex() == hexed.lower()


def test_rfc8785_number_corpus():
    checked = 0
    for i, line in enumerate((RFC / "numbers.txt").read_text().splitlines()):
        bits, expected = line.split(",")
        (f,) = struct.unpack(">d", bytes.fromhex(bits.rjust(16, "0")))
        if f != f or f in (float("inf"), float("-inf")):
            continue
        assert lumenflow.canonicalize(f) == expected, f"line {i + 1}: {bits}"
        checked += 1
    assert checked >= 19_000
