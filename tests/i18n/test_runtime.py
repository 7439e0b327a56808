"""Looking texts up at run time: fallbacks, plural rules, built-in defaults, templates."""

from __future__ import annotations

import copy
import pickle

import pytest

from gatekeeper.html.render import Renderer, localise
from gatekeeper.i18n import BuiltinText, builtin, catalogue
from gatekeeper.i18n.catalogue import read_messages
from gatekeeper.language import LanguageNegotiator
from gatekeeper.notices import UI
from gatekeeper.policy import parse_policy
from tests.conftest import BASE_POLICY

COOKIES = ("%(num)d cookie", "%(num)d cookies")


@pytest.mark.parametrize(
    ("language", "default", "answers", "accept"),
    [
        ("de", "en", "de", "Alle akzeptieren"),
        ("de-AT", "en", "de", "Alle akzeptieren"),
        ("pt-BR", "en", "pt_BR", "Aceitar todos"),
        ("pt-PT", "en", "pt", "Aceitar tudo"),  # no pt_PT catalogue: the primary one
        ("no", "en", "nb", "Godta alle"),
        ("nn", "en", "nb", "Godta alle"),
        ("ca", "de", "de", "Alle akzeptieren"),  # no catalogue: the default language's
        ("ca", "gl", "en", "Accept all"),  # neither: English
    ],
)
def test_a_language_finds_its_catalogue_through_fallbacks(language, default, answers, accept):
    found = catalogue(language, default)
    assert found.locale == answers
    assert found.gettext("Accept all") == accept


def test_a_text_no_catalogue_has_is_its_english_source():
    assert catalogue("de").gettext("Not a gatekeeper text") == "Not a gatekeeper text"
    assert catalogue("de").ngettext("%(num)d apple", "%(num)d apples", 2) == "%(num)d apples"


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        ("en", {1: "cookie", 2: "cookies", 0: "cookies"}),
        ("fr", {0: "cookie", 1: "cookie", 2: "cookies", 1000000: "de cookies"}),
        ("pl", {1: "plik cookie", 3: "pliki cookie", 5: "plików cookie", 22: "pliki cookie"}),
        ("lv", {1: "sīkdatne", 2: "sīkdatnes", 10: "sīkdatņu", 21: "sīkdatne"}),
        ("sl", {1: "piškotek", 2: "piškotka", 3: "piškotki", 5: "piškotkov", 101: "piškotek"}),
        ("ga", {1: "fhianán", 2: "fhianán", 7: "bhfianán", 11: "fianán"}),
        ("is", {1: "vafrakaka", 11: "vafrakökur", 21: "vafrakaka"}),
        ("ja", {1: "件のCookie", 5: "件のCookie"}),
    ],
)
def test_plural_forms_follow_each_languages_rules(language, counts):
    messages = catalogue(language)
    for n, words in counts.items():
        assert messages.ngettext(*COOKIES, n) == f"%(num)d{'' if language == 'ja' else ' '}{words}"


def test_fuzzy_and_empty_entries_fall_through_to_the_next_catalogue(tmp_path):
    po = tmp_path / "gatekeeper.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        '#, fuzzy\nmsgid "Accept all"\nmsgstr "Half-checked"\n\n'
        'msgid "Reject all"\nmsgstr ""\n\n'
        'msgid "Customise"\nmsgstr "Checked"\n',
        encoding="utf-8",
    )
    messages = read_messages(po, "xx")
    assert dict(messages.singular) == {"Customise": "Checked"}
    assert messages.nplurals == 2 and messages.plural_index(1) == 0


def test_operator_texts_come_first_and_builtin_defaults_are_translated():
    assert localise({"de": "Meins", "en": "Mine"}, "de", "en") == "Meins"
    assert localise({"en": "Mine"}, "fr", "en") == "Mine"  # the operator's, not built in
    assert localise({"*": "Same everywhere"}, "fr", "en") == "Same everywhere"
    assert localise(builtin("Accept all"), "fr", "en") == "Tout accepter"
    assert localise(builtin("Accept all"), "xx", "de") == "Alle akzeptieren"
    assert localise(UI["dismiss"], "ja", "en") == "閉じる"


def test_policy_defaults_are_builtin_until_the_operator_writes_a_text():
    policy = parse_policy(BASE_POLICY + "consent:\n  banner:\n    title: {de: Hallo}\n")
    banner = policy.consent.banner
    assert not isinstance(banner.title, BuiltinText)
    assert isinstance(banner.accept_label, BuiltinText)
    assert localise(banner.accept_label, "sv", "en") == "Godkänn alla"
    necessary = policy.consent.categories["necessary"].label
    assert localise(necessary, "it", "en") == "Strettamente necessari"
    assert localise(policy.geoblock.page.title, "es", "en") == (
        "Esta página no está disponible en su región"
    )
    # A copied or reloaded policy keeps its built-in texts built in.
    for kept in (copy.deepcopy(banner), pickle.loads(pickle.dumps(banner))):
        assert isinstance(kept.accept_label, BuiltinText)
        assert kept.accept_label.msgid == "Accept all"


def test_templates_translate_and_escape(tmp_path):
    (tmp_path / "t.html").write_text(
        "{{ _('Dismiss: %(notice)s', notice=text) }}|{{ _('Dismiss') }}|"
        "{{ ngettext('%(num)d cookie', '%(num)d cookies', n) }}|{{ t(title) }}"
    )
    renderer = Renderer(default_language="en", directory=tmp_path)
    out = renderer.render("t.html", "de", text="<b>Sale</b>", n=2, title=builtin("Your privacy"))
    assert out == "Schließen: &lt;b&gt;Sale&lt;/b&gt;|Schließen|2 Cookies|Ihre Privatsphäre"
    assert renderer.render("t.html", "en", text="x", n=1, title={"*": "Mine"}) == (
        "Dismiss: x|Dismiss|1 cookie|Mine"
    )


def test_norwegian_visitors_find_the_bokmal_texts():
    languages = LanguageNegotiator(("en", "nb"), "en")
    assert languages.choose("nn-NO, nn") == "nb"
    assert languages.choose("no") == "nb"
    assert languages.choose("nb-NO") == "nb"
    # An exact tag still wins where a policy has both.
    both = LanguageNegotiator(("en", "nb", "nn"), "en")
    assert both.choose("nn") == "nn" and both.choose("no") == "nb"
