"""Scale the extrusion of a stretch of G-code: the actuator of the in-run flow correction.

Marlin's ``M221 S<percent>`` takes whole percent (1 % steps against a ±0.5 %
volume target) and also scales retractions, so the host corrects a unit by
rewriting the E words of its own G-code instead (process-control.md,
"Resolution of the actuator"): every *printing* move (E with an X or Y move)
deposits ``factor`` times its planned material; E-only moves (suck-back and
prime) keep their length, so a unit still ends as retracted as it started and
the next unit starts from the same nozzle state. Relative (``M83``) and
absolute (``M82``, ``G90``/``G91``, ``G92 E``) extrusion are followed like the
firmware does. Each scaled E word keeps the decimals the writer gave it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from printpharm.errors import SlicingError

__all__ = ["ScaledProgram", "e_mode_after", "scale_extrusion"]

_WORD = re.compile(r"([A-Za-z])\s*([-+]?(?:\d+\.?\d*|\.\d+))")
_E_WORD = re.compile(r"(?<![A-Za-z])([Ee])\s*([-+]?(?:\d+\.?\d*|\.\d+))")


@dataclass(frozen=True)
class ScaledProgram:
    """The rewritten lines and the E mode (relative or not) after them."""

    lines: tuple[str, ...]
    relative_e: bool


def _split(line: str) -> tuple[str, str]:
    code, sep, comment = line.partition(";")
    return code, sep + comment


def _mode(code: str, relative: bool) -> bool:
    head = code.split(None, 1)[0].upper() if code.strip() else ""
    if head in ("M83", "G91"):
        return True
    if head in ("M82", "G90"):
        return False
    return relative


def e_mode_after(lines: Sequence[str], relative_e: bool = False) -> bool:
    """The E mode after ``lines`` (Marlin starts absolute; ``G90``/``G91`` set E too)."""
    for line in lines:
        relative_e = _mode(_split(line)[0], relative_e)
    return relative_e


def _format(value: Decimal, like: str) -> str:
    decimals = len(like.split(".", 1)[1]) if "." in like else 0
    quantum = Decimal(1).scaleb(-decimals)
    return f"{value.quantize(quantum, rounding=ROUND_HALF_UP):f}"


def scale_extrusion(lines: Sequence[str], factor: Decimal, relative_e: bool) -> ScaledProgram:
    """Scale the material of every printing move in ``lines`` by ``factor``.

    Parameters
    ----------
    lines : sequence of str
        G-code lines (comments kept as they are).
    factor : Decimal
        Material factor, e.g. ``Decimal("0.9713")`` for 2.87 % less (> 0).
    relative_e : bool
        The E mode in force before the first line.

    Returns
    -------
    ScaledProgram
        The lines with their E words rewritten (unchanged when ``factor`` is 1)
        and the E mode after them.

    Raises
    ------
    SlicingError
        A factor that is not positive and finite.
    """
    if not factor.is_finite() or factor <= 0:
        raise SlicingError(f"extrusion factor {factor} must be a positive number")
    out: list[str] = []
    planned = written = Decimal(0)  # absolute E: the planned and the rewritten position
    for line in lines:
        code, comment = _split(line)
        relative_e = _mode(code, relative_e)
        words = code.split(None, 1)
        head = words[0].upper() if words else ""
        e_match = _E_WORD.search(code) if head in ("G0", "G1", "G92") else None
        if e_match is None or factor == 1:
            out.append(line)
            continue
        value = Decimal(e_match.group(2))
        if head == "G92":
            planned = written = value
            out.append(line)
            continue
        axes = {m.group(1).upper() for m in _WORD.finditer(code)}
        printing = bool(axes & {"X", "Y"})
        delta = value if relative_e else value - planned
        new_delta = delta * factor if printing and delta > 0 else delta
        planned += delta
        written += new_delta
        new_value = new_delta if relative_e else written
        text = _format(new_value, e_match.group(2))
        start, end = e_match.span(2)
        out.append(code[:start] + text + code[end:] + comment)
    return ScaledProgram(tuple(out), relative_e)
