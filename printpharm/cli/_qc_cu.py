"""``printpharm qc cu``: a batch's content uniformity — units chosen at random, assays, AV.

::

    printpharm qc cu BATCH --user U                      where the batch stands
    printpharm qc cu BATCH --select --user U             printpharm chooses the units to assay
    printpharm qc cu BATCH --file results.csv --method M [--analyst A] --user U

``results.csv`` names its columns: ``unit,content_pct`` (% of label claim) or
``unit,content_mg``; only the units printpharm chose are accepted. Exit 0 when
the batch's content uniformity passed (or units were chosen), 1 when it failed or
needs the next stage or results, 2 on bad input.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

from printpharm.cli._common import add_json_flag, emit
from printpharm.errors import InputError

__all__ = ["register_cu"]


def _status_payload(status: Any) -> dict[str, Any]:
    return {
        "needed": status.needed,
        "why": status.why,
        "state": status.state,
        "text": status.text(),
        "samples": list(status.samples),
        "results": list(status.results),
        "missing": list(status.missing),
        "av": None if status.av is None else status.av.as_vector_dict(),
    }


def _lines(status: Any) -> list[str]:
    lines = [status.text()]
    for sample in status.samples:
        units = ", ".join(str(n) for n in sample.units)
        lines.append(
            f"  stage {sample.stage}: units {units} (chosen at random by printpharm for "
            f"{sample.selected_by} {sample.selected_at:%Y-%m-%d %H:%M}Z, seed {sample.seed})"
        )
    for r in status.results:
        mg = f" ({r.content_mg} mg)" if r.content_mg is not None else ""
        lines.append(
            f"  unit {r.unit_index:>3}: {r.content_pct:.2f} % of label claim{mg} — {r.method}"
            f"{', ' + r.analyst if r.analyst else ''}; entered by {r.entered_by}"
        )
    return lines


def _run_cu(args: argparse.Namespace) -> int:
    from printpharm.cli._auth_args import logged_in
    from printpharm.services.records.content_uniformity import CuService, parse_cu_csv

    if args.file is not None and not args.method:
        raise InputError("--file needs --method (the analytical method of the assays)")
    entries = None
    source = None
    if args.file is not None:
        try:
            raw = Path(args.file).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {args.file}: {exc.strerror}") from exc
        source = f"{Path(args.file).name} sha256:{hashlib.sha256(raw).hexdigest()}"
        entries = parse_cu_csv(raw.decode("utf-8", errors="replace"), str(args.file))
    with logged_in(args) as (services, session, _):
        service = CuService(services.auth)
        if args.select:
            sample = service.select(session, args.batch)
            status = service.status(session, args.batch)
            head = f"stage {sample.stage}: assay units {', '.join(map(str, sample.units))}"
            emit(
                args,
                {"selected": sample, **_status_payload(status)},
                "\n".join([head, *_lines(status)]),
            )
            return 0
        if entries is not None:
            status = service.enter(session, args.batch, entries, args.method, args.analyst, source)
        else:
            status = service.status(session, args.batch)
    emit(args, _status_payload(status), "\n".join(_lines(status)))
    return 0 if status.passed else 1


def register_cu(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``qc cu``."""
    p = sub.add_parser("cu", help="a batch's content uniformity: choose units, enter assays")
    p.add_argument("batch", metavar="BATCH")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--select", action="store_true", help="choose the units to assay")
    action.add_argument("--file", metavar="CSV", help="assay results: unit,content_pct|content_mg")
    p.add_argument("--method", metavar="M", help="analytical method (e.g. 'HPLC-UV, SOP QC-12')")
    p.add_argument("--analyst", metavar="A", help="who did the assays")
    # the records arguments of cli._auth_args, without importing the records stack for `qc mass`
    p.add_argument("--db", metavar="URL", help="database URL or SQLite file")
    p.add_argument("--user", required=True, help="your user ID")
    p.add_argument("--password-stdin", action="store_true", help="read password(s) from stdin")
    add_json_flag(p)
    p.set_defaults(func=_run_cu)
