"""Statistics of a G-code file's moves: per unit and in all (volume, lengths, time, extent)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["MoveStats", "Summary", "summarise"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MoveStats:
    """Aggregates of a set of moves (a unit or the whole file).

    Attributes
    ----------
    volume_mm3 : float
        Material deposited by printing moves (mm³).
    path_length_mm : float
        Length of printing moves (mm).
    travel_length_mm : float
        Length of non-printing moves (mm).
    retract_net_mm3 : float
        Net material of E-only moves (retract/prime); 0 when balanced (mm³).
    time_s : float
        Estimated time (s).
    layers : int
        Distinct heights at which material was deposited.
    printing_moves : int
        Number of printing moves.
    bbox_min_mm, bbox_max_mm : tuple of float
        Extent of printing moves (x, y, z) in mm.
    """

    volume_mm3: float
    path_length_mm: float
    travel_length_mm: float
    retract_net_mm3: float
    time_s: float
    layers: int
    printing_moves: int
    bbox_min_mm: tuple[float, float, float]
    bbox_max_mm: tuple[float, float, float]


@dataclass(frozen=True, eq=False)
class Summary:
    """The file's and each unit's statistics, the printing moves and every move's time."""

    total: MoveStats
    units: dict[int, MoveStats]
    printing: FloatArray
    move_s: FloatArray


def _distinct(values: FloatArray) -> int:
    """How many distinct values (``np.unique`` of floats would import numpy.ma: ~10 ms)."""
    if not len(values):
        return 0
    ordered = np.sort(values)
    return 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def _distinct_per_group(
    group: npt.NDArray[np.intp], values: FloatArray, groups: int
) -> npt.NDArray[np.int64]:
    """How many distinct values each group has (``group`` sorted, as the rows are)."""
    order = np.lexsort((values, group))
    g, v = group[order], values[order]
    first = np.ones(len(g), dtype=bool)
    first[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    return np.bincount(g[first], minlength=groups).astype(np.int64)


def _move_times(dist: FloatArray, speed: FloatArray, accel: float) -> FloatArray:
    ramp = speed * speed / accel  # distance to reach the speed and stop again
    with np.errstate(invalid="ignore", divide="ignore"):
        full = dist / speed + speed / accel
        short = 2.0 * np.sqrt(dist / accel)
    return np.where(dist >= ramp, full, short)


@dataclass(frozen=True)
class _Columns:
    """Per-move columns that unit and file statistics are summed from."""

    printing: npt.NDArray[np.bool_]
    e_only: npt.NDArray[np.bool_]
    xyz: FloatArray
    volume: FloatArray
    xy: FloatArray
    length: FloatArray
    times: FloatArray

    def taken(self, order: npt.NDArray[np.intp]) -> _Columns:
        return _Columns(*(getattr(self, f.name)[order] for f in dataclasses.fields(self)))

    def grouped(self, starts: npt.NDArray[np.intp]) -> list[MoveStats]:
        """The statistics of each group of rows beginning at ``starts`` (sorted, first 0)."""
        if not len(starts):
            return []
        pm = self.printing

        def summed(values: FloatArray) -> list[float]:
            return [float(v) for v in np.add.reduceat(values, starts)]

        sizes = np.diff(np.append(starts, len(pm)))
        group = np.repeat(np.arange(len(starts)), sizes)
        pts = self.xyz
        lo = np.minimum.reduceat(np.where(pm[:, None], pts, np.inf), starts, axis=0)
        hi = np.maximum.reduceat(np.where(pm[:, None], pts, -np.inf), starts, axis=0)
        moves = np.add.reduceat(pm.astype(np.int64), starts)
        layers = _distinct_per_group(group[pm], np.round(pts[pm, 2], 4), len(starts))
        columns = zip(
            summed(np.where(pm, self.volume, 0.0)),
            summed(np.where(pm, self.xy, 0.0)),
            summed(np.where(pm, 0.0, self.length)),
            summed(np.where(self.e_only, self.volume, 0.0)),
            summed(self.times),
            strict=True,
        )
        out = []
        for g, (volume, path, travel, retract, time_s) in enumerate(columns):
            empty = moves[g] == 0
            out.append(
                MoveStats(
                    volume_mm3=volume,
                    path_length_mm=path,
                    travel_length_mm=travel,
                    retract_net_mm3=retract,
                    time_s=time_s,
                    layers=int(layers[g]),
                    printing_moves=int(moves[g]),
                    bbox_min_mm=(0.0, 0.0, 0.0) if empty else tuple(map(float, lo[g])),  # type: ignore[arg-type]
                    bbox_max_mm=(0.0, 0.0, 0.0) if empty else tuple(map(float, hi[g])),  # type: ignore[arg-type]
                )
            )
        return out

    def stats(self, part: slice, extra_s: float) -> MoveStats:
        pm = self.printing[part]
        pts = self.xyz[part][pm]
        lo = tuple(float(v) for v in pts.min(axis=0)) if len(pts) else (0.0, 0.0, 0.0)
        hi = tuple(float(v) for v in pts.max(axis=0)) if len(pts) else (0.0, 0.0, 0.0)
        volume = self.volume[part]
        return MoveStats(
            volume_mm3=float(volume[pm].sum()),
            path_length_mm=float(self.xy[part][pm].sum()),
            travel_length_mm=float(self.length[part][~pm].sum()),
            retract_net_mm3=float(volume[self.e_only[part]].sum()),
            time_s=float(self.times[part].sum()) + extra_s,
            layers=_distinct(np.round(pts[:, 2], 4)),
            printing_moves=int(pm.sum()),
            bbox_min_mm=lo,  # type: ignore[arg-type]
            bbox_max_mm=hi,  # type: ignore[arg-type]
        )


def summarise(rows: FloatArray, mm3_per_e: FloatArray, accel: float, dwell_s: float) -> Summary:
    """Statistics of every move (rows as :mod:`.analysis` records them), per unit and in all.

    ``rows`` has one row per move: unit, length, xy length, ΔE, feed (mm/s), x, y, z and
    volumetric; ``mm3_per_e`` converts each move's ΔE to mm³; ``accel`` (mm/s²) times the
    moves; ``dwell_s`` is added to the file's time.
    """
    unit, length, xy, de, speed = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4]
    volume = de * mm3_per_e
    e_only = length <= 1e-12
    dist = np.where(e_only, np.abs(de), length)
    times = _move_times(dist, speed, accel)
    printing = (xy > 1e-9) & (de > 0)
    stats_rows = np.column_stack((unit, rows[:, 7], xy, volume))[printing]

    everything = _Columns(printing, e_only, rows[:, 5:8], volume, xy, length, times)
    # each unit's rows are a slice once the columns are ordered by unit (stable: file order)
    order = np.argsort(unit, kind="stable")
    by_unit = everything.taken(order)
    ordered = unit[order]
    changes = np.flatnonzero(np.diff(ordered)) + 1
    starts = np.concatenate(([0], changes)).astype(np.intp) if len(unit) else changes
    units = {
        n: stats
        for n, stats in zip(ordered[starts].tolist(), by_unit.grouped(starts), strict=True)
        if n > 0
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        move_s = np.where(dist > 0, dist / speed, 0.0)
    return Summary(everything.stats(slice(None), dwell_s), units, stats_rows, move_s)
