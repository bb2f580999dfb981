"""The human-readable audit trail export (A4 landscape PDF); private to ``audit_export``.

Every field of each event is printed: old and new values in full (canonical
JSON) and the event's own hash in full (each event's previous hash is the row
above's), so the printout is the record and not a summary.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import SimpleDocTemplate, Spacer

from printpharm import __version__
from printpharm.services.access.site_trust import HeadStamp
from printpharm.services.records._pdf_parts import _FONT, _esc, _fonts, _p, _table
from printpharm.storage.audit import AuditEvent

__all__ = ["render_audit_pdf"]

_HEADER = ("Seq", "Time (UTC) / zone", "User", "Action / mode", "Record", "Reason",
           "Old value", "New value", "Where / versions", "Event hash (SHA-256)")  # fmt: skip
_WIDTHS = (9, 24, 24, 20, 28, 24, 38, 52, 24, 26)


def _row(e: AuditEvent) -> tuple[Any, ...]:
    record = f"{e.record_type} {e.record_id or ''}".strip()
    if e.field:
        record += f" · {e.field}"
    if e.batch_id and e.batch_id != e.record_id:
        record += f" (batch {e.batch_id})"
    user = f"{e.user_id} — {e.user_name}" if e.user_id else "system"
    setback = " · clock set back" if e.clock_setback else ""
    return (
        e.seq,
        f"{e.occurred_at} {e.local_tz}{setback}",
        user,
        f"{e.action} · {e.mode}",
        record,
        e.reason or "",
        e.old_value or "",
        e.new_value or "",
        f"{e.workstation} · app {e.app_version} · config {e.config_version}",
        e.event_hash,
    )


def render_audit_pdf(
    events: Sequence[AuditEvent], filters: str, who: str, now: str, head: HeadStamp
) -> bytes:
    """Render ``events`` as an A4 landscape table with a header naming the selection.

    The header names the chain head the export was made at and the site key fingerprint.
    """
    _fonts()
    buffer = io.BytesIO()
    page = landscape(A4)
    doc = SimpleDocTemplate(
        buffer, pagesize=page, leftMargin=10 * mm, rightMargin=10 * mm, topMargin=16 * mm,
        bottomMargin=14 * mm, title="Audit trail export", author="printpharm",
        subject="audit trail", invariant=1,
    )  # fmt: skip
    footer = f"printpharm {__version__} · exported {now} by {who} · {filters}"

    def decorate(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(_FONT, 7.5)
        width, height = page
        canvas.drawString(10 * mm, height - 10 * mm, "Audit trail export")
        canvas.drawRightString(width - 10 * mm, height - 10 * mm, f"page {document.page}")
        canvas.drawString(10 * mm, 8 * mm, _esc(footer).replace("&amp;", "&"))
        canvas.restoreState()

    table = _table([_HEADER, *(_row(e) for e in events)], _WIDTHS, size=5.5)
    table.splitInRow = 1  # a value longer than a page (a batch's full header) continues overleaf
    first, last = (events[0].seq, events[-1].seq) if events else (None, None)
    story: list[Any] = [
        _p("Audit trail export", 15, True),
        _p(
            f"Selection: {filters}. {len(events)} events"
            + (f", sequence {first} to {last}." if events else ".")
        ),  # fmt: skip
        _p(
            f"Exported {now} by {who}. Values are canonical JSON as stored; "
            "each hash chains to the row above."
        ),
        _p(f"This export was {head.line()}."),
        Spacer(1, 3 * mm),
        table,
    ]
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
