from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address

import pytest

from gatekeeper.net import ClientAddress, ProxyTrust, parse_ip

PROXY = "10.0.0.1"  # the peer: the reverse proxy directly in front of the app
CLIENT = "203.0.113.7"
SPOOFED = "198.51.100.66"

ALL_HEADERS = ("forwarded", "x-forwarded-for", "cf-connecting-ip")


def ip(text: str):
    return ip_address(text)


@pytest.fixture
def trust() -> ProxyTrust:
    return ProxyTrust(["10.0.0.0/8", "2001:db8:ffff::/48"])


# parse_ip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("  192.0.2.1\t", "192.0.2.1"),
        ('"192.0.2.1"', "192.0.2.1"),
        ("192.0.2.1:8080", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:4711", "2001:db8::1"),
        ('"[2001:db8::1]:4711"', "2001:db8::1"),
        ("[2001:db8::1]:_port", "2001:db8::1"),
        ("2001:DB8::A", "2001:db8::a"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("[::ffff:192.0.2.1]:443", "192.0.2.1"),
        ("::ffff:c000:201", "192.0.2.1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
    ],
)
def test_parse_ip_accepts_header_forms(text: str, expected: str) -> None:
    assert parse_ip(text) == ip(expected)


def test_parse_ip_turns_mapped_addresses_into_ipv4() -> None:
    assert parse_ip("::ffff:192.0.2.1").version == 4


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '""',
        "unknown",
        "_hidden",
        "_SEVKISEK",
        "not an address",
        "192.0.2",
        "192.0.2.256",
        "192.0.2.1.5",
        "01.2.3.4",
        "192.0.2.1:",
        "192.0.2.1:http",
        "192.0.2.1:123456",
        "[2001:db8::1",
        "[2001:db8::1]x",
        "[2001:db8::1]:",
        "[unknown]",
        "2001:db8::g",
        "192.0.2.1, 192.0.2.2",
        "1" * 200,
    ],
)
def test_parse_ip_rejects_garbage(text: str) -> None:
    assert parse_ip(text) is None


# configuration


def test_unknown_header_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="x-real-ip"):
        ProxyTrust(["10.0.0.0/8"], headers=["x-real-ip"])


def test_header_names_are_normalised_and_deduplicated() -> None:
    trust = ProxyTrust(headers=[" X-Forwarded-For", "x-forwarded-for", "Forwarded"])
    assert trust.headers == ("x-forwarded-for", "forwarded")


def test_invalid_trusted_network_is_rejected() -> None:
    with pytest.raises(ValueError, match="not-a-network"):
        ProxyTrust(["not-a-network"])


def test_trusted_accepts_strings_networks_and_addresses() -> None:
    trust = ProxyTrust(
        ["192.0.2.10", IPv4Network("198.51.100.0/24"), IPv6Network("2001:db8::/32"), ip("::1")]
    )
    assert trust.is_trusted(ip("192.0.2.10"))
    assert not trust.is_trusted(ip("192.0.2.11"))
    assert trust.is_trusted(ip("198.51.100.200"))
    assert trust.is_trusted(ip("2001:db8:1234::1"))
    assert not trust.is_trusted(ip("2001:db9::1"))
    assert trust.is_trusted(ip("::1"))
    assert not trust.is_trusted(ip("::2"))


def test_a_single_string_is_one_network() -> None:
    trust = ProxyTrust("10.0.0.0/8", headers="x-forwarded-for")
    assert trust.is_trusted(ip("10.1.2.3"))
    assert trust.headers == ("x-forwarded-for",)


def test_mapped_address_matches_ipv4_network(trust: ProxyTrust) -> None:
    assert trust.is_trusted(ip("::ffff:10.9.8.7"))
    assert not trust.is_trusted(ip("::ffff:11.9.8.7"))


def test_mapped_network_matches_ipv4_peer() -> None:
    trust = ProxyTrust(["::ffff:10.0.0.0/104"], headers=["x-forwarded-for"])
    assert trust.is_trusted(ip("10.1.1.1"))
    result = trust.resolve("10.1.1.1", {"x-forwarded-for": CLIENT})
    assert result.ip == ip(CLIENT)


