"""The script gate's cost per response, with everything refused: `python -m benchmarks.gate`.

Prints microseconds per document (best of several runs) for the benchmark's 20 KB
article, a tag-dense 20 KB page, and 200 KB pages of both, and how often the scanner
fell back to tokenizing tag by tag.
"""

from __future__ import annotations

import random
import timeit

from benchmarks.apps import article
from gatekeeper.consent.gate import ScriptGate

HOSTS = {
    "analytics": ("www.googletagmanager.com", "www.google-analytics.com"),
    "ads": ("*.doubleclick.net", "*.googlesyndication.com", "connect.facebook.net"),
}
CARD = (
    '<div class="card"><a href="/articles/{n}" class="link">Story {n}</a>'
    '<span class="meta" data-id="{n}">by <b>Ann</b> &middot; it\'s "news"</span>'
    '<img src="/i/{n}.jpg" srcset="/i/{n}@2x.jpg 2x" alt="Photo {n}" width="120" height="80">'
    "</div>\n"
)


def dense(size: int) -> bytes:
    """A news front page: cards with links, images and quoted attributes, a few scripts,
    an inline SVG icon and an ad slot."""
    rng = random.Random(1)
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Front</title>'
        '<link rel="stylesheet" href="/site.css">'
        '<link rel="preconnect" href="https://www.googletagmanager.com">'
        '<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>'
        "<script>window.dataLayer=[];function gtag(){dataLayer.push(arguments)}</script>"
        "</head><body>"
        '<svg width="16" height="16"><use href="#logo"/></svg>'
    ]
    total = len(parts[0])
    while total < size - 200:
        card = CARD.format(n=rng.randint(1, 9999))
        if rng.random() < 0.05:
            card += (
                '<ins class="adsbygoogle" data-ad-slot="1"></ins>'
                '<script src="https://pagead2.googlesyndication.com/p.js"></script>\n'
            )
        parts.append(card)
        total += len(card)
    parts.append("</body></html>")
    return "".join(parts).encode()


def measure(doc: bytes, gate: ScriptGate) -> tuple[float, int]:
    def run() -> int:
        stream = gate.stream(lambda c: c == "necessary", page_host="news.example")
        stream.feed(doc)
        stream.finish()
        return stream.scanner.exact

    number = max(1, 2_000_000 // len(doc))
    best = min(timeit.repeat(run, number=number, repeat=7)) / number
    return best * 1e6, run()


def main() -> None:
    gate = ScriptGate(HOSTS)
    pages = {
        "article 20 KB": article(),
        "article 200 KB": article(200 * 1024),
        "tag-dense 20 KB": dense(20 * 1024),
        "tag-dense 200 KB": dense(200 * 1024),
    }
    print(f"{'page':18} {'bytes':>8} {'µs':>9} {'µs/KB':>7} {'fallbacks':>9}")
    for name, doc in pages.items():
        micros, exact = measure(doc, gate)
        print(f"{name:18} {len(doc):8} {micros:9.1f} {micros / len(doc) * 1024:7.2f} {exact:9}")
    lower = min(timeit.repeat(article().lower, number=2000, repeat=5)) / 2000 * 1e6
    print(f"for scale: bytes.lower() of the 20 KB article {lower:.1f} µs")


if __name__ == "__main__":
    main()
