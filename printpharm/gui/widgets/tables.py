"""The read-only record tables of the pages: whole-row selection, no editing, no row numbers."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QWidget

__all__ = ["record_table"]


def record_table(
    parent: QWidget,
    name: str,
    columns: tuple[str, ...],
    *,
    stretch: bool = False,
    single: bool = True,
    accessible: str | None = None,
) -> QTableWidget:
    """A table of ``columns`` (translated through ``parent``) named ``name`` for tests.

    ``stretch`` spreads all columns over the width; otherwise columns fit their
    contents and the last one takes the rest. ``single`` selects one row at a time.
    """
    table = QTableWidget(0, len(columns), parent)
    table.setObjectName(name)
    if accessible:
        table.setAccessibleName(accessible)
    table.setHorizontalHeaderLabels([parent.tr(c) for c in columns])
    header = table.horizontalHeader()
    if stretch:
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    else:
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    if single:
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    return table
