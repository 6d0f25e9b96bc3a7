"""``/`` says what the service is and leads to its documentation; ``/docs`` (Swagger UI) and
``/redoc`` draw the whole OpenAPI document in a browser without asking any other host."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.live import Live

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


async def operations(live: Live) -> int:
    """The operations of the document the server serves."""
    async with httpx.AsyncClient(base_url=live.url) as client:
        document = (await client.get("/openapi.json")).json()
    return sum(1 for item in document["paths"].values() for method in item if method in METHODS)


async def test_the_index_says_what_this_is_and_leads_to_the_documentation(page: Page) -> None:
    await page.goto("/")
    await expect(page).to_have_title("Lifeline")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Lifeline")
    await expect(
        page.get_by_text("Crisis response coordination for migrant workers")
    ).to_be_visible()
    for path in ("/docs", "/redoc", "/openapi.json"):
        await expect(page.get_by_role("link", name=path, exact=True)).to_have_attribute(
            "href", path
        )
    await page.get_by_role("link", name="/docs", exact=True).click()
    await expect(page).to_have_url(f"{page.url.split('/docs')[0]}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Lifeline")


@pytest.mark.parametrize(
    ("path", "operation", "title"),
    [
        # Swagger UI: one block an operation, every tag open.
        ("/docs", ".swagger-ui .opblock", ".swagger-ui .info .title"),
        # ReDoc: one section an operation (and one more under its tag, left out here).
        ("/redoc", "[data-section-id^='operation/']", "h1"),
    ],
)
async def test_the_documentation_draws_every_operation_offline(
    page: Page, live: Live, path: str, operation: str, title: str
) -> None:
    await page.goto(path)
    drawn = page.locator(operation)
    await expect(drawn.first).to_be_attached()
    await expect(drawn).to_have_count(await operations(live))
    await expect(page.locator(title).first).to_contain_text("Lifeline")
