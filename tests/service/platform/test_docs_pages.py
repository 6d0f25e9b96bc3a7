"""The documentation pages name their language, and ReDoc's bundle, served with its one address
of another host (the Redocly logo of its menu) replaced, asks no other host for anything."""

from __future__ import annotations

import httpx
import pytest

from service.docs import REDOC_LOGO


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_documentation_pages_are_in_english(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert '<html lang="en">' in response.text


async def test_the_redoc_bundle_loads_no_logo_from_the_cdn(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/assets/redoc.standalone.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    cdn, instead = REDOC_LOGO
    assert cdn.decode() not in response.text
    assert "cdn.redoc.ly" not in response.text
    assert f'src:"{instead.decode()}"' in response.text
    # The rest of the folder is served as it was.
    assert (await client.get("/docs/assets/swagger-ui.css")).status_code == 200
