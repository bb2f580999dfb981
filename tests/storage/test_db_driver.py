"""A database whose driver cannot be loaded is one clear DatabaseUnavailable, not a crash.

The standalone bundle carries psycopg's Python part but not psycopg_binary: a
workstation pointed at PostgreSQL without the system's libpq gets this message.
"""

from __future__ import annotations

import sys

import pytest

from printpharm.errors import DatabaseUnavailable
from printpharm.storage.db import Database


def test_a_missing_postgresql_driver_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it could not be imported
    with pytest.raises(DatabaseUnavailable, match="postgresql driver cannot be loaded") as info:
        Database("postgresql+psycopg://printpharm@127.0.0.1:1/none")
    assert "apt-get install libpq5" in str(info.value)