def test_nothing_is_trusted_by_default() -> None:
    trust = ProxyTrust()
    result = trust.resolve("127.0.0.1", {"x-forwarded-for": SPOOFED, "forwarded": f"for={SPOOFED}"})
    assert result == ClientAddress(ip("127.0.0.1"), via_proxy=False, proxy_country=None)


# untrusted peers: every header is ignored


@pytest.mark.parametrize(
    "headers",
    [
        {"x-forwarded-for": SPOOFED},
        {"x-forwarded-for": f"{SPOOFED}, {PROXY}"},
        {"forwarded": f"for={SPOOFED}"},
        {"forwarded": f'for="{SPOOFED}";proto=https'},
        {"cf-connecting-ip": SPOOFED, "cf-ipcountry": "KP"},
    ],
)
def test_untrusted_peer_cannot_spoof(headers: dict[str, str]) -> None:
    trust = ProxyTrust(["10.0.0.0/8"], headers=ALL_HEADERS)
    result = trust.resolve(CLIENT, headers)
    assert result == ClientAddress(ip(CLIENT), via_proxy=False, proxy_country=None)


def test_untrusted_ipv6_peer_cannot_spoof(trust: ProxyTrust) -> None:
    result = trust.resolve("2001:db8:1::5", {"x-forwarded-for": SPOOFED})
    assert result.ip == ip("2001:db8:1::5")
    assert not result.via_proxy


def test_unknown_peer_gives_no_address(trust: ProxyTrust) -> None:
    assert trust.resolve(None, {"x-forwarded-for": SPOOFED}) == ClientAddress(None, False)
    assert trust.resolve("/run/app.sock", {"x-forwarded-for": SPOOFED}).ip is None


def test_trusted_peer_without_headers_is_the_client(trust: ProxyTrust) -> None:
    assert trust.resolve(PROXY, {}) == ClientAddress(ip(PROXY), via_proxy=False)
    assert trust.resolve(PROXY, {"x-forwarded-for": "  "}).ip == ip(PROXY)


# X-Forwarded-For


def test_xff_single_hop(trust: ProxyTrust) -> None:
    result = trust.resolve(PROXY, {"x-forwarded-for": CLIENT})
    assert result == ClientAddress(ip(CLIENT), via_proxy=True)


def test_xff_walks_right_to_left_past_trusted_hops(trust: ProxyTrust) -> None:
    # The client claims SPOOFED; the edge proxy appended the real CLIENT, then two of
    # our own proxies appended themselves.
    headers = {"x-forwarded-for": f"{SPOOFED}, {CLIENT}, 10.2.0.1, 10.3.0.1"}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_xff_never_takes_left_most_when_an_untrusted_hop_is_nearer(trust: ProxyTrust) -> None:
    headers = {"x-forwarded-for": f"{SPOOFED}, 127.0.0.1, {CLIENT}"}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_xff_all_trusted_gives_left_most(trust: ProxyTrust) -> None:
    headers = {"x-forwarded-for": "10.9.0.1, 10.8.0.1, 10.7.0.1"}
    assert trust.resolve(PROXY, headers) == ClientAddress(ip("10.9.0.1"), via_proxy=True)


def test_xff_garbage_stops_at_last_trusted_hop(trust: ProxyTrust) -> None:
    headers = {"x-forwarded-for": f"{SPOOFED}, garbage, 10.5.0.1"}
    assert trust.resolve(PROXY, headers) == ClientAddress(ip("10.5.0.1"), via_proxy=True)


def test_xff_garbage_in_first_hop_gives_the_peer(trust: ProxyTrust) -> None:
    headers = {"x-forwarded-for": f"{SPOOFED}, unknown"}
    assert trust.resolve(PROXY, headers) == ClientAddress(ip(PROXY), via_proxy=False)


def test_xff_skips_empty_elements(trust: ProxyTrust) -> None:
    headers = {"x-forwarded-for": f"{CLIENT}, , 10.5.0.1,"}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_xff_repeated_lines_joined(trust: ProxyTrust) -> None:
    # Two header lines, joined by the caller: the second line is the nearer one.
    headers = {"x-forwarded-for": f"{SPOOFED}, {CLIENT}"}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_xff_ipv6_and_port_forms(trust: ProxyTrust) -> None:
    headers = {"x-forwarded-for": "2001:db8:1::1, [2001:db8:2::2]:443, 10.5.0.1:80"}
    assert trust.resolve(PROXY, headers).ip == ip("2001:db8:2::2")
    headers = {"x-forwarded-for": f"{CLIENT}:5555, [2001:db8:ffff::9]"}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_xff_mapped_hop_is_checked_as_ipv4(trust: ProxyTrust) -> None:
    headers = {"x-forwarded-for": f"::ffff:{CLIENT}, ::ffff:10.5.0.1"}
    result = trust.resolve(PROXY, headers)
    assert result.ip == ip(CLIENT)
    assert result.ip.version == 4


