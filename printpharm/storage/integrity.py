"""Integrity of the records: chain, site key, anchors and row cross-checks together.

:func:`verify_integrity` is what ``printpharm audit verify`` and the start-up
check run. It fails (``ok`` false) when any of these holds:

* the hash chain is broken (edited, deleted, inserted, reordered events);
* the site keys do not endorse one another, or the head is not signed by the
  key in force (a cut tail or a forged append re-hashed without the key);
* an e-signature row is not sealed by a registered site key;
* a protected row has no ``row`` event, differs from it, or is gone;
* an event is dated more than :data:`~.audit.SETBACK_TOLERANCE_S` before an
  earlier one (clock set back);
* an anchor in the site's external log does not match the chain (first
  divergence reported), or the chain ends before the last anchored head.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from printpharm.storage.audit import AuditEntry, AuditLog, ChainReport, verify_chain
from printpharm.storage.audit_tables import AuditEventRow, AuditHead, AuditKey, SignatureRow
from printpharm.storage.canonical import canonical_json, format_utc_ms
from printpharm.storage.package_check import package_scope
from printpharm.storage.rowseal import RowMismatch, cross_check
from printpharm.storage.sitekey import (
    SiteKey,
    SiteKeyError,
    head_message,
    signature_message,
    verify_signature,
)

__all__ = [
    "Anchor",
    "IntegrityReport",
    "KeyInfo",
    "append_anchor",
    "current_key",
    "database_id",
    "key_message",
    "quick_verify",
    "read_anchors",
    "register_site_key",
    "signed_head",
    "site_keys",
    "verify_integrity",
]


def key_message(key_id: str, public_hex: str, from_seq: int) -> bytes:
    """The bytes a key endorses when a (new) site key is registered."""
    return f"printpharm-key-v1\n{key_id}\n{public_hex}\n{from_seq}".encode()


@dataclass(frozen=True)
class KeyInfo:
    """A registered public key."""

    key_id: str
    public_key: str
    from_seq: int
    endorsed_by: str
    endorsement: str


def _keys(session: Session) -> list[KeyInfo]:
    rows = session.execute(
        select(
            AuditKey.key_id,
            AuditKey.public_key,
            AuditKey.from_seq,
            AuditKey.endorsed_by,
            AuditKey.endorsement,
        ).order_by(AuditKey.from_seq)
    ).all()
    return [KeyInfo(*r) for r in rows]


def site_keys(session: Session) -> list[KeyInfo]:
    """Every registered public key, oldest first (each in force from its ``from_seq``)."""
    return _keys(session)


def database_id(session: Session) -> str | None:
    """The database's identity in anchor logs: the id of its first site key."""
    keys = _keys(session)
    return keys[0].key_id if keys else None


def current_key(session: Session) -> KeyInfo | None:
    """The key in force now (the last registered), or ``None`` for an unkeyed database."""
    keys = _keys(session)
    return keys[-1] if keys else None


def register_site_key(
    log: AuditLog, session: Session, new: SiteKey, old: SiteKey | None, user_id: str | None
) -> None:
    """Register ``new`` as the site key from the next event on (first key or rotation).

    The first key endorses itself; a rotation is endorsed by ``old``, which must
    be the key in force. The registration is an audit event signed with the new key.

    Raises
    ------
    SiteKeyError
        ``old`` is not the key in force, or a first key is registered twice.
    """
    in_force = current_key(session)
    if (in_force is None) != (old is None) or (
        in_force is not None and old is not None and in_force.key_id != old.key_id
    ):
        raise SiteKeyError(
            "a new site key must be endorsed by the key in force "
            f"({in_force.key_id if in_force else 'none registered'})"
        )
    head = session.execute(select(AuditHead.last_seq).where(AuditHead.id == 1)).scalar_one()
    from_seq = head + 1
    endorser = old or new
    session.add(
        AuditKey(
            key_id=new.key_id,
            public_key=new.public_hex,
            from_seq=from_seq,
            created_at=log.context.clock(),
            created_by=user_id,
            endorsed_by=endorser.key_id,
            endorsement=endorser.sign(key_message(new.key_id, new.public_hex, from_seq)),
        )
    )
    log.use_signer(new, previous=old)
    log.append(
        AuditEntry(
            "audit-key",
            "rotate" if old else "create",
            new.key_id,
            user_id,
            new={"key_id": new.key_id, "public_key": new.public_hex, "from_seq": from_seq},
            old=None if old is None else {"key_id": old.key_id},
        )
    )
    session.flush()


