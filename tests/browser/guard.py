"""What a page may not do in the browser tests: ask any host but the live server for anything
(the request is refused, as a closed network would), or print an error to its console."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, ConsoleMessage, Error, Page, Route, WebSocketRoute

ANY = re.compile(".*")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Guard:
    """Watches every page of a browser context; ``check`` fails on what it saw."""

    allowed: str
    #: Requests to another host, refused: "METHOD URL".
    foreign: list[str] = field(default_factory=list)
    #: Console errors and uncaught exceptions: "page URL: message".
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.allowed = origin(self.allowed)

    @property
    def problems(self) -> list[str]:
        return [f"request to another host: {r}" for r in self.foreign] + [
            f"console error: {e}" for e in self.errors
        ]

    async def watch(self, context: BrowserContext) -> None:
        await context.route("**/*", self._route)
        await context.route_web_socket(ANY, self._route_web_socket)
        context.on("page", self._watch_page)
        for page in context.pages:
            self._watch_page(page)

    def _watch_page(self, page: Page) -> None:
        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                where = message.location.get("url") or page.url
                self.errors.append(f"{where}: {message.text}")

        def uncaught(error: Error) -> None:
            self.errors.append(f"{page.url}: uncaught {error.name}: {error.message}")

        page.on("console", console)
        page.on("pageerror", uncaught)

    async def _route(self, route: Route) -> None:
        request = route.request
        if origin(request.url) == self.allowed:
            await route.continue_()
            return
        self.foreign.append(f"{request.method} {request.url}")
        await route.abort("blockedbyclient")

    async def _route_web_socket(self, socket: WebSocketRoute) -> None:
        http = socket.url.replace("ws", "http", 1)
        if origin(http) == self.allowed:
            socket.connect_to_server()
            return
        self.foreign.append(f"WEBSOCKET {socket.url}")
        await socket.close()

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)
