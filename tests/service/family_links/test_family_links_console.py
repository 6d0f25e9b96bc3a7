"""The console's tracing pages: the Philippine Red Cross files a request from its queue, the
Malaysian Red Crescent sees the candidate by name and confirms it, moves the request on, and the
Philippine side reads only that the search is closed; every form with the session's CSRF token."""

from __future__ import annotations

import re
from typing import Any

from service.auth.permissions import Role
from tests.service.family_links.test_family_links import links  # noqa: F401 (the fixture)
from tests.service.users.helpers import browser, enrol, make_person


async def test_a_request_filed_matched_and_closed_from_the_console(
    links: dict[str, Any],  # noqa: F811
) -> None:
    app = links["app"]
    prc = await make_person(app, links["orgs"]["prc"], Role.SOCIETY_RESPONDER)
    mrc = await make_person(app, links["orgs"]["mrc"], Role.SOCIETY_RESPONDER)
    async with browser(app) as family_side:
        signed = await enrol(family_side, prc)
        queue = await family_side.get("/console/tracing")
        assert queue.status_code == 200 and "No request on your side." in queue.text
        assert 'href="/safe-and-well"' in queue.text
        form = {
            "csrf_token": signed.csrf, "host_country": "mys", "sought_given_name": "Rodelyo",
            "sought_family_name": "Bautista", "sought_birth_year": "1988",
            "sought_nationality": "PHL", "separation": "disaster", "enquirer_name": "Lorna",
            "enquirer_relationship": "mother", "enquirer_contact": "+639171112233",
        }  # fmt: skip
        unconsented = await family_side.post("/console/tracing", data=form)
        assert unconsented.status_code == 422 and "consent" in unconsented.text
        filed = await family_side.post("/console/tracing", data={**form, "enquirer_consent": "yes"})
        assert filed.status_code == 303, filed.text
        at = filed.headers["location"]
        page = await family_side.get(at)
        assert "searching" in page.text and "Candidates" not in page.text
        async with browser(app) as search_side:
            signed = await enrol(search_side, mrc)
            queue = await search_side.get("/console/tracing")
            assert "Rodelyo Bautista" in queue.text and "candidate" in queue.text
            page = await search_side.get(at)
            assert "Rodelio Bautista" in page.text and "birth year" in page.text
            assert "expired" not in page.text
            candidate = re.search(r'action="(/console/tracing/[^"]+/candidates/[^"]+)"', page.text)
            assert candidate, page.text
            refused = await search_side.post(candidate.group(1), data={"confirmed": "yes"})
            assert refused.status_code == 403, "no CSRF token, no change"
            done = await search_side.post(
                candidate.group(1), data={"confirmed": "yes", "csrf_token": signed.csrf}
            )
            assert done.status_code == 303, done.text
            for state in ("consent_asked", "not_wanting_contact"):
                page = await search_side.get(at)
                version = re.search(r'name="version" value="(\d+)"', page.text)
                assert version, page.text
                moved = await search_side.post(
                    f"{at}/state",
                    data={"state": state, "version": version.group(1), "csrf_token": signed.csrf},
                )
                assert moved.status_code == 303, moved.text
            assert "not wanting contact" in (await search_side.get(at)).text
            page = await family_side.get(at)
            assert '<strong id="state">closed</strong>' in page.text
            assert "Rodelio" not in page.text and links["workers"][2] not in page.text
