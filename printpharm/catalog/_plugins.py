"""pydantic's plugin lookup answered without importing ``importlib.metadata`` when it is off.

printpharm runs its catalog validation without pydantic plugins (third-party code that
would see, and could wrap, the validation of every recipe and ink): :mod:`printpharm.launch`
sets ``PYDANTIC_DISABLE_PLUGINS=__all__`` unless the operator chose otherwise. pydantic
then finds no plugin, but only after importing ``importlib.metadata`` (with ``email``,
``zipfile``, ``csv`` ...) to build its first validator: ~30–60 ms of a ``printpharm plan``
that validates its three files in every process. While plugins are off, pydantic's
lookup module is replaced by one giving the same answer (none) without that import; if
the variable is changed later in the process, the real lookup is loaded and asked.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import Any

__all__ = ["PLUGINS_ENV", "skip_plugin_lookup"]

#: pydantic's switch; these values of it turn every plugin off (as pydantic reads it).
PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"
_ALL_OFF = ("__all__", "1", "true")
#: The pydantic module that looks plugins up (imported when the first validator is built).
_LOOKUP = "pydantic.plugin._loader"


def _plugins_off() -> bool:
    return os.environ.get(PLUGINS_ENV) in _ALL_OFF


def _get_plugins() -> Any:
    """pydantic's ``get_plugins()``: none while they are off, else the real lookup's answer."""
    if _plugins_off():
        return ()
    if getattr(sys.modules.get(_LOOKUP), "get_plugins", None) is _get_plugins:
        del sys.modules[_LOOKUP]
    return importlib.import_module(_LOOKUP).get_plugins()


def skip_plugin_lookup() -> bool:
    """Answer pydantic's plugin lookup without ``importlib.metadata`` while plugins are off.

    Returns whether the lookup was replaced (not when plugins are on, or when pydantic
    already loaded its own lookup).
    """
    if not _plugins_off() or _LOOKUP in sys.modules:
        return False
    lookup = types.ModuleType(_LOOKUP, "pydantic's plugin lookup while plugins are off")
    vars(lookup)["get_plugins"] = _get_plugins
    sys.modules[_LOOKUP] = lookup
    return True
