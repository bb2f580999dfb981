"""The patient label in ZPL II for Zebra-compatible thermal printers (203 dpi).

Text fields wrap in ``^FB`` blocks and are written with ``^FH`` hexadecimal
escapes for the characters ZPL reserves (``^``, ``~``, ``\\``); ``^CI28`` selects
UTF-8. The GS1 DataMatrix is the printer's own ``^BX`` symbol at quality 200
(ECC 200) with the escape character set explicitly to ``_`` (firmware defaults
differ): ``_1`` is FNC1, first and after each variable-length element that is
not the last; an underscore in the data is written ``__``.
"""

from __future__ import annotations

from printpharm.core.labelling import GS1Element
from printpharm.services.records.label_content import LABEL_WIDTHS_MM, LabelContent

__all__ = ["DOTS_PER_MM", "gs1_field_data", "render_zpl"]

#: 203 dpi printers: 8 dots per mm.
DOTS_PER_MM = 8
_MODULE_DOTS = 4  # 0.5 mm modules


def _hex(text: str) -> str:
    return "".join(f"\\{ord(ch):02X}" if ch in "^~\\" else ch for ch in text)


def gs1_field_data(elements: tuple[GS1Element, ...]) -> str:
    """``^FD`` data of the ``^BX`` symbol: ``_1`` + AI + value, ``_1`` after variable fields."""
    parts = ["_1"]
    for i, e in enumerate(elements):
        parts.append(e.ai + e.value.replace("_", "__"))
        if not e.fixed and i != len(elements) - 1:
            parts.append("_1")
    return "".join(parts)


def render_zpl(content: LabelContent, width_mm: int) -> str:
    """One label, ``width_mm`` wide (62 or 102 mm roll), as a ZPL II format."""
    width, length = width_mm * DOTS_PER_MM, LABEL_WIDTHS_MM[width_mm] * DOTS_PER_MM
    margin = 3 * DOTS_PER_MM
    block = width - 2 * margin
    out = ["^XA", "^CI28", f"^PW{width}", f"^LL{length}", "^LH0,0"]
    y = margin
    if content.banner:
        out.append(f"^FO{margin},{y}^GB{block},{7 * DOTS_PER_MM},{7 * DOTS_PER_MM}^FS")
        out.append(
            f"^FO{margin},{y + 14}^FR^A0N,36,32^FB{block},1,,C^FH\\^FD{_hex(content.banner)}^FS"
        )
        y += 8 * DOTS_PER_MM
    lines = [
        (f"Patient: {content.patient}", 26, 1),
        (content.drug_line, 28, 2),
        (f"{content.units} units", 24, 1),
        (f"Directions: {content.directions}", 22, 3),
        (f"Use before (beyond-use date): {content.beyond_use.date.isoformat()}", 24, 1),
        (content.storage, 18, 3),
        *((w, 20, 2) for w in content.warnings),
        (f"Batch {content.batch_id}", 16, 2),
    ]
    symbol_dots = 36 * _MODULE_DOTS
    for text, height, max_lines in lines:
        narrow = y + height * max_lines > length - symbol_dots - margin
        field = block - symbol_dots - DOTS_PER_MM if narrow else block
        out.append(
            f"^FO{margin},{y}^A0N,{height},{height}^FB{field},{max_lines},2,L"
            f"^FH\\^FD{_hex(text)}^FS"
        )
        y += (height + 2) * max_lines
    x = width - margin - symbol_dots
    out.append(
        f"^FO{x},{length - margin - symbol_dots}^BXN,{_MODULE_DOTS},200,,,,_"
        f"^FD{gs1_field_data(content.gs1)}^FS"
    )
    out.append("^XZ")
    return "\n".join(out) + "\n"
