"""What an inspection package must hold, read from its own audit chain.

A package (:mod:`printpharm.storage.export`) holds one batch's rows and its
accounts with the password hashes removed, so ``audit verify`` cannot compare
those accounts with their row events and does not expect the rows of other
batches. What it *can* check it does, from the chain the package carries:

* every row the chain records for the packaged batch — and for any batch the file
  holds — (its batch row, units, content-uniformity samples and results) and every
  signature of it is present: a unit or signature deleted from the file is reported
  missing, and so is a manifest naming a batch the file does not hold;
* every redacted account still has the full name and role its latest account
  event recorded (the signer's printed name and role are what an inspector reads);
* only the manifest and the redacted accounts are exempt from the row comparison.

A database that still holds an account with a password hash is not a package,
whatever its settings say: it is verified whole (a manifest setting planted in
a live database does not switch checks off).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from printpharm.storage.export import MANIFEST_KEY, NO_PASSWORD
from printpharm.storage.rowseal import RowMismatch

__all__ = ["PackageScope", "package_scope"]


@dataclass(frozen=True)
class PackageScope:
    """The rows a package must hold, the rows exempt from comparison, and what is wrong."""

    batch_id: str | None
    required: frozenset[str]
    exempt: frozenset[str]
    problems: tuple[RowMismatch, ...]


def _manifest_batch(conn: Connection) -> tuple[bool, str | None]:
    value = conn.execute(
        text("SELECT value_json FROM site_settings WHERE key = :k"), {"k": MANIFEST_KEY}
    ).scalar()
    if value is None:
        return False, None
    try:
        batch_id = json.loads(value).get("batch_id")
    except (ValueError, AttributeError):
        return True, None
    return True, batch_id if isinstance(batch_id, str) else None


def package_scope(conn: Connection) -> PackageScope | None:
    """The scope of the inspection package ``conn`` holds, or ``None`` for a whole database."""
    has_manifest, batch_id = _manifest_batch(conn)
    if not has_manifest:
        return None
    live = conn.execute(
        text("SELECT count(*) FROM users WHERE password_hash <> :none"), {"none": NO_PASSWORD}
    ).scalar()
    if live:
        return None  # an account that can log in: a live database, verified whole
    problems: list[RowMismatch] = []
    if batch_id is None:
        problems.append(RowMismatch("site_settings", MANIFEST_KEY, "the manifest names no batch"))
    redacted = [r[0] for r in conn.execute(text("SELECT user_id FROM users"))]
    problems += _account_problems(conn)
    held = {r[0] for r in conn.execute(text("SELECT batch_id FROM batches"))}
    if batch_id is not None and batch_id not in held:
        problems.append(
            RowMismatch("site_settings", MANIFEST_KEY,
                        f"the manifest names batch {batch_id!r}, which the package does not hold")
        )  # fmt: skip
    required: set[str] = set()
    for held_id in held | ({batch_id} if batch_id is not None else set()):
        required |= _batch_rows(conn, held_id)
    exempt = {f"site_settings/{MANIFEST_KEY}", *(f"users/{u}" for u in redacted)}
    return PackageScope(batch_id, frozenset(required), frozenset(exempt), tuple(problems))


def _batch_rows(conn: Connection, batch_id: str) -> set[str]:
    """Record IDs of the batch's rows and signatures, as the chain recorded them."""
    rows = conn.execute(
        text(
            "SELECT record_id, new_value FROM audit_events WHERE record_type = 'row' "
            "AND batch_id = :b ORDER BY seq"
        ),
        {"b": batch_id},
    ).all()
    latest: dict[str, Any] = {}
    for record_id, new_value in rows:
        latest[record_id] = _json(new_value).get("sha256")
    required = {record_id for record_id, digest in latest.items() if digest is not None}
    signs = conn.execute(
        text(
            "SELECT new_value FROM audit_events WHERE record_type = 'batch' AND action = 'sign' "
            "AND record_id = :b"
        ),
        {"b": batch_id},
    ).scalars()
    required |= {f"signatures/{_json(v)['id']}" for v in signs if _json(v).get("id") is not None}
    return required


def _account_problems(conn: Connection) -> list[RowMismatch]:
    """Redacted accounts whose name or role differs from their latest account event."""
    recorded: dict[str, dict[str, Any]] = {}
    for user_id, new_value in conn.execute(
        text(
            "SELECT record_id, new_value FROM audit_events WHERE record_type = 'user' "
            "AND new_value IS NOT NULL ORDER BY seq"
        )
    ):
        new = _json(new_value)
        if "full_name" in new and "role" in new:
            recorded[user_id] = new
    problems: list[RowMismatch] = []
    for user_id, full_name, role in conn.execute(
        text("SELECT user_id, full_name, role FROM users ORDER BY user_id")
    ):
        event = recorded.get(user_id)
        if event is None:
            problems.append(RowMismatch("users", user_id, "no audit event records this account"))
        elif (event["full_name"], event["role"]) != (full_name, role):
            problems.append(
                RowMismatch(
                    "users",
                    user_id,
                    f"differs from its audit events: {full_name!r} ({role}) where the trail "
                    f"records {event['full_name']!r} ({event['role']})",
                )
            )
    return problems


def _json(value: str | None) -> dict[str, Any]:
    try:
        loaded = json.loads(value) if value else {}
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
