"""Outbound URLs a partner gives us (webhooks, later message gateways): which ones we may call.

A URL is refused when its host is, or resolves to, an address inside a deployment or on its
host: loopback, private, link-local, carrier-grade NAT, multicast, unspecified, reserved, and
the cloud metadata services, whatever the spelling (an IPv4 address hidden in an IPv6 one, a
decimal or hexadecimal IPv4, a trailing dot, credentials before an ``@``). The checks on a URL
and on an address are pure functions; ``checked_addresses`` adds the resolution, through a
resolver the caller gives (tests give a table, production the system's ``getaddrinfo``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: ``(host, port) -> addresses``: the addresses a name stands for, as text.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

#: The instance metadata services of the clouds: they hand out credentials to whoever asks from
#: inside, so they are refused even inside a network the deployment allows.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle
        "169.254.170.2",  # AWS ECS task credentials
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
#: NAT64 prefixes: a gateway turns these into the IPv4 address in their last 32 bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
#: What may appear in a host name; anything else (a backslash, a space, a percent sign) is a
#: sign that two URL parsers could read two different hosts.
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class UnsafeUrl(ValueError):
    """A URL we will not call; ``reason`` is a sentence for a problem document or a log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unresolvable(Exception):
    """The name has no address now: a fault of the moment, not a refusal."""


@dataclass(frozen=True)
class Policy:
    """What a deployment lets its outbound calls reach.

    ``allow_hosts`` are names the deployment trusts (its own internal receivers): their addresses
    are not checked. ``allow_networks`` are address ranges it trusts. Neither reaches a metadata
    service.
    """

    require_https: bool = True
    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def parse(cls, entries: Iterable[str], *, require_https: bool) -> Policy:
        """Entries are host names or addresses and CIDR ranges (``10.2.0.0/16``, ``::1``)."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                bare = entry.replace("[", "").replace("]", "")  # [fd00::]/64 as in a URL
                networks.append(ipaddress.ip_network(bare, strict=False))
                continue
            except ValueError:
                pass
            name = normalise_host(entry)
            if not _HOST_NAME.match(name):
                raise ValueError(f"{entry!r} is neither a host name nor an address range")
            hosts.add(name)
        return cls(require_https, frozenset(hosts), tuple(networks))


@dataclass(frozen=True)
class Target:
    """Where a URL goes: its scheme, host (lower case, no trailing dot) and port."""

    scheme: str
    host: str
    port: int
    #: The host as an address, when the URL names one.
    address: IPAddress | None


def normalise_host(host: str) -> str:
    """Lower case, and no trailing dot: ``LocalHost.`` and ``localhost`` are one host."""
    return host.lower().rstrip(".")


def target(url: str, policy: Policy) -> Target:
    """Where ``url`` goes, or ``UnsafeUrl`` if its form alone is refused (before any look-up)."""
    if any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in url):
        raise UnsafeUrl("The URL holds spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"The URL cannot be read: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise UnsafeUrl("Only http and https URLs can be called")
    if scheme == "http" and policy.require_https:
        raise UnsafeUrl("Use an https URL: plain http is accepted in development only")
    if "@" in parts.netloc:
        # Credentials in a URL are where ``http://good@127.0.0.1/`` hides its real host.
        raise UnsafeUrl("The URL must not carry credentials (user@host)")
    host = normalise_host(parts.hostname or "")
    if not host:
        raise UnsafeUrl("The URL has no host")
    port = port or (443 if scheme == "https" else 80)
    address = _literal(host)
    if address is None and not _HOST_NAME.match(host):
        raise UnsafeUrl(f"{host!r} is not a valid host name")
    return Target(scheme=scheme, host=host, port=port, address=address)


def _literal(host: str) -> IPAddress | None:
    """The address a host spells, if it spells one; odd IPv4 spellings are refused outright,
    since resolvers read them differently (``2130706433``, ``0x7f.1`` and ``0177.1`` all mean
    127.0.0.1 to ``inet_aton``)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0] if ":" in host else host)
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
    except OSError:
        return None
    raise UnsafeUrl(f"{host!r} spells an IPv4 address unusually: write it as a.b.c.d")


def _embedded(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 one leads to: mapped, compatible, 6to4, Teredo, NAT64."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found.extend(address.teredo)
    compatible = address in _IPV4_COMPATIBLE and not (address.is_loopback or address.is_unspecified)
    if compatible or any(address in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def refusal(address: IPAddress, policy: Policy, *, host_allowed: bool = False) -> str | None:
    """Why ``address`` may not be called, or None when it may."""
    # The IPv4 address an IPv6 one leads to first: that is where the packets would go.
    forms: list[IPAddress] = [*_embedded(address), address]
    if any(a in METADATA for a in forms):
        return f"{address} is a cloud metadata address"
    if host_allowed or any(a in net for a in forms for net in policy.allow_networks):
        return None
    for a in forms:
        reason = _kind(a)
        if reason:
            return f"{address} is {reason}" + (f" (it leads to {a})" if a != address else "")
    return None


def _kind(a: IPAddress) -> str | None:
    if a.is_unspecified:
        return "an unspecified address"
    if a.is_loopback:
        return "a loopback address"
    if a.is_link_local:
        return "a link-local address"
    if a.is_multicast:
        return "a multicast address"
    if isinstance(a, ipaddress.IPv4Address) and a in _SHARED:
        return "a carrier-grade NAT address"
    if a.is_reserved:
        return "a reserved address"
    if a.is_private:
        return "a private address"
    if not a.is_global:
        return "not a public address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of ``host`` from the system's resolver (the same one a socket would use)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unresolvable(f"{host} does not resolve: {exc}") from exc
    return [str(info[4][0]) for info in infos]


async def checked_addresses(
    host: str, port: int, policy: Policy, resolve: Resolver
) -> list[IPAddress]:
    """The addresses to connect to for ``host``, every one of them checked: one refused
    address refuses the host, so that a name cannot pair a public address with an inside one
    and leave the choice to the connecting code."""
    host = normalise_host(host)
    literal = _literal(host)
    allowed = host in policy.allow_hosts
    if literal is not None:
        addresses = [literal]
    else:
        if not allowed and (host in _LOCAL_NAMES or host.endswith(".localhost")):
            raise UnsafeUrl(f"{host} names this machine")
        try:
            answers = await resolve(host, port)
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in answers]
        except Unresolvable:
            raise
        except (OSError, ValueError) as exc:
            raise Unresolvable(f"{host} does not resolve: {exc}") from exc
        if not addresses:
            raise Unresolvable(f"{host} has no address")
    for address in addresses:
        reason = refusal(address, policy, host_allowed=allowed)
        if reason:
            raise UnsafeUrl(f"{host} is refused: {reason}" if literal is None else reason)
    return list(dict.fromkeys(addresses))


async def check_url(url: str, policy: Policy, resolve: Resolver) -> Target:
    """Every check on ``url``: its form, then each address its host has now (a name the policy
    trusts is not looked up: nothing about its addresses would change the answer)."""
    where = target(url, policy)
    if where.host not in policy.allow_hosts:
        await checked_addresses(where.host, where.port, policy, resolve)
    return where
