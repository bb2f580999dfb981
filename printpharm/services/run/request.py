"""The inputs of a print run: request, options, devices, the balance seam, operator callback."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from printpharm.catalog.schema import Ink, PrinterDefinition, Recipe
from printpharm.core.uniformity import Policy
from printpharm.devices.printer import PrinterLink
from printpharm.errors import BalanceError
from printpharm.services.run.calibration import MassPrediction
from printpharm.services.run.lot import BoundLot, InkNeed
from printpharm.services.run.preflight import LockPolicy, PreflightCheck, shipped_recipe_lock
from printpharm.services.run.program import PlateProgram
from printpharm.services.run.result import AlarmRecord, OperatorDecision

__all__ = [
    "BalancePort",
    "OperatorCallback",
    "RunDevices",
    "RunOptions",
    "RunRequest",
    "Weighing",
    "mass_in_mg",
]

#: Asked when a ``pause``-policy alarm is raised; returns continue or abort.
OperatorCallback = Callable[[AlarmRecord], OperatorDecision]

_TO_MG: dict[str, Decimal] = {"mg": Decimal(1), "g": Decimal(1000), "kg": Decimal(1000000)}


class Weighing(Protocol):
    """A balance reading: mass in ``unit``, stability, the raw line, when it was taken."""

    @property
    def mass(self) -> Decimal:
        """The mass in :attr:`unit`."""

    @property
    def unit(self) -> str:
        """The balance's unit (``g`` usually)."""

    @property
    def stable(self) -> bool:
        """Whether the balance reported a stable value."""

    @property
    def raw(self) -> str:
        """The balance's answer as received."""


class BalancePort(Protocol):
    """What the run needs of a balance (``printpharm.devices`` ``Balance`` fits)."""

    def tare(self) -> object:
        """Tare when stable; raises BalanceUnstable/BalanceError/DeviceError."""

    def weigh(self) -> Weighing:
        """A stable weight; raises BalanceUnstable after the balance's timeout."""

    def weigh_immediate(self) -> Weighing:
        """The weight at once, stable or not (``SI``)."""


def mass_in_mg(weighing: Weighing) -> Decimal:
    """The reading's mass in mg (exact: ``g`` × 1000).

    Raises
    ------
    BalanceError
        A unit other than mg, g or kg (never guess a conversion).
    """
    factor = _TO_MG.get(weighing.unit.strip().lower())
    if factor is None:
        raise BalanceError(
            f"balance reports in {weighing.unit!r}; printpharm reads mg, g or kg "
            f"(raw {weighing.raw!r})"
        )
    value = weighing.mass * factor
    if not value.is_finite():
        raise BalanceError(f"balance reading {weighing.raw!r} is not a finite mass")
    tidy = value.normalize()  # 0.20221 g -> 202.21 mg, not 202.21000 (and 200, not 2E+2)
    return value.quantize(Decimal(1)) if tidy == tidy.to_integral_value() else tidy


@dataclass(frozen=True)
class RunRequest:
    """What to print: recipe, ink, printer definition, the plate program and the dose.

    ``nozzle_c``/``bed_c`` are the resolved heater targets in °C (None = not
    heated); ``recipe_sha256`` identifies the recipe file version;
    ``dose_record`` is how the dose was reached (for the record).
    """

    recipe: Recipe
    ink: Ink
    printer_definition: PrinterDefinition
    program: PlateProgram
    dose_mg: Decimal
    recipe_sha256: str
    nozzle_c: Decimal | None
    bed_c: Decimal | None
    dose_record: Mapping[str, Any] = field(default_factory=dict)
    batch_id: str | None = None
    #: The ink the batch needs (units + prime/purge), from the plan.
    ink_need: InkNeed | None = None
    #: The unit mass the plan's calibration predicts (recorded; judged for drift at the end).
    prediction: MassPrediction | None = None


@dataclass(frozen=True)
class RunOptions:
    """How to run: flow correction on/off, chunk size for cancel checks, clocks, policies.

    ``lines_per_check``: the stream is sent in chunks of this many lines; the
    cancel token is checked between chunks (a cancel from another thread also
    aborts a chunk at once). ``progress_every_lines``: at most one
    ``UnitProgress`` per this many acknowledged lines (and one at the end).
    """

    flow_correction: bool = True
    lines_per_check: int = 200
    progress_every_lines: int = 20
    connect_timeout_s: float = 10.0
    today: date | None = None
    now: Callable[[], datetime] | None = None
    lock_policy: LockPolicy = shipped_recipe_lock
    #: ``(balance identity, port) -> checks`` once the balance is identified (recorded
    #: runs: registered, qualified, checked today, fit for the units' mass; see
    #: services.control.run_gates).
    balance_policy: Callable[[Mapping[str, str], str], Sequence[PreflightCheck]] | None = None
    #: ``(printer M115 fields + "firmware", port) -> checks`` once the printer answered
    #: M115 (recorded runs: registered, qualified, cleaned since another API).
    printer_policy: Callable[[Mapping[str, str], str], Sequence[PreflightCheck]] | None = None
    #: Checks made before the run for a recorded batch (training, line clearance).
    recorded_checks: tuple[PreflightCheck, ...] = ()
    #: Ph. Eur. 2.9.5 reading (site setting ``qc.mass_uniformity_policy``).
    mass_policy: Policy = "strict"
    #: The recorded lot the batch prints from (``None``: the ink file's example lot,
    #: training only) and the library version of the ink as printed.
    lot: BoundLot | None = None
    ink_version: int | None = None
    #: Seed of the random choice of the 2.9.5 units when more than 20 are printed
    #: (``None``: drawn at the end of the run; tests pass one to re-derive it).
    qc_seed: str | None = None
    #: Whether a batch no pharmacopoeial test could decide may be released on the local
    #: specification (site setting ``qc.release_on_local_spec``; verdict ``local_spec_only``).
    local_spec_release: bool = False
    #: A pharmacist's signed override of a dose outside its rounding tolerance, as found in
    #: the records (``DoseOverride.to_record()``); a training run has none.
    dose_override: Mapping[str, Any] | None = None


@dataclass
class RunDevices:
    """The connected devices and how to name them in the record."""

    printer: PrinterLink
    balance: BalancePort
    printer_port: str
    balance_port: str
    balance_identity: Mapping[str, str] = field(default_factory=dict)
