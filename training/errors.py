"""Errors of the training layer: all are the user's to fix, so the CLI prints them without a traceback."""

from __future__ import annotations

from arch.errors import ConvSmithError


class DataError(ConvSmithError):
    """A dataset string, file or folder that cannot be used (names the bad part)."""


class CheckpointError(ConvSmithError):
    """A checkpoint that is missing, corrupt, unsafe or does not fit the model."""


class ConfigError(ConvSmithError):
    """A training option out of range or impossible on this machine (e.g. cuda without a GPU)."""


class RunError(ConvSmithError):
    """A run directory that cannot be used (missing, not a run, unreadable, already taken)."""
