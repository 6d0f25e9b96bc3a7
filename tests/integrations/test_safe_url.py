"""The outbound URL guard: hostile URLs refused by their form or by what they resolve to, and the
guarded client connecting to the very address it checked (no second look-up to rebind)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import httpx
import pytest

from integrations.safe_http import guarded_client
from integrations.safe_url import (
    Policy,
    Unresolvable,
    UnsafeUrl,
    check_url,
    refusal,
    system_resolver,
    target,
)

STRICT = Policy(require_https=True)
DEV = Policy(require_https=False)
PUBLIC = "93.184.216.34"


class Table:
    """A resolver from a table: no network, and it counts the look-ups."""

    def __init__(self, answers: dict[str, Sequence[str] | list[Sequence[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        answer = self.answers.get(host)
        if answer is None:
            raise Unresolvable(f"{host} is not in the table")
        if answer and isinstance(answer[0], list):  # one answer per look-up, in turn
            turns: list[Sequence[str]] = answer  # type: ignore[assignment]
            return turns[min(len(self.asked) - 1, len(turns) - 1)]
        return answer  # type: ignore[return-value]


NAMES = Table(
    {
        "hooks.partner.example": [PUBLIC],
        "internal.partner.example": ["10.1.2.3"],
        "mixed.partner.example": [PUBLIC, "127.0.0.1"],
        "mapped.partner.example": ["::ffff:169.254.169.254"],
        "cgnat.partner.example": ["100.64.3.4"],
        "v6.partner.example": ["2606:2800:220:1:248:1893:25c8:1946"],
    }
)

HOSTILE = [
    # (url, words the reason must hold)
    ("http://127.0.0.1/", "loopback"),
    ("http://127.1.2.3:8080/admin", "loopback"),
    ("http://localhost/", "this machine"),
    ("http://LOCALHOST./", "this machine"),
    ("http://api.localhost/", "this machine"),
    ("http://[::1]/", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.1"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://[::ffff:7f00:1]/", "127.0.0.1"),
    ("http://[64:ff9b::a00:1]/", "10.0.0.1"),
    ("http://[2002:7f00:1::]/", "127.0.0.1"),
    ("http://2130706433/", "unusually"),
    ("http://0x7f.1/", "unusually"),
    ("http://0177.0.0.1/", "unusually"),
    ("http://127.1/", "unusually"),
    ("http://good@127.0.0.1/", "credentials"),
    ("http://good:pw@hooks.partner.example/", "credentials"),
    ("http://127.0.0.1\\@hooks.partner.example/", "backslash"),
    ("http://10.0.0.5/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://[fc00::1]/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://169.254.1.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://100.64.0.1/", "carrier-grade"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "address"),
    ("http://192.0.2.10/", "address"),
    ("http://internal.partner.example/", "private"),
    ("http://mixed.partner.example/", "loopback"),
    ("http://mapped.partner.example/", "metadata"),
    ("http://cgnat.partner.example/", "carrier-grade"),
    ("file:///etc/passwd", "http and https"),
    ("gopher://hooks.partner.example/", "http and https"),
    ("http:///nohost", "no host"),
    ("http://hooks.partner.example:99999/", "cannot be read"),
]


@pytest.mark.parametrize(("url", "why"), HOSTILE)
async def test_a_hostile_url_is_refused_and_says_why(url: str, why: str) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        await check_url(url, DEV, NAMES)
    assert why in refused.value.reason


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.partner.example/hook",
        "http://HOOKS.partner.example./hook",
        f"https://{PUBLIC}:8443/x",
        "https://v6.partner.example/",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/",
    ],
)
async def test_a_public_receiver_is_accepted(url: str) -> None:
    await check_url(url, DEV, NAMES)


async def test_plain_http_only_where_https_is_not_required() -> None:
    with pytest.raises(UnsafeUrl, match="https"):
        await check_url("http://hooks.partner.example/", STRICT, NAMES)
    assert (await check_url("https://hooks.partner.example/", STRICT, NAMES)).port == 443


async def test_an_unknown_name_is_unresolvable_not_refused() -> None:
    with pytest.raises(Unresolvable):
        await check_url("https://nowhere.partner.example/", STRICT, NAMES)


async def test_localhost_resolves_locally_and_is_refused_by_its_addresses() -> None:
    """The system's own resolver, without the internet: localhost's addresses are loopback."""
    addresses = await system_resolver("localhost", 80)
    assert addresses
    assert all(refusal(__import__("ipaddress").ip_address(a), DEV) for a in addresses)


def test_an_allow_list_lets_the_deployments_receivers_through_but_never_metadata() -> None:
    policy = Policy.parse(
        ["hooks.internal.", "10.2.0.0/16", " ", "[fd00:1::]/64", "169.254.0.0/16"],
        require_https=True,
    )
    assert policy.allow_hosts == {"hooks.internal"}
    ip = __import__("ipaddress").ip_address
    assert refusal(ip("10.2.3.4"), policy) is None
    assert refusal(ip("::ffff:10.2.3.4"), policy) is None
    assert refusal(ip("fd00:1::5"), policy) is None
    assert refusal(ip("10.3.0.1"), policy) is not None
    assert "metadata" in (refusal(ip("169.254.169.254"), policy) or "")
    assert "metadata" in (refusal(ip("169.254.169.254"), policy, host_allowed=True) or "")
    with pytest.raises(ValueError, match="neither"):
        Policy.parse(["not a host!"], require_https=True)


async def test_an_allowed_name_is_trusted_without_a_look_up() -> None:
    policy = Policy.parse(["hooks.internal"], require_https=True)
    table = Table({})
    assert (await check_url("https://hooks.internal/x", policy, table)).host == "hooks.internal"
    assert table.asked == []


def test_the_form_is_judged_before_any_look_up() -> None:
    assert target("https://Hooks.Partner.Example./a?b#c", STRICT).host == "hooks.partner.example"
    with pytest.raises(UnsafeUrl, match="spaces"):
        target("https://hooks.partner.example /", STRICT)
    with pytest.raises(UnsafeUrl, match="valid host"):
        target("https://hooks_partner!.example/", STRICT)


@dataclass
class LocalReceiver:
    """An HTTP/1.1 server on 127.0.0.1 that records what it gets and answers ``status``."""

    status: int = 204
    location: str | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append({"line": head[0], **headers})
        extra = f"Location: {self.location}\r\n" if self.location else ""
        writer.write(
            f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\n{extra}Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[LocalReceiver, LocalReceiver]]:
    one, two = LocalReceiver(), LocalReceiver()
    servers = []
    for receiver in (one, two):
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
        receiver.port = server.sockets[0].getsockname()[1]
        servers.append(server)
    yield one, two
    for server in servers:
        server.close()
        await server.wait_closed()


LOCAL = Policy.parse(["127.0.0.1/32"], require_https=False)


async def test_the_client_connects_to_the_checked_address_and_keeps_the_name(
    receivers: tuple[LocalReceiver, LocalReceiver],
) -> None:
    """The name resolves once per connection; a second answer (a rebinding) is never asked for,
    and the request still carries the name in its Host header."""
    receiver, _ = receivers
    rebinding = Table({"hooks.partner.example": [["127.0.0.1"], ["10.9.9.9"]]})
    async with guarded_client(LOCAL, rebinding) as client:
        answer = await client.post(
            f"http://hooks.partner.example:{receiver.port}/hook", content=b"{}"
        )
    assert answer.status_code == 204
    assert rebinding.asked == ["hooks.partner.example"]
    assert receiver.requests[0]["host"] == f"hooks.partner.example:{receiver.port}"
    assert receiver.requests[0]["line"].startswith("POST /hook ")


async def test_the_client_refuses_an_inside_address_before_connecting(
    receivers: tuple[LocalReceiver, LocalReceiver],
) -> None:
    receiver, _ = receivers
    async with guarded_client(DEV, Table({"evil.example": ["127.0.0.1"]})) as client:
        for url in (
            f"http://127.0.0.1:{receiver.port}/",
            f"http://localhost:{receiver.port}/",
            f"http://evil.example:{receiver.port}/",
        ):
            with pytest.raises(UnsafeUrl):
                await client.post(url, content=b"{}")
    async with guarded_client(STRICT, NAMES) as client:
        with pytest.raises(UnsafeUrl, match="https"):
            await client.post("http://hooks.partner.example/", content=b"{}")
    assert receiver.requests == []


async def test_the_client_does_not_follow_a_redirect(
    receivers: tuple[LocalReceiver, LocalReceiver],
) -> None:
    first, second = receivers
    first.status, first.location = 307, f"http://127.0.0.1:{second.port}/inside"
    async with guarded_client(LOCAL, NAMES) as client:
        answer = await client.post(f"http://127.0.0.1:{first.port}/", content=b"{}")
    assert answer.status_code == 307
    assert len(first.requests) == 1 and second.requests == []


async def test_an_unresolvable_host_is_a_connection_error_to_retry() -> None:
    async with guarded_client(DEV, Table({})) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post("http://gone.partner.example/", content=b"{}")
