"""Extrusion pressure of the simulated syringe head: flow, paste viscosity, clogs, bubbles.

A load cell under the plunger reads the pressure that pushes the paste through
the nozzle. Its steady value at a volumetric flow *Q* follows a power-law paste
through a capillary (Hagen–Poiseuille for a Newtonian paste, ``flow_index`` 1)::

    P(Q) = P_ref · (Q / Q_ref)^n,    P_ref = 8 · μ · L · Q_ref / (π · r⁴)

with μ the paste's apparent viscosity at printing shear rates (``viscosity_pa_s``),
L and r the nozzle's length and bore radius, ``Q_ref`` = 4 mm³/s. The pressure
follows the flow with the time constant of the paste's and syringe's compliance
(``pressure_tau_s`` while the plunger pushes; ``pressure_relax_s`` when it stands
still, where the compressed paste slowly relaxes; a suck-back empties it at once).

Faults of the process model (:mod:`.process`) show here as a real head shows them:

- a **clog** (``clog_unit``/``clog_factor``: only that share of the flow gets
  through) narrows the bore: the plunger, driven by volume, pushes against it
  and the pressure climbs to ``1/clog_factor`` times its clean value (a full
  clog to the drive's stall pressure ``stall_kpa``) within a second or two of
  the clogged unit's first extrusion, long before the unit could be weighed;
- an **air bubble** (a unit that loses ``b`` of its mass) makes the pressure
  collapse while the air passes the nozzle: a dip of depth ``min(0.95, 5·b)``
  over ``100·b`` mm³ of the unit's extrusion, at a random point of its first
  40 mm³ (typical 1.5–3 % bubbles dip 8–15 %; a 20 % air pocket almost to zero).

The firmware side is :class:`PressureChannel`: ``Cap:PRESSURE_REPORT`` in ``M115``,
``M1105`` answers ``echo:PRESSURE kPa:<p> Q:<flow mm³/s>`` (then ``ok``), and
``M1155 S<seconds>`` auto-reports that line every so many seconds (``S0`` stops),
as ``M105``/``M155`` do for the temperatures.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field

from printpharm.devices.sim.options import check_ranges
from printpharm.devices.sim.options import help_text as _help

__all__ = ["PressureChannel", "PressureConfig", "PressureModel", "Segment"]

#: The reference flow of the viscosity formula, mm³/s (an 8 mm/s bead of 0.9 × 0.6 mm).
Q_REF_MM3_S = 4.0
#: Time constant of the pressure drop when the plunger is sucked back, s.
_SUCK_BACK_TAU_S = 0.2


@dataclass
class PressureConfig:
    """The load cell and the paste's flow resistance (units in the names)."""

    pressure_sensor: bool = field(
        default=True,
        metadata=_help("the head has a load cell: Cap:PRESSURE_REPORT, M1105 and M1155 answer"),
    )
    viscosity_pa_s: float = field(
        default=30.0, metadata=_help("apparent viscosity of the paste at printing shear rates")
    )
    flow_index: float = field(
        default=0.5, metadata=_help("power-law index n of the paste: P ~ Q^n (1 = Newtonian)")
    )
    nozzle_diameter_mm: float = field(default=0.84, metadata=_help("nozzle bore (18 G: 0.84)"))
    nozzle_length_mm: float = field(default=12.7, metadata=_help("nozzle (needle) length"))
    pressure_tau_s: float = field(
        default=0.6, metadata=_help("time constant of the pressure while the plunger pushes")
    )
    pressure_relax_s: float = field(
        default=5.0, metadata=_help("time constant of the pressure relaxing while it stands")
    )
    pressure_noise_kpa: float = field(
        default=1.0, metadata=_help("read noise of the load cell, kPa (standard deviation)")
    )
    stall_kpa: float = field(
        default=800.0, metadata=_help("the most the plunger drive can push (a full clog), kPa")
    )

    def check(self) -> None:
        """Refuse values no head can have.

        Raises
        ------
        InputError
            A value outside its range (named, with the range).
        """
        ranges = {
            "viscosity_pa_s": (0.01, 10000.0),
            "flow_index": (0.05, 1.0),
            "nozzle_diameter_mm": (0.05, 5.0),
            "nozzle_length_mm": (0.5, 100.0),
            "pressure_tau_s": (0.01, 60.0),
            "pressure_relax_s": (0.01, 600.0),
            "pressure_noise_kpa": (0.0, 100.0),
            "stall_kpa": (1.0, 10000.0),
        }
        check_ranges(self, ranges)


@dataclass(frozen=True)
class Segment:
    """A planner move as the plunger sees it: from ``start_s`` to ``end_s`` (simulator time),
    commanded flow ``q_mm3_s`` (negative: suck-back) and the steady pressure it drives."""

    start_s: float
    end_s: float
    q_mm3_s: float
    target_kpa: float


