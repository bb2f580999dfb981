"""Models of ink and printer-definition files and of process settings (re-exported by schema).

Every model is frozen and rejects unknown keys. Numbers are exact ``Decimal``
values carried in :class:`Quantity` (``.value``, ``.unit``) or :class:`Span`
(``.min``, ``.max``, ``.unit``); each field declares its unit and limits, so a
file that says ``layer_height = { value = 3.0, unit = "mm" }`` is refused with
the limit it broke. Integer counts (``perimeters_count``, ``count_per_dose``,
``units_count``) are plain integers: a count has no unit.

The loader resolves ``inherits`` before validation and translates pydantic's
errors into :class:`~printpharm.errors.CatalogError`.
"""

# No ``from __future__ import annotations`` here: pydantic would compile and evaluate each
# field's annotation string when the class is created (a few ms of every plan's start).
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, Strict, model_validator
from pydantic_core import PydanticCustomError

from printpharm.catalog._quantity import RULE_ERROR, Quantity, Span, StrictModel, within
from printpharm.core.flavours import FlavourName

if TYPE_CHECKING:  # NumPy (which it imports) only where a calibration is used, not to read files
    from printpharm.core.calibration import LinearCalibration

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "Calibration",
    "Ink",
    "InkKind",
    "InkReservoir",
    "PressureLimits",
    "PrinterDefinition",
    "ProcessLayer",
    "ProcessParameters",
    "Syringe",
    "Variability",
    "Versioned",
]

#: The schema version this code reads; older files are migrated on load.
CURRENT_SCHEMA_VERSION = 1

InkKind = Literal["sse_paste", "fdm_filament"]

# --- process parameters: one alias per field so both layer models share the limits ---
NozzleGauge = Annotated[int, Strict(), Field(ge=14, le=34)]
NozzleInnerDiameter = Annotated[Quantity, within("mm", "0.1", "2.0")]
LayerHeight = Annotated[Quantity, within("mm", "0.05", "2.0")]
LineWidth = Annotated[Quantity, within("mm", "0.1", "3.0")]
PerimetersCount = Annotated[int, Strict(), Field(ge=0, le=20)]
InfillPattern = Literal["rectilinear", "grid", "concentric"]  # what printpharm.slicing fills
InfillDensity = Annotated[Quantity, within("fraction", "0.05", "1")]
PrintSpeed = Annotated[Quantity, within("mm/s", "0.5", "300", positive=True)]
TravelSpeed = Annotated[Quantity, within("mm/s", "1", "500")]
NozzleTemperature = Annotated[Quantity, within("°C", "4", "260")]
BedTemperature = Annotated[Quantity, within("°C", "0", "120")]
ZHop = Annotated[Quantity, within("mm", "0", "5")]
RetractionLength = Annotated[Quantity, within("mm", "0", "10")]
RetractionSpeed = Annotated[Quantity, within("mm/s", "0", "100")]
PrimeLength = Annotated[Quantity, within("mm", "0", "10")]


class ProcessLayer(StrictModel):
    """One layer of process settings (recipe, ink, printer, override): every key optional.

    ``retraction_length`` is E-axis travel in the printer's E unit: filament mm on
    FDM, plunger suck-back mm on a syringe (SSE) printer; ``prime_length`` is the
    extra push after a retraction or before the first line.
    """

    nozzle_gauge: NozzleGauge | None = None
    nozzle_inner_diameter: NozzleInnerDiameter | None = None
    layer_height: LayerHeight | None = None
    first_layer_height: LayerHeight | None = None
    line_width: LineWidth | None = None
    perimeters_count: PerimetersCount | None = None
    infill_pattern: InfillPattern | None = None
    infill_density: InfillDensity | None = None
    print_speed: PrintSpeed | None = None
    first_layer_speed: PrintSpeed | None = None
    travel_speed: TravelSpeed | None = None
    nozzle_temperature: NozzleTemperature | None = None
    bed_temperature: BedTemperature | None = None
    z_hop: ZHop | None = None
    retraction_length: RetractionLength | None = None
    retraction_speed: RetractionSpeed | None = None
    prime_length: PrimeLength | None = None


