"""Reading the nonce from a response's Content-Security-Policy."""

from __future__ import annotations

import pytest

from gatekeeper.html import csp_nonce


def csp(*values: str, name: bytes = b"content-security-policy") -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"text/html")] + [(name, v.encode("latin-1")) for v in values]


def test_no_csp_header_means_no_nonce() -> None:
    assert csp_nonce([(b"content-type", b"text/html")]) is None
    assert csp_nonce([]) is None


@pytest.mark.parametrize(
    ("policy", "nonce"),
    [
        ("script-src 'self' 'nonce-abc123'", "abc123"),
        ("default-src 'self' 'nonce-R4nd0m+/='", "R4nd0m+/="),
        ("default-src 'none'; script-src 'nonce-fromScript'", "fromScript"),
        ("script-src 'nonce-fromScript'; default-src 'nonce-fromDefault'", "fromScript"),
        ("script-src-elem 'nonce-elem'; script-src 'nonce-attr'", "elem"),
        ("object-src 'none'; script-src 'strict-dynamic' 'nonce-a_b-c=='", "a_b-c=="),
        ("SCRIPT-SRC 'NONCE-CaseKept'", "CaseKept"),
        ("  script-src   'nonce-spaced'  ;  ", "spaced"),
        ("img-src *; style-src 'nonce-styleOnly'", "styleOnly"),
        ("style-src-elem 'nonce-se'; style-src 'nonce-s'", "se"),
    ],
)
def test_nonce_from_the_governing_directive(policy: str, nonce: str) -> None:
    assert csp_nonce(csp(policy)) == nonce


@pytest.mark.parametrize(
    "policy",
    [
        "script-src 'self'",
        "default-src 'self'",
        # script-src and style-src govern, so default-src's nonce helps neither.
        "script-src 'self'; style-src 'self'; default-src 'nonce-unused'",
        "script-src-elem 'self'; script-src 'nonce-unused'",
        "img-src 'nonce-notascriptdirective'",
        "script-src 'nonce-'",
        "script-src 'nonce-bad$chars'",
        "script-src 'nonce-a=b'",
        "script-src 'nonce-toomuchpadding==='",
        "script-src nonce-unquoted",
        "script-src 'sha256-abc='",
    ],
)
def test_no_usable_nonce(policy: str) -> None:
    assert csp_nonce(csp(policy)) is None


def test_style_nonce_when_scripts_have_none() -> None:
    # Scripts are governed by script-src (no nonce), styles fall back to default-src.
    assert csp_nonce(csp("script-src 'self'; default-src 'nonce-forStyles'")) == "forStyles"


def test_report_only_is_ignored() -> None:
    headers = csp("script-src 'nonce-reportonly'", name=b"content-security-policy-report-only")
    assert csp_nonce(headers) is None


def test_report_only_does_not_shadow_the_enforced_policy() -> None:
    report_only = (b"content-security-policy-report-only", b"script-src 'nonce-reportonly'")
    headers = [report_only, *csp("script-src 'nonce-enforced'")]
    assert csp_nonce(headers) == "enforced"


def test_header_name_is_case_insensitive() -> None:
    assert csp_nonce([(b"Content-Security-Policy", b"script-src 'nonce-X1'")]) == "X1"


def test_several_policies_in_one_header_and_in_several_headers() -> None:
    assert csp_nonce(csp("img-src 'self', script-src 'nonce-second'")) == "second"
    assert csp_nonce(csp("frame-ancestors 'none'", "script-src 'nonce-other'")) == "other"


def test_first_policy_with_a_script_nonce_wins_over_a_style_nonce() -> None:
    headers = csp("style-src 'nonce-style'", "script-src 'nonce-script'")
    assert csp_nonce(headers) == "script"


def test_repeated_directive_first_one_applies() -> None:
    assert csp_nonce(csp("script-src 'self'; script-src 'nonce-ignored'")) is None
    assert csp_nonce(csp("script-src 'nonce-first'; script-src 'nonce-second'")) == "first"
