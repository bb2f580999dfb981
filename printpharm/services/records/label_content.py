"""What one dispensing label says: the content the PDF and ZPL renderers lay out.

:func:`printpharm.services.records.labels.label_content` decides it; the renderers
(:mod:`._label_pdf`, :mod:`._label_zpl`) only read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from printpharm.core.labelling import BeyondUse, GS1Element, gs1_text

__all__ = ["LABEL_WIDTHS_MM", "LabelContent"]

#: Label roll widths (mm) and the label length used for each (mm).
LABEL_WIDTHS_MM: dict[int, int] = {62: 90, 102: 76}


@dataclass(frozen=True)
class LabelContent:
    """Everything printed on one label (text already decided; renderers only lay it out)."""

    batch_id: str
    patient: str
    drug_line: str
    units: int
    directions: str
    beyond_use: BeyondUse
    storage: str
    warnings: tuple[str, ...]
    for_patient: bool
    banner: str | None
    gs1: tuple[GS1Element, ...]
    #: why ``units`` is fewer than the units weighed (``""`` when it is not)
    units_note: str = ""

    @property
    def gs1_text(self) -> str:
        """The DataMatrix content in human-readable form: ``(17)271231(10)...``."""
        return gs1_text(self.gs1)
