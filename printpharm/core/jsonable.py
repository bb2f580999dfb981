"""Domain values as plain JSON values: the one conversion every JSON output uses.

The CLI's ``--json`` output, the JSON batch result and the batch-record exports all go
through :func:`to_jsonable`, so a Decimal, a date or an enum reads the same everywhere.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePath
from typing import Any

__all__ = ["to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Convert domain objects to plain JSON values.

    Decimals become JSON numbers (they are quantised by the domain code before they get
    here, so their shortest float text equals the decimal text; a non-finite Decimal
    becomes its string); dataclasses become objects, enums their value, paths strings,
    dates and datetimes ISO 8601 text. Anything else is returned unchanged.
    """
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
