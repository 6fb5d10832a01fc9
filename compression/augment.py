"""Entity substitution: swap an entity for another of the same type so the model sees more names."""
from __future__ import annotations

import random
import string
from collections import defaultdict

from raner.spans import tags_to_spans

from .data import Sentence


def entity_pool(sentences: list[Sentence]) -> dict[str, list[str]]:
    """All entity strings of the training data, by type (with repeats, so sampling follows frequency)."""
    pool: dict[str, list[str]] = defaultdict(list)
    for s in sentences:
        for kind, a, b in tags_to_spans(s.tags):
            pool[kind].append(s.text[a:b])
    return dict(pool)


def add_lexicon_entities(pool: dict[str, list[str]], lexicon_file, kinds=("PER", "LOC", "ORG")) -> dict[str, list[str]]:
    """Add the typed words of a lexicon file (``word<TAB>CATS...``) to the pool, once each.

    Where LAC typed a word (LAC_ORG...), its type wins over jieba's, which mistypes many modern names."""
    out = {k: list(v) for k, v in pool.items()}
    with open(lexicon_file, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            cats = parts[1].split(",") if len(parts) > 1 else []
            lac = [c[4:] for c in cats if c.startswith("LAC_")]
            for kind in lac or cats:
                if kind in kinds:
                    out.setdefault(kind, []).append(parts[0])
    return out


def substitute(sentence: Sentence, pool: dict[str, list[str]], rng: random.Random, rate: float = 0.5) -> Sentence:
    """Replace each entity with probability ``rate`` by a random pool entity of its type."""
    text, tags, pos = [], [], 0
    for kind, a, b in tags_to_spans(sentence.tags):
        text.append(sentence.text[pos:a])
        tags.extend(sentence.tags[pos:a])
        new = rng.choice(pool[kind]) if rng.random() < rate and pool.get(kind) else sentence.text[a:b]
        text.append(new)
        tags.extend([f"B-{kind}"] + [f"I-{kind}"] * (len(new) - 1))
        pos = b
    text.append(sentence.text[pos:])
    tags.extend(sentence.tags[pos:])
    return Sentence("".join(text), tags)


FACILITIES = ("总部", "园区", "大楼", "工厂", "分公司", "门店", "办事处", "研发中心")


def place_org_facility(sentence: Sentence, pool: dict[str, list[str]], rng: random.Random,
                       orgs: list[str] | None = None, optional_parts: bool = False,
                       headquarters: float = 0.0) -> Sentence:
    """Rewrite one organisation as place + organisation + facility noun (杭州 + 某公司 + 总部), each tagged
    on its own: a city before a company and the building after it are not part of the company's name.

    ``orgs`` replaces the organisation pool (e.g. LAC's brand names); with ``optional_parts`` the place and the
    facility noun each come with probability 1/2, so a lone brand name is also seen as an organisation.
    ``headquarters`` is the share of facility nouns that are 总部, whose 部 ends many organisation names (外交部)."""
    orgs = orgs if orgs is not None else pool.get("ORG")
    spans = [(a, b) for kind, a, b in tags_to_spans(sentence.tags) if kind == "ORG"]
    if not spans or not pool.get("LOC") or not orgs:
        return sentence
    a, b = rng.choice(spans)
    place, org, facility = rng.choice(pool["LOC"]), rng.choice(orgs), rng.choice(FACILITIES)
    if headquarters and rng.random() < headquarters:
        facility = "总部"
    if optional_parts:
        place = place if rng.random() < 0.5 else ""
        facility = facility if rng.random() < 0.5 else ""
    text = sentence.text[:a] + place + org + facility + sentence.text[b:]
    tags = (sentence.tags[:a] + (["B-LOC"] + ["I-LOC"] * (len(place) - 1) if place else [])
            + ["B-ORG"] + ["I-ORG"] * (len(org) - 1) + ["O"] * len(facility) + sentence.tags[b:])
    return Sentence(text, tags)


def lexicon_brands(lexicon_file, category: str = "LAC_ORG") -> list[str]:
    """Words of a lexicon file (``word<TAB>CATS...``) in ``category``: LAC's organisation names (华为, 腾讯...)."""
    out = []
    with open(lexicon_file, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) > 1 and category in parts[1].split(","):
                out.append(parts[0])
    return out


def name_list(sentence: Sentence, pool: dict[str, list[str]], rng: random.Random,
              joiners: tuple[str, ...] = ("", "、")) -> Sentence:
    """Rewrite one person as a roster of 2-4 persons joined by a joiner drawn from ``joiners``.

    MSRA lists people with 、 or with nothing between them (its bylines and rosters lost their spaces:
    记者程世来孟晓阳), and a model that rarely sees the bare form reads unfamiliar run-together names as one long
    name."""
    spans = [(a, b) for kind, a, b in tags_to_spans(sentence.tags) if kind == "PER"]
    if not spans or not pool.get("PER"):
        return sentence
    a, b = rng.choice(spans)
    joiner = rng.choice(joiners)
    names = [sentence.text[a:b]] + [rng.choice(pool["PER"]) for _ in range(rng.randint(1, 3))]
    text, tags = [], []
    for i, name in enumerate(names):
        if i:
            text.append(joiner)
            tags.extend(["O"] * len(joiner))
        text.append(name)
        tags.extend(["B-PER"] + ["I-PER"] * (len(name) - 1))
    return Sentence(sentence.text[:a] + "".join(text) + sentence.text[b:], sentence.tags[:a] + tags + sentence.tags[b:])


# Made-up Latin-script names: syllables that read as English-like words without being any real name, so that a model
# learns the form (capitals, CamelCase, acronyms, "First Last") rather than a list.
_SYLLABLES = ("ka", "lo", "ver", "ne", "tri", "xa", "mo", "zen", "dra", "qu", "fi", "ro", "sa", "lin", "tor", "vi",
              "el", "an", "gu", "po", "ri", "ex", "on", "sta", "mi", "del", "ar", "bel", "cor", "nix", "ta", "hu")
_ORG_WORDS = ("AI", "Labs", "Tech", "Group", "Motors", "Capital", "Bank", "Games", "Media", "Robotics")


def latin_name(kind: str, rng: random.Random) -> str:
    """A made-up name in Latin letters of the given type: ``Veltora``, ``KaloTrix``, ``QXD``, ``Mirel Labs`` for an
    organisation; ``Danor Fiel`` for a person; ``Port Saven``-like places."""
    def word() -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    if kind == "PER":
        return word() if rng.random() < 0.2 else f"{word()} {word()}"
    if kind == "ORG":
        form = rng.random()
        if form < 0.2:
            return "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(2, 4)))
        if form < 0.45:
            return word() + word()
        if form < 0.65:
            return f"{word()} {rng.choice(_ORG_WORDS)}"
        return word()
    return word() if rng.random() < 0.6 else f"{rng.choice(('San', 'Port', 'New', 'Lake', 'Mount'))} {word()}"


def latin_entity(sentence: Sentence, rng: random.Random) -> Sentence:
    """Replace one entity by a made-up Latin-script name of its type (modern Chinese text writes foreign companies,
    people and places in Latin letters: OpenAI首席执行官Sam Altman), tagged as that type."""
    spans = tags_to_spans(sentence.tags)
    if not spans:
        return sentence
    kind, a, b = rng.choice(spans)
    name = latin_name(kind, rng)
    tags = [f"B-{kind}"] + [f"I-{kind}"] * (len(name) - 1)
    return Sentence(sentence.text[:a] + name + sentence.text[b:], sentence.tags[:a] + tags + sentence.tags[b:])


# Facility and branch nouns that docs/GUIDELINES.md keeps outside an organisation's name ("Facilities and branches").
BRANCH_NOUNS = ("总部", "总行", "分行", "支行", "分公司", "分店", "旗舰店", "门店", "基地", "园区", "工厂", "研发中心")


def split_facilities(sentence: Sentence, places: set[str], orgs: set[str],
                     nouns: tuple[str, ...] = ("总部",), place_after: bool = False) -> Sentence:
    """Relabel a known organisation + facility noun to the convention this project serves: the noun is not part
    of the name (欧盟总部 → 欧盟/ORG 总部), and a known place written before a known organisation (with
    ``place_after``, also after it) is a place of its own (纽约联合国总部 → 纽约/LOC 联合国/ORG 总部;
    中国银行山东省分行 → 中国银行/ORG 山东省/LOC 分行). MSRA and Resume keep all of it inside the organisation.
    Names whose rest is not a known organisation (解放军四总部) keep the corpus's reading."""
    tags = list(sentence.tags)
    for kind, a, b in tags_to_spans(sentence.tags):
        name = sentence.text[a:b]
        noun = next((f for f in sorted(nouns, key=len, reverse=True) if name.endswith(f) and len(name) > len(f)),
                    None)
        if kind != "ORG" or noun is None:
            continue
        rest = name[: -len(noun)]
        if rest in orgs:
            parts = [("ORG", rest)]
        else:
            parts = next(([("LOC", rest[:i]), ("ORG", rest[i:])] for i in range(2, len(rest) - 1)
                          if rest[:i] in places and rest[i:] in orgs), None)
            if place_after:
                parts = parts or next(([("ORG", rest[:i]), ("LOC", rest[i:])] for i in range(len(rest) - 2, 1, -1)
                                       if rest[:i] in orgs and rest[i:] in places), None)
        if parts is None:
            continue
        tags[a:b] = [t for k, part in parts for t in ["B-" + k] + ["I-" + k] * (len(part) - 1)] + ["O"] * len(noun)
    return sentence if tags == sentence.tags else Sentence(sentence.text, tags)
