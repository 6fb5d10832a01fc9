"""The training corpora in ../shared/data (MSRA, Weibo, Resume, CLUENER) read into ``Sentence``s already mapped onto
this project's entity guideline (names only; PER/LOC/ORG), with a count of what each mapping rule changed.

Each corpus has its own label set and conventions (see each folder's README.md); the mapping decisions are written
next to the rule that applies them. Held-out splits that are reserved (MSRA test, the Weibo and Resume tests, the
CLUENER dev split) are never read here.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from raner.normalize import normalize
from raner.spans import spans_to_tags, tags_to_spans

from .data import Sentence

DEFAULT_CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CORPORA = ("msra", "weibo", "resume", "cluener")
CLUENER_DEV_SIZE = 1000
CLUENER_DEV_SEED = 15

Span = tuple[str, int, int]  # (type, start, end exclusive), as raner.spans

# --- mapping statistics --------------------------------------------------------------------------------------------


@dataclass
class MappingStats:
    """What reading one corpus did: sentences and entities kept per split, and how often each rule fired."""

    corpus: str
    sentences: Counter = field(default_factory=Counter)  # split -> sentences kept
    entities: dict[str, Counter] = field(default_factory=dict)  # split -> type -> entities kept
    rules: dict[str, Counter] = field(default_factory=dict)  # split -> rule -> times it changed something

    def note(self, split: str, rule: str, n: int = 1) -> None:
        if n:
            self.rules.setdefault(split, Counter())[rule] += n

    def keep(self, split: str, sentence: Sentence) -> None:
        self.sentences[split] += 1
        kinds = self.entities.setdefault(split, Counter())
        for kind, _, _ in tags_to_spans(sentence.tags):
            kinds[kind] += 1

    def to_dict(self) -> dict:
        splits = sorted(set(self.sentences) | set(self.rules))
        return {
            s: {
                "sentences": self.sentences[s],
                "entities": dict(sorted(self.entities.get(s, Counter()).items())),
                "rules": dict(sorted(self.rules.get(s, Counter()).items())),
            }
            for s in splits
        }


@dataclass
class Corpus:
    """One corpus mapped onto the guideline: its training and selection (dev) sentences and the mapping counts."""

    name: str
    train: list[Sentence]
    dev: list[Sentence]
    stats: MappingStats


# --- rules shared by the corpora -----------------------------------------------------------------------------------

# Surnames, for "surname + 先生/女士/某..." (one PER with the word) and "老X/小X": a 1-2 character PER span that is not
# a surname (a given name such as 溥杰 in 溥杰先生) is a full name, and the title stays outside.
SURNAMES = set(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗凤"
    "花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康伍余元卜顾孟平黄和穆萧尹姚邵湛汪祁毛禹狄"
    "米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万"
    "支柯昝管卢莫经房裘缪干解应宗丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封芮羿储靳汲邴糜松"
    "井段富巫乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄印宿白怀蒲邰"
    "从鄂索咸籍赖卓蔺屠蒙池乔阴胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍璩桑桂濮牛寿通边扈燕冀郏浦尚农温别庄晏柴瞿"
    "阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘匡国文寇广禄阙东欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚"
    "那简饶空曾毋沙乜养鞠须丰巢关蒯相查后荆红游竺权逯盖益桓公初辜覃岳帅亢况牟佘佟付代肖晋粟揭涂兰银卿冼修练鲜门"
)
COMPOUND_SURNAMES = {
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
    "轩辕",
    "令狐",
    "端木",
    "独孤",
    "南宫",
    "西门",
    "百里",
    "呼延",
    "澹台",
    "公冶",
    "太史",
    "申屠",
    "闻人",
    "赫连",
    "钟离",
    "濮阳",
    "淳于",
    "拓跋",
    "完颜",
    "司空",
    "万俟",
}
TITLE_WORDS = ("女士", "先生", "小姐", "老师", "某某", "某", "总")  # longest first
# 总 is the title only when it does not start a longer one (江 + 总书记 is a surname before a title: MSRA's reading).
ZONG_TITLES = (
    "总书记",
    "总理",
    "总统",
    "总经理",
    "总裁",
    "总监",
    "总编",
    "总工",
    "总督",
    "总司令",
    "总参谋",
    "总指挥",
    "总干事",
    "总会计",
    "总代表",
    "总领事",
    "总领队",
    "总教练",
    "总设计",
    "总顾问",
    "总导演",
    "总策划",
    "总务",
    "总队",
    "总局",
    "总部",
    "总统府",
)

# Nominal mentions tagged as entities by Resume and CLUENER: the whole span is a common noun (with at most a
# determiner or an administrative level before it), not a name.
GENERIC_HEADS = {
    "公司",
    "集团",
    "股份公司",
    "母公司",
    "子公司",
    "分公司",
    "总公司",
    "控股公司",
    "集团公司",
    "销售公司",
    "设备公司",
    "分厂",
    "学院",
    "商学院",
    "管理学院",
    "大学",
    "医院",
    "学校",
    "政府",
    "地方政府",
    "中央政府",
    "法院",
    "警方",
    "公安",
    "公安机关",
    "检察机关",
    "派出所",
    "部队",
    "军队",
    "军方",
    "海军",
    "空军",
    "陆军",
    "海军陆战队",
    "舰队",
    "海关",
    "邮局",
    "警署",
    "警局",
    "监管部门",
    "住房保障部门",
    "住保部门",
    "部委",
    "中央",
    "中央财政",
    "教育局",
    "统计局",
    "卫生局",
    "房管局",
    "国土资源局",
    "教委",
    "住建委",
    "街道办",
    "博物馆",
    "美术馆",
    "画廊",
    "公园",
    "古镇",
    "石窟",
    "古堡",
    "皇宫",
    "博彩公司",
    "商业银行",
    "外资行",
    "农村信用社",
    "农村商业银行",
    "券商",
    "联赛",
    "杯赛",
    "德比",
    "东部",
    "西部",
    "南部",
    "北部",
    "中部",
    "地区",
    "当地",
    "本地",
    "市区",
    "城区",
    "郊区",
    "中心",
    "单位",
    "原单位",
}
GENERIC_DETERMINERS = set("本该我贵原其市省县区")
GENERIC_WITH_DETERMINER = {"行", "厂", "院", "校", "所"}  # 本行, 该行: only with a determiner


def is_generic(name: str) -> bool:
    """True for a nominal mention (公司, 本公司, 该行, 市政府, 博物馆) rather than a name."""
    if name in GENERIC_HEADS:
        return True
    return (
        len(name) > 1
        and name[0] in GENERIC_DETERMINERS
        and (name[1:] in GENERIC_HEADS or name[1:] in GENERIC_WITH_DETERMINER)
    )


def is_surname(name: str) -> bool:
    return (len(name) == 1 and name in SURNAMES) or name in COMPOUND_SURNAMES


def covered(n: int, spans: list[Span]) -> list[bool]:
    """For each of a text's ``n`` characters, whether a span covers it."""
    taken = [False] * n
    for _, a, b in spans:
        taken[a:b] = [True] * (b - a)
    return taken


