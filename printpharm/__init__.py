"""printpharm — point-of-care 3D printing of personalised oral dosage forms.

Importing :mod:`printpharm` has no side effects; it only exposes the version.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
