"""What a simulated printer really deposits: the ink's calibration and a rough process.

A printer pushes out the volume its G-code commands (after suck-back and any
clog); the *mass* that lands on the plate is what the ink's calibration
predicts, ``mass_mg = a · V + b`` per unit (``mass_per_mm3``, ``mass_offset_mg``),
times the process's own variation, as the reference model of process-control.md
has it: unit *k* weighs ``T · (1 + b_k) · (1 + e_k)``:

- ``bias``: a constant offset of the deposit (ink loading, density of this lot),
- ``drift_pct_per_unit``: a slow drift as the syringe empties or the paste settles
  (counted over the units this simulator has printed, so it carries on across batches),
- ``process_rsd``: unit-to-unit noise (paste inhomogeneity), one Gaussian draw per unit,
- ``process_sd_mg``: unit-to-unit noise constant in mg (what an unweighted calibration fit
  models), one more Gaussian draw per unit, after the others (so seeds keep their units),
- ``bubble_rate``/``bubble_loss``: occasional air bubbles that make a unit light,
- ``start_lag_mm3``: material that does not come out at each extrusion start
  (pressure build-up), so units with many starts weigh a little low,
- ``clog_unit``/``clog_factor``: from that unit on (a clog persists), only
  ``clog_factor`` of the commanded volume gets through (0 = a full clog).

Units are numbered by the balance's tares (see :class:`~.plate.Plate`). Every
random draw of a unit comes from its own generator seeded by ``(seed, unit)``,
so a unit's deposit does not depend on how many moves or lines came before.

Defaults are those of a good SSE paste printer (process-control.md: unit mass
RSD 1–4 %, well-formulated pastes 1–2 %); :data:`KIND_DEFAULTS` holds the FDM
set (drug filaments ~1 %).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from printpharm.devices.sim.options import check_ranges
from printpharm.devices.sim.options import help_text as _help
from printpharm.errors import InputError

__all__ = ["IDEAL", "KIND_DEFAULTS", "Process", "ProcessConfig"]


@dataclass
class ProcessConfig:
    """The physics of the deposit (fractions unless the name says ``pct``/``mm3``/``mg``)."""

    ink_kind: str = field(
        default="sse_paste",
        metadata=_help("sse_paste or fdm_filament: picks the realistic defaults of that kind"),
    )
    mass_per_mm3: float = field(
        default=1.0, metadata=_help("calibration slope a in mg per mm3 deposited")
    )
    mass_offset_mg: float = field(
        default=0.0, metadata=_help("calibration offset b in mg per unit")
    )
    process_rsd: float = field(
        default=0.02,
        metadata=_help("unit-to-unit RSD of the deposited mass (0.02 = 2 %; 0 = an ideal process)"),
    )
    process_sd_mg: float = field(
        default=0.0,
        metadata=_help("unit-to-unit SD of the deposited mass in mg, on top of process_rsd"),
    )
    drift_pct_per_unit: float = field(
        default=-0.02,
        metadata=_help("drift of the deposit in % per unit printed (syringe emptying, settling)"),
    )
    bias: float = field(
        default=0.0, metadata=_help("constant offset of the deposit (0.03 = 3 % heavy)")
    )
    bubble_rate: float = field(
        default=0.02, metadata=_help("chance per unit of an air bubble (0-1)")
    )
    bubble_loss: float = field(
        default=0.03, metadata=_help("largest mass fraction a bubble takes from a unit")
    )
    start_lag_mm3: float = field(
        default=0.01,
        metadata=_help("mm3 that do not come out at each extrusion start (pressure build-up)"),
    )
    clog_unit: int | None = field(
        default=None, metadata=_help("unit (counted by tares) from which a clog persists")
    )
    clog_factor: float = field(
        default=0.5, metadata=_help("share of the volume a clog lets through (0 = full clog)")
    )

    def check(self) -> None:
        """Refuse values no process can have.

        Raises
        ------
        InputError
            A value outside its range (named, with the range).
        """
        ranges = {
            "mass_per_mm3": (0.01, 10.0),
            "mass_offset_mg": (-1000.0, 1000.0),
            "process_rsd": (0.0, 0.5),
            "process_sd_mg": (0.0, 1000.0),
            "drift_pct_per_unit": (-20.0, 20.0),
            "bias": (-0.9, 2.0),
            "bubble_rate": (0.0, 1.0),
            "bubble_loss": (0.0, 1.0),
            "start_lag_mm3": (0.0, 100.0),
            "clog_factor": (0.0, 1.0),
        }
        check_ranges(self, ranges)
        if self.ink_kind not in KIND_DEFAULTS:
            raise InputError(
                f"simulator option ink_kind={self.ink_kind!r}: expected "
                + " or ".join(KIND_DEFAULTS)
            )
        if self.clog_unit is not None and self.clog_unit < 1:
            raise InputError(f"simulator option clog_unit={self.clog_unit}: must be >= 1")


#: Realistic defaults per ink kind (process-control.md): SSE pastes 1–4 % RSD (2 % here, a
#: good paste), a little drift, occasional bubbles; FDM filaments ~1 %, no air, little lag.
KIND_DEFAULTS: dict[str, dict[str, float]] = {
    "sse_paste": {
        "process_rsd": 0.02,
        "drift_pct_per_unit": -0.02,
        "bubble_rate": 0.02,
        "start_lag_mm3": 0.01,
    },
    "fdm_filament": {
        "process_rsd": 0.01,
        "drift_pct_per_unit": 0.0,
        "bubble_rate": 0.0,
        "start_lag_mm3": 0.002,
    },
}
#: What ``process_rsd=0`` turns off unless given explicitly: an ideal, noise-free process.
IDEAL: dict[str, float] = {"drift_pct_per_unit": 0.0, "bubble_rate": 0.0, "start_lag_mm3": 0.0}


class Process:
    """Turns commanded volumes into deposited mass, unit by unit (see the module docstring)."""

    def __init__(self, config: ProcessConfig, seed: int) -> None:
        config.check()
        self.config = config
        self.seed = seed
        self.unit: int | None = None
        self.factor = 1.0
        self.bubble = 0.0
        self._extruding = False

    def _enter(self, unit: int) -> float:
        """Start unit ``unit``: draw its noise and bubble; return its offset b in mg."""
        cfg = self.config
        self.unit = unit
        rng = random.Random(f"printpharm-process:{self.seed}:{unit}")
        noise = rng.gauss(0.0, cfg.process_rsd) if cfg.process_rsd else 0.0
        bubbled = rng.random() < cfg.bubble_rate
        self.bubble = cfg.bubble_loss * (0.5 + 0.5 * rng.random()) if bubbled else 0.0
        drift = cfg.drift_pct_per_unit / 100.0 * max(0, unit - 1)
        self.factor = max(0.0, (1.0 + cfg.bias) * (1.0 + drift) * (1.0 + noise)) * (
            1.0 - self.bubble
        )
        noise_mg = rng.gauss(0.0, cfg.process_sd_mg) if cfg.process_sd_mg else 0.0
        return cfg.mass_offset_mg + noise_mg if unit >= 1 else 0.0

    def clogged(self, unit: int) -> bool:
        """Whether a clog holds back material in ``unit``."""
        clog = self.config.clog_unit
        return clog is not None and unit >= clog

    def deposit(self, unit: int, volume_mm3: float, printing: bool) -> tuple[float, float]:
        """(volume mm³, mass mg) that reach the plate from ``volume_mm3`` pushed out.

        ``printing`` is True for a move that extrudes while moving in XY (a bead);
        the first of a run of such moves is an extrusion start and loses
        ``start_lag_mm3``. E-only moves (primes) and travels end a run.
        """
        offset_mg = self._enter(unit) if unit != self.unit else 0.0
        if volume_mm3 <= 0:
            self._extruding = False
            return 0.0, offset_mg
        if self.clogged(unit):
            volume_mm3 *= self.config.clog_factor
        effective = volume_mm3
        if printing and not self._extruding:
            effective = max(0.0, volume_mm3 - self.config.start_lag_mm3)
        self._extruding = printing
        return volume_mm3, effective * self.config.mass_per_mm3 * self.factor + offset_mg

    def pause(self) -> None:
        """A travel or a retraction: the next bead is an extrusion start."""
        self._extruding = False
