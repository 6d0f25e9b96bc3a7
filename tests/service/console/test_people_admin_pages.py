"""The people page on the Johor register, on both databases: an admin sees their organisation's
accounts, makes one (its one-time password shown once) and disables
one; no other role opens it, and nobody disables another organisation's account through it."""

from __future__ import annotations

import re
from typing import Any

from service.auth.permissions import Permission, Role, allowed
from tests.conftest import bearer, make_org_in, make_token_in
from tests.service.console.test_console_pages import ROLES, get, post
from tests.service.exposure.test_nationals_in_own_country import johor

__all__ = ["johor"]

SECRET = re.compile(r'<code class="secret">([^<]+)</code>')


async def test_only_who_manages_accounts_opens_the_people_page(johor: dict[str, Any]) -> None:
    for who, role in ROLES.items():
        answer = await get(johor, who, "/console/people")
        assert answer.status_code == (200 if allowed(role, Permission.USERS_MANAGE) else 403), who
        refused = await post(
            johor, who, "/console/people", {"email": "x@example.org", "role": "viewer"}
        )
        if not allowed(role, Permission.USERS_MANAGE):
            assert refused.status_code == 403
    assert 'href="/console/people"' in (await get(johor, "admin", "/console/")).text


async def test_an_admin_makes_an_account_and_disables_it(johor: dict[str, Any]) -> None:
    made = await post(
        johor,
        "admin",
        "/console/people",
        {"email": "Ana@example.org", "role": "coordinator", "display_name": "Ana"},
    )
    assert made.status_code == 200, made.text
    password = SECRET.findall(made.text)
    assert len(password) == 1 and "shown this once" in made.text
    assert "Ana@example.org" in made.text
    again = await post(
        johor, "admin", "/console/people", {"email": "ana@example.org", "role": "coordinator"}
    )
    assert "unchanged" in again.text and not SECRET.findall(again.text)
    listed = await get(johor, "admin", "/console/people")
    assert password[0] not in listed.text and "Ana@example.org" in listed.text
    user_id = re.search(r'/console/people/([^/"]+)/disable', listed.text)
    assert user_id
    # Another organisation's admin cannot disable it.
    app = johor["app"]
    elsewhere = await make_token_in(app, Role.ADMIN, await make_org_in(app))
    other = await johor["client"].post(
        f"/console/people/{user_id[1]}/disable", data={}, headers=bearer(elsewhere)
    )
    assert other.status_code == 404, other.text
    assert (
        "Ana@example.org"
        not in (await johor["client"].get("/console/people", headers=bearer(elsewhere))).text
    )
    done = await post(johor, "admin", f"/console/people/{user_id[1]}/disable", {})
    assert done.status_code == 200 and "disabled" in done.text
    bad = await post(johor, "admin", "/console/people", {"email": "nobody", "role": "viewer"})
    assert bad.status_code == 422 and "No account made" in bad.text
