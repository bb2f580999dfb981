"""The patient label as a PDF page the size of the label (reportlab, base-14 fonts).

The text is laid out top down (a NOT FOR PATIENT USE banner first where it
applies), the GS1 DataMatrix sits in the bottom right corner with its
human-readable interpretation under it; each dark module is one filled
rectangle of 0.5 mm. The page is written uncompressed with Helvetica so that
the label's text can be read back from the file.
"""

from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from printpharm.services.records._datamatrix import gs1_datamatrix
from printpharm.services.records.label_content import LABEL_WIDTHS_MM, LabelContent

__all__ = ["MODULE_MM", "render_label_pdf"]

#: Size of one DataMatrix module on the label (mm): readable by any 2-D scanner.
MODULE_MM = 0.5
_MARGIN = 3 * mm
_RED = colors.HexColor("#b00020")


class _Writer:
    """Writes wrapped lines from the top of the label down."""

    def __init__(self, canvas: Canvas, width: float, top: float) -> None:
        self.c, self.width, self.y = canvas, width, top

    def text(
        self, value: str, size: float = 8, bold: bool = False, width: float | None = None
    ) -> None:
        font = "Helvetica-Bold" if bold else "Helvetica"
        self.c.setFont(font, size)
        for line in _wrap(value, font, size, width or self.width):
            self.y -= size * 1.2
            self.c.drawString(_MARGIN, self.y, line)
        self.y -= size * 0.25


def _wrap(value: str, font: str, size: float, width: float) -> list[str]:
    """Lines of ``value`` no wider than ``width``; a word longer than a line (an ID) is cut."""
    lines: list[str] = []
    for line in simpleSplit(value, font, size, width):
        while stringWidth(line, font, size) > width and len(line) > 1:
            cut = len(line)
            while cut > 1 and stringWidth(line[:cut], font, size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines


def render_label_pdf(content: LabelContent, width_mm: int) -> bytes:
    """One label, ``width_mm`` wide (62 or 102 mm roll), as PDF bytes."""
    page_w, page_h = width_mm * mm, LABEL_WIDTHS_MM[width_mm] * mm
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=(page_w, page_h), pageCompression=0, invariant=1)
    c.setTitle(f"Label {content.batch_id}")
    c.setAuthor("printpharm")
    inner = page_w - 2 * _MARGIN
    top = page_h - _MARGIN
    if content.banner:
        c.setFillColor(_RED)
        c.rect(_MARGIN, top - 7 * mm, inner, 7 * mm, fill=1, stroke=0)
        c.setFillColor(colors.white)
        c.setFont("Helvetica-Bold", 11)
        c.drawCentredString(page_w / 2, top - 5 * mm, content.banner)
        c.setFillColor(colors.black)
        top -= 8 * mm
    w = _Writer(c, inner, top)
    w.text(f"Patient: {content.patient}", 9, bold=True)
    w.text(content.drug_line, 10, bold=True)
    w.text(f"{content.units} units", 9)
    w.text(f"Directions: {content.directions}", 8)
    w.text(f"Use before (beyond-use date): {content.beyond_use.date.isoformat()}", 9, bold=True)
    symbol = gs1_datamatrix(content.gs1)
    side = symbol.width * MODULE_MM * mm
    narrow = inner - side - 2 * mm  # text beside the symbol at the bottom
    w.text(content.storage, 7, width=narrow if w.y - 3 * 8 < side + _MARGIN else None)
    for warning in content.warnings:
        colour = _RED if "CYTOTOXIC" in warning or "NOT FOR PATIENT" in warning else colors.black
        c.setFillColor(colour)
        w.text(warning, 7.5, bold=True, width=narrow)
        c.setFillColor(colors.black)
    w.text(f"Batch {content.batch_id}", 6.5, width=narrow)
    w.text(content.gs1_text, 5, width=narrow)
    _draw_symbol(c, symbol, page_w - _MARGIN - side, _MARGIN)
    c.showPage()
    c.save()
    return buffer.getvalue()


def _draw_symbol(c: Canvas, symbol: object, x0: float, y0: float) -> None:
    from printpharm.services.records._datamatrix import Symbol

    assert isinstance(symbol, Symbol)
    step = MODULE_MM * mm
    top = y0 + symbol.height * step
    for x, y, w, h in symbol.modules:  # y runs down in the grid, up on the page
        c.rect(x0 + x * step, top - (y + h) * step, w * step, h * step, fill=1, stroke=0)
