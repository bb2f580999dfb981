"""Translate pydantic validation errors into one readable CatalogError line per problem."""

from __future__ import annotations

import types
import typing
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from printpharm.catalog._quantity import RULE_ERROR, VALUE_ERROR

__all__ = ["describe_errors"]


def _key(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts)


def _shown(value: Any) -> str:
    if isinstance(value, dict) and "value" in value and "unit" in value:
        return f"{value['value']} {value['unit']}"
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    return repr(value)


def _describe(error: ErrorDetails, allowed: list[str] | None) -> str:
    key = _key(error["loc"])
    kind = error["type"]
    if kind == VALUE_ERROR:
        return f"{key} = {error['msg']}"
    if kind == RULE_ERROR:
        return f"{key}: {error['msg']}" if key else error["msg"]
    if kind == "missing":
        return f"{key} is missing (required)"
    if kind == "extra_forbidden":
        hint = f" (known keys: {', '.join(allowed)})" if allowed else ""
        return f"{key} is not a known key{hint}"
    msg = error["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return f"{key} = {_shown(error['input'])}: {msg}"


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X``, ``X | None`` or ``Annotated[X, ...]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _submodel(arg)
            if found is not None:
                return found
    return None


def _known_keys(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> list[str]:
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        model = _submodel(model.model_fields[part].annotation)
    return sorted(model.model_fields) if model is not None else []


def describe_errors(
    exc: ValidationError,
    label: str,
    *,
    skip_missing: bool = False,
    model: type[BaseModel] | None = None,
) -> str | None:
    """One ``"<label>: <key> = <value> <problem>"`` line per error, joined by newlines.

    Parameters
    ----------
    exc
        The pydantic error.
    label
        The file (``"recipes/x.toml"``) or ``"batch override"``.
    skip_missing
        Ignore missing keys (abstract bases need not be complete); returns
        ``None`` if nothing else is wrong.
    model
        The validated model, used to list the known keys beside an unknown one.
    """
    lines = []
    for error in exc.errors():
        if skip_missing and error["type"] == "missing":
            continue
        allowed = _known_keys(model, error["loc"][:-1]) if model is not None else None
        lines.append(f"{label}: {_describe(error, allowed)}")
    return "\n".join(lines) if lines else None
