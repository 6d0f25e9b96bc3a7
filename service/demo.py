"""The demo: a realistic directory for the Malaysia–Philippines–Indonesia corridors, and tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.permissions import Role
from service.auth.principal import Principal
from service.auth.service import create_token
from service.directory.models import OrgKind
from service.directory.schemas import OrganizationCreate
from service.directory.service import create_organization

# Real institutions by their public names; the Myanmar embassy is left out on purpose so the
# demo shows how a missing actor becomes a visible coverage gap.
DIRECTORY: tuple[OrganizationCreate, ...] = tuple(
    OrganizationCreate.model_validate(o)
    for o in (
        {
            "slug": "lifeline-coordination",
            "name": "Lifeline coordination cell",
            "kind": OrgKind.INTERNATIONAL_ORG,
            "country": "MYS",
        },
        {
            "slug": "phl-embassy-kl",
            "name": "Embassy of the Philippines, Kuala Lumpur",
            "kind": OrgKind.EMBASSY,
            "country": "MYS",
            "represents": "PHL",
            "jurisdiction": ["MYS"],
        },
        {
            "slug": "idn-embassy-kl",
            "name": "Embassy of Indonesia, Kuala Lumpur",
            "kind": OrgKind.EMBASSY,
            "country": "MYS",
            "represents": "IDN",
            "jurisdiction": ["MYS"],
        },
        {
            "slug": "bgd-hc-kl",
            "name": "High Commission of Bangladesh, Kuala Lumpur",
            "kind": OrgKind.EMBASSY,
            "country": "MYS",
            "represents": "BGD",
            "jurisdiction": ["MYS"],
        },
        {
            "slug": "npl-embassy-kl",
            "name": "Embassy of Nepal, Kuala Lumpur",
            "kind": OrgKind.EMBASSY,
            "country": "MYS",
            "represents": "NPL",
            "jurisdiction": ["MYS"],
        },
        {
            "slug": "khm-embassy-kl",
            "name": "Embassy of Cambodia, Kuala Lumpur",
            "kind": OrgKind.EMBASSY,
            "country": "MYS",
            "represents": "KHM",
            "acts_for": ["LAO"],
        },
        {
            "slug": "phl-embassy-bkk",
            "name": "Embassy of the Philippines, Bangkok",
            "kind": OrgKind.EMBASSY,
            "country": "THA",
            "represents": "PHL",
            "jurisdiction": ["THA", "LAO", "KHM"],
        },
        {
            "slug": "mys-red-crescent",
            "name": "Malaysian Red Crescent Society",
            "kind": OrgKind.NATIONAL_SOCIETY,
            "country": "MYS",
        },
        {
            "slug": "phl-red-cross",
            "name": "Philippine Red Cross",
            "kind": OrgKind.NATIONAL_SOCIETY,
            "country": "PHL",
        },
        {
            "slug": "idn-red-cross",
            "name": "Indonesian Red Cross (Palang Merah Indonesia)",
            "kind": OrgKind.NATIONAL_SOCIETY,
            "country": "IDN",
        },
        {
            "slug": "mmr-red-cross",
            "name": "Myanmar Red Cross Society",
            "kind": OrgKind.NATIONAL_SOCIETY,
            "country": "MMR",
        },
        {
            "slug": "phl-dmw",
            "name": "Department of Migrant Workers (Philippines)",
            "kind": OrgKind.LABOUR_MINISTRY,
            "country": "PHL",
            "represents": "PHL",
        },
        {
            "slug": "idn-bp2mi",
            "name": "Indonesian Migrant Workers Protection Agency (BP2MI)",
            "kind": OrgKind.LABOUR_MINISTRY,
            "country": "IDN",
            "represents": "IDN",
        },
        {
            "slug": "mys-nadma",
            "name": "National Disaster Management Agency (NADMA), Malaysia",
            "kind": OrgKind.HOST_AUTHORITY,
            "country": "MYS",
        },
        {
            "slug": "iom-malaysia",
            "name": "IOM Malaysia",
            "kind": OrgKind.INTERNATIONAL_ORG,
            "country": "MYS",
        },
    )
)

#: (organisation slug, role, purpose) of the tokens the demo prints.
DEMO_TOKENS: tuple[tuple[str, Role, str], ...] = (
    ("lifeline-coordination", Role.ADMIN, "demo admin"),
    ("lifeline-coordination", Role.COORDINATOR, "demo coordinator"),
    ("phl-embassy-kl", Role.CONSULAR_OFFICER, "demo consular officer"),
    ("mys-red-crescent", Role.SOCIETY_RESPONDER, "demo society responder"),
    ("iom-malaysia", Role.VIEWER, "demo viewer"),
    ("lifeline-coordination", Role.INTEGRATION, "demo feed integration"),
)


#: Scenario zones over real places, for the demo's first exposure.
KLANG_VALLEY_FLOOD: dict[str, object] = {
    "type": "Polygon",
    "coordinates": [
        [
            [101.40, 2.98],
            [101.55, 2.95],
            [101.70, 3.02],
            [101.74, 3.12],
            [101.66, 3.22],
            [101.52, 3.20],
            [101.42, 3.10],
            [101.40, 2.98],
        ]
    ],
}
SCENARIOS: tuple[tuple[str, dict[str, object]], ...] = (
    (
        "Flood over the Klang Valley (Kuala Lumpur, Shah Alam, Klang)",
        {"geometry": KLANG_VALLEY_FLOOD},
    ),
    (
        "Earthquake scenario: 150 km around Bangkok",
        {"circle": {"lat": 13.7563, "lon": 100.5018, "radius_m": 150_000}},
    ),
    (
        "Cyclone scenario: 200 km around Hong Kong",
        {"circle": {"lat": 22.3193, "lon": 114.1694, "radius_m": 200_000}},
    ),
)


async def seed_register(session: AsyncSession, *, actor: Principal, workers: int) -> dict[str, int]:
    """A synthetic register placed by real corridor stocks and city populations. Safe to rerun:
    the same seed gives the same people, and a re-import changes nothing."""
    from service.registry.bulk import import_workers
    from service.registry.locate import default_locator
    from service.registry.protect import Protector
    from service.settings import get_settings
    from service.synthetic import synthetic_csv

    report = await import_workers(
        session,
        actor=actor,
        protector=Protector.from_settings(get_settings()),
        locator=default_locator(),
        content=synthetic_csv(workers, seed=7),
        filename="synthetic-register.csv",
    )
    return {"created": report.created, "unchanged": report.unchanged, "rejected": report.rejected}


@dataclass(frozen=True, slots=True)
class DemoToken:
    organization: str
    role: Role
    secret: str


async def seed_directory(session: AsyncSession, *, actor: Principal) -> tuple[int, int]:
    """Create the demo directory; return (created, already there). Safe to run again."""
    created = existing = 0
    for data in DIRECTORY:
        _, new = await create_organization(session, actor=actor, data=data)
        created += new
        existing += not new
    return created, existing


async def issue_demo_tokens(session: AsyncSession, *, actor: Principal) -> list[DemoToken]:
    """Revoke the tokens an earlier demo run printed, then mint and return new ones.

    Only the secrets' hashes are kept, so an earlier run's tokens cannot be printed again; left
    alive, every run would add six more working tokens nobody tracks. The demo's own are those of
    its organisations with one of its names: a token made by hand for the same organisation
    stays. Each revocation is audited like any other."""
    from sqlmodel import col, select

    from service.auth.models import ApiToken
    from service.auth.service import revoke_token
    from service.directory.service import get_organization

    orgs = {slug: await get_organization(session, ref=slug) for slug, _, _ in DEMO_TOKENS}
    earlier = await session.exec(
        select(ApiToken).where(
            col(ApiToken.organization_id).in_([o.id for o in orgs.values()]),
            col(ApiToken.name).in_([name for _, _, name in DEMO_TOKENS]),
            col(ApiToken.revoked_at).is_(None),
        )
    )
    for token in earlier.all():
        await revoke_token(session, actor=actor, token_id=token.id)
    tokens = []
    for slug, role, name in DEMO_TOKENS:
        issued = await create_token(
            session, actor=actor, organization=orgs[slug], role=role, name=name
        )
        tokens.append(DemoToken(organization=slug, role=role, secret=issued.secret))
    return tokens


#: A flood warning over the Klang Valley, as MetMalaysia would send it in CAP, marked as an
#: exercise: the demo's crisis is a drill, and nothing it produces may reach a real person.
DRILL_CAP_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>LIFELINE-DEMO-KLANG-FLOOD-1</identifier>
  <sender>demo.lifeline</sender>
  <sent>2026-11-24T06:00:00+08:00</sent>
  <status>Exercise</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>en</language>
    <category>Met</category>
    <event>Flood</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>Flash floods in the Klang Valley (drill)</headline>
    <area>
      <areaDesc>Kuala Lumpur, Shah Alam, Klang</areaDesc>
      <polygon>{polygon}</polygon>
    </area>
  </info>
</alert>"""
# CAP writes latitude first.
DRILL_CAP = DRILL_CAP_TEMPLATE.format(
    polygon=" ".join(f"{lat},{lon}" for lon, lat in KLANG_VALLEY_FLOOD["coordinates"][0])  # type: ignore[index]
).encode()


