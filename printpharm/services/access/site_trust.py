"""Site trust: the site key, the external anchor log, and the integrity gate.

* At ``init`` a new Ed25519 site key is written to the key folder (0600) and
  registered in the database (public key only). Every later append signs the
  chain head with it; :func:`signer_for` loads it for the database opened.
* ``printpharm audit anchor`` appends the signed head to the site's anchor log
  (``integrity.anchor_path`` site setting, ``PRINTPHARM_ANCHOR_LOG`` to
  override): a file on storage the database administrator cannot rewrite. An
  anchor is also written at every release and, at start, when the last one is
  older than ``integrity.anchor_interval_h`` hours (24 by default).
* :func:`check_integrity` runs chain, key, seals, row cross-checks and anchors
  (``printpharm audit verify``, at start-up); a failure blocks every recorded
  production action (:meth:`AuthService.block_production`).
* ``printpharm audit rotate-key`` registers a new key endorsed by the old one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from printpharm.errors import InputError
from printpharm.services.access.auth import AuthService
from printpharm.storage.audit import AuditContext
from printpharm.storage.db import Database
from printpharm.storage.integrity import (
    Anchor,
    IntegrityReport,
    append_anchor,
    read_anchors,
)
from printpharm.storage.repositories import UnitOfWork, unit_of_work
from printpharm.storage.sitekey import (
    SiteKey,
    SiteKeyError,
    create_site_key,
    default_key_dir,
    load_site_key,
)

__all__ = [
    "ANCHOR_ENV",
    "ANCHOR_INTERVAL_SETTING",
    "ANCHOR_PATH_SETTING",
    "HeadStamp",
    "anchor_after",
    "anchor_due",
    "anchor_log_path",
    "anchor_head",
    "check_integrity",
    "enrol_site_key",
    "head_stamp",
    "rotate_site_key",
    "signer_for",
]

#: Environment variable naming the anchor log (overrides the site setting).
ANCHOR_ENV = "PRINTPHARM_ANCHOR_LOG"
#: Site setting: path of the anchor log.
ANCHOR_PATH_SETTING = "integrity.anchor_path"
#: Site setting: hours between automatic anchors.
ANCHOR_INTERVAL_SETTING = "integrity.anchor_interval_h"


@dataclass(frozen=True)
class HeadStamp:
    """The chain head a record was made at and the site key that signs it (printed on exports).

    With the anchor log (or a later head) anyone can check that the record was
    made from this chain: the event ``seq`` must still hash to ``event_hash``.
    """

    seq: int
    event_hash: str
    key_fingerprint: str | None

    def line(self) -> str:
        """One printable sentence."""
        key = (
            f"site key fingerprint {self.key_fingerprint}"
            if self.key_fingerprint
            else "no site key (the chain is not keyed)"
        )
        return f"made at chain head event {self.seq} (SHA-256 {self.event_hash}); {key}"

    def as_dict(self) -> dict[str, Any]:
        """For JSON exports."""
        return {"seq": self.seq, "event_hash": self.event_hash,
                "site_key_fingerprint": self.key_fingerprint}  # fmt: skip


def head_stamp(uow: UnitOfWork) -> HeadStamp:
    """The chain head of ``uow``'s database now, and the fingerprint of the site key in force."""
    head = uow.signed_head()
    key = uow.current_key()
    return HeadStamp(int(head["seq"]), str(head["event_hash"]), key.key_id if key else None)


def anchor_log_path(settings: Mapping[str, Any]) -> Path:
    """The anchor log: ``PRINTPHARM_ANCHOR_LOG``, the site setting, or the default."""
    explicit = os.environ.get(ANCHOR_ENV) or settings.get(ANCHOR_PATH_SETTING)
    if explicit:
        return Path(str(explicit)).expanduser()
    import platformdirs

    data = Path(platformdirs.user_data_dir("printpharm", appauthor=False))
    return data / "anchors" / "audit-anchors.jsonl"


def signer_for(db: Database, context: AuditContext) -> SiteKey | None:
    """Load the site key in force for ``db`` (``None``: the database has none yet).

    Raises
    ------
    SiteKeyError
        The database has a key but this workstation does not hold its file.
    """
    with unit_of_work(db, context, write=False) as uow:
        key = uow.current_key()
    return None if key is None else load_site_key(key.key_id, default_key_dir())


def enrol_site_key(uow: UnitOfWork, user_id: str | None) -> SiteKey:
    """Create the first site key of the database in ``uow`` and register it."""
    key = create_site_key(default_key_dir())
    uow.register_key(key, None, user_id)
    return key


def rotate_site_key(uow: UnitOfWork, old: SiteKey, user_id: str) -> SiteKey:
    """Create a new site key endorsed by ``old`` (the old public key stays registered)."""
    key = create_site_key(default_key_dir())
    uow.register_key(key, old, user_id)
    return key


def check_integrity(uow: UnitOfWork, anchor_log: Path, *, partial: bool = False) -> IntegrityReport:
    """Verify chain, key, seals, cross-checks and the anchors of ``anchor_log``.

    Raises
    ------
    SiteKeyError
        The anchor log cannot be read or holds a malformed line.
    """
    anchors: list[Anchor] = read_anchors(anchor_log)
    return uow.verify_integrity(anchors, partial=partial)


def anchor_head(uow: UnitOfWork, anchor_log: Path, occasion: str = "") -> Anchor:
    """Append the signed head of ``uow``'s database to ``anchor_log``.

    Raises
    ------
    SiteKeyError
        The database has no site key, or the log cannot be written.
    """
    key = uow.current_key()
    if key is None:
        raise SiteKeyError("this database has no site key: nothing signed to anchor")
    database = uow.database_id() or key.key_id
    return append_anchor(
        anchor_log, uow.signed_head(), key.public_key, database, uow.now(), occasion
    )


def anchor_after(auth: AuthService, occasion: str) -> Anchor | None:
    """Anchor the head now, after ``occasion`` (a release, a key rotation) was committed.

    What was done stays done: a log that cannot be written raises a high alarm
    (``integrity.anchor``) telling the administrator to fix it and run
    ``printpharm audit anchor``. ``None`` when not anchored (no log configured,
    a database without a site key, or the log failed).
    """
    if auth.anchor_log is None or auth.signer is None:
        return None
    try:
        with auth.uow(write=False) as uow:
            return anchor_head(uow, auth.anchor_log, occasion)
    except SiteKeyError as exc:
        message = (
            f"the chain head was not anchored after {occasion}: {exc}. Administrator: make "
            f"the anchor log writable, then run `printpharm audit anchor`"
        )
        with auth.uow() as uow:
            uow.alarms.raise_alarm("integrity.anchor", "high", message, uow.now())
        return None


def anchor_due(
    anchor_log: Path, settings: Mapping[str, Any], now: datetime, database: str | None
) -> bool:
    """Whether the last anchor is older than the site's interval (or there is none)."""
    hours = settings.get(ANCHOR_INTERVAL_SETTING, 24)
    if not isinstance(hours, int) or isinstance(hours, bool) or hours < 1:
        raise InputError(f"site setting {ANCHOR_INTERVAL_SETTING} = {hours!r}: whole hours ≥ 1")
    anchors = [a for a in read_anchors(anchor_log) if a.database == database]
    if not anchors:
        return True
    last = datetime.fromisoformat(anchors[-1].anchored_at.replace("Z", "+00:00"))
    return now - last >= timedelta(hours=hours)
