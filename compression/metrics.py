"""Entity-level exact-match precision, recall and F1 (like seqeval's strict mode), overall and per type."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from raner.normalize import normalize
from raner.spans import tags_to_spans

Span = tuple[str, int, int]


def score_spans(gold: Iterable[Iterable[Span]], pred: Iterable[Iterable[Span]]) -> dict:
    """Compare gold and predicted span sets sentence by sentence."""
    tp, n_gold, n_pred = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred, strict=True):
        g, p = set(g), set(p)
        for kind, *_ in g:
            n_gold[kind] += 1
        for kind, *_ in p:
            n_pred[kind] += 1
        for kind, *_ in g & p:
            tp[kind] += 1
    result = {"overall": _prf(sum(tp.values()), sum(n_gold.values()), sum(n_pred.values()))}
    for kind in sorted(set(n_gold) | set(n_pred)):
        result[kind] = _prf(tp[kind], n_gold[kind], n_pred[kind])
    return result


def recall_by_group(texts: Sequence[str], gold: Iterable[Iterable[Span]], pred: Iterable[Iterable[Span]],
                    known: set[tuple[str, str]]) -> dict:
    """Recall of gold entities whose (normalized text, type) is in ``known`` ("seen") vs the rest ("unseen"),
    overall and per type."""
    counts: dict[str, list[int]] = {}
    for text, g, p in zip(texts, gold, pred, strict=True):
        got = set(p)
        for kind, a, b in g:
            group = "seen" if (normalize(text[a:b]), kind) in known else "unseen"
            for key in (group, f"{group} {kind}"):
                hit_total = counts.setdefault(key, [0, 0])
                hit_total[0] += (kind, a, b) in got
                hit_total[1] += 1
    return {key: {"entities": t, "recall": round(h / t, 4)} for key, (h, t) in sorted(counts.items())}


def score_tags(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str = "BIO") -> dict:
    """Score tag sequences by their strict spans."""
    return score_spans((tags_to_spans(g, scheme) for g in gold), (tags_to_spans(p, scheme) for p in pred))


def _prf(tp: int, n_gold: int, n_pred: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": n_gold}


def format_report(result: dict) -> str:
    """A small text table of the scores."""
    lines = [f"{'type':<8}{'P':>8}{'R':>8}{'F1':>8}{'support':>9}"]
    for kind, s in result.items():
        lines.append(f"{kind:<8}{s['precision']:>8.4f}{s['recall']:>8.4f}{s['f1']:>8.4f}{s['support']:>9}")
    return "\n".join(lines)
