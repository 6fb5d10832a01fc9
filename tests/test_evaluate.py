"""The multi-set evaluation command and the peer-tool bridge, with fake systems and a fake peer worker
(the real peers live in their own venv and are never needed here)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from compression import evaluate as ev
from compression import peers
from compression.data import Sentence
from raner.spans import spans_to_tags


def sent(text: str, spans) -> Sentence:
    return Sentence(text, spans_to_tags(spans, len(text)))


SET_A = [
    sent("马云在杭州演讲", [("PER", 0, 2), ("LOC", 3, 5)]),
    sent("张三去了北京大学", [("PER", 0, 2), ("ORG", 4, 8)]),
]
SET_B = [sent("李四在上海", [("PER", 0, 2), ("LOC", 3, 5)])]
TRAIN = [sent("马云来了", [("PER", 0, 2)]), sent("上海很大", [("LOC", 0, 2)])]


def fake_recognizer(answers: dict[str, list]):
    calls = []

    def predict(text):
        calls.append(text)
        return answers.get(text, [])

    return predict, calls


# ---- reading sets ---------------------------------------------------------------------------------


def test_read_set_tells_conll_from_markup(tmp_path):
    conll = tmp_path / "a.txt"
    conll.write_text("马\tB-PER\n云\tI-PER\n来\tO\n\n上\tB-LOC\n海\tI-LOC\n", encoding="utf-8")
    markup = tmp_path / "b.txt"
    markup.write_text("# a comment [x|TYPE]\n[马云|PER]来了\n去[上海|LOC]\n", encoding="utf-8")
    a, b = ev.read_set(conll), ev.read_set(markup)
    assert [s.text for s in a] == ["马云来", "上海"] and a[0].tags == ["B-PER", "I-PER", "O"]
    assert [s.text for s in b] == ["马云来了", "去上海"] and b[1].tags == ["O", "B-LOC", "I-LOC"]


def test_known_entities_are_text_and_type():
    assert ev.known_entities(TRAIN) == {("马云", "PER"), ("上海", "LOC")}


# ---- scoring several sets, one sentence per call ---------------------------------------------------


def test_evaluate_sets_scores_each_set_and_system_one_sentence_per_call():
    perfect, calls = fake_recognizer(
        {
            "马云在杭州演讲": [("PER", 0, 2), ("LOC", 3, 5)],
            "张三去了北京大学": [("PER", 0, 2), ("ORG", 4, 8)],
            "李四在上海": [("PER", 0, 2), ("LOC", 3, 5)],
        }
    )
    half, _ = fake_recognizer(
        {
            "马云在杭州演讲": [("PER", 0, 2), ("LOC", 3, 6)],  # wrong end: not a match
            "张三去了北京大学": [("PER", 0, 2), ("LOC", 4, 6)],  # wrong span and type
            "李四在上海": [("PER", 0, 2)],
        }
    )
    res = ev.evaluate_sets({"perfect": perfect, "half": half}, {"a": SET_A, "b": SET_B}, ev.known_entities(TRAIN))
    assert list(res) == ["a", "b"] and list(res["a"]) == ["perfect", "half"]
    # each text once per call (plus one untimed warm-up per set), never a batch
    assert all(isinstance(c, str) for c in calls)
    assert calls == ["马云在杭州演讲", "马云在杭州演讲", "张三去了北京大学", "李四在上海", "李四在上海"]
    assert res["a"]["perfect"]["scores"]["overall"]["f1"] == 1.0
    h = res["a"]["half"]["scores"]
    assert h["overall"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 4}
    assert h["PER"]["f1"] == 1.0 and h["LOC"]["f1"] == 0.0 and h["ORG"]["recall"] == 0.0
    assert res["a"]["half"]["sentences"] == 2 and res["b"]["half"]["sentences"] == 1
    su = res["a"]["half"]["seen_unseen"]
    assert su["seen"] == {"entities": 1, "recall": 1.0}  # 马云/PER is in TRAIN
    assert su["unseen"] == {"entities": 3, "recall": round(1 / 3, 4)}
    assert su["unseen ORG"] == {"entities": 1, "recall": 0.0}
    assert res["b"]["half"]["seen_unseen"]["seen LOC"] == {"entities": 1, "recall": 0.0}  # 上海 seen, missed
    lat = res["a"]["perfect"]["latency"]
    assert set(lat) == {"median_ms", "p90_ms", "mean_ms"} and lat["median_ms"] >= 0


def test_the_batched_helpers_other_code_imports_still_score_the_same_way():
    from raner import Entity

    class BatchRec:
        def predict_batch(self, texts):
            return [[Entity(t[:2], "PER", 0, 2)] for t in texts]

    r = ev.evaluate(BatchRec(), SET_A)
    assert r["overall"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 4}
    su = ev.seen_unseen_recall(BatchRec(), SET_A, TRAIN)
    assert su["seen"] == {"entities": 1, "recall": 1.0} and su["unseen PER"] == {"entities": 1, "recall": 1.0}
    assert su["unseen"] == {"entities": 3, "recall": round(1 / 3, 4)}


def test_a_system_timing_itself_is_reported_with_its_own_numbers():
    fake, _ = fake_recognizer({})
    res = ev.evaluate_sets({"peer": fake}, {"b": SET_B}, timers={"peer": lambda: 7.5})
    assert res["b"]["peer"]["latency"]["median_ms"] == 7.5
    assert "seen_unseen" not in res["b"]["peer"]


def test_markdown_table_has_one_row_per_set_and_system_and_bolds_the_best():
    good, _ = fake_recognizer({s.text: [("PER", 0, 2)] for s in SET_A + SET_B})
    none, _ = fake_recognizer({})
    res = ev.evaluate_sets({"ours": good, "peer": none}, {"a": SET_A, "b": SET_B}, ev.known_entities(TRAIN))
    table = ev.markdown_table(res).splitlines()
    assert len(table) == 2 + 4
    n_cols = table[0].count("|")
    assert all(line.count("|") == n_cols for line in table)
    assert table[0].split("|")[1:4] == [" set ", " system ", " sentences "]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table[2:]]
    assert [r[:2] for r in rows] == [["a", "ours"], ["a", "peer"], ["b", "ours"], ["b", "peer"]]
    assert rows[0][6].startswith("**") and not rows[1][6].startswith("**")
    assert rows[1][6] == "0.000" and rows[0][3] == "4"


def test_cli_scores_several_sets_and_writes_markdown_and_json(tmp_path, monkeypatch, capsys):
    a = tmp_path / "a.txt"
    a.write_text("[马云|PER]在[杭州|LOC]演讲\n", encoding="utf-8")
    b = tmp_path / "b.txt"
    b.write_text("李\tB-PER\n四\tI-PER\n在\tO\n上\tB-LOC\n海\tI-LOC\n", encoding="utf-8")

    class FakeRec:
        variant, variants, name, threads = "v1", ("v1", "v2"), "fake", 1

        def __init__(self, v="v1"):
            self.variant = v

        def with_variant(self, v):
            return FakeRec(v)

        def predict(self, text):
            from raner import Entity

            return [Entity(text[:2], "PER", 0, 2)] if self.variant == "v1" else []

    monkeypatch.setattr(ev.raner, "load", lambda *a, **k: FakeRec())
    md, js = tmp_path / "t.md", tmp_path / "e.json"
    assert (
        ev.main(
            [
                "m",
                "--set",
                f"one={a}",
                "--set",
                f"two={b}",
                "--variant",
                "all",
                "--markdown",
                str(md),
                "--json",
                str(js),
            ]
        )
        == 0
    )
    report = json.loads(js.read_text(encoding="utf-8"))
    assert list(report["results"]) == ["one", "two"]
    assert report["results"]["two"]["v1"]["scores"]["PER"]["f1"] == 1.0
    assert report["results"]["one"]["v2"]["scores"]["overall"]["recall"] == 0.0
    assert "median_ms" in report["results"]["one"]["v1"]["latency"]
    text = md.read_text(encoding="utf-8")
    assert text.count("\n| one |") == 2 and text.count("\n| two |") == 2


# ---- the peer bridge ------------------------------------------------------------------------------


def test_lac_tokens_map_to_character_spans():
    notes = Counter()
    text = "2020年马云在杭州阿里巴巴总部"
    words = ["2020年", "马云", "在", "杭州", "阿里巴巴总部"]
    tags = ["TIME", "PER", "p", "LOC", "ORG"]
    assert peers.lac_spans(text, words, tags, notes) == [("PER", 5, 7), ("LOC", 8, 10), ("ORG", 10, 16)]
    peers.lac_spans("张三", ["张三"], ["nr"], notes)
    assert notes == {"lac tag nr (not mapped)": 1}


def test_bio_tokens_map_to_character_spans_and_stray_inside_tags_start_entities():
    notes = Counter()
    text = "马云在杭州阿里巴巴总部，比尔·盖茨"
    words = ["马云", "在", "杭州", "阿里巴巴", "总部", "，", "比尔", "·", "盖茨"]
    tags = ["B-PER", "O", "B-LOC", "I-ORG", "I-ORG", "O", "B-PER", "I-PER", "I-PER"]
    assert peers.bio_token_spans(text, words, tags, notes) == [
        ("PER", 0, 2),
        ("LOC", 3, 5),
        ("ORG", 5, 11),
        ("PER", 12, 17),
    ]
    assert notes == {"I-ORG not continuing an entity (started one)": 1}
    # characters as tokens, and a token the text does not hold is skipped, not misplaced
    assert peers.bio_token_spans("北京人", list("北京人"), ["B-LOC", "I-LOC", "O"]) == [("LOC", 0, 2)]
    assert peers.align("a b", ["a", "x", "b"]) == [(0, 1), None, (2, 3)]


def test_whitespace_is_trimmed_off_entity_edges_but_kept_inside():
    notes = Counter()
    got = peers.bio_token_spans(
        "@王小明 周末", ["@", "王", "小明", " ", "周末"], ["O", "B-PER", "I-PER", "I-PER", "O"], notes
    )
    assert got == [("PER", 1, 4)] and notes == {"whitespace trimmed off an entity's edge": 1}
    assert peers.bio_token_spans("Tim Cook说", ["Tim", " ", "Cook", "说"], ["B-PER", "I-PER", "I-PER", "O"]) == [
        ("PER", 0, 8)
    ]
    assert peers.lac_spans(" 北京 ", [" ", "北京 "], ["w", "LOC"]) == [("LOC", 1, 3)]
    assert peers.lac_spans("  ", ["  "], ["PER"]) == []


FAKE_WORKER = r"""
import json, sys
name = sys.argv[1]
if name == "broken":
    print(json.dumps({"error": "ModuleNotFoundError: No module named 'LAC'"}), flush=True)
    sys.exit(1)