class ProcessParameters(StrictModel):
    """The complete, resolved process (every key set); see :class:`ProcessLayer` for meanings.

    ``nozzle_gauge`` stays optional: FDM nozzles have no needle gauge.
    """

    nozzle_gauge: NozzleGauge | None = None
    nozzle_inner_diameter: NozzleInnerDiameter
    layer_height: LayerHeight
    first_layer_height: LayerHeight
    line_width: LineWidth
    perimeters_count: PerimetersCount
    infill_pattern: InfillPattern
    infill_density: InfillDensity
    print_speed: PrintSpeed
    first_layer_speed: PrintSpeed
    travel_speed: TravelSpeed
    nozzle_temperature: NozzleTemperature
    bed_temperature: BedTemperature
    z_hop: ZHop
    retraction_length: RetractionLength
    retraction_speed: RetractionSpeed
    prime_length: PrimeLength

    @model_validator(mode="after")
    def _geometry_fits_nozzle(self) -> "ProcessParameters":
        for name in ("layer_height", "first_layer_height"):
            height = getattr(self, name)
            for limit_name in ("nozzle_inner_diameter", "line_width"):
                limit = getattr(self, limit_name)
                if height.value > limit.value:
                    raise PydanticCustomError(
                        RULE_ERROR,
                        "{name} {h} is above the {what} {d}",
                        {
                            "name": name,
                            "h": str(height),
                            "what": limit_name.replace("_", " "),
                            "d": str(limit),
                        },
                    )
        return self


class Syringe(StrictModel):
    """The paste syringe of an SSE ink: barrel volume and inner diameter."""

    volume: Annotated[Quantity, within("mL", "0.5", "100", positive=True)]
    inner_diameter: Annotated[Quantity, within("mm", "2", "50", positive=True)]


class Calibration(StrictModel):
    """Default ink calibration ``mass_mg = a · V_mm3 + b`` over a calibrated volume range."""

    a: Annotated[Quantity, within("mg/mm3", "0.1", "5", positive=True)]
    b: Annotated[Quantity, within("mg", "-100", "100")]
    volume_range: Annotated[Span, within("mm3", "0", "100000")]

    def to_linear(self) -> "LinearCalibration":
        """This default calibration as a :class:`~printpharm.core.calibration.LinearCalibration`."""
        from printpharm.core.calibration import LinearCalibration

        return LinearCalibration.from_coefficients(
            a_mg_per_mm3=float(self.a.value),
            b_mg=float(self.b.value),
            v_min_mm3=float(self.volume_range.min),
            v_max_mm3=float(self.volume_range.max),
        )


class Variability(StrictModel):
    """How much this ink's deposit varies on its printer: what the flow controller expects.

    ``unit_rsd`` is the unit-to-unit RSD of the deposited mass (process noise);
    ``offset_sd`` how far a batch's mean may be off its calibration before any
    unit is weighed (the prior of the offset estimate); ``drift_sd`` how fast the
    deposit may drift, in % per unit (the prior of a drift rate: syringe
    emptying, paste settling). Published SSE figures: unit mass RSD 1–4 %
    (well-formulated pastes 1–2 %); FDM drug filaments ~1 % (process-control.md).
    """

    unit_rsd: Annotated[Quantity, within("%", "0.1", "20", positive=True)] = (
        Quantity.model_construct(value=Decimal(2), unit="%")
    )
    offset_sd: Annotated[Quantity, within("%", "0.1", "20", positive=True)] = (
        Quantity.model_construct(value=Decimal(1), unit="%")
    )
    drift_sd: Annotated[Quantity, within("%", "0", "5")] = Quantity.model_construct(
        value=Decimal("0.5"), unit="%"
    )


