"""Electronic signatures, the audit-trail views and site settings.

A signature has a meaning from a fixed list, the signer's printed name, the
date and time with zone, and is bound to the signed record: record type, id,
version and the SHA-256 of the record's canonical content. User ID and
password are re-entered for every signature; the signer must be the session
user; failed attempts count toward lockout. Administrators cannot sign and
nobody signs their own record (segregation of duties).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from printpharm.errors import PermissionDenied, SignatureError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation, sign_operation
from printpharm.storage.audit import (
    AuditContext,
    AuditEntry,
    AuditEvent,
    ChainReport,
    canonical_json,
    format_utc_ms,
    sha256_hex,
    zone_label,
)
from printpharm.storage.db import Database
from printpharm.storage.repositories import SettingRecord, UnitOfWork, UserRecord, unit_of_work
from printpharm.storage.signatures import SignatureRecord

__all__ = [
    "Meaning",
    "RecordsService",
    "SignableRecord",
    "SignatureCheck",
    "SiteSettingsService",
    "label_zone",
    "local_time_text",
    "manifestation",
    "read_audit_events",
    "signature_hash",
    "verify_audit_trail",
]


class Meaning(StrEnum):
    """The controlled list of signature meanings (SIG-06)."""

    REVIEWED = "reviewed"
    APPROVED = "approved"
    RELEASED = "released"
    REJECTED = "rejected"


@dataclass(frozen=True)
class SignableRecord:
    """What a signature is bound to: a record's identity, version and content.

    ``content`` is serialised canonically (sorted keys, Decimals as strings);
    any change to it changes :meth:`content_sha256` and invalidates signatures.
    ``author_user_id`` is who created or entered the record (it may not sign it).
    """

    record_type: str
    record_id: str
    version: int
    content: Mapping[str, Any]
    author_user_id: str | None = None
    batch_id: str | None = None

    def content_sha256(self) -> str:
        """SHA-256 of the canonical JSON of type, id, version and content."""
        return sha256_hex(
            canonical_json(
                {
                    "record_type": self.record_type,
                    "record_id": self.record_id,
                    "version": self.version,
                    "content": self.content,
                }
            )
        )


@dataclass(frozen=True)
class SignatureCheck:
    """Verification of one signature against a record."""

    ok: bool
    problem: str | None = None


def signature_hash(signature: SignatureRecord) -> str:
    """SHA-256 over every manifestation field and the bound content hash."""
    fields = dataclasses.asdict(signature)
    fields.pop("id")
    fields.pop("signature_sha256")
    fields.pop("seal")  # the site key's seal is over signature_sha256, not part of it
    fields.pop("seal_key_id")
    return sha256_hex(canonical_json(fields))


def manifestation(signature: SignatureRecord) -> str:
    """The human-readable signature: meaning, printed name, date and time with zone (SIG-03).

    Example: ``Released by Ana Ruiz (aruiz) on 2026-11-22 14:05:09 CET UTC+01:00``.
    """
    utc = datetime.strptime(signature.signed_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return (
        f"{signature.meaning.capitalize()} by {signature.signer_name} "
        f"({signature.signer_user_id}) on {local_time_text(utc, signature.local_tz)}"
    )


def local_time_text(moment: datetime, local_tz: str) -> str:
    """``moment`` in the signer's local time with its zone label.

    E.g. ``2026-11-22 14:05:09 CET UTC+01:00``; a zone whose name says no more than
    its offset (``UTC``, ``+04``) is shown by the offset alone (``UTC+00:00``, not
    ``UTC UTC+00:00``).

    ``local_tz`` is the label stored with the record (:func:`zone_label`); its UTC
    offset gives the local time.
    """
    name, _, offset_text = local_tz.rpartition("UTC")
    offset_text = offset_text or "+00:00"
    name = name.strip()
    says_more = bool(name) and name not in ("UTC", "GMT", "Z") and name[0] not in "+-"
    label = local_tz if says_more else f"UTC{offset_text}"
    return f"{moment.astimezone(label_zone(local_tz)).strftime('%Y-%m-%d %H:%M:%S')} {label}"


def label_zone(local_tz: str) -> timezone:
    """The fixed UTC offset a stored zone label names (``"EST UTC-05:00"`` → UTC−5).

    The offset in force when the record was written, so a local date or time read
    from it later is the one the workstation showed then (DST changes do not move it).
    """
    offset_text = local_tz.rpartition("UTC")[2] or "+00:00"
    sign = -1 if offset_text.startswith("-") else 1
    hours, minutes = (int(x) for x in offset_text.lstrip("+-").split(":"))
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _require_enrolled(signer: UserRecord) -> None:
    if signer.identity_verified_by is None or signer.signature_ack_at is None:
        raise SignatureError(
            f"{signer.user_id} is not enrolled for electronic signatures: an administrator "
            "must record the identity check and the user must acknowledge the "
            "signature statement first"
        )


def _draft(
    uow: UnitOfWork,
    live: UserSession,
    record: SignableRecord,
    meaning: Meaning,
    comment: str | None,
) -> SignatureRecord:
    moment = uow.now()
    draft = SignatureRecord(
        id=None,
        record_type=record.record_type,
        record_id=record.record_id,
        record_version=record.version,
        content_sha256=record.content_sha256(),
        meaning=meaning.value,
        signer_user_id=live.user_id,
        signer_name=live.full_name,
        signed_at=format_utc_ms(moment),
        local_tz=zone_label(moment, uow.context.zone),
        comment=comment,
        signature_sha256="",
    )
    return dataclasses.replace(draft, signature_sha256=signature_hash(draft))


def _meaning(meaning: Meaning | str) -> Meaning:
    try:
        return Meaning(meaning)
    except ValueError:
        raise SignatureError(
            f"signature meaning {meaning!r} is not one of {[m.value for m in Meaning]}"
        ) from None


class RecordsService:
    """Signs records and verifies signatures.

    Parameters
    ----------
    auth
        The authentication service (sessions, credentials, permissions).
    """

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def sign(
        self,
        session: UserSession,
        record: SignableRecord,
        meaning: Meaning | str,
        user_id: str,
        password: str,
        comment: str | None = None,
        then: Callable[[UnitOfWork], None] | None = None,
    ) -> SignatureRecord:
        """Sign ``record`` with ``meaning`` after re-entering user ID and password.

        ``then`` runs inside the signature's transaction (e.g. the status change a
        release signature decides); if it raises, neither is stored.

        Raises
        ------
        SignatureError
            The meaning is not in the controlled list, or the signer is not
            enrolled (identity verified and statement acknowledged).
        AuthenticationFailed
            Wrong password, or another user's credentials (refused, logged,
            counted toward lockout).
        AccountLocked
            The account is (now) locked.
        PermissionDenied
            The role may not sign with this meaning (administrators, inspectors),
            or the signer is the record's author.
        SessionExpired
            The session timed out.
        """
        chosen = _meaning(meaning)
        self._auth.reauthenticate(session, user_id, password, "signature")
        live = self._auth.require(session, sign_operation(chosen.value))
        if record.author_user_id is not None and record.author_user_id == live.user_id:
            self._refuse_own_record(live, record, chosen)
        with self._auth.uow() as uow:
            _require_enrolled(self._auth.record_success(uow, live.user_id))
            stored = uow.signatures.add(_draft(uow, live, record, chosen, comment))
            uow.audit.append(
                AuditEntry(
                    record.record_type,
                    "sign",
                    record.record_id,
                    live.user_id,
                    live.full_name,
                    reason=comment,
                    new=dataclasses.asdict(stored),
                    batch_id=record.batch_id,
                )
            )
            if then is not None:
                then(uow)
        return stored

    def _refuse_own_record(
        self, live: UserSession, record: SignableRecord, meaning: Meaning
    ) -> None:
        with self._auth.uow() as uow:
            uow.audit.append(
                AuditEntry(
                    record.record_type,
                    "signature-refused",
                    record.record_id,
                    live.user_id,
                    live.full_name,
                    batch_id=record.batch_id,
                    new={"meaning": meaning.value, "refused": "signer is the record's author"},
                )
            )
        raise PermissionDenied(
            f"{live.user_id} entered {record.record_type} {record.record_id} and may not "
            f"sign it as {meaning.value} (segregation of duties)"
        )

    def signatures(
        self, session: UserSession, record_type: str, record_id: str
    ) -> list[SignatureRecord]:
        """Return the signatures stored against a record.

        Raises
        ------
        PermissionDenied
            The role may not view records.
        """
        self._auth.require(session, Operation.VIEW_RECORDS)
        with self._auth.uow(write=False) as uow:
            return uow.signatures.for_record(record_type, record_id)

    @staticmethod
    def verify_signature(signature: SignatureRecord, record: SignableRecord) -> SignatureCheck:
        """Check that ``signature`` belongs to ``record`` as it is now (SIG-05).

        Fails when the record changed after signing, when the signature was
        moved or copied to another record, or when its fields were edited.
        """
        if signature_hash(signature) != signature.signature_sha256:
            return SignatureCheck(False, "signature fields were altered after signing")
        if (signature.record_type, signature.record_id) != (record.record_type, record.record_id):
            return SignatureCheck(
                False,
                f"signature belongs to {signature.record_type} {signature.record_id}, "
                f"not {record.record_type} {record.record_id}",
            )
        if signature.record_version != record.version:
            return SignatureCheck(
                False,
                f"signed version {signature.record_version}, record is at version "
                f"{record.version}: modified after signing",
            )
        if signature.content_sha256 != record.content_sha256():
            return SignatureCheck(False, "record content changed after signing (hash differs)")
        return SignatureCheck(True)


def verify_audit_trail(db: Database) -> ChainReport:
    """Verify the audit chain of ``db``; needs nothing but the database (no login).

    Raises
    ------
    DatabaseUnavailable
        The database cannot be opened.
    """
    with unit_of_work(db, AuditContext("verifier", "-"), write=False) as uow:
        return uow.verify_chain()


def read_audit_events(db: Database, **filters: Any) -> list[AuditEvent]:
    """Read audit events from ``db`` in chain order (filters: batch_id, record_type, ...).

    Reading needs only access to the database file, as for an inspector offline.
    """
    with unit_of_work(db, AuditContext("reader", "-"), write=False) as uow:
        return uow.events(**filters)


#: Setting keys no role may change: the audit trail cannot be switched off (AUD-09).


class SiteSettingsService:
    """Versioned site settings, read here; changed only by
    :func:`printpharm.services.control.site_settings.change_setting` (limits, reason,
    re-entered password, audit)."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def all(self) -> dict[str, SettingRecord]:
        """Return every site setting."""
        with self._auth.uow(write=False) as uow:
            return uow.settings.all()
