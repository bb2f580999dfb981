"""What a mass-checked print run produces: unit records, alarms, corrections, the result.

Plain frozen dataclasses (masses in mg as ``Decimal``, temperatures in °C,
times as timezone-aware UTC datetimes). :func:`result_to_json` turns a result
into the JSON batch result the CLI prints and the JSON-file recorder writes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from printpharm.core.jsonable import to_jsonable

__all__ = [
    "AlarmKind",
    "AlarmRecord",
    "BatchHeader",
    "BatchResult",
    "NOT_FOR_PATIENT_USE",
    "FlowCorrection",
    "OperatorDecision",
    "RELEASABLE_VERDICTS",
    "QcReport",
    "QcVerdict",
    "QcTestOutcome",
    "RunStatus",
    "UnitRecord",
    "to_jsonable",
]

#: The tag printed on batches that may not be given to a patient.
NOT_FOR_PATIENT_USE = "NOT FOR PATIENT USE"

#: completed: every unit printed and weighed; stopped: an alarm, the operator or a
#: preflight check ended it; interrupted: the connection to a device was lost.
RunStatus = Literal["completed", "stopped", "interrupted"]
#: A unit's in-run verdict against its target and the recipe's unit tolerance.
UnitVerdict = Literal["pass", "fail", "not_weighed"]


class AlarmKind(enum.StrEnum):
    """Why an alarm was raised."""

    UNIT_OUT_OF_TOLERANCE = "unit_out_of_tolerance"
    BALANCE_UNSTABLE = "balance_unstable"
    BALANCE_ERROR = "balance_error"
    TEMPERATURE = "temperature"
    PRINTER_HALTED = "printer_halted"
    DEVICE_ERROR = "device_error"
    CONNECTION_LOST = "connection_lost"
    CANCELLED = "cancelled"
    #: a unit far lighter than the process estimate (a clog, a large bubble), even in tolerance
    SUDDEN_DROP = "sudden_drop"
    #: a trend in the deposit (a warning: recorded and shown, the run goes on)
    DRIFT_WARNING = "drift_warning"
    #: the extrusion pressure rose above the ink's limit (a clog building)
    OVER_PRESSURE = "over_pressure"
    #: the extrusion pressure fell below the ink's limit while extruding (air, empty syringe)
    UNDER_PRESSURE = "under_pressure"


class OperatorDecision(enum.StrEnum):
    """The operator's answer when a ``pause`` policy alarm asks for a decision."""

    CONTINUE = "continue"
    ABORT = "abort"


@dataclass(frozen=True)
class UnitRecord:
    """One printed unit: target and measured ink mass (mg) and the raw balance line.

    ``deviation_pct`` is (measured − target) / target × 100, rounded half-up to
    3 dp for display; ``verdict`` is decided exactly with inclusive bounds.
    ``flow_pct`` is the firmware flow-rate factor (M221, set at the batch start)
    the unit was printed with; ``e_scale`` the material factor of the E words
    of its streamed G-code (1 = as planned; the flow controller's correction)
    and ``correction_reason`` why it is what it is.
    For an ink that loses solvent on drying, ``target_mg`` is the mass as
    printed (weighed wet, in line) and ``dried_target_mg`` the plan's target
    for the dried printlet (weighed again for release). ``content_mg`` is the
    unit's estimated API content from its mass and the lot's assay.
    """

    n: int
    target_mg: Decimal
    measured_mg: Decimal | None
    deviation_pct: Decimal | None
    verdict: UnitVerdict
    tolerance_pct: Decimal
    flow_pct: Decimal
    raw_reading: str | None = None
    reading_unit: str | None = None
    stable: bool | None = None
    weighed_at: datetime | None = None
    lines: int = 0
    dried_target_mg: Decimal | None = None
    #: Estimated API content (mg): measured mass × the lot's assayed concentration, with
    #: the assay's uncertainty where given (``None`` without an assay or a mass).
    content_mg: Decimal | None = None
    content_uncertainty_mg: Decimal | None = None
    e_scale: Decimal = Decimal(1)
    correction_reason: str = ""
    #: The unit's extrusion-pressure log where the head reports it (kPa; see
    #: :class:`printpharm.services.run.pressure.PressureLog`), else ``None``.
    pressure: Mapping[str, Any] | None = None

    @property
    def material_pct(self) -> Decimal:
        """The material deposited relative to the plan, in %: flow × E factor (2 dp)."""
        return (self.flow_pct * self.e_scale).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class AlarmRecord:
    """An alarm: kind, message, the unit concerned, the recipe policy and the outcome.

    ``action`` is what the run did: ``stop`` (run ended), ``pause`` (asked the
    operator; ``decision`` says the answer), ``interrupt`` (connection lost) or
    ``warn`` (recorded and shown, the run goes on: a drift warning, or a temperature or
    pressure report that a fresh reading did not confirm).
    """

    kind: AlarmKind
    message: str
    unit: int | None
    action: Literal["stop", "pause", "interrupt", "warn"]
    decision: OperatorDecision | None
    at: datetime


