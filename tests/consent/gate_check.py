"""The differential check shared by the corpus and the property tests: gate a document,
then let the oracle compare both parses."""

from __future__ import annotations

from collections.abc import Callable

from gatekeeper.consent.gate import ScriptGate

from .gate_oracle import HOSTS, PAGE, XLINK_HREF, Oracle, parse

GATE = ScriptGate(HOSTS)


def allows_only(*allowed: str) -> Callable[[str], bool]:
    return lambda category: category in ("necessary", *allowed)


def gate(doc: bytes, allows: Callable[[str], bool], tcf=None, cuts: tuple[int, ...] = ()) -> bytes:
    stream = GATE.stream(allows, tcf, page_host=PAGE)
    out, last = [], 0
    for cut in (*cuts, len(doc)):
        out.append(stream.feed(doc[last:cut]))
        last = cut
    out.append(stream.finish())
    return b"".join(out)


def restored(element, original) -> dict[str, str]:
    """What gatekeeper.js's activate makes of a gated element's attributes."""
    attrs = {k: v for k, v in element.attrib.items() if not k.startswith("data-gk-")}
    for key, value in element.attrib.items():
        if key.startswith("data-gk-"):
            name = key[len("data-gk-") :]
            attrs[XLINK_HREF if name == "xlink-href" else name] = value
    if element.tag.endswith("}script") and "data-gk-type" not in element.attrib:
        attrs.pop("type", None)
    for added in ("data-consent", "data-tcf-vendor", "data-tcf-purposes"):
        if added not in original.attrib:
            attrs.pop(added, None)
    return attrs


def check(doc: bytes, allows: Callable[[str], bool], tcf=None, gated: bytes | None = None) -> int:
    """Assert the gate's output against the oracle; the number of elements it held back."""
    if gated is None:
        gated = gate(doc, allows, tcf)
    oracle = Oracle(allows, tcf)
    before, after = parse(doc), parse(gated)
    verdicts = {id(v.element): v for v in oracle.verdicts(before)}
    for v in oracle.verdicts(after):
        assert not oracle.refused(v), f"live refused element {v.name} {v.element.attrib}"
    held = 0
    stack = [(before, after)]
    while stack:
        a, b = stack.pop()
        assert a.tag == b.tag, (a.tag, b.tag)
        assert a.text == b.text, (a.text, b.text)
        assert a.tail == b.tail, (a.tail, b.tail)
        assert len(a) == len(b), (a.tag, len(a), len(b))
        verdict = verdicts.get(id(a))
        if verdict is not None and oracle.refused(verdict):
            held += 1
            assert not oracle.urls(b)[1], f"gated element still loads: {b.attrib}"
            assert restored(b, a) == dict(a.attrib), (b.attrib, a.attrib)
        else:
            assert dict(a.attrib) == dict(b.attrib), (a.tag, a.attrib, b.attrib)
        stack.extend(zip(a, b, strict=True))
    return held
