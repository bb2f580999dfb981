"""One workstation name for every way into the records (CLI, GUI, federation)."""

from __future__ import annotations

import socket

import pytest

from printpharm.services.access.context import WORKSTATION_ENV, audit_context, workstation_name
from printpharm.services.records import federation
from printpharm.services.station import records_app


def test_the_environment_names_the_workstation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKSTATION_ENV, "dispensary-2")
    assert workstation_name() == "dispensary-2"
    assert audit_context().workstation == "dispensary-2"
    # federation used to ignore the variable and write the host name
    assert federation._context(None).workstation == "dispensary-2"
    assert records_app._context(None).workstation == "dispensary-2"


def test_without_the_environment_the_host_name_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKSTATION_ENV, raising=False)
    assert workstation_name() == (socket.gethostname() or "unknown")
    assert federation._context("ws-7").workstation == "ws-7"
