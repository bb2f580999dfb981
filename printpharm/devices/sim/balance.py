"""An MT-SICS level 0/1 analytical balance simulator (reference §2.1).

Commands end with CR LF (a bare LF is a syntax error, ``ES``); answers end
with CR LF. The weight is what sits on the pan: a container plus, when linked
to the printer simulator through a :class:`Plate`, the mass the printer
deposited (the process, its bias and its noise live in the printer: the
balance only weighs). Like a real analytical balance it adds its own read
noise (``balance_sd_mg``; a 5-place balance: s ≈ 0.01–0.02 mg, balances.md),
a slow zero drift (``drift_mg_per_min``, removed by each tare), and settles
after a change: the reading approaches the new weight exponentially and is
reported stable after ``settle_s``. Faults: a balance that never settles
(``S I`` after its stability timeout, ``S D`` from ``SI``), and over-/underload
(``S +``/``S -``); and faults of the link, as the printer simulator has them
(:class:`BalanceFaults`): reply lines garbled by line noise (MT-SICS replies carry
no checksum), a balance that goes silent (power, a cable) or drops off the bus.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from printpharm.devices.sim._base import SimDevice, corrupt
from printpharm.devices.sim.check_weights import CheckWeightHand
from printpharm.devices.sim.plate import Plate

__all__ = ["BalanceFaults", "BalanceSim", "BalanceSimConfig"]

_NEEDS_STABLE = ("S", "Z", "T")


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class BalanceFaults:
    """Faults to inject into the balance: the weighing, and the link.

    Link faults are named like the printer's (:class:`~.printer.PrinterFaults`),
    with a ``balance_`` prefix since ``run --sim-option`` gives both simulators
    one namespace. Counts are commands answered (identification ``@``, ``I2``,
    ``I4`` included); a garbled reply has exactly one byte changed, as line noise
    does, drawn from a random stream of its own (seeded by ``seed``) so that the
    readings are the same with and without the fault.
    """

    never_settles: bool = False
    overload: bool = False
    underload: bool = False
    balance_corrupt_tx_rate: float = field(
        default=0.0,
        metadata=_help("chance per reply line that one byte is changed (line noise)"),
    )
    balance_garble_weight_reply: int | None = field(
        default=None,
        metadata=_help(
            "the Nth stable weight reply ('S S <value> g') has one digit of its value "
            "changed to another digit: the garble no parser can see"
        ),
    )
    balance_silent_after_commands: int | None = field(
        default=None,
        metadata=_help("after N commands answered the balance answers nothing (power, cable)"),
    )
    balance_drop_after_commands: int | None = field(
        default=None,
        metadata=_help("after N commands answered the balance drops off the bus (USB unplugged)"),
    )


@dataclass
class BalanceSimConfig:
    """Balance identity, resolution, noise, drift and settling.

    ``balance_sd_mg`` is the standard deviation of one reading (mg);
    ``drift_mg_per_min`` the zero drift (mg per simulated minute); ``settle_s``
    is how long the reading needs to become stable after a change;
    ``stable_timeout_s`` is when ``S`` gives up with ``S I``; ``check_weight_g``
    (the true mass of a check weight) gives the balance a hand that places it
    during a guided balance check (:mod:`.check_weights`). Seconds are
    simulator seconds.
    """

    seed: int = 0
    model: str = "XS205 DualRange"
    capacity_g: str = "220.0090"
    serial: str = "1126493049"
    decimals: int = 5
    unit: str = "g"
    balance_sd_mg: float = field(default=0.02, metadata={"help": "read noise of the balance in mg"})
    drift_mg_per_min: float = field(
        default=0.005, metadata={"help": "zero drift of the balance in mg per minute"}
    )
    settle_s: float = field(default=1.5, metadata={"help": "seconds to settle after a change"})
    stable_timeout_s: float = 10.0
    container_g: float = 12.5
    check_weight_g: float | None = field(
        default=None,
        metadata={"help": "true mass in g of a check weight a hand places during a balance check"},
    )
    faults: BalanceFaults = field(default_factory=BalanceFaults)


class BalanceSim(SimDevice):
    """The simulated balance; see the module docstring."""

    eol = b"\r\n"

    def __init__(self, config: BalanceSimConfig | None = None, plate: Plate | None = None) -> None:
        self.config = cfg = config or BalanceSimConfig()
        super().__init__(cfg.seed)
        self.plate = plate or Plate()
        self.executed: list[str] = []
        self.zero_g = 0.0
        self.tare_g = 0.0
        self._rx = bytearray()
        self._queue: deque[str] = deque()
        self._now = 0.0
        self._last_change = 0.0
        self._seen_changes = self.plate.changes
        # with check_weight_g, a hand follows the guided balance check by itself
        self.hand = CheckWeightHand()
        if cfg.check_weight_g is not None:
            self.hand.weight_g, self.hand.auto = cfg.check_weight_g, True
        self._target_g = self._load_g()  # the load as of the last change noticed
        self._start_g = self._target_g  # what the display showed at that change
        self._started: float | None = None
        self.answered = 0  # commands answered, for the link faults
        self.weight_replies = 0  # stable weight replies sent
        self.garbled = 0  # reply lines line noise changed
        self._link_rng = random.Random(cfg.seed * 7919 + 3)
        # SI readings draw their read noise from a stream of their own: a host that
        # confirms each S with an SI sees the same S readings as one that does not
        self._si_rng = random.Random(cfg.seed * 7919 + 4)

    def feed(self, data: bytes) -> None:
        """Bytes from the host."""
        with self.lock:
            if self.disconnected:
                return
            self._rx += data
            while (end := self._rx.find(b"\n")) >= 0:
                raw = bytes(self._rx[:end])
                del self._rx[: end + 1]
                self._queue.append(raw.decode("ascii", errors="replace") if raw else "")

    def _load_g(self) -> float:
        return self.config.container_g + self.plate.deposited_mg / 1000.0 + self.hand.load_g

    def _settling_g(self) -> float:
        """The load as displayed: it approaches the new load exponentially after a change.

        Once stable (``settle_s`` after the change) it shows the load: a balance declares
        stability only when its display stays within its readability, and a 100 g check
        weight's e^-10 remainder (4.5 mg) would otherwise read as poor repeatability.
        """
        tau = self.config.settle_s / 10.0
        elapsed = self._now - self._last_change
        if tau <= 0 or elapsed >= self.config.settle_s:
            return self._target_g
        return self._target_g - (self._target_g - self._start_g) * math.exp(-elapsed / tau)

    def gross_g(self) -> float:
        """What the balance shows in grams, without read noise: load, settling, zero drift."""
        return self._settling_g() + self._drift_g()

    def stable(self) -> bool:
        """Whether the reading has settled."""
        if self.config.faults.never_settles:
            return False
        return self._now - self._last_change >= self.config.settle_s

    def step(self, now_s: float) -> None:
        """Answer queued commands up to simulator time ``now_s`` (seconds)."""
        with self.lock:
            self._now = max(self._now, now_s)
            if self.plate.changes != self._seen_changes:
                self._seen_changes = self.plate.changes
                self._load_changed()
            self._link_faults()
            while self._queue:
                if self._started is None:
                    self._started = self._now
                if not self._answer(self._queue[0]):
                    return
                self._queue.popleft()
                self._started = None
                self._count_answer()

    def _count_answer(self) -> None:
        """One more command answered: the link faults that count commands take effect."""
        self.answered += 1
        self._link_faults()

    def _link_faults(self) -> None:
        """Go silent or drop off once the commands answered reach the fault's count."""
        faults = self.config.faults
        if faults.balance_silent_after_commands is not None:
            self.silent = self.answered >= faults.balance_silent_after_commands
        drop = faults.balance_drop_after_commands
        if drop is not None and self.answered >= drop:
            self.disconnected = True
            self._queue.clear()

    def emit(self, line: str) -> None:
        """Queue one reply line; line noise changes one byte at ``balance_corrupt_tx_rate``."""
        if self.silent or self.disconnected:
            return
        data = line.encode("ascii")
        rate = self.config.faults.balance_corrupt_tx_rate
        if rate and self._link_rng.random() < rate:
            data = corrupt(data, self._link_rng, first=0)
            self.garbled += 1
        self._out += data + self.eol

    def _garble_digit(self, line: str) -> str:
        """``line`` (``S S <value> <unit>``) with one digit of its value changed to another."""
        start = line.index(line.split()[2], 4)  # the value, right-aligned after "S S"
        digits = [i for i in range(start, len(line)) if line[i].isdigit()]
        i = self._link_rng.choice(digits)
        other = self._link_rng.choice([d for d in "0123456789" if d != line[i]])
        return line[:i] + other + line[i + 1 :]

    def next_event_s(self, now_s: float) -> float | None:
        """When a waiting ``S``/``Z``/``T`` settles or times out."""
        with self.lock:
            if not self._queue:
                return None
            started = self._started if self._started is not None else now_s
            events = [started + self.config.stable_timeout_s]
            if not self.config.faults.never_settles:
                events.append(self._last_change + self.config.settle_s)
            return max(now_s, min(events))

    def place_check_weight(self, weight_g: float | None = None) -> None:
        """Put the check weight on the pan (an operator hook for tests)."""
        with self.lock:
            self.hand.place(weight_g)
            self._load_changed()

    def remove_check_weight(self) -> None:
        """Take the check weight off the pan."""
        with self.lock:
            self.hand.remove()
            self._load_changed()

    def _load_changed(self) -> None:
        """The load changed now (a deposit, the check weight): the display starts settling."""
        self._start_g = self._settling_g()
        self._target_g = self._load_g()
        self._last_change = self._now

    def _pan_cleared(self, load_before_g: float) -> None:
        """The hand cleared the pan before a zero or tare: the display shows it already."""
        if self.hand.load_g != load_before_g:
            self._start_g = self._target_g = self._load_g()

    def _drift_g(self) -> float:
        return self.config.drift_mg_per_min * self._now / 60.0 / 1000.0

    def _reading(self, rng: random.Random | None = None) -> str:
        """The net weight with read noise drawn from ``rng`` (default: the S stream)."""
        sd_g = self.config.balance_sd_mg / 1000.0
        noise = (rng or self._tx_rng).gauss(0.0, sd_g) if sd_g else 0.0
        net = self.gross_g() + noise - self.zero_g - self.tare_g
        value = Decimal(repr(net)).quantize(Decimal(1).scaleb(-self.config.decimals))
        return f"{value:>11} {self.config.unit}"

    def _answer(self, raw: str) -> bool:
        """Answer one command line; False while it waits for stability."""
        if not raw.endswith("\r"):
            self.emit("ES")  # MT-SICS needs CR LF
            return True
        command = raw[:-1].strip()
        code = command.split(" ", 1)[0] if command else ""
        faults = self.config.faults
        if code in ("S", "SI", "Z", "ZI", "T", "TI") and (faults.overload or faults.underload):
            sign = "+" if faults.overload else "-"
            self.emit(f"{'S' if code in ('S', 'SI') else code} {sign}")
            return True
        if code in _NEEDS_STABLE and not self.stable():
            started = self._now if self._started is None else self._started
            if self._now - started < self.config.stable_timeout_s:
                return False
            self.emit(f"{code} I")
            return True
        self.executed.append(command)
        self._execute(code)
        return True

    def _execute(self, code: str) -> None:
        cfg = self.config
        unit = cfg.unit
        if code in ("@", "I4"):
            self.emit(f'I4 A "{cfg.serial}"')
        elif code == "I2":
            self.emit(f'I2 A "{cfg.model} {cfg.capacity_g} {unit}"')
        elif code in ("S", "SI"):
            status = "S" if self.stable() else "D"
            line = f"S {status} {self._reading(self._tx_rng if code == 'S' else self._si_rng)}"
            if status == "S":
                self.weight_replies += 1
                if self.weight_replies == cfg.faults.balance_garble_weight_reply:
                    line = self._garble_digit(line)
            self.emit(line)
            if code == "S" and status == "S" and self.hand.after_stable_reading():
                self._load_changed()
        elif code in ("Z", "ZI"):
            before_g = self.hand.load_g
            self.hand.on_zero()
            self._pan_cleared(before_g)
            self.zero_g, self.tare_g = self.gross_g(), 0.0
            self.emit("Z A" if code == "Z" else f"ZI {'S' if self.stable() else 'D'}")
        elif code in ("T", "TI"):
            before_g = self.hand.load_g
            self.hand.on_tare()
            self._pan_cleared(before_g)
            self.tare_g = self.gross_g() - self.zero_g
            self.plate.next_unit()
            status = "S" if code == "T" or self.stable() else "D"
            tare = Decimal(repr(self.tare_g)).quantize(Decimal(1).scaleb(-cfg.decimals))
            self.emit(f"{code} {status} {tare:>11} {unit}")
        elif code == "TA":
            self.emit(f"TA A {Decimal(repr(self.tare_g)).quantize(Decimal('1e-5')):>11} {unit}")
        elif code == "TAC":
            self.tare_g = 0.0
            self.emit("TAC A")
        else:
            self.emit("ES")