def signed_head(session: Session) -> dict[str, Any]:
    """The chain head as stored: seq, hash, time, key id and signature."""
    row = session.execute(
        select(
            AuditHead.last_seq,
            AuditHead.last_hash,
            AuditHead.last_occurred_at,
            AuditHead.key_id,
            AuditHead.signature,
        ).where(AuditHead.id == 1)
    ).one()
    seq, digest, at, key_id, signature = row
    return {"seq": seq, "event_hash": digest, "occurred_at": at, "key_id": key_id,
            "signature": signature}  # fmt: skip


# --- anchors -------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """One line of the external anchor log: a signed head and the public key that signed it."""

    line: int
    seq: int
    event_hash: str
    occurred_at: str | None
    key_id: str
    public_key: str
    signature: str
    anchored_at: str
    database: str


def append_anchor(
    path: Path,
    head: dict[str, Any],
    public_key: str,
    database: str,
    at: datetime,
    occasion: str = "",
) -> Anchor:
    """Append the signed ``head`` to the anchor log ``path`` (created 0600, append-only).

    ``occasion`` (``daily``, ``release of batch …``, ``key rotation`` …) is written
    into the line for the people who read the log; verification does not use it.

    Raises
    ------
    SiteKeyError
        The head is not signed, or the file cannot be written.
    """
    if not head.get("signature") or not head.get("key_id"):
        raise SiteKeyError("the chain head is not signed: register a site key first")
    record = {**head, "public_key": public_key, "anchored_at": format_utc_ms(at),
              "database": database}  # fmt: skip
    if occasion:
        record["occasion"] = occasion
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(canonical_json(record) + "\n")
    except OSError as exc:
        raise SiteKeyError(f"cannot append to the anchor log {path}: {exc}") from exc
    return Anchor(0, head["seq"], head["event_hash"], head["occurred_at"], head["key_id"],
                  public_key, head["signature"], record["anchored_at"], database)  # fmt: skip


def read_anchors(path: Path) -> list[Anchor]:
    """Read the anchor log (missing file: no anchors).

    Raises
    ------
    SiteKeyError
        A line is not a well-formed anchor.
    """
    if not path.exists():
        return []
    anchors: list[Anchor] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SiteKeyError(f"cannot read the anchor log {path}: {exc}") from exc
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            d = json.loads(text)
            anchors.append(Anchor(number, int(d["seq"]), str(d["event_hash"]), d["occurred_at"],
                                  str(d["key_id"]), str(d["public_key"]), str(d["signature"]),
                                  str(d["anchored_at"]), str(d["database"])))  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise SiteKeyError(f"{path} line {number} is not an anchor: {exc}") from exc
    return anchors


