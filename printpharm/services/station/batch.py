"""Plan and print one batch for the desktop application (Qt-free).

Private to :mod:`printpharm.services.station.workstation`. The planning and print-run
services do the work; they are imported on first use (trimesh, with SciPy where
installed, takes up to a second to import; the login screen should not wait). This
module turns the checked new-batch form into their inputs, flattens a plan's
toolpaths and its unit's triangle mesh for drawing, and wires the run to the
configured devices (the linked simulators by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from printpharm.catalog import Catalog
from printpharm.errors import DesignSpaceError, InputError
from printpharm.services.control.print_authority import PrintAuthorisation, authorise_print
from printpharm.services.jobs import CancelToken, EventHub
from printpharm.services.run.devices import connected_devices, run_simulator_urls
from printpharm.services.run.loop import run_batch
from printpharm.services.run.recording import BatchRecorder, FanoutRecorder, JsonFileRecorder
from printpharm.services.run.request import OperatorCallback, RunOptions, RunRequest
from printpharm.services.run.result import BatchResult
from printpharm.services.station.batch_form import DoseForm, DosePreview, entry_record

if TYPE_CHECKING:
    from printpharm.services.run.calibration import CalibrationInForce
    from printpharm.services.run.planning import PlanResult

__all__ = [
    "LayerView",
    "MeshView",
    "PathView",
    "PlannedBatch",
    "PrintAuthorisation",
    "authorise_print",
    "plan_for_form",
    "print_batch",
    "unit_mesh",
    "warm_up",
]

Point = tuple[float, float]
Vertex = tuple[float, float, float]
Face = tuple[int, int, int]


@dataclass(frozen=True)
class PathView:
    """One toolpath to draw: ``perimeter`` or ``infill``, XY points in mm."""

    kind: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class LayerView:
    """One layer of one unit: index (0 = first), top Z (mm) and its paths."""

    index: int
    z_mm: float
    height_mm: float
    width_mm: float
    paths: tuple[PathView, ...]


@dataclass(frozen=True)
class MeshView:
    """One unit's closed triangle mesh to draw: vertices in mm (z up, standing on z = 0).

    Each face lists three indices into ``vertices``, counter-clockwise seen from
    outside, so a face's normal ``(b - a) × (c - a)`` points out of the solid.
    """

    vertices: tuple[Vertex, ...]
    faces: tuple[Face, ...]


@dataclass(frozen=True)
class PlannedBatch:
    """A plan with what the screens and the run need: form, dose trail, layers, mesh, request."""

    batch_id: str
    form: DoseForm
    dose_mg: Decimal
    dose_record: dict[str, Any]
    plan: PlanResult
    layers: tuple[LayerView, ...]
    mesh: MeshView
    request: RunRequest
    #: The ink lot to print from, as typed or scanned on the plan page (``None``: none yet).
    lot: str | None = None


def _layers(catalog: Catalog, plan: PlanResult) -> tuple[LayerView, ...]:
    from printpharm.services.run.planning import process_settings
    from printpharm.slicing.toolpaths import slice_form

    sliced = slice_form(plan.form, process_settings(catalog.resolve(plan.recipe_id)))
    return tuple(
        LayerView(
            layer.index,
            layer.z_mm,
            layer.height_mm,
            layer.width_mm,
            tuple(
                PathView(p.kind, tuple((float(x), float(y)) for x, y in p.points))
                for p in layer.paths
            ),
        )
        for layer in sliced.layers
    )


def unit_mesh(plan: PlanResult) -> MeshView:
    """The planned unit's watertight mesh as plain numbers (a few hundred triangles)."""
    from printpharm.geometry.mesh import form_mesh

    mesh = form_mesh(plan.form)
    return MeshView(
        tuple((float(x), float(y), float(z)) for x, y, z in mesh.vertices.tolist()),
        tuple((int(i), int(j), int(k)) for i, j, k in mesh.faces.tolist()),
    )


def plan_for_form(
    catalog: Catalog,
    form: DoseForm,
    preview: DosePreview,
    calibration: CalibrationInForce | None = None,
) -> PlannedBatch:
    """Plan the plate for a ready new-batch form (one dose per unit).

    ``calibration`` is the site calibration in force for the recipe's ink and
    printer (``None``: the ink file's, labelled as not fitted on site).

    Raises
    ------
    InputError
        The form is not ready, or it asks for a daily split (not planned yet).
    DesignSpaceError, SizingError, CalibrationError, SlicingError, PreflightError
        As :func:`printpharm.services.run.planning.plan_batch` raises them.
    """
    if not preview.ready or preview.result is None or preview.recipe is None:
        raise InputError("the new-batch form is not complete; correct it before planning")
    doses = preview.result.unit_doses_mg
    if len(set(doses)) != 1:
        raise DesignSpaceError("a plate with different doses per unit cannot be planned yet")
    dose_mg = doses[0]
    from printpharm.services.run.prepare import new_batch_id, prepare_run

    record = entry_record(form, preview.result)
    batch_id = new_batch_id(preview.recipe.id)
    prepared = prepare_run(
        catalog, preview.recipe.id, dose_mg, form.units, dose_record=record, batch_id=batch_id,
        calibration=calibration,
    )  # fmt: skip
    plan = prepared.plan
    return PlannedBatch(
        batch_id,
        form,
        dose_mg,
        record,
        plan,
        _layers(catalog, plan),
        unit_mesh(plan),
        prepared.request,
    )


def device_urls(
    catalog: Catalog, batch: PlannedBatch, printer_url: str, balance_url: str
) -> tuple[str, str]:
    """The ports to use: configured ports, or simulators linked for this recipe's ink.

    The simulated deposit follows the calibration the batch was planned with (the
    locked site calibration in force, else the ink file's).

    Options in the query of configured ``sim://`` URLs (faults such as
    ``sim://printer?clog_unit=3``, ``seed``) are passed to the linked simulators,
    so a training workstation can rehearse a failing unit.

    Raises
    ------
    InputError
        An unknown simulator option.
    """
    if printer_url.startswith("sim://") and balance_url.startswith("sim://"):
        options = dict(parse_qsl(urlsplit(printer_url).query))
        options.update(parse_qsl(urlsplit(balance_url).query))
        # the physics of the calibration the plan sized with (site calibration in force)
        return run_simulator_urls(batch.request, options or None)
    return printer_url, balance_url


def print_batch(
    catalog: Catalog,
    batch: PlannedBatch,
    ports: tuple[str, str],
    *,
    hub: EventHub,
    cancel: CancelToken,
    operator: OperatorCallback | None,
    recorder: BatchRecorder,
    records_dir: Path | None,
    options: RunOptions | None = None,
) -> BatchResult:
    """Connect the devices and run the mass-checked batch (call it off the GUI thread).

    Raises
    ------
    PreflightError, DeviceError, RecordError
        As :func:`printpharm.services.run.loop.run_batch` raises them.
    """
    if records_dir is not None:  # the database record, and JSON files beside it
        recorder = FanoutRecorder(recorder, JsonFileRecorder(records_dir))
    printer_url, balance_url = device_urls(catalog, batch, *ports)
    with connected_devices(printer_url, balance_url) as devices:
        return run_batch(
            batch.request,
            devices,
            hub=hub,
            recorder=recorder,
            cancel=cancel,
            operator=operator,
            options=options or RunOptions(),
        )


def warm_up() -> None:
    """Import the planning stack now (call it from a worker thread after start-up)."""
    import printpharm.services.run.prepare  # noqa: F401
    import printpharm.slicing.toolpaths  # noqa: F401