def test_ipv6_peer_trusted(trust: ProxyTrust) -> None:
    result = trust.resolve("2001:db8:ffff::1", {"x-forwarded-for": CLIENT})
    assert result.ip == ip(CLIENT)


def test_mapped_peer_is_trusted_through_ipv4_network(trust: ProxyTrust) -> None:
    result = trust.resolve(f"::ffff:{PROXY}", {"x-forwarded-for": CLIENT})
    assert result == ClientAddress(ip(CLIENT), via_proxy=True)


def test_mapped_peer_untrusted_is_returned_as_ipv4(trust: ProxyTrust) -> None:
    result = trust.resolve(f"::ffff:{CLIENT}", {"x-forwarded-for": SPOOFED})
    assert result == ClientAddress(ip(CLIENT), via_proxy=False)


# Forwarded (RFC 7239)


def test_forwarded_single_element(trust: ProxyTrust) -> None:
    result = trust.resolve(PROXY, {"forwarded": f"for={CLIENT};proto=https;by=10.0.0.1"})
    assert result == ClientAddress(ip(CLIENT), via_proxy=True)


def test_forwarded_walks_right_to_left(trust: ProxyTrust) -> None:
    headers = {"forwarded": f"for={SPOOFED}, for={CLIENT};proto=https, for=10.4.0.1"}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_forwarded_quoted_ipv6_with_port(trust: ProxyTrust) -> None:
    headers = {"forwarded": 'for="[2001:db8:cafe::17]:4711";proto=http, for=10.4.0.1'}
    assert trust.resolve(PROXY, headers).ip == ip("2001:db8:cafe::17")


def test_forwarded_quoted_ipv4_with_port(trust: ProxyTrust) -> None:
    headers = {"forwarded": f'for="{CLIENT}:8443"'}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_forwarded_parameter_names_are_case_insensitive(trust: ProxyTrust) -> None:
    headers = {"forwarded": f"Proto=https; FOR={CLIENT} ;By=10.0.0.1"}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_forwarded_for_is_found_in_any_position(trust: ProxyTrust) -> None:
    headers = {"forwarded": f"by=10.0.0.1;host=example.com;for={CLIENT};proto=https"}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_forwarded_quoted_commas_do_not_split_elements(trust: ProxyTrust) -> None:
    headers = {"forwarded": f'for={CLIENT};host="a,b", for=10.4.0.1;host="c;d"'}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_forwarded_unbalanced_quote_from_client_does_not_hide_trusted_part(
    trust: ProxyTrust,
) -> None:
    # The client sent an unterminated quote; the proxies' elements to its right still
    # parse, so the client cannot push its address out of view.
    headers = {"forwarded": f'for="{SPOOFED}, for={CLIENT}, for="[2001:db8:ffff::2]"'}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_forwarded_obfuscated_hop_stops_the_walk(trust: ProxyTrust) -> None:
    headers = {"forwarded": f"for={SPOOFED}, for=_hidden, for=10.4.0.1"}
    assert trust.resolve(PROXY, headers) == ClientAddress(ip("10.4.0.1"), via_proxy=True)


def test_forwarded_unknown_hop_stops_the_walk(trust: ProxyTrust) -> None:
    headers = {"forwarded": f"for={SPOOFED}, for=unknown"}
    assert trust.resolve(PROXY, headers) == ClientAddress(ip(PROXY), via_proxy=False)


def test_forwarded_element_without_for_stops_the_walk(trust: ProxyTrust) -> None:
    headers = {"forwarded": f"for={SPOOFED}, proto=https;by=10.0.0.1"}
    assert trust.resolve(PROXY, headers).ip == ip(PROXY)


