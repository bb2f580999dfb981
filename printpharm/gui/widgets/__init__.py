"""Small reusable widgets: the mode banner, inline field errors, verdict badges."""

from printpharm.gui.widgets.banner import ModeBanner
from printpharm.gui.widgets.feedback import FieldError, VerdictLabel, error_colour

__all__ = ["FieldError", "ModeBanner", "VerdictLabel", "error_colour"]
