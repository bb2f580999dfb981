"""The batch records that standalone workstations brought into the central database.

An import (:mod:`printpharm.services.records.federation`) stores a workstation's batch
records inside its one ``imported-chain`` audit event; they are not rows of the
central ``batches`` table (that table holds only batches printed against the
central database, each with its own audit events). :func:`imported_batches`
reads them back for the history views: the newest import of each source chain
carries the newest state of each of its batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.records.federation import IMPORT_RECORD_TYPE

__all__ = ["ImportedBatch", "imported_batches"]


@dataclass(frozen=True)
class ImportedBatch:
    """One batch record as a standalone workstation exported it."""

    batch_id: str
    status: str
    target_dose_mg: Decimal
    units_count: int
    units_recorded: int
    created_by: str
    created_at: str
    source_workstation: str
    chain_id: str
    import_seq: int
    record: dict[str, Any]

    @property
    def line(self) -> str:
        """One line for a list: batch, status, dose × units, who, when, from where."""
        return (
            f"{self.batch_id}  {self.status:<11} {self.target_dose_mg} mg × "
            f"{self.units_recorded}/{self.units_count}  by {self.created_by} "
            f"{self.created_at[:16]}Z  from {self.source_workstation} "
            f"(central audit event {self.import_seq})"
        )


def _batch(value: dict[str, Any], seq: int, record: dict[str, Any]) -> ImportedBatch:
    return ImportedBatch(
        batch_id=str(record["batch_id"]),
        status=str(record["status"]),
        target_dose_mg=Decimal(str(record["target_dose_mg"])),
        units_count=int(record["units_count"]),
        units_recorded=len(record.get("units", [])),
        created_by=str(record["created_by"]),
        created_at=str(record["created_at"]),
        source_workstation=str(value["source_workstation"]),
        chain_id=str(value["chain_id"]),
        import_seq=seq,
        record=record,
    )


def imported_batches(auth: AuthService, session: UserSession) -> list[ImportedBatch]:
    """The batches imported from standalone workstations, newest state of each, oldest first.

    Raises
    ------
    PermissionDenied, SessionExpired
        The user may not view records, or is not logged in.
    """
    auth.require(session, Operation.VIEW_RECORDS)
    with auth.uow(write=False) as uow:
        events = uow.events(record_type=IMPORT_RECORD_TYPE)
    newest: dict[tuple[str, str], ImportedBatch] = {}
    for event in events:  # chain order: a later import replaces an earlier state
        value = event.new()
        for record in value.get("batches", []):
            batch = _batch(value, event.seq, record)
            newest[(batch.chain_id, batch.batch_id)] = batch
    return sorted(newest.values(), key=lambda b: (b.created_at, b.batch_id))