def extend_surname_titles(text: str, spans: list[Span]) -> tuple[list[Span], int, int]:
    """Guideline: surname + 某/女士/先生/小姐/老师/总 and 老X/小X are one PER including that word.

    Returns the new spans, how many were extended over a following title word and how many over a 老/小 before them.
    """
    taken = covered(len(text), spans)
    out, after, before = [], 0, 0
    for kind, a, b in spans:
        if kind == "PER" and is_surname(text[a:b]):
            lone = b - a == 1
            word = next((w for w in TITLE_WORDS if text.startswith(w, b) and not any(taken[b : b + len(w)])), None)
            if word == "总" and any(text.startswith(t, b) for t in ZONG_TITLES):
                word = None
            if word:
                taken[b : b + len(word)] = [True] * len(word)
                b += len(word)
                after += 1
            if lone and a > 0 and text[a - 1] in "老小" and not taken[a - 1]:
                taken[a - 1] = True
                a -= 1
                before += 1
        out.append((kind, a, b))
    return out, after, before


# Common surnames that are seldom a function word or part of one (于, 和, 向, 方, 万, 高 left out), for the untagged
# surname + address word below; the corpora leave many (黄先生, 薛女士, 王某) as plain text.
BARE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆"
    "汪范金廖贾夏韦邹孟熊秦邱尹薛闫段雷侯史陶黎贺顾毛郝龚邵钱严覃戴莫孔汤"
)
BARE_TITLES = ("女士", "先生", "小姐", "某某", "某")
NOT_AFTER_MOU = frozenset("些种个位一项地年月日天处人国省市县")  # 某 as "some" (某些, 某种, 某地) is no title
WORDS_ENDING_IN_SURNAME = frozenset(
    "主任 责任 上周 本周 下周 历史 黄金 现金 资金 基金 美金 欧元 工程 章程 过程".split()
)


def tag_bare_surname_titles(text: str, spans: list[Span]) -> tuple[list[Span], int]:
    """Guideline: surname + 女士/先生/小姐/某 is one PER (张某, 李女士); tag it where the corpus left all of it as
    plain text. Only common surnames not after another surname-like character of a name (the 孙 in 孙晶孙女士 is
    one), and 某 only as a title (not 某些, 某地)."""
    taken = covered(len(text), spans)
    out, n = list(spans), 0
    for i, ch in enumerate(text[:-1]):
        word = next((w for w in BARE_TITLES if text.startswith(w, i + 1)), None) if ch in BARE_SURNAMES else None
        if not word or taken[i]:
            continue
        end = i + 1 + len(word)
        if any(taken[i + 1 : end]) or (i > 0 and text[i - 1] in BARE_SURNAMES and not taken[i - 1]):
            continue
        if text[max(i - 1, 0) : i + 1] in WORDS_ENDING_IN_SURNAME:
            continue
        if word.startswith("某") and end < len(text) and text[end] in NOT_AFTER_MOU:
            continue
        taken[i:end] = [True] * (end - i)
        out.append(("PER", i, end))
        n += 1
    return sorted(out, key=lambda s: s[1]), n


