"""What every simulator shares: an output queue, line noise, a dropped link."""

from __future__ import annotations

import random
import threading


class SimDevice:
    """Base of the protocol state machines: ``feed`` bytes in, ``take_output`` bytes out.

    ``step(now_s)`` runs the machine up to simulator time ``now_s`` (seconds);
    ``next_event_s(now_s)`` tells when it next has time-driven work, or None.
    """

    eol = b"\n"

    def __init__(self, seed: int, corrupt_tx_rate: float = 0.0) -> None:
        self.lock = threading.RLock()
        self.disconnected = False
        self.silent = False
        self._out = bytearray()
        self._tx_rng = random.Random(seed * 7919 + 1)
        self._rx_rng = random.Random(seed * 7919 + 2)
        self._corrupt_tx_rate = corrupt_tx_rate

    def emit(self, line: str) -> None:
        """Queue one output line, corrupted at the configured rate."""
        if self.silent:
            return
        data = line.encode("ascii")
        if self._corrupt_tx_rate and self._tx_rng.random() < self._corrupt_tx_rate:
            data = corrupt(data, self._tx_rng, first=0)
        self._out += data + self.eol

    def take_output(self) -> bytes:
        """Return and clear the bytes produced so far."""
        with self.lock:
            data = bytes(self._out)
            self._out.clear()
            return data

    def feed(self, data: bytes) -> None:  # pragma: no cover - overridden
        """Accept bytes from the host."""
        raise NotImplementedError

    def step(self, now_s: float) -> None:  # pragma: no cover - overridden
        """Run up to simulator time ``now_s``."""
        raise NotImplementedError

    def next_event_s(self, now_s: float) -> float | None:  # pragma: no cover - overridden
        """Simulator time of the next time-driven event, or None."""
        raise NotImplementedError


def corrupt(data: bytes, rng: random.Random, first: int) -> bytes:
    """Replace one byte at index ``first`` or later by another printable byte."""
    if len(data) <= first:
        return data
    index = rng.randrange(first, len(data))
    choices = [c for c in range(0x21, 0x7F) if c != data[index]]
    return data[:index] + bytes([rng.choice(choices)]) + data[index + 1 :]
