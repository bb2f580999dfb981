"""The append-only, hash-chained audit trail.

Every event stores who (user id and full name at the time), what (record type,
id, field, action), when (UTC with millisecond resolution, ISO 8601, plus the
workstation's zone), why, the old and new values (canonical JSON), the
workstation, application and configuration versions, and the mode (locked or
research). Its hash is ``SHA-256(canonical JSON of all of that + prev_hash)``,
where ``prev_hash`` is the previous event's hash (64 zeros for the first).

Appends are serialised: a ``SELECT ... FOR UPDATE`` on the single chain-head
row (PostgreSQL), inside a ``BEGIN IMMEDIATE`` transaction (SQLite). The
database refuses UPDATE and DELETE on ``audit_events`` (triggers created by the
first migration). :func:`verify_chain` needs nothing but the database.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from printpharm.errors import AuditChainBroken, AuditError, InputError
from printpharm.storage.audit_tables import AuditEventRow, AuditHead
from printpharm.storage.canonical import (
    HASHED_FIELDS,
    canonical_json,
    event_hash,
    format_utc_ms,
    sha256_hex,
    zone_label,
)
from printpharm.storage.chain_check import (
    GENESIS_HASH,
    SETBACK_TOLERANCE_S,
    BrokenLink,
    ChainReport,
    setback_seconds,
    verify_chain,
)
from printpharm.storage.rowseal import row_event_entries
from printpharm.storage.sitekey import SiteKey, SiteKeyError, head_message
from printpharm.storage.tables import Alarm

__all__ = [
    "GENESIS_HASH",
    "REASON_REQUIRED_ACTIONS",
    "SETBACK_TOLERANCE_S",
    "AuditContext",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "BrokenLink",
    "ChainReport",
    "canonical_json",
    "format_utc_ms",
    "read_events",
    "setback_seconds",
    "sha256_hex",
    "verify_chain",
    "zone_label",
]


#: Actions that change or remove GMP data: a non-blank reason is mandatory (AUD-04).
REASON_REQUIRED_ACTIONS = frozenset({"modify", "delete", "disable", "retire", "reset-password"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AuditContext:
    """Where events are written from: workstation, versions, zone and clock.

    ``clock`` returns an aware datetime; tests inject a fixed one. Timestamps
    never come from user input (AUD-13). ``signer`` is the site key of the
    database (``None`` before one is registered): with it every append checks
    the head's signature first and signs the new head. ``signer_problem`` says why
    the workstation's key file could not be loaded (a write then refuses with it).
    """

    workstation: str
    app_version: str
    config_version: str = "1"
    zone: tzinfo | None = None
    clock: Callable[[], datetime] = _utc_now
    signer: SiteKey | None = None
    signer_problem: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """What happened, as given by a service (the log adds when, where and the hashes)."""

    record_type: str
    action: str
    record_id: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    field: str | None = None
    reason: str | None = None
    old: Any = None
    new: Any = None
    batch_id: str | None = None
    mode: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One stored event, exactly as chained."""

    seq: int
    occurred_at: str
    local_tz: str
    user_id: str | None
    user_name: str | None
    record_type: str
    record_id: str | None
    action: str
    field: str | None
    reason: str | None
    old_value: str | None
    new_value: str | None
    batch_id: str | None
    workstation: str
    app_version: str
    config_version: str
    mode: str
    clock_setback: bool
    prev_hash: str
    event_hash: str

    def old(self) -> Any:
        """The old value decoded from its canonical JSON (Decimals stay strings)."""
        return None if self.old_value is None else json.loads(self.old_value)

    def new(self) -> Any:
        """The new value decoded from its canonical JSON (Decimals stay strings)."""
        return None if self.new_value is None else json.loads(self.new_value)


_ROW_FIELDS = (*HASHED_FIELDS, "event_hash")
_EVENTS = cast(Table, AuditEventRow.__table__)


