"""The project's own sample sentences (samples/news.txt), for examples and the live benchmark."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from raner.markup import read_marked_file

NEWS = Path(__file__).resolve().parent.parent / "samples" / "news.txt"


@lru_cache(maxsize=1)
def sample_texts() -> tuple[str, ...]:
    return tuple(text for text, _ in read_marked_file(NEWS))


def example_texts() -> list[str]:
    """A row of UI examples: news, a long paragraph, mixed scripts, and text with no entities."""
    texts = sample_texts()
    paragraph = "".join(t if t.endswith("。") else t + "。" for t in texts[2:8])  # not starting like example 2
    return [texts[0], texts[1], paragraph, texts[18], texts[17], texts[8]]
