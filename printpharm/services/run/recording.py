"""The data sink a print run writes through, and a JSON-file implementation.

:class:`BatchRecorder` is the seam the storage layer fills in (batch records
and audit events in the database). Until then :class:`JsonFileRecorder`
appends every event to ``<batch_id>.events.jsonl`` as it happens (flushed and
fsync'ed, so a crash or a pulled cable leaves on disk everything up to that
moment) and writes the complete result to ``<batch_id>.json`` at the end.

Recorder methods are called in the run's thread, in the order things happen;
an exception from a recorder stops the run (a batch that cannot be recorded
must not go on printing).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from printpharm.errors import RecordError
from printpharm.services.run.result import (
    AlarmRecord,
    BatchHeader,
    BatchResult,
    FlowCorrection,
    UnitRecord,
    to_jsonable,
)

__all__ = ["BatchRecorder", "FanoutRecorder", "JsonFileRecorder", "MemoryRecorder", "NullRecorder"]


@runtime_checkable
class BatchRecorder(Protocol):
    """Where a run records what happened, event by event."""

    def batch_started(self, header: BatchHeader) -> None:
        """The batch passed preflight and starts printing."""

    def unit_weighed(self, batch_id: str, unit: UnitRecord) -> None:
        """A unit was weighed (``unit.raw_reading`` is the balance's raw line)."""

    def alarm(self, batch_id: str, alarm: AlarmRecord) -> None:
        """An alarm was raised.

        For a ``pause`` alarm this is called twice: when it is raised
        (``decision`` None, before the operator is asked) and with the decision.
        """

    def may_continue(self, batch_id: str, alarm: AlarmRecord) -> str | None:
        """Whether the run may go on after the operator chose *continue* on a ``pause`` alarm.

        ``None`` when it may; otherwise why not (a recorded batch needs the alarm
        acknowledged first, :mod:`printpharm.services.run.alarm_acks`): the run stops.
        """

    def correction(self, batch_id: str, correction: FlowCorrection) -> None:
        """The flow rate was corrected for the next unit."""

    def finished(self, result: BatchResult) -> None:
        """The run ended as ``completed`` or ``stopped``; the complete result."""

    def interrupted(self, result: BatchResult) -> None:
        """The run ended as ``interrupted`` (a device connection was lost)."""


class NullRecorder:
    """Records nothing (the run's own result is still complete)."""

    def batch_started(self, header: BatchHeader) -> None:
        """Ignore."""

    def unit_weighed(self, batch_id: str, unit: UnitRecord) -> None:
        """Ignore."""

    def alarm(self, batch_id: str, alarm: AlarmRecord) -> None:
        """Ignore."""

    def may_continue(self, batch_id: str, alarm: AlarmRecord) -> str | None:
        """Nothing is recorded, so nothing needs acknowledging: continue."""
        return None

    def correction(self, batch_id: str, correction: FlowCorrection) -> None:
        """Ignore."""

    def finished(self, result: BatchResult) -> None:
        """Ignore."""

    def interrupted(self, result: BatchResult) -> None:
        """Ignore."""


class FanoutRecorder:
    """Passes every record to several recorders in order (e.g. the database and JSON files).

    A recorder that raises stops the fan-out there, and the run stops: a record
    that one sink lacks must not go unnoticed.
    """

    def __init__(self, *recorders: BatchRecorder) -> None:
        self.recorders = recorders

    def batch_started(self, header: BatchHeader) -> None:
        """Pass on."""
        for recorder in self.recorders:
            recorder.batch_started(header)

    def unit_weighed(self, batch_id: str, unit: UnitRecord) -> None:
        """Pass on."""
        for recorder in self.recorders:
            recorder.unit_weighed(batch_id, unit)

    def alarm(self, batch_id: str, alarm: AlarmRecord) -> None:
        """Pass on."""
        for recorder in self.recorders:
            recorder.alarm(batch_id, alarm)

    def may_continue(self, batch_id: str, alarm: AlarmRecord) -> str | None:
        """The first recorder's refusal, if any refuses."""
        for recorder in self.recorders:
            refusal = recorder.may_continue(batch_id, alarm)
            if refusal is not None:
                return refusal
        return None

    def correction(self, batch_id: str, correction: FlowCorrection) -> None:
        """Pass on."""
        for recorder in self.recorders:
            recorder.correction(batch_id, correction)

    def finished(self, result: BatchResult) -> None:
        """Pass on."""
        for recorder in self.recorders:
            recorder.finished(result)

    def interrupted(self, result: BatchResult) -> None:
        """Pass on."""
        for recorder in self.recorders:
            recorder.interrupted(result)


class MemoryRecorder:
    """Keeps ``(kind, payload)`` pairs in :attr:`entries`, in order (for tests and previews)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Any]] = []

    def batch_started(self, header: BatchHeader) -> None:
        """Keep the header."""
        self.entries.append(("batch_started", header))

    def unit_weighed(self, batch_id: str, unit: UnitRecord) -> None:
        """Keep the unit."""
        self.entries.append(("unit_weighed", unit))

    def alarm(self, batch_id: str, alarm: AlarmRecord) -> None:
        """Keep the alarm."""
        self.entries.append(("alarm", alarm))

    def may_continue(self, batch_id: str, alarm: AlarmRecord) -> str | None:
        """Nothing is recorded, so nothing needs acknowledging: continue."""
        return None

    def correction(self, batch_id: str, correction: FlowCorrection) -> None:
        """Keep the correction."""
        self.entries.append(("correction", correction))

    def finished(self, result: BatchResult) -> None:
        """Keep the result."""
        self.entries.append(("finished", result))

    def interrupted(self, result: BatchResult) -> None:
        """Keep the result."""
        self.entries.append(("interrupted", result))

    def kinds(self) -> list[str]:
        """The kinds of the entries, in order."""
        return [kind for kind, _ in self.entries]


class JsonFileRecorder:
    """Writes each event as one JSON line as it happens, then the full result.

    Parameters
    ----------
    directory : Path
        Created if missing. Files: ``<batch_id>.events.jsonl`` (one object per
        line with ``event``, ``at`` (UTC) and the payload) and, when the run
        ends, ``<batch_id>.json`` (the complete batch result).

    Raises
    ------
    RecordError
        The directory or a file cannot be written, or a batch file already
        exists (records are never overwritten).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.events_path: Path | None = None
        self.result_path: Path | None = None

    def _write(self, event: str, payload: Any, mode: str = "a") -> None:
        # open, append, fsync, close per event: no handle outlives a crash
        if self.events_path is None:
            raise RecordError(f"batch recorder: {event!r} before batch_started")
        entry = {"event": event, "at": datetime.now(UTC).isoformat(), "data": to_jsonable(payload)}
        try:
            with self.events_path.open(mode, encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except FileExistsError as exc:
            raise RecordError(
                f"{self.events_path} exists: batch records are never overwritten"
            ) from exc
        except OSError as exc:
            raise RecordError(f"cannot write {self.events_path}: {exc.strerror}") from exc

    def batch_started(self, header: BatchHeader) -> None:
        """Create ``<batch_id>.events.jsonl`` and write the header line."""
        self.events_path = self.directory / f"{header.batch_id}.events.jsonl"
        self.result_path = self.directory / f"{header.batch_id}.json"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordError(f"cannot create {self.directory}: {exc.strerror}") from exc
        self._write("batch_started", header, mode="x")

    def unit_weighed(self, batch_id: str, unit: UnitRecord) -> None:
        """Append the unit with its raw reading."""
        self._write("unit_weighed", unit)

    def alarm(self, batch_id: str, alarm: AlarmRecord) -> None:
        """Append the alarm."""
        self._write("alarm", alarm)

    def may_continue(self, batch_id: str, alarm: AlarmRecord) -> str | None:
        """Nothing is recorded, so nothing needs acknowledging: continue."""
        return None

    def correction(self, batch_id: str, correction: FlowCorrection) -> None:
        """Append the flow correction."""
        self._write("correction", correction)

    def finished(self, result: BatchResult) -> None:
        """Append the end line and write ``<batch_id>.json``."""
        self._end("finished", result)

    def interrupted(self, result: BatchResult) -> None:
        """Append the end line and write ``<batch_id>.json``."""
        self._end("interrupted", result)

    def _end(self, event: str, result: BatchResult) -> None:
        self._write(event, {"status": result.status, "reason": result.reason})
        assert self.result_path is not None
        tmp = self.result_path.with_suffix(".json.tmp")
        try:
            tmp.write_text(json.dumps(to_jsonable(result), indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, self.result_path)
        except OSError as exc:
            raise RecordError(f"cannot write {self.result_path}: {exc.strerror}") from exc
