from raner.normalize import normalize, normalize_char


def test_fullwidth_to_ascii_keeps_length():
    text = "１９９７年ＮＢＡ！\u3000ａ"
    out = normalize(text)
    assert out == "1997年NBA! a"
    assert len(out) == len(text)


def test_whitespace_becomes_space_and_cjk_untouched():
    assert normalize("马\t云\n在") == "马 云 在"
    assert normalize_char("京") == "京"


def test_astral_and_combining_characters_keep_one_to_one():
    text = "😀e\u0301\u200b马"
    assert len(normalize(text)) == len(text)
