"""Line clearance before each recorded batch: a short checklist, and a second person if asked.

The operator confirms every item of :func:`checklist` (the previous batch's
materials and labels are gone, the right ink lot and syringe are at the
printer, the area is clean). Where the site setting
``line_clearance.second_person`` is ``required``, a second person (who may run
prints) checks it with their own user ID and password. The clearance is written
to the batch's audit trail and recorded with the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from printpharm.errors import PreflightError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.second_person import second_person
from printpharm.services.run.preflight import PreflightCheck
from printpharm.services.run.request import RunRequest
from printpharm.storage.audit import AuditEntry

__all__ = [
    "ITEMS",
    "SECOND_PERSON_SETTING",
    "LineClearance",
    "checklist",
    "clear_line",
    "second_person_required",
]

#: Site setting: ``required`` or ``not_required`` (a second person checks the clearance).
SECOND_PERSON_SETTING = "line_clearance.second_person"

#: The checklist: key → the sentence the operator confirms (``{ink}``/``{lot}`` filled in).
ITEMS: dict[str, str] = {
    "previous_removed": "The previous batch's units, materials, documents and labels are removed",
    "ink_lot": "The ink at the printer is {ink}, lot {lot}, within its expiry",
    "syringe": "The syringe (or filament) and print head fitted are the ones for this ink",
    "area_clean": "The printer, its build plate and the work area are clean",
}


@dataclass(frozen=True)
class LineClearance:
    """What the operator confirmed, and the second person (the password is never stored)."""

    confirmed: tuple[str, ...]
    checked_by: str | None = None
    checker_password: str | None = None

    @classmethod
    def all_confirmed(
        cls, checked_by: str | None = None, password: str | None = None
    ) -> LineClearance:
        """Every item confirmed (``printpharm run --line-clearance``)."""
        return cls(tuple(ITEMS), checked_by, password)


def checklist(request: RunRequest, lot: str | None = None) -> list[tuple[str, str]]:
    """The checklist for ``request`` printed from ink lot ``lot``: (key, sentence) in order.

    Without a recorded lot the ink file's example lot is named (a training run).
    """
    ink = request.ink
    named = lot or ink.lot
    return [(k, text.format(ink=ink.id, lot=named)) for k, text in ITEMS.items()]


def second_person_required(auth: AuthService) -> bool:
    """Whether the site wants a second person to check the line clearance."""
    with auth.uow(write=False) as uow:
        stored = uow.settings.get(SECOND_PERSON_SETTING)
    return stored is not None and stored.value == "required"


def _checker(auth: AuthService, operator: str, checker: str, password: str) -> tuple[str, str]:
    with second_person(
        auth, checker, password, Operation.RUN_PRINT, first=operator,
        same=f"{operator} cleared the line and cannot also check it: a second person does",
        check="line-clearance check",
    ) as live:  # fmt: skip
        return live.user_id, live.full_name


def clear_line(
    auth: AuthService,
    session: UserSession,
    request: RunRequest,
    clearance: LineClearance | None,
    lot: str | None = None,
) -> tuple[PreflightCheck, dict[str, Any]]:
    """Record the line clearance of ``request``'s batch; the check and the record.

    Raises
    ------
    PreflightError
        No clearance, an item not confirmed, or no second person where the site wants one
        (the refusal is audited).
    PermissionDenied, AuthenticationFailed, AccountLocked
        The checker is the operator, may not run prints, or gave wrong credentials.
    """
    live = auth.check(session)
    items = checklist(request, lot)
    missing = [text for key, text in items if clearance is None or key not in clearance.confirmed]
    refusal = None
    if missing:
        refusal = "line clearance not confirmed: " + "; ".join(missing)
    elif second_person_required(auth) and (clearance is None or not clearance.checked_by):
        refusal = (
            "line clearance needs a second person's check (site setting "
            f"{SECOND_PERSON_SETTING} = required)"
        )
    if refusal is not None:
        with auth.uow() as uow:
            uow.audit.append(
                AuditEntry(
                    "batch",
                    "print-refused",
                    request.batch_id,
                    live.user_id,
                    live.full_name,
                    reason=refusal,
                    batch_id=request.batch_id,
                )
            )
        raise PreflightError(f"preflight refused the run: line_clearance: {refusal}")
    assert clearance is not None
    checker: tuple[str, str] | None = None
    if clearance.checked_by:
        checker = _checker(
            auth, live.user_id, clearance.checked_by, clearance.checker_password or ""
        )
    record = {
        "items": [text for _, text in items],
        "confirmed_by": live.user_id,
        "checked_by": None if checker is None else checker[0],
    }
    with auth.uow() as uow:
        record["at"] = uow.now().isoformat()
        uow.audit.append(
            AuditEntry(
                "batch",
                "line-clearance",
                request.batch_id,
                live.user_id,
                live.full_name,
                new=record,
                batch_id=request.batch_id,
            )
        )
    by = f"{live.full_name} ({live.user_id})"
    if checker is not None:
        by += f", checked by {checker[1]} ({checker[0]})"
    detail = f"{len(items)} items confirmed by {by}"
    return PreflightCheck("line_clearance", True, detail), record
