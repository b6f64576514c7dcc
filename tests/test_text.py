from knowledge.text import VariantLexicon, fold, normalise


def test_full_width_and_case_are_folded():
    assert fold("ＡＢＣ１２３　办理") == "abc123 办理"


def test_traditional_becomes_simplified():
    assert fold("臺北市政府警察局交通違規") == "台北市政府警察局交通违规"


def test_variant_words_map_to_the_guides_word():
    assert normalise("我的身分證丟了") == "我的身份证遗失"
    assert normalise("户口本") == "户口簿"
    assert normalise("开个体户") == "开个体工商户"


def test_standard_word_is_left_alone_and_longest_variant_wins():
    assert normalise("个体工商户设立登记") == "个体工商户设立登记"
    assert normalise("驾驶执照到期") == "驾驶证到期"  # not 驾驶营业执照


def test_lexicon_is_data_and_can_be_edited():
    lex = VariantLexicon.from_text("# comment\n低保 最低生活保障\n\n身份证 身分證\n")
    assert lex.apply(fold("申请最低生活保障")) == "申请低保"
    assert lex.apply(fold("身分證")) == "身份证"  # entries are folded like the text


def test_normalise_is_idempotent():
    text = "開個體戶要帶啥材料，身分證、戶口名簿"
    assert normalise(normalise(text)) == normalise(text)
