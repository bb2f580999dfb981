"""Command group placeholder: its commands are registered by the issue that builds them."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register this group's sub-commands (none yet)."""
