"""The console's welfare page: it lists what the person may see, records an outcome posted with
the session's CSRF token (and refuses one without), and exports the CSV without notes."""

from __future__ import annotations

import csv
import io
import re

import httpx
from fastapi import FastAPI

from service.auth.permissions import Role
from tests.conftest import OrgFactory, bearer, make_token_in
from tests.service.users.helpers import browser, enrol, make_person
from tests.service.welfare.test_welfare import declare, outcome, register


async def test_the_page_records_with_the_csrf_token_and_exports(
    app: FastAPI, client: httpx.AsyncClient, make_org: OrgFactory
) -> None:
    org = await make_org()
    coordinator = bearer(await make_token_in(app, Role.COORDINATOR, org))
    crisis = await declare(client, coordinator, exercise=True)
    seen = await register(client, coordinator)
    other = await register(client, coordinator, "IDN")
    assert (await outcome(client, coordinator, crisis, other, outcome="safe")).status_code == 200
    person = await make_person(app, org, Role.COORDINATOR)
    async with browser(app) as console:
        signed = await enrol(console, person)
        crisis_page = await console.get(f"/console/crises/{crisis}")
        assert f"/console/crises/{crisis}/welfare" in crisis_page.text
        url = f"/console/crises/{crisis}/welfare"
        page = await console.get(url)
        assert page.status_code == 200, page.text
        assert set(re.findall(r'name="csrf_token" value="([^"]*)"', page.text)) == {signed.csrf}
        assert "drill" in page.text and other in page.text

        form = {"worker_id": seen, "outcome": "needs_help", "how": "field", "note": "=SUM(A1)"}
        refused = await console.post(url, data=form)
        assert refused.status_code == 403
        done = await console.post(url, data={**form, "csrf_token": signed.csrf})
        assert done.status_code == 303, done.text
        shown = (await console.get(url, params={"status": "needs_help"})).text
        assert seen in shown and other not in shown and "=SUM(A1)" in shown

        exported = await console.get(f"{url}.csv")
        assert exported.status_code == 200
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert {r[0] for r in rows[1:]} == {seen, other} and "SUM" not in exported.text

    read = await client.get(f"/api/v1/crises/{crisis}/welfare/{seen}", headers=coordinator)
    assert (read.json()["status"], read.json()["note"], read.json()["exercise"]) == (
        "needs_help",
        "=SUM(A1)",
        True,
    )
