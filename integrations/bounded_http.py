"""An HTTP exchange bounded as a whole: one deadline from the request to the last byte of the
answer, and at most so many bytes of answer read.

httpx's timeouts bound each read, so a peer that answers a byte a second never trips them, and
``client.post`` reads the whole body into memory, however long it is. The outbound calls to
peers the deployment does not run (webhook receivers, messaging gateways) go through here, and
fail the way a lost connection fails: an ``httpx`` error, retried by their callers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

#: Most bytes of answer read from a peer: its answers are a status and a little JSON.
MAX_ANSWER_BYTES = 1_000_000
#: Headers that describe the body as it came over the wire, not as read (decoded).
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class ExchangeTimeout(httpx.TimeoutException):
    """The whole exchange, answer included, took longer than its deadline."""


class AnswerTooLarge(httpx.RequestError):
    """The answer is longer than the limit: left unread past it, the connection closed."""


async def bounded_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    deadline_s: float,
    max_bytes: int = MAX_ANSWER_BYTES,
    **kwargs: Any,
) -> httpx.Response:
    """``client.request(method, url, **kwargs)``, over within ``deadline_s`` seconds and reading
    at most ``max_bytes`` of the answer (counted decoded: a small gzip bomb is stopped too).

    Returns
    -------
    httpx.Response
        The answer, its body read (``.content``, ``.json()`` work as usual).

    Raises
    ------
    ExchangeTimeout
        An ``httpx.TimeoutException``: the deadline passed.
    AnswerTooLarge
        An ``httpx.RequestError``: the answer declared or sent more than ``max_bytes``.
    httpx.HTTPError
        Whatever else the exchange raises, as ``client.request`` would.
    """
    try:
        async with (
            asyncio.timeout(deadline_s),
            client.stream(method, url, **kwargs) as response,
        ):
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise AnswerTooLarge(
                    f"the answer of {declared} bytes is over the {max_bytes}-byte limit"
                )
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise AnswerTooLarge(f"the answer is over the {max_bytes}-byte limit")
    except TimeoutError as exc:
        raise ExchangeTimeout(f"no complete answer within {deadline_s:g} s") from exc
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=response.request
    )
