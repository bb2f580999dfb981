"""What a library version stores: the resolved model, its hash and where it came from.

A version's content is ``{"kind", "id", "model", "model_sha256", "source", "based_on"}``:
``model`` is the catalog model (after ``inherits``) as canonical JSON values (Decimals
as strings), ``source`` the shipped file, its SHA-256 and the files it inherits from
(``None`` for an edit), ``based_on`` the version an edit started from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from printpharm.catalog import Catalog, validate_model
from printpharm.catalog.schema import Ink, Recipe
from printpharm.errors import InputError
from printpharm.storage.audit import canonical_json, sha256_hex
from printpharm.storage.library import LibraryKind, LibraryVersion, library
from printpharm.storage.repositories import UnitOfWork

__all__ = [
    "content_of",
    "edited_model",
    "locked_match",
    "model_content",
    "model_from_content",
    "model_sha256",
    "source_of",
]


def model_content(model: Recipe | Ink) -> dict[str, Any]:
    """The canonical form of a catalog model stored in a version (``None`` fields left out)."""
    return json.loads(canonical_json(model.model_dump(exclude_none=True)))  # type: ignore[no-any-return]


def model_sha256(model_data: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a stored model (what locked mode compares)."""
    return sha256_hex(canonical_json(model_data))


def _revive(value: Any) -> Any:
    """Turn the string numbers of Quantity/Span tables back into Decimals."""
    if isinstance(value, list):
        return [_revive(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _revive(v) for k, v in value.items()}
    if "unit" in out:
        for key in ("value", "min", "max"):
            if isinstance(out.get(key), str):
                out[key] = Decimal(out[key])
        if isinstance(out.get("values"), list):
            out["values"] = [Decimal(v) if isinstance(v, str) else v for v in out["values"]]
    return out


def model_from_content(kind: str, data: Mapping[str, Any]) -> Recipe | Ink:
    """Rebuild the catalog model from a version's stored ``model`` mapping.

    Raises
    ------
    InputError
        The data break the catalog schema (the first problems are named).
    """
    if kind not in ("recipe", "ink"):
        raise InputError(f"library kind {kind!r} is not recipe or ink")
    return validate_model(kind, _revive(dict(data)))  # type: ignore[arg-type]


def source_of(catalog: Catalog, kind: LibraryKind, item_id: str) -> dict[str, Any]:
    """The shipped file of ``item_id``, its SHA-256 and the files it inherits from."""
    files = catalog.sources(kind, item_id)
    return {
        "file": files[0].relpath,
        "file_sha256": files[0].sha256,
        "inherits": [{"file": f.relpath, "sha256": f.sha256} for f in files[1:]],
    }


def content_of(
    kind: LibraryKind,
    model_data: dict[str, Any],
    source: dict[str, Any] | None,
    based_on: int | None,
) -> dict[str, Any]:
    """The content of a new version."""
    return {
        "kind": kind,
        "id": model_data["id"],
        "model": model_data,
        "model_sha256": model_sha256(model_data),
        "source": source,
        "based_on": based_on,
    }


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> Any:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise InputError(f"change {dotted!r}: {key!r} is not a table")
        node = child
    old = node.get(keys[-1])
    node[keys[-1]] = value
    return old


def edited_model(
    kind: LibraryKind, base: LibraryVersion, changes: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply dotted-key ``changes`` to ``base``'s model; return (checked model, old values).

    Raises
    ------
    InputError
        The id would change, or the result breaks the schema.
    """
    data = json.loads(json.dumps(base.content["model"]))
    old = {key: _set_path(data, key, json.loads(canonical_json(v))) for key, v in changes.items()}
    if data.get("id") != base.item_id:
        raise InputError(f"edit of {kind} {base.item_id}: the id cannot change")
    return model_content(model_from_content(kind, data)), old


def locked_match(uow: UnitOfWork, kind: LibraryKind, model: Recipe | Ink) -> LibraryVersion | None:
    """The intact locked version whose stored model equals ``model``, if any."""
    wanted = model_sha256(model_content(model))
    locked = library(uow).versions(kind, model.id, status="locked")
    matches = [v for v in locked if v.intact() and v.content["model_sha256"] == wanted]
    return matches[-1] if matches else None