def drop_single_char_places(spans: list[Span]) -> tuple[list[Span], int]:
    """Guideline: one character standing for a place inside a word (中 in 中美, 华 in 访华, 京 in 抵京) is
    not an entity.

    Every 1-character LOC span goes: in MSRA train all 5,170 are such abbreviations (中 922, 美 653, 华 398, 日 341, 京
    245, ...; a sample of 60 held no full place name), so no single-character LOC is kept."""
    kept = [s for s in spans if not (s[0] == "LOC" and s[2] - s[1] == 1)]
    return kept, len(spans) - len(kept)


# Guideline: celestial bodies are not places. In the mapped training set 太阳 was a LOC 60 times of 142, 地球 86 of
# 127, 火星 37 of 49, 月球 25 of 28 (MSRA mostly), so the models tagged "今天的太阳好大" with a place.
CELESTIAL_BODIES = frozenset(
    "太阳 月亮 月球 地球 火星 金星 木星 水星 土星 天王星 海王星 冥王星 银河 银河系 太阳系 北极星".split()
)


def drop_celestial_bodies(text: str, spans: list[Span]) -> tuple[list[Span], int]:
    """Guideline: a LOC span that is only a celestial body's name (太阳, 地球, 火星) is not an entity; a longer name
    holding one (火星路, 太阳岛) stays a place."""
    kept = [s for s in spans if not (s[0] == "LOC" and text[s[1] : s[2]] in CELESTIAL_BODIES)]
    return kept, len(spans) - len(kept)


# Guideline: competitions and leagues are events, not organisations. The corpora tag the leagues ORG (英超 57 times in
# the mapped training set, 意甲 51, 联盟杯 48, 欧冠 37): their governing bodies (国际足联, 亚足联) stay ORG.
COMPETITIONS = frozenset(
    "英超 英冠 英甲 意甲 意乙 西甲 西乙 德甲 德乙 法甲 法乙 荷甲 葡超 俄超 苏超 土超 中超 中甲 中乙 "
    "日职联 韩K联 美职联 澳超 欧冠 欧联 欧联杯 亚冠 联盟杯 联赛杯 足总杯 国王杯 意大利杯 "
    "世界杯 欧洲杯 美洲杯 亚洲杯 冠军联赛 欧洲冠军联赛 奥运会 冬奥会 亚运会 全运会 "
    "澳网 法网 温网 美网 NBA CBA WNBA NFL MLB NHL F1".split()
)


def drop_competitions(text: str, spans: list[Span]) -> tuple[list[Span], int]:
    """Guideline: an ORG span that is only a competition or league (英超, 欧冠, 英超联赛) is no entity."""
    kept = [s for s in spans if not (s[0] == "ORG" and text[s[1] : s[2]].removesuffix("联赛") in COMPETITIONS)]
    return kept, len(spans) - len(kept)


# Guideline ("Facilities and branches"): 景区 / 风景区 after a place stay outside it (黄山风景区 -> 黄山).
SCENIC_AREAS = ("风景名胜区", "风景区", "景区")


def trim_scenic_areas(text: str, spans: list[Span]) -> tuple[list[Span], int]:
    """Guideline: a LOC written as place + 景区 / 风景区 ends at the place (MSRA and CLUENER keep the noun inside);
    the noun alone is no place."""
    out, n = [], 0
    for kind, a, b in spans:
        word = next((w for w in SCENIC_AREAS if kind == "LOC" and text[a:b].endswith(w)), None)
        if word and b - a - len(word) >= 2:
            b -= len(word)
            n += 1
        if not (kind == "LOC" and text[a:b] in SCENIC_AREAS):
            out.append((kind, a, b))
    return out, n


SUBUNITS = ("股东大会", "董事会", "监事会", "工会", "党委")
ORG_ENDINGS = tuple("司团学院局部厅委会所行厂社台报校队处站馆矿场署办")


def trim_subunits(text: str, spans: list[Span]) -> tuple[list[Span], int]:
    """Guideline: a generic sub-unit body (董事会, 监事会, 工会, 党委, 股东大会) is outside the ORG it belongs to.

    Only when what is left is itself an organisation's name (…公司|党委, 南开大学|党委): 全国总工会 and 警察工会 are
    unions, and a place's committee (薛埠镇党委) keeps MSRA's reading."""
    out, n = [], 0
    for kind, a, b in spans:
        name = text[a:b]
        word = next((w for w in SUBUNITS if kind == "ORG" and name.endswith(w)), None)
        rest = name[: -len(word)] if word else ""
        if (
            word
            and len(rest) >= 2
            and rest.endswith(ORG_ENDINGS)
            and not rest.endswith("执行")
            and not is_generic(rest)
        ):
            b -= len(word)
            n += 1
        out.append((kind, a, b))
    return out, n