class PressureModel:
    """Integrates the plunger pressure over the moves, unit by unit (module docstring)."""

    def __init__(self, config: PressureConfig, seed: int) -> None:
        config.check()
        self.config = config
        self.seed = seed
        self.kpa = 0.0
        self.q_mm3_s = 0.0
        self._t = 0.0
        self._segments: deque[Segment] = deque()
        self._unit: int | None = None
        self._unit_mm3 = 0.0
        self._dip: tuple[float, float, float] = (0.0, 0.0, 1.0)  # from, to (mm³), factor
        self._working_kpa: float | None = None  # the clean pressure of the last bead

    def steady_kpa(self, q_mm3_s: float) -> float:
        """The clean nozzle's steady pressure at flow ``q_mm3_s`` (kPa)."""
        cfg = self.config
        radius_m = cfg.nozzle_diameter_mm / 2000.0
        length_m = cfg.nozzle_length_mm / 1000.0
        q_ref = Q_REF_MM3_S * 1e-9
        p_ref = 8.0 * cfg.viscosity_pa_s * length_m * q_ref / (math.pi * radius_m**4)
        ratio: float = (max(q_mm3_s, 0.0) / Q_REF_MM3_S) ** cfg.flow_index
        return p_ref / 1000.0 * ratio

    def _enter(self, unit: int, bubble: float) -> None:
        self._unit, self._unit_mm3 = unit, 0.0
        if bubble <= 0:
            self._dip = (0.0, 0.0, 1.0)
            return
        rng = random.Random(f"printpharm-pressure-dip:{self.seed}:{unit}")
        start = rng.uniform(0.0, 40.0)
        self._dip = (start, start + 100.0 * bubble, 1.0 - min(0.95, 5.0 * bubble))

    def add_move(
        self,
        start_s: float,
        end_s: float,
        volume_mm3: float,
        unit: int,
        gain: float,
        bubble: float,
        printing: bool = True,
    ) -> None:
        """A move the planner will run from ``start_s`` to ``end_s`` pushing ``volume_mm3``
        (negative: suck-back) in ``unit``; ``gain`` is how much a clog raises the resistance
        (``inf``: a full clog), ``bubble`` the unit's air-bubble loss. A forward move that is
        not ``printing`` (a prime after a suck-back) restores the working pressure."""
        if unit != self._unit:
            self._enter(unit, bubble)
        duration = max(end_s - start_s, 1e-6)
        q = volume_mm3 / duration
        if q <= 0:
            target = 0.0
        else:
            lo, hi, factor = self._dip
            middle = self._unit_mm3 + volume_mm3 / 2.0
            self._unit_mm3 += volume_mm3
            dip = factor if lo <= middle < hi else 1.0
            if printing or self._working_kpa is None:
                self._working_kpa = self.steady_kpa(q if printing else Q_REF_MM3_S)
            target = min(self.config.stall_kpa, self._working_kpa * gain * dip)
        self._segments.append(Segment(start_s, end_s, q, target))

    def advance(self, now_s: float) -> None:
        """Integrate the pressure up to simulator time ``now_s``."""
        cfg = self.config
        t = self._t
        while t < now_s:
            while self._segments and self._segments[0].end_s <= t:
                self._segments.popleft()
            seg = self._segments[0] if self._segments else None
            if seg is None or seg.start_s > t:  # the plunger stands: the paste relaxes
                until = now_s if seg is None else min(now_s, seg.start_s)
                self.kpa *= math.exp(-(until - t) / cfg.pressure_relax_s)
                self.q_mm3_s = 0.0
                t = until
                continue
            until = min(now_s, seg.end_s)
            tau = cfg.pressure_tau_s if seg.q_mm3_s > 0 else _SUCK_BACK_TAU_S
            self.kpa = seg.target_kpa + (self.kpa - seg.target_kpa) * math.exp(-(until - t) / tau)
            self.q_mm3_s = seg.q_mm3_s
            t = until
        self._t = max(self._t, now_s)


class PressureChannel:
    """The firmware's pressure reports: ``M1105`` (poll), ``M1155 S<s>`` (auto-report)."""

    CAPABILITY = "PRESSURE_REPORT"

    def __init__(self, config: PressureConfig, seed: int) -> None:
        self.model = PressureModel(config, seed)
        self.enabled = config.pressure_sensor
        self._noise = random.Random(f"printpharm-pressure-noise:{seed}")
        self.interval_s = 0.0
        self._next_s = 0.0

    def line(self, now_s: float) -> str:
        """The report line at ``now_s``: ``echo:PRESSURE kPa:152.3 Q:4.32``."""
        self.model.advance(now_s)
        sd = self.model.config.pressure_noise_kpa
        kpa = max(0.0, self.model.kpa + (self._noise.gauss(0.0, sd) if sd else 0.0))
        return f"echo:PRESSURE kPa:{kpa:.1f} Q:{max(self.model.q_mm3_s, 0.0):.2f}"

    def command(self, code: str, words: dict[str, float], now_s: float) -> str | None:
        """Run ``M1105``/``M1155``; the line to print (``None``: nothing, or not ours)."""
        if code == "M1105":
            return self.line(now_s)
        self.interval_s = max(0.0, words.get("S", 0.0))
        self._next_s = now_s + self.interval_s
        return None

    def due(self, now_s: float) -> str | None:
        """The auto-report line if one is due at ``now_s``."""
        if not self.interval_s or now_s < self._next_s:
            return None
        self._next_s = now_s + self.interval_s
        return self.line(now_s)

    def next_event_s(self) -> float | None:
        """When the next auto-report is due (``None``: off)."""
        return self._next_s if self.interval_s else None
