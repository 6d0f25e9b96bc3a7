"""An httpx transport that calls only the URLs ``safe_url`` lets through, to the address it checked.

The check sits where the connection is made: the host is resolved once, every address is
checked, and the socket is opened to a checked address, never to the name. A DNS answer that
changes between the check and the connection (DNS rebinding) therefore cannot win, and the
request keeps its name everywhere else: the URL, the ``Host`` header, TLS's server name and the
certificate check. A redirect or a retry makes a new connection, checked the same way.
"""

from __future__ import annotations

import asyncio
import typing

import httpcore
import httpx

from integrations.safe_url import (
    Policy,
    Resolver,
    Unresolvable,
    checked_addresses,
    system_resolver,
    target,
)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections to checked addresses only."""

    def __init__(self, policy: Policy, resolve: Resolver) -> None:
        self.policy = policy
        self.resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(
                checked_addresses(host, port, self.policy, self.resolve), timeout
            )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from exc
        except Unresolvable as exc:
            # Not a refusal: the receiver may be back in DNS later, so this is retried.
            raise httpcore.ConnectError(str(exc)) from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Unix sockets are not reachable through a guarded client")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (its pooling, TLS and error mapping), connecting through
    ``GuardedBackend``, and refusing a URL's form (scheme, credentials) before any look-up."""

    def __init__(
        self,
        policy: Policy,
        resolve: Resolver = system_resolver,
        *,
        limits: httpx.Limits = httpx.Limits(),
    ) -> None:
        # No proxy from the environment: a proxy would resolve the name itself, out of our sight.
        super().__init__(trust_env=False, limits=limits)
        self.policy = policy
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolve),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target(str(request.url), self.policy)
        return await super().handle_async_request(request)


def guarded_client(
    policy: Policy,
    resolve: Resolver = system_resolver,
    *,
    limits: httpx.Limits = httpx.Limits(),
    timeout: float = 10.0,
) -> httpx.AsyncClient:
    """A client for URLs that partners give: guarded, no proxy, and redirects not followed (a
    redirect is the receiver's answer, recorded as such, never a new place to post to)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, resolve, limits=limits),
        follow_redirects=False,
        trust_env=False,
        timeout=timeout,
    )
