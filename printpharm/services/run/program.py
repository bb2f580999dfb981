"""Split a plate's G-code into what the run streams before, per unit and after.

The planner marks each unit with structured comments (the printer never sees
them: comments are stripped before sending)::

    ;PRINTPHARM UNIT_START n=1 of=10 target_mg=200.000
    ... the unit's moves ...
    ;PRINTPHARM UNIT_END n=1
    G0 Z10            ; lift off the unit
    ;PRINTPHARM WEIGH n=1          (optional weigh point)

A unit's block runs from its ``UNIT_START`` to its weigh point if there is
one, else to its ``UNIT_END``. Lines between one unit's block and the next
``UNIT_START`` (travel, prime) belong to the next unit, since whatever they
deposit lands on the next unit; lines after the last block are the postamble.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from printpharm.errors import SlicingError

__all__ = ["MARKER", "PlateProgram", "UnitProgram", "parse_plate_gcode"]

#: The comment prefix of planner markers.
MARKER = ";PRINTPHARM"


@dataclass(frozen=True)
class UnitProgram:
    """One unit of the plate: number, count, target ink mass (mg) and its G-code lines."""

    n: int
    of: int
    target_mg: Decimal
    lines: tuple[str, ...]
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlateProgram:
    """The whole plate: start code, units in print order, end code."""

    preamble: tuple[str, ...]
    units: tuple[UnitProgram, ...]
    postamble: tuple[str, ...]

    @property
    def targets_mg(self) -> tuple[Decimal, ...]:
        """Target ink mass of each unit in mg."""
        return tuple(u.target_mg for u in self.units)


def _marker(line: str, number: int) -> tuple[str, dict[str, str]] | None:
    text = line.strip()
    if not text.upper().startswith(MARKER):
        return None
    words = text[len(MARKER) :].split()
    if not words:
        raise SlicingError(f"G-code line {number}: {MARKER} marker without a keyword")
    fields: dict[str, str] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or not key or not value:
            raise SlicingError(f"G-code line {number}: {word!r} in {text!r} is not key=value")
        fields[key] = value
    return words[0].upper(), fields


def _int_field(fields: dict[str, str], key: str, number: int) -> int:
    try:
        return int(fields[key])
    except (KeyError, ValueError) as exc:
        raise SlicingError(
            f"G-code line {number}: marker needs an integer {key}= (got {fields.get(key)!r})"
        ) from exc


def _target(fields: dict[str, str], number: int) -> Decimal:
    try:
        value = Decimal(fields["target_mg"])
    except (KeyError, InvalidOperation) as exc:
        raise SlicingError(
            f"G-code line {number}: UNIT_START needs target_mg=<mg> "
            f"(got {fields.get('target_mg')!r})"
        ) from exc
    if not value.is_finite() or value <= 0:
        raise SlicingError(f"G-code line {number}: target_mg={value} must be a positive mass")
    return value


class _Splitter:
    def __init__(self) -> None:
        self.preamble: list[str] = []
        self.units: list[UnitProgram] = []
        self.pending: list[str] = []  # lines after the last block
        self.current: list[str] | None = None
        self.start: tuple[int, int, Decimal, dict[str, str]] | None = None
        self.ended: int | None = None  # unit whose END was seen but whose block is open

    def close_block(self) -> None:
        assert self.start is not None and self.current is not None
        n, of, target, fields = self.start
        self.units.append(UnitProgram(n, of, target, tuple(self.current), fields))
        self.current, self.start, self.ended = None, None, None

    def marker(self, keyword: str, fields: dict[str, str], line: str, number: int) -> None:
        if keyword == "UNIT_START":
            self.unit_start(fields, number)
            assert self.current is not None
            self.current.append(line)
        elif keyword == "UNIT_END":
            self.unit_end(fields, number)
            assert self.current is not None
            self.current.append(line)
        elif keyword == "WEIGH":
            n = _int_field(fields, "n", number)
            if self.ended != n:
                raise SlicingError(f"G-code line {number}: WEIGH n={n} outside unit {n}'s end")
            assert self.current is not None
            self.current.extend(self.pending)  # the lift between END and the weigh point
            self.pending = []
            self.current.append(line)
            self.close_block()
        else:
            self.append(line)

    def unit_start(self, fields: dict[str, str], number: int) -> None:
        if self.current is not None and self.ended is None:
            raise SlicingError(f"G-code line {number}: UNIT_START inside an unfinished unit")
        if self.current is not None:
            self.close_block()
        n, of = _int_field(fields, "n", number), _int_field(fields, "of", number)
        expected = len(self.units) + 1
        if n != expected:
            raise SlicingError(f"G-code line {number}: unit n={n} where n={expected} was expected")
        if self.units and of != self.units[0].of:
            raise SlicingError(f"G-code line {number}: of={of} differs from of={self.units[0].of}")
        self.start = (n, of, _target(fields, number), fields)
        self.current = [*self.pending]
        self.pending = []

    def unit_end(self, fields: dict[str, str], number: int) -> None:
        n = _int_field(fields, "n", number)
        if self.start is None or self.ended is not None or self.start[0] != n:
            raise SlicingError(f"G-code line {number}: UNIT_END n={n} without its UNIT_START")
        self.ended = n

    def append(self, line: str) -> None:
        if self.current is not None and self.ended is None:
            self.current.append(line)
        elif self.current is not None:
            self.pending.append(line)  # after END, before WEIGH or the next START
        elif self.units:
            self.pending.append(line)
        else:
            self.preamble.append(line)


def parse_plate_gcode(text: str) -> PlateProgram:
    """Split plate G-code at the planner's unit markers.

    Parameters
    ----------
    text : str
        The plate's G-code with ``;PRINTPHARM UNIT_START/UNIT_END/WEIGH`` markers.

    Returns
    -------
    PlateProgram
        Preamble, units (numbered 1..N, with target mass in mg) and postamble.

    Raises
    ------
    SlicingError
        No units, units out of order, a START without END, an ``of=`` that is
        not the number of units, or a missing/non-positive ``target_mg``.
    """
    splitter = _Splitter()
    for number, line in enumerate(text.splitlines(), start=1):
        parsed = _marker(line, number)
        if parsed is None:
            splitter.append(line)
        else:
            splitter.marker(parsed[0], parsed[1], line, number)
    if splitter.current is not None:
        if splitter.ended is None:
            raise SlicingError(f"G-code ends inside unit {splitter.start and splitter.start[0]}")
        splitter.close_block()  # lines after the last UNIT_END stay in pending: the postamble
    if not splitter.units:
        raise SlicingError(f"G-code has no {MARKER} UNIT_START markers: nothing to weigh")
    if splitter.units[0].of != len(splitter.units):
        raise SlicingError(
            f"G-code declares of={splitter.units[0].of} units but holds {len(splitter.units)}"
        )
    return PlateProgram(tuple(splitter.preamble), tuple(splitter.units), tuple(splitter.pending))
