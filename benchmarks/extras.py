"""The other figures: memory while streaming, durable consent posts, geo lookups."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

from benchmarks.harness import Case, drive, serve
from gatekeeper import Gatekeeper
from gatekeeper.demo import GEOIP
from gatekeeper.geo import GeoReader

STREAM_MB = 200
CHUNK = 64 * 1024


def _streaming_app() -> Starlette:
    async def big(request):
        async def chunks():
            yield b"<!doctype html><html><head><title>big</title></head><body>"
            filler = b"<p>" + b"x" * (CHUNK - 8) + b"</p>\n"
            for _ in range(STREAM_MB * 1024 * 1024 // len(filler)):
                yield filler
            yield b"</body></html>"

        return StreamingResponse(chunks(), media_type="text/html")

    return Starlette(routes=[Route("/", big)])


def rss_child(kind: str, data: str) -> None:
    """Run in a subprocess: stream the document once, print the peak RSS growth in KB."""
    from benchmarks.apps import demo_policy

    app = _streaming_app()
    if kind == "gatekeeper":
        app = Gatekeeper(app, policy=demo_policy(Path(data)))
    sent = 0
    requested = False

    async def receive():
        # The request once; after that a client that stays connected (Starlette listens
        # for a disconnect while it streams; answering at once would spin forever).
        nonlocal requested
        if requested:
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal sent
        sent += len(message.get("body", b""))

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": b"",
        "scheme": "http",
        "headers": [(b"accept", b"text/html")],
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    asyncio.run(app(scope, receive, send))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(after - before, sent)


def rss_growth(data: Path) -> str:
    out = []
    for kind in ("bare", "gatekeeper"):
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.extras", "rss", kind, str(data)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        out.append(f"{kind} +{int(result[0]) / 1024:.1f} MB")
    return f"- Peak RSS growth streaming {STREAM_MB} MB of HTML: " + ", ".join(out)


def geo_lookups(quick: bool) -> str:
    count = 50_000 if quick else 200_000
    rng = random.Random(7)
    networks = [
        ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
    ]
    addresses = [n[rng.randrange(256)] for n in networks for _ in range(count // 3)]
    public = [ipaddress.ip_address(rng.getrandbits(32)) for _ in range(count)]
    figures = []
    for label, ips, cache in (
        ("cached, demo ranges", addresses, 4096),
        ("uncached, random IPv4", public, 0),
    ):
        reader = GeoReader(GEOIP, cache_size=cache)
        start = time.perf_counter()
        for ip in ips:
            reader.lookup(ip)
        figures.append(f"{len(ips) / (time.perf_counter() - start):,.0f}/s {label}")
    return "- Geo lookups (GeoReader.lookup): " + "; ".join(figures)


def consent_posts(data: Path, quick: bool) -> str:
    """Consent POSTs per second end to end, each committed to SQLite before the answer."""
    if not shutil.which("wrk"):
        return "- Consent POSTs: skipped (no wrk)"

    script = Path(data) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.body = "action=accept_all"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        'wrk.headers["Accept"] = "application/json"\n'
    )
    process, port = serve("unlimited_factory", data)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t1",
                "-c32",
                f"-d{2 if quick else 5}s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}/_gatekeeper/consent",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        process.terminate()
        process.wait(timeout=10)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    note = f" ({bad.group(1)} failed)" if bad else ""
    return (
        f"- Consent POSTs end to end, durably logged (SQLite WAL, synchronous=FULL, group "
        f"commit): {float(rate.group(1)):,.0f}/s{note}"
        if rate
        else f"- Consent POSTs: {output}"
    )


def injector_alone(quick: bool) -> str:
    """The streaming injector by itself around the bare app, snippets fixed (issue 3)."""
    import statistics

    from benchmarks import apps
    from gatekeeper.html import HTMLInjector, Snippets

    snippets = Snippets(head=b'<link rel="stylesheet" href="/x.css">', body=b"<div>notice</div>")
    bare = apps.bare()
    injected = HTMLInjector(apps.bare(), lambda scope, head: snippets)
    case = Case("page")
    count = 500 if quick else 2000
    ratios = []

    async def rounds() -> None:
        for _ in range(3 if quick else 7):
            ratios.append(await drive(injected, case, count) / await drive(bare, case, count))

    asyncio.run(rounds())
    return (
        f"- Streaming injector alone, in process, 20 KB page: {statistics.median(ratios):.2f}× "
        f"the bare app (min {min(ratios):.2f}, max {max(ratios):.2f})"
    )


def all_extras(data: Path, quick: bool) -> Iterator[str]:
    yield injector_alone(quick)
    yield rss_growth(data)
    yield consent_posts(data, quick)
    yield geo_lookups(quick)


if __name__ == "__main__":
    if sys.argv[1] == "rss":
        rss_child(sys.argv[2], sys.argv[3])