if name == "crash":
    sys.stderr.write("Segmentation fault\n")
    sys.exit(139)
print("noise that a peer prints on stdout at import", file=sys.stderr)
print(json.dumps({"ready": True, "peer": name, "versions": {"fake": "1.0"}, "python": "3"}), flush=True)
for line in sys.stdin:
    text = json.loads(line)
    if text == "boom":
        print(json.dumps({"error": "ValueError: boom"}), flush=True)
        continue
    # every occurrence of 马云 is a person, tagged the LAC way (tokens and tags)
    words, tags, rest = [], [], text
    while rest:
        i = rest.find("马云")
        if i == 0:
            words.append("马云"); tags.append("PER"); rest = rest[2:]
        else:
            cut = len(rest) if i < 0 else i
            words.append(rest[:cut]); tags.append("n"); rest = rest[cut:]
    print(json.dumps({"words": words, "tags": tags, "ms": 1.25}, ensure_ascii=False), flush=True)
"""


@pytest.fixture
def fake_worker(tmp_path) -> Path:
    w = tmp_path / "fake_worker.py"
    w.write_text(FAKE_WORKER, encoding="utf-8")
    return w


def test_peer_subprocess_protocol_with_a_fake_worker(fake_worker):
    texts = ["马云在杭州", "今天下雨", "他说马云和马云"]
    with peers.Peer("lac", python=sys.executable, worker=fake_worker) as p:
        assert p.info["versions"] == {"fake": "1.0"} and p.version == "fake 1.0"
        assert p.predict("boom") == [] and p.errors == 1
        got = [p.predict(t) for t in texts]
        assert p.last_ms == 1.25
    assert got == [[("PER", 0, 2)], [], [("PER", 2, 4), ("PER", 5, 7)]]
    spans, ms = peers.run_peer("lac", texts, python=sys.executable, worker=fake_worker)
    assert spans == got and ms == [1.25] * 3


def test_peer_as_an_evaluated_system(fake_worker):
    with peers.Peer("lac", python=sys.executable, worker=fake_worker) as p:
        res = ev.evaluate_sets({"lac": p.predict}, {"a": SET_A}, timers={"lac": lambda: p.last_ms})
    r = res["a"]["lac"]
    assert r["scores"]["PER"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert r["latency"]["median_ms"] == 1.25


def test_missing_peer_python_is_one_line_and_skipped(tmp_path, fake_worker):
    lines = []
    got = peers.start_peers(["lac", "jiagu"], python=tmp_path / "no-venv" / "bin" / "python", log=lines.append)
    assert got == {} and len(lines) == 2
    assert lines[0].startswith("skipping peer lac: ") and "not found" in lines[0] and "\n" not in lines[0]
    lines.clear()
    got = peers.start_peers(["broken", "lac"], python=sys.executable, worker=fake_worker, log=lines.append)
    assert list(got) == ["lac"] and lines == [
        "skipping peer broken: unknown peer 'broken' (known: lac, jiagu, jiagu-chars)"
    ]
    for p in got.values():
        p.close()


def test_a_worker_that_fails_or_dies_gives_one_line(fake_worker, monkeypatch):
    monkeypatch.setitem(peers.MAPPERS, "broken", peers.lac_spans)
    monkeypatch.setitem(peers.MAPPERS, "crash", peers.lac_spans)
    with pytest.raises(peers.PeerUnavailable, match=r"^ModuleNotFoundError: No module named 'LAC'$"):
        peers.Peer("broken", python=sys.executable, worker=fake_worker)
    with pytest.raises(peers.PeerUnavailable, match=r"^worker exited \(139\): Segmentation fault$"):
        peers.Peer("crash", python=sys.executable, worker=fake_worker)


def test_cli_with_a_missing_peer_python_says_so_in_one_line_and_goes_on(tmp_path, monkeypatch, capsys):
    a = tmp_path / "a.txt"
    a.write_text("[马云|PER]在[杭州|LOC]演讲\n", encoding="utf-8")

    class FakeRec:
        variant, variants, name, threads = "v1", ("v1",), "fake", 1

        def predict(self, text):
            return []

    monkeypatch.setattr(ev.raner, "load", lambda *a, **k: FakeRec())
    monkeypatch.delenv("RANER_PEERS_PYTHON", raising=False)
    js = tmp_path / "e.json"
    assert (
        ev.main(["m", "--set", f"a={a}", "--peers", "lac", "--peers-python", str(tmp_path / "nope"), "--json", str(js)])
        == 0
    )
    err = capsys.readouterr().err
    skips = [line for line in err.splitlines() if "lac" in line]
    assert len(skips) == 1 and skips[0].startswith("skipping peer lac:") and "Traceback" not in err
    assert list(json.loads(js.read_text(encoding="utf-8"))["results"]["a"]) == ["v1"]


def test_peers_python_comes_from_the_flag_then_the_environment(monkeypatch):
    monkeypatch.setenv("RANER_PEERS_PYTHON", "/env/python")
    assert peers.peers_python() == Path("/env/python")
    assert peers.peers_python("/flag/python") == Path("/flag/python")
    monkeypatch.delenv("RANER_PEERS_PYTHON")
    assert peers.peers_python() == peers.DEFAULT_PEERS_PYTHON


def test_the_worker_imports_nothing_from_the_project():
    src = peers.WORKER.read_text(encoding="utf-8")
    assert "from compression" not in src and "import raner" not in src and "from ." not in src
