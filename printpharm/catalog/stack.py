"""Fixed-order settings stack: batch override → recipe → ink → printer definition → defaults.

For every process parameter the first layer that sets it wins; the result is a
frozen :class:`ResolvedSettings` whose ``process`` is a complete
:class:`~printpharm.catalog.schema.ProcessParameters` (typed access:
``resolved.process.layer_height.value``) and whose ``settings`` say, for each
value, which layer and which file set it. :meth:`ResolvedSettings.to_record`
gives plain dicts of ``str``/``Decimal``/``int`` for the audit trail.

Inheritance (``inherits``) is resolved by the loader before this stack: a value a
recipe takes from its parent recipe is in the recipe layer, with the parent's file
as its source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from printpharm.catalog._errors import describe_errors
from printpharm.catalog._models import Ink, PrinterDefinition, ProcessLayer, ProcessParameters
from printpharm.catalog._quantity import Quantity, Span
from printpharm.catalog._recipes import Recipe
from printpharm.errors import CatalogError, DesignSpaceError, InputError

__all__ = [
    "DEFAULTS_SOURCE",
    "LAYERS",
    "OVERRIDE_SOURCE",
    "PROCESS_DEFAULTS",
    "ResolvedSettings",
    "Setting",
    "resolve_recipe",
]

#: Layer names, highest priority first.
LAYERS: tuple[str, ...] = ("batch override", "recipe", "ink", "printer definition", "defaults")
#: Source recorded for values from a batch override / from the built-in defaults.
OVERRIDE_SOURCE = "batch override"
DEFAULTS_SOURCE = "printpharm.catalog.stack.PROCESS_DEFAULTS"


def _mm(value: str, unit: str = "mm") -> Quantity:
    return Quantity.model_construct(value=Decimal(value), unit=unit)


#: The lowest layer: neutral values only (no z-hop, no retraction, no prime). Anything
#: that changes the deposited volume (nozzle, layer height, line width, infill) has
#: no default and must come from a file.
PROCESS_DEFAULTS = ProcessLayer.model_construct(
    z_hop=_mm("0"),
    retraction_length=_mm("0"),
    retraction_speed=_mm("0", "mm/s"),
    prime_length=_mm("0"),
    infill_pattern="rectilinear",
)


@dataclass(frozen=True)
class Setting:
    """One resolved value: name, value, unit (``None`` for counts and names), origin."""

    name: str
    value: Decimal | int | str
    unit: str | None
    layer: str
    source: str

    def to_record(self) -> dict[str, Decimal | int | str | None]:
        """Plain dict for the audit trail."""
        return {
            "value": self.value,
            "unit": self.unit,
            "layer": self.layer,
            "source": self.source,
        }


@dataclass(frozen=True)
class ResolvedSettings:
    """The resolved process of one recipe and where each value came from.

    Attributes
    ----------
    recipe_id, ink_id, printer_id
        The ids that were resolved.
    process
        The complete process parameters (typed, Decimal values with units).
    settings
        Name → :class:`Setting` for every set process parameter.
    files
        Path relative to the data root → SHA-256 of every file that contributed.
    """

    recipe_id: str
    ink_id: str
    printer_id: str
    process: ProcessParameters
    settings: Mapping[str, Setting]
    files: Mapping[str, str]

    def __post_init__(self) -> None:
        for name in ("settings", "files"):  # read-only views of their own copies
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def source_of(self, name: str) -> Setting:
        """The :class:`Setting` of process parameter ``name`` (KeyError if not set)."""
        return self.settings[name]

    def to_record(self) -> dict[str, Any]:
        """Plain dicts of str/Decimal/int for the audit trail."""
        return {
            "recipe": self.recipe_id,
            "ink": self.ink_id,
            "printer": self.printer_id,
            "settings": {name: s.to_record() for name, s in self.settings.items()},
            "files": dict(self.files),
        }


def _override_layer(overrides: Mapping[str, Any] | ProcessLayer | None) -> ProcessLayer:
    if overrides is None:
        return ProcessLayer()
    if isinstance(overrides, ProcessLayer):
        return overrides
    try:
        return ProcessLayer.model_validate(dict(overrides))
    except ValidationError as exc:
        message = describe_errors(exc, OVERRIDE_SOURCE, model=ProcessLayer)
        raise InputError(message or str(exc)) from exc


def _setting(name: str, value: Any, layer: str, source: str) -> Setting:
    if isinstance(value, Quantity):
        return Setting(name, value.value, value.unit, layer, source)
    return Setting(name, value, None, layer, source)


def _pick(
    stack: list[tuple[str, ProcessLayer, Mapping[str, str], str]],
) -> dict[str, tuple[Any, Setting]]:
    chosen: dict[str, tuple[Any, Setting]] = {}
    for name in ProcessParameters.model_fields:
        for layer, settings, origin, fallback in stack:
            value = getattr(settings, name)
            if name in settings.model_fields_set and value is not None:
                source = origin.get(f"process.{name}", fallback)
                chosen[name] = (value, _setting(name, value, layer, source))
                break
    return chosen


def resolve_recipe(
    recipe: Recipe,
    ink: Ink,
    printer: PrinterDefinition,
    *,
    origins: Mapping[str, Mapping[str, str]],
    files: Mapping[str, str],
    overrides: Mapping[str, Any] | ProcessLayer | None = None,
    recipe_file: str | None = None,
) -> ResolvedSettings:
    """Resolve the process of ``recipe`` (use :meth:`Catalog.resolve`, which fills the origins).

    Parameters
    ----------
    origins
        For ``"recipe"``, ``"ink"`` and ``"printer"``: dotted key → file that set it.
    files
        Relative path → SHA-256 of the contributing files.
    overrides
        Batch overrides (file-style mapping or a :class:`ProcessLayer`).
    recipe_file
        The recipe's file for messages (default ``"recipe <id>"``).

    Raises
    ------
    InputError
        An override the schema refuses.
    CatalogError
        A parameter no layer sets, or an inconsistent combination (e.g. layer
        height above the nozzle diameter).
    DesignSpaceError
        A temperature outside the recipe's validated window or the ink's window.
    """
    recipe_file = recipe_file or f"recipe {recipe.id}"
    stack = [
        (LAYERS[0], _override_layer(overrides), {}, OVERRIDE_SOURCE),
        (LAYERS[1], recipe.process, origins["recipe"], recipe_file),
        (LAYERS[2], ink.process, origins["ink"], f"ink {ink.id}"),
        (LAYERS[3], printer.process, origins["printer"], f"printer {printer.id}"),
        (LAYERS[4], PROCESS_DEFAULTS, {}, DEFAULTS_SOURCE),
    ]
    chosen = _pick(stack)
    layers = f"batch override, recipe, ink {ink.id}, printer {printer.id}, defaults"
    process = _complete(chosen, recipe_file, layers)
    settings = {name: s for name, (_, s) in chosen.items()}
    windows = (
        ("nozzle_temperature", recipe.validated.nozzle_temperature, "validated window"),
        ("nozzle_temperature", ink.temperature_window, f"ink {ink.id} temperature window"),
        ("bed_temperature", recipe.validated.bed_temperature, "validated window"),
    )
    for name, window, what in windows:
        _check_window(settings[name], window, what, recipe.id)
    return ResolvedSettings(
        recipe_id=recipe.id,
        ink_id=ink.id,
        printer_id=printer.id,
        process=process,
        settings=settings,
        files=files,
    )


def _complete(
    chosen: Mapping[str, tuple[Any, Setting]], recipe_file: str, layers: str
) -> ProcessParameters:
    """Validate the picked values as a complete process; name what is missing."""
    missing = [
        name
        for name, field in ProcessParameters.model_fields.items()
        if field.is_required() and name not in chosen
    ]
    if missing:
        raise CatalogError(
            f"{recipe_file}: process.{', process.'.join(missing)} set by no layer ({layers})"
        )
    try:
        return ProcessParameters.model_validate({k: v for k, (v, _) in chosen.items()})
    except ValidationError as exc:
        label = f"{recipe_file}: resolved process"
        raise CatalogError(describe_errors(exc, label) or str(exc)) from exc


def _check_window(setting: Setting, window: Span, what: str, recipe_id: str) -> None:
    if setting.unit == window.unit and setting.value in window:
        return
    message = (
        f"recipe {recipe_id}: {setting.name} = {setting.value} {setting.unit} "
        f"(from {setting.source}) is outside the {what} {window}"
    )
    if setting.layer == LAYERS[0]:
        raise DesignSpaceError(message)
    raise CatalogError(message)
