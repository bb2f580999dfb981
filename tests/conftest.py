"""Fixtures shared by the whole suite."""

from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT.parent / "shared" / "vectors"

# A test that depends on luck is a defect, so the suite's property tests draw the same
# examples on every run ("gate": derandomized from each test's name and source, no example
# database): a failure is a failure on every machine, never a draw CI happens to make. They
# still explore - each test tries its max_examples generated inputs, boundaries first - and
# every counterexample found is kept as an @example. Nor do they depend on the machine's
# speed: no per-example deadline and no "too slow" health check (a shared 2-core machine
# under load would fail them at random). To look for new counterexamples, run
# `python -m pytest --hypothesis-profile=explore tests/...` (fresh random draws, 10x the
# examples where a test sets none, failures kept in /tmp for replay).
_STEADY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("gate", _STEADY, derandomize=True, database=None)
settings.register_profile(
    "explore",
    _STEADY,
    derandomize=False,
    max_examples=1000,
    database=DirectoryBasedExampleDatabase("/tmp/printpharm-hypothesis"),
)
settings.load_profile("gate")
# Site keys of the whole run in one private folder, set before any fixture (session-scoped
# templates create keys too); never the user's key folder.
os.environ["PRINTPHARM_KEY_DIR"] = tempfile.mkdtemp(prefix="printpharm-test-keys-")
# Likewise the anchor log of session-scoped templates (each test then gets its own, below):
# a session fixture is made before the per-test fixture sets the variable.
os.environ["PRINTPHARM_ANCHOR_LOG"] = str(
    Path(tempfile.mkdtemp(prefix="printpharm-test-anchors-")) / "anchors.jsonl"
)

# Qt tests run offscreen unless a caller chose a platform (e.g. xcb under Xvfb).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def load_vectors(name: str) -> dict[str, Any]:
    """Load one of ``../shared/vectors/*.json`` with exact decimals, or skip."""
    path = VECTORS / name
    if not path.is_file():
        pytest.skip(
            f"reference vectors not found at {path} (the shared/ folder sits beside the clone)"
        )
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh, parse_float=Decimal)
    return data


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The repository root (holds inks/, recipes/, gcode/)."""
    return ROOT


@pytest.fixture(autouse=True)
def _site_key_and_anchor_paths(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Site keys and anchor logs in the test run's folders (never the user's).

    Key files are named by fingerprint, so one folder serves the whole run (session
    templates made with a key are opened by later tests); each test gets its own anchor log.
    """
    folder = tmp_path_factory.mktemp("trust")
    monkeypatch.setenv("PRINTPHARM_ANCHOR_LOG", str(folder / "anchors.jsonl"))


@pytest.fixture(autouse=True)
def _fast_password_hashing_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let in-process tests hash with tiny argon2 costs (``PRINTPHARM_ARGON2=1,8,1``).

    Production's floor (``passwords.HASHER_FLOOR``) cannot be lowered by the
    environment; only this test-only fixture replaces the object. Subprocesses
    started by tests keep the real floor.
    """
    from printpharm.services.access import passwords

    monkeypatch.setattr(passwords, "HASHER_FLOOR", passwords.HasherConfig(1, 8, 1))
