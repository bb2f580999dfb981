"""GS1 DataMatrix (ECC 200) symbols as dark-module rectangles, by pyStrich (pure Python).

pyStrich encodes the GS1 element string with FNC1 in first position and as the
separator after each variable-length element that is not the last; this module
only hands it the elements and returns the dark modules, so the PDF renderer
draws them as rectangles at any scale.
"""

from __future__ import annotations

from dataclasses import dataclass

from pystrich.datamatrix import DataMatrixData, DataMatrixEncoder
from pystrich.gs1 import GS1Fixed, GS1Variable
from pystrich.marks import MarkShape

from printpharm.core.labelling import GS1Element

__all__ = ["QUIET_ZONE_MODULES", "Symbol", "gs1_datamatrix"]

#: Light border around the symbol, in modules (ISO/IEC 16022 asks for at least 1).
QUIET_ZONE_MODULES = 2


@dataclass(frozen=True)
class Symbol:
    """Dark modules as (x, y, width, height) in module units, y down; full grid size."""

    modules: tuple[tuple[int, int, int, int], ...]
    width: int
    height: int


def gs1_datamatrix(elements: tuple[GS1Element, ...]) -> Symbol:
    """The GS1 DataMatrix of ``elements`` (FNC1 first, FNC1 after variable-length fields)."""
    fields = [GS1Fixed(e.ai, e.value) if e.fixed else GS1Variable(e.ai, e.value) for e in elements]
    encoder = DataMatrixEncoder(DataMatrixData.gs1(*fields), quiet_zone=QUIET_ZONE_MODULES)
    marks = encoder.get_rect_marks(mark_shape=MarkShape.SQUARE_CELLS)
    modules = tuple((int(m[0]), int(m[1]), int(m[2]), int(m[3])) for m in marks.marks)
    return Symbol(modules, int(marks.width), int(marks.height))