def apply_shared_rules(text: str, spans: list[Span], stats: MappingStats, split: str) -> list[Span]:
    """The rules every corpus gets: single-character places, celestial bodies and competitions dropped, sub-units
    and scenic-area nouns trimmed, surname + title joined (and tagged where left untagged)."""
    spans, n = drop_single_char_places(spans)
    stats.note(split, "single_char_loc_dropped", n)
    spans, n = drop_celestial_bodies(text, spans)
    stats.note(split, "celestial_body_loc_dropped", n)
    spans, n = drop_competitions(text, spans)
    stats.note(split, "competition_org_dropped", n)
    spans, n = trim_subunits(text, spans)
    stats.note(split, "org_subunit_trimmed", n)
    spans, n = trim_scenic_areas(text, spans)
    stats.note(split, "scenic_area_trimmed", n)
    spans, after, before = extend_surname_titles(text, spans)
    stats.note(split, "surname_title_joined", after)
    stats.note(split, "lao_xiao_surname_joined", before)
    spans, n = tag_bare_surname_titles(text, spans)
    stats.note(split, "bare_surname_title_tagged", n)
    return spans


def ill_formed(tags: list[str], spans: list[Span]) -> int:
    """Entity starts (B-/S-, or an I- that does not continue its type) that the strict span reading dropped."""
    starts = sum(
        t[:2] in ("B-", "S-") or (t[:2] in ("I-", "M-", "E-") and (i == 0 or tags[i - 1][2:] != t[2:]))
        for i, t in enumerate(tags)
    )
    return starts - len(spans)


def sentence_of(text: str, spans: list[Span]) -> Sentence:
    return Sentence(text, spans_to_tags(sorted(spans, key=lambda s: s[1]), len(text)))


# --- places and addresses ------------------------------------------------------------------------------------------

# Names that start a longer place (广西南宁, 中国上海, 浙江省绍兴县): provincial-level units, countries, large cities.
PROVINCES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 "
    "贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
).split()
COUNTRIES = (
    "中国 美国 英国 法国 德国 日本 韩国 朝鲜 俄罗斯 意大利 西班牙 葡萄牙 荷兰 比利时 瑞士 瑞典 挪威 丹麦 芬兰 波兰 "
    "奥地利 希腊 土耳其 印度 巴基斯坦 泰国 越南 新加坡 马来西亚 印度尼西亚 印尼 菲律宾 澳大利亚 澳洲 新西兰 加拿大 "
    "墨西哥 巴西 阿根廷 智利 埃及 南非 以色列 伊朗 伊拉克 沙特 乌克兰 爱尔兰 苏格兰 柬埔寨 缅甸 老挝 蒙古 肯尼亚 "
    "欧洲 亚洲 非洲 美洲 北美 南美 东南亚 中东"
).split()
CITIES = (
    "广州 深圳 杭州 南京 武汉 成都 西安 沈阳 大连 青岛 厦门 苏州 宁波 长沙 郑州 济南 哈尔滨 长春 昆明 南宁 福州 合肥 "
    "南昌 贵阳 兰州 太原 石家庄 呼和浩特 乌鲁木齐 拉萨 银川 西宁 海口 三亚 无锡 温州 纽约 伦敦 巴黎 东京 洛杉矶 首尔 "
    "莫斯科"
).split()
PREFIX_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市", "")
PREFIX_SET = {p + s for p in PROVINCES + CITIES for s in PREFIX_SUFFIXES} | set(COUNTRIES)
PREFIX_PLACES = sorted(PREFIX_SET, key=len, reverse=True)
ADMIN_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "街道",
    "大道",
    "大街",
    "胡同",
    "省",
    "市",
    "区",
    "县",
    "镇",
    "乡",
    "村",
    "路",
    "街",
    "巷",
    "弄",
    "旗",
)
LANDMARK_SUFFIXES = (
    "广场",
    "大厦",
    "中心",
    "公园",
    "小区",
    "花园",
    "大楼",
    "机场",
    "车站",
    "站",
    "港",
    "湾",
    "岛",
    "山",
    "湖",
    "河",
    "江",
    "海",
    "桥",
    "城",
    "寺",
    "宫",
    "塔",
    "园",
    "苑",
    "庄",
    "门",
    "球场",
    "体育场",
    "新址",
)
# Parts of an address that are not names: numbers (17号, 3楼, 1901室), facility and office nouns, vague extents.
NUMBER = re.compile(
    r"[之第]?[0-9０-９一二三四五六七八九十百零〇两A-Za-zＡ-Ｚａ-ｚ-]*[0-9０-９一二三四五六七八九十百零〇两]+"
    r"[号楼层室座栋幢单元期弄院门]*"
)
NUMBERED = re.compile(r"[0-9０-９]|[一二三四五六七八九十百两]+[号楼层室座栋幢]")
AREA_WORDS = (
    "地区",
    "赛区",
    "市区",
    "城区",
    "郊区",
    "附近",
    "一带",
    "周边",
    "境内",
    "以东",
    "以西",
    "以南",
    "以北",
    "东部",
    "西部",
    "南部",
    "北部",
    "中部",
    "西南部",
    "东南部",
    "西北部",
    "东北部",
    "市中心",
    "南侧",
    "北侧",
    "东侧",
    "西侧",
    "对面",
)  # MSRA: 华北|地区 (地区 outside)
AREA_WORDS = tuple(sorted(AREA_WORDS, key=len, reverse=True))
NON_NAME_WORDS = AREA_WORDS + (
    "营业部",
    "分行",
    "支行",
    "总部",
    "分店",
    "门店",
    "营业厅",
    "办事处",
    "办公室",
    "报告厅",
    "首都",
    "楼",
    "层",
    "室",
    "号",
    "店",
)
# Facility nouns that are no name on their own: 洛杉矶会议中心 stays whole rather than 洛杉矶 + 会议中心.
GENERIC_LANDMARKS = {
    "会议中心",
    "展览中心",
    "会展中心",
    "体育馆",
    "体育场",
    "火车站",
    "地铁站",
    "汽车站",
    "机场",
    "博物馆",
    "美术馆",
    "大剧院",
    "电影院",
    "步行街",
    "广场",
    "公园",
}
# A name never starts with the word that makes the place before it part of an organisation (北京|大学 is 北京大学).
ORG_HEADS = ("大学", "学院", "中学", "小学", "银行", "公司", "集团", "医院", "饭店", "电视台", "日报")
PUNCT = set("、，,（）()·•“”\"'《》：:；; /-…—")
NAME_CHAR = re.compile(r"[\u4e00-\u9fffA-Za-z·•]")
NO_NAME_START = tuple(ADMIN_SUFFIXES) + ORG_HEADS + ("的", "至", "与", "和", "及", "在", "道", "位于", "·", "•")


