"""Training records: who was trained on what, by whom, until when (21 CFR 11.10(i), TRN-01).

A record names a person (user ID), a subject and its kind — ``role`` (a role of
printpharm), ``sop`` (a procedure), ``recipe`` (a recipe id), ``ink`` (an ink id or
the family it inherits from) or ``printer`` (a printer type, the printer
definition id) — the day of training, the trainer and the expiry (default: the
``training.valid_days`` site setting after training). Records are never changed:
retraining adds a newer record.

Rules enforced elsewhere with :func:`training_in_date`:

* assigning a role (adding an account, changing its role) needs an in-date
  training record for that role (:mod:`printpharm.services.access.accounts`); the
  first administrator, created by ``printpharm init`` before anybody can record
  training, is exempt (and the audit trail says so);
* a recorded run needs its operator trained and in date for the recipe (or its
  ink or ink family) and for the printer type
  (:mod:`printpharm.services.control.run_gates`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from printpharm.errors import InputError, PermissionDenied
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation, Role
from printpharm.storage.audit import AuditEntry
from printpharm.storage.repositories import UnitOfWork
from printpharm.storage.training import TrainingEntry

__all__ = [
    "DUE_SETTING",
    "SUBJECT_KINDS",
    "VALID_SETTING",
    "TrainingDue",
    "TrainingEntry",
    "due_entries",
    "due_training",
    "list_training",
    "record_training",
    "require_role_training",
    "setting_days",
    "training_in_date",
]

#: Site setting: days a training record stays valid when no expiry is given.
VALID_SETTING = "training.valid_days"
DEFAULT_VALID_DAYS = 730
#: Site setting: how many days ahead ``training due`` warns of an expiry.
DUE_SETTING = "training.due_warning_days"
DEFAULT_DUE_DAYS = 30

#: Kinds of training subject and what each names.
SUBJECT_KINDS: dict[str, str] = {
    "role": "a role of printpharm (technician, supervisor, administrator, inspector)",
    "sop": "a standard operating procedure (its reference)",
    "recipe": "a recipe id",
    "ink": "an ink id, or the ink family it inherits from",
    "printer": "a printer type (printer definition id, e.g. marlin-sse)",
}


def setting_days(uow: UnitOfWork, key: str, default: int) -> int:
    """A whole-number site setting (its stored value, else ``default``)."""
    stored = uow.settings.get(key)
    return default if stored is None else int(stored.value)


@dataclass(frozen=True)
class TrainingDue:
    """The newest record of one person × subject that has expired or expires soon."""

    entry: TrainingEntry
    expired: bool
    days_left: int


def training_in_date(
    uow: UnitOfWork, user_id: str, kind: str, subjects: Iterable[str], today: date
) -> TrainingEntry | None:
    """The newest record of ``user_id`` on any of ``subjects`` (of ``kind``) valid today."""
    wanted = set(subjects)
    valid = [
        e
        for e in uow.training.for_user(user_id)
        if e.subject_kind == kind and e.subject in wanted and e.trained_on <= today <= e.expires_on
    ]
    return max(valid, key=lambda e: (e.expires_on, e.id)) if valid else None


def require_role_training(uow: UnitOfWork, user_id: str, role: str, today: date) -> TrainingEntry:
    """The in-date training record for ``role`` that lets ``user_id`` be given it (TRN-01).

    Raises
    ------
    PermissionDenied
        No such record: the message says what to record first.
    """
    entry = training_in_date(uow, user_id, "role", [role], today)
    if entry is None:
        raise PermissionDenied(
            f"{user_id} has no in-date training record for the role {role} (compliance TRN-01): "
            f"record it first: printpharm training add {user_id} --role {role} --trainer NAME "
            "--trained-on YYYY-MM-DD"
        )
    return entry


def _check_subject(kind: str, subject: str) -> str:
    if kind not in SUBJECT_KINDS:
        raise InputError(f"training subject kind {kind!r} is not one of {list(SUBJECT_KINDS)}")
    text = subject.strip()
    if not text or len(text) > 120:
        raise InputError(
            f"training needs a subject: {SUBJECT_KINDS[kind]} (at most 120 characters)"
        )
    if kind == "role" and text not in {r.value for r in Role}:
        raise InputError(f"role {text!r} is not one of {[r.value for r in Role]}")
    return text


def record_training(
    auth: AuthService,
    session: UserSession,
    user_id: str,
    kind: str,
    subject: str,
    trained_on: date,
    trainer: str,
    expires_on: date | None = None,
    document_ref: str | None = None,
) -> TrainingEntry:
    """Record that ``user_id`` was trained on ``subject`` (audited).

    The person may not have an account yet (training for a role comes first).

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not record training, or the user records their own training.
    InputError
        Unknown kind or role, no trainer, a training date in the future, or an expiry
        not after the training date.
    """
    live = auth.require(session, Operation.RECORD_TRAINING)
    person, text = user_id.strip(), _check_subject(kind, subject)
    if not person:
        raise InputError("training needs the trained person's user ID")
    if person == live.user_id:
        raise PermissionDenied(f"{person} may not record their own training (a second person does)")
    if not trainer or not trainer.strip():
        raise InputError("training needs the trainer's name")
    with auth.uow() as uow:
        today = uow.now().date()
        if trained_on > today:
            raise InputError(f"training date {trained_on} is in the future")
        expiry = expires_on or trained_on + timedelta(
            days=setting_days(uow, VALID_SETTING, DEFAULT_VALID_DAYS)
        )
        if expiry <= trained_on:
            raise InputError(
                f"training expiry {expiry} must be after the training date {trained_on}"
            )
        stored = uow.training.add(
            TrainingEntry(
                0,
                person,
                kind,
                text,
                trained_on,
                expiry,
                trainer.strip(),
                (document_ref or "").strip() or None,
                live.user_id,
                uow.now(),
            )
        )
        uow.audit.append(
            AuditEntry(
                "training",
                "create",
                f"{person}:{kind}:{text}",
                live.user_id,
                live.full_name,
                new=stored.__dict__,
            )
        )
    return stored


def list_training(
    auth: AuthService, session: UserSession, user_id: str | None = None
) -> list[TrainingEntry]:
    """Every training record (of one person, if given).

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not view records.
    """
    auth.require(session, Operation.VIEW_RECORDS)
    with auth.uow(write=False) as uow:
        return uow.training.for_user(user_id) if user_id else uow.training.all()


def due_training(
    auth: AuthService, session: UserSession, within_days: int | None = None
) -> list[TrainingDue]:
    """Who is due: for each person × subject, the newest record if expired or expiring soon.

    ``within_days`` defaults to the ``training.due_warning_days`` site setting.

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not view records.
    """
    auth.require(session, Operation.VIEW_RECORDS)
    with auth.uow(write=False) as uow:
        return due_entries(uow, within_days)


def due_entries(uow: UnitOfWork, within_days: int | None = None) -> list[TrainingDue]:
    """:func:`due_training` inside an open unit of work (``printpharm doctor`` uses it)."""
    today = uow.now().date()
    window = (
        within_days if within_days is not None else setting_days(uow, DUE_SETTING, DEFAULT_DUE_DAYS)
    )
    newest: dict[tuple[str, str, str], TrainingEntry] = {}
    for e in uow.training.all():
        key = (e.user_id, e.subject_kind, e.subject)
        if key not in newest or (e.expires_on, e.id) > (newest[key].expires_on, newest[key].id):
            newest[key] = e
    inactive = {u.user_id for u in uow.users.all() if not u.active}
    due = []
    for e in newest.values():
        left = (e.expires_on - today).days
        if e.user_id not in inactive and left <= window:
            due.append(TrainingDue(e, left < 0, left))
    return sorted(due, key=lambda d: (d.entry.expires_on, d.entry.user_id))
