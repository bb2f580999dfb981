"""Export files: always a new file, never through a link, readable only by its owner.

An export holds patient pseudonyms, names and the audit trail. It is written
with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600 (POSIX): an existing file
is never overwritten, a symbolic link (even one pointing nowhere) is never
followed, and other accounts on the workstation cannot read it.
"""

from __future__ import annotations

import os
from pathlib import Path

from printpharm.errors import RecordError

__all__ = ["EXPORT_MODE", "refuse_existing", "write_new_file"]

#: Permission bits of every export file on POSIX.
EXPORT_MODE = 0o600

_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_BINARY", 0)  # Windows: no newline translation
)


def refuse_existing(path: Path, what: str = "export") -> None:
    """Raise unless nothing (not even a dangling link) is at ``path``.

    Raises
    ------
    RecordError
        A file, directory or symbolic link exists at ``path``.
    """
    if os.path.lexists(path):
        kind = "a symbolic link" if path.is_symlink() else "exists already"
        raise RecordError(
            f"{what} {path}: {kind}; an export never overwrites a file nor follows a link"
        )


def write_new_file(path: Path, data: bytes, what: str = "export") -> None:
    """Create ``path`` holding ``data`` (mode 0600), refusing existing files and links.

    Raises
    ------
    RecordError
        Something exists at ``path`` (a file or a link), or it cannot be written.
    """
    refuse_existing(path, what)
    try:
        fd = os.open(path, _FLAGS, EXPORT_MODE)
    except FileExistsError as exc:  # created between the check and the open
        raise RecordError(f"{what} {path} exists already; an export never overwrites") from exc
    except OSError as exc:
        raise RecordError(f"{what} {path}: cannot write: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise RecordError(f"{what} {path}: cannot write: {exc.strerror}") from exc
