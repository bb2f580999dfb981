"""A small heater model for the printer simulator: heat rate, overshoot, settling.

Times are simulator seconds (the simulator's clock may run faster than the
wall clock); temperatures are °C.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Heater"]


@dataclass
class Heater:
    """One heater (hotend ``T`` or bed ``B``).

    It heats at ``heat_rate_c_per_s`` until the target, overshoots by up to
    ``overshoot_c`` and settles back within about ``settle_s``; without power it
    cools exponentially towards ``ambient_c``. With ``runaway`` set the heater
    stops heating (a detached thermistor/heater), which the firmware's thermal
    protection notices after ``watch_period_s``.
    """

    name: str
    heat_rate_c_per_s: float = 3.0
    cool_per_s: float = 0.02
    overshoot_c: float = 2.0
    settle_s: float = 5.0
    ambient_c: float = 21.0
    window_c: float = 1.5
    watch_period_s: float = 20.0
    runaway: bool = False
    actual_c: float = 21.0
    target_c: float = 0.0
    _reached_at: float | None = None
    _heating_since: float | None = None
    _now: float = 0.0

    def set_target(self, target_c: float, now_s: float) -> None:
        """Set the target temperature in °C (0 turns the heater off)."""
        self.advance(now_s)
        self.target_c = target_c
        self._reached_at = None
        self._heating_since = now_s if target_c > self.actual_c + self.window_c else None

    def advance(self, now_s: float) -> None:
        """Move the model forward to simulator time ``now_s`` (seconds)."""
        while self._now < now_s:
            dt = min(0.25, now_s - self._now)
            self._now += dt
            self._step(dt)

    def _step(self, dt: float) -> None:
        floor_c = max(self.ambient_c, self.target_c) if self.target_c > 0 else self.ambient_c
        if self.target_c <= 0 or self.runaway:
            self.actual_c = floor_c + (self.actual_c - floor_c) * math.exp(-self.cool_per_s * dt)
            if self.runaway:
                self.actual_c = min(self.actual_c, self.ambient_c + 5.0)
            return
        if self._reached_at is None:
            if self.actual_c < self.target_c:
                self.actual_c = min(self.target_c, self.actual_c + self.heat_rate_c_per_s * dt)
                if self.actual_c < self.target_c:
                    return
            self._reached_at = self._now
            self._heating_since = None
        tau = self.settle_s / 5.0
        t = (self._now - self._reached_at) / tau
        self.actual_c = self.target_c + self.overshoot_c * t * math.exp(1.0 - t)

    def at_target(self) -> bool:
        """Whether the temperature is within ``window_c`` of a reached target."""
        return self._reached_at is not None and abs(self.actual_c - self.target_c) <= self.window_c

    def runaway_detected(self, now_s: float) -> bool:
        """Whether heating has made no progress for ``watch_period_s`` seconds."""
        return (
            self.runaway
            and self._heating_since is not None
            and now_s - self._heating_since >= self.watch_period_s
        )

    def report(self) -> str:
        """``T:210.03 /210.00`` as Marlin prints it."""
        return f"{self.name}:{self.actual_c:.2f} /{self.target_c:.2f}"
