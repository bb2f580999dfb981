"""Fixtures shared by the whole suite."""

from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT.parent / "shared" / "vectors"

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