@dataclass(frozen=True, slots=True)
class CoverageGap:
    """A role nobody in the directory fills for one scope of the crisis, and its tasks."""

    role: str
    scope: str
    tasks: int

    def __str__(self) -> str:
        task_s = "task" if self.tasks == 1 else "tasks"
        return f"no {self.role.replace('_', ' ')} for {self.scope} ({self.tasks} {task_s})"


@dataclass(frozen=True, slots=True)
class DrillSummary:
    crisis_id: str | None
    title: str
    tasks: list[tuple[str, str, str, bool]]  # (organisation, title, status, coverage gap)
    gaps: list[CoverageGap] = field(default_factory=list)


def coverage_gaps(tasks: Sequence[tuple[str, str | None, bool]]) -> list[CoverageGap]:
    """The gaps among (task key, actor role, coverage gap) triples: one per role and scope.

    A missing embassy leaves several tasks undone (hotline, contact, documents, ...); it is one
    gap. The scope is the key's suffix the playbook engine adds per nationality and country
    (``@PHL@MYS``), province (``@MY-10``) or nothing (the whole crisis)."""
    counts: dict[tuple[str, str], int] = {}
    for key, role, gap in tasks:
        if not gap:
            continue
        parts = key.split("@")[1:]
        scope = " in ".join(parts) if parts else "the crisis"
        counts[(role or "unknown", scope)] = counts.get((role or "unknown", scope), 0) + 1
    return [CoverageGap(role, scope, n) for (role, scope), n in sorted(counts.items())]