def _is_name_piece(piece: str, longest: int = 10) -> bool:
    return (
        2 <= len(piece) <= longest
        and all(NAME_CHAR.match(c) for c in piece)
        and piece[-1] not in "·•"
        and "的" not in piece
        and "位于" not in piece
        and not piece.endswith(AREA_WORDS)
    )


def _tail_is_not_name(text: str) -> list[bool]:
    """At j: text[j:] is only numbers, punctuation and facility nouns (or nothing)."""
    n = len(text)
    ok = [False] * (n + 1)
    ok[n] = True
    for i in range(n - 1, -1, -1):
        m = NUMBER.match(text, i)
        ok[i] = (
            (text[i] in PUNCT and ok[i + 1])
            or (bool(m) and m.end() > i and ok[m.end()])
            or any(text.startswith(w, i) and ok[i + len(w)] for w in NON_NAME_WORDS)
        )
    return ok


def split_place(text: str) -> list[tuple[int, int]] | None:
    """Split an address into its named places, numbers and facility nouns left outside (北京市丰台区 -> 北京市, 丰台区;
    广州市寺右新马路4号长城大厦3楼 -> 广州市, 寺右新马路, 长城大厦); None when some part is not understood.

    Pieces: a known province/country/city (+省/市), a name ending in an administrative suffix (…区, …路), a last
    name ending in a landmark noun (…广场, …大厦), a bare last name after a known place (广西|南宁), numbers,
    punctuation and facility nouns. Of all full readings the one with most (and best-supported) names wins.
    """
    n = len(text)
    tail_ok = _tail_is_not_name(text)
    best: list[tuple[float, int, list] | None] = [None] * (n + 1)  # at i: (score, -pieces, names) of text[:i]
    best[0] = (0.0, 0, [])
    for i in range(n):
        if best[i] is None:
            continue
        score, neg, names = best[i]
        cands: list[tuple[int, float, bool]] = []  # (end, score, is a name)
        for p in PREFIX_PLACES:
            if text.startswith(p, i):
                cands.append((i + len(p), 2.0, True))
        if i == 0 or not text.startswith(NO_NAME_START, i):
            for j in range(i + 2, min(n, i + 10) + 1):
                piece = text[i:j]
                if not _is_name_piece(piece) or piece in GENERIC_LANDMARKS:
                    continue
                if piece.endswith(ADMIN_SUFFIXES) and piece not in ADMIN_SUFFIXES:
                    cands.append((j, 1.0, True))
                elif piece.endswith(LANDMARK_SUFFIXES) and piece not in LANDMARK_SUFFIXES and tail_ok[j]:
                    cands.append((j, 1.0, True))
            after_place = names and names[-1][1] == i and text[names[-1][0] : i] in PREFIX_SET
            rest = text[i:]
            if (
                after_place
                and len(rest) <= 6
                and _is_name_piece(rest)
                and rest not in GENERIC_LANDMARKS
                and not rest.startswith(NON_NAME_WORDS)
            ):
                cands.append((n, 1.0, True))  # a bare name after a known place, at the end: 广西|南宁, 浙江|宁波
        m = NUMBER.match(text, i)
        if m and m.end() > i:
            cands.append((m.end(), 0.0, False))
        for w in NON_NAME_WORDS:
            if text.startswith(w, i):
                cands.append((i + len(w), 0.0, False))
        if text[i] in PUNCT:
            cands.append((i + 1, 0.0, False))
        for end, gain, is_name in cands:
            new = (score + gain, neg - 1, names + [(i, end)] if is_name else names)
            if best[end] is None or new[:2] > best[end][:2]:
                best[end] = new
    if best[n] is None or not best[n][2]:
        return None
    return best[n][2]


