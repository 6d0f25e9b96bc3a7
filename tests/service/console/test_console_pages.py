"""The console's pages on a register of their own (Johor Bahru: Malaysians at home, Indonesians,
one under protection, two who refused sharing with their embassy), on both databases: each page
for the roles that may open it and refused to the others, names only for the officer of those
people, nothing from another host, a light first page, CSRF fields, the 412 in words."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from markupsafe import escape

from service.auth.permissions import Permission, Role, allowed
from tests.conftest import bearer
from tests.service.crises.test_crisis_people import declare
from tests.service.exposure.test_nationals_in_own_country import johor

__all__ = ["johor"]

ROLES = {
    "admin": Role.ADMIN,
    "coordinator": Role.COORDINATOR,
    "viewer": Role.VIEWER,
    "idn": Role.CONSULAR_OFFICER,
    "society": Role.SOCIETY_RESPONDER,
}
NAME = re.compile(r"Given(\d+)")
HOST = re.compile(r"https?://([^/\s\"'<>)]+)")


async def get(johor: dict[str, Any], who: str | None, path: str, **kw: Any) -> httpx.Response:
    headers = bearer(johor["tokens"][who]) if who else {}
    return await johor["client"].get(path, headers={**headers, **kw.pop("headers", {})}, **kw)


async def post(
    johor: dict[str, Any], who: str, path: str, data: dict[str, Any], **kw: Any
) -> httpx.Response:
    return await johor["client"].post(
        path, data=data, headers={**bearer(johor["tokens"][who]), **kw.pop("headers", {})}
    )


def pages(crisis: str) -> dict[str, Permission]:
    return {
        "/console/": Permission.CRISES_READ,
        "/console/crises": Permission.CRISES_READ,
        f"/console/crises/{crisis}": Permission.CRISES_READ,
        f"/console/crises/{crisis}/map.json": Permission.CRISES_READ,
        f"/console/crises/{crisis}/sitrep": Permission.CRISES_READ,
        f"/console/crises/{crisis}/people": Permission.EXPOSURE_LIST,
        "/console/tasks": Permission.TASKS_READ,
        "/console/tasks/rows": Permission.TASKS_READ,
        "/console/alerts": Permission.ALERTS_READ,
        "/console/directory": Permission.DIRECTORY_READ,
        "/console/audit": Permission.AUDIT_READ,
    }


async def test_each_page_opens_for_the_roles_that_may_read_it_and_no_other(
    johor: dict[str, Any],
) -> None:
    crisis = await declare(johor)
    for path, permission in pages(crisis).items():
        for who, role in ROLES.items():
            answer = await get(johor, who, path)
            expected = 200 if allowed(role, permission) else 403
            assert answer.status_code == expected, (path, who, answer.text[:300])
            if expected == 403:
                assert "may not" in answer.text and "text/html" in answer.headers["content-type"]
        anonymous = await get(johor, None, path)
        assert anonymous.status_code == 303, path
        assert anonymous.headers["location"].startswith("/console/sign-in?next=%2Fconsole")


async def test_names_only_for_the_officer_of_those_people(johor: dict[str, Any]) -> None:
    crisis = await declare(johor)
    page = await get(johor, "idn", f"/console/crises/{crisis}/people")
    assert page.status_code == 200, page.text
    shown = {int(n) for n in NAME.findall(page.text)}
    # The Indonesians are 17 to 24: two refused sharing with their embassy, one is protected.
    assert len(shown) == 4 and shown <= set(range(17, 24)), shown
    assert "no consent to share with embassy" in page.text
    csv = await get(johor, "idn", f"/console/crises/{crisis}/people.csv")
    assert csv.status_code == 200 and "text/csv" in csv.headers["content-type"]
    assert {int(n) for n in NAME.findall(csv.text)} == shown
    # Names appear on no other page, for nobody (the lists of people of those who may read
    # some are the list's own tests).
    for who in ROLES:
        for path in pages(crisis):
            if not path.endswith("/people"):
                assert not NAME.findall((await get(johor, who, path)).text), (who, path)
    # The Malaysian ministry's officer is of another nationality: none of the Indonesians.
    ministry = await get(johor, "mys", f"/console/crises/{crisis}/people")
    assert ministry.status_code == 200 and not NAME.findall(ministry.text)
    audit = await get(johor, "admin", "/console/audit", params={"action": "exposure.list"})
    assert audit.text.count("exposure.list") >= 3


async def test_the_crisis_page_names_provinces_and_says_why_numbers_differ(
    johor: dict[str, Any],
) -> None:
    crisis = await declare(johor)
    exact = (await get(johor, "coordinator", f"/console/crises/{crisis}")).text
    assert "Johor" in exact and "Indonesia" in exact and "These counts are exact" in exact
    # Codes only where the playbooks wrote them into a task's title.
    assert "MY-01" not in exact.split("Tasks by organisation")[0]
    rounded = (await get(johor, "viewer", f"/console/crises/{crisis}")).text
    assert "rounded to 5" in rounded and "Johor" in rounded
    officer = (await get(johor, "idn", f"/console/crises/{crisis}")).text
    assert "Your nationals, exactly" in officer and "Indonesia: 7" in officer
    layers = (await get(johor, "viewer", f"/console/crises/{crisis}/map.json")).json()
    kinds = {f["properties"]["layer"] for f in layers["features"]}
    assert {"country", "province", "zone"} <= kinds
    province = next(f for f in layers["features"] if f["properties"]["layer"] == "province")
    assert province["properties"] == {"layer": "province", "name": "Johor", "workers": 5}


async def test_a_stale_phase_change_is_refused_in_words(johor: dict[str, Any]) -> None:
    crisis = await declare(johor)
    page = (await get(johor, "coordinator", f"/console/crises/{crisis}")).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version and 'name="csrf_token"' in page
    first = await post(
        johor,
        "coordinator",
        f"/console/crises/{crisis}/change",
        {"version": version[1], "phase": "response", "alert_level": "3", "csrf_token": ""},
    )
    assert first.status_code == 303, first.text
    again = await post(
        johor,
        "coordinator",
        f"/console/crises/{crisis}/change",
        {"version": version[1], "phase": "recovery", "alert_level": "2", "csrf_token": ""},
    )
    assert again.status_code == 412
    assert "Someone else changed this crisis" in again.text and "Nothing was changed" in again.text
    now = (await get(johor, "coordinator", f"/api/v1/crises/{crisis}")).json()
    assert (now["phase"], now["alert_level"]) == ("response", 3)
    refused = await post(
        johor, "viewer", f"/console/crises/{crisis}/change", {"version": "1", "phase": "closed"}
    )
    assert refused.status_code == 403


async def test_a_task_is_acknowledged_blocked_with_a_reason_and_commented(
    johor: dict[str, Any],
) -> None:
    crisis = await declare(johor)
    tasks = (await get(johor, "coordinator", f"/api/v1/crises/{crisis}/tasks")).json()["items"]
    task = next(t for t in tasks if t["status"] == "open")
    path = f"/console/tasks/{task['id']}"
    board = await get(johor, "coordinator", "/console/tasks", params={"crisis": crisis})
    assert task["title"] in board.text and 'hx-trigger="every 5s, lifeline:refresh"' in board.text
    assert 'data-events="/console/tasks/events"' in board.text
    # The refresh asks with the form's fields, "any" as an empty value.
    rows = await get(johor, "coordinator", f"/console/tasks/rows?status=&crisis={crisis}&due=")
    assert rows.status_code == 200 and task["title"] in rows.text
    done = await post(
        johor,
        "coordinator",
        f"{path}/status",
        {"status": "acknowledged", "version": task["version"]},
    )
    assert done.status_code == 303 and done.headers["location"] == path
    stale = await post(
        johor,
        "coordinator",
        f"{path}/status",
        {"status": "in_progress", "version": task["version"]},
    )
    assert stale.status_code == 412 and "Someone changed this task" in stale.text
    version = task["version"] + 1
    no_reason = await post(
        johor, "coordinator", f"{path}/status", {"status": "blocked", "version": version}
    )
    assert no_reason.status_code == 422 and "Say why" in no_reason.text
    blocked = await post(
        johor,
        "coordinator",
        f"{path}/status",
        {"status": "blocked", "version": version, "reason": "road closed"},
        headers={"HX-Request": "true"},
    )
    assert blocked.status_code == 200 and "<html" not in blocked.text
    assert "Blocked: road closed" in blocked.text
    said = await post(
        johor,
        "coordinator",
        f"{path}/comments",
        {"body": "called the embassy"},
        headers={"HX-Request": "true"},
    )
    assert said.status_code == 200 and "called the embassy" in said.text
    now = (await get(johor, "coordinator", f"/api/v1/tasks/{task['id']}")).json()
    assert now["status"] == "blocked" and now["comments"] == 2


async def test_the_board_s_refresh_and_its_any_choices_are_no_filter(
    johor: dict[str, Any],
) -> None:
    crisis = await declare(johor)
    tasks = (await get(johor, "coordinator", f"/api/v1/crises/{crisis}/tasks")).json()["items"]
    board = await get(johor, "coordinator", "/console/tasks")
    # The refresh asks for the filters as the page has them: none, so each is empty.
    refresh = re.search(r'hx-get="([^"]+)"', board.text)
    assert refresh is not None
    url = refresh[1].replace("&amp;", "&")
    assert url == "/console/tasks/rows?status=&crisis=&due="
    assert (await get(johor, "coordinator", url)).status_code == 200
    for path in ("/console/tasks/rows", "/console/tasks"):
        answer = await get(johor, "coordinator", f"{path}?status=&crisis={crisis}&due=")
        assert answer.status_code == 200, (path, answer.text)
        assert all(escape(t["title"]) in answer.text for t in tasks)
    wrong = await get(johor, "coordinator", "/console/tasks/rows?status=finished")
    assert wrong.status_code == 422


async def test_no_page_or_static_file_asks_another_host(johor: dict[str, Any]) -> None:
    crisis = await declare(johor)
    assets: set[str] = set()
    for path in pages(crisis):
        answer = await get(johor, "admin", path)
        assert not HOST.findall(answer.text), (path, HOST.findall(answer.text))
        assets |= set(re.findall(r'(?:src|href)="(/console/static/[^"]+)"', answer.text))
        assert "<script>" not in answer.text and " style=" not in answer.text
        headers = answer.headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"]
    assert {"/console/static/console.css", "/console/static/vendor/leaflet/leaflet.js"} <= assets
    # Vendored files name a few addresses they never ask: the SVG namespace, Leaflet's
    # attribution link (switched off) and browser bugs in comments.
    named_only = {"www.w3.org", "leafletjs.com", "bugzilla.mozilla.org", "bugs.chromium.org"}
    for asset in assets:
        answer = await get(johor, None, asset)
        assert answer.status_code == 200, asset
        hosts = set(HOST.findall(answer.text))
        if "/vendor/" in asset:
            assert hosts <= named_only, (asset, hosts)
        else:
            assert not hosts, (asset, hosts)
        assert "default-src 'self'" in answer.headers["content-security-policy"]


async def test_the_first_page_weighs_under_500_kb(johor: dict[str, Any]) -> None:
    await declare(johor)
    page = await get(johor, "coordinator", "/console/")
    total = len(page.content)
    for asset in re.findall(r'(?:src|href)="(/console/static/[^"]+)"', page.text):
        total += len((await get(johor, None, asset)).content)
    assert total < 500_000, total


async def test_every_page_is_reached_by_links_from_now(johor: dict[str, Any]) -> None:
    crisis = await declare(johor)
    seen: set[str] = set()
    todo = ["/console/"]
    while todo:
        path = todo.pop()
        if path in seen or len(seen) > 200:
            continue
        seen.add(path)
        answer = await get(johor, "admin", path)
        assert answer.status_code == 200, (path, answer.text[:200])
        for link in re.findall(r'href="([^"#]+)"', answer.text):
            target = urljoin(path, link.replace("&amp;", "&"))
            parts = urlsplit(target)
            inside = parts.path.startswith("/console/") and "/static/" not in parts.path
            if inside and not parts.path.endswith(".csv") and "cursor=" not in target:
                todo.append(target)
    paths = {urlsplit(p).path for p in seen}
    wanted = {p for p in pages(crisis) if not p.endswith((".json", "/rows"))}
    assert wanted <= paths, wanted - paths
    assert any(p.startswith("/console/tasks/") for p in paths)


async def test_every_post_form_carries_a_csrf_field(johor: dict[str, Any]) -> None:
    crisis = await declare(johor)
    tasks = (await get(johor, "coordinator", f"/api/v1/crises/{crisis}/tasks")).json()["items"]
    for path in (f"/console/crises/{crisis}", f"/console/tasks/{tasks[0]['id']}"):
        text = (await get(johor, "coordinator", path)).text
        forms = re.findall(r'<form[^>]*method="post".*?</form>', text, flags=re.S)
        assert forms, path
        assert all('name="csrf_token"' in f for f in forms), path


async def test_the_pages_offer_the_downloads_of_what_they_show(johor: dict[str, Any]) -> None:
    crisis = await declare(johor)
    link = re.compile(r'href="(/api/v1/[^"]+)"')
    for who, role in ROLES.items():
        page = (await get(johor, who, f"/console/crises/{crisis}")).text
        found = {h.replace("&amp;", "&") for h in link.findall(page)}
        assert f"/api/v1/crises/{crisis}/exposure?format=csv" in found, who
        assert f"/api/v1/crises/{crisis}/exposure?format=xlsx" in found, who
        points = {h for h in found if "people=true" in h}
        if allowed(role, Permission.EXPOSURE_LIST):
            assert len(points) == 3, who
        else:
            assert not points, who
        for href in sorted(found):
            answer = await get(johor, who, href)
            assert answer.status_code == 200, (who, href, answer.text)
    audit = (await get(johor, "admin", "/console/audit", params={"action": "exposure.list"})).text
    downloads = {h.replace("&amp;", "&") for h in link.findall(audit)}
    assert downloads == {
        "/api/v1/audit?format=csv&action=exposure.list",
        "/api/v1/audit?format=xlsx&action=exposure.list",
    }
    exported = await get(johor, "admin", "/api/v1/audit?format=csv&action=exposure.list")
    assert exported.status_code == 200 and "exposure.list" in exported.text
    # The task board's and the tracing queue's downloads, for whoever sees those pages.
    for path in ("/console/tasks", "/console/tracing"):
        for who in ROLES:
            page = await get(johor, who, path)
            if page.status_code != 200:
                continue
            hrefs = {h.replace("&amp;", "&") for h in link.findall(page.text)}
            formats = {m for h in hrefs for m in re.findall(r"format=(\w+)", h)}
            assert formats >= {"csv", "xlsx"}, (who, path)
            for href in sorted(hrefs):
                answer = await get(johor, who, href)
                assert answer.status_code == 200, (who, href, answer.text)
