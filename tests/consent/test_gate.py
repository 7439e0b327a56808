"""Script gating on the byte stream: what turns inert, what is left alone, any split."""

from __future__ import annotations

import pytest

from gatekeeper.consent.gate import ScriptGate
from gatekeeper.consent.urlhost import HostCategories
from gatekeeper.html.scanner import MAX_TAG

GATE = ScriptGate({"ads": ("*.doubleclick.net",), "video": ("www.youtube.com",)})


def allows_only(*allowed: str):
    return lambda category: category in ("necessary", *allowed)


def gate(doc: bytes, *allowed: str) -> bytes:
    g = GATE.stream(allows_only(*allowed))
    return g.feed(doc) + g.finish()


DOC = (
    b'<html><head><script data-consent="analytics" src="/a.js" nonce="n1"></script>\n'
    b'<script data-consent="analytics">var s = "<img src=x>";</script>\n'
    b'<script type="application/ld+json" data-consent="analytics">{"a": 1}</script>\n'
    b'<!-- <script data-consent="analytics" src="/c.js"></script> -->\n'
    b'<style>.x::after { content: "<img src=y>"; }</style>\n'
    b'</head><body><iframe src="https://ad.doubleclick.net/x?a=1" title="Ad"></iframe>\n'
    b"<img src='/cat.png' alt=\"a > b\" data-consent=ads>"
    b'<IMG SRC="//stats.doubleclick.net/p.gif" alt="">'
    b'<script type="module" data-consent="analytics" src="/m.js"></script>'
    b'<iframe src="https://www.youtube.com/embed/1" title="Video"></iframe>'
    b'<img src="/logo.png" alt="Logo"><script src="/site.js"></script></body></html>'
)


def test_refused_tags_become_inert():
    out = gate(DOC)
    assert (
        b'<script data-consent="analytics" data-gk-src="/a.js" nonce="n1" type="text/plain">' in out
    )
    assert b'<script data-consent="analytics" type="text/plain">var s = "<img src=x>";' in out
    assert (
        b'<iframe data-gk-src="https://ad.doubleclick.net/x?a=1" title="Ad" data-consent="ads">'
        in out
    )
    # Everything but the renamed attribute names stays byte for byte, quoting included.
    assert b"<img data-gk-src='/cat.png' alt=\"a > b\" data-consent=ads>" in out
    assert b'<IMG data-gk-src="//stats.doubleclick.net/p.gif" alt="" data-consent="ads">' in out
    assert (
        b'<script data-gk-type="module" data-consent="analytics" data-gk-src="/m.js" type="text/plain">'
        in out
    )
    assert (
        b'data-gk-src="https://www.youtube.com/embed/1" title="Video" data-consent="video">' in out
    )


def test_untouched_tags():
    out = gate(DOC)
    assert b'<script type="application/ld+json" data-consent="analytics">{"a": 1}' in out
    assert b'<!-- <script data-consent="analytics" src="/c.js"></script> -->' in out
    assert b'content: "<img src=y>"' in out  # style raw text is not markup
    assert b'var s = "<img src=x>"' in out  # nor is script text
    assert b'<img src="/logo.png" alt="Logo"><script src="/site.js"></script>' in out


def test_allowed_categories_pass_unchanged():
    assert gate(DOC, "analytics", "ads", "video") == DOC
    partly = gate(DOC, "analytics")
    assert b'<script data-consent="analytics" src="/a.js" nonce="n1"></script>' in partly
    assert b'data-gk-src="https://ad.doubleclick.net' in partly


def test_unknown_category_is_refused():
    assert b'type="text/plain"' in gate(b'<script data-consent="typo">x()</script>', "analytics")


@pytest.mark.parametrize("allowed", [(), ("analytics",)])
def test_every_split_point_gives_the_same_bytes(allowed):
    whole = gate(DOC, *allowed)
    for cut in range(1, len(DOC)):
        g = GATE.stream(allows_only(*allowed))
        assert g.feed(DOC[:cut]) + g.feed(DOC[cut:]) + g.finish() == whole, cut
    g = GATE.stream(allows_only(*allowed))
    assert b"".join(g.feed(DOC[i : i + 1]) for i in range(len(DOC))) + g.finish() == whole


def test_memory_is_bounded_for_a_runaway_tag():
    g = GATE.stream(allows_only())
    out = g.feed(b'<img data-consent="ads" alt="' + b"x" * (MAX_TAG + 10))
    assert len(out) > MAX_TAG  # released, not held forever
    assert len(g.scanner.pending) < MAX_TAG
    # Released inert: empty src/srcset come first, so a later src is a dropped duplicate.
    assert out.startswith(b'<img src="" srcset="" data-consent="ads" alt="')
    rest = g.feed(b'" src="https://ad.doubleclick.net/x.gif"><img src="/own.png">') + g.finish()
    assert rest.endswith(b'<img src="/own.png">')


def test_hosts_match_subdomains_and_the_domain_itself():
    hosts = HostCategories({"ads": ("*.doubleclick.net",)})
    assert hosts.of_url("https://doubleclick.net/x", None) == ("ads",)
    assert hosts.of_url("https://a.b.doubleclick.net:443/x", None) == ("ads",)
    assert hosts.of_url("https://user@ad.doubleclick.net/x", None) == ("ads",)
    assert hosts.of_url("https://doubleclick.net.evil.com/x", None) == ()
    assert hosts.of_url("/local.js", None) == ()
    assert hosts.of_url("/local.js", "ad.doubleclick.net") == ("ads",)


def test_a_whole_document_seen_before_is_answered_from_the_cache_byte_for_byte():
    from gatekeeper.consent.gate import ScriptGate

    script_gate = ScriptGate({"ads": ("*.doubleclick.net",)})
    allowed = frozenset({"necessary"})

    def gated(document: bytes) -> bytes:
        stream = script_gate.stream(lambda c: c in allowed, page_host="news.test", allowed=allowed)
        return stream.whole(document)

    first = gated(DOC)
    assert first == gated(DOC) and b'data-gk-src="/a.js"' in first
    assert len(script_gate.documents._entries) == 1
    changed = DOC.replace(b"/a.js", b"/b.js")
    assert b'data-gk-src="/b.js"' in gated(changed)  # another document: gated afresh


def test_documents_of_the_same_length_never_share_an_answer():
    from gatekeeper.consent.gate import GatedDocuments

    documents = GatedDocuments()
    mine, theirs = b"<p>mine</p>", b"<p>them</p>"
    assert len(mine) == len(theirs)
    documents.put("k", theirs, b"their answer")
    assert documents.get("k", mine) is None
    documents.put("k", mine, b"my answer")
    assert documents.get("k", mine) == b"my answer"
    assert documents.get("k", theirs) == b"their answer"
    assert documents.get("other key", mine) is None


def test_the_documents_cache_stays_within_its_bytes():
    from gatekeeper.consent.gate import GatedDocuments

    documents = GatedDocuments()
    documents.LIMIT = 1000
    for i in range(100):
        page = b"<p>%03d</p>" % i + b"x" * (i * 3)
        documents.put("k", page, page)
    assert documents._size <= 1000
    last = b"<p>099</p>" + b"x" * 297
    assert documents.get("k", last) == last
    for i in range(10):  # many documents of one length: only the newest few are kept
        documents.put("same", b"%05d" % i, b"")
    assert len(documents._entries[("same", 5)]) == GatedDocuments.PER_LENGTH
