"""Need-to-know across borders: a consular post reads its nationals where it serves them only.

The Philippine embassy in Bangkok (country THA, jurisdiction KHM, LAO, THA) reads PHL workers in
Thailand and Cambodia, not those in Malaysia, on every route that returns personal data; the one
in Kuala Lumpur (jurisdiction MYS, BRN) reads Brunei. The SQL condition of lists and the Python
rule of single records agree on a table of cases.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from service.auth.permissions import Role
from service.auth.principal import Principal
from service.db import session_scope, utcnow
from service.directory.models import OrgKind
from service.registry import access, unseen
from service.registry.models import Worker
from tests.conftest import OrgFactory, TokenFactory, bearer, unique

KL = {"lat": 3.1390, "lon": 101.6869}
BANGKOK = {"lat": 13.7563, "lon": 100.5018}
PHNOM_PENH = {"lat": 11.5564, "lon": 104.9282}
BANDAR_SERI_BEGAWAN = {"lat": 4.8903, "lon": 114.9422}


def registration(location: dict[str, float], **extra: Any) -> dict[str, Any]:
    return {
        "nationality": "PHL",
        "given_name": "Maria",
        "family_name": "Santos",
        "document_number": unique("P"),
        "phone": "+60 12 345 6789",
        "location": location,
        "source": "embassy_registration",
        **extra,
    }


async def register(
    client: httpx.AsyncClient, token: str, location: dict[str, float], **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/workers", json=registration(location, **extra), headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
async def posts(make_org: OrgFactory, make_token: TokenFactory) -> dict[str, str]:
    bangkok = await make_org(
        OrgKind.EMBASSY, "THA", represents="PHL", jurisdiction=["KHM", "LAO", "THA"]
    )
    kuala_lumpur = await make_org(OrgKind.EMBASSY, "MYS", represents="PHL", jurisdiction=["BRN"])
    return {
        "bangkok": await make_token(Role.CONSULAR_OFFICER, bangkok),
        "kl": await make_token(Role.CONSULAR_OFFICER, kuala_lumpur),
        "admin": await make_token(Role.ADMIN),
    }


@pytest.fixture
async def workers(client: httpx.AsyncClient, posts: dict[str, str]) -> dict[str, str]:
    """PHL workers in Malaysia, Brunei (registered in KL), Thailand and Cambodia (in Bangkok),
    each with a documentation status recorded by the post that covers them."""
    made = {
        "mys": await register(client, posts["kl"], KL, documentation_status="undocumented"),
        "brn": await register(
            client, posts["kl"], BANDAR_SERI_BEGAWAN, documentation_status="regular"
        ),
        "tha": await register(client, posts["bangkok"], BANGKOK, documentation_status="regular"),
        "khm": await register(client, posts["bangkok"], PHNOM_PENH, documentation_status="regular"),
    }
    assert {k: v["country"] for k, v in made.items()} == {
        "mys": "MYS",
        "brn": "BRN",
        "tha": "THA",
        "khm": "KHM",
    }
    return {k: v["id"] for k, v in made.items()}


async def listed_ids(client: httpx.AsyncClient, token: str, **params: str) -> set[str]:
    response = await client.get(
        "/api/v1/workers", params={"limit": "500", **params}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    return {w["id"] for w in response.json()["items"]}


def circle(point: dict[str, float], radius_m: int = 2000) -> dict[str, Any]:
    return {"circle": {**point, "radius_m": radius_m}}


async def in_zone_ids(
    client: httpx.AsyncClient, token: str, point: dict[str, float], fmt: str = "json"
) -> set[str]:
    response = await client.post(
        "/api/v1/exposure/workers",
        params={"limit": "500", "format": fmt},
        json={**circle(point), "nationality": "PHL"},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    if fmt == "csv":
        lines = response.text.splitlines()[1:]
        return {line.split(",")[0] for line in lines}
    return {w["id"] for w in response.json()["items"]}


async def test_a_bangkok_officer_reads_no_one_in_malaysia(
    client: httpx.AsyncClient, posts: dict[str, str], workers: dict[str, str]
) -> None:
    bangkok = posts["bangkok"]
    one = await client.get(f"/api/v1/workers/{workers['mys']}", headers=bearer(bangkok))
    assert one.status_code == 404, one.text
    patched = await client.patch(
        f"/api/v1/workers/{workers['mys']}",
        json={"phone": "+60 12 000 0000"},
        headers={**bearer(bangkok), "If-Match": '"1"'},
    )
    assert patched.status_code == 404
    erased = await client.delete(f"/api/v1/workers/{workers['mys']}", headers=bearer(bangkok))
    assert erased.status_code == 404
    assert await listed_ids(client, bangkok, country="MYS") == set()
    assert workers["mys"] not in await listed_ids(client, bangkok, nationality="PHL")
    assert workers["mys"] not in await in_zone_ids(client, bangkok, KL)
    assert workers["mys"] not in await in_zone_ids(client, bangkok, KL, "csv")
    # The post that covers Malaysia still reads them, documentation status included.
    kl = await client.get(f"/api/v1/workers/{workers['mys']}", headers=bearer(posts["kl"]))
    assert kl.status_code == 200
    assert kl.json()["documentation_status"] == "undocumented"
    assert workers["mys"] in await in_zone_ids(client, posts["kl"], KL)


async def test_a_bangkok_officer_reads_thailand_and_cambodia(
    client: httpx.AsyncClient, posts: dict[str, str], workers: dict[str, str]
) -> None:
    for place in ("tha", "khm"):
        one = await client.get(
            f"/api/v1/workers/{workers[place]}", headers=bearer(posts["bangkok"])
        )
        assert one.status_code == 200, (place, one.text)
        assert one.json()["given_name"] == "Maria"
        assert one.json()["documentation_status"] == "regular"
        assert workers[place] in await listed_ids(client, posts["bangkok"], country=place.upper())
    assert workers["tha"] in await in_zone_ids(client, posts["bangkok"], BANGKOK)
    assert workers["khm"] in await in_zone_ids(client, posts["bangkok"], PHNOM_PENH, "csv")
    # ... which the Kuala Lumpur post does not cover.
    kl = await client.get(f"/api/v1/workers/{workers['tha']}", headers=bearer(posts["kl"]))
    assert kl.status_code == 404


async def test_a_kuala_lumpur_officer_reads_brunei_in_their_jurisdiction(
    client: httpx.AsyncClient, posts: dict[str, str], workers: dict[str, str]
) -> None:
    one = await client.get(f"/api/v1/workers/{workers['brn']}", headers=bearer(posts["kl"]))
    assert one.status_code == 200
    assert one.json()["documentation_status"] == "regular"
    assert workers["brn"] in await listed_ids(client, posts["kl"], country="BRN")
    assert workers["brn"] in await in_zone_ids(client, posts["kl"], BANDAR_SERI_BEGAWAN)


async def test_counts_elsewhere_stay_counts(
    client: httpx.AsyncClient, posts: dict[str, str], workers: dict[str, str]
) -> None:
    """The aggregate: exact own-national counts only where the post serves; elsewhere the
    suppressed counts everyone gets."""

    async def exposure(token: str, point: dict[str, float]) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/exposure", json=circle(point, 500), headers=bearer(token)
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    bangkok_in_kl = await exposure(posts["bangkok"], KL)
    assert bangkok_in_kl["exact"] is False
    assert bangkok_in_kl["own_nationals"]["countries"] == ["KHM", "LAO", "THA"]
    assert bangkok_in_kl["own_nationals"]["workers"] == 0
    kl_in_kl = await exposure(posts["kl"], KL)
    assert kl_in_kl["own_nationals"]["workers"] >= 1
    assert kl_in_kl["own_nationals"]["by_country"].get("MYS", 0) >= 1
    bangkok_at_home = await exposure(posts["bangkok"], BANGKOK)
    assert bangkok_at_home["own_nationals"]["workers"] >= 1


async def test_crisis_counts_of_own_nationals_stay_in_the_posts_countries(
    client: httpx.AsyncClient,
    posts: dict[str, str],
    workers: dict[str, str],
    make_token: TokenFactory,
) -> None:
    lat, lon = KL["lat"], KL["lon"]
    square = [[lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01], [lon + 0.01, lat + 0.01],
              [lon - 0.01, lat + 0.01], [lon - 0.01, lat - 0.01]]  # fmt: skip
    made = await client.post(
        "/api/v1/crises",
        json={"title": "Flood in Kuala Lumpur", "hazard": "flood", "severity": "moderate",
              "zones": {"type": "Polygon", "coordinates": [square]}},
        headers=bearer(await make_token(Role.COORDINATOR)),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    url = f"/api/v1/crises/{made.json()['id']}/exposure"
    bangkok = (await client.get(url, headers=bearer(posts["bangkok"]))).json()
    assert bangkok["own_nationals"] == {}
    kl = (await client.get(url, headers=bearer(posts["kl"]))).json()
    assert kl["own_nationals"]["PHL"] >= 1


async def test_a_post_registers_only_where_it_serves(
    client: httpx.AsyncClient, posts: dict[str, str]
) -> None:
    refused = await client.post(
        "/api/v1/workers", json=registration(KL), headers=bearer(posts["bangkok"])
    )
    assert refused.status_code == 403, refused.text
    status_elsewhere = await client.post(
        "/api/v1/workers",
        json=registration(BANGKOK, documentation_status="regular"),
        headers=bearer(posts["kl"]),
    )
    assert status_elsewhere.status_code == 403, status_elsewhere.text


async def test_documentation_status_cannot_be_set_from_outside_the_post(
    client: httpx.AsyncClient, posts: dict[str, str], workers: dict[str, str]
) -> None:
    """The KL post moves a worker to Thailand: it then neither reads nor records the status."""
    moved = await client.patch(
        f"/api/v1/workers/{workers['brn']}",
        json={"location": BANGKOK},
        headers={**bearer(posts["kl"]), "If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
    assert (
        await client.get(f"/api/v1/workers/{workers['brn']}", headers=bearer(posts["kl"]))
    ).status_code == 404
    seen = await client.get(f"/api/v1/workers/{workers['brn']}", headers=bearer(posts["bangkok"]))
    assert seen.json()["documentation_status"] == "regular"


# --- The SQL condition and the Python rule agree ---------------------------------------------

ORG_ID = "00000000-0000-0000-0000-0000000000aa"
PRINCIPALS: dict[str, Principal] = {
    "bangkok": Principal(
        organization_id="bkk", role=Role.CONSULAR_OFFICER, organization_kind="embassy",
        country="THA", represents="PHL", jurisdiction=("KHM", "LAO", "THA"),
    ),
    "kuala_lumpur": Principal(
        organization_id="kl", role=Role.CONSULAR_OFFICER, organization_kind="embassy",
        country="MYS", represents="PHL", jurisdiction=("BRN", "MYS"),
    ),
    "khm_acting_for_lao_in_kl": Principal(
        organization_id="khm", role=Role.CONSULAR_OFFICER, organization_kind="embassy",
        country="MYS", represents="KHM", acts_for=("LAO",),
    ),
    "ministry_at_home": Principal(
        organization_id="dmw", role=Role.CONSULAR_OFFICER, organization_kind="labour_ministry",
        country="PHL", represents="PHL",
    ),
    "no_country": Principal(
        organization_id="x", role=Role.CONSULAR_OFFICER, organization_kind="embassy",
        represents="PHL",
    ),
    "host_officer": Principal(
        organization_id="host", role=Role.CONSULAR_OFFICER, organization_kind="host_authority",
        country="MYS", represents="PHL", jurisdiction=("MYS",),
    ),
    "society_mys": Principal(
        organization_id="mrcs", role=Role.SOCIETY_RESPONDER, organization_kind="national_society",
        country="MYS",
    ),
    "coordinator": Principal(
        organization_id=ORG_ID, role=Role.COORDINATOR, organization_kind="international_org",
        country="MYS",
    ),
    "admin": Principal(organization_id="c", role=Role.ADMIN, organization_kind="international_org"),
    "viewer": Principal(
        organization_id="v", role=Role.VIEWER, organization_kind="international_org"
    ),
}  # fmt: skip
NATIONALITIES = ("PHL", "KHM", "LAO", "IDN")
COUNTRIES = ("MYS", "THA", "KHM", "BRN", "PHL", None)
VARIANTS = ("plain", "refused_embassy", "refugee", "erased", "humanitarian", "ours")


def case(nationality: str, country: str | None, variant: str) -> Worker:
    return Worker(
        id=unique("w"),
        nationality=nationality,
        country=country,
        lat=0.0,
        lon=0.0,
        legal_basis="vital_interest",
        source="self",
        consent_embassy=variant != "refused_embassy",
        consent_humanitarian=variant == "humanitarian",
        international_protection=variant == "refugee",
        erased_at=utcnow() if variant == "erased" else None,
        registered_by=ORG_ID if variant == "ours" else None,
    )


async def test_sql_condition_and_python_rule_agree(app: FastAPI) -> None:
    cases = [case(*c) for c in itertools.product(NATIONALITIES, COUNTRIES, VARIANTS)]
    async with session_scope(app.state.sessionmaker) as session:
        session.add_all(cases)
    ids = [w.id for w in cases]
    async with session_scope(app.state.sessionmaker) as session:
        for name, principal in PRINCIPALS.items():
            in_sql = set(
                (
                    await session.exec(
                        select(Worker.id)
                        .where(col(Worker.id).in_(ids))
                        .where(access.visibility_clause(principal))
                    )
                ).all()
            )
            in_python = {w.id for w in cases if access.visible_fields(principal, w) is not None}
            assert in_sql == in_python, name
            # A list of people asks the exposure index for these nationalities alone: nobody of
            # another is in the caller's scope, nor shown to them.
            within = unseen.scope_nationalities(principal)
            if within is not None:
                in_scope = (
                    await session.exec(
                        select(Worker.nationality)
                        .where(col(Worker.id).in_(ids))
                        .where(unseen.scope(principal))
                    )
                ).all()
                assert set(in_scope) <= within, name
                assert {w.nationality for w in cases if w.id in in_sql} <= within, name
    by_id = {w.id: w for w in cases}

    def seen(name: str) -> set[tuple[str, str | None]]:
        return {
            (w.nationality, w.country)
            for w in by_id.values()
            if access.visible_fields(PRINCIPALS[name], w) is not None
        }

    assert seen("bangkok") == {("PHL", "THA"), ("PHL", "KHM")}
    assert seen("kuala_lumpur") == {("PHL", "MYS"), ("PHL", "BRN")}
    assert seen("khm_acting_for_lao_in_kl") == {("KHM", "MYS"), ("LAO", "MYS")}
    assert seen("ministry_at_home") == {("PHL", "PHL")}
    assert seen("no_country") == seen("host_officer") == seen("viewer") == set()


@pytest.mark.parametrize(
    ("name", "nationality", "country", "sees"),
    [
        ("bangkok", "PHL", "THA", True),
        ("bangkok", "PHL", "KHM", True),
        ("bangkok", "PHL", "MYS", False),
        ("kuala_lumpur", "PHL", "BRN", True),
        ("kuala_lumpur", "PHL", "THA", False),
        ("khm_acting_for_lao_in_kl", "LAO", "MYS", False),  # acting for: not the own country
        ("khm_acting_for_lao_in_kl", "KHM", "MYS", True),
        ("khm_acting_for_lao_in_kl", "KHM", "THA", False),
        ("host_officer", "PHL", "MYS", False),
        ("admin", "PHL", "MYS", False),
    ],
)
def test_documentation_status_follows_the_posts_geography(
    name: str, nationality: str, country: str, sees: bool
) -> None:
    principal = PRINCIPALS[name]
    assert (
        access.sees_documentation_status(principal, nationality=nationality, country=country)
        is sees
    )
    fields = access.visible_fields(principal, case(nationality, country, "plain"))
    assert ("documentation_status" in (fields or set())) is sees
