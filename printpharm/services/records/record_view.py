"""What one batch record shows: the view the PDF, CSV and JSON renderings and the GUI read.

:func:`printpharm.services.records.export.build_view` gathers it from the database;
the renderings (:mod:`._batch_pdf`, :mod:`._batch_csv`, :mod:`.record_json`) only read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from printpharm.services.access.site_trust import HeadStamp
from printpharm.services.records.content_uniformity import CuStatus, batch_qc
from printpharm.services.run.alarm_acks import BatchAlarm
from printpharm.services.run.override_record import DoseOverride
from printpharm.storage.audit import AuditEvent, ChainReport
from printpharm.storage.batches import BatchRow, UnitReading
from printpharm.storage.signatures import SignatureRecord

__all__ = ["BatchRecordView", "SignatureLine", "UnitLine"]


@dataclass(frozen=True)
class UnitLine:
    """One unit as printed on the record: the stored reading and the run's verdict."""

    reading: UnitReading
    verdict: str
    deviation_pct: str | None
    tolerance_pct: str | None
    content_mg: str | None = None
    content_uncertainty_mg: str | None = None


@dataclass(frozen=True)
class SignatureLine:
    """A stored signature, its manifestation and whether it still matches the record."""

    signature: SignatureRecord
    text: str
    valid: bool
    problem: str | None


@dataclass(frozen=True)
class BatchRecordView:
    """Everything one batch record shows (see the module docstring)."""

    batch: BatchRow
    units: tuple[UnitLine, ...]
    alarms: tuple[dict[str, Any], ...]
    corrections: tuple[dict[str, Any], ...]
    result: dict[str, Any] | None
    signatures: tuple[SignatureLine, ...]
    events: tuple[AuditEvent, ...]
    changes: tuple[AuditEvent, ...]
    chain: ChainReport
    patient_use: bool
    patient_use_reason: str
    exported_by: str
    exported_at: str
    unaudited_units: tuple[int, ...] = ()
    cu: CuStatus | None = None
    dose_override: DoseOverride | None = None
    head: HeadStamp | None = None
    #: every alarm stored for the batch (warnings too) with its acknowledgement
    alarm_register: tuple[BatchAlarm, ...] = ()

    @property
    def unacknowledged_alarms(self) -> tuple[BatchAlarm, ...]:
        """The alarms nobody has acknowledged (review and release refuse the batch)."""
        return tuple(a for a in self.alarm_register if not a.acknowledged)

    @property
    def lot(self) -> dict[str, Any]:
        """The ink lot as recorded when the batch was printed (empty for older records)."""
        ink = (self.batch.details.get("recipe") or {}).get("ink") or {}
        return dict(ink.get("lot_record") or {})

    @property
    def calibration(self) -> dict[str, Any]:
        """The calibration the batch was planned with (empty for older records)."""
        return dict((self.batch.details.get("recipe") or {}).get("calibration") or {})

    @property
    def ink_dries(self) -> bool:
        """Whether the recorded ink's wet and dried drug loads differ (it loses mass drying)."""
        ink = (self.batch.details.get("recipe") or {}).get("ink") or {}
        dried, wet = ink.get("dried_drug_load_mg_per_g"), ink.get("drug_load_mg_per_g")
        if dried is None or wet is None:
            return False
        return Decimal(str(dried)) != Decimal(str(wet))

    @property
    def calibration_check(self) -> dict[str, Any] | None:
        """The weighed masses against the calibration (drift), as the run ended."""
        check = (self.result or {}).get("calibration_check")
        return dict(check) if check else None

    @property
    def qc(self) -> dict[str, Any]:
        """The batch's QC: the run's, completed by its content uniformity where needed.

        The verdict release judges (:func:`.content_uniformity.batch_qc`).
        """
        return batch_qc((self.result or {}).get("qc") or {}, self.cu)

    @property
    def changed_after_signing(self) -> bool:
        """Whether any signature no longer matches the record as it is now."""
        return any(not s.valid for s in self.signatures)

    @property
    def signing_statement(self) -> str:
        """The Annex 11 §8.2 sentence printed on the record."""
        if not self.signatures:
            return "Not signed yet."
        if self.changed_after_signing:
            bad = ", ".join(s.signature.meaning for s in self.signatures if not s.valid)
            return f"CHANGED AFTER SIGNING: the {bad} signature(s) no longer match the record."
        return "No data changed after signing: every signature matches the record."
