"""A batch record rendered in one of the export formats (PDF, CSV, JSON), as bytes.

The PDF renderer (reportlab) is imported on use: listing or showing records
does not load it.
"""

from __future__ import annotations

import json

from printpharm.services.records._batch_csv import record_to_csv
from printpharm.services.records.record_json import record_to_json
from printpharm.services.records.record_view import BatchRecordView

__all__ = ["render_record"]


def render_record(view: BatchRecordView, fmt: str) -> bytes:
    """The record in ``fmt`` (``json``, ``csv``, else ``pdf``)."""
    if fmt == "json":
        return (json.dumps(record_to_json(view), indent=2, ensure_ascii=False) + "\n").encode()
    if fmt == "csv":
        return record_to_csv(view).encode("utf-8")
    from printpharm.services.records._batch_pdf import render_pdf  # reportlab: on use

    return render_pdf(view)
