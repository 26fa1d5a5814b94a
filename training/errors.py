"""Errors of the training layer: all are the user's to fix, so the CLI prints them without a traceback."""

from __future__ import annotations

from arch.errors import ConvSmithError
from arch.options import ConfigError  # a training option out of range or impossible here

__all__ = ["CheckpointError", "ConfigError", "DataError", "RunError"]


class DataError(ConvSmithError):
    """A dataset string, file or folder that cannot be used (names the bad part)."""


class CheckpointError(ConvSmithError):
    """A checkpoint that is missing, corrupt, unsafe or does not fit the model."""


class RunError(ConvSmithError):
    """A run directory that cannot be used (missing, not a run, unreadable, already taken)."""
