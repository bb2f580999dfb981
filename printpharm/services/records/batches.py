"""Batch records: view, review, release and reject with electronic signatures.

A batch is signed as a :class:`~printpharm.services.access.signatures.SignableRecord`
built by :func:`batch_signable`: its content version and canonical content
(target dose, units with raw readings, the run's details; not the status,
which the signature itself decides; the content-uniformity units and results
once there are any). One gate decides whether a batch may be released
(:meth:`BatchRecordsService._release_gate`), in this order: the rows the release
rests on (batch, units, content-uniformity samples and results, the ink lot) match
the audit trail and its signatures are sealed (issue 13); the batch is for patient
use — a locked library, a verified entry, a released lot, never a simulator
(:func:`printpharm.services.records.patient_use.patient_use`); a valid ``reviewed``
signature of the same content by someone else (audit-trail review, AUD-12); every
alarm of the batch acknowledged (:mod:`printpharm.services.run.alarm_acks`; review
and rejection need that too); and a QC verdict that may be released: ``pass``, or
``local_spec_only`` where the site allowed it when the run ended. The verdict is the
run's, completed by the content uniformity the batch needs (Ph. Eur. 2.9.40, see
:mod:`printpharm.services.records.content_uniformity`): a pending verdict is not a
pass. Only a supervisor's role holds ``sign.released`` (SIG-07), and the technician
who printed the batch cannot sign it (SEC-05). The status change is stored in the
signature's transaction.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from printpharm.core.text import shown
from printpharm.errors import RecordError, SignatureError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import (
    Meaning,
    RecordsService,
    SignableRecord,
    SignatureCheck,
)
from printpharm.services.access.site_trust import anchor_after
from printpharm.services.records.content_uniformity import CuStatus, batch_qc, cu_status
from printpharm.services.records.patient_use import patient_use
from printpharm.services.run.alarm_acks import require_acknowledged
from printpharm.services.run.lease import lease_is_live
from printpharm.services.run.result import RELEASABLE_VERDICTS
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import BatchRow, UnitReading
from printpharm.storage.repositories import UnitOfWork
from printpharm.storage.signatures import SignatureRecord

__all__ = [
    "BatchRecordsService",
    "Recovery",
    "batch_signable",
    "recover_batches",
    "recover_open_batches",
]


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
            row = uow.batches.require(batch_id)
        return row

    def signatures(
        self, session: UserSession, batch_id: str
    ) -> list[tuple[SignatureRecord, SignatureCheck]]:
        """Return the batch's signatures, each verified against the batch as it is now."""
        record = batch_signable(self.get(session, batch_id))
        with self._auth.uow(write=False) as uow:
            sealed = {s.id: uow.signatures.seal_problem(s) for s in uow.signatures.for_record(
                "batch", batch_id)}  # fmt: skip
        out = []
        for sig in self._records.signatures(session, "batch", batch_id):
            check = self._records.verify_signature(sig, record)
            if check.ok and sealed.get(sig.id):
                check = SignatureCheck(False, sealed[sig.id])
            out.append((sig, check))
        return out

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
            self._release_gate(session, row, record, user_id)

        def change_status(uow: UnitOfWork) -> None:
            now = uow.batches.get(batch_id)
            if now is None or batch_signable(now).content_sha256() != record.content_sha256():
                raise RecordError(f"batch {batch_id!r} changed while it was being signed")
            uow.batches.set_status(batch_id, chosen.value, comment)

        signature = self._records.sign(
            session, record, chosen, user_id, password, comment, then=change_status
        )
        if chosen is Meaning.RELEASED:  # every release is anchored outside the database
            anchor_after(self._auth, f"release of batch {batch_id}")
        return signature

    def _release_gate(
        self, session: UserSession, row: BatchRow, record: SignableRecord, signer: str
    ) -> None:
        """The one gate of a release (see the module docstring); raises the first refusal."""
        self._require_trusted_rows(row)
        self._require_patient_use(row)
        self._require_review(session, record, signer)
        if row.status == "completed":  # other statuses cannot be released at all
            self._require_releasable_qc(row)

    def _require_trusted_rows(self, row: BatchRow) -> None:
        """The rows a release rests on match the audit trail (issue 13)."""
        with self._auth.uow(write=False) as uow:
            forged = uow.batch_row_problems(row.batch_id)
        if forged:
            raise SignatureError(
                f"batch {row.batch_id} cannot be released: its record differs from the audit "
                f"trail ({'; '.join(forged[:3])}); run `printpharm audit verify`"
            )

    def patient_use(self, session: UserSession, batch_id: str) -> tuple[bool, str]:
        """Whether the batch may ever be released for a patient, and why (as release judges).

        Raises
        ------
        PermissionDenied, RecordError
            As :meth:`get`.
        """
        return self._patient_use(self.get(session, batch_id))

    def _patient_use(self, row: BatchRow) -> tuple[bool, str]:
        with self._auth.uow(write=False) as uow:
            return patient_use(row, uow.events(batch_id=row.batch_id))

    def _require_patient_use(self, row: BatchRow) -> None:
        """Only a batch for patient use is released; others are closed by a rejection."""
        use, why = self._patient_use(row)
        if not use:
            raise SignatureError(
                f"batch {row.batch_id} is NOT FOR PATIENT USE ({why}): it cannot be released; "
                "close it as a training/research batch with a 'rejected' signature instead"
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
#: Why a supervisor's ``batches recover`` closes a batch.
MANUAL_RECOVERY_REASON = (
    "closed by a supervisor: no program holds it any longer (crash, power loss or forced "
    "stop); units not recorded were not made under control"
)
_OPEN = (("printing", "interrupted"), ("planned", "stopped"))


@dataclass(frozen=True)
class Recovery:
    """What ``batches recover`` did: batches closed, and batches still held by a live run."""

    closed: tuple[str, ...]
    held: tuple[tuple[str, str], ...]  # (batch ID, the workstation whose run holds it)


def recover_open_batches(auth: AuthService) -> list[str]:
    """Start-up recovery: this workstation's batches left open by a crash are closed.

    ``printing`` becomes ``interrupted``, ``planned`` becomes ``stopped``. Only
    batches started on this workstation (the workstation of the batch's first
    audit event) and whose lease is not live (:func:`~.run.lease.lease_is_live`:
    no other printpharm process here is still making it) are closed: on a shared
    database another workstation's batch may be printing right now.

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
        for status, new in _OPEN:
            for batch_id in uow.batches.ids(status):
                started = uow.events(batch_id=batch_id, record_type="batch")
                if started and started[0].workstation != here:
                    continue  # another workstation's batch (shared database): it may be printing
                if lease_is_live(uow.leases.get(batch_id), here, uow.now()):
                    continue  # another printpharm process on this workstation is making it
                _close(uow, batch_id, status, new, RECOVERY_REASON, None)
                closed.append(batch_id)
    return closed


def recover_batches(
    auth: AuthService, session: UserSession, batch_id: str | None = None
) -> Recovery:
    """``batches recover``: a supervisor closes open batches no live run holds (audited).

    Any workstation's batch may be closed once its lease is no longer live; a batch
    whose run still holds it is never closed (its run would fail).

    Raises
    ------
    PermissionDenied, SessionExpired
        Not a supervisor, or nobody is logged in.
    RecordError
        ``batch_id`` does not exist, is not open, or a live run still holds it.
    """
    live = auth.require(session, Operation.RECOVER_BATCHES)
    closed: list[str] = []
    held: list[tuple[str, str]] = []
    with auth.uow() as uow:
        here = uow.context.workstation
        wanted = [(b, s, n) for s, n in _OPEN for b in uow.batches.ids(s)]
        if batch_id is not None:
            wanted = [w for w in wanted if w[0] == batch_id]
            if not wanted:
                row = uow.batches.get(batch_id)
                state = "does not exist" if row is None else f"is {row.status}, not open"
                raise RecordError(f"batch {shown(batch_id)} {state}: nothing to recover")
        for open_id, status, new in wanted:
            lease = uow.leases.get(open_id)
            if lease_is_live(lease, here, uow.now()):
                assert lease is not None
                held.append((open_id, lease.workstation))
                continue
            _close(uow, open_id, status, new, MANUAL_RECOVERY_REASON, live)
            closed.append(open_id)
    if batch_id is not None and held:
        ((_, where),) = held
        raise RecordError(
            f"batch {shown(batch_id)} is still being made on workstation {where} (its run "
            "renews its lease): it is not recovered; stop that run there first"
        )
    return Recovery(tuple(closed), tuple(held))


def _close(
    uow: UnitOfWork, batch_id: str, status: str, new: str, reason: str, by: UserSession | None
) -> None:
    row = uow.batches.set_status(batch_id, new, reason)
    uow.leases.release(batch_id)
    uow.audit.append(
        AuditEntry(
            "batch", "recover", batch_id,
            by.user_id if by else None, by.full_name if by else None,
            reason=reason, old={"status": status},
            new={"status": new, "units_recorded": len(row.units)}, batch_id=batch_id,
        )
    )  # fmt: skip
