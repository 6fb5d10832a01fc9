"""Organisation names from CC-CEDICT: its proper nouns whose first English sense says the word names a company,
brand, university, ministry, club or other body.

CC-CEDICT (MDBG, CC BY-SA 4.0) glosses many modern names a Chinese corpus of the 1990s lacks (英伟达 "NVIDIA",
拼多多 "Pinduoduo, social e-commerce company", 皇家马德里 "Real Madrid soccer team"). Only the first sense of an
entry counts, and an entry whose sense reads as a person (a life span, a role such as founder or politician) is out.
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
    r"|association|federation|organization|organisation|foundation|(political )?party|league"
    r"|(football|soccer|basketball|baseball|hockey|sports) (club|team)|club|team|hospital|think tank"
    r"|(central|state|national) bank|department store|studio|laboratory|(car|auto) company"
)
_ORG = re.compile(rf"\b({_ORG_NOUNS})\b", re.IGNORECASE)
# senses about a person, an event or a people, even when they name a body in passing ("founder of Baidu")
_NOT_ORG = re.compile(
    r"\(\d{3,4} ?[-–]|\(c\. ?\d|\bb\. ?\d|[-–] ?\d{3,4}\)|\b(founder|co-founder|ceo|chairman|president|politician"
    r"|leader|writer|novelist|poet|author|actor|actress|singer|player|coach|emperor|king|queen|prince|princess"
    r"|general|minister|scientist|philosopher|artist|painter|composer|director|journalist|entrepreneur|businessman"
    r"|surname|given name|dynasty|ethnic|tribe|people(?!'s)|war|battle|revolution|uprising|movement|incident|talks"
    r"|treaty|conference|summit|festival|holiday|era|period|reign|album|song|film|movie|novel|book|tv series"
    r"|game(?! (company|maker|developer))|character|deity|god|goddess|buddha|bodhisattva|disease|drug|product"
    r"|model|phone|car|vehicle|brand (name )?of"
    r"|aircraft|ship|satellite|rocket|prefecture|subdivision|reefs?"
    r"|university (city|town)|(super|premier|champions|ivy) league|plenum|award|cup|competition|policy|plan"
    r"|buddhism|insecticide)\b", re.IGNORECASE)
# a place's head before the organisation noun: "city in Xilingol League", "city (and soccer team) in Norway"
_PLACE = re.compile(r"\b(city|county|district|province|prefecture|town|township|village|island|river|lake|mountain"
                    r"|region|state|country|capital|banner|subdivision)\b", re.IGNORECASE)
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
    """A proper noun whose first sense names a body: its head noun is an organisation's, and nothing in it reads as
    a person, an event, a people or a product."""
    if not entry.proper_noun or not entry.senses:
        return False
    sense = re.sub(r"\(abbr\. for [^)]*\)", "", entry.senses[0])  # the expansion's own words are not this sense
    org, place = _ORG.search(sense), _PLACE.search(sense)
    return bool(org) and not _NOT_ORG.search(sense) and not (place and place.start() < org.start())


def organisation_names(lines: Iterable[str]) -> list[str]:
    """Simplified and traditional spellings of every organisation entry, in file order, each once; names of 2 to 12
    Han characters only (no Latin letters or punctuation: those entries are mostly abbreviations in Latin script)."""
    han = re.compile(r"^[\u3400-\u9fff]{2,12}$")
    names = []
    for entry in entries(lines):
        if is_organisation(entry):
            names += [n for n in (entry.simplified, entry.traditional) if han.match(n)]
    return list(dict.fromkeys(names))
