"""The real client address of a request, believing proxy headers only from trusted proxies.

A proxy appends the address it received the request from to the right of the chain, so
only the right end of a chain was written by proxies we trust; everything to the left of
the first untrusted hop may have been sent by the client itself. The chain is therefore
walked right to left and the left-most entry is never taken on its own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from socket import AF_INET, AF_INET6, inet_pton

__all__ = ["HEADER_NAMES", "ClientAddress", "IPAddress", "ProxyTrust", "parse_ip"]

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

HEADER_NAMES = ("forwarded", "x-forwarded-for", "cf-connecting-ip")

# Longer than any address with a port and a zone id; rejecting early keeps an oversized
# header entry from reaching the ipaddress parser.
_MAX_ADDRESS_LENGTH = 64


def parse_ip(text: str) -> IPAddress | None:
    """One address as it appears in a header, or None when it is not an address.

    Accepts surrounding whitespace and quotes, "[v6]", "[v6]:port" and "v4:port"; an
    IPv4-mapped IPv6 address becomes the IPv4 address. "unknown", obfuscated identifiers
    ("_hidden") and anything else that is not an address give None.
    """
    text = text.strip().strip('"').strip()
    if not text or len(text) > _MAX_ADDRESS_LENGTH:
        return None
    if text[0] == "[":
        end = text.find("]")
        if end < 0:
            return None
        rest = text[end + 1 :]
        if rest and (rest[0] != ":" or not _is_port(rest[1:])):
            return None
        text = text[1:end]
    elif text.count(":") == 1:
        # One colon cannot be IPv6 (that needs at least two), so it separates a port.
        text, _, port = text.partition(":")
        if not _is_port(port):
            return None
    if ":" not in text:
        try:
            return IPv4Address(inet_pton(AF_INET, text))
        except (OSError, ValueError):  # ValueError: a NUL in the text
            return None
    try:
        ip: IPAddress = IPv6Address(inet_pton(AF_INET6, text))
    except (OSError, ValueError):
        # inet_pton is three times faster than ipaddress's parser, which is still
        # needed for what it leaves out, such as zone ids ("fe80::1%eth0").
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return None
    mapped = ip.ipv4_mapped if ip.version == 6 else None
    return ip if mapped is None else mapped


def _is_port(text: str) -> bool:
    # RFC 7239 allows an obfuscated port ("_abc") as well as a number.
    return (0 < len(text) <= 5 and text.isascii() and text.isdigit()) or text[:1] == "_"


@dataclass(frozen=True, slots=True)
class ClientAddress:
    """Where a request came from, as far as can be trusted."""

    ip: IPAddress | None
    via_proxy: bool
    proxy_country: str | None = None


class ProxyTrust:
    """Which proxies to trust and which of their headers to believe.

    `trusted` holds the networks (or single addresses) of the proxies in front of the
    app. `headers` names the headers to read from a trusted peer, most preferred first:
    "forwarded" (RFC 7239), "x-forwarded-for" and "cf-connecting-ip"; the last also
    makes the peer's CF-IPCountry the visitor's `proxy_country`. List only headers the
    trusted proxies set or strip: a header they pass through untouched is the client's
    to write.
    """

    __slots__ = ("_cloudflare", "_headers", "_v4", "_v6", "configured")

    def __init__(
        self,
        trusted: Iterable[str | IPNetwork | IPAddress] | str = (),
        headers: Iterable[str] | str = ("forwarded", "x-forwarded-for"),
    ) -> None:
        if isinstance(trusted, str):
            trusted = (trusted,)
        if isinstance(headers, str):
            headers = (headers,)
        networks = [_network(entry) for entry in trusted]
        v4 = ipaddress.collapse_addresses(n for n in networks if n.version == 4)
        v6 = ipaddress.collapse_addresses(n for n in networks if n.version == 6)
        # Integer (mask, prefix) pairs make the per-hop test one AND and one compare,
        # without ipaddress's type checks on every `in`.
        self._v4 = tuple((int(n.netmask), int(n.network_address)) for n in v4)
        self._v6 = tuple((int(n.netmask), int(n.network_address)) for n in v6)

        names: list[str] = []
        for header in headers:
            name = header.strip().lower()
            if name not in HEADER_NAMES:
                allowed = ", ".join(HEADER_NAMES)
                raise ValueError(f"unknown proxy header {header!r}; expected one of: {allowed}")
            if name not in names:
                names.append(name)
        self._headers = tuple(names)
        self._cloudflare = "cf-connecting-ip" in names
        self.configured = bool(self._v4 or self._v6)
        """Any proxy is trusted: only then do proxy headers matter at all."""

    @property
    def headers(self) -> tuple[str, ...]:
        return self._headers

    def is_trusted(self, ip: IPAddress) -> bool:
        """True when `ip` belongs to a trusted proxy."""
        networks = self._v4
        if ip.version == 6:
            mapped = ip.ipv4_mapped
            if mapped is None:
                networks = self._v6
            else:
                ip = mapped
        value = int(ip)
        return any(value & mask == prefix for mask, prefix in networks)

    def resolve(self, peer: str | None, headers: Mapping[str, str]) -> ClientAddress:
        """The client behind `peer` (scope["client"][0]).

        `headers` maps lower-case names to values, repeated lines joined with ", ".
        """
        peer_ip = parse_ip(peer) if peer else None
        if peer_ip is None or not self.is_trusted(peer_ip):
            return ClientAddress(peer_ip, via_proxy=False)

        ip, via_proxy = peer_ip, False
        for name in self._headers:
            value = headers.get(name)
            if value is None or not value.strip():
                continue
            if name == "x-forwarded-for":
                hops = _forwarded_for_hops(value)
            elif name == "forwarded":
                hops = _forwarded_hops(value)
            else:
                hops = iter((parse_ip(value),))
            ip, via_proxy = self._walk(peer_ip, hops)
            break

        country = _country(headers.get("cf-ipcountry")) if self._cloudflare else None
        return ClientAddress(ip, via_proxy, country)

    def _walk(self, peer: IPAddress, hops: Iterator[IPAddress | None]) -> tuple[IPAddress, bool]:
        last, via_proxy = peer, False
        for ip in hops:
            if ip is None:
                # Whatever lies left of an entry no proxy of ours would write is the
                # client's own invention; the last hop a trusted proxy vouched for stands.
                return last, via_proxy
            last, via_proxy = ip, True
            if not self.is_trusted(ip):
                return ip, True
        return last, via_proxy


def _network(entry: str | IPNetwork | IPAddress) -> IPNetwork:
    if isinstance(entry, str):
        text = entry.strip()
        try:
            network: IPNetwork = ipaddress.ip_network(text)
        except ValueError as exc:
            raise ValueError(
                f"trusted proxy {entry!r} is not an IP address or network: {exc}"
            ) from None
    elif isinstance(entry, IPv4Address | IPv6Address):
        network = ipaddress.ip_network(entry)
    else:
        network = entry
    if network.version == 6 and network.prefixlen >= 96:
        # Peers arrive as IPv4 once mapped addresses are normalised, so an IPv4-mapped
        # network has to be stored as the IPv4 network it stands for.
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return IPv4Network((mapped, network.prefixlen - 96))
    return network


def _forwarded_for_hops(value: str) -> Iterator[IPAddress | None]:
    """X-Forwarded-For entries, right-most first."""
    for entry in reversed(value.split(",")):
        if entry.strip():  # empty list elements are to be ignored (RFC 9110, 5.6.1)
            yield parse_ip(entry)


def _forwarded_hops(value: str) -> Iterator[IPAddress | None]:
    """The `for=` address of each RFC 7239 element, right-most first."""
    for element in _split_right(value, ","):
        if not element.strip():
            continue
        found: str | None = None
        duplicate = False
        for pair in _split_right(element, ";"):
            name, equals, raw = pair.partition("=")
            if equals and name.strip().lower() == "for":
                duplicate = found is not None
                found = raw
        if found is None or duplicate:
            # A hop without an address, or with two, was not written by a proxy that
            # follows the RFC, so nothing left of it can be trusted either.
            yield None
        else:
            yield parse_ip(found)


def _split_right(text: str, separator: str) -> Iterator[str]:
    """Parts of `text` between separators outside quoted strings, right-most first.

    Whether a stretch is quoted is counted from the right, where the trusted proxies
    wrote: an unbalanced quote sent by the client further left cannot shift it.
    Quoted-pair escapes are not honoured; no address or port contains a quote.
    """
    if '"' not in text:
        yield from reversed(text.split(separator))
        return
    stretches = text.split('"')
    last = len(stretches) - 1
    current = ""
    for index in range(last, -1, -1):
        stretch = stretches[index]
        if (last - index) % 2 == 0 and separator in stretch:
            pieces = stretch.split(separator)
            current = pieces[-1] + current
            for piece in reversed(pieces[:-1]):
                yield current
                current = piece
        else:
            current = stretch + current
        if index:
            current = '"' + current
    yield current


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    # XX is Cloudflare's "unknown" and T1 its Tor exit marker: neither is a country.
    if len(code) != 2 or not code.isascii() or not code.isalpha() or code == "XX":
        return None
    return code