# --- verification --------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrityReport:
    """Everything :func:`verify_integrity` found."""

    chain: ChainReport
    key_id: str | None
    key_problems: tuple[str, ...] = ()
    row_problems: tuple[RowMismatch, ...] = ()
    anchor_problem: str | None = None
    anchors: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether every check passed (a clock setback fails too)."""
        return (
            self.chain.ok
            and not self.chain.clock_setbacks
            and not self.key_problems
            and not self.row_problems
            and self.anchor_problem is None
        )

    def problems(self) -> list[str]:
        """Every failure as one line each, the most fundamental first."""
        out: list[str] = []
        if self.chain.first_broken is not None:
            b = self.chain.first_broken
            out.append(f"audit trail BROKEN at event {b.seq} ({b.problem}): {b.detail}")
        out += [f"site key: {p}" for p in self.key_problems]
        if self.anchor_problem:
            out.append(f"anchors: {self.anchor_problem}")
        out += [
            f"clock set back: event {seq} is dated before an earlier event"
            for seq in self.chain.clock_setbacks
        ]
        out += [f"row {p}" for p in self.row_problems]
        return out


def verify_integrity(
    session: Session, *, anchors: Sequence[Anchor] = (), partial: bool = False
) -> IntegrityReport:
    """Verify chain, site keys, signature seals, row cross-checks and anchors.

    ``partial`` is for an inspection package (one batch's rows; users redacted):
    only the rows of other batches are not expected, and redacted accounts are
    compared by name and role with their account events (:mod:`.package_check`).
    A database that still holds an account able to log in is verified whole.
    """
    sealed: dict[str, tuple[int, str | None]] = {}
    chain = verify_chain(session, sealed=sealed)
    keys = _keys(session)
    head = signed_head(session)
    key_problems = _check_keys(keys, head) + _check_seals(session, keys)
    scope = package_scope(session.connection()) if partial else None
    if scope is None:
        rows = cross_check(session.connection(), sealed)
    else:
        rows = list(scope.problems) + cross_check(
            session.connection(), sealed, exempt=scope.exempt, required=scope.required
        )
    database = keys[0].key_id if keys else None
    mine = [a for a in anchors if a.database == database]
    anchor_problem = _check_anchors(session, mine, keys, head)
    notes: list[str] = [] if keys else ["this database has no site key: its chain is not keyed"]
    others = sorted({a.database for a in anchors} - {database or ""})
    if others:
        notes.append(f"the anchor log also holds anchors of other databases: {', '.join(others)}")
    return IntegrityReport(
        chain,
        keys[-1].key_id if keys else None,
        tuple(key_problems),
        tuple(rows),
        anchor_problem,
        len(mine),
        tuple(notes),
    )


def quick_verify(session: Session, after: tuple[int, str] | None) -> tuple[ChainReport, list[str]]:
    """The check before each recorded action: the tail since ``after`` and the signed head.

    Walks only the events appended since the event ``after`` = (seq, hash) verified
    before (the whole chain when ``None``), and checks that the head is still signed
    by the site key in force. Row cross-checks and anchors are left to the full
    :func:`verify_integrity` (start-up, ``audit verify``).
    """
    chain = verify_chain(session, after=after)
    return chain, _check_keys(_keys(session), signed_head(session))


def _check_keys(keys: list[KeyInfo], head: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if not keys:
        if head["key_id"] or head["signature"]:
            problems.append(f"the head names key {head['key_id']} but no key is registered")
        return problems
    previous: KeyInfo | None = None
    for key in keys:
        endorser = previous or key
        message = key_message(key.key_id, key.public_key, key.from_seq)
        if key.endorsed_by != endorser.key_id or not verify_signature(
            endorser.public_key, key.endorsement, message
        ):
            problems.append(
                f"key {key.key_id} (from event {key.from_seq}) is not endorsed by "
                f"{'itself' if previous is None else 'key ' + previous.key_id}"
            )
        previous = key
    last = keys[-1]
    message = head_message(head["seq"], head["event_hash"], head["occurred_at"], last.key_id)
    if head["key_id"] != last.key_id or not verify_signature(
        last.public_key, head["signature"], message
    ):
        problems.append(
            f"the chain head (event {head['seq']}) is not signed by the site key in force "
            f"{last.key_id}: events were removed, added or re-hashed outside printpharm"
        )
    return problems


def _check_seals(session: Session, keys: list[KeyInfo]) -> list[str]:
    if not keys:
        return []
    public = {k.key_id: k.public_key for k in keys}
    first_seq = keys[0].from_seq
    sealed_at = {
        rid: seq
        for rid, seq in session.execute(
            select(AuditEventRow.record_id, AuditEventRow.seq).where(
                AuditEventRow.record_type == "row",
                AuditEventRow.record_id.like("signatures/%"),
            )
        )
    }
    problems: list[str] = []
    rows = session.execute(
        select(SignatureRow.id, SignatureRow.signature_sha256, SignatureRow.seal,
               SignatureRow.seal_key_id, SignatureRow.meaning, SignatureRow.record_id)
    )  # fmt: skip
    for sig_id, digest, seal, seal_key, meaning, record_id in rows:
        if seal is None and sealed_at.get(f"signatures/{sig_id}", first_seq) < first_seq:
            continue  # signed before the database had a site key
        key = public.get(seal_key or "")
        if key is None or not verify_signature(key, seal, signature_message(digest)):
            problems.append(
                f"signature {sig_id} ({meaning} of {record_id}) is not sealed by a site key: "
                "it was written outside printpharm"
            )
    return problems


def _check_anchors(
    session: Session, anchors: Sequence[Anchor], keys: list[KeyInfo], head: dict[str, Any]
) -> str | None:
    public = {k.key_id: k.public_key for k in keys}
    for anchor in anchors:
        where = f"anchor line {anchor.line} (event {anchor.seq}, {anchor.anchored_at})"
        if public.get(anchor.key_id) != anchor.public_key:
            return f"{where}: signed by key {anchor.key_id}, which this database does not hold"
        message = head_message(anchor.seq, anchor.event_hash, anchor.occurred_at, anchor.key_id)
        if not verify_signature(anchor.public_key, anchor.signature, message):
            return f"{where}: its signature does not verify (the anchor log was edited)"
        if anchor.seq > head["seq"]:
            return (
                f"{where}: the chain ends at event {head['seq']}, before this anchored head "
                "(events were cut from the end)"
            )
        stored = session.execute(
            select(AuditEventRow.event_hash).where(AuditEventRow.seq == anchor.seq)
        ).scalar()
        if stored != anchor.event_hash:
            return f"{where}: event {anchor.seq} differs from the anchored head (first divergence)"
    return None
