"""``printpharm qc``: pharmacopoeial uniformity verdicts from balance readings or assays.

* ``qc mass``    Ph. Eur. 2.9.5 uniformity of mass (20 tablets or capsules)
* ``qc av``      Ph. Eur. 2.9.40 / USP <905> acceptance value, content uniformity
* ``qc av-mass`` the same by mass variation (masses + assay A)
* ``qc cu``      a recorded batch's content uniformity: units chosen at random, assays

Values come from the command line or from ``--file`` (one value per line, with
blank lines and ``#`` comments ignored; a one-column CSV with an optional
header; or a JSON list). Exit codes: 0 the test passed, 1 it did not pass
(FAIL or STAGE2_REQUIRED), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

from printpharm.cli._common import add_json_flag, emit
from printpharm.core.uniformity import (
    POLICIES,
    AcceptanceValueResult,
    AvStage,
    MassUniformityResult,
    acceptance_value,
    acceptance_value_mass_variation,
    masses_in_mg,
    uniformity_of_mass,
)
from printpharm.core.units import parse_decimal
from printpharm.errors import UniformityInputError

__all__ = ["read_values", "register"]

_PASSED = ("PASS", "PASS_STAGE1", "PASS_STAGE2")
_HEADER = re.compile(r"[A-Za-z_][A-Za-z0-9_ ()%.\-]*")


def _is_number(text: str) -> bool:
    try:
        parse_decimal(text, "value", UniformityInputError)
    except UniformityInputError:
        return False
    return True


def _values_from_json(path: Path, text: str) -> list[str]:
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise UniformityInputError(
            f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from exc
    except (ValueError, RecursionError) as exc:  # a 5,000-digit integer, or deep nesting
        raise UniformityInputError(f"{path}: a number too long or values nested too deep") from exc
    if not isinstance(data, list) or not data:
        raise UniformityInputError(f"{path}: expected a JSON list of numbers")
    out: list[str] = []
    for index, item in enumerate(data, start=1):
        if isinstance(item, bool) or not isinstance(item, int | Decimal | str):
            raise UniformityInputError(f"{path}: item {index} ({item!r}) is not a number")
        text = format(item, "f") if isinstance(item, Decimal) else str(item)  # JSON: 2.5e2 = 250
        if not _is_number(text):
            raise UniformityInputError(f"{path}: item {index} ({item!r}) is not a number")
        out.append(text)
    return out


def read_values(path: Path) -> list[str]:
    """Read one numeric value per line, a one-column CSV, or a JSON list from ``path``.

    Raises
    ------
    UniformityInputError
        The file cannot be read, has more than one column, or holds a
        non-numeric value (the line number is named).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UniformityInputError(f"cannot read {path}: {exc}") from exc
    if text.lstrip().startswith("["):
        return _values_from_json(path, text)
    values: list[str] = []
    first = _first_content_line(text)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        cells = [c.strip().strip('"') for c in line.replace(";", ",").split(",")]
        cells = [c for c in cells if c]
        if len(cells) != 1:
            raise UniformityInputError(
                f"{path}, line {number}: expected one value, got {line!r} "
                "(one column; write decimals with a point, not a comma)"
            )
        if not _is_number(cells[0]):
            if number == first and _HEADER.fullmatch(cells[0]):  # a CSV column name
                continue
            raise UniformityInputError(f"{path}, line {number}: {cells[0]!r} is not a number")
        values.append(cells[0])
    if not values:
        raise UniformityInputError(f"{path}: no values found")
    return values


def _first_content_line(text: str) -> int:
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.split("#", 1)[0].strip():
            return number
    return 0


def _inputs(args: argparse.Namespace, attr: str) -> list[str]:
    if args.file is not None:
        return read_values(Path(args.file))
    values: list[str] = getattr(args, attr)
    return values


def _exit_code(verdict: str) -> int:
    return 0 if verdict in _PASSED else 1


# --- qc mass ----------------------------------------------------------------------------


def _units_text(numbers: tuple[int, ...], result: MassUniformityResult) -> str:
    if not numbers:
        return ""
    shown = ", ".join(f"{i} ({result.deviations_pct[i - 1]:+.3f} %)" for i in numbers)
    return f": unit {shown}"


def _mass_text(r: MassUniformityResult) -> str:
    lim, twice = r.limit_pct.quantize(Decimal("0.1")), r.twice_limit_pct.quantize(Decimal("0.1"))
    lines = [
        f"{r.test} -- {r.form}, {len(r.unit_masses_mg)} units, policy {r.policy}",
        f"  Average mass        {r.average_mass_mg:.3f} mg",
        f"  Band                {lim} % (twice: {twice} %)",
        f"  Beyond {lim} %".ljust(22)
        + f"{r.n_outside_limit} unit(s), max 2 allowed"
        + _units_text(r.units_outside_limit, r),
        f"  Beyond {twice} %".ljust(22)
        + f"{r.n_outside_twice_limit} unit(s), none allowed"
        + _units_text(r.units_outside_twice_limit, r),
        f"  Max |deviation|     {r.max_abs_deviation_pct:.3f} %",
        f"  Verdict             {r.result}",
        f"  Reason              {r.reason}",
    ]
    return "\n".join(lines)


def _masses(args: argparse.Namespace) -> tuple[Decimal, ...]:
    """The unit masses in mg: ``--mass-unit g`` converts; unstated, grams are refused."""
    try:
        return masses_in_mg(_inputs(args, "mass_mg"), args.mass_unit)
    except UniformityInputError as exc:
        if args.mass_unit is None and "were they weighed in grams" in str(exc):
            raise UniformityInputError(
                f"{exc}: --mass-unit g converts grams, --mass-unit mg keeps them as mg"
            ) from None
        raise


