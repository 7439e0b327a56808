"""The top-of-body insert: right after the opening <body ...>, at any split point."""

from __future__ import annotations

import pytest

from gatekeeper.html.stream import MAX_TAG, AfterBodyOpen

BAR = b'<div data-gk-notice="notification">bar</div>'


def run(chunks: list[bytes]) -> bytes:
    insert = AfterBodyOpen(BAR)
    return b"".join(insert.feed(c) for c in chunks) + insert.finish()


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            b"<html><head></head><body><p>x</p></body></html>",
            b"<html><head></head><body>" + BAR + b"<p>x</p></body></html>",
        ),
        (b'<BODY class="a>b" data-x=1>\n<p>x', b'<BODY class="a>b" data-x=1>' + BAR + b"\n<p>x"),
        (b"<bodyguard><body>", b"<bodyguard><body>" + BAR),
        (b"<p>no body tag</p>", b"<p>no body tag</p>" + BAR),
    ],
)
def test_inserts_after_the_opening_body_tag(doc, expected):
    assert run([doc]) == expected
    for cut in range(1, len(doc)):
        assert run([doc[:cut], doc[cut:]]) == expected, cut
    assert run([doc[i : i + 1] for i in range(len(doc))]) == expected


def test_streams_through_once_placed():
    insert = AfterBodyOpen(BAR)
    assert insert.feed(b"<body>") == b""  # a skip link may follow: wait for the next bytes
    assert insert.feed(b"<main>") == b"<body>" + BAR + b"<main>"
    assert insert.feed(b"<body>again") == b"<body>again"  # only the first
    assert insert.finish() == b""


SKIP = b'<body class="x">\n  <a class="skip-link" href="#main">Skip to content</a>\n<header>'


def test_a_leading_skip_link_stays_first():
    expected = SKIP.replace(b"</a>", b"</a>" + BAR)
    assert run([SKIP]) == expected
    for cut in range(1, len(SKIP)):
        assert run([SKIP[:cut], SKIP[cut:]]) == expected, cut


def test_other_links_do_not_count_as_skip_links():
    doc = b'<body><a href="/home">Home</a>'
    assert run([doc]) == b"<body>" + BAR + b'<a href="/home">Home</a>'


def test_a_runaway_tag_is_released_not_held():
    insert = AfterBodyOpen(BAR)
    out = insert.feed(b'<body data-x="' + b"y" * (MAX_TAG + 1))
    assert len(out) > MAX_TAG
