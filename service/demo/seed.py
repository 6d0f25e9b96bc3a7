"""The demo's directory for the Malaysia–Philippines–Indonesia corridors, its synthetic register,
its tokens and the people who sign in to its console: each safe to set up again."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.models import ApiToken
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.auth.service import create_token, revoke_token
from service.crypto import Sealer
from service.demo.synthetic import synthetic_csv
from service.directory.models import OrgKind
from service.directory.schemas import OrganizationCreate
from service.directory.service import create_organization, get_organization
from service.registry.bulk import import_workers
from service.registry.locate import default_locator
from service.registry.protect import Protector
from service.settings import get_settings
from service.users import passwords, totp
from service.users.service import create_user, enrol_with_secret, totp_secret

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

#: (organisation slug, role, the e-mail's local part, name) of the people the demo makes, one
#: for each kind of person the console serves. The Philippine labour ministry's officer holds the
#: consular officer's role: the role that works tasks and reads its own nationals.
DEMO_PEOPLE: tuple[tuple[str, Role, str, str], ...] = (
    ("phl-embassy-kl", Role.CONSULAR_OFFICER, "consul", "Consular officer (Philippines, demo)"),
    ("idn-embassy-kl", Role.CONSULAR_OFFICER, "consul", "Consular officer (Indonesia, demo)"),
    ("mys-red-crescent", Role.SOCIETY_RESPONDER, "responder", "Red Crescent responder (demo)"),
    ("phl-dmw", Role.CONSULAR_OFFICER, "officer", "Migrant workers officer (Philippines, demo)"),
    ("lifeline-coordination", Role.COORDINATOR, "coordinator", "Coordinator (demo)"),
    ("lifeline-coordination", Role.ADMIN, "admin", "Administrator (demo)"),
    ("iom-malaysia", Role.VIEWER, "viewer", "Viewer (demo)"),
)


async def seed_register(session: AsyncSession, *, actor: Principal, workers: int) -> dict[str, int]:
    """A synthetic register placed by real corridor stocks and city populations. Safe to rerun:
    the same seed gives the same people, and a re-import changes nothing."""
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


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """A person the demo signs in as: ``password`` None when its holder changed it since."""

    role: Role
    organization: str
    email: str
    password: str | None
    totp_secret: str

    @property
    def otpauth_uri(self) -> str:
        return totp.otpauth_uri(self.totp_secret, account=self.email)


def demo_email(slug: str, local: str) -> str:
    # .example is reserved (RFC 2606): no mail to a demo address reaches anyone.
    return f"{local}@{slug}.example"


def _derived(key: str, purpose: str, email: str) -> bytes:
    """The same bytes for the same deployment key and person on every run: the demo prints the
    same sign-ins twice without keeping a password anywhere but as its hash."""
    keyed = hashlib.sha256(b"lifeline-demo-people/" + key.encode()).digest()
    return hmac.digest(keyed, f"{purpose}/{email}".encode(), hashlib.sha256)


def demo_password(key: str, email: str) -> str:
    return "demo-" + base64.urlsafe_b64encode(_derived(key, "password", email)[:12]).decode()


def demo_totp_secret(key: str, email: str) -> str:
    return base64.b32encode(_derived(key, "totp", email)[:20]).decode()


async def seed_demo_people(
    session: AsyncSession, *, actor: Principal, sealer: Sealer, key: str
) -> list[DemoPerson]:
    """An account for each of ``DEMO_PEOPLE``, its password and second factor set up, ready to
    sign in (development only: the caller decides). Run again, it changes nothing: an account
    there keeps its password and TOTP secret, and the same sign-ins come back."""
    people = []
    for slug, role, local, name in DEMO_PEOPLE:
        email = demo_email(slug, local)
        password = demo_password(key, email)
        user, created = await create_user(
            session,
            actor=actor,
            organization=await get_organization(session, ref=slug),
            role=role,
            email=email,
            display_name=name,
            password=password,
            one_time=False,
        )
        secret = totp_secret(user, sealer) if user.totp_enrolled_at else None
        if secret is None:
            secret = demo_totp_secret(key, email)
            enrol_with_secret(session, actor=actor, user=user, secret=secret, sealer=sealer)
        kept = created or await passwords.verify_password(user.password_hash, password)
        people.append(
            DemoPerson(
                role=role,
                organization=slug,
                email=email,
                password=password if kept else None,
                totp_secret=secret,
            )
        )
    await session.flush()
    return people
