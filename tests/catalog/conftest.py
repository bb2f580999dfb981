"""Fixtures for catalog tests: a writable copy of the shipped data root."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from printpharm.catalog.loader import KIND_DIRS


@pytest.fixture
def data_root(tmp_path: Path, project_root: Path) -> Path:
    """A copy of the shipped inks/, recipes/ and gcode/printers/ that a test may edit."""
    for sub in KIND_DIRS.values():
        shutil.copytree(project_root / sub, tmp_path / sub)
    return tmp_path


def edit(root: Path, rel: str, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``root/rel`` by ``new``."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")
