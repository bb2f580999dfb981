"""Checks between files: a recipe's ink and printer exist and fit it, and it resolves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from printpharm.errors import CatalogError

if TYPE_CHECKING:
    from printpharm.catalog.loader import Catalog

__all__ = ["check_references"]


def check_references(catalog: Catalog) -> None:
    """Check every concrete recipe against its ink and printer, then resolve it.

    Raises
    ------
    CatalogError
        Naming the recipe file and the key: unknown ink/printer, an ink kind the
        printer cannot print, a different API, a dose recipe on a drug-free ink,
        a validated nozzle window outside the ink's, or an incomplete process.
    """
    ink_ids = {ink.id for ink in catalog.inks()}
    printer_ids = {p.id for p in catalog.printers()}
    for recipe in catalog.recipes():
        rel = catalog.sources("recipe", recipe.id)[0].relpath
        if recipe.ink not in ink_ids:
            known = ", ".join(sorted(ink_ids))
            raise CatalogError(f"{rel}: ink = {recipe.ink!r}: no such ink (known: {known})")
        if recipe.printer not in printer_ids:
            known = ", ".join(sorted(printer_ids))
            raise CatalogError(
                f"{rel}: printer = {recipe.printer!r}: no such printer (known: {known})"
            )
        ink, printer = catalog.ink(recipe.ink), catalog.printer(recipe.printer)
        if ink.kind != printer.ink_kind:
            raise CatalogError(
                f"{rel}: printer = {printer.id!r} prints {printer.ink_kind}, "
                f"but ink {ink.id!r} is {ink.kind}"
            )
        if recipe.api != ink.api:
            raise CatalogError(f"{rel}: api = {recipe.api!r} but ink {ink.id!r} holds {ink.api!r}")
        if recipe.dose is not None and ink.drug_load.value <= 0:
            raise CatalogError(
                f"{rel}: [dose] needs a drug-loaded ink; {ink.id!r} has drug_load {ink.drug_load}"
            )
        window, ink_window = recipe.validated.nozzle_temperature, ink.temperature_window
        if window.min < ink_window.min or window.max > ink_window.max:
            raise CatalogError(
                f"{rel}: validated.nozzle_temperature = {window} is outside the "
                f"temperature window {ink_window} of ink {ink.id!r}"
            )
        catalog.resolve(recipe.id)