class PressureLimits(StrictModel):
    """Extrusion-pressure limits of a paste at the plunger's load cell (kPa).

    ``max``: over-pressure (a clog building, before the unit fails); ``min``, if
    given: under-pressure while the plunger pushes steadily (an air pocket, an
    empty syringe). A run on a head that reports its pressure (``Cap:PRESSURE_REPORT``)
    alarms outside them.
    """

    max: Annotated[Quantity, within("kPa", "1", "5000", positive=True)]
    min: Annotated[Quantity, within("kPa", "0", "5000")] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "PressureLimits":
        if self.min is not None and self.min.value >= self.max.value:
            raise PydanticCustomError(
                RULE_ERROR,
                "pressure min = {low} kPa must be below max = {high} kPa",
                {"low": str(self.min.value), "high": str(self.max.value)},
            )
        return self


class Versioned(StrictModel):
    """Keys every catalog file carries: version, id, inheritance, name, citation."""

    schema_version: Literal[1]
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
    inherits: str | None = None
    abstract: bool = False
    name: Annotated[str, Field(min_length=1, max_length=120)]
    source: str | None = None
    example: bool = False

    @model_validator(mode="after")
    def _cited_or_example(self) -> "Versioned":
        if not self.abstract and not self.source and not self.example:
            raise PydanticCustomError(
                RULE_ERROR,
                'needs a "source" citation or "example = true" (example to validate on site)',
            )
        return self


class Ink(Versioned):
    """A pharma-ink (SSE paste) or drug-loaded filament (FDM).

    ``drug_load`` is the drug content of the ink as dispensed (mg API per g ink);
    ``dried_drug_load``, if given, is the content of the weighed, dried printlet
    (bsa_dosing.md §2.5): the weighing target uses it instead of ``drug_load``.
    ``cytotoxic`` marks a hazardous (cytotoxic) API: the printer is cleaned by the
    site's cytotoxic procedure, checked by a second person, after every batch, and
    the patient label carries the warning.
    """

    api: Annotated[str, Field(min_length=1)]
    kind: InkKind
    drug_load: Annotated[Quantity, within("mg/g", "0", "1000")]
    dried_drug_load: Annotated[Quantity, within("mg/g", "0", "1000", positive=True)] | None = None
    density: Annotated[Quantity, within("g/cm3", "0.5", "3.0")]
    assay: Annotated[Quantity, within("%", "80", "120")]
    temperature_window: Annotated[Span, within("°C", "4", "260")]
    syringe: Syringe | None = None
    filament_diameter: Annotated[Quantity, within("mm", "1.0", "3.0")] | None = None
    calibration: Calibration
    lot: Annotated[str, Field(min_length=1, max_length=64)] = "EXAMPLE"
    expiry: date
    #: How long a prepared lot may be used after its preparation (the beyond-use date of
    #: a lot is its preparation date + this, or earlier if the site says so).
    stability: Annotated[Quantity, within("days", "1", "3650")] | None = None
    storage: str = ""
    cytotoxic: Annotated[bool, Strict()] = False
    process: ProcessLayer = Field(default_factory=ProcessLayer)
    variability: Variability = Field(default_factory=Variability)
    #: Apparent viscosity of a paste at printing shear rates (what the extrusion pressure
    #: depends on; the simulator's pressure model uses it).
    viscosity: Annotated[Quantity, within("Pa·s", "0.01", "10000", positive=True)] | None = None
    pressure: PressureLimits | None = None

    @model_validator(mode="after")
    def _kind_matches_container(self) -> "Ink":
        if self.kind == "sse_paste" and (self.syringe is None or self.filament_diameter):
            raise PydanticCustomError(
                RULE_ERROR, "an sse_paste ink needs [syringe] and no filament_diameter"
            )
        if self.kind == "fdm_filament" and (self.filament_diameter is None or self.syringe):
            raise PydanticCustomError(
                RULE_ERROR, "an fdm_filament ink needs filament_diameter and no [syringe]"
            )
        if self.kind != "sse_paste" and (self.pressure is not None or self.viscosity is not None):
            raise PydanticCustomError(
                RULE_ERROR, "[pressure] and viscosity are for sse_paste inks (a syringe head)"
            )
        return self

    def stability_days(self) -> int | None:
        """The stability statement in whole days, or ``None`` when the file gives none."""
        if self.stability is None:
            return None
        return int(self.stability.value.to_integral_value(rounding=ROUND_FLOOR))

    def weighed_drug_load(self) -> Quantity:
        """The drug load (mg/g) that applies to the weighed printlet (dried if given)."""
        return self.dried_drug_load or self.drug_load