class AuditLog:
    """Appends events inside the caller's transaction (AUD-01).

    Parameters
    ----------
    session
        The open session of the change being recorded; the events commit or
        roll back with it.
    context
        Workstation, versions, zone and clock.
    """

    def __init__(
        self,
        session: Session,
        context: AuditContext,
        mode_provider: Callable[[], str] | None = None,
    ) -> None:
        self._session = session
        self._context = context
        self._mode_provider = mode_provider
        self._signer = context.signer
        self._verifier = context.signer
        self._first_key = False

    @property
    def context(self) -> AuditContext:
        """Workstation, versions, zone, clock and site key of this log."""
        return self._context

    def use_signer(self, new: SiteKey, previous: SiteKey | None) -> None:
        """Sign from the next append on with ``new`` (registration or rotation of the key).

        The head as it stands is checked with ``previous`` (``None``: the first key
        of a database whose head is not signed yet).
        """
        self._signer, self._verifier, self._first_key = new, previous, previous is None

    def append(self, entry: AuditEntry) -> AuditEvent:
        """Append one event and return it as stored.

        Raises
        ------
        InputError, AuditError
            As for :meth:`append_many`.
        """
        return self.append_many([entry])[0]

    def append_many(self, entries: Iterable[AuditEntry]) -> list[AuditEvent]:
        """Append several events in order, each individually chained, in one statement.

        Raises
        ------
        InputError
            A modification or deletion without a reason (AUD-04).
        AuditError
            A value cannot be serialised canonically.
        """
        items = list(entries)
        for entry in items:
            _check_entry(entry)
        if not items:
            return []
        head = self._session.execute(
            select(
                AuditHead.last_seq,
                AuditHead.last_hash,
                AuditHead.last_occurred_at,
                AuditHead.key_id,
                AuditHead.signature,
            )
            .where(AuditHead.id == 1)
            .with_for_update()
        ).one_or_none()
        if head is None:
            raise AuditError("the audit chain head is missing; the database was not initialised")
        seq, prev_hash, last_at, key_id, signature = head
        signer = self._check_head(seq, prev_hash, last_at, key_id, signature)
        mode = self._mode_provider() if self._mode_provider is not None else "locked"
        events: list[AuditEvent] = []
        for entry in items:
            seq += 1
            event = self._build(entry, seq, prev_hash, last_at, entry.mode or mode)
            events.append(event)
            prev_hash = event.event_hash
            last_at = max(last_at or "", event.occurred_at)
        rows = [{f: getattr(e, f) for f in _ROW_FIELDS} for e in events]
        self._session.execute(insert(_EVENTS), rows)
        values: dict[str, Any] = {
            "last_seq": seq,
            "last_hash": prev_hash,
            "last_occurred_at": last_at,
        }
        if signer is not None:
            values["key_id"] = signer.key_id
            values["signature"] = signer.sign(head_message(seq, prev_hash, last_at, signer.key_id))
        self._session.execute(update(AuditHead).where(AuditHead.id == 1).values(**values))
        self._verifier, self._first_key = signer, False
        self._raise_setback_alarms(events)
        return events

    def seal_rows(
        self, keys: Iterable[tuple[str, Any]], present: dict[str, set[str]] | None = None
    ) -> None:
        """Append one ``row``/``write`` event per protected row (see :mod:`.rowseal`)."""
        entries = row_event_entries(self._session.connection(), keys, present)
        with self._session.no_autoflush:
            self.append_many(
                AuditEntry("row", "write", e["record_id"], new=e["new"], batch_id=e["batch_id"])
                for e in entries
            )

    def _check_head(
        self, seq: int, last_hash: str, last_at: str | None, key_id: str | None, sig: str | None
    ) -> SiteKey | None:
        """Refuse to extend a head the site key did not sign (before every recorded action)."""
        signer, verifier = self._signer, self._verifier
        if key_id is None:
            if self._first_key:
                return signer
            if signer is not None:
                raise AuditChainBroken(
                    "the audit chain head carries no site key signature although this "
                    "database has a site key: it was changed outside printpharm" + _WHAT_TO_DO
                )
            return None
        if verifier is None or verifier.key_id != key_id:
            problem = self._context.signer_problem
            why = f" ({problem.rstrip('.')})" if problem and verifier is None else ""
            raise SiteKeyError(
                f"this database's audit chain is signed with site key {key_id}, which this "
                f"workstation does not hold{why}; records can be read but not written" + _WHAT_TO_DO
            )
        if not verifier.verify(sig, head_message(seq, last_hash, last_at, key_id)):
            raise AuditChainBroken(
                f"the audit chain head (event {seq}) is not signed by the site key: the "
                "chain was changed outside printpharm" + _WHAT_TO_DO
            )
        tail = self._session.execute(
            select(AuditEventRow.seq, AuditEventRow.event_hash)
            .where(AuditEventRow.seq >= seq)
            .order_by(AuditEventRow.seq)
            .limit(2)
        ).all()
        if seq and (len(tail) != 1 or tail[0][1] != last_hash):
            raise AuditChainBroken(
                f"the audit events after the signed head (event {seq}) were changed outside "
                "printpharm" + _WHAT_TO_DO
            )
        return signer

    def _raise_setback_alarms(self, events: Sequence[AuditEvent]) -> None:
        for e in events:
            if e.clock_setback:
                self._session.add(
                    Alarm(
                        kind="clock-setback",
                        severity="critical",
                        message=(
                            f"audit event {e.seq} is dated {e.occurred_at}, earlier than an "
                            "event before it by more than the tolerance: the workstation "
                            "clock was set back. Check the clock and time synchronisation."
                        ),
                        raised_at=self._context.clock(),
                    )
                )

    def _build(
        self, entry: AuditEntry, seq: int, prev_hash: str, last_at: str | None, mode: str
    ) -> AuditEvent:
        moment = self._context.clock()
        occurred_at = format_utc_ms(moment)
        content: dict[str, Any] = {
            "seq": seq,
            "occurred_at": occurred_at,
            "local_tz": zone_label(moment, self._context.zone),
            "user_id": entry.user_id,
            "user_name": entry.user_name,
            "record_type": entry.record_type,
            "record_id": entry.record_id,
            "action": entry.action,
            "field": entry.field,
            "reason": entry.reason,
            "old_value": None if entry.old is None else canonical_json(entry.old),
            "new_value": None if entry.new is None else canonical_json(entry.new),
            "batch_id": entry.batch_id,
            "workstation": self._context.workstation,
            "app_version": self._context.app_version,
            "config_version": self._context.config_version,
            "mode": mode,
            "clock_setback": _set_back(occurred_at, last_at),
            "prev_hash": prev_hash,
        }
        return AuditEvent(**content, event_hash=event_hash(content))


