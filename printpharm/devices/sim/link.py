"""A serial line's speed for the simulators: bytes cross it no faster than baud / 10 per second.

A UART sends every byte as 10 bits (start bit, 8 data bits, stop bit: 8N1), so
at 115 200 baud a 30-byte G-code line takes 2.6 ms on the wire, in each
direction independently (full duplex). :class:`SerialWire` is one direction:
bytes handed to it at simulator time ``t`` are clocked out back to back and each
has arrived ``10 / baud`` seconds after the previous one.
"""

from __future__ import annotations

from collections import deque

from printpharm.errors import InputError

__all__ = ["BITS_PER_BYTE", "SerialWire"]

#: Bits on the wire per byte (start bit, 8 data bits, stop bit).
BITS_PER_BYTE = 10
_EPS_S = 1e-12


class SerialWire:
    """One direction of a serial line at ``baud`` (bits per second), in simulator time.

    Parameters
    ----------
    baud : int
        Line rate in bits per second (115 200 and 250 000 are the usual Marlin rates).

    Raises
    ------
    InputError
        If ``baud`` is not a positive integer.
    """

    def __init__(self, baud: int) -> None:
        if isinstance(baud, bool) or not isinstance(baud, int) or baud <= 0:
            raise InputError(f"baud = {baud!r}; must be a positive number of bits per second")
        self.baud = baud
        self.byte_s = BITS_PER_BYTE / baud
        self.bytes_sent = 0
        # (arrival time of the chunk's first byte, its bytes), oldest first
        self._chunks: deque[tuple[float, bytes]] = deque()
        self._free_at = 0.0  # when the wire has clocked out everything queued so far

    @property
    def bytes_per_s(self) -> float:
        """The line's ceiling in bytes per second (``baud / 10``)."""
        return self.baud / BITS_PER_BYTE

    def send(self, data: bytes, now_s: float) -> None:
        """Put ``data`` on the wire at simulator time ``now_s`` (after what is queued)."""
        if not data:
            return
        start = max(now_s, self._free_at)
        self._chunks.append((start + self.byte_s, bytes(data)))
        self._free_at = start + len(data) * self.byte_s
        self.bytes_sent += len(data)

    def receive(self, now_s: float) -> bytes:
        """The bytes that have completely arrived by ``now_s``, removed from the wire."""
        out = bytearray()
        while self._chunks:
            first, data = self._chunks[0]
            if now_s + _EPS_S < first:
                break
            count = min(len(data), int((now_s - first) / self.byte_s + 1e-9) + 1)
            out += data[:count]
            if count < len(data):
                self._chunks[0] = (first + count * self.byte_s, data[count:])
                break
            self._chunks.popleft()
        return bytes(out)

    def next_line_s(self) -> float | None:
        """When the next end of line (``\\n`` or ``\\r``) on the wire will have arrived."""
        for first, data in self._chunks:
            ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
            if ends:
                return first + min(ends) * self.byte_s
        return None

    @property
    def busy(self) -> bool:
        """Whether bytes are still on the wire."""
        return bool(self._chunks)

    def clear(self) -> None:
        """Drop everything on the wire (the cable was pulled)."""
        self._chunks.clear()
