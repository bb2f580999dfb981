"""Electronic signatures: the stored record and its append-only repository.

A signature is bound to a record's id, version and content hash; with a site
key each stored signature carries the key's seal, checked against the
registered site keys and the signature row's audit event (:meth:`SignatureRepository.seal_problem`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from printpharm.storage.audit_tables import AuditKey, SignatureRow
from printpharm.storage.rowseal import row_matches
from printpharm.storage.sitekey import SiteKey, signature_message, verify_signature

__all__ = ["SignatureRecord", "SignatureRepository"]


@dataclass(frozen=True)
class SignatureRecord:
    """A stored electronic signature and the record content it is bound to."""

    id: int | None
    record_type: str
    record_id: str
    record_version: int
    content_sha256: str
    meaning: str
    signer_user_id: str
    signer_name: str
    signed_at: str
    local_tz: str
    comment: str | None
    signature_sha256: str
    seal: str | None = None
    seal_key_id: str | None = None


class SignatureRepository:
    """Electronic signatures (append-only: UPDATE/DELETE refused by triggers).

    With a site key, each stored signature carries the key's seal over its
    ``signature_sha256`` (:func:`signature_message`).
    """

    def __init__(self, session: Session, signer: SiteKey | None = None) -> None:
        self._s = session
        self._signer = signer

    def add(self, signature: SignatureRecord) -> SignatureRecord:
        """Store a signature (sealed with the site key, if any) and return it with its id."""
        if self._signer is not None:
            signature = dataclasses.replace(
                signature,
                seal=self._signer.sign(signature_message(signature.signature_sha256)),
                seal_key_id=self._signer.key_id,
            )
        values = dataclasses.asdict(signature)
        values.pop("id")
        row = SignatureRow(**values)
        self._s.add(row)
        self._s.flush()
        return dataclasses.replace(signature, id=row.id)

    def seal_problem(self, signature: SignatureRecord) -> str | None:
        """Why ``signature`` cannot be trusted as stored by printpharm, or ``None``.

        Its seal must verify with a registered site key (once the database has
        one), and its row must match the content hash of its audit event.
        """
        keys = dict(self._s.execute(select(AuditKey.key_id, AuditKey.public_key)).all())
        if keys:
            public = keys.get(signature.seal_key_id or "")
            message = signature_message(signature.signature_sha256)
            if public is None or not verify_signature(public, signature.seal, message):
                return "not sealed by the site key (written outside printpharm)"
        if not row_matches(self._s.connection(), "signatures", signature.id):
            return "differs from its audit event (written outside printpharm)"
        return None

    def for_record(self, record_type: str, record_id: str) -> list[SignatureRecord]:
        """Return the signatures stored against a record, oldest first."""
        stmt = (
            select(SignatureRow)
            .where(SignatureRow.record_type == record_type, SignatureRow.record_id == record_id)
            .order_by(SignatureRow.id)
        )
        return [_to_signature(r) for r in self._s.scalars(stmt)]

    def get(self, signature_id: int) -> SignatureRecord | None:
        """Return one signature by id, or ``None``."""
        row = self._s.get(SignatureRow, signature_id)
        return None if row is None else _to_signature(row)


def _to_signature(row: SignatureRow) -> SignatureRecord:
    fields = dataclasses.fields(SignatureRecord)
    return SignatureRecord(**{f.name: getattr(row, f.name) for f in fields})
