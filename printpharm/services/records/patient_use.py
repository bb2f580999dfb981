"""Whether a batch may be given to a patient, and why (the research-mode rule of §3).

Read by the batch record (:mod:`.export`) and by review and release (:mod:`.batches`).
"""

from __future__ import annotations

from collections.abc import Iterable

from printpharm.services.run.preflight import simulated_weighing
from printpharm.storage.audit import AuditEvent
from printpharm.storage.batches import BatchRow

__all__ = ["patient_use"]


def patient_use(row: BatchRow, events: Iterable[AuditEvent]) -> tuple[bool, str]:
    """Whether the batch may be given to a patient, and why (research-mode rule of §3).

    A batch weighed on the simulated balance, or sized with a calibration fitted on
    simulators (training only), never is. Otherwise a recorded
    library authorisation (``authorise`` event) decides; otherwise the
    run's preflight must show a locked recipe and a dose inside its range, and a
    research-mode batch needs a locked *library* recipe version.
    """
    simulated = simulated_weighing(row.details.get("preflight", []))
    if simulated:
        return False, simulated
    calibration = (row.details.get("recipe") or {}).get("calibration") or {}
    if calibration.get("simulated"):
        return False, f"{calibration.get('label')}: a simulator's fit never sizes a patient's dose"
    decisions = [e.new() for e in events if e.action == "authorise"]
    if decisions:
        last = decisions[-1]
        if last["patient_use"]:
            return True, (
                f"library versions {last['recipe_version']} and {last['ink_version']}, "
                f"dose {last['dose_mg']} mg inside the validated range ({last['mode']} mode)"
            )
        return False, "; ".join(last["problems"])
    checks = {c.get("name"): c for c in row.details.get("preflight", [])}
    lock, dose = checks.get("recipe_locked") or {}, checks.get("dose_range") or {}
    version = str((row.details.get("recipe") or {}).get("version", ""))
    if not (lock.get("passed") and dose.get("passed")):
        return False, "preflight did not confirm a locked recipe and a dose inside its range"
    if row.research_mode and not version.startswith("library:"):
        return False, "made in research mode without a locked library recipe version"
    if version.startswith("library:"):
        origin = f"locked library version {version.removeprefix('library:')}"
    else:
        origin = f"shipped recipe file {version[:19]}… treated as locked"
    return True, f"{origin}; {dose.get('detail', '')}"