_WHAT_TO_DO = (
    ". Production is read-only until an administrator runs `printpharm audit verify`, "
    "restores the last verified backup and follows docs/SECURITY.md ('Integrity failure')."
)


def _set_back(occurred_at: str, last_at: str | None) -> bool:
    if last_at is None or occurred_at >= last_at:
        return False
    return setback_seconds(occurred_at, last_at) > SETBACK_TOLERANCE_S


def _check_entry(entry: AuditEntry) -> None:
    if not entry.record_type or not entry.action:
        raise InputError("audit entry needs a record_type and an action")
    if entry.action in REASON_REQUIRED_ACTIONS and not (entry.reason or "").strip():
        raise InputError(
            f"reason is required for action {entry.action!r} on {entry.record_type} "
            f"{entry.record_id!r}; got {entry.reason!r}"
        )


def read_events(
    session: Session,
    *,
    batch_id: str | None = None,
    record_type: str | None = None,
    record_id: str | None = None,
    user_id: str | None = None,
    action: str | None = None,
    limit: int | None = None,
    include_rows: bool = False,
) -> list[AuditEvent]:
    """Return events in chain order, optionally filtered; ``limit`` keeps the newest N.

    Row seals (``record_type = "row"``, see :mod:`.rowseal`) are left out unless
    ``include_rows`` or ``record_type="row"`` asks for them.
    """
    stmt = select(AuditEventRow)
    if not include_rows and record_type is None:
        stmt = stmt.where(AuditEventRow.record_type != "row")
    for column, value in (
        (AuditEventRow.batch_id, batch_id),
        (AuditEventRow.record_type, record_type),
        (AuditEventRow.record_id, record_id),
        (AuditEventRow.user_id, user_id),
        (AuditEventRow.action, action),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if limit is not None:
        stmt = stmt.order_by(AuditEventRow.seq.desc()).limit(limit)
    rows = session.scalars(stmt).all()
    events = [
        AuditEvent(**{f.name: getattr(r, f.name) for f in dataclasses.fields(AuditEvent)})
        for r in rows
    ]
    return sorted(events, key=lambda e: e.seq)
