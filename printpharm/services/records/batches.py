"""Batch records: view, review, release and reject with electronic signatures.

A batch is signed as a :class:`~printpharm.services.access.signatures.SignableRecord`
built by :func:`batch_signable`: its content version and canonical content
(target dose, units with raw readings, the run's details; not the status,
which the signature itself decides; the content-uniformity units and results
once there are any). Release needs a valid ``reviewed`` signature of the same
content by someone else first (audit-trail review, AUD-12), every alarm of the
batch acknowledged (:mod:`printpharm.services.run.alarm_acks`; review and
rejection need that too) and a QC verdict
that may be released: ``pass``, or ``local_spec_only`` where the site allowed it
when the run ended. The verdict is the run's, completed by the content
uniformity the batch needs (Ph. Eur. 2.9.40, see
:mod:`printpharm.services.records.content_uniformity`): a pending verdict is not
a pass. Only a supervisor's role holds ``sign.released`` (SIG-07), and the
technician who printed the batch cannot sign it (SEC-05). The status change is
stored in the signature's transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from printpharm.errors import RecordError, SignatureError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import (
    Meaning,
    RecordsService,
    SignableRecord,
    SignatureCheck,
)
from printpharm.services.records.content_uniformity import CuStatus, batch_qc, cu_status
from printpharm.services.run.alarm_acks import require_acknowledged
from printpharm.services.run.result import RELEASABLE_VERDICTS
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import BatchRow, UnitReading
from printpharm.storage.repositories import SignatureRecord, UnitOfWork

__all__ = ["BatchRecordsService", "batch_signable", "recover_open_batches"]


#: Unit fields added after batches were first signed: left out while empty, so that the
#: signatures of records made before them (schemas 0007, 0010) still verify.
_LATER_UNIT_FIELDS = ("e_scale", "correction_reason", "pressure")


def _signable_unit(unit: UnitReading) -> dict[str, Any]:
    content = dataclasses.asdict(unit)
    for name in _LATER_UNIT_FIELDS:
        if content.get(name) is None:
            content.pop(name, None)
    return content


def batch_signable(row: BatchRow) -> SignableRecord:
    """The signable form of a batch record (status excluded: it is what signatures decide)."""
    content: dict[str, Any] = {
        "target_dose_mg": row.target_dose_mg,
        "units_count": row.units_count,
        "research_mode": row.research_mode,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "details": row.details,
        "units": [_signable_unit(u) for u in row.units],
    }
    if row.cu_samples or row.cu_results:  # absent before: older signatures stay valid
        content["content_uniformity"] = {
            "samples": [dataclasses.asdict(s) for s in row.cu_samples],
            "results": [dataclasses.asdict(r) for r in row.cu_results],
        }
    return SignableRecord("batch", row.batch_id, row.version, content, row.created_by, row.batch_id)


class BatchRecordsService:
    """Reads batch records and signs their review and disposition."""

    def __init__(self, auth: AuthService, records: RecordsService) -> None:
        self._auth = auth
        self._records = records

    def get(self, session: UserSession, batch_id: str) -> BatchRow:
        """Return a batch record.

        Raises
        ------
        PermissionDenied
            The role may not view records.
        RecordError
            No such batch.
        """
        self._auth.require(session, Operation.VIEW_RECORDS)
        with self._auth.uow(write=False) as uow:
            row = uow.batches.get(batch_id)
        if row is None:
            raise RecordError(f"batch {batch_id!r} does not exist")
        return row

    def signatures(
        self, session: UserSession, batch_id: str
    ) -> list[tuple[SignatureRecord, SignatureCheck]]:
        """Return the batch's signatures, each verified against the batch as it is now."""
        record = batch_signable(self.get(session, batch_id))
        return [
            (sig, self._records.verify_signature(sig, record))
            for sig in self._records.signatures(session, "batch", batch_id)
        ]

    def review(
        self, session: UserSession, batch_id: str, user_id: str, password: str, comment: str
    ) -> SignatureRecord:
        """Sign the review of the batch record and its audit trail (meaning ``reviewed``).

        Raises
        ------
        AlarmNotAcknowledged
            An alarm of the batch has no acknowledgement (each is named).
        """
        record = batch_signable(self.get(session, batch_id))
        self._require_acknowledged(batch_id, "reviewed")
        return self._records.sign(session, record, Meaning.REVIEWED, user_id, password, comment)

    def _require_acknowledged(self, batch_id: str, what: str) -> None:
        with self._auth.uow(write=False) as uow:
            require_acknowledged(uow, batch_id, what)

    def dispose(
        self,
        session: UserSession,
        batch_id: str,
        meaning: Meaning | str,
        user_id: str,
        password: str,
        comment: str | None = None,
    ) -> SignatureRecord:
        """Release or reject a batch with an electronic signature.

        Raises
        ------
        SignatureError
            ``meaning`` is not ``released``/``rejected``, or a release lacks a
            releasable QC verdict or a valid review signature by another person.
        AlarmNotAcknowledged
            An alarm of the batch has no acknowledgement (each is named).
        RecordError
            The batch cannot move to that status, or changed while signing.
        PermissionDenied, AuthenticationFailed, AccountLocked, SessionExpired
            As for :meth:`RecordsService.sign`.
        """
        if meaning not in (Meaning.RELEASED, Meaning.REJECTED):
            raise SignatureError(f"a batch is disposed as released or rejected, not {meaning!r}")
        chosen = Meaning(meaning)
        row = self.get(session, batch_id)
        record = batch_signable(row)
        self._require_acknowledged(batch_id, chosen.value)
        if chosen is Meaning.RELEASED:
            self._require_review(session, record, user_id)
            if row.status == "completed":  # any other status cannot move to released at all
                self._require_releasable_qc(row)

        def change_status(uow: UnitOfWork) -> None:
            now = uow.batches.get(batch_id)
            if now is None or batch_signable(now).content_sha256() != record.content_sha256():
                raise RecordError(f"batch {batch_id!r} changed while it was being signed")
            uow.batches.set_status(batch_id, chosen.value, comment)

        return self._records.sign(
            session, record, chosen, user_id, password, comment, then=change_status
        )

    def qc(self, session: UserSession, batch_id: str) -> dict[str, Any]:
        """The batch's QC as its record states it and release judges it.

        The run's QC (its ``finish`` event) completed by the content uniformity the
        batch needs (:func:`~printpharm.services.records.content_uniformity.batch_qc`).

        Raises
        ------
        PermissionDenied
            The role may not view records.
        RecordError
            No such batch.
        """
        return self._qc(self.get(session, batch_id))[0]

    def _qc(self, row: BatchRow) -> tuple[dict[str, Any], CuStatus]:
        with self._auth.uow(write=False) as uow:
            finishes = uow.events(batch_id=row.batch_id, record_type="batch", action="finish")
        run_qc = (finishes[-1].new() or {}).get("qc") or {} if finishes else {}
        status = cu_status(row)
        return batch_qc(run_qc, status), status

    def _require_releasable_qc(self, row: BatchRow) -> None:
        """Release needs the batch's QC verdict ``pass`` (or an allowed ``local_spec_only``).

        A pending verdict (content uniformity or an assay missing) is not a pass.
        """
        qc, status = self._qc(row)
        verdict = str(qc.get("verdict", "not_evaluated"))
        if verdict in RELEASABLE_VERDICTS:
            return
        raise SignatureError(
            f"batch {row.batch_id} cannot be released: its QC verdict is {verdict.upper()} — "
            f"{qc.get('reason', 'no QC was recorded')}; {_what_release_needs(row.batch_id, status)}"
        )

    def _require_review(self, session: UserSession, record: SignableRecord, signer: str) -> None:
        reviews = [
            sig
            for sig in self._records.signatures(session, "batch", record.record_id)
            if sig.meaning == Meaning.REVIEWED
            and sig.signer_user_id != signer
            and self._records.verify_signature(sig, record).ok
        ]
        if not reviews:
            raise SignatureError(
                f"batch {record.record_id} has no valid review signature by another person; "
                "its record and audit trail must be reviewed before release"
            )


