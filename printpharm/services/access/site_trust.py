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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from printpharm.errors import InputError
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
    "anchor_due",
    "anchor_log_path",
    "anchor_head",
    "check_integrity",
    "enrol_site_key",
    "rotate_site_key",
    "signer_for",
]

#: Environment variable naming the anchor log (overrides the site setting).
ANCHOR_ENV = "PRINTPHARM_ANCHOR_LOG"
#: Site setting: path of the anchor log.
ANCHOR_PATH_SETTING = "integrity.anchor_path"
#: Site setting: hours between automatic anchors.
ANCHOR_INTERVAL_SETTING = "integrity.anchor_interval_h"


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


def anchor_head(uow: UnitOfWork, anchor_log: Path) -> Anchor:
    """Append the signed head of ``uow``'s database to ``anchor_log``.

    Raises
    ------
    SiteKeyError
        The database has no site key, or the log cannot be written.
    """
    key = uow.current_key()
    if key is None:
        raise SiteKeyError("this database has no site key: nothing signed to anchor")
    return append_anchor(
        anchor_log, uow.signed_head(), key.public_key, uow.database_id() or key.key_id, uow.now()
    )


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
