"""The type stubs match the compiled module (mypy's stubtest), and typed user code passes
`mypy --strict` against the installed package."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("mypy")

HERE = pathlib.Path(__file__).parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, cwd=HERE / "typed"
    )


def test_stubs_match_the_extension_module():
    r = run("mypy.stubtest", "lumenflow")
    assert r.returncode == 0, r.stdout + r.stderr


def test_typed_example_passes_mypy_strict():
    r = run("mypy", "--strict", "--no-incremental", "example.py")
    assert r.returncode == 0, r.stdout + r.stderr


def test_package_is_typed():
    import lumenflow

    assert (pathlib.Path(lumenflow.__file__).parent / "py.typed").exists()


def test_package_passes_mypy_strict():
    r = run("mypy", "--strict", "--no-incremental", "-p", "lumenflow")
    assert r.returncode == 0, r.stdout + r.stderr