class InkReservoir(StrictModel):
    """What the printer holds of an ink: a ``syringe`` barrel (mL) or a filament ``spool`` (g).

    ``dead_volume`` (mL) is ink that stays in the barrel, needle or filament path and
    can never be printed. Exactly one of ``syringe`` and ``spool`` is given.
    """

    syringe: Annotated[Quantity, within("mL", "0.5", "500", positive=True)] | None = None
    spool: Annotated[Quantity, within("g", "1", "10000", positive=True)] | None = None
    dead_volume: Annotated[Quantity, within("mL", "0", "50")]

    @model_validator(mode="after")
    def _one_container(self) -> "InkReservoir":
        if (self.syringe is None) == (self.spool is None):
            raise PydanticCustomError(RULE_ERROR, "give exactly one of syringe and spool")
        return self


class PrinterDefinition(Versioned):
    """A printer family: firmware flavour, build volume, E-axis meaning, G-code templates.

    ``reservoir`` (:class:`InkReservoir`) is how much ink it holds: a plate that needs
    more is refused by the planner and the run's preflight.
    """

    flavour: FlavourName  # the registry: printpharm.core.flavours
    ink_kind: InkKind
    bed_x: Annotated[Quantity, within("mm", "50", "1000")]
    bed_y: Annotated[Quantity, within("mm", "50", "1000")]
    max_z: Annotated[Quantity, within("mm", "10", "1000")]
    #: The hottest the machine may be asked to be; a G-code line asking for more is
    #: refused before anything is sent (issue 13).
    max_nozzle_temperature: Annotated[Quantity, within("°C", "20", "450")]
    max_bed_temperature: Annotated[Quantity, within("°C", "20", "150")]
    e_axis: Literal["filament_mm", "plunger_mm", "mm3"]
    relative_e: bool
    volumetric_extrusion: bool
    start_template: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+\.gcode$")]
    end_template: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+\.gcode$")]
    max_command_length: Annotated[int, Strict(), Field(ge=20, le=96)] = 96
    baud: Literal[9600, 19200, 38400, 57600, 115200, 230400, 250000, 500000, 1000000] = 115200
    reservoir: InkReservoir | None = None
    process: ProcessLayer = Field(default_factory=ProcessLayer)

    @model_validator(mode="after")
    def _e_axis_fits_kind(self) -> "PrinterDefinition":
        wrong = {"sse_paste": "filament_mm", "fdm_filament": "plunger_mm"}[self.ink_kind]
        if self.e_axis == wrong:
            raise PydanticCustomError(
                RULE_ERROR,
                "e_axis {e} does not fit ink_kind {k}",
                {"e": self.e_axis, "k": self.ink_kind},
            )
        container = {"sse_paste": "syringe", "fdm_filament": "spool"}[self.ink_kind]
        if self.reservoir is not None and getattr(self.reservoir, container) is None:
            raise PydanticCustomError(
                RULE_ERROR,
                "reservoir of an {k} printer is a {c}",
                {"k": self.ink_kind, "c": container},
            )
        return self
