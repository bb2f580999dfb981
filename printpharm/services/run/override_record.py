"""A dose override as a run carries it and a batch record shows it.

The value of a pharmacist's signed override (:class:`DoseOverride`) and the rule
that binds it to one entry (:func:`override_digest`, :func:`override_matches`):
the run's preflight (:mod:`printpharm.services.run.preflight`) prints a refused
dose only under an override signed for exactly its entry, and the batch record
shows it. Signing and finding an override is
:mod:`printpharm.services.control.dose_override`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from printpharm.storage.canonical import canonical_json, sha256_hex

__all__ = [
    "ACTION",
    "APPLIED",
    "NO_DATABASE",
    "DoseOverride",
    "override_content",
    "override_digest",
    "override_matches",
    "refusal_of",
]

#: The audit action of a signed override (record type ``dose``).
ACTION = "dose-override"
#: The audit action that binds an override to the batch printed under it (type ``batch``).
APPLIED = "dose-override-applied"
#: Why a training run (no database) cannot print an out-of-tolerance dose.
NO_DATABASE = (
    "without a database (a training run) no pharmacist can sign an override, so the dose is refused"
)


@dataclass(frozen=True)
class DoseOverride:
    """Who overrode which refused dose, when and why."""

    pharmacist_id: str
    pharmacist_name: str
    entered_by: str
    reason: str
    refusal: str
    content_sha256: str
    signed_at: str

    def describe(self) -> str:
        """One line for banners, the human output and the record."""
        return (
            f"DOSE OVERRIDE signed by {self.pharmacist_name} ({self.pharmacist_id}) at "
            f"{self.signed_at}: {self.refusal}; reason: {self.reason}"
        )

    def to_record(self) -> dict[str, Any]:
        """The override as plain values (JSON output, run options, batch record)."""
        return asdict(self)


def refusal_of(dose_record: Mapping[str, Any]) -> str | None:
    """Why the dose of ``dose_record`` may not be printed without an override, or ``None``."""
    refusal = dose_record.get("rounding_refusal")
    return None if refusal is None else str(refusal)


def override_content(recipe_id: str, dose_record: Mapping[str, Any]) -> dict[str, Any]:
    """The entry an override is signed for: the recipe and the dose record."""
    return {"recipe": recipe_id, "dose_record": dict(dose_record)}


def override_digest(recipe_id: str, dose_record: Mapping[str, Any]) -> str:
    """SHA-256 of the entry an override is bound to (recipe and dose record, canonical JSON)."""
    return sha256_hex(canonical_json(override_content(recipe_id, dose_record)))


def override_matches(
    override: Mapping[str, Any] | None, recipe_id: str, dose_record: Mapping[str, Any]
) -> bool:
    """Whether ``override`` (a :meth:`DoseOverride.to_record`) was signed for this entry."""
    return override is not None and override.get("content_sha256") == override_digest(
        recipe_id, dose_record
    )