def one_place(text: str) -> bool:
    """An address short and plain enough to be one place name (索维拉, Oahu岛, 龙湖·花墅香醍) when it cannot
    be split."""
    longest = 24 if text.isascii() else 12
    levels = any(0 < text.find(s, 1, len(text) - 1) for s in ADMIN_SUFFIXES)  # 房山区长阳镇… is several places
    return (
        _is_name_piece(text, longest)
        and not levels
        and not NUMBERED.search(text)
        and not text.startswith(NON_NAME_WORDS)
    )


# --- readers -------------------------------------------------------------------------------------------------------


def read_columns(path: str | Path, sep: str) -> list[tuple[list[str], list[str]]]:
    """Token and tag columns of a CoNLL-like file (``token<sep>tag``, blank line between sentences)."""
    out, toks, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                if toks:
                    out.append((toks, tags))
                toks, tags = [], []
                continue
            tok, found, tag = line.rpartition(sep)
            if not found or not tok:
                raise ValueError(f"{path}:{lineno}: expected 'token{sep!r}tag', got {line!r}")
            toks.append(tok)
            tags.append(tag.strip())
    if toks:
        out.append((toks, tags))
    return out


def read_msra(root: str | Path = DEFAULT_CORPORA) -> Corpus:
    """MSRA train and dev (never test): BIO over PER/LOC/ORG already; single-character places dropped, surname +
    title joined."""
    splits, stats = msra_splits(root, ("train", "dev"))
    return Corpus("msra", splits["train"], splits["dev"], stats)


def read_msra_test(root: str | Path = DEFAULT_CORPORA) -> list[Sentence]:
    """MSRA's reserved test split mapped as train and dev are: read only to report a shipped model, once."""
    return msra_splits(root, ("test",))[0]["test"]


def msra_splits(root: str | Path, names: tuple[str, ...]) -> tuple[dict[str, list[Sentence]], MappingStats]:
    """The named MSRA splits mapped onto the guideline, with the mapping counts."""
    stats = MappingStats("msra")
    splits = {}
    for split in names:
        out = []
        for toks, tags in read_columns(Path(root) / "msra" / f"{split}.txt", "\t"):
            text = "".join(toks)
            raw = tags_to_spans(tags)
            stats.note(split, "ill_formed_dropped", ill_formed(tags, raw))
            spans = apply_shared_rules(text, raw, stats, split)
            s = sentence_of(text, spans)
            stats.keep(split, s)
            out.append(s)
        splits[split] = out
    return splits, stats


WEIBO_TYPES = {"PER.NAM": "PER", "ORG.NAM": "ORG", "LOC.NAM": "LOC", "GPE.NAM": "LOC"}


def weibo_char(token: str) -> tuple[str, bool]:
    """``char<digit(s)>`` -> char; the second value says the token was odd (two U+FFFD for one lost emoji)."""
    if len(token) >= 2 and token[1:].isdigit():
        return token[0], False
    stripped = token.rstrip("0123456789")
    return (stripped or token)[0], True


def read_weibo(root: str | Path = DEFAULT_CORPORA) -> Corpus:
    """Weibo train and dev: digits after each character stripped; names (*.NAM) kept with GPE -> LOC; nominal
    mentions (*.NOM: 小编, 医院) dropped."""
    stats = MappingStats("weibo")
    splits = {}
    for split in ("train", "dev"):
        out = []
        for toks, tags in read_columns(Path(root) / "weibo" / f"{split}.txt", "\t"):
            chars = [weibo_char(t) for t in toks]
            stats.note(split, "odd_token_cut_to_one_char", sum(odd for _, odd in chars))
            text = "".join(c for c, _ in chars)
            spans = []
            raw = tags_to_spans(tags)
            stats.note(split, "ill_formed_dropped", ill_formed(tags, raw))
            for kind, a, b in raw:
                if kind.endswith(".NOM"):
                    stats.note(split, "nominal_dropped")
                    continue
                if kind == "GPE.NAM":
                    stats.note(split, "gpe_to_loc")
                spans.append((WEIBO_TYPES[kind], a, b))
            spans = apply_shared_rules(text, spans, stats, split)
            s = sentence_of(text, spans)
            stats.keep(split, s)
            out.append(s)
        splits[split] = out
    return Corpus("weibo", splits["train"], splits["dev"], stats)


RESUME_DROPPED = {"TITLE", "EDU", "PRO", "RACE"}
PLACE_PREFIXES = ("籍贯", "国籍：", "国籍:", "国籍")
PLACE_SUFFIXES = ("国籍", "居民", "公民", "籍", "人")


def trim_place(text: str, a: int, b: int) -> tuple[int, int]:
    """Cut résumé wording off a place: 籍贯山西省 -> 山西省, 中国国籍 -> 中国, 浙江人 -> 浙江,
    中国台湾居民 -> 中国台湾."""
    changed = True
    while changed and b - a > 1:
        changed = False
        for p in PLACE_PREFIXES:
            if text.startswith(p, a) and b - a > len(p):
                a += len(p)
                changed = True
        for s in PLACE_SUFFIXES:
            if text[a:b].endswith(s) and b - a > len(s) + 1:
                b -= len(s)
                changed = True
    return a, b


