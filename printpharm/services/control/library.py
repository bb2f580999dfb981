"""The validated recipe library: import, edit, validate, lock, retire; locked-mode enforcement.

The shipped ``recipes/`` and ``inks/`` files are imported as versions holding the
resolved model (after ``inherits``), the file's SHA-256 and the hashes of the
files it inherits from. Re-importing an unchanged file does nothing; a changed
file becomes a new *draft* version (a locked version is never overwritten).
Editing creates a new draft version too. Validating and then locking a version
each need a supervisor's electronic signature (meaning ``approved``, bound to
the version's content hash); the person who edited a version cannot sign it, and
(site setting ``library.two_person``, on by default) the person who validated a
version cannot also lock it. Locking a version retires the version locked before it.

Locked mode, applied from the library, is decided by
:mod:`printpharm.services.control.print_authority` (its rules in the private ``_locked_mode``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from printpharm.catalog import Catalog
from printpharm.catalog.schema import Ink, Recipe
from printpharm.errors import InputError, PermissionDenied, RecordError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import Meaning, RecordsService, SignableRecord
from printpharm.services.control._library_content import (
    content_of,
    edited_model,
    model_content,
    model_from_content,
    source_of,
)
from printpharm.storage.audit import AuditEntry
from printpharm.storage.library import LIBRARY_KINDS, LibraryKind, LibraryVersion, library
from printpharm.storage.repositories import UnitOfWork
from printpharm.storage.signatures import SignatureRecord

__all__ = [
    "LIBRARY_KINDS",
    "TWO_PERSON_SETTING",
    "ImportOutcome",
    "LibraryService",
    "model_content",
    "model_from_content",
]


#: Site setting: validation and lock of a library version by two different people.
TWO_PERSON_SETTING = "library.two_person"


@dataclass(frozen=True)
class ImportOutcome:
    """What importing one shipped file did: ``created``, ``new-draft`` or ``unchanged``."""

    kind: LibraryKind
    item_id: str
    version: int
    action: str
    status: str
    file: str
    file_sha256: str


class LibraryService:
    """The recipe and ink library of one database (permissions via ``auth``)."""

    def __init__(self, auth: AuthService, records: RecordsService) -> None:
        self._auth = auth
        self._records = records

    # -- reading ------------------------------------------------------------------------
    def versions(
        self, kind: LibraryKind | None = None, item_id: str | None = None
    ) -> list[LibraryVersion]:
        """Every version (optionally of one kind / item), recipes first.

        The library holds no personal data; reading it needs no login (as ``audit show``).
        """
        kinds: tuple[LibraryKind, ...] = ("recipe", "ink") if kind is None else (kind,)
        with self._auth.uow(write=False) as uow:
            return [v for k in kinds for v in library(uow).versions(k, item_id)]

    def get(self, kind: LibraryKind, item_id: str, version: int) -> LibraryVersion:
        """Return one version.

        Raises
        ------
        RecordError
            No such version.
        """
        with self._auth.uow(write=False) as uow:
            found = library(uow).get(kind, item_id, version)
        if found is None:
            raise RecordError(f"{kind} {item_id} v{version} does not exist in the library")
        return found

    # -- import and edit --------------------------------------------------------------
    def import_catalog(self, session: UserSession, catalog: Catalog) -> list[ImportOutcome]:
        """Import every shipped recipe and ink file (one transaction).

        Raises
        ------
        PermissionDenied
            The role may not edit the library.
        """
        live = self._auth.require(session, Operation.EDIT_LIBRARY)
        outcomes: list[ImportOutcome] = []
        with self._auth.uow() as uow:
            repo = library(uow)
            models: list[tuple[LibraryKind, Recipe | Ink]] = [
                *(("recipe", r) for r in catalog.recipes()),
                *(("ink", i) for i in catalog.inks()),
            ]
            for kind, model in models:
                source = source_of(catalog, kind, model.id)
                same = [v for v in repo.versions(kind, model.id) if v.content["source"] == source]
                if same:
                    v = same[-1]
                    outcomes.append(
                        ImportOutcome(
                            kind, v.item_id, v.version, "unchanged", v.status,
                            source["file"], source["file_sha256"],
                        )
                    )  # fmt: skip
                    continue
                outcomes.append(self._import_one(uow, live, kind, model, source))
        return outcomes

    def _import_one(
        self,
        uow: UnitOfWork,
        live: UserSession,
        kind: LibraryKind,
        model: Recipe | Ink,
        source: dict[str, Any],
    ) -> ImportOutcome:
        repo = library(uow)
        first = not repo.versions(kind, model.id)
        extra: dict[str, Any] = {}
        if isinstance(model, Ink):
            extra = {
                "drug_load_mg_per_g": model.drug_load.value,
                "density_g_per_ml": model.density.value,
                "api": model.api,
            }
        repo.ensure_item(kind, model.id, model.name, uow.now(), **extra)
        content = content_of(kind, model_content(model), source, None)
        v = repo.add_version(kind, model.id, content, live.user_id, uow.now())
        action = "created" if first else "new-draft"
        uow.audit.append(
            AuditEntry(
                kind,
                "import",
                v.record_id,
                live.user_id,
                live.full_name,
                new={"version": v.version, "status": v.status, **source,
                     "content_sha256": v.content_sha256, "outcome": action},
            )
        )  # fmt: skip
        return ImportOutcome(
            kind, v.item_id, v.version, action, v.status, source["file"], source["file_sha256"]
        )

    def edit(
        self,
        session: UserSession,
        kind: LibraryKind,
        item_id: str,
        base_version: int,
        changes: Mapping[str, Any],
        reason: str,
    ) -> LibraryVersion:
        """Create a new draft version from ``base_version`` with ``changes`` applied.

        ``changes`` maps dotted keys of the model to new values, e.g.
        ``{"process.print_speed": {"value": Decimal("7"), "unit": "mm/s"}}``.

        Raises
        ------
        PermissionDenied
            The role may not edit the library.
        InputError
            No reason, no changes, the id changed, or the result breaks the schema.
        RecordError
            No such base version.
        """
        live = self._auth.require(session, Operation.EDIT_LIBRARY)
        if not reason or not reason.strip():
            raise InputError(f"a reason is required to edit {kind} {item_id}")
        if not changes:
            raise InputError(f"edit of {kind} {item_id}: no changes given")
        new_data, old = edited_model(kind, self.get(kind, item_id, base_version), changes)
        content = content_of(kind, new_data, None, base_version)
        with self._auth.uow() as uow:
            v = library(uow).add_version(kind, item_id, content, live.user_id, uow.now())
            uow.audit.append(
                AuditEntry(
                    kind,
                    "modify",
                    v.record_id,
                    live.user_id,
                    live.full_name,
                    field=", ".join(sorted(changes)),
                    reason=reason,
                    old={"version": base_version, "values": old},
                    new={"version": v.version, "values": dict(changes),
                         "content_sha256": v.content_sha256},
                )
            )  # fmt: skip
        return v

    # -- validate, lock, retire ---------------------------------------------------------
    def validate(
        self,
        session: UserSession,
        kind: LibraryKind,
        item_id: str,
        version: int,
        user_id: str,
        password: str,
        comment: str | None = None,
    ) -> SignatureRecord:
        """Validate a draft version with a supervisor's e-signature (meaning ``approved``).

        Raises
        ------
        PermissionDenied
            The role may not validate, or the signer edited this version.
        RecordError
            No such version, or it is not a draft.
        SignatureError, AuthenticationFailed, AccountLocked, SessionExpired
            As for :meth:`RecordsService.sign`.
        """
        return self._signed_move(
            session, kind, item_id, version, "validated", user_id, password, comment
        )

    def lock(
        self,
        session: UserSession,
        kind: LibraryKind,
        item_id: str,
        version: int,
        user_id: str,
        password: str,
        comment: str | None = None,
    ) -> SignatureRecord:
        """Lock a validated version with a supervisor's e-signature; retire the previous lock.

        Raises
        ------
        PermissionDenied, RecordError, SignatureError, AuthenticationFailed
            As for :meth:`validate` (the version must be ``validated``).
        """
        return self._signed_move(
            session, kind, item_id, version, "locked", user_id, password, comment
        )

    def _signed_move(
        self,
        session: UserSession,
        kind: LibraryKind,
        item_id: str,
        version: int,
        target: str,
        user_id: str,
        password: str,
        comment: str | None,
    ) -> SignatureRecord:
        operation = Operation.VALIDATE_LIBRARY if target == "validated" else Operation.LOCK_LIBRARY
        live = self._auth.require(session, operation)
        v = self.get(kind, item_id, version)
        needed = "draft" if target == "validated" else "validated"
        if v.status != needed:
            raise RecordError(f"{kind} {v.label} is {v.status}; only a {needed} version "
                              f"can be {target}")  # fmt: skip
        if not v.intact():
            raise RecordError(f"{kind} {v.label}: stored content does not match its hash")
        if target == "locked":
            self._require_second_person(live, v, user_id)
        author = v.created_by if v.content.get("source") is None else None
        record = SignableRecord(
            f"{kind}_version",
            v.record_id,
            v.version,
            {"content_sha256": v.content_sha256, "step": target},
            author,
        )

        def move(uow: UnitOfWork) -> None:
            _move(uow, live, v, target, comment)

        text = f"{'validation' if target == 'validated' else 'lock'} of {kind} {v.label}"
        full = f"{text}: {comment}" if comment else text
        return self._records.sign(session, record, Meaning.APPROVED, user_id, password, full, move)

    def _require_second_person(self, live: UserSession, v: LibraryVersion, signer: str) -> None:
        """Refuse a lock by the person who validated ``v`` (unless the site turned it off)."""
        with self._auth.uow(write=False) as uow:
            setting = uow.settings.get(TWO_PERSON_SETTING)
            if setting is not None and setting.value == "off":
                return
            validators = {
                s.signer_user_id
                for s in uow.signatures.for_record(f"{v.kind}_version", v.record_id)
                if s.record_version == v.version and (s.comment or "").startswith("validation")
            }
        if signer in validators:
            with self._auth.uow() as uow:
                uow.audit.append(
                    AuditEntry(v.kind, "signature-refused", v.record_id, live.user_id,
                               live.full_name, new={"meaning": "approved", "step": "lock",
                               "refused": "the validator may not also lock (two people)"})
                )  # fmt: skip
            raise PermissionDenied(
                f"{signer} validated {v.kind} {v.label} and may not also lock it: a second "
                f"pharmacist locks it (site setting {TWO_PERSON_SETTING})"
            )

    def retire(
        self, session: UserSession, kind: LibraryKind, item_id: str, version: int, reason: str
    ) -> LibraryVersion:
        """Retire a version (it stays readable; it can no longer be used or locked).

        Raises
        ------
        PermissionDenied
            The role may not lock library versions.
        InputError
            No reason.
        RecordError
            No such version, or it is retired already.
        """
        live = self._auth.require(session, Operation.LOCK_LIBRARY)
        if not reason or not reason.strip():
            raise InputError(f"a reason is required to retire {kind} {item_id} v{version}")
        with self._auth.uow() as uow:
            before = library(uow).get(kind, item_id, version)
            v = library(uow).set_status(kind, item_id, version, "retired")
            uow.audit.append(
                AuditEntry(kind, "retire", v.record_id, live.user_id, live.full_name,
                           reason=reason, old={"status": before.status if before else None},
                           new={"status": "retired"})
            )  # fmt: skip
        return v


def _move(
    uow: UnitOfWork, live: UserSession, v: LibraryVersion, target: str, comment: str | None
) -> None:
    """The status change a validation or lock signature decides (in its transaction)."""
    repo = library(uow)
    if target == "locked":  # one locked version at a time: the previous one retires
        for old in repo.versions(v.kind, v.item_id, status="locked"):
            repo.set_status(v.kind, v.item_id, old.version, "retired")
            uow.audit.append(
                AuditEntry(v.kind, "retire", old.record_id, live.user_id, live.full_name,
                           reason=f"superseded by v{v.version}",
                           old={"status": "locked"}, new={"status": "retired"})
            )  # fmt: skip
    repo.set_status(v.kind, v.item_id, v.version, target)
    uow.audit.append(
        AuditEntry(
            v.kind, "validate" if target == "validated" else "lock", v.record_id, live.user_id,
            live.full_name, reason=comment, old={"status": v.status},
            new={"status": target, "content_sha256": v.content_sha256},
        )
    )  # fmt: skip
