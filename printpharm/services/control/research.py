"""Locked mode and time-limited research mode.

printpharm runs in locked mode (validated recipes and ranges only). A
supervisor unlocks research mode by re-entering user ID and password, giving a
reason and a duration (at most ``AuthConfig.max_research_s``). It ends by
itself when the duration is over (application clock) or when it is locked
again. While it runs every audit event carries ``mode = "research:<id>"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from printpharm.errors import InputError, PermissionDenied
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.storage.audit import AuditEntry
from printpharm.storage.repositories import ResearchPeriod, UnitOfWork

__all__ = ["ResearchModeService", "ResearchStatus"]


@dataclass(frozen=True)
class ResearchStatus:
    """Current mode: locked, or research with the period and the seconds left."""

    active: bool
    period: ResearchPeriod | None = None
    remaining_s: int = 0

    @property
    def tag(self) -> str:
        """The audit tag: ``locked`` or ``research:<period id>``."""
        return f"research:{self.period.id}" if self.active and self.period else "locked"


class ResearchModeService:
    """Unlocks, locks and reports research mode (permissions via ``auth``)."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def status(self) -> ResearchStatus:
        """Return the current mode; an overdue period is closed (``ended_by="expiry"``)."""
        with self._auth.uow() as uow:
            return self._status(uow)

    def _status(self, uow: UnitOfWork) -> ResearchStatus:
        period = uow.research.open_period()
        if period is None:
            return ResearchStatus(False)
        now = uow.now()
        if now >= period.ends_at:
            uow.research.end(period.id, period.ends_at, "expiry")
            uow.audit.append(
                AuditEntry(
                    "research",
                    "expired",
                    str(period.id),
                    new={"ends_at": period.ends_at},
                    mode="locked",
                )
            )
            return ResearchStatus(False)
        return ResearchStatus(True, period, int((period.ends_at - now).total_seconds()))

    def unlock(
        self,
        session: UserSession,
        user_id: str,
        password: str,
        reason: str,
        duration_s: int,
    ) -> ResearchPeriod:
        """Start research mode for ``duration_s`` seconds.

        Raises
        ------
        PermissionDenied
            The role may not unlock research mode, or it is already unlocked.
        AuthenticationFailed, AccountLocked
            The re-entered credentials are wrong (counted toward lockout).
        InputError
            Empty reason, or a duration outside 1 s … ``max_research_s``.
        """
        self._auth.require(session, Operation.UNLOCK_RESEARCH)
        if not reason or not reason.strip():
            raise InputError("a reason is required to unlock research mode")
        limit = self._auth.config.max_research_s
        if not 0 < duration_s <= limit:
            raise InputError(
                f"research-mode duration {duration_s} s is outside 1 … {limit} s (site limit)"
            )
        live = self._auth.reauthenticate(session, user_id, password, "research-unlock")
        with self._auth.uow() as uow:
            self._auth.record_success(uow, live.user_id)
            if self._status(uow).active:
                raise PermissionDenied("research mode is already unlocked; lock it first")
            start = uow.now()
            ends = start + timedelta(seconds=duration_s)
            period_id = uow.research.start(live.user_id, reason, start, ends)
            uow.audit.append(
                AuditEntry(
                    "research",
                    "unlock",
                    str(period_id),
                    live.user_id,
                    live.full_name,
                    reason=reason,
                    new={"duration_s": duration_s, "ends_at": ends},
                    mode=f"research:{period_id}",
                )
            )
        return ResearchPeriod(period_id, live.user_id, reason, start, ends)

    def lock(self, session: UserSession, reason: str | None = None) -> bool:
        """End research mode now; return ``False`` if it was not active.

        Raises
        ------
        PermissionDenied
            The role may not lock research mode.
        """
        live = self._auth.require(session, Operation.LOCK_RESEARCH)
        with self._auth.uow() as uow:
            status = self._status(uow)
            if not status.active or status.period is None:
                return False
            uow.research.end(status.period.id, uow.now(), live.user_id)
            uow.audit.append(
                AuditEntry(
                    "research",
                    "lock",
                    str(status.period.id),
                    live.user_id,
                    live.full_name,
                    reason=reason,
                    mode="locked",
                )
            )
        return True
