"""Where a RaNER model comes from: a local directory, or a ModelScope model id downloaded on demand.

``modelscope`` is only a download client here: it is imported when a model id (not a directory) is given,
so building from a local directory needs neither it nor the network.
"""
from __future__ import annotations

import re
from pathlib import Path

MODEL_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class SourceError(RuntimeError):
    """The source model cannot be found, downloaded or read; the message says what to do."""


def looks_like_model_id(name: str) -> bool:
    """Whether ``name`` has the ``owner/model`` form of a ModelScope id."""
    return bool(MODEL_ID.match(name)) and not name.startswith((".", "/"))


def resolve_model(model: str | Path, cache_dir: Path | None = None) -> Path:
    """A local directory holding the model's files: ``model`` itself, or a ModelScope download of it."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    name = str(model)
    if not looks_like_model_id(name):
        raise SourceError(f"{name} is neither a directory nor a ModelScope model id (owner/name)")
    try:
        from modelscope.hub.snapshot_download import snapshot_download
    except ImportError:
        raise SourceError(f"cannot download {name}: the ModelScope client is not installed (pip install modelscope), "
                          "or download the model elsewhere and pass its local directory as --model") from None
    try:
        local = snapshot_download(name, cache_dir=str(cache_dir) if cache_dir else None)
    except Exception as e:  # the client raises requests/urllib3/its own errors; all mean the same to the user
        raise SourceError(f"cannot download {name} from ModelScope ({type(e).__name__}: {str(e)[:200]}): no network? "
                          "Download the model elsewhere and pass its local directory as --model") from None
    if not Path(local).is_dir():
        raise SourceError(f"the ModelScope client returned {local!r} for {name}, which is not a directory")
    return Path(local)
