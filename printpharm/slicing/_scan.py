"""Vectorised reading of the plain moves that make up nearly every line of a G-code file.

A plate of 30 units is ~60 000 lines, nearly all ``G0``/``G1`` followed by X, Y,
Z, E and F words. Interpreting them one by one in Python costs ~4 µs a line;
here the whole buffer is classified and its numbers parsed at once with NumPy.
Only *what the line says* is read here (which words, which numbers); what the
words mean in the machine's modal state (absolute or relative, current E,
current unit) stays in :mod:`.analysis`, which applies it to runs of these
lines and interprets every other line one by one.

A line is "plain" when it is exactly ``G0`` or ``G1``, a space, then words
separated by spaces, each a letter among X Y Z E F immediately followed by a
number made of digits, ``.`` and ``-``, with nothing else on the line (no
comment, line number, checksum, lower case or trailing blank). Anything else
is left to the line-by-line reader. A file that is not ASCII with ``\\n`` line
ends, or whose numbers do not parse one per word, is not scanned at all
(:func:`scan` returns ``None``): the line-by-line reader then reads it and
reports the line that is wrong.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["AXES", "Scan", "scan"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: Column order of :attr:`Scan.values`.
AXES = "XYZEF"
_SPACE, _NEWLINE = 32, 10
_UNIT_MARK = ";PRINTPHARM UNIT_"
#: Bytes that split lines for ``str.splitlines`` besides ``\n``: their files are read line by line.
_OTHER_BREAKS = b"\r\x0b\x0c\x1c\x1d\x1e"


_NUM, _LETTER, _ALLOWED, _G, _BLANK = 1, 2, 4, 8, 16
_FLAGS = np.zeros(256, dtype=np.uint8)
for _byte in b"0123456789.-":
    _FLAGS[_byte] = _NUM | _ALLOWED
for _byte in AXES.encode():
    _FLAGS[_byte] = _LETTER | _ALLOWED
_FLAGS[ord("G")] = _G | _ALLOWED
_FLAGS[_SPACE] = _BLANK | _ALLOWED
_FLAGS[_NEWLINE] = _ALLOWED  # never inside a line; allowed so that line ends are not "bad"
_COLUMN = np.zeros(256, dtype=np.int64)  # column of each word letter in Scan.values
for _col, _byte in enumerate(AXES.encode()):
    _COLUMN[_byte] = _col


@dataclass(frozen=True, eq=False)
class Scan:
    """The lines and what the plain move lines say.

    Attributes
    ----------
    lines : list of str
        Every line, without its newline (as ``str.splitlines`` gives them).
    plain : ndarray of bool
        Per line: a plain G0/G1 move.
    quiet : ndarray of bool
        Per line: empty, or a comment that is not a ``;PRINTPHARM UNIT_`` mark (nothing to do).
    rows : ndarray of int
        Per line: its row in ``values`` (running count of plain lines before it).
    values : ndarray of float, shape (plain lines, 5)
        X, Y, Z, E, F of each plain line in file order; NaN where the word is absent.
    plain_chars : int
        Characters of all plain lines together.
    """

    lines: list[str]
    plain: BoolArray
    quiet: BoolArray
    rows: IntArray
    values: FloatArray
    plain_chars: int


@dataclass(frozen=True, eq=False)
class _Distinct:
    """What each distinct line says (a plate repeats most of its lines: every layer of the
    same outline, every unit's E and feed words)."""

    plain: BoolArray
    quiet: BoolArray
    values: FloatArray  # one row per plain distinct line
    chars: IntArray  # length of each distinct line


def _lines(buf: npt.NDArray[np.uint8]) -> tuple[IntArray, IntArray]:
    """Start and end offsets of each line (without its newline)."""
    newlines = np.flatnonzero(buf == _NEWLINE)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    if len(buf) == 0 or buf[-1] == _NEWLINE:  # no line after the final newline
        starts, ends = starts[:-1], ends[:-1]
    return starts.astype(np.int64), ends.astype(np.int64)


def _plain_lines(
    buf: npt.NDArray[np.uint8], flags: npt.NDArray[np.uint8], starts: IntArray, ends: IntArray
) -> BoolArray:
    """Which lines are plain moves (see the module docstring)."""
    prev = np.concatenate(([_ALLOWED], flags[:-1]))  # the byte before the first is "a newline"
    nxt = np.concatenate((flags[1:], [_ALLOWED]))
    letter = (flags & _LETTER) != 0
    bad = (flags & _ALLOWED) == 0
    bad |= letter & (((nxt & _NUM) == 0) | ((prev & _BLANK) == 0))  # a word: " <letter><num>"
    bad |= ((flags & _G) != 0) & (np.concatenate(([_NEWLINE], buf[:-1])) != _NEWLINE)
    bad_before = np.concatenate(([0], np.cumsum(bad, dtype=np.int32)))
    ok = (ends - starts >= 5) & (bad_before[ends] == bad_before[starts])
    padded = np.concatenate((buf, np.full(3, _NEWLINE, dtype=np.uint8)))  # short last lines
    ok &= padded[starts] == ord("G")
    ok &= (padded[starts + 1] == ord("0")) | (padded[starts + 1] == ord("1"))
    ok &= padded[starts + 2] == _SPACE
    ok &= padded[ends - 1] != _SPACE  # (a line of 5 or more: its last byte)
    return np.asarray(ok, dtype=bool)


def _numbers(buf: npt.NDArray[np.uint8], keep: BoolArray) -> FloatArray | None:
    """Every number whose bytes are in ``keep``, in order (None if one is malformed)."""
    if not keep.any():
        return np.zeros(0)  # (numpy reads an all-blank string as [-1.0])
    digits = np.where(keep, buf, np.uint8(_SPACE)).tobytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns, then stops, at a malformed number
        try:
            return np.fromstring(digits, dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None


def scan(text: str) -> Scan | None:
    """Classify every line and read the numbers of the plain move lines.

    Each distinct line is classified and read once, then mapped back to every
    line that repeats it.

    Returns
    -------
    Scan or None
        None when the file is not ASCII with ``\\n`` line ends or a plain line's
        numbers do not read one per word (the caller reads it line by line).
    """
    if not text.isascii() or any(chr(byte) in text for byte in _OTHER_BREAKS):
        return None
    lines = text.split("\n")
    if text.endswith("\n") or not text:
        lines.pop()  # no line after the final newline
    index: dict[str, int] = dict.fromkeys(lines, 0)
    for number, line in enumerate(index):
        index[line] = number
    ids = np.fromiter(map(index.__getitem__, lines), dtype=np.int64, count=len(lines))
    distinct = _read_distinct(list(index))
    if distinct is None:
        return None
    plain = distinct.plain[ids] if len(ids) else np.zeros(0, dtype=bool)
    quiet = distinct.quiet[ids] if len(ids) else np.zeros(0, dtype=bool)
    row_of_distinct: IntArray = np.cumsum(distinct.plain) - distinct.plain
    values = distinct.values[row_of_distinct[ids[plain]]]
    rows: IntArray = (np.cumsum(plain) - plain).astype(np.int64)
    chars = int(distinct.chars[ids[plain]].sum())
    return Scan(lines, plain, quiet, rows, values, chars)


def _read_distinct(distinct: list[str]) -> _Distinct | None:
    """Classify the distinct lines and read their plain moves' numbers (None: cannot)."""
    text = "\n".join(distinct) + "\n" if distinct else ""
    buf = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    flags = _FLAGS[buf]
    starts, ends = _lines(buf)
    plain = _plain_lines(buf, flags, starts, ends)
    in_plain = np.repeat(plain, np.diff(np.append(starts, len(buf))))  # per byte (line starts at 0)
    words = np.flatnonzero(in_plain & ((flags & _LETTER) != 0))
    keep = in_plain & ((flags & _NUM) != 0)
    keep[starts[plain] + 1] = False  # the 0 or 1 of G0/G1 is the command, not a value
    numbers = _numbers(buf, keep)
    if numbers is None or len(numbers) != len(words):
        return None
    row_of_word = np.searchsorted(starts[plain], words, side="right") - 1
    cell = row_of_word * len(AXES) + _COLUMN[buf[words]]
    if len(cell) and np.bincount(cell).max() > 1:  # a word twice on a line: line by line
        return None
    values = np.full((int(plain.sum()), len(AXES)), np.nan)
    values.reshape(-1)[cell] = numbers
    quiet = _quiet(text, buf, starts, ends)
    return _Distinct(plain, quiet, values, (ends - starts).astype(np.int64))


def _quiet(text: str, buf: npt.NDArray[np.uint8], starts: IntArray, ends: IntArray) -> BoolArray:
    """Empty lines and comments, except the unit marks (which the reader must see)."""
    empty = ends == starts
    quiet = empty | (buf[np.minimum(starts, max(len(buf) - 1, 0))] == ord(";"))
    for index in np.flatnonzero(quiet & ~empty).tolist():  # a few hundred comments
        start = int(starts[index])
        if text.startswith(_UNIT_MARK, start):
            quiet[index] = False
    return np.asarray(quiet, dtype=bool)
