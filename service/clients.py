"""The client address of a request, as the limits count it and as the logs may name it.

The address is the one uvicorn gives (``lifeline serve`` runs it with ``proxy_headers``: behind
a proxy it trusts, ``X-Forwarded-For``'s client, else the peer). An address is personal data in
some laws: the audit log and the logs get a keyed hash of it and its network cut short, never
the address itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from starlette.requests import HTTPConnection

UNKNOWN = "unknown"


def network_of(host: str) -> str:
    """The address a limit counts: an IPv4 address as it is (an IPv4-mapped IPv6 one too), an
    IPv6 address by its /64, the least a single subscriber is given (2^64 addresses of one
    household must not be 2^64 budgets)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_network(request: HTTPConnection) -> str:
    """The network (``network_of``) of the request's client."""
    return network_of(request.client.host if request.client else UNKNOWN)


def truncated(network: str) -> str:
    """``network`` cut short enough to name no one: an IPv4 address's /24, an IPv6 one's /48
    (an operator can still tell a provider's block, and block it)."""
    try:
        parsed = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return UNKNOWN
    prefix = 24 if parsed.version == 4 else 48
    return str(parsed.supernet(new_prefix=min(prefix, parsed.prefixlen)))


def keyed_hash(network: str, secret: str) -> str:
    """A keyed hash of ``network``: the same address is the same value in every entry, and no
    one without the key can try all 2^32 IPv4 addresses against it."""
    key = hashlib.sha256(b"lifeline-client-address/" + secret.encode()).digest()
    return hmac.new(key, network.encode(), hashlib.sha256).hexdigest()[:32]
