"""The building blocks of printpharm's PDFs (reportlab): fonts, paragraphs, tables, headings.

Shared by the batch record (:mod:`._batch_pdf` and its sections) and the audit
trail export (:mod:`._audit_pdf`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, Table
from reportlab.platypus import TableStyle as TS

__all__ = [
    "_BOLD", "_FONT", "_GREEN", "_GREY", "_RED", "_esc", "_fonts", "_heading", "_p", "_pairs",
    "_style", "_table", "_time",
]  # fmt: skip

_FONT, _BOLD = "PPVera", "PPVera-Bold"
_REPLACE = {"→": "->", "Δ": "delta ", "✓": "ok", "\u2009": " "}
_RED, _GREEN, _GREY = (
    colors.HexColor("#b00020"),
    colors.HexColor("#1b5e20"),
    colors.HexColor("#eeeeee"),
)


def _fonts() -> None:
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_FONT, "Vera.ttf"))
        pdfmetrics.registerFont(TTFont(_BOLD, "VeraBd.ttf"))


def _style(size: float = 8, bold: bool = False, color: Any = colors.black) -> ParagraphStyle:
    return ParagraphStyle(
        "s", fontName=_BOLD if bold else _FONT, fontSize=size, leading=size * 1.25,
        alignment=TA_LEFT, textColor=color,
    )  # fmt: skip


def _esc(value: Any) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    for a, b in _REPLACE.items():
        text = text.replace(a, b)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _p(value: Any, size: float = 8, bold: bool = False, color: Any = colors.black) -> Paragraph:
    return Paragraph(_esc(value), _style(size, bold, color))


def _table(
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    header: bool = True,
    size: float = 7.5,
    split_rows: bool = False,
) -> Table:
    """A gridded table; ``split_rows`` lets a row taller than a page continue on the next."""
    cells = [
        [c if isinstance(c, Paragraph) else _p(c, size, header and i == 0) for c in row]
        for i, row in enumerate(rows)
    ]
    table = Table(
        cells,
        colWidths=[w * mm for w in widths],
        repeatRows=1 if header else 0,
        splitInRow=1 if split_rows else 0,
    )
    style = [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), _GREY))
    table.setStyle(TS(style))
    return table


def _pairs(items: Iterable[tuple[str, Any]], widths: tuple[float, float] = (45, 135)) -> Table:
    return _table([(k, v) for k, v in items], widths, header=False)


def _heading(text: str) -> Paragraph:
    return Paragraph(_esc(text), _style(10.5, bold=True))


def _time(value: Any) -> str:
    text = str(value or "")
    return text[:19].replace("T", " ") if len(text) >= 19 else _esc(value)
