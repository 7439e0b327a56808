from gatekeeper.language import LanguageNegotiator

LANGS = LanguageNegotiator(("en", "de", "fr", "pt-BR"), "en")


def test_no_header_gives_default():
    assert LANGS.choose(None) == "en"
    assert LANGS.choose("") == "en"


def test_highest_quality_available_wins():
    assert LANGS.choose("fr;q=0.4, de;q=0.9, en;q=0.5") == "de"


def test_order_breaks_ties():
    assert LANGS.choose("fr, de") == "fr"


def test_region_falls_back_to_primary_language():
    assert LANGS.choose("de-AT,de;q=0.9") == "de"
    assert LANGS.choose("pt") == "pt-BR"
    assert LANGS.choose("PT-br") == "pt-BR"


def test_unavailable_languages_are_skipped():
    assert LANGS.choose("ja, fr;q=0.1") == "fr"
    assert LANGS.choose("ja, zh") == "en"


def test_zero_quality_means_not_acceptable():
    assert LANGS.choose("fr;q=0, de;q=0.1") == "de"


def test_wildcard_and_garbage():
    assert LANGS.choose("*") == "en"
    assert LANGS.choose(",,;q=abc, fr;q=x, de") == "de"
    assert LANGS.choose("fr;q=1.5e") == "en"


def test_cache_is_bounded():
    small = LanguageNegotiator(("en", "de"), "en", cache_size=4)
    for i in range(50):
        assert small.choose(f"de;q=0.{i % 9 + 1}") == "de"
    assert len(small._cache) <= 4
