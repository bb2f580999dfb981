"""Patient labels of a batch: what they say, and the PDF or ZPL file a label printer takes.

A label names the patient (pseudonym), the drug and strength per unit, the
number of units, the directions, the beyond-use date (:func:`beyond_use_for_batch`,
the one place it is computed), storage, warnings (a cytotoxic API) and the batch
number, with a GS1 DataMatrix of the BUD (AI 17) and the batch (AI 10, and AI 91
with the full batch ID when it is longer than 20 characters). A batch that may
not be given to a patient (research, training on the simulators, not verified,
not locked) carries NOT FOR PATIENT USE in large letters; a completed batch not
yet released says so. Sizes: the 62 mm and 102 mm label rolls. Every label
printed is written to the batch's audit trail with the file's SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from pathlib import Path
from typing import Any

from printpharm.core.labelling import (
    BeyondUse,
    beyond_use_date,
    gs1_elements,
)
from printpharm.errors import InputError, RecordError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import label_zone
from printpharm.services.records.export import build_view
from printpharm.services.records.label_content import LABEL_WIDTHS_MM, LabelContent
from printpharm.services.records.record_view import BatchRecordView
from printpharm.services.run.result import NOT_FOR_PATIENT_USE
from printpharm.storage.audit import AuditEntry, AuditEvent
from printpharm.storage.batches import BatchRow

__all__ = [
    "LABEL_FORMATS",
    "LABEL_WIDTHS_MM",
    "CYTOTOXIC_WARNING",
    "LabelContent",
    "LabelResult",
    "beyond_use_for_batch",
    "dispensable_units",
    "label_content",
    "print_label",
    "printed_on",
]

#: Label files printpharm writes.
LABEL_FORMATS = ("pdf", "zpl")
#: The warning a cytotoxic API puts on the label.
CYTOTOXIC_WARNING = "CYTOTOXIC: wear gloves to handle; do not crush, split or chew"


@dataclass(frozen=True)
class LabelResult:
    """A written label file: path, format, SHA-256 and what it says."""

    path: Path
    format: str
    sha256: str
    content: LabelContent


def printed_on(row: BatchRow, events: Sequence[AuditEvent]) -> date:
    """The calendar day the batch was printed where it was printed.

    Its creation time in the zone its creation event recorded: a batch started at
    20:00 in New York (01:00 UTC the next day) was printed on the New York day. Without
    that event (a record from outside printpharm), the UTC day.
    """
    created = next((e for e in events if e.record_type == "batch" and e.action == "create"), None)
    zone = label_zone(created.local_tz) if created is not None else UTC
    return row.created_at.astimezone(zone).date()


def beyond_use_for_batch(row: BatchRow, events: Sequence[AuditEvent]) -> BeyondUse:
    """The beyond-use date of a recorded batch (the single place the BUD is computed).

    The local day it was printed (:func:`printed_on`) + the recipe's stability (recorded
    with the batch), never after the expiry of the ink lot recorded with the batch.

    Raises
    ------
    InputError
        The recipe declared no stability period, or the batch records no ink expiry.
    """
    product = (row.details.get("controls") or {}).get("product") or {}
    ink = (row.details.get("recipe") or {}).get("ink") or {}
    if not ink.get("expiry"):
        raise InputError(f"batch {row.batch_id} records no ink expiry; no beyond-use date")
    stability = product.get("stability_days")
    return beyond_use_date(
        printed_on(row, events),
        None if stability is None else int(stability),
        date.fromisoformat(str(ink["expiry"])),
    )


def _strength(dose: dict[str, Any], recipe: dict[str, Any]) -> str:
    api = str(recipe.get("api") or "?")
    mg = Decimal(str(dose.get("dose_mg", "0"))).normalize()
    text = f"{mg:f}"
    return f"{api[:1].upper()}{api[1:]} {text} mg per unit"


def dispensable_units(view: BatchRecordView) -> tuple[int, str]:
    """The units of the batch that may be dispensed, and why the others may not.

    A unit is dispensed when it was weighed within its tolerance and not taken for
    the content-uniformity assay (an assay destroys the unit): a 12-unit batch whose
    10 units were chosen for 2.9.40 leaves 2 for the patient, not 12.
    """
    weighed = [u for u in view.units if u.reading.raw_reading is not None]
    assayed = {n for sample in (view.cu.samples if view.cu else ()) for n in sample.units}
    failed = {u.reading.unit_index for u in weighed if u.verdict != "pass"} - assayed
    count = sum(1 for u in weighed if u.verdict == "pass" and u.reading.unit_index not in assayed)
    why = [f"{len(assayed)} taken for the content-uniformity assay"] if assayed else []
    why += [f"{len(failed)} outside the unit tolerance"] if failed else []
    note = f"{count} of {len(weighed)} weighed: " + ", ".join(why) if why else ""
    return count, note


def label_content(
    row: BatchRow,
    events: Sequence[AuditEvent],
    patient_use: tuple[bool, str],
    directions: str,
    patient: str | None = None,
    dispensable: tuple[int, str] | None = None,
) -> LabelContent:
    """The label of ``row`` (a completed or released batch).

    ``dispensable`` is :func:`dispensable_units` of the batch's record (default: every
    weighed unit).

    Raises
    ------
    InputError
        No directions, no patient pseudonym (none recorded and none given), the batch
        was not completed, no unit is left to dispense, or no beyond-use date can be set.
    """
    if row.status not in ("completed", "released"):
        raise InputError(
            f"batch {row.batch_id} is {row.status}: only a completed or released batch is labelled"
        )
    if not directions.strip():
        raise InputError("the label needs the directions (how the patient takes the units)")
    weighed = len([u for u in row.units if u.raw_reading is not None]) or row.units_count
    units, units_note = dispensable if dispensable is not None else (weighed, "")
    if units < 1:
        raise InputError(
            f"batch {row.batch_id} has no unit left to dispense ({units_note}): nothing to label"
        )
    dose = row.details.get("dose") or {}
    who = (patient or str(dose.get("patient_id") or "")).strip()
    if not who:
        raise InputError("the label needs the patient pseudonym (none is recorded with the batch)")
    product = (row.details.get("controls") or {}).get("product") or {}
    recipe = row.details.get("recipe") or {}
    bud = beyond_use_for_batch(row, events)
    warnings = [CYTOTOXIC_WARNING] if product.get("cytotoxic") else []
    for_patient, why = patient_use
    banner = None
    if not for_patient:
        banner = NOT_FOR_PATIENT_USE
        warnings.append(f"{NOT_FOR_PATIENT_USE}: {why}")
    elif row.status != "released":
        warnings.append("Not released yet: do not dispense before release")
    return LabelContent(
        batch_id=row.batch_id,
        patient=who,
        drug_line=_strength(dose, recipe),
        units=units,
        directions=directions.strip(),
        beyond_use=bud,
        storage=str(
            product.get("storage")
            or recipe.get("storage")
            or "Store as the pharmacy directs; keep out of the sight and reach of children."
        ),
        warnings=tuple(warnings),
        for_patient=for_patient,
        banner=banner,
        gs1=gs1_elements(row.batch_id, bud.date),
        units_note=units_note,
    )


def _render(content: LabelContent, fmt: str, width_mm: int) -> bytes:
    if fmt == "zpl":
        from printpharm.services.records._label_zpl import render_zpl

        return render_zpl(content, width_mm).encode("utf-8")
    from printpharm.services.records._label_pdf import render_label_pdf

    return render_label_pdf(content, width_mm)


def print_label(
    auth: AuthService,
    session: UserSession,
    batch_id: str,
    fmt: str,
    path: Path,
    directions: str,
    patient: str | None = None,
    width_mm: int = 62,
) -> LabelResult:
    """Write the label of ``batch_id`` as ``pdf`` or ``zpl`` to ``path`` (audited).

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not run prints (technicians and pharmacists label what they make).
    InputError
        Unknown format or width, or the label cannot be made (see :func:`label_content`).
    RecordError
        No such batch, or ``path`` exists (labels never overwrite a file).
    """
    if fmt not in LABEL_FORMATS:
        raise InputError(f"label format {fmt!r} is not one of {list(LABEL_FORMATS)}")
    if width_mm not in LABEL_WIDTHS_MM:
        raise InputError(f"label width {width_mm} mm is not one of {list(LABEL_WIDTHS_MM)} mm")
    live = auth.require(session, Operation.RUN_PRINT)
    path = Path(path)
    if path.exists():
        raise RecordError(f"{path} exists already; labels never overwrite a file")
    with auth.uow(write=False) as uow:
        view = build_view(uow, batch_id, f"{live.full_name} ({live.user_id})")
    content = label_content(
        view.batch,
        view.events,
        (view.patient_use, view.patient_use_reason),
        directions,
        patient,
        dispensable_units(view),
    )
    data = _render(content, fmt, width_mm)
    try:
        with path.open("xb") as fh:
            fh.write(data)
    except OSError as exc:
        raise RecordError(f"cannot write {path}: {exc.strerror}") from exc
    digest = hashlib.sha256(data).hexdigest()
    with auth.uow() as uow:
        uow.audit.append(
            AuditEntry(
                "batch",
                "label",
                batch_id,
                live.user_id,
                live.full_name,
                batch_id=batch_id,
                new={
                    "format": fmt,
                    "width_mm": width_mm,
                    "file": path.name,
                    "sha256": digest,
                    "patient": content.patient,
                    "units": content.units,
                    "beyond_use": content.beyond_use.date,
                    "gs1": content.gs1_text,
                    "for_patient": content.for_patient,
                },
            )
        )
    return LabelResult(path, fmt, digest, content)
