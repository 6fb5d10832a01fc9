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


def code_points(text: str) -> np.ndarray:
    """The text's code points as int64 (lone surrogates kept), for lookups done over a whole text at once."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)


def ragged_lines(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newline-separated entries as one code-point array with each entry's start and length: a vocabulary of 200k
    lines without 200k string objects (a final newline ends the last entry; it does not start an empty one)."""
    codes = code_points(text)
    if not len(codes):
        return codes, codes.copy(), codes.copy()
    breaks = np.flatnonzero(codes == 10)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(codes)]))
    if text.endswith("\n"):
        starts, ends = starts[:-1], ends[:-1]
    return codes, starts, ends - starts


def text_of(codes: np.ndarray, start: int, length: int) -> str:
    """The string of ``length`` code points at ``start``."""
    return codes[start : start + length].astype(np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
