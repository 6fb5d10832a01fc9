"""Organisation names from CC-CEDICT: its proper nouns whose first English sense says the word names a company,
brand, university, ministry, club or other body.

CC-CEDICT (published by MDBG, CC BY-SA 4.0) glosses many modern names a Chinese corpus of the 1990s lacks (英伟达
"NVIDIA", 拼多多 "Pinduoduo, social e-commerce company", 皇家马德里 "Real Madrid soccer team"). Only the first sense
of an entry counts: it needs an organisation's head noun, and a word that reads as a person (a life span, a role), an
event, a people, a work, a product or an exam vetoes it, as does a place's head before it ("city in Xilingol
League").
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# "X company", "bank", "university"...: nouns that make the head of an organisation's gloss
_ORG_NOUNS = (
    r"company|companies|corporation|corp|inc|co\.?,? ltd|ltd|plc|conglomerate|firm|brand|manufacturer|maker"
    r"|carmaker|automaker|car make|airlines?|(?<!left )(?<!right )(?<!west )bank|retailer"
    r"|(restaurant|supermarket|store|hotel|retail|coffee|fast food) chain"
    r"|e-commerce company|stock exchange|exchange market|news agency|newspaper|daily"
    r"|magazine|broadcaster|broadcasting|(tv|television|radio) (station|network|channel)|publisher|publishing house"
    r"|university|college|polytechnic|institute|academy|school|ministry|bureau|commission|agency|council|committee"
    r"|(?-i:Office)|association|federation|organization|organisation|foundation|(political )?party|league"
    r"|(football|soccer|basketball|baseball|hockey|sports) (club|team)|club|team|hospital|think tank"
    r"|(central|state|national) bank|department store|studio|laboratory|(car|auto) company"
)
_ORG = re.compile(rf"\b({_ORG_NOUNS})\b", re.IGNORECASE)
_MAKER = r"(?! (company|companies|maker|manufacturer|studios?|corporation|firm|brand|make))"  # "film studio" stays
# senses about a person, an event, a people, a work or a product, even when they name a body in passing
# ("founder of Baidu", "bureau chief of Newsweek", "epic about the foundation of Rome")
_NOT_ORG = re.compile(
    r"^members? of|, inner mongolia|\(\d{3,4} ?[-–]|\(c\. ?\d|\bb\. ?\d|[-–] ?\d{3,4}\)"
    r"|\b(founder|co-founder|ceo|chairman|president|politician"
    r"|leader|writer|novelist|poet|author|actor|actress|singer|player|coach|emperor|king|queen|prince|princess"
    r"|minister|scientist|philosopher|artist|painter|composer|director|journalist|entrepreneur|businessman"
    r"|professor|chief|spokes(man|person|woman)|correspondent|reporter|editor"
    r"|surname|given name|dynasty|ethnic|tribe|people(?!'s)|war|battle|revolution|uprising|movement|incident|talks"
    r"|treaty|conference|summit|festival|holiday|era|period|reign|album|song|movie|novel|book|epic|poem"
    r"|tv series|character|deity|god|goddess|buddha|bodhisattva|disease|product|model|phone|brand (name )?of"
    rf"|film{_MAKER}|drug{_MAKER}|car{_MAKER}|vehicle{_MAKER}|game{_MAKER}"
    r"|aircraft|ship|satellite|rocket|prefecture|subdivision|reefs?|home of|(?-i:system|index)"
    r"|university (city|town)|(super|premier|champions|ivy) league|plenum|award|cup|competition|policy|plan"
    r"|exam|examination|test|play|opera|drug brand|buddhism|insecticide)\b", re.IGNORECASE)
# a place's head before the organisation noun: "Erenhot City in Xilingol League", "capital of Alxa League" (a head
# followed by in / of / a comma / a bracket; "Manchester City football team" and "State Council" are not places)
_PLACE = re.compile(r"\b(city|county|district|province|prefecture|town|township|village|island|river|lake|mountain"
                    r"|region|state|country|capital|banner|subdivision)(?= (in|of)\b|,| \()", re.IGNORECASE)
_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")


@dataclass(frozen=True)
class Entry:
    """One dictionary line: traditional and simplified spellings, pinyin, senses."""

    traditional: str
    simplified: str
    pinyin: str
    senses: tuple[str, ...]

    @property
    def proper_noun(self) -> bool:
        """CC-CEDICT capitalises the pinyin of names."""
        return self.pinyin[:1].isupper()


def entries(lines: Iterable[str]) -> Iterator[Entry]:
    """The entries among CC-CEDICT's lines (``cedict_1_0_ts_utf-8_mdbg.txt``); comments and malformed lines skipped."""
    for line in lines:
        m = _LINE.match(line)
        if m and not line.startswith("#"):
            yield Entry(m[1], m[2], m[3], tuple(m[4].split("/")))


def is_organisation(entry: Entry) -> bool:
    """A proper noun whose first sense names a body: it has an organisation's head noun, no veto word, and no place's
    head before that noun."""
    if not entry.proper_noun or not entry.senses:
        return False
    sense = re.sub(r"\(abbr\. for [^)]*\)", "", entry.senses[0])  # a bracketed expansion's words are not this sense
    org, place = _ORG.search(sense), _PLACE.search(sense)
    return bool(org) and not _NOT_ORG.search(sense) and not (place and place.start() < org.start())


def organisation_names(lines: Iterable[str]) -> list[str]:
    """Simplified and traditional spellings of every organisation entry, in file order, each once; names of 2 to 8
    Han characters only (a lexicon's longest word; no Latin letters or punctuation: mostly abbreviations)."""
    han = re.compile(r"^[\u3400-\u9fff]{2,8}$")
    names = []
    for entry in entries(lines):
        if is_organisation(entry):
            names += [n for n in (entry.simplified, entry.traditional) if han.match(n)]
    return list(dict.fromkeys(names))
