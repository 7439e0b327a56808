"""A page holding every kind of element the script gate holds back, for
tests/browser/test_gate.py. Tracker resources live under `/t/NAME`; the browser maps every
host name to this server, so each `/t/` request is one that reached "ad.doubleclick.net"
(the demo policy's "ads" hosts) or an element tagged with a refused category."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'


def ran(name: str) -> str:
    return f"(window.__ran = window.__ran || []).push({name!r});"


# name -> markup; {t} is the tracker origin, `//ad.doubleclick.net:PORT`.
ELEMENTS = {
    "classic": '<script src="{t}/t/classic.js"></script>',
    "jscript": '<script type="text/jscript" src="{t}/t/jscript.js"></script>',
    "module": '<script type="module" src="{t}/t/module.js"></script>',
    "inline": '<script data-consent="analytics">' + ran("inline") + "</script>",
    "svg-script": '<svg width="1" height="1"><script href="{t}/t/svg-script.js"></script></svg>',
    "img": '<img src="{t}/t/img.gif" alt="">',
    "srcset": '<img srcset="{t}/t/srcset.gif 1x" alt="">',
    "picture": '<picture><source srcset="{t}/t/picture.gif"><img src="/own.gif" alt=""></picture>',
    "iframe": '<iframe src="{t}/t/iframe.html" title="f"></iframe>',
    "srcdoc": '<iframe title="d" srcdoc="&lt;img src=&quot;http:{t}/t/srcdoc.gif&quot;&gt;"></iframe>',
    "poster": '<video poster="{t}/t/poster.gif" width="4" height="4"></video>',
    "video": '<video src="{t}/t/video.mp4" preload="auto"></video>',
    "source": '<video preload="auto"><source src="{t}/t/source.mp4"></video>',
    "audio": '<audio src="{t}/t/audio.mp3" preload="auto"></audio>',
    "embed": '<embed src="{t}/t/embed.svg" type="image/svg+xml">',
    "object": '<object data="{t}/t/object.svg" type="image/svg+xml"></object>',
    "stylesheet": '<link rel="stylesheet" href="{t}/t/stylesheet.css">',
    "preload": '<link rel="preload" as="image" href="{t}/t/preload.gif">',
    "modulepreload": '<link rel="modulepreload" href="{t}/t/modulepreload.js">',
    "input": '<input type="image" src="{t}/t/input.gif" alt="go">',
    "svg-image": '<svg width="4" height="4"><image href="{t}/t/svg-image.gif" width="4" height="4"/></svg>',
    # Hosts as browsers normalise them, and tokenizer states around the element.
    "backslashes": '<img src="http:\\\\ad.doubleclick.net:{port}\\t\\backslashes.gif" alt="">',
    "colon-ref": '<img src="http&#58;{t}/t/colon-ref.gif" alt="">',
    "tab-scheme": '<img src="ht\ttp:{t}/t/tab-scheme.gif" alt="">',
    "upper-percent": '<img src="HTTP://AD.%64oubleclick.NET:{port}/t/upper-percent.gif" alt="">',
    "after-comment": '<!--><img src="{t}/t/after-comment.gif" alt="">',
    "svg-style": '<svg width="1" height="1"><style><img src="{t}/t/svg-style.gif" alt=""></style></svg>',
}


async def page(request: Request) -> Response:
    port = request.url.port
    t = f"//ad.doubleclick.net:{port}"
    body = "\n".join(
        f'<div id="{name}">{markup.format(t=t, port=port)}</div>'
        for name, markup in ELEMENTS.items()
    )
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Gate</title></head>'
        f"<body><main><h1>Every gated kind</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html)


async def tracker(request: Request) -> Response:
    name = request.path_params["name"]
    stem, _, ext = name.rpartition(".")
    headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
    if ext == "js":
        return Response(ran(stem), media_type="text/javascript", headers=headers)
    if ext == "css":
        return Response("main{}", media_type="text/css", headers=headers)
    if ext == "svg":
        return Response(SVG, media_type="image/svg+xml", headers=headers)
    if ext == "html":
        return HTMLResponse("<p>frame</p>", headers=headers)
    if ext == "gif":
        return Response(GIF, media_type="image/gif", headers=headers)
    return Response(b"\0" * 64, media_type="application/octet-stream", headers=headers)


async def own(request: Request) -> Response:
    return Response(GIF, media_type="image/gif")


app = Starlette(routes=[Route("/", page), Route("/t/{name:path}", tracker), Route("/own.gif", own)])