def places_in(text: str, a: int, b: int) -> tuple[list[Span], str]:
    """LOC spans for the place text[a:b]: its named places if it splits, else the whole when it is one place.

    The second value names what happened: ``whole``, ``split`` or ``unreadable`` (no spans)."""
    if b - a == 1:  # a single character: the single-character rule decides
        return [("LOC", a, b)], "whole"
    pieces = split_place(text[a:b])
    if pieces and len(pieces) > 1:
        return [("LOC", a + i, a + j) for i, j in pieces], "split"
    if pieces and pieces[0] == (0, b - a):
        return [("LOC", a, b)], "whole"
    if one_place(text[a:b]):
        return [("LOC", a, b)], "whole"
    area = next((w for w in AREA_WORDS if text[a:b].endswith(w)), "")
    if area and one_place(text[a : b - len(area)]):  # 新街口地区 -> 新街口
        return [("LOC", a, b - len(area))], "split"
    if pieces:  # one name and the rest numbers or facility nouns (北京金融大街17号 -> 北京金融大街)
        return [("LOC", a + pieces[0][0], a + pieces[0][1])], "split"
    return [], "unreadable"


def read_resume(root: str | Path = DEFAULT_CORPORA) -> Corpus:
    """Resume train and dev (BMES, space separated): NAME -> PER; ORG -> ORG unless generic (公司, 本公司); LOC and
    CONT -> LOC trimmed to the place (中国国籍 -> 中国, 浙江人 -> 浙江) and split into places;
    TITLE/EDU/PRO/RACE dropped."""
    stats = MappingStats("resume")
    splits = {}
    for split in ("train", "dev"):
        out = []
        for toks, tags in read_columns(Path(root) / "resume" / f"{split}.txt", " "):
            text = "".join(toks)
            bioes = [("I" + t[1:]) if t.startswith("M-") else t for t in tags]
            spans: list[Span] = []
            raw = tags_to_spans(bioes, "BIOES")
            stats.note(split, "ill_formed_dropped", ill_formed(tags, raw))
            for kind, a, b in raw:
                if kind in RESUME_DROPPED:
                    stats.note(split, f"{kind.lower()}_dropped")
                elif kind == "NAME":
                    spans.append(("PER", a, b))
                elif kind == "ORG":
                    if is_generic(text[a:b]):
                        stats.note(split, "generic_org_dropped")
                    else:
                        spans.append(("ORG", a, b))
                elif kind in ("LOC", "CONT"):
                    na, nb = trim_place(text, a, b)
                    stats.note(split, f"{kind.lower()}_trimmed", (na, nb) != (a, b))
                    places, how = places_in(text, na, nb)
                    stats.note(split, f"{kind.lower()}_{how}", how != "whole")
                    spans.extend(places)
            spans = apply_shared_rules(text, spans, stats, split)
            s = sentence_of(text, spans)
            stats.keep(split, s)
            out.append(s)
        splits[split] = out
    return Corpus("resume", splits["train"], splits["dev"], stats)


FILL_NAMES = sorted(set(COUNTRIES) | set(PROVINCES), key=len, reverse=True)
FILL_FOLLOW_CHARS = set("的与也和在是各，。、；：！？）”,.;:!?)")
FILL_FOLLOW_WORDS = ("政府", "总统", "总理", "首相", "市场", "方面", "境内", "外交", "官方", "媒体", "经济")


def fill_country_names(text: str, covered: list[bool]) -> list[Span]:
    """LOC spans for plain country and province names CLUENER left unannotated (its README: "plain country names
    are often left unannotated"), where MSRA tags them: only before punctuation, 的/和/在..., 人 (not 人民) or a
    word like 政府/总统, never inside an annotated span or a 《title》; scanned left to right, longest name first."""
    out: list[Span] = []
    i = 0
    while i < len(text):
        name = next((w for w in FILL_NAMES if text.startswith(w, i)), None)
        if name is None:
            i += 1
            continue
        j = i + len(name)
        nxt = text[j : j + 1]
        follows = (
            not nxt
            or nxt in FILL_FOLLOW_CHARS
            or text.startswith(FILL_FOLLOW_WORDS, j)
            or (nxt == "人" and text[j + 1 : j + 2] not in ("民", "寿", "队"))
        )
        in_title = text.rfind("《", 0, i) > text.rfind("》", 0, i)
        if follows and not in_title and not any(covered[i:j]):
            out.append(("LOC", i, j))
            i = j
        else:
            i += 1
    return out


CLUENER_TYPES = {
    "name": "PER",
    "organization": "ORG",
    "company": "ORG",
    "government": "ORG",
    "address": "LOC",
    "scene": "LOC",
}


