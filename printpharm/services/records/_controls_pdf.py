"""The batch record's section on equipment, the balance check, cleaning, line clearance, training.

Private to ``_batch_pdf``: renders what the run's gates recorded with the batch
(``details["controls"]``, see :mod:`printpharm.services.control.run_gates`).
"""

from __future__ import annotations

from typing import Any

from printpharm.services.records._pdf_parts import _heading, _pairs
from printpharm.services.records.record_view import BatchRecordView

__all__ = ["controls_section"]


def _device(item: dict[str, Any] | None) -> str:
    if not item:
        return "— (the built-in simulator: training only)"
    return (f"{item.get('asset_tag')} — {item.get('model') or '?'} #{item.get('serial_number')}"
            f"{', firmware ' + str(item['firmware']) if item.get('firmware') else ''}: "
            f"{item.get('status')}")  # fmt: skip


def controls_section(v: BatchRecordView) -> list[Any]:
    """Rows of what the gates found (empty for a batch recorded before they existed)."""
    c = v.batch.details.get("controls") or {}
    if not c:
        return []
    equipment = c.get("equipment") or {}
    product = c.get("product") or {}
    check = c.get("balance_check") or {}
    weight = check.get("weight") or {}
    clean = c.get("cleaning") or {}
    clearance = c.get("line_clearance") or {}
    cleaned_check = f", checked by {clean['checked_by']}" if clean.get("checked_by") else ""
    cleared_check = f", checked by {clearance['checked_by']}" if clearance.get("checked_by") else ""
    # the printer's last use: a batch, or a calibration series (migration 0012)
    after = (
        f"batch {clean['after_batch']}"
        if clean.get("after_batch")
        else clean.get("after_calibration", "?")
    )
    rows: list[tuple[str, Any]] = [
        ("Product", f"{product.get('api')}{' (CYTOTOXIC)' if product.get('cytotoxic') else ''}, "
                    f"ink {product.get('ink')} lot {product.get('lot')}; stability "
                    f"{product.get('stability_days') or '—'} days"),
        ("Printer", _device(equipment.get("printer"))),
        *(("Print head", _device(h)) for h in equipment.get("print_heads") or []),
        ("Balance", _device(equipment.get("balance"))),
        ("Balance check", "—" if not check else
         f"check {check.get('id')} at {check.get('checked_at')} by {check.get('checked_by')}; "
         f"minimum weight {check.get('minimum_weight_mg')} mg; {check.get('repeatability')}; "
         f"{check.get('accuracy')}"),
        ("Check weight", "—" if not weight else
         f"{weight.get('weight_id')}: nominal {weight.get('nominal_g')} g, conventional mass "
         f"{weight.get('conventional_mass_g')} g ± {weight.get('uncertainty_mg')} mg, class "
         f"{weight.get('weight_class')}, certificate {weight.get('certificate')} until "
         f"{weight.get('certificate_expiry')}"),
        ("Cleaning", "— (no earlier use needed one)" if not clean.get("cleaned_by") else
         f"{clean.get('cleaned_at')} by {clean.get('cleaned_by')}, {clean.get('method_sop')}: "
         f"{clean.get('parts')}{cleaned_check} (after {after})"),
        ("Line clearance", f"confirmed by {clearance.get('confirmed_by')} at {clearance.get('at')}"
                           f"{cleared_check}: "
                           + "; ".join(clearance.get("items") or [])),
        ("Operator training", "; ".join(
            f"{t.get('kind')} {t.get('subject')} (trained {t.get('trained_on')}, until "
            f"{t.get('expires_on')})" for t in c.get("training") or []) or "—"),
    ]  # fmt: skip
    return [_heading("Equipment, balance check, cleaning, line clearance, training"), _pairs(rows)]
