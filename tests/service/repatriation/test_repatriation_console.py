"""The console's repatriation pages: a crisis's cases and movements, a movement's manifest with
its check at the gate posted with the session's CSRF token (and refused without)."""

from __future__ import annotations

import re
from typing import Any

from service.auth.permissions import Role
from tests.service.repatriation.test_repatriation import (
    consent,
    home,  # noqa: F401 (the fixture)
    movement,
    open_case,
    raise_level,
    seat,
)
from tests.service.users.helpers import browser, enrol, make_person


async def test_the_gate_checks_people_in_from_the_manifest(home: dict[str, Any]) -> None:  # noqa: F811
    await raise_level(home, 3)
    made = await open_case(home, home["workers"][0], family=1, needs=["wheelchair"])
    case = made.json()["id"]
    await consent(home, case)
    moving = await movement(home, 5, 5)
    assert (await seat(home, moving["id"], case)).status_code == 200
    person = await make_person(home["app"], home["orgs"]["embassy"], Role.CONSULAR_OFFICER)
    async with browser(home["app"]) as console:
        signed = await enrol(console, person)
        crisis_page = await console.get(f"/console/crises/{home['crisis']}")
        assert f"/console/crises/{home['crisis']}/repatriation" in crisis_page.text
        cases = await console.get(f"/console/crises/{home['crisis']}/repatriation")
        assert cases.status_code == 200 and home["workers"][0] in cases.text
        assert "2 of 5 places" in cases.text
        page = await console.get(f"/console/movements/{moving['id']}")
        assert page.status_code == 200, page.text
        assert "Juan0 Dela Cruz" in page.text and "wheelchair" in page.text
        assert "expired" not in page.text
        assert set(re.findall(r'name="csrf_token" value="([^"]*)"', page.text)) == {signed.csrf}
        printed = re.search(r'href="(/api/v1/movements/[^"]*format=pdf)"', page.text)
        assert printed is not None
        pdf = await console.get(printed.group(1))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        form = {"case_id": case, "leg": "1", "step": "boarding"}
        refused = await console.post(f"/console/movements/{moving['id']}/check", data=form)
        assert refused.status_code == 403
        done = await console.post(
            f"/console/movements/{moving['id']}/check", data={**form, "csrf_token": signed.csrf}
        )
        assert done.status_code == 303, done.text
        after = await console.get(f"/console/movements/{moving['id']}")
        assert "1 boarded" in after.text


async def test_rules_set_and_cases_opened_in_bulk_from_the_console(home: dict[str, Any]) -> None:  # noqa: F811
    from tests.conftest import make_org_in

    await raise_level(home, 4)
    admin1 = (
        await home["client"].get(
            f"/api/v1/workers/{home['workers'][0]}",
            headers={"Authorization": f"Bearer {home['tokens']['phl']}"},
        )
    ).json()["admin1"]
    page_path = f"/console/crises/{home['crisis']}/repatriation"
    coordinator = await make_person(home["app"], await make_org_in(home["app"]), Role.COORDINATOR)
    async with browser(home["app"]) as console:
        signed = await enrol(console, coordinator)
        page = await console.get(page_path)
        assert page.status_code == 200, page.text
        assert "The deployment&#39;s rules" in page.text or "The deployment's rules" in page.text
        changed = await console.post(
            f"{page_path}/rules",
            data={
                "csrf_token": signed.csrf,
                "version": "0",
                "repatriation_level": "3",
                "relocation_level": "2",
                "nationalities": "phl, IDN",
                "admin1": "",
                "priority": ["pregnant", "minor"],
            },
        )
        assert changed.status_code == 303, changed.text
        stale = await console.post(
            f"{page_path}/rules",
            data={"csrf_token": signed.csrf, "version": "0", "repatriation_level": "3",
                  "relocation_level": "2"},
        )  # fmt: skip
        assert stale.status_code == 412
        bad = await console.post(
            f"{page_path}/rules",
            data={"csrf_token": signed.csrf, "version": "1", "repatriation_level": "3",
                  "relocation_level": "2", "nationalities": "Philippines"},
        )  # fmt: skip
        assert bad.status_code == 422 and "Philippines" in bad.text
    officer = await make_person(home["app"], home["orgs"]["embassy"], Role.CONSULAR_OFFICER)
    async with browser(home["app"]) as console:
        signed = await enrol(console, officer)
        page = await console.get(page_path)
        assert "nationalities IDN, PHL" in page.text and "version 1" in page.text
        assert "Change the rules" not in page.text, "only coordinators set them"
        assert f'<option value="{admin1}">' in page.text
        opened = await console.post(
            f"{page_path}/bulk", data={"csrf_token": signed.csrf, "admin1": admin1}
        )
        assert opened.status_code == 303, opened.text
        after = await console.get(page_path)
        assert after.text.count("bulk</td>") == 5
        assert "Repatriation: 5 cases, 5 waiting for a seat" in after.text
        assert "expired" not in after.text