def test_forwarded_element_with_two_for_stops_the_walk(trust: ProxyTrust) -> None:
    headers = {"forwarded": f"for={CLIENT};for={SPOOFED}, for=10.4.0.1"}
    assert trust.resolve(PROXY, headers).ip == ip("10.4.0.1")


def test_forwarded_all_trusted_gives_left_most(trust: ProxyTrust) -> None:
    headers = {"forwarded": 'for=10.6.0.1, for="[2001:db8:ffff::3]"'}
    assert trust.resolve(PROXY, headers).ip == ip("10.6.0.1")


def test_forwarded_is_preferred_over_xff_by_default(trust: ProxyTrust) -> None:
    headers = {"forwarded": f"for={CLIENT}", "x-forwarded-for": SPOOFED}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_configured_order_decides_the_header() -> None:
    trust = ProxyTrust(["10.0.0.0/8"], headers=["x-forwarded-for", "forwarded"])
    headers = {"forwarded": f"for={SPOOFED}", "x-forwarded-for": CLIENT}
    assert trust.resolve(PROXY, headers).ip == ip(CLIENT)


def test_falls_back_to_next_header_when_first_is_absent(trust: ProxyTrust) -> None:
    assert trust.resolve(PROXY, {"x-forwarded-for": CLIENT}).ip == ip(CLIENT)


def test_headers_not_configured_are_ignored() -> None:
    trust = ProxyTrust(["10.0.0.0/8"], headers=["forwarded"])
    result = trust.resolve(PROXY, {"x-forwarded-for": SPOOFED, "cf-connecting-ip": SPOOFED})
    assert result == ClientAddress(ip(PROXY), via_proxy=False)


def test_no_headers_configured_means_the_peer_is_the_client() -> None:
    trust = ProxyTrust(["10.0.0.0/8"], headers=())
    assert trust.resolve(PROXY, {"x-forwarded-for": SPOOFED}).ip == ip(PROXY)


# CF-Connecting-IP and CF-IPCountry


@pytest.fixture
def cloudflare() -> ProxyTrust:
    return ProxyTrust(["10.0.0.0/8"], headers=["cf-connecting-ip", "x-forwarded-for"])


def test_cf_connecting_ip_and_country(cloudflare: ProxyTrust) -> None:
    headers = {"cf-connecting-ip": CLIENT, "cf-ipcountry": "de", "x-forwarded-for": SPOOFED}
    result = cloudflare.resolve(PROXY, headers)
    assert result == ClientAddress(ip(CLIENT), via_proxy=True, proxy_country="DE")


def test_cf_connecting_ip_ipv6(cloudflare: ProxyTrust) -> None:
    result = cloudflare.resolve(PROXY, {"cf-connecting-ip": "2001:db8:beef::1"})
    assert result.ip == ip("2001:db8:beef::1")


def test_cf_connecting_ip_takes_a_single_address(cloudflare: ProxyTrust) -> None:
    result = cloudflare.resolve(PROXY, {"cf-connecting-ip": f"{SPOOFED}, {CLIENT}"})
    assert result == ClientAddress(ip(PROXY), via_proxy=False)


@pytest.mark.parametrize("value", ["XX", "T1", "", "GBR", "1A", "ü1", None])
def test_cf_ipcountry_that_is_not_a_country_is_dropped(
    cloudflare: ProxyTrust, value: str | None
) -> None:
    headers = {"cf-connecting-ip": CLIENT}
    if value is not None:
        headers["cf-ipcountry"] = value
    assert cloudflare.resolve(PROXY, headers).proxy_country is None


def test_cf_headers_ignored_unless_configured(trust: ProxyTrust) -> None:
    headers = {"cf-connecting-ip": SPOOFED, "cf-ipcountry": "KP"}
    assert trust.resolve(PROXY, headers) == ClientAddress(ip(PROXY), via_proxy=False)
    headers["x-forwarded-for"] = CLIENT
    assert trust.resolve(PROXY, headers) == ClientAddress(ip(CLIENT), via_proxy=True)


def test_cf_country_ignored_from_untrusted_peer(cloudflare: ProxyTrust) -> None:
    result = cloudflare.resolve(CLIENT, {"cf-connecting-ip": SPOOFED, "cf-ipcountry": "KP"})
    assert result.proxy_country is None
    assert result.ip == ip(CLIENT)
