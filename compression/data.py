"""Reading CoNLL files (``char<TAB>tag``, blank line between sentences)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "msra"


@dataclass
class Sentence:
    """One sentence: the original text and one tag per character. An unlabelled one (``labelled=False``: text
    without gold, tags all O) teaches only through distillation."""

    text: str
    tags: list[str]
    labelled: bool = True


def read_conll(path: str | Path) -> list[Sentence]:
    """Read a CoNLL file; raises ValueError naming the line of a malformed row."""
    sentences: list[Sentence] = []
    chars: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                if chars:
                    sentences.append(Sentence("".join(chars), tags))
                chars, tags = [], []
                continue
            char, sep, tag = line.rpartition("\t") if "\t" in line else line.rpartition(" ")
            if not sep or len(char) != 1:
                raise ValueError(f"{path}:{lineno}: expected 'char<TAB>tag', got {line!r}")
            chars.append(char)
            tags.append(tag.strip())
    if chars:
        sentences.append(Sentence("".join(chars), tags))
    return sentences


def labels_of(sentences: list[Sentence]) -> list[str]:
    """Sorted label set with 'O' first, types grouped (B-X before I-X)."""
    kinds = sorted({t.split("-", 1)[1] for s in sentences for t in s.tags if t != "O"})
    labels = ["O"]
    for k in kinds:
        labels += [f"B-{k}", f"I-{k}"]
    return labels


def read_unlabelled(path: str | Path) -> list[Sentence]:
    """Plain text, one sentence a line (blank lines skipped), as unlabelled sentences."""
    with open(path, encoding="utf-8") as f:
        texts = [line.strip() for line in f]
    return [Sentence(t, ["O"] * len(t), labelled=False) for t in texts if t]
