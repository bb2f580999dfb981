"""Inks, recipes and printer definitions as schema-checked data files, resolved into settings.

Start with :func:`load_catalog`; see :mod:`printpharm.catalog.loader` for the public API,
:mod:`printpharm.catalog.schema` for the models and :mod:`printpharm.catalog.stack` for
the settings resolution.
"""

from printpharm.catalog.loader import Catalog, SourceFile, file_sha256, load_catalog, validate_model
from printpharm.catalog.stack import ResolvedSettings, Setting

__all__ = [
    "Catalog",
    "ResolvedSettings",
    "Setting",
    "SourceFile",
    "file_sha256",
    "load_catalog",
    "validate_model",
]
