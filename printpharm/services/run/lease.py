"""The lease of a running batch: a heartbeat that tells a running batch from a crashed one.

While a recorded batch runs, :class:`LeaseKeeper` renews its lease every
:data:`HEARTBEAT_S` seconds from a background thread (``holder`` =
``<workstation>#<process id>``); the run's end deletes it. :func:`lease_is_live`
decides whether a batch found "printing" may be closed as interrupted:

* no lease (the run ended, or an older printpharm made it): not live;
* a lease of this workstation: live while its process still runs (a crash or a
  ``kill -9`` frees it at once, a second printpharm process on the same
  workstation does not close a batch the first one is printing);
* a lease of another workstation (a shared database): live while its heartbeat
  is younger than :data:`LEASE_TTL_S`.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta

from printpharm.errors import PrintpharmError
from printpharm.services.access.auth import AuthService
from printpharm.storage.custody import LeaseRecord

__all__ = ["HEARTBEAT_S", "LEASE_TTL_S", "LeaseKeeper", "holder", "lease_is_live"]

_LOG = logging.getLogger("printpharm.services.run.lease")

#: Seconds between heartbeats of a running batch.
HEARTBEAT_S = 20.0
#: A heartbeat older than this (seconds) no longer holds another workstation's batch.
LEASE_TTL_S = 120.0

#: Batches whose lease a keeper of this process is renewing now.
_HELD: set[str] = set()
_HELD_LOCK = threading.Lock()


def holder(workstation: str) -> str:
    """The lease holder of this process on ``workstation``."""
    return f"{workstation}#{os.getpid()}"


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only (POSIX and Windows)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (another user's process), or we cannot tell: assume live
    return True


def lease_is_live(lease: LeaseRecord | None, here: str, now: datetime) -> bool:
    """Whether ``lease`` still holds its batch, judged from workstation ``here`` at ``now``."""
    if lease is None:
        return False
    if lease.workstation == here and lease.pid is not None:
        if lease.pid == os.getpid():  # this process: live while its keeper runs
            with _HELD_LOCK:
                return lease.batch_id in _HELD
        return _process_runs(lease.pid)
    return now - lease.heartbeat_at <= timedelta(seconds=LEASE_TTL_S)


class LeaseKeeper:
    """Renews the lease of one batch every ``interval_s`` seconds.

    The first heartbeat is written in the transaction that creates the batch, so
    that no other process ever sees the batch "printing" without its lease.

    The thread stops at :meth:`release` (which deletes the lease) or when a
    heartbeat cannot be written (the database went away: the run fails on its own).
    """

    def __init__(self, auth: AuthService, batch_id: str, interval_s: float = HEARTBEAT_S) -> None:
        self._auth, self.batch_id, self._interval_s = auth, batch_id, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _beat(self) -> None:
        with self._auth.uow() as uow:
            uow.leases.beat(self.batch_id, holder(uow.context.workstation), uow.now())

    def start(self) -> None:
        """Start renewing a lease whose first heartbeat was written with the batch."""
        with _HELD_LOCK:
            _HELD.add(self.batch_id)
        self._thread = threading.Thread(
            target=self._run, name=f"lease {self.batch_id}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._beat()
            except PrintpharmError as exc:  # the run itself reports the database failure
                _LOG.warning("lease of %s not renewed: %s", self.batch_id, exc)
                self._forget()
                return

    def _forget(self) -> None:
        with _HELD_LOCK:
            _HELD.discard(self.batch_id)

    def release(self) -> None:
        """Stop renewing and delete the lease (best effort: a failed delete ages out)."""
        self._stop.set()
        self._forget()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        try:
            with self._auth.uow() as uow:
                uow.leases.release(self.batch_id)
        except PrintpharmError as exc:
            _LOG.warning("lease of %s not released: %s", self.batch_id, exc)
