"""Printer and balance simulators that speak the real serial protocols."""
