"""Every shipped variant gives the entities it gave when tests/data/msra_dev_digests.json was recorded: MSRA dev,
one sentence at a time (``predict``), all predictions hashed per variant. A refactor must not move one entity.

INT8 results depend on which integer kernels ONNX Runtime picks for the CPU, so a quantized variant has one recorded
digest per CPU kernel family (``cpu_family()``'s name); on a family never recorded it is skipped, saying so."""
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


def cpu_family() -> str:
    """The CPU vendor and the best integer-kernel feature ONNX Runtime can use on it (how INT8 digests are keyed)."""
    try:
        info = open("/proc/cpuinfo", encoding="ascii", errors="replace").read()
    except OSError:
        return "unknown"
    words = set(info.split())
    vendor = next((w for w in ("GenuineIntel", "AuthenticAMD") if w in words), "other")
    best = next((f for f in ("amx_int8", "avx512_vnni", "avx_vnni", "avx512bw", "avx2") if f in words), "none")
    return f"{vendor} {best}"


@pytest.mark.parametrize("variant", sorted(json.loads(RECORDED.read_text(encoding="utf-8"))["variants"]))
def test_variant_predicts_as_recorded(msra, variant):
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    texts = [s.text for s in read_conll(msra / "dev.txt")]
    assert len(texts) == recorded["sentences"]
    rec = raner.load(SHIPPED, variant=variant, cache_size=0)
    known = recorded["variants"][variant]
    if "any" not in known and cpu_family() not in known:
        pytest.skip(f"no digest of {variant} was recorded on a {cpu_family()!r} CPU (a quantized variant's integer "
                    f"kernels round differently by CPU); record one as {RECORDED.name}'s 'how' says")
    expected = known.get("any") or known[cpu_family()]
    assert digest(rec, texts) == expected, (
        f"{variant} finds other entities on MSRA dev than when the digests were recorded ({', '.join(known)}); this "
        f"CPU is {cpu_family()!r}. If that is intended (a new model, a decoding change) or this CPU family is new, "
        f"record the digest as {RECORDED.name}'s 'how' says")