def _what_release_needs(batch_id: str, status: CuStatus) -> str:
    """What a batch whose verdict may not be released still needs, in words."""
    if status.state == "FAIL":
        return "it failed content uniformity"
    if status.state not in ("NOT_NEEDED", "PASS"):
        return (
            f"it needs content uniformity before release ({status.why}); enter the assays "
            f"with `printpharm qc cu {batch_id}`"
        )
    return "only a PASS (or LOCAL_SPEC_ONLY where the site allows it) may be released"


#: Why a batch found open at start-up is closed (written into its status and audit trail).
RECOVERY_REASON = (
    "found open at start-up: the program ended while the batch was being made "
    "(crash, power loss or forced stop); units not recorded were not made under control"
)


def recover_open_batches(auth: AuthService) -> list[str]:
    """Start-up recovery: mark batches left ``printing`` as ``interrupted`` (``planned``: stopped).

    Only batches started on this workstation (the workstation of the batch's first
    audit event) are closed: on a shared PostgreSQL database another workstation's
    batch may be printing right now.

    Each change is stored with an audit event (action ``recover``) in one transaction;
    the units recorded before the crash stay as they are. Returns the batch IDs closed.

    Raises
    ------
    DatabaseUnavailable
        The database cannot be written.
    """
    closed: list[str] = []
    with auth.uow() as uow:
        here = uow.context.workstation
        for status, new in (("printing", "interrupted"), ("planned", "stopped")):
            for batch_id in uow.batches.ids(status):
                started = uow.events(batch_id=batch_id, record_type="batch")
                if started and started[0].workstation != here:
                    continue  # another workstation's batch (shared database): it may be printing
                row = uow.batches.set_status(batch_id, new, RECOVERY_REASON)
                uow.audit.append(
                    AuditEntry(
                        "batch",
                        "recover",
                        batch_id,
                        reason=RECOVERY_REASON,
                        old={"status": status},
                        new={"status": new, "units_recorded": len(row.units)},
                        batch_id=batch_id,
                    )
                )
                closed.append(batch_id)
    return closed
