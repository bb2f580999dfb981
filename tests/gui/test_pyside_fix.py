"""The PySide6 6.12 / Python 3.11 reference-count workaround keeps None and True alive."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QWidget

from printpharm.gui import _pyside_fix

pytestmark = pytest.mark.gui


def test_many_void_calls_and_emits_leave_the_singletons_alive(qtbot) -> None:  # type: ignore[no-untyped-def]
    stolen = _pyside_fix._stolen_per_call()
    if not any(stolen.values()):
        pytest.skip("this PySide6 build does not steal references; nothing to repair")
    assert sys.version_info < (3, 12)
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for _ in range(50_000):
        widget.setEnabled(True)  # void: steals a reference to None on the broken build
    assert before - sys.getrefcount(None) >= 50_000  # the bug is real here...
    assert sys.getrefcount(None) > 1 << 39  # ...and the spare references absorb it
    assert sys.getrefcount(True) > 1 << 39
