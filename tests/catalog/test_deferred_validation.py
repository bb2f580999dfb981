"""Validators are built when first used: defaults made without validation are still valid."""

from __future__ import annotations


def test_defaults_made_without_validation_pass_validation() -> None:
    """Defaults are built with ``model_construct`` (no validator at import): still valid."""
    from printpharm.catalog._models import ProcessLayer, Variability
    from printpharm.catalog._recipes import ControlSettings, FormBounds
    from printpharm.catalog.stack import PROCESS_DEFAULTS

    for model in (ProcessLayer, Variability, ControlSettings, FormBounds):
        default = model()
        assert model.model_validate(default.model_dump()) == default
    written = PROCESS_DEFAULTS.model_dump(exclude_unset=True)
    assert ProcessLayer.model_validate(written) == PROCESS_DEFAULTS
