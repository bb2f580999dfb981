"""Read a label PDF's DataMatrix back: rebuild the module grid from the page's rectangles, decode.

The label PDF is uncompressed and draws each dark module as one ``re f*`` square
of 0.5 mm; this finds them, lays them on a bitmap with a quiet zone and hands it
to zxing-cpp (an independent decoder), which returns the GS1 content as the
human-readable interpretation and its symbology identifier (``]d2`` = GS1 DataMatrix).
"""

from __future__ import annotations

import re

from PIL import Image

MODULE_PT = 0.5 * 72 / 25.4
_RECT = re.compile(rb"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re f\*")


def decode_label_pdf(pdf: bytes) -> tuple[str, str]:
    """(text, symbology identifier) of the DataMatrix drawn on the label."""
    import zxingcpp

    squares = []
    for m in _RECT.finditer(pdf):
        x, y, w, h = (float(v) for v in m.groups())
        if abs(w - MODULE_PT) < 1e-3 and abs(h - MODULE_PT) < 1e-3:
            squares.append((x, y))
    assert squares, "no DataMatrix modules on the label"
    x0, y_top = min(x for x, _ in squares), max(y for _, y in squares)
    cells = {(round((x - x0) / MODULE_PT), round((y_top - y) / MODULE_PT)) for x, y in squares}
    size = max(max(c for c, _ in cells), max(r for _, r in cells)) + 1
    scale, quiet = 8, 4
    image = Image.new("L", ((size + 2 * quiet) * scale,) * 2, 255)
    for col, row in cells:
        left, top = (col + quiet) * scale, (row + quiet) * scale
        image.paste(0, (left, top, left + scale, top + scale))
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.DataMatrix)
    assert len(results) == 1, f"decoded {len(results)} symbols"
    return results[0].text, results[0].symbology_identifier
