"""The integrity checks a unit of work offers (mixed into :class:`.repositories.UnitOfWork`).

Chain, site keys, signature seals, row cross-checks and anchors, as
:mod:`printpharm.storage.integrity` computes them, over the unit of work's own
session (one consistent read), and the site-key registration that extends its chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from printpharm.storage.audit import AuditLog, ChainReport
from printpharm.storage.integrity import (
    Anchor,
    IntegrityReport,
    KeyInfo,
    current_key,
    database_id,
    quick_verify,
    register_site_key,
    signed_head,
    site_keys,
    verify_integrity,
)
from printpharm.storage.rowseal import batch_row_mismatches
from printpharm.storage.signatures import SignatureRepository
from printpharm.storage.sitekey import SiteKey

__all__ = ["IntegrityChecks"]


class IntegrityChecks:
    """Integrity checks over ``_session``; the unit of work provides the attributes."""

    _session: Session
    audit: AuditLog
    signatures: SignatureRepository

    def verify_integrity(
        self, anchors: Sequence[Anchor] = (), *, partial: bool = False
    ) -> IntegrityReport:
        """Chain, site keys, seals, row cross-checks and anchors (see :mod:`.integrity`)."""
        return verify_integrity(self._session, anchors=anchors, partial=partial)

    def quick_verify(self, after: tuple[int, str] | None) -> tuple[ChainReport, list[str]]:
        """The chain since ``after`` and the signed head (see :func:`.integrity.quick_verify`)."""
        return quick_verify(self._session, after)

    def current_key(self) -> KeyInfo | None:
        """The site key in force, or ``None`` for a database without one."""
        return current_key(self._session)

    def site_keys(self) -> list[KeyInfo]:
        """Every registered site public key, oldest first."""
        return site_keys(self._session)

    def register_key(self, new: SiteKey, old: SiteKey | None, user_id: str | None) -> None:
        """Register the first site key, or rotate to ``new`` (endorsed by ``old``)."""
        register_site_key(self.audit, self._session, new, old, user_id)

    def database_id(self) -> str | None:
        """The database's identity in anchor logs (its first site key's id)."""
        return database_id(self._session)

    def batch_row_problems(self, batch_id: str) -> list[str]:
        """Rows a release of the batch rests on that differ from their events, and its
        signatures that are not sealed (see :func:`.rowseal.batch_row_mismatches`)."""
        problems = batch_row_mismatches(self._session.connection(), batch_id)
        for sig in self.signatures.for_record("batch", batch_id):
            trouble = self.signatures.seal_problem(sig)
            if trouble:
                problems.append(f"signature {sig.id} ({sig.meaning}): {trouble}")
        return problems

    def signed_head(self) -> dict[str, Any]:
        """The chain head with its key id and signature."""
        return signed_head(self._session)
