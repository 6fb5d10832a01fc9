"""Every shipped variant gives the entities it gave when tests/data/msra_dev_digests.json was recorded: MSRA dev,
one sentence at a time (``predict``), all predictions hashed per variant. A refactor must not move one entity."""
from __future__ import annotations

import hashlib
import json

import pytest

import raner
from compression.data import read_conll

from .conftest import ROOT, SHIPPED

pytestmark = pytest.mark.slow  # 3,000 sentences through every variant (a few minutes)
RECORDED = ROOT / "tests" / "data" / "msra_dev_digests.json"


def digest(rec: raner.Recognizer, texts: list[str]) -> str:
    """sha256 of the canonical JSON of ``[[text, type, start, end], ...]`` for each text, in order."""
    found = [[[e.text, e.type, e.start, e.end] for e in rec.predict(t)] for t in texts]
    return hashlib.sha256(json.dumps(found, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


@pytest.mark.parametrize("variant", sorted(json.loads(RECORDED.read_text(encoding="utf-8"))["variants"]))
def test_variant_predicts_as_recorded(msra, variant):
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    texts = [s.text for s in read_conll(msra / "dev.txt")]
    assert len(texts) == recorded["sentences"]
    rec = raner.load(SHIPPED, variant=variant, cache_size=0)
    assert digest(rec, texts) == recorded["variants"][variant], (
        f"{variant} finds other entities on MSRA dev than when the digests were recorded; if that is intended (a new "
        f"model, a decoding change), record them again as {RECORDED.name}'s 'how' says")
