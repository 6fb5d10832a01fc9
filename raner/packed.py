"""String lists stored in ``.npz`` files: joined by newlines as one UTF-8 byte array, so they load in one split."""
from __future__ import annotations

import numpy as np


def pack_strings(items: list[str]) -> np.ndarray:
    """The strings joined by newlines as a uint8 array (no string may contain a newline)."""
    if any("\n" in s for s in items):
        raise ValueError("a packed string contains a newline")
    return np.frombuffer("\n".join(items).encode("utf-8"), dtype=np.uint8)


def unpack_strings(blob: np.ndarray) -> list[str]:
    """What ``pack_strings`` packed."""
    return blob.tobytes().decode("utf-8").split("\n") if blob.size else []
