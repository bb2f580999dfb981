"""Locked mode and the research-mode patient-use rule, enforced from the library.

Private to :mod:`printpharm.services.control.print_authority`, the one place that
decides whether a batch may be printed (the screens, the CLI and recorded runs go
through it; ``tests/test_architecture.py`` keeps it so).

Locked mode (the default) accepts a batch only with a locked recipe version and a
locked ink version whose content equals what is about to be printed, a dose
inside the validated range and on its step, and no process overrides (process
parameters are read-only). In research mode anything goes, but the batch is
*not for patient use* unless it meets the same conditions. :meth:`LockedMode.lock_policy`
plugs the recipe check into the run's preflight (``RunOptions.lock_policy``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from printpharm.catalog.schema import Ink, Recipe
from printpharm.errors import DesignSpaceError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.control._library_content import locked_match
from printpharm.services.run.preflight import LockStatus
from printpharm.services.run.result import NOT_FOR_PATIENT_USE
from printpharm.storage.audit import AuditEntry

__all__ = ["NOT_FOR_PATIENT_USE", "BatchAuthorisation", "LockedMode"]


@dataclass(frozen=True)
class BatchAuthorisation:
    """Whether a batch may be made, in which mode, and whether it is for patient use.

    ``problems`` says why it is not for patient use (empty when it is).
    """

    mode: str
    patient_use: bool
    recipe_version: str | None
    ink_version: str | None
    dose_mg: Decimal
    problems: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``for patient use`` or :data:`NOT_FOR_PATIENT_USE`."""
        return "for patient use" if self.patient_use else NOT_FOR_PATIENT_USE


def _dose_problems(recipe: Recipe, dose_mg: Decimal) -> list[str]:
    try:
        recipe.check_dose(dose_mg)
    except DesignSpaceError as exc:
        return [str(exc)]
    return []


class LockedMode:
    """Decides what may be printed now, from the library and the current mode."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def lock_policy(self) -> Callable[[Recipe, str], LockStatus]:
        """A run lock policy (``RunOptions.lock_policy``): the recipe must be a locked version."""

        def policy(recipe: Recipe, file_sha256: str) -> LockStatus:
            with self._auth.uow(write=False) as uow:
                found = locked_match(uow, "recipe", recipe)
            if found is None:
                return LockStatus(
                    False,
                    "not in the library",
                    f"recipe {recipe.id} (file sha256:{file_sha256[:12]}…) is not a locked "
                    "library version; import it and have it validated and locked",
                )
            return LockStatus(
                True,
                f"library:{found.label}",
                f"locked library version {found.label}, content sha256:{found.content_sha256}",
            )

        return policy

    def authorise_batch(
        self,
        session: UserSession,
        recipe: Recipe,
        ink: Ink,
        dose_mg: Decimal,
        overrides: Mapping[str, Any] | None = None,
    ) -> BatchAuthorisation:
        """Decide whether a batch of ``dose_mg`` mg per unit may be made now, and for whom.

        ``recipe`` and ``ink`` are the resolved models about to be printed;
        ``overrides`` are batch overrides of process parameters.

        Raises
        ------
        DesignSpaceError
            Locked mode and any condition fails (no locked recipe/ink version
            equal to what would be printed, dose outside the validated range or
            off its step, process overrides); the message names each limit.
        PermissionDenied
            The role may not run prints.
        """
        self._auth.require(session, Operation.RUN_PRINT)
        with self._auth.uow(write=False) as uow:
            mode = uow.mode()
            recipe_v = locked_match(uow, "recipe", recipe)
            ink_v = locked_match(uow, "ink", ink)
        problems = [
            f"{kind} {model.id} as given is not a locked library version"
            for kind, model, found in (("recipe", recipe, recipe_v), ("ink", ink, ink_v))
            if found is None
        ]
        problems += _dose_problems(recipe, dose_mg)
        if overrides:
            listed = ", ".join(sorted(overrides))
            problems.append(
                f"process parameters are read-only in locked mode (overrides: {listed})"
            )
        if mode == "locked" and problems:
            raise DesignSpaceError("locked mode refuses this batch: " + "; ".join(problems))
        return BatchAuthorisation(
            mode,
            not problems,
            None if recipe_v is None else recipe_v.label,
            None if ink_v is None else ink_v.label,
            dose_mg,
            tuple(problems),
        )

    def record_authorisation(
        self, session: UserSession, batch_id: str, authorisation: BatchAuthorisation
    ) -> None:
        """Write the authorisation into the batch's audit trail (the batch record reads it).

        Raises
        ------
        PermissionDenied
            The role may not run prints.
        """
        live = self._auth.require(session, Operation.RUN_PRINT)
        with self._auth.uow() as uow:
            uow.audit.append(
                AuditEntry("batch", "authorise", batch_id, live.user_id, live.full_name,
                           new=authorisation, batch_id=batch_id)
            )  # fmt: skip
