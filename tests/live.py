"""A live server for the tests that need one (the contract fuzzing, the browser tests): the app on
a database of its own, seeded with a little data, served by uvicorn on a free port of the
loopback, on the suite's event loop. It calls nothing outside: its HTTP client fails every call
and webhook hosts resolve to a documentation network. People of the seed sign in with a password
and a TOTP secret the tests know."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from service.app import create_app
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.db import session_scope
from service.directory.models import Organization, OrgKind
from service.users import totp
from service.users.service import create_user, enrol_with_secret
from tests.conftest import bearer, make_org_in, make_token_in, settings_for, unique

KUALA_LUMPUR = (3.139, 101.6869)
#: A square around Kuala Lumpur, where the seeded workers are.
KL_ZONE = {
    "type": "Polygon",
    "coordinates": [
        [
            [101.6, 3.05],
            [101.8, 3.05],
            [101.8, 3.25],
            [101.6, 3.25],
            [101.6, 3.05],
        ]
    ],
}

#: Where every host name of a webhook resolves: TEST-NET-1 (RFC 5737), reserved for
#: documentation and never routed. The server allows it, so that subscriptions are made; nothing
#: is sent there (the API never delivers, the worker does, and it does not run here).
DRILL_NETWORK = "192.0.2.0/24"


#: The password of every person of a seed.
PASSWORD = "correct horse battery staple"


@dataclass
class Person:
    """A person of a seed, with what signing in takes: the second factor is set up already."""

    email: str
    totp_secret: str
    password: str = PASSWORD
    #: The last TOTP time step given (a code is good once).
    last_step: int | None = None

    def code(self) -> str:
        """A TOTP code of now, by the project's own TOTP code; one not given before (the next
        step's, which the window accepts, when this step's was)."""
        step = totp.step_of(time.time())
        if self.last_step is not None and step <= self.last_step:
            step = self.last_step + 1
        self.last_step = step
        return totp.code_at(self.totp_secret, step)


async def make_person_in(app: FastAPI, org_id: str, role: Role, name: str) -> Person:
    """A person of ``org_id`` with ``role``, a password of their own and TOTP set up."""
    person = Person(email=f"{unique('person')}@lifeline.example", totp_secret=totp.new_secret())
    actor = Principal.system("cli")
    async with session_scope(app.state.sessionmaker) as session:
        org = await session.get(Organization, org_id)
        assert org is not None
        user, _ = await create_user(
            session,
            actor=actor,
            organization=org,
            role=role,
            email=person.email,
            display_name=name,
            password=person.password,
            one_time=False,
        )
        enrol_with_secret(
            session,
            actor=actor,
            user=user,
            secret=person.totp_secret,
            sealer=app.state.protector.sealer,
        )
    return person


@dataclass(frozen=True)
class Seeded:
    #: The organisation of each role's token.
    organizations: dict[Role, str]
    #: A live token of each role.
    tokens: dict[Role, str]
    crisis_id: str
    #: A person of each role, of the same organisation as its token.
    people: dict[Role, Person]


S = TypeVar("S")


@dataclass(frozen=True)
class Live(Generic[S]):
    url: str
    database_url: str
    #: What the seed made (``Seeded`` for ``seed``'s).
    seeded: S


class Offline(httpx.AsyncBaseTransport):
    """Every outbound call of the server under test fails as an unreachable host would: a
    drill never reaches a real feed, gateway or receiver."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"offline drill: {request.url.host} not called", request=request)


async def resolve_to_drill_network(host: str, port: int) -> list[str]:
    return ["192.0.2.1"]


async def seed(app: FastAPI) -> Seeded:
    """An agency with an administrator, an embassy with a consular officer, a national society
    with a responder (a token and a person each), a few workers in Kuala Lumpur, a crisis over
    them and tasks in it for the embassy and the society: real ids to find."""
    agency = await make_org_in(app)
    embassy = await make_org_in(app, OrgKind.EMBASSY, "MYS", represents="PHL")
    society = await make_org_in(app, OrgKind.NATIONAL_SOCIETY, "MYS")
    organizations = {
        Role.ADMIN: agency,
        Role.CONSULAR_OFFICER: embassy,
        Role.SOCIETY_RESPONDER: society,
    }
    tokens = {role: await make_token_in(app, role, org) for role, org in organizations.items()}
    people = {
        role: await make_person_in(app, org, role, f"A {role.value.replace('_', ' ')}")
        for role, org in organizations.items()
    }
    admin, officer = tokens[Role.ADMIN], tokens[Role.CONSULAR_OFFICER]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lifeline.test") as client:
        for i in range(4):
            made = await client.post(
                "/api/v1/workers",
                json={
                    "nationality": "PHL",
                    "given_name": f"Worker {i}",
                    "document_number": f"PF{i:06d}",
                    "location": {"lat": KUALA_LUMPUR[0] + i / 100, "lon": KUALA_LUMPUR[1]},
                    "source": "embassy_registration",
                },
                headers=bearer(officer),
            )
            assert made.status_code == 201, made.text
        crisis = await client.post(
            "/api/v1/crises",
            json={
                "title": "Flood drill in Kuala Lumpur",
                "hazard": "flood",
                "severity": "severe",
                "exercise": True,
                "zones": KL_ZONE,
            },
            headers=bearer(admin),
        )
        assert crisis.status_code == 201, crisis.text
        for title, assignee in (
            ("Call the workers", embassy),
            ("Book the shelter", embassy),
            ("Open the first-aid post", society),
        ):
            task = await client.post(
                "/api/v1/tasks",
                json={"crisis_id": crisis.json()["id"], "title": title, "assignee_org": assignee},
                headers=bearer(admin),
            )
            assert task.status_code == 201, task.text
    return Seeded(
        organizations=organizations,
        tokens=tokens,
        crisis_id=crisis.json()["id"],
        people=people,
    )


@asynccontextmanager
async def live_server(
    database_url: str,
    seed: Callable[[FastAPI], Awaitable[Any]] = seed,
    **settings: Any,
) -> AsyncIterator[Live[Any]]:
    """The app on ``database_url``, seeded by ``seed`` (``Live.seeded`` is what it returns),
    served on a free port of the loopback by uvicorn on the suite's event loop; ``settings``
    replace the tests' own (``crisis_pass_inline=True``...)."""
    changed = settings_for(database_url).model_copy(
        update={"webhook_allow_hosts": DRILL_NETWORK, **settings}
    )
    app = create_app(changed, configure_logs=False)
    async with app.router.lifespan_context(app):
        await app.state.register_index.ready.wait()
        await app.state.http.aclose()
        app.state.http = httpx.AsyncClient(transport=Offline())
        app.state.resolver = resolve_to_drill_network
        seeded = await seed(app)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
        )
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            # uvicorn says it listens by a flag only.
            while not server.started:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            yield Live(url=f"http://127.0.0.1:{port}", database_url=database_url, seeded=seeded)
        finally:
            server.should_exit = True
            await serving
            sock.close()
