"""An alert's headline holding markup, on a crisis map in Chromium: its tooltip shows the
headline as text, with no element made of it and no handler run."""

from __future__ import annotations

import uuid

import httpx
from playwright.async_api import Page, expect

from service.alerts.models import AlertRecord
from service.auth.permissions import Role
from service.crises.models import CrisisAlert
from service.db import make_engine, make_sessionmaker, session_scope
from tests.browser.signing_in import sign_in
from tests.conftest import bearer
from tests.live import KL_ZONE, Live, Seeded

#: What a feed, a CAP push or an integration could put in a headline.
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><b>bold</b> flood warning"
#: The stroke ``map.js`` draws the hazard's geometry with.
HAZARD_STROKE = "#b35900"


async def crisis_with_hostile_alert(live: Live[Seeded]) -> str:
    """A crisis of its own (the seeded one is others' to read), its alert's headline HOSTILE."""
    admin = bearer(live.seeded.tokens[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live.url, headers=admin) as api:
        made = await api.post(
            "/api/v1/crises",
            json={
                "title": f"Markup drill {uuid.uuid4().hex[:6]}",
                "hazard": "flood",
                "severity": "severe",
                "exercise": True,
                "zones": KL_ZONE,
            },
        )
        assert made.status_code == 201, made.text
    crisis: str = made.json()["id"]
    engine = make_engine(live.database_url)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            alert = AlertRecord(
                source="test-markup",
                external_id=uuid.uuid4().hex,
                version="1",
                hazard="flood",
                severity=3,
                certainty="likely",
                urgency="expected",
                status="exercise",
                msg_type="alert",
                headline=HOSTILE,
                geometry=KL_ZONE,
            )
            session.add(alert)
            session.add(CrisisAlert(crisis_id=crisis, alert_id=alert.id, alert_version="1"))
    finally:
        await engine.dispose()
    return crisis


async def test_a_headline_holding_markup_shows_as_text_in_its_tooltip(
    page: Page, live: Live[Seeded]
) -> None:
    crisis = await crisis_with_hostile_alert(live)
    at = f"/console/crises/{crisis}"
    await sign_in(page, live.seeded.people[Role.ADMIN], at=at)
    hazard = page.locator(f'#map path[stroke="{HAZARD_STROKE}"]')
    await expect(hazard).to_have_count(1)
    await hazard.dispatch_event("mouseover")
    tooltip = page.locator(".leaflet-tooltip")
    await expect(tooltip).to_be_visible()
    await expect(tooltip).to_have_text(HOSTILE)
    # Nothing was made of the markup: no image, no bold, no handler run.
    assert await page.locator("#map img[src='x'], .leaflet-tooltip b").count() == 0
    assert await page.title() != "pwned"