async def run_drill(maker: Any, index: Any, *, actor: Principal) -> DrillSummary:
    """Push the drill's CAP alert, take it through the crisis pass, and list the tasks it made."""
    from sqlmodel import select

    from integrations.cap import parse_cap
    from service.alerts.service import store_alert
    from service.crises.models import Crisis
    from service.crises.service import crisis_of_alert
    from service.db import session_scope
    from service.directory.models import Organization
    from service.flows.alert_pass import process_pending
    from service.tasks.models import Task

    async with session_scope(maker) as session:
        stored, _ = await store_alert(session, alert=parse_cap(DRILL_CAP), actor=actor)
        alert_id = stored.id
    await process_pending(maker, index=index)
    async with session_scope(maker) as session:
        crisis: Crisis | None = await crisis_of_alert(session, alert_id)
        if crisis is None:
            return DrillSummary(None, "no crisis: nobody registered in the zone", [])
        names = {o.id: o.slug for o in (await session.exec(select(Organization))).all()}
        rows = (await session.exec(select(Task).where(Task.crisis_id == crisis.id))).all()
        tasks = sorted(
            (
                (names.get(t.assignee_org or "", "coordinators"), t.title, t.status, t.coverage_gap)
                for t in rows
            ),
            key=lambda t: (t[3], t[0], t[1]),
        )
        gaps = coverage_gaps([(t.key, t.actor_role, t.coverage_gap) for t in rows])
        return DrillSummary(crisis.id, crisis.title, tasks, gaps)
