"""Errors the runtime raises, each with a message a user can act on."""
from __future__ import annotations

REBUILD_HINT = ("rebuild {path} with `make model` if it is the shipped model, else as README's 'Rebuilding the models' "
                "says")
LFS_POINTER_HINT = ("{file} is a Git LFS pointer, not the model file itself (cloned without git-lfs): "
                    "run `git lfs pull` in {path}")


class ModelError(RuntimeError):
    """A model directory is missing, incomplete or corrupt."""


class UnknownVariantError(ValueError):
    """A variant name that the model's manifest does not list."""


class LimitExceeded(ValueError):
    """A job went past one of the bounds it was given (documents, characters, output size)."""
