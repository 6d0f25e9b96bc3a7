"""The crisis map gives Leaflet text, never HTML: the script builds each tooltip from a text
node, and the map's data carries an alert's headline as a JSON string, as written."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from fastapi import FastAPI

from service.alerts.models import AlertRecord
from service.crises.models import CrisisAlert
from service.db import session_scope
from tests.conftest import TokenFactory, bearer
from tests.live import KL_ZONE

MAP_JS = Path(__file__).parents[3] / "service" / "console" / "static" / "map.js"
HOSTILE = '<img src=x onerror="alert(1)"><b>bold</b> flood warning'


def test_every_tooltip_and_popup_of_the_map_script_is_given_text() -> None:
    source = MAP_JS.read_text()
    calls = re.findall(r"\.(bind(?:Tooltip|Popup)|setContent|setTooltipContent)\((.*)\)", source)
    assert calls, "the map binds its tooltips"
    assert all(argument.startswith("asText(") for _, argument in calls), calls
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source
    assert re.search(r"function asText\(text\) \{[^}]*\.textContent = text;", source)


async def test_the_map_data_carries_a_headline_as_data_not_markup(
    app: FastAPI, client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    admin = bearer(await make_token())
    made = await client.post(
        "/api/v1/crises",
        json={
            "title": f"Markup {uuid.uuid4().hex[:6]}",
            "hazard": "flood",
            "severity": "severe",
            "exercise": True,
            "zones": KL_ZONE,
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    crisis = made.json()["id"]
    async with session_scope(app.state.sessionmaker) as session:
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
    answer = await client.get(f"/console/crises/{crisis}/map.json", headers=admin)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    hazards = [f for f in answer.json()["features"] if f["properties"]["layer"] == "hazard"]
    assert [f["properties"]["name"] for f in hazards] == [HOSTILE]
