"""Which library version of an ink a lot, a calibration or a run belongs to.

A new lot or calibration belongs to the locked version in force unless one is named
(:func:`resolve_ink_version`); an ink as printed is the version whose stored model
matches it, locked first (:func:`version_in_use`).
"""

from __future__ import annotations

from printpharm.catalog.schema import Ink
from printpharm.errors import RecordError
from printpharm.services.control._library_content import model_content, model_sha256
from printpharm.storage.library import LibraryVersion, library
from printpharm.storage.repositories import UnitOfWork

__all__ = ["resolve_ink_version", "version_in_use"]


def resolve_ink_version(
    uow: UnitOfWork, ink_id: str, wanted: int | None, *, why: str
) -> LibraryVersion:
    """Version ``wanted`` of ``ink_id`` in the library, or (``None``) its newest locked one.

    ``why`` completes the refusal of an ink with no locked version: why a version
    is needed and what to do (a lot and a calibration say it differently).

    Raises
    ------
    RecordError
        The ink has no locked version, or version ``wanted`` does not exist or is retired.
    """
    repo = library(uow)
    if wanted is None:
        locked = repo.versions("ink", ink_id, status="locked")
        if not locked:
            raise RecordError(f"ink {ink_id} has no locked version in the library: {why}")
        return locked[-1]
    found = repo.get("ink", ink_id, wanted)
    if found is None or found.status == "retired":
        state = "does not exist" if found is None else "is retired"
        raise RecordError(f"ink {ink_id} v{wanted} {state} in the library")
    return found


def version_in_use(uow: UnitOfWork, ink: Ink) -> int | None:
    """The library version whose content is the ink as printed (locked first), if any."""
    wanted = model_sha256(model_content(ink))
    matches = [
        v
        for v in library(uow).versions("ink", ink.id)
        if v.status != "retired" and v.intact() and v.content["model_sha256"] == wanted
    ]
    locked = [v for v in matches if v.status == "locked"]
    chosen = (locked or matches)[-1:] or None
    return None if chosen is None else chosen[0].version
