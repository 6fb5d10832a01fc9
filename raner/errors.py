"""Errors the runtime raises, each with a message a user can act on."""
from __future__ import annotations

REBUILD_HINT = "rebuild it with: python -m compression.build --out {path}  (see README, 'Rebuilding the models')"


class ModelError(RuntimeError):
    """A model directory is missing, incomplete or corrupt."""


class UnknownVariantError(ValueError):
    """A variant name that the model's manifest does not list."""


class LimitExceeded(ValueError):
    """A job went past one of the bounds it was given (documents, characters, output size)."""
