"""Shared set-up of the ink-lot tests: a team, the library imported and an ink locked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from printpharm.catalog import Catalog
from printpharm.core.ink_lots import BulkAssay
from printpharm.services.access.auth import UserSession
from printpharm.services.control.library import LibraryService
from printpharm.services.control.lots import LotEntry, LotService
from tests.services._equipment_fixtures import train_operator
from tests.services._records_fixtures import Env

INK = "cyclophosphamide-sse-chewable"
Team = dict[str, tuple[str, UserSession]]
ASSAY = BulkAssay("mg_per_g", Decimal("49.2"), "HPLC-UV, SOP QC-12", "Ann Analyst", Decimal("0.8"))


def make_team(env: Env) -> Team:
    """Two pharmacists (supervisors), a technician and an inspector; signers enrolled."""
    people = {
        "sup1": env.make_user("sup1", "supervisor", "Sue Super"),
        "sup2": env.make_user("sup2", "supervisor", "Sam Second"),
        "tech1": env.make_user("tech1", "technician", "Tess Tech"),
        "insp": env.make_user("insp", "inspector", "Ivo Inspector"),
    }
    for user_id in ("sup1", "sup2", "tech1"):
        password, session = people[user_id]
        env.enrol(user_id, password, session)
    train_operator(env, "tech1")  # a recorded run needs its operator trained (TRN-01)
    return people


def lock_items(env: Env, team: Team, catalog: Catalog, *items: tuple[str, str]) -> None:
    """Import the shipped library; sup2 validates v1 of each (kind, id) and sup1 locks it
    (two different people, issue 13)."""
    lib = LibraryService(env.auth, env.records)
    pw1, sup1 = team["sup1"]
    pw2, sup2 = team["sup2"]
    lib.import_catalog(sup1, catalog)
    for kind, item in items:
        lib.validate(sup2, kind, item, 1, "sup2", pw2, "OQ")  # type: ignore[arg-type]
        lib.lock(sup1, kind, item, 1, "sup1", pw1)  # type: ignore[arg-type]


def entry(number: str = "L-2026-001", **changes: Any) -> LotEntry:
    """A 20 mL syringe lot of the CPM paste prepared the day before the test clock's day."""
    values: dict[str, Any] = {
        "lot_number": number,
        "ink_id": INK,
        "prepared_on": date(2026, 3, 28),
        "quantity": Decimal(20),
        "quantity_unit": "mL",
        "container": "2 × 10 mL syringes",
        "assay": ASSAY,
        **changes,
    }
    return LotEntry(**values)


def released_lot(env: Env, team: Team, number: str = "L-2026-001", **changes: Any) -> LotService:
    """Add a lot as tech1 and have sup1 release it; return the service."""
    service = LotService(env.auth, env.records)
    service.add(team["tech1"][1], entry(number, **changes))
    pw1, sup1 = team["sup1"]
    service.release(sup1, number, "sup1", pw1, "assay within specification")
    return service
