"""The batch record's alarm register: every alarm with who acknowledged it, when and why.

Private to ``_batch_pdf``. An alarm nobody acknowledged is printed in red: the
batch cannot be reviewed, released or rejected until it is acknowledged.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib import colors

from printpharm.services.records._pdf_parts import _RED, _heading, _p, _table, _time
from printpharm.services.records.record_view import BatchRecordView

__all__ = ["acknowledgements_section"]


def acknowledgements_section(v: BatchRecordView) -> list[Any]:
    """The register (empty when the batch raised no alarm)."""
    if not v.alarm_register:
        return []
    open_ = len(v.unacknowledged_alarms)
    summary = (
        f"{len(v.alarm_register)} alarm(s) and warning(s) stored; "
        + (f"{open_} NOT ACKNOWLEDGED: the batch cannot be reviewed, released or rejected."
           if open_ else "every one acknowledged with a reason by a named person.")
    )  # fmt: skip
    rows: list[Any] = [("#", "Raised (UTC)", "Kind", "Action", "Message", "Acknowledgement")]
    for a in v.alarm_register:
        color = colors.black if a.acknowledged else _RED
        rows.append(
            (a.alarm_id, _time(a.raised_at.isoformat()), a.label, a.severity,
             _p(a.message, 6.5), _p(a.ack_text(), 6.5, not a.acknowledged, color))
        )  # fmt: skip
    return [
        _heading("4a. Alarm acknowledgements"),
        _p(summary, 8, bool(open_), _RED if open_ else colors.black),
        _table(rows, (8, 27, 25, 13, 52, 55)),
    ]