@dataclass(frozen=True)
class FlowCorrection:
    """A change of the material factor, decided after weighing ``after_unit``.

    The factor scales the E words of ``for_unit``'s streamed G-code
    (``command`` says so in words); the percentages are material relative to
    the plan (100 = as planned, 0.01 % resolution). ``requested_pct`` is what
    the offset estimate asked for; ``applied_pct`` that value clamped to the
    recipe's validated flow-correction range (``bounds_pct``), so ``clamped``
    tells whether a bound limited it. ``estimate_pct`` ± ``estimate_se_pct`` is
    the controller's estimate of the process offset and ``reason`` why it acted.
    """

    after_unit: int
    for_unit: int
    measured_mg: Decimal
    target_mg: Decimal
    previous_pct: Decimal
    requested_pct: Decimal
    applied_pct: Decimal
    bounds_pct: tuple[Decimal, Decimal]
    clamped: bool
    command: str
    at: datetime
    e_scale: Decimal = Decimal(1)
    estimate_pct: Decimal = Decimal(0)
    estimate_se_pct: Decimal = Decimal(0)
    reason: str = ""


@dataclass(frozen=True)
class QcTestOutcome:
    """One QC test: id (``2.9.5``, ``2.9.40-mv``, ...), whether it applied, result, why."""

    test: str
    label: str
    applied: bool
    result: Literal["PASS", "FAIL", "NOT_APPLICABLE"]
    reason: str
    is_estimate: bool = False
    named_by_recipe: bool = True
    detail: Mapping[str, Any] = field(default_factory=dict)


#: The batch's QC verdict. ``pass``: a pharmacopoeial test applicable to the batch passed
#: and none failed. ``pending_content_uniformity`` / ``pending_assay``: nothing failed but no
#: pharmacopoeial test could decide — individual unit assays (2.9.40 content uniformity), or a
#: batch assay for 2.9.40 by mass variation, are still missing. ``local_spec_only``: as
#: pending, released on the pharmacy's local specification where the site allows it.
QcVerdict = Literal[
    "pass",
    "fail",
    "not_evaluated",
    "pending_content_uniformity",
    "pending_assay",
    "local_spec_only",
]

#: The verdicts a batch may be released on (``local_spec_only`` only where the site allows it,
#: which decided the verdict when the run ended).
RELEASABLE_VERDICTS = frozenset({"pass", "local_spec_only"})


@dataclass(frozen=True)
class QcReport:
    """The batch's QC (:data:`QcVerdict`) and why; ``PASS`` only on a pharmacopoeial test."""

    verdict: QcVerdict
    reason: str
    tests: tuple[QcTestOutcome, ...] = ()

    @property
    def passed(self) -> bool:
        """Whether a pharmacopoeial test applicable to the batch passed (and none failed)."""
        return self.verdict == "pass"

    @property
    def releasable(self) -> bool:
        """Whether the batch may go on to release: ``pass`` or an allowed ``local_spec_only``."""
        return self.verdict in RELEASABLE_VERDICTS


@dataclass(frozen=True)
class BatchHeader:
    """What is known when a batch starts printing (after preflight)."""

    batch_id: str
    recipe: Mapping[str, Any]
    dose: Mapping[str, Any]
    printer: Mapping[str, Any]
    balance: Mapping[str, Any]
    preflight: tuple[Mapping[str, Any], ...]
    units_planned: int
    started_at: datetime


@dataclass(frozen=True)
class BatchResult:
    """Everything a run did, complete enough to be the batch's JSON record."""

    batch_id: str
    status: RunStatus
    reason: str
    recipe: Mapping[str, Any]
    dose: Mapping[str, Any]
    printer: Mapping[str, Any]
    balance: Mapping[str, Any]
    preflight: tuple[Mapping[str, Any], ...]
    units: tuple[UnitRecord, ...]
    alarms: tuple[AlarmRecord, ...]
    corrections: tuple[FlowCorrection, ...]
    qc: QcReport
    units_planned: int
    started_at: datetime
    finished_at: datetime
    #: The weighed masses against the calibration's prediction (``drift``, ``text``, ...);
    #: ``None`` when the run did not complete or its calibration has no fit statistics.
    calibration_check: Mapping[str, Any] | None = None

    @property
    def passed(self) -> bool:
        """Completed and a pharmacopoeial test passed (the QC verdict is ``pass``)."""
        return self.status == "completed" and self.qc.passed

    @property
    def releasable(self) -> bool:
        """Completed with a verdict a batch may be released on (see :data:`RELEASABLE_VERDICTS`)."""
        return self.status == "completed" and self.qc.releasable