def _run_mass(args: argparse.Namespace) -> int:
    shells: list[str] | None = args.shell_mg
    result = uniformity_of_mass(
        _masses(args),
        form=args.form,
        shell_mg=shells[0] if shells is not None and len(shells) == 1 else shells,
        policy=args.policy,
    )
    emit(args, result.as_vector_dict(), _mass_text(result))
    return _exit_code(result.result)


# --- qc av / av-mass --------------------------------------------------------------------


def _stage_text(label: str, st: AvStage, decides_l2: bool) -> list[str]:
    lines = [
        f"  {label} (n = {st.n}, k = {st.k}): mean {st.mean:.2f} %, s {st.s:.2f}, M {st.m:.2f} %",
        f"    AV {st.av_reported_1dp} ({'<=' if st.av_le_l1 else '>'} L1 15.0)",
    ]
    if decides_l2:
        lines.append(
            f"    L2 range {st.l2_low:.3f} .. {st.l2_high:.3f} %: "
            f"{len(st.units_outside_l2)} unit(s) outside"
            + (
                f" ({', '.join(str(x) for x in st.units_outside_l2)})"
                if st.units_outside_l2
                else ""
            )
        )
    return lines


def _av_text(r: AcceptanceValueResult) -> str:
    method = "content uniformity" if r.method == "CU" else "mass variation"
    lines = [f"Ph. Eur. 2.9.40 / USP <905> {method} -- T = {r.target_pct} %"]
    if r.applicability is not None:
        lines.append(f"  Applicability       {r.applicability.reason}")
    if r.assay_pct is not None:
        lines.append(
            f"  Assay A {r.assay_pct} %, mean mass {r.stage1_mean_mass_mg:.3f} mg (stage 1)"
        )
    lines += _stage_text("Stage 1", r.stage1, decides_l2=False)
    if r.stage2 is not None:
        lines += _stage_text("Stage 2", r.stage2, decides_l2=True)
    lines.append(f"  Verdict             {r.final}")
    lines.append(f"  Reason              {r.reason}")
    if r.is_estimate or "not checked" in r.label:
        lines.append(f"  NOTE                {r.label}")
    return "\n".join(lines)


def _run_av(args: argparse.Namespace) -> int:
    result = acceptance_value(_inputs(args, "content_pct"), target_pct=args.target_pct)
    emit(args, result.as_vector_dict(), _av_text(result))
    return _exit_code(result.final)


def _run_av_mass(args: argparse.Namespace) -> int:
    result = acceptance_value_mass_variation(
        _masses(args),
        args.assay_pct,
        target_pct=args.target_pct,
        unit_content_mg=args.unit_content_mg,
        drug_fraction=args.drug_fraction,
        assay_is_measured=not args.nominal_assay,
    )
    emit(args, result.as_vector_dict(), _av_text(result))
    return _exit_code(result.final)


# --- registration -----------------------------------------------------------------------


def _add_source(parser: argparse.ArgumentParser, flag: str, dest: str, what: str) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(flag, dest=dest, nargs="+", metavar="X", help=what)
    group.add_argument(
        "--file",
        metavar="F",
        help="file of values: one per line (# comments), a one-column CSV, or a JSON list",
    )


def _add_mass_unit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mass-unit",
        choices=("mg", "g"),
        help="unit of the masses (default mg; masses all below 5 mg are refused as likely "
        "grams unless the unit is given)",
    )


def _register_mass(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("mass", help="Ph. Eur. 2.9.5 uniformity of mass (20 units)")
    _add_source(p, "--mass-mg", "mass_mg", "the 20 unit masses in mg (capsules: gross or content)")
    _add_mass_unit(p)
    p.add_argument("--form", choices=("tablet", "capsule"), default="tablet")
    p.add_argument(
        "--shell-mg",
        metavar="S",
        nargs="+",
        help="capsules: emptied shell mass in mg, one for all units or one per unit",
    )
    p.add_argument("--policy", choices=POLICIES, default="strict", help="default: strict")
    add_json_flag(p)
    p.set_defaults(func=_run_mass)


def _register_av(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("av", help="Ph. Eur. 2.9.40 acceptance value, content uniformity")
    _add_source(p, "--content-pct", "content_pct", "10 or 30 unit contents in %% of label claim")
    p.add_argument("--target-pct", metavar="T", default="100", help="target T (default 100)")
    add_json_flag(p)
    p.set_defaults(func=_run_av)
    p = sub.add_parser("av-mass", help="Ph. Eur. 2.9.40 acceptance value by mass variation")
    _add_source(p, "--mass-mg", "mass_mg", "10 or 30 unit masses in mg")
    _add_mass_unit(p)
    p.add_argument("--assay-pct", metavar="A", required=True, help="assay A, %% of label claim")
    p.add_argument("--target-pct", metavar="T", default="100", help="target T (default 100)")
    p.add_argument("--unit-content-mg", metavar="C", help="drug per unit, mg (25 mg guard)")
    p.add_argument("--drug-fraction", metavar="F", help="drug mass fraction, 0-1 (25 %% guard)")
    p.add_argument(
        "--nominal-assay",
        action="store_true",
        help="A is a nominal content, not an assay: the result is an estimate",
    )
    add_json_flag(p)
    p.set_defaults(func=_run_av_mass)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``printpharm qc mass|av|av-mass``."""
    qc = subparsers.add_parser("qc", help="uniformity verdicts (Ph. Eur. 2.9.5, 2.9.40)")
    sub = qc.add_subparsers(dest="qc_command", metavar="TEST")
    qc.set_defaults(func=lambda _args: _usage(qc))
    _register_mass(sub)
    _register_av(sub)
    from printpharm.cli._qc_cu import register_cu

    register_cu(sub)
