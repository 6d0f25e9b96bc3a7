"""``/``, ``/docs`` and ``/redoc`` work without internet: every file they load is served here."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
URL_IN_PAGE = re.compile(r"""url:\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_documentation_loads_nothing_from_elsewhere(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert not re.search(r"https?://", text), re.findall(r"https?://\S+", text)
    assert "//" not in "".join(ASSET.findall(text)).replace("://", "")
    assets = (
        ASSET.findall(text) + URL_IN_PAGE.findall(text) + re.findall(r'spec-url="([^"]+)"', text)
    )
    assert any(a.endswith(".js") for a in assets), assets
    assert "/openapi.json" in assets
    for asset in assets:
        assert asset.startswith("/"), asset
        loaded = await client.get(asset)
        assert loaded.status_code == 200, asset


async def test_the_swagger_ui_is_one_that_reads_openapi_3_1(client: httpx.AsyncClient) -> None:
    assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.1")
    bundle = (await client.get("/docs/assets/swagger-ui-bundle.js")).text
    # Swagger UI reads OpenAPI 3.1 from version 5 on; 4 shows "Unable to render this definition".
    assert "OpenAPI 3.1" in bundle or "openapi31" in bundle.lower()


async def test_the_root_says_what_this_is_and_where_to_go(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert "Lifeline" in text and "migrant workers" in text
    for path in ("/docs", "/openapi.json", "/healthz", "/readyz"):
        assert f'href="{path}"' in text, path
        assert (await client.get(path)).status_code in {200, 503}, path
    # A strict policy is coming with the console: nothing inline, nothing from elsewhere.
    assert "<script" not in text and "style=" not in text and "<style" not in text
    assert not re.search(r"https?://", text)
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_the_root_answers_json_to_who_asks_for_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Lifeline"
    assert {link["href"] for link in body["links"]} >= {
        "/docs",
        "/openapi.json",
        "/healthz",
        "/readyz",
    }
    assert "accept" in response.headers["vary"].lower()


def test_the_public_pages_are_the_only_paths_outside_the_api(app: FastAPI) -> None:
    spec = app.openapi()
    outside = {path for path in spec["paths"] if not path.startswith("/api/")}
    # /metrics is outside the API but not public: it takes the metrics token (test_metrics.py).
    assert outside == {"/", "/healthz", "/readyz", "/metrics"}
    assert spec["paths"]["/metrics"]["get"]["security"] == [{"MetricsToken": []}]
    answers = spec["paths"]["/"]["get"]["responses"]["200"]["content"]
    assert set(answers) == {"text/html", "application/json"}
