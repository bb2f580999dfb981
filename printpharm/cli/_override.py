"""``--override-by`` / ``--override-reason`` of ``plan`` and ``run``: a signed dose override.

A rule dose that rounding moved outside its tolerance is refused
(:func:`refuse_without_override`, before anything is planned) unless a
pharmacist signs an override: their own user ID with ``--override-by``, their
password asked like every other (never on the command line; with
``--password-stdin`` it is the line after yours), and ``--override-reason``.
The override is recorded by :func:`printpharm.services.control.dose_override.sign_override`;
without ``--user`` (a training run, no database) no override is possible.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from printpharm.cli._auth_args import Secrets
from printpharm.cli._dose import UnitDose
from printpharm.errors import DoseInputError, InputError

if TYPE_CHECKING:  # the records services load SQLAlchemy: only when a record is written
    from printpharm.services.access.auth import UserSession
    from printpharm.services.control.dose_override import DoseOverride
    from printpharm.services.station.records_app import RecordsServices

__all__ = ["add_override_arguments", "refuse_without_override", "sign_if_refused"]


def add_override_arguments(group: argparse._ActionsContainer) -> None:
    """Add ``--override-by PHARMACIST`` and ``--override-reason TEXT`` to ``group``."""
    group.add_argument(
        "--override-by",
        metavar="PHARMACIST",
        help="a pharmacist who signs an override of a dose that rounding moved outside its "
        "tolerance (their password is asked after yours; needs --user)",
    )
    group.add_argument(
        "--override-reason", metavar="TEXT", help="why the dose is printed anyway (on the record)"
    )


def refuse_without_override(args: argparse.Namespace, dose: UnitDose) -> None:
    """Refuse a dose outside its rounding tolerance unless an override is asked for properly.

    Raises
    ------
    DoseInputError
        The dose is refused and no ``--override-by`` was given (the message says how
        an override is signed, or that a training run cannot have one).
    InputError
        ``--override-by`` without a refused dose, without ``--user`` or without a reason.
    """
    if dose.refusal is None:
        if args.override_by:
            raise InputError(
                "--override-by: the dose is within its rounding tolerance; there is nothing "
                "to override"
            )
        return
    from printpharm.services.control.dose_override import NO_DATABASE

    if not args.override_by:
        how = (
            f"{NO_DATABASE} (with --user, a pharmacist may sign one: --override-by)"
            if args.user is None
            else "a pharmacist may sign an override: --override-by PHARMACIST "
            "--override-reason TEXT"
        )
        raise DoseInputError(f"{dose.refusal}: refused; {how}")
    if args.user is None:
        raise InputError(
            "--override-by records a signed override in the database: give --user (the person "
            f"entering the batch); {NO_DATABASE}"
        )
    if not (args.override_reason or "").strip():
        raise InputError("--override-by needs --override-reason TEXT (printed on the record)")


def sign_if_refused(
    args: argparse.Namespace,
    services: RecordsServices,
    session: UserSession,
    secrets: Secrets,
    recipe_id: str,
    dose: UnitDose,
) -> DoseOverride | None:
    """Sign the override :func:`refuse_without_override` let through; ``None`` if not needed.

    Raises
    ------
    PermissionDenied, AuthenticationFailed, AccountLocked, InputError
        As :func:`printpharm.services.control.dose_override.sign_override` raises them.
    """
    if dose.refusal is None:
        return None
    from printpharm.services.control.dose_override import sign_override

    password = secrets.ask(f"password for {args.override_by} (dose override): ")
    return sign_override(
        services.auth,
        session,
        recipe_id,
        dose.record,
        args.override_by,
        password,
        args.override_reason,
    )
