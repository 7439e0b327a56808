"""Generated markup around every corpus case: the gate's output is the same at every
chunk boundary, and the oracle finds nothing refused live and nothing else changed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .gate_check import allows_only, check, gate
from .gate_corpus import DECOYS, TRACKERS

# Markup a page may hold around a tracker: text, ordinary tags with awkward attribute
# values, comments and bogus comments, raw text, foreign content.
FRAGMENTS = [
    "x", "a < b", "it's", '"q"', "&amp;", "&lt;img&gt;", "\n", "\r\n",
    '<p class="a">', "</p>", '<div title="a > b">', "<div title='<img src=x>'>", "</div>",
    "<span data-x=1>", "</span>", "<br/>", '<a href="/x?a=1&b=2">l</a>', "<b>", "</b>",
    "<!-- c -->", "<!-->", "<!--->", "<!-- a --!>", "<?pi?>", "</ 1>", "</>", "<!doctype html>",
    "<style>p{}</style>", "<textarea>t</textarea>", "<title>t</title>",
    '<script>var a="<!--";</script>', "<script>x()</script>", "<xmp>x</xmp>",
    "<noembed>x</noembed>", "<noscript><p>n</p></noscript>", "<template><i>t</i></template>",
    '<svg><circle r="1"/></svg>', "<math><mi>x</mi></math>", "<svg><style>s{}</style></svg>",
    "<svg><![CDATA[x]]></svg>", "<svg><foreignObject><p>f</p></foreignObject></svg>",
    "<table><tr><td>c</td></tr></table>", '<img src="/own.png">', '<link rel="icon" href="/f.ico">',
]  # fmt: skip
WRAPPERS = ["{}", "<div>{}</div>", "<p>{}</p>", "<table><tr><td>{}</td></tr></table>", "<b>{}</b>"]
CASES = {**TRACKERS, **DECOYS}

around = st.lists(st.sampled_from(FRAGMENTS), max_size=5).map("".join)
documents = st.builds(
    lambda before, wrapper, case, after: (before + wrapper.format(CASES[case]) + after).encode(),
    around,
    st.sampled_from(WRAPPERS),
    st.sampled_from(sorted(CASES)),
    around,
)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(documents)
def test_generated_documents_match_the_oracle(doc):
    check(doc, allows_only())


@SETTINGS
@given(documents)
def test_every_chunk_boundary_gives_the_same_bytes(doc):
    refused = allows_only()
    whole = gate(doc, refused)
    for cut in range(1, len(doc)):
        assert gate(doc, refused, cuts=(cut,)) == whole, cut
    assert gate(doc, refused, cuts=tuple(range(1, len(doc)))) == whole


@SETTINGS
@given(documents, st.sampled_from([(), ("ads",), ("analytics", "video")]))
def test_partly_allowed_documents_match_the_oracle(doc, allowed):
    check(doc, allows_only(*allowed))
