"""A pharmacist's signed override of a dose that rounding moved outside its tolerance.

A rule dose rounded to the recipe's dose step may land outside the rounding
tolerance (hydrocortisone 0.075 mg/kg × 10 kg = 0.75 mg → 1 mg, +33 %): every
front end then refuses it (the dose record's ``rounding_refusal``, from
:func:`printpharm.core.dose_rules.rounding_refusal`). It may be printed only
under a pharmacist's override: their own user ID and password (re-entered) and
a reason, recorded by :func:`sign_override` as an audit event bound to the
SHA-256 of the entry (the recipe and the dose record: who the batch is for, the
prescription, how the dose was calculated). :func:`find_override` finds it again
for exactly that entry, so an override never carries over to a changed one.
As with the second-person check (:mod:`printpharm.services.control.entry_verification`)
technicians cannot override and nobody overrides their own entry.

Without a database (a training run) there is no one to sign: the dose is simply
refused (:data:`NO_DATABASE`). The override's value and the rule binding it to an
entry are :mod:`printpharm.services.run.override_record` (the run checks them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from printpharm.errors import InputError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.second_person import second_person
from printpharm.services.run.override_record import (
    ACTION,
    APPLIED,
    NO_DATABASE,
    DoseOverride,
    override_content,
    override_digest,
    override_matches,
    refusal_of,
)
from printpharm.storage.audit import AuditEntry
from printpharm.storage.canonical import canonical_json, sha256_hex

__all__ = [
    "ACTION",
    "APPLIED",
    "NO_DATABASE",
    "DoseOverride",
    "find_override",
    "override_digest",
    "override_matches",
    "refusal_of",
    "sign_override",
]


def _refusal_to_override(dose_record: Mapping[str, Any], reason: str) -> str:
    """The refusal to override, once the request is one a pharmacist may sign."""
    refusal = refusal_of(dose_record)
    if refusal is None:
        raise InputError("the dose is within its rounding tolerance: there is nothing to override")
    if not reason.strip():
        raise InputError("a dose override needs a reason (it is printed on the batch record)")
    return refusal


def sign_override(
    auth: AuthService,
    session: UserSession,
    recipe_id: str,
    dose_record: Mapping[str, Any],
    pharmacist_id: str,
    password: str,
    reason: str,
) -> DoseOverride:
    """Record that ``pharmacist_id`` overrides the refused dose of the entry of ``session``'s user.

    Raises
    ------
    InputError
        The dose is not refused (nothing to override), or the reason is empty.
    PermissionDenied
        The pharmacist is the person at the workstation, or may not override doses
        (technicians).
    AuthenticationFailed, AccountLocked
        The pharmacist's credentials are wrong (counted toward their lockout), or locked.
    SessionExpired
        ``session`` is not live.
    """
    entered = auth.require(session, Operation.ENTER_PRESCRIPTION)
    who = pharmacist_id.strip()
    refusal = _refusal_to_override(dose_record, reason)
    with second_person(
        auth, who, password, Operation.OVERRIDE_DOSE, first=entered.user_id,
        same=f"{who} entered this batch and cannot also override its dose: another "
        "person (a pharmacist) signs the override",
        check="dose override",
        refused=("may not override a dose", "a pharmacist (supervisor) signs a dose override"),
    ) as live:  # fmt: skip
        digest = override_digest(recipe_id, dose_record)
        entry = override_content(recipe_id, dose_record)
        with auth.uow() as uow:
            event = uow.audit.append(
                AuditEntry("dose", ACTION, digest, live.user_id, live.full_name,
                           reason=reason.strip(),
                           new={**entry, "content_sha256": digest,
                                "entered_by": entered.user_id, "refusal": refusal})
            )  # fmt: skip
    return DoseOverride(
        live.user_id, live.full_name, entered.user_id, reason.strip(), refusal, digest,
        event.occurred_at,
    )  # fmt: skip


def find_override(
    auth: AuthService, recipe_id: str, dose_record: Mapping[str, Any]
) -> DoseOverride | None:
    """The newest override signed for exactly this entry, if any (its content re-hashed)."""
    digest = override_digest(recipe_id, dose_record)
    with auth.uow(write=False) as uow:
        events = uow.events(record_type="dose", record_id=digest, action=ACTION)
    for event in reversed(events):
        value = event.new()
        content = {"recipe": value.get("recipe"), "dose_record": value.get("dose_record")}
        if value.get("content_sha256") == digest and sha256_hex(canonical_json(content)) == digest:
            return DoseOverride(
                str(event.user_id), str(event.user_name), str(value.get("entered_by")),
                str(event.reason), str(value.get("refusal")), digest, event.occurred_at,
            )  # fmt: skip
    return None
