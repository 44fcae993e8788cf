"""Policy test files (spec/policy-tests.md) run from Python, as `lumenflow test` does."""

from __future__ import annotations

import pytest

import lumenflow
from conftest import EXAMPLE_POLICY

EXAMPLE_TESTS = EXAMPLE_POLICY.with_name("software-delivery.tests.yaml")


def test_the_example_policy_passes_its_own_tests():
    report = lumenflow.run_policy_tests(EXAMPLE_POLICY, EXAMPLE_TESTS)
    assert report["failed"] == 0, [c for c in report["cases"] if c["failure"]]
    assert report["passed"] == len(report["cases"]) >= 10
    assert all(c["effect"] == c["expect"] for c in report["cases"])


def test_a_wrong_expectation_fails_and_says_why(tmp_path, agent_policy):
    tests = tmp_path / "agent.tests.yaml"
    tests.write_text(
        "cases:\n"
        "  - name: reads are allowed\n    action: {tool: read}\n    expect: allow\n"
        "  - name: wrongly expected\n    action: {tool: bash, args: {command: 'git push -f'}}\n"
        "    expect: allow\n"
    )
    report = lumenflow.run_policy_tests(agent_policy, tests)
    assert (report["passed"], report["failed"]) == (1, 1)
    bad = report["cases"][1]
    assert bad["effect"] == "deny" and bad["failure"]
    assert bad["deciding_rules"] == [["agent", "no-force-push"]]
    assert ["agent", "http-needs-approval"] in report["unexercised"]


def test_a_broken_test_file_is_a_policy_error(tmp_path, agent_policy):
    tests = tmp_path / "bad.tests.yaml"
    tests.write_text("cases: 7\n")
    with pytest.raises(lumenflow.PolicyError, match="bad.tests.yaml"):
        lumenflow.run_policy_tests(agent_policy, tests)
