"""Work around a reference-count bug of PySide6 6.12 on Python 3.11.

Why: PySide6 6.12.0 (abi3 wheels) returns ``None`` from every void Qt method,
and ``True`` from ``SignalInstance.emit()``, without taking a reference —
correct on Python ≥ 3.12, where these singletons are immortal, but on
Python 3.11 each call *steals* one reference. After some tens of thousands of
calls (a print run, an idle session's heartbeat) the count reaches zero and the
interpreter aborts ("Fatal Python error: none_dealloc" / "bool_dealloc"),
possibly in the middle of a batch.

The singletons are never freed in a healthy interpreter, so giving them a
very large number of extra references is harmless and makes the stolen ones
irrelevant. :func:`repair_singleton_refcounts` measures whether this Qt build
steals references and, only then, adds them. The proper fix is a PySide6
release that does not steal (or Python ≥ 3.12); this module is then a no-op.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

__all__ = ["repair_singleton_refcounts"]

#: References added to each singleton: ~1e12 Qt calls before the count could run out.
_EXTRA_REFS = 1 << 40
_PROBE_CALLS = 64
_repaired = False


class _Probe(QObject):
    ping = Signal()


def _stolen_per_call() -> dict[object, bool]:
    """Which singletons a few Qt calls lose references of (measured, not assumed)."""
    probe = _Probe()
    before = {obj: sys.getrefcount(obj) for obj in (None, True, False)}
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")  # a void method: returns None
        probe.ping.emit()  # returns True
    after = {obj: sys.getrefcount(obj) for obj in (None, True, False)}
    return {obj: before[obj] - after[obj] >= _PROBE_CALLS // 2 for obj in before}


def repair_singleton_refcounts() -> bool:
    """Give ``None``/``True``/``False`` spare references if this PySide6 build steals them.

    Returns
    -------
    bool
        Whether a repair was made now. ``False`` on Python ≥ 3.12, with a PySide6 that
        does not steal references, or when an earlier call already repaired them.
    """
    global _repaired
    if _repaired or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    stolen = _stolen_per_call()
    repaired = False
    for obj, steals in stolen.items():
        if steals:
            # ob_refcnt is the first field (Py_ssize_t) of every CPython 3.11 object.
            ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA_REFS
            repaired = True
    _repaired = repaired
    return repaired
