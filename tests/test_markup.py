from raner import Entity
from raner.markup import parse, render


def test_parse_and_render_round_trip():
    marked = "[马云|PER]在[杭州|LOC][阿里巴巴|ORG]总部发表演讲"
    text, ents = parse(marked)
    assert text == "马云在杭州阿里巴巴总部发表演讲"
    assert ents == [Entity("马云", "PER", 0, 2), Entity("杭州", "LOC", 3, 5), Entity("阿里巴巴", "ORG", 5, 9)]
    assert render(text, ents) == marked
    assert all(text[e.start:e.end] == e.text for e in ents)
