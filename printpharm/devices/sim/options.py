"""``KEY=VALUE`` options of the simulators, read from their config dataclasses.

Every field of :class:`~.printer.PrinterSimConfig` and of its nested
dataclasses (``faults``, ``process``) is an option of the same name, and so
for :class:`~.balance.BalanceSimConfig`: a field added to a config (say a line
``baud``) is an option at once, on ``sim://`` URLs, ``run --sim-option`` and
``sim printer --option``. The value is converted by the field's type (int,
float, bool, str, optionally None); a field's ``metadata["help"]`` is its
help text. A few older short names are kept as aliases.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Any

from printpharm.errors import InputError

__all__ = [
    "OptionTable",
    "SimOption",
    "apply_options",
    "check_ranges",
    "describe",
    "help_text",
    "option_table",
]


def help_text(text: str) -> dict[str, str]:
    """A config field's ``metadata``: the help text the option listings show."""
    return {"help": text}


def check_ranges(config: object, ranges: Mapping[str, tuple[float, float]]) -> None:
    """Refuse a field of ``config`` outside its inclusive ``(low, high)`` range.

    Raises
    ------
    InputError
        The first field outside its range, named with the range.
    """
    for name, (low, high) in ranges.items():
        value = getattr(config, name)
        if not low <= value <= high:
            raise InputError(f"simulator option {name}={value}: must be in {low}..{high}")


def flag(text: str) -> bool:
    """Parse a boolean option value (``1/true/yes/on`` or ``0/false/no/off``; empty = true)."""
    if text.lower() in ("1", "true", "yes", "on", ""):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean")


@dataclasses.dataclass(frozen=True)
class SimOption:
    """One option: where it lives (attribute path from the config), its type, default, help."""

    path: tuple[str, ...]
    kind: str
    default: Any
    help: str
    convert: Callable[[str], Any]


OptionTable = dict[str, SimOption]

_CONVERTERS: dict[Any, tuple[str, Callable[[str], Any]]] = {
    int: ("int", int),
    float: ("number", float),
    bool: ("flag", flag),
    str: ("text", str),
}


def _converter(hint: Any) -> tuple[str, Callable[[str], Any]] | None:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if args and len(args) == 1:  # X | None
        return _CONVERTERS.get(args[0])
    return _CONVERTERS.get(hint)


def option_table(config_type: type[Any], aliases: Mapping[str, str] | None = None) -> OptionTable:
    """The options of a config dataclass and of its nested config dataclasses.

    Fields whose type is not a plain value (nor a nested dataclass) are skipped.
    """
    table: OptionTable = {}

    def walk(cls: type[Any], path: tuple[str, ...], instance: Any) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            hint = hints[f.name]
            default = getattr(instance, f.name)
            if dataclasses.is_dataclass(hint):
                walk(hint, (*path, f.name), default)  # type: ignore[arg-type]
                continue
            conv = _converter(hint)
            if conv is None:
                continue
            if f.name in table:
                raise TypeError(f"simulator option {f.name!r} is defined twice")
            kind, convert = conv
            table[f.name] = SimOption(
                (*path, f.name), kind, default, f.metadata.get("help", ""), convert
            )

    walk(config_type, (), config_type())
    for alias, name in (aliases or {}).items():
        table[alias] = dataclasses.replace(table[name], help=f"same as {name}")
    return table


def apply_options(
    target: Any, options: Mapping[str, str], table: OptionTable, ignore: tuple[str, ...] = ()
) -> None:
    """Set the options on ``target`` (a config instance).

    Raises
    ------
    InputError
        An unknown option (the message lists the accepted ones) or a value its
        type does not read.
    """
    for key, text in options.items():
        if key in ignore:
            continue
        option = table.get(key)
        if option is None:
            known = ", ".join(sorted([*table, *ignore]))
            raise InputError(f"simulator option {key!r} is unknown; accepted options: {known}")
        try:
            value = option.convert(text)
        except ValueError as exc:
            raise InputError(
                f"simulator option {key}={text!r} is not a valid {option.kind} ({exc})"
            ) from exc
        owner = target
        for part in option.path[:-1]:
            owner = getattr(owner, part)
        setattr(owner, option.path[-1], value)


def describe(table: OptionTable, names: tuple[str, ...] | None = None) -> list[str]:
    """``name=<kind> (default d): help`` lines, one per option."""
    lines = []
    for name in names or tuple(sorted(table)):
        option = table[name]
        default = "none" if option.default is None else option.default
        text = f": {option.help}" if option.help else ""
        lines.append(f"{name}=<{option.kind}> (default {default}){text}")
    return lines
