"""The data the TCF templates show, and the templates themselves: rendered in English and
German, and posting exactly the fields `choices_from_form` reads."""

from __future__ import annotations

from html.parser import HTMLParser

from gatekeeper.html.render import Renderer
from gatekeeper.tcf.choices import choices_from_form
from gatekeeper.tcf.notice import UI, choose_stacks, notice_context


class Form(HTMLParser):
    """The fields a browser would post from the page's form, with every box as rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input":
            self.names.add(attrs["name"])
            if attrs.get("type") != "checkbox" or "checked" in attrs:
                self.fields.setdefault(attrs["name"], []).append(attrs["value"])


def render(name: str, disclosure, language: str, choices=None) -> str:
    renderer = Renderer(default_language="en")
    return renderer.render(
        name,
        language,
        tcf=notice_context(disclosure, language, choices),
        ui=UI,
        prefix="/_gatekeeper",
        next="/article",
        next_slot="/article",
        next_query_slot="%2Farticle",
        privacy_url="/privacy",
        css_url="/_gatekeeper/static/gatekeeper.css",
        site_name="Test News",
        reopen_label={"en": "Privacy choices"},
        categories={},
        allowed=frozenset(),
    )


def test_stacks_replace_the_purposes_they_group(gvl):
    texts = gvl.texts["en"]
    chosen = choose_stacks(texts.stacks, {1, 2, 3, 4, 7, 8, 9, 10}, {1})
    # Stack 4 (2 3 4 7) covers most; 5 (8 9 10) the rest; stack 1 needs feature 2 too.
    assert [s.id for s in chosen] == [4, 5]
    assert choose_stacks(texts.stacks, {1, 2}, set()) == []


def test_layer_one_names_the_vendors_purposes_and_stacks(disclosure):
    context = notice_context(disclosure, "en")
    assert context["vendor_count"] == 7
    assert [p["id"] for p in context["purposes"] if not p["in_stack"]] == [1]
    html = render("tcf_notice.html", disclosure, "en")
    assert 'data-gk-notice="consent"' in html
    assert "We and our 7 partners" in html
    assert "Personalised advertising and its measurement" in html  # stack 4
    assert "Use precise geolocation data" in html  # the special feature
    assert "legitimate interest" in html
    for action in ("accept_all", "reject_all"):
        assert f'value="{action}"' in html
    assert 'href="/_gatekeeper/preferences?next=%2Farticle"' in html


def test_the_notice_speaks_the_translations_language(disclosure):
    html = render("tcf_notice.html", disclosure, "de")
    assert 'lang="de"' in html
    assert "Wir und unsere 7 Partner" in html
    assert "Personalisierte Werbung und ihre Messung" in html
    assert notice_context(disclosure, "fr")["language"] == "en"  # no French translation here


def test_the_vendor_list_shows_legal_bases_and_the_right_to_object(disclosure):
    vendors = {v["id"]: v for v in notice_context(disclosure, "de")["vendors"]}
    harbor = vendors[2]
    assert harbor["can_object"] and harbor["asks_consent"]
    assert harbor["privacy_url"].endswith("/de/datenschutz")
    assert harbor["legitimate_interest_url"].endswith("/de/berechtigtes-interesse")
    assert harbor["cookie_days"] == 365
    assert not vendors[8]["asks_consent"] and not vendors[8]["can_object"]
    assert vendors[8]["special_purposes"]
    html = render("tcf_preferences.html", disclosure, "en")
    assert html.count('name="vendor_legitimate_interest"') == 3  # 2, 300, 755
    assert 'data-gk-tcf-vendor="1126"' in html and "Cobalt Video" in html


def test_nothing_is_pre_ticked_but_legitimate_interest(disclosure):
    form = Form()
    form.feed(render("tcf_preferences.html", disclosure, "en"))
    assert "purpose" not in form.fields and "special_feature" not in form.fields
    assert [f for f in form.fields.get("vendor", [])] == []
    assert form.fields["legitimate_interest"] == ["2", "7", "8", "9", "10"]
    assert form.fields["framework"] == ["tcf"] and form.fields["layer"] == ["preferences"]


def test_the_page_posts_back_the_choices_it_was_rendered_with(disclosure):
    made = choices_from_form(
        {
            "action": ["save"],
            "layer": ["preferences"],
            "purpose": ["1", "3", "4"],
            "special_feature": ["1"],
            "legitimate_interest": ["7"],
            "vendor": ["2", "755"],
            "vendor_legitimate_interest": ["300"],
        },
        disclosure,
    )
    form = Form()
    form.feed(render("tcf_preferences.html", disclosure, "en", made))
    form.fields["action"] = ["save"]
    assert choices_from_form(form.fields, disclosure) == made
    assert {
        "purpose",
        "legitimate_interest",
        "special_feature",
        "vendor",
        "vendor_legitimate_interest",
    } <= form.names