def cluener_sentence(row: dict, stats: MappingStats, split: str) -> Sentence | None:
    """One CLUENER line mapped; None when an address in it cannot be read (its places would be mislabelled)."""
    text = row["text"]
    raw = []
    for kind, entities in row.get("label", {}).items():
        for name, offsets in entities.items():
            for start, end in offsets:  # end is inclusive
                if text[start : end + 1] != name:
                    raise ValueError(f"CLUENER offsets {start}-{end} do not hold {name!r} in {text!r}")
                raw.append((kind, start, end + 1))
    spans: list[Span] = []
    taken = [False] * len(text)
    for kind, a, b in sorted(raw, key=lambda s: (s[1], -(s[2] - s[1]))):
        if kind not in CLUENER_TYPES:
            stats.note(split, f"{kind}_dropped")
            continue
        if any(taken[a:b]):
            stats.note(split, "overlap_dropped")
            continue
        if is_generic(text[a:b]):
            stats.note(split, "generic_dropped")
            continue
        if kind == "address":
            places, how = places_in(text, a, b)
            if how == "unreadable":
                stats.note(split, "sentence_dropped_unreadable_address")
                return None
            stats.note(split, f"address_{how}")
            new = places
        else:
            new = [(CLUENER_TYPES[kind], a, b)]
        for s in new:
            taken[s[1] : s[2]] = [True] * (s[2] - s[1])
        spans.extend(new)
    covered = [False] * len(text)
    for kind, a, b in raw:
        if kind != "position":  # 美国 in the position 美国总统 is a plain country; in a book title it is not
            covered[a:b] = [True] * (b - a)
    filled = fill_country_names(text, covered)
    stats.note(split, "country_name_filled", len(filled))
    spans = apply_shared_rules(text, spans + filled, stats, split)
    return sentence_of(text, spans)


def cluener_dev_rows(n_rows: int, size: int = CLUENER_DEV_SIZE, seed: int = CLUENER_DEV_SEED) -> set[int]:
    """The fixed, seeded selection split carved out of CLUENER train (its own dev split is reserved)."""
    return set(random.Random(seed).sample(range(n_rows), min(size, n_rows)))


def read_cluener(
    root: str | Path = DEFAULT_CORPORA, dev_size: int = CLUENER_DEV_SIZE, seed: int = CLUENER_DEV_SEED
) -> Corpus:
    """CLUENER train.json (JSON lines, inclusive end offsets) split into train and a carved dev; name -> PER;
    organization/company/government -> ORG; address/scene -> LOC; game/book/movie/position dropped; nominal mentions
    (政府, 博物馆, 博彩公司) dropped; unannotated plain country names filled in (``fill_country_names``).

    An address is one span in CLUENER. Of 80 looked at, most are one place (北京, 丽泽商务区) and the rest a chain of
    places, numbers and facility nouns (广州市天河区体育东路116号…1901室), so addresses are split into their named
    places (``split_place``). The ones it cannot read (clauses, directions: 地铁8号线耀华路站1号出口向右) would leave
    places tagged O, so their sentences go: on train.json 2,194 addresses whole, 328 split, 278 sentences dropped.
    """
    stats = MappingStats("cluener")
    with open(Path(root) / "cluener" / "train.json", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    dev_rows = cluener_dev_rows(len(rows), dev_size, seed)
    splits: dict[str, list[Sentence]] = {"train": [], "dev": []}
    for i, row in enumerate(rows):
        split = "dev" if i in dev_rows else "train"
        s = cluener_sentence(row, stats, split)
        if s is not None:
            stats.keep(split, s)
            splits[split].append(s)
    return Corpus("cluener", splits["train"], splits["dev"], stats)


READERS = {"msra": read_msra, "weibo": read_weibo, "resume": read_resume, "cluener": read_cluener}


def read_corpora(root: str | Path = DEFAULT_CORPORA, names: tuple[str, ...] = CORPORA) -> dict[str, Corpus]:
    """Every named corpus, mapped."""
    return {name: READERS[name](root) for name in names}


# --- held-out hygiene ----------------------------------------------------------------------------------------------


def dedupe(train: list[Sentence], held_out: list[Sentence]) -> list[Sentence]:
    """Training sentences whose text (normalized: MSRA dev writes digits full width) is not a held-out sentence's."""
    seen = {normalize(s.text) for s in held_out}
    return [s for s in train if normalize(s.text) not in seen]


def windows(text: str, n: int) -> set[str]:
    """The normalized text's ``n``-character windows; a text shorter than ``n`` is its own one window."""
    text = normalize(text)
    return {text[i : i + n] for i in range(len(text) - n + 1)} if len(text) >= n else {text}


def shares_window(a_texts: list[str], b_texts: list[str], n: int = 12) -> list[int]:
    """Indices of the texts of ``a_texts`` that share an ``n``-character window with any text of ``b_texts`` (a text
    shorter than ``n`` is its own window: it counts when the other side holds the same short text)."""
    b = set()
    for t in b_texts:
        b |= windows(t, n)
    return [i for i, t in enumerate(a_texts) if not windows(t, n).isdisjoint(b)]


def write_conll(path: str | Path, sentences: list[Sentence]) -> None:
    """Write sentences as ``char<TAB>tag`` lines, a blank line between sentences (what ``read_conll`` reads); any
    whitespace character is written as a plain space so a sentence never breaks across lines."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for s in sentences:
            for ch, tag in zip(s.text, s.tags):
                f.write(f"{' ' if ch.isspace() else ch}\t{tag}\n")
            f.write("\n")
