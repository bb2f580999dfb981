"""Second-person verification of a batch's prescription entry and dose (OPS-01, OPS-03).

The technician enters the prescription (patient pseudonym, height, weight,
prescribed amount, rule) and printpharm calculates the dose and plans the
batch. Before the batch may be given to a patient, a second person with the
right to verify prescriptions (a pharmacist) re-enters their own user ID and
password and confirms what was entered and calculated. :func:`verify_entry`
records that confirmation as an audit event bound to the SHA-256 of the entry
(:func:`entry_content`); :func:`entry_verifier` finds it again for exactly that
content, so a verification never carries over to a changed entry.

A batch without a verification may still be printed (training, validation),
but it is not for patient use: :func:`printpharm.services.control.print_authority.
begin_recorded_run` says so in the batch's authorisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from printpharm.errors import InputError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.second_person import second_person
from printpharm.services.run.request import RunRequest
from printpharm.storage.audit import AuditEntry
from printpharm.storage.canonical import canonical_json, sha256_hex

__all__ = ["ACTION", "EntryVerification", "entry_content", "entry_verifier", "verify_entry"]

#: The audit action of a verification (record type ``batch``).
ACTION = "verify-entry"

#: Why a batch without a verification is not for patient use.
NOT_VERIFIED = "the prescription entry and dose were not verified by a second person (a pharmacist)"


@dataclass(frozen=True)
class EntryVerification:
    """Who verified which entry of which batch."""

    batch_id: str
    verifier_id: str
    verifier_name: str
    entered_by: str
    content_sha256: str


def entry_content(request: RunRequest) -> dict[str, Any]:
    """What the second person confirms: recipe version, dose, how it was reached, units."""
    if request.batch_id is None:
        raise InputError("a batch entry needs a batch ID (prepare_run gives one)")
    return {
        "batch_id": request.batch_id,
        "recipe": request.recipe.id,
        "recipe_sha256": request.recipe_sha256,
        "ink": request.ink.id,
        "dose_mg": request.dose_mg,
        "dose_record": dict(request.dose_record),
        "units": len(request.program.units),
    }


def _digest(content: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json(dict(content)))


def verify_entry(
    auth: AuthService,
    session: UserSession,
    request: RunRequest,
    verifier_id: str,
    password: str,
) -> EntryVerification:
    """Record that ``verifier_id`` checked the entry of ``session``'s user for ``request``.

    The verifier authenticates with their own ID and password (a failure counts
    toward their lockout and is audited) and must be allowed to verify
    prescriptions; the person who entered the batch cannot verify it.

    Raises
    ------
    PermissionDenied
        The verifier is the person at the workstation, or may not verify prescriptions.
    AuthenticationFailed, AccountLocked
        The verifier's credentials are wrong, or the account is locked.
    SessionExpired
        ``session`` is not live.
    """
    entered = auth.require(session, Operation.ENTER_PRESCRIPTION)
    content = entry_content(request)
    digest = _digest(content)
    with second_person(
        auth, verifier_id, password, Operation.VERIFY_PRESCRIPTION, first=entered.user_id,
        same=f"{entered.user_id} entered this batch and cannot also verify it: a second "
        "person (a pharmacist) verifies the prescription entry and the dose",
        check="second-person check",
        refused=("may not verify an entry",
                 "a pharmacist (supervisor) verifies the prescription entry and the dose"),
    ) as live:  # fmt: skip
        with auth.uow() as uow:
            uow.audit.append(
                AuditEntry(
                    "batch",
                    ACTION,
                    content["batch_id"],
                    live.user_id,
                    live.full_name,
                    new={**content, "content_sha256": digest, "entered_by": entered.user_id},
                    batch_id=content["batch_id"],
                )
            )
    return EntryVerification(
        content["batch_id"], live.user_id, live.full_name, entered.user_id, digest
    )


def entry_verifier(auth: AuthService, request: RunRequest) -> EntryVerification | None:
    """The newest verification of exactly this entry of ``request``, if any."""
    content = entry_content(request)
    digest = _digest(content)
    with auth.uow(write=False) as uow:
        events = uow.events(batch_id=content["batch_id"], record_type="batch", action=ACTION)
    for event in reversed(events):
        value = event.new()
        if (
            value.get("content_sha256") == digest
            and _digest(
                {k: v for k, v in value.items() if k not in ("content_sha256", "entered_by")}
            )
            == digest
        ):
            return EntryVerification(
                content["batch_id"],
                str(event.user_id),
                str(event.user_name),
                str(value.get("entered_by")),
                digest,
            )
    return None
