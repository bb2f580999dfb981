"""Pydantic models of the ink, recipe and printer-definition files (schema_version 1).

Every model is frozen (``model_config = ConfigDict(frozen=True, extra="forbid")``)
and rejects unknown keys. Numbers are exact ``Decimal`` values carried in
:class:`Quantity` (``.value``, ``.unit``) or :class:`Span` (``.min``, ``.max``,
``.unit``); each field declares its unit and limits once
(``Annotated[Quantity, within("mm", "0.05", "2.0")]``), so a file that says
``layer_height = { value = 3.0, unit = "mm" }`` is refused with the limit it
broke. Integer counts (``perimeters_count``, ``count_per_dose``, ``units_count``)
are plain integers: a count has no unit.

Models, by file kind:

* :class:`Ink` (``inks/*.toml``): ``api``, ``kind``, ``drug_load`` (mg/g),
  ``dried_drug_load``, ``density`` (g/cm3), ``assay`` (%), ``temperature_window``
  (°C span), ``syringe`` (:class:`Syringe`) or ``filament_diameter``,
  ``calibration`` (:class:`Calibration`), ``lot``, ``expiry``, ``storage``, ``process``,
  ``variability`` (:class:`Variability`: the unit-to-unit RSD and offset/drift priors
  the flow controller expects), ``viscosity`` (Pa·s) and ``pressure``
  (:class:`PressureLimits`: the extrusion-pressure alarm limits, kPa; pastes only).
* :class:`Recipe` (``recipes/*.toml``): ``api``, ``ink``, ``printer``, ``form``
  (:class:`FormSpec` with ``bounds``: :class:`FormBounds`), ``strategy``, ``dose``
  (:class:`DoseSpec`) or ``calibration_series`` (:class:`CalibrationSeries`),
  ``tolerances`` (:class:`Tolerances`), ``alarm_policy``, ``qc`` (:class:`QcPolicy`),
  ``validated`` (:class:`ValidatedWindows`), ``validation_status``, ``process``,
  ``control`` (:class:`ControlSettings`: the balance's read noise).
* :class:`PrinterDefinition` (``gcode/printers/*.toml``): ``flavour``, ``ink_kind``,
  ``bed_x``, ``bed_y``, ``max_z``, ``e_axis``, ``relative_e``, ``volumetric_extrusion``,
  ``start_template``, ``end_template``, ``max_command_length``, ``baud``, ``reservoir``
  (:class:`InkReservoir`: syringe mL or spool g, and the dead volume), ``process``.
* :class:`ProcessLayer` (every key optional) is one layer of the resolution stack;
  :class:`ProcessParameters` is the complete, resolved process.

All of them also carry ``schema_version``, ``id``, ``inherits``, ``abstract``,
``name``, ``source`` and ``example`` (:class:`Versioned`).
"""

from __future__ import annotations

from printpharm.catalog._models import (
    CURRENT_SCHEMA_VERSION,
    Calibration,
    Ink,
    InkKind,
    InkReservoir,
    PressureLimits,
    PrinterDefinition,
    ProcessLayer,
    ProcessParameters,
    Syringe,
    Variability,
    Versioned,
)
from printpharm.catalog._quantity import Limits, Number, Quantity, Span, StrictModel, within
from printpharm.catalog._recipes import (
    CAPSULE_VOLUME_ML,
    TEMPLATE_DIMENSIONS,
    AlarmPolicy,
    CalibrationSeries,
    ControlSettings,
    DoseSpec,
    FormBounds,
    FormSpec,
    QcPolicy,
    QcTest,
    Recipe,
    Strategy,
    TemplateName,
    Tolerances,
    ValidatedWindows,
)

__all__ = [
    "CAPSULE_VOLUME_ML",
    "CURRENT_SCHEMA_VERSION",
    "TEMPLATE_DIMENSIONS",
    "AlarmPolicy",
    "Calibration",
    "CalibrationSeries",
    "ControlSettings",
    "DoseSpec",
    "FormBounds",
    "FormSpec",
    "Ink",
    "InkKind",
    "InkReservoir",
    "Limits",
    "Number",
    "PressureLimits",
    "PrinterDefinition",
    "ProcessLayer",
    "ProcessParameters",
    "QcPolicy",
    "QcTest",
    "Quantity",
    "Recipe",
    "Span",
    "Strategy",
    "StrictModel",
    "Syringe",
    "TemplateName",
    "Tolerances",
    "ValidatedWindows",
    "Variability",
    "Versioned",
    "within",
]
