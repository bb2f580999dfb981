"""Echoing what a person typed back in a message, without echoing a megabyte.

A message names the value it refuses (``user ID 'x' must be ...``), but a name,
reason or ID pasted by mistake (or by an attacker) may be thousands of characters
long: :func:`shown` quotes at most :data:`ECHO_LIMIT` characters of it and says
how long it was, so the message still fits on one line and ends with its reason.
"""

from __future__ import annotations

__all__ = ["ECHO_LIMIT", "shown"]

#: Characters of a value quoted in a message.
ECHO_LIMIT = 64


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr`` of ``value``, cut to ``limit`` characters with its length when longer.

    >>> shown("ab")
    "'ab'"
    >>> shown("x" * 100, limit=4)
    "'xxxx…' (100 characters)"
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}"[:-1] + f"…{repr(text)[-1]} ({len(text)} characters)"
