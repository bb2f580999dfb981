"""The audit trail's tables: the chain's events and head, the site keys, e-signatures.

The rows whose trust the others rest on: every protected write is sealed into
the chain (:mod:`.rowseal`), the head is signed by the site key in force, and
each e-signature row is sealed by a registered site key (:mod:`.integrity`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from printpharm.storage.tables import Base, UTCDateTime

__all__ = ["AuditEventRow", "AuditHead", "AuditKey", "SignatureRow"]


class AuditHead(Base):
    """The single lock row of the chain: last sequence number and hash."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    last_occurred_at: Mapped[str | None] = mapped_column(String(32))
    key_id: Mapped[str | None] = mapped_column(String(32))
    signature: Mapped[str | None] = mapped_column(String(128))


class AuditEventRow(Base):
    """One append-only audit event (UPDATE and DELETE refused by triggers)."""

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[str] = mapped_column(String(32))
    local_tz: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    user_name: Mapped[str | None] = mapped_column(String(200))
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    workstation: Mapped[str] = mapped_column(String(128))
    app_version: Mapped[str] = mapped_column(String(32))
    config_version: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(64))
    clock_setback: Mapped[bool] = mapped_column(Boolean)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    event_hash: Mapped[str] = mapped_column(String(64), unique=True)


class SignatureRow(Base):
    """An electronic signature bound to a record's id, version and content hash."""

    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    record_version: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))
    meaning: Mapped[str] = mapped_column(String(16))
    signer_user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[str] = mapped_column(String(32))
    local_tz: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    signature_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    seal: Mapped[str | None] = mapped_column(String(128))
    seal_key_id: Mapped[str | None] = mapped_column(String(32))


class AuditKey(Base):
    """A site public key; in force from ``from_seq`` until the next key's ``from_seq``.

    The first key endorses itself; every later key is endorsed by the key before it.
    """

    __tablename__ = "audit_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    from_seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))
    endorsed_by: Mapped[str] = mapped_column(String(32))
    endorsement: Mapped[str] = mapped_column(String(128))
