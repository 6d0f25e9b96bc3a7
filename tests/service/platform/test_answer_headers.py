"""The headers every answer carries: nosniff everywhere, no-store on the API, HSTS on HTTPS."""

from __future__ import annotations

import re

import httpx

from service.app import api_routes, create_app
from service.observability import HSTS, answer_headers
from tests.conftest import TokenFactory, bearer, settings_for

#: Pages and files outside the API: the index, health, the document, the documentation, the
#: console (a redirect to sign in), its sign-in page, and a 404.
OUTSIDE_THE_API = (
    "/",
    "/healthz",
    "/openapi.json",
    "/docs",
    "/console/",
    "/console/sign-in",
    "/no-such-page",
)


def _get_routes() -> list[str]:
    """Every GET route of the API, its path parameters filled with an id nobody has."""
    return sorted(
        re.sub(r"\{[^}]+\}", "nobody-has-this-id", path)
        for path, route in api_routes()
        if "GET" in (route.methods or ())
    )


async def test_every_api_answer_is_nosniff_and_no_store(
    client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    token = await make_token()
    paths = _get_routes()
    assert len(paths) > 20
    for path in paths:
        for headers in (bearer(token), {}):  # an answer and a 401 problem alike
            answer = await client.get(path, headers=headers)
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert answer.headers["cache-control"] == "no-store", (path, answer.status_code)
    # A write refused is a problem, sent with them too.
    refused = await client.post("/api/v1/organizations", json={}, headers=bearer(token))
    assert refused.status_code == 422
    assert refused.headers["cache-control"] == "no-store"
    assert refused.headers["x-content-type-options"] == "nosniff"


async def test_answers_outside_the_api_are_nosniff_and_keep_their_own_caching(
    client: httpx.AsyncClient,
) -> None:
    for path in OUTSIDE_THE_API:
        answer = await client.get(path)
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert "strict-transport-security" not in answer.headers, path  # not served over HTTPS
    # no-store is the API's: the documentation's bundles may be cached.
    index = await client.get("/docs")
    bundle = re.search(r'src="(/[^"]+\.js)"', index.text)
    assert bundle is not None
    static = await client.get(bundle.group(1))
    assert static.status_code == 200
    assert static.headers.get("cache-control") != "no-store"


async def test_console_pages_are_no_store_and_its_static_files_are_not(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/console/")
    assert page.headers["cache-control"] == "no-store"
    static = await client.get("/console/static/map.js")
    assert static.status_code == 200
    assert static.headers.get("cache-control") != "no-store"
    assert static.headers["x-content-type-options"] == "nosniff"


def test_a_route_s_own_caching_is_kept_and_nothing_is_said_twice() -> None:
    own = [(b"cache-control", b"private, max-age=60"), (b"x-content-type-options", b"nosniff")]
    headers = answer_headers("/api/v1/things", own, served_over_https=False)
    assert headers == own
    assert answer_headers("/apiary", [], served_over_https=False) == [
        (b"x-content-type-options", b"nosniff")
    ]


async def test_hsts_only_when_the_deployment_is_served_over_https(database_url: str) -> None:
    settings = settings_for(database_url).model_copy(update={"served_over_https": True})
    https_app = create_app(settings, configure_logs=False)
    transport = httpx.ASGITransport(app=https_app)
    async with httpx.AsyncClient(transport=transport, base_url="https://lifeline.test") as https:
        for path in ("/no-such-page", "/api/v1/organizations"):
            answer = await https.get(path)
            assert answer.headers["strict-transport-security"] == HSTS.decode(), path
            assert "includeSubDomains" in answer.headers["strict-transport-security"]
