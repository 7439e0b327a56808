"""What a record keeps: reduced IPs, validated fields, stable hashes."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from gatekeeper.audit.record import (
    Draft,
    canonical_json,
    iso,
    personal_commitment,
    reduce_ip,
    texts_hash,
)
from tests.audit.conftest import NOW, event

KEY = b"test-secret-0123456789abcdef0123456789"


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("[2001:db8::1]", "2001:db8::/48"),
        ("not an address", None),
        (None, None),
    ],
)
def test_truncate_keeps_only_the_network(raw, kept):
    assert reduce_ip(raw, "truncate", KEY) == kept


def test_hash_is_keyed_stable_and_never_the_address():
    one = reduce_ip("203.0.113.77", "hash", KEY)
    assert one == reduce_ip("203.0.113.77", "hash", KEY)
    assert one != reduce_ip("203.0.113.78", "hash", KEY)
    assert one != reduce_ip("203.0.113.77", "hash", b"another key entirely, 32+ chars..")
    assert one is not None and one.startswith("hmac-sha256:") and "203.0.113" not in one
    # Mapped and plain IPv4 are one visitor.
    assert reduce_ip("::ffff:203.0.113.77", "hash", KEY) == one


def test_none_keeps_nothing():
    assert reduce_ip("203.0.113.77", "none", KEY) is None


@pytest.mark.parametrize("mode", ["truncate", "hash", "none"])
def test_a_draft_never_holds_the_raw_address(mode):
    draft = Draft.from_event(event(77, ip="198.51.100.77"), now=NOW, ip_mode=mode, ip_key=KEY)
    assert "198.51.100.77" not in repr(draft)


def test_draft_fields_and_commitment():
    draft = Draft.from_event(
        event(1, country="de", subdivision="de-by", user_agent="x" * 5000),
        now=NOW,
        ip_mode="truncate",
        ip_key=KEY,
    )
    assert draft.time == "2026-11-27T12:00:00.000000Z"
    assert draft.country == "DE" and draft.subdivision == "DE-BY"
    assert draft.user_agent is not None and len(draft.user_agent) == 512
    assert len(draft.event_id) == 32
    personal = {
        "consent_id": draft.consent_id,
        "country": draft.country,
        "subdivision": draft.subdivision,
        "ip": draft.ip,
        "user_agent": draft.user_agent,
        "path": draft.path,
    }
    assert draft.salt is not None
    assert personal_commitment(personal, draft.salt) == draft.personal_hash
    # A caller's own event id (for retries) is kept.
    again = Draft.from_event(event(1, event_id="retry-me"), now=NOW, ip_mode="none", ip_key=KEY)
    assert again.event_id == "retry-me"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"event": "accepted"}, ValueError),
        ({"mode": "strict"}, ValueError),
        ({"categories": {"analytics": "yes"}}, TypeError),
    ],
)
def test_bad_events_are_programming_errors(change, error):
    with pytest.raises(error):
        Draft.from_event(event(0, **change), now=NOW, ip_mode="none", ip_key=KEY)


def test_times_are_fixed_width_utc():
    plus_two = timezone(timedelta(hours=2))
    assert iso(datetime(2026, 1, 2, 5, 4, 3, tzinfo=plus_two)) == "2026-01-02T03:04:03.000000Z"
    assert iso(datetime(2026, 1, 2)) == "2026-01-02T00:00:00.000000Z"  # naive means UTC


def test_texts_hash_is_sha256_of_canonical_json():
    texts = {"title": "Ihre Privatsphäre", "accept": "Alle akzeptieren"}
    expected = hashlib.sha256(
        '{"accept":"Alle akzeptieren","title":"Ihre Privatsphäre"}'.encode()
    ).hexdigest()
    assert texts_hash(texts) == expected
    assert texts_hash(dict(reversed(list(texts.items())))) == expected
    assert canonical_json({"b": 1, "a": [True, None]}) == b'{"a":[true,null],"b":1}'
    with pytest.raises(TypeError):
        texts_hash({"title": 3})  # type: ignore[dict-item]
