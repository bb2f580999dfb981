"""Read G-code text and report deposited volume, path length, time, layers and extent.

The reader knows nothing of the writer: it interprets G0/G1/G2/G3 (I/J arcs),
G90/G91 (which, as in Marlin, also set E), M82/M83, G92, G28, G4, M200 D
(volumetric E) and the meaning of E it is given (filament mm, plunger mm or
mm³) or finds in a ``;PRINTPHARM EXTRUSION`` header. Moves between
``;PRINTPHARM UNIT_START n=..`` and ``;PRINTPHARM UNIT_END n=..`` are credited
to unit n. A printing move is one that moves in XY while E increases; E-only
moves are retractions and primes (their net is reported separately).

Plain ``G0``/``G1`` lines (nearly all of a plate: ~60 000 for 30 units) are read
with NumPy in runs between the other lines (:mod:`._scan`), which are read one by
one; both ways give the same moves (``tests/slicing/test_analysis_scan.py``), so
the plan still proves every unit's volume from every line it wrote.

Time is acceleration-aware: every move follows a trapezoidal (or triangular)
speed profile from and to rest at the given acceleration - conservative,
because real planners blend corners.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from printpharm.errors import SlicingError
from printpharm.slicing._scan import Scan, scan
from printpharm.slicing._summary import MoveStats, summarise

__all__ = ["GcodeAnalysis", "MoveStats", "analyse_gcode", "busiest_move_rate"]

FloatArray = npt.NDArray[np.float64]
_UNIT = re.compile(r";PRINTPHARM (UNIT_START|UNIT_END) n=(\d+)")
_EXTRUSION = re.compile(r";PRINTPHARM EXTRUSION e_units=(\w+) diameter_mm=([0-9.]+)")


@dataclass(frozen=True, eq=False)
class GcodeAnalysis:
    """The whole file, each unit, and the printing moves for flow checks.

    ``printing`` has one row per printing move: unit number (0 outside units),
    z (mm), XY length (mm) and volume (mm³). ``move_s`` has every move's duration
    at its feed rate (s, no acceleration: what a firmware planner consumes at
    most), in file order; ``command_bytes`` the mean length of a command line
    (comments and blank lines left out, no line number or checksum).
    """

    e_units: str
    diameter_mm: float
    total: MoveStats
    units: dict[int, MoveStats]
    printing: FloatArray
    line_count: int
    move_s: FloatArray
    command_bytes: float


def busiest_move_rate(move_s: FloatArray, window: int) -> float:
    """Moves per second over the ``window`` consecutive moves that take the least time.

    A firmware planner holding ``window`` moves drains them this fast at most; a
    host must deliver lines at least this fast to keep it from running dry.
    Zero-length moves are left out (a planner queues nothing for them).
    """
    timed = move_s[move_s > 0]
    if len(timed) < window or window < 1:
        return 0.0
    sums = np.convolve(timed, np.ones(window), mode="valid")
    return float(window / sums.min())


class _State:
    def __init__(self) -> None:
        self.pos = [0.0, 0.0, 0.0]
        self.e = 0.0
        self.abs_xyz = True
        self.abs_e = True
        self.feed = 1500.0 / 60.0
        self.volumetric = False
        self.unit = 0
        # per-move columns, flat: _COLUMNS values per move (one numpy conversion at the end)
        self.rows: list[float] = []
        self.chunks: list[FloatArray] = []  # rows already converted, in file order
        self.dwell_s = 0.0

    def flush(self) -> None:
        """Move the flat rows into ``chunks`` (before a vectorised run appends its own)."""
        if self.rows:
            self.chunks.append(np.array(self.rows, dtype=np.float64).reshape(-1, _COLUMNS))
            self.rows = []

    def table(self) -> FloatArray:
        """Every move so far, one row each."""
        self.flush()
        if not self.chunks:
            return np.zeros((0, _COLUMNS))
        return np.concatenate(self.chunks)


_LINEAR = frozenset(("G0", "G1", "G00", "G01"))
#: Values recorded per move: unit, length, xy length, ΔE, feed (mm/s), x, y, z, volumetric.
_COLUMNS = 9


def _params(words: list[str], lineno: int) -> dict[str, float]:
    params: dict[str, float] = {}
    for word in words[1:]:
        try:
            params[word[0].upper()] = float(word[1:]) if len(word) > 1 else 0.0
        except ValueError:
            raise SlicingError(f"G-code line {lineno}: cannot read {word!r}") from None
    return params


def _move(st: _State, p: dict[str, float], arc: str | None, lineno: int) -> None:
    if "F" in p:
        if p["F"] <= 0:
            raise SlicingError(f"G-code line {lineno}: feed rate F{p['F']} must be positive")
        st.feed = p["F"] / 60.0
    old = st.pos
    new = [
        (p[a] if st.abs_xyz else old[i] + p[a]) if a in p else old[i] for i, a in enumerate("XYZ")
    ]
    de = 0.0
    if "E" in p:
        de = p["E"] - st.e if st.abs_e else p["E"]
        st.e = st.e + de
    dx, dy, dz = new[0] - old[0], new[1] - old[1], new[2] - old[2]
    xy = math.hypot(dx, dy)
    if arc is not None and xy > 0:
        xy = _arc_length(old, new, p, arc == "G2", lineno)
    length = math.sqrt(xy * xy + dz * dz)
    st.rows += (st.unit, length, xy, de, st.feed, new[0], new[1], new[2], st.volumetric)
    st.pos = new


def _arc_length(
    old: list[float], new: list[float], p: dict[str, float], cw: bool, lineno: int
) -> float:
    if "R" in p or ("I" not in p and "J" not in p):
        raise SlicingError(f"G-code line {lineno}: only I/J arcs are supported")
    cx, cy = old[0] + p.get("I", 0.0), old[1] + p.get("J", 0.0)
    r = math.hypot(old[0] - cx, old[1] - cy)
    a0 = math.atan2(old[1] - cy, old[0] - cx)
    a1 = math.atan2(new[1] - cy, new[0] - cx)
    sweep = (a0 - a1) if cw else (a1 - a0)
    sweep %= 2 * math.pi
    if sweep <= 1e-12:
        sweep = 2 * math.pi
    return r * sweep


def _command(st: _State, cmd: str, p: dict[str, float], lineno: int) -> None:
    if cmd in ("G0", "G1", "G00", "G01"):
        _move(st, p, None, lineno)
    elif cmd in ("G2", "G3", "G02", "G03"):
        _move(st, p, cmd[0] + cmd[-1], lineno)
    elif cmd == "G90":
        st.abs_xyz = st.abs_e = True
    elif cmd == "G91":
        st.abs_xyz = st.abs_e = False
    elif cmd == "M82":
        st.abs_e = True
    elif cmd == "M83":
        st.abs_e = False
    elif cmd == "G92":
        for i, axis in enumerate("XYZ"):
            if axis in p:
                st.pos[i] = p[axis]
        if "E" in p:
            st.e = p["E"]
        if not p:
            st.pos, st.e = [0.0, 0.0, 0.0], 0.0
    elif cmd == "G28":
        st.pos = [0.0, 0.0, 0.0]
    elif cmd == "G4":
        st.dwell_s += p.get("S", 0.0) + p.get("P", 0.0) / 1000.0
    elif cmd == "M200":
        st.volumetric = p.get("D", 0.0) > 0


def analyse_gcode(
    text: str,
    e_units: str | None = None,
    diameter_mm: float | None = None,
    acceleration_mm_s2: float = 1000.0,
) -> GcodeAnalysis:
    """Analyse G-code text.

    Parameters
    ----------
    text : str
        The G-code.
    e_units : {"filament_mm", "plunger_mm", "mm3"}, optional
        What E means; default: the file's ``;PRINTPHARM EXTRUSION`` header.
    diameter_mm : float, optional
        Filament diameter or syringe inner diameter (mm); default: the header.
    acceleration_mm_s2 : float
        Acceleration used for the time estimate (mm/s²).

    Raises
    ------
    SlicingError
        If the meaning of E is unknown, a word cannot be read, or the unit
        comments are unbalanced.
    """
    e_units, diameter_mm = _meaning(text, e_units, diameter_mm)
    st = _State()
    line_count, commands, command_chars = _read(st, text)
    if st.unit:
        raise SlicingError(f"unit {st.unit} has a UNIT_START but no UNIT_END")
    area = math.pi * diameter_mm**2 / 4.0
    rows = st.table()
    volumetric = (rows[:, 8] > 0) | (e_units == "mm3")
    mm3_per_e = np.where(volumetric, 1.0, area)
    found = summarise(rows, mm3_per_e, acceleration_mm_s2, st.dwell_s)
    return GcodeAnalysis(
        e_units,
        diameter_mm,
        found.total,
        found.units,
        found.printing,
        line_count,
        found.move_s,
        command_chars / max(commands, 1),
    )


def _read(st: _State, text: str) -> tuple[int, int, int]:
    """Interpret every line: (lines, commands, characters of commands).

    Plain G0/G1 lines (see :mod:`._scan`) are applied in vectorised runs between
    the other lines, which are read one by one; a file that cannot be scanned is
    read wholly line by line. Both give the same moves.
    """
    found = scan(text)
    if found is None:
        lines = text.splitlines()
        commands = chars = 0
        for lineno, raw in enumerate(lines, start=1):
            is_command, length = _line(st, raw, lineno)
            commands, chars = commands + is_command, chars + length
        return len(lines), commands, chars
    commands, chars = int(found.plain.sum()), found.plain_chars
    done = 0  # plain rows applied so far
    lines, rows = found.lines, found.rows
    for index in np.flatnonzero(~(found.plain | found.quiet)).tolist():
        row = int(rows[index])
        if row > done:
            _apply_plain(st, found, done, row)
            done = row
        is_command, length = _line(st, lines[index], index + 1)
        commands, chars = commands + is_command, chars + length
    if done < len(found.values):
        _apply_plain(st, found, done, len(found.values))
    return len(lines), commands, chars


def _line(st: _State, raw: str, lineno: int) -> tuple[int, int]:
    """Interpret one line: (1 if it is a command else 0, its command's length)."""
    if not raw or raw[0] == ";":
        if raw.startswith(";PRINTPHARM UNIT_"):
            _unit_comment(st, raw, lineno)
        return 0, 0
    if ";" in raw or "*" in raw:
        raw = raw.split(";", 1)[0].split("*", 1)[0]
    words = raw.split()
    if not words:
        return 0, 0
    cmd = words[0].upper()
    if cmd[0] == "N" and len(words) > 1:
        words = words[1:]
        cmd = words[0].upper()
    if cmd in _LINEAR:
        _fast_move(st, words, lineno)
    else:
        _command(st, cmd, _params(words, lineno), lineno)
    return 1, len(raw.strip())


def _apply_plain(st: _State, found: Scan, first: int, stop: int) -> None:
    """Apply plain moves ``first:stop`` in the current modal state, as :func:`_fast_move` would.

    X, Y, Z, E and feed are each row's latest given value (absolute) or the running sum of
    the given values in order (relative), starting from the state before the run.
    """
    cols = found.values[first:stop].copy()
    n = len(cols)
    if np.any(cols[:, 4] <= 0):
        row = first + int(np.argmax(cols[:, 4] <= 0))
        lineno = int(np.flatnonzero(found.plain)[row]) + 1
        raise SlicingError(f"G-code line {lineno}: feed rate must be positive")
    cols[:, 4] /= 60.0  # mm/min → mm/s
    old = np.array([*st.pos, st.e, st.feed])
    given = ~np.isnan(cols)
    latest = np.where(given, np.arange(n)[:, None], -1)
    np.maximum.accumulate(latest, axis=0, out=latest)
    state = np.where(latest >= 0, cols[latest, np.arange(5)], old)
    relative = np.array([not st.abs_xyz] * 3 + [not st.abs_e, False])
    if relative.any():
        summed = np.cumsum(np.vstack((old, np.where(given, cols, 0.0))), axis=0)[1:]
        state = np.where(relative, summed, state)
    if st.abs_e:
        de = np.diff(np.concatenate(([st.e], state[:, 3])))
    else:
        de = np.where(given[:, 3], cols[:, 3], 0.0)
    step = np.diff(np.vstack((old[:3], state[:, :3])), axis=0)
    xy = np.hypot(step[:, 0], step[:, 1])
    out = np.empty((n, _COLUMNS))
    out[:, 0], out[:, 2], out[:, 3], out[:, 4] = st.unit, xy, de, state[:, 4]
    out[:, 1] = np.where(step[:, 2] == 0, xy, np.sqrt(xy * xy + step[:, 2] ** 2))
    out[:, 5:8], out[:, 8] = state[:, :3], st.volumetric
    st.flush()
    st.chunks.append(out)
    st.pos = [float(v) for v in state[-1, :3]]
    st.e, st.feed = float(state[-1, 3]), float(state[-1, 4])


def _fast_move(st: _State, words: list[str], lineno: int) -> None:
    """G0/G1 without building a parameter dictionary (the bulk of any file)."""
    x, y, z = old_x, old_y, old_z = st.pos
    de = 0.0
    try:
        for word in words[1:]:
            key = word[0]
            if key == "X":
                x = float(word[1:]) if st.abs_xyz else x + float(word[1:])
            elif key == "Y":
                y = float(word[1:]) if st.abs_xyz else y + float(word[1:])
            elif key == "E":
                de = float(word[1:]) - st.e if st.abs_e else float(word[1:])
            elif key == "Z":
                z = float(word[1:]) if st.abs_xyz else z + float(word[1:])
            elif key == "F":
                st.feed = float(word[1:]) / 60.0
            else:
                _move(st, _params(words, lineno), None, lineno)
                return
    except ValueError:
        raise SlicingError(f"G-code line {lineno}: cannot read {' '.join(words)!r}") from None
    if st.feed <= 0:
        raise SlicingError(f"G-code line {lineno}: feed rate must be positive")
    st.e += de
    xy = math.hypot(x - old_x, y - old_y)
    length = xy if z == old_z else math.sqrt(xy * xy + (z - old_z) ** 2)
    st.rows += (st.unit, length, xy, de, st.feed, x, y, z, st.volumetric)
    st.pos = [x, y, z]


def _meaning(text: str, e_units: str | None, diameter_mm: float | None) -> tuple[str, float]:
    header = _EXTRUSION.search(text[:4000])
    if e_units is None and header:
        e_units = header.group(1)
    if diameter_mm is None and header:
        diameter_mm = float(header.group(2))
    if e_units not in ("filament_mm", "plunger_mm", "mm3"):
        raise SlicingError(
            f"e_units={e_units!r}: say what E means (filament_mm, plunger_mm or mm3); the file "
            "has no ;PRINTPHARM EXTRUSION header"
        )
    if diameter_mm is None or not diameter_mm > 0:
        if e_units != "mm3":
            raise SlicingError(f"diameter_mm={diameter_mm!r} is needed to read E as {e_units}")
        diameter_mm = 1.0
    return e_units, diameter_mm


def _unit_comment(st: _State, raw: str, lineno: int) -> None:
    match = _UNIT.match(raw)
    if match is None:
        raise SlicingError(f"G-code line {lineno}: malformed unit comment {raw!r}")
    n = int(match.group(2))
    if match.group(1) == "UNIT_START":
        if st.unit:
            raise SlicingError(f"G-code line {lineno}: unit {n} starts inside unit {st.unit}")
        st.unit = n
    else:
        if st.unit != n:
            raise SlicingError(
                f"G-code line {lineno}: UNIT_END n={n} does not close unit {st.unit}"
            )
        st.unit = 0
