"""Schemathesis hooks of the contract fuzzing (``test_contract_fuzz.py``), which ``st run`` loads
through ``SCHEMATHESIS_HOOKS``: the token of the run, and two inputs that a schema cannot make
valid by its form alone.

The run's token comes from the database it fuzzes (``LIFELINE_FUZZ_DATABASE_URL``), for the
organisation and role it is given: the fuzzer revokes tokens (``DELETE /api/v1/tokens/{id}`` of
one it listed) and may revoke its own, so a 401 to a token that worked gets a new one.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any

import schemathesis
from schemathesis import Case

from service.auth.permissions import Role
from service.auth.principal import Principal
from service.auth.service import create_token
from service.db import make_engine, make_sessionmaker, session_scope
from service.directory.models import Organization

_keys = itertools.count()


async def _mint() -> str:
    engine = make_engine(os.environ["LIFELINE_FUZZ_DATABASE_URL"])
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            org = await session.get(Organization, os.environ["LIFELINE_FUZZ_ORGANIZATION"])
            assert org is not None
            issued = await create_token(
                session,
                actor=Principal.system("cli"),
                organization=org,
                role=Role(os.environ["LIFELINE_FUZZ_ROLE"]),
            )
            return issued.secret
    finally:
        await engine.dispose()


@schemathesis.auth(refresh_interval=24 * 3600, retry_on=[401])
class FreshToken:
    """A token of the run's role, made anew when the last one was revoked."""

    def get(self, case: Case, ctx: Any) -> str:
        return asyncio.run(_mint())

    def set(self, case: Case, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def before_call(context: Any, case: Case, kwargs: dict[str, Any]) -> None:
    """A valid request is sent as a client would send it.

    - ``cursor``: an opaque token that only a page of the same list gives out (pattern or not,
      a string of the fuzzer's is refused with a 422, as the document says); a valid request
      asks for the first page.
    - ``Idempotency-Key``: the same key with another request is a 422
      (``idempotency-key-reused``), as the document says; a client makes a key per request, and
      so does a valid request here.

    Requests that are meant to be invalid are sent as they were made.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.query and "cursor" in case.query:
        case.query = {k: v for k, v in case.query.items() if k != "cursor"}
    for name in list(case.headers or {}):
        if name.lower() == "idempotency-key":
            case.headers[name] = f"{str(case.headers[name])[:200]}-{next(_keys)}"
