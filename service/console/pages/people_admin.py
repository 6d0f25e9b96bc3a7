"""People's accounts: the organisation's (an operator of the deployment: everyone's), a new one
with its one-time password shown once as the command line prints it, disabling one."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse

from service.auth.permissions import Permission, Role
from service.auth.principal import Principal
from service.console.registry import NavEntry, Section
from service.console.render import render
from service.console.routing import console_router
from service.deps import SessionDep
from service.directory.service import get_organization
from service.errors import InvalidInput
from service.lookups import not_found
from service.users import service
from service.users.dependencies import Manager
from service.users.passwords import new_password
from service.users.schemas import PersonRole

router = console_router("/people")


async def _page(
    request: Request,
    session: SessionDep,
    actor: Principal,
    *,
    cursor: str | None = None,
    made: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    page = await service.list_users(
        session, limit=100, cursor=cursor, organization_id=actor.organization_id
    )
    return render(
        request,
        actor,
        "people_admin.html",
        status_code=status_code,
        users=page.items,
        next_cursor=page.next_cursor,
        roles=[r.value for r in PersonRole],
        everyone=actor.organization_id is None,
        made=made,
        problem=problem,
    )


@router.get("", response_class=HTMLResponse, name="console.people_admin")
async def people(
    request: Request,
    session: SessionDep,
    actor: Manager,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    return await _page(request, session, actor, cursor=cursor)


@router.post("", response_class=HTMLResponse, name="console.people_admin_create")
async def create(
    request: Request,
    session: SessionDep,
    actor: Manager,
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[PersonRole, Form()],
    display_name: Annotated[str, Form(max_length=200)] = "",
    organization: Annotated[str, Form(max_length=63)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """A new account in the caller's organisation (an operator names the organisation)."""
    ref = actor.organization_id or organization
    if not ref:
        raise InvalidInput("Name the organisation of the account (its slug)")
    org = await get_organization(session, ref=ref)
    password = new_password()
    try:
        user, created = await service.create_user(
            session,
            actor=actor,
            organization=org,
            role=Role(role.value),
            email=email,
            display_name=display_name or email,
            password=password,
        )
    except InvalidInput as exc:
        return await _page(request, session, actor, problem=exc.detail, status_code=422)
    made = {"email": user.email, "password": password if created else ""}
    return await _page(request, session, actor, made=made)


@router.post("/{id}/disable", response_class=HTMLResponse, name="console.people_admin_disable")
async def disable(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Manager,
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Disable an account of the caller's organisation: its sessions end at once."""
    user = await service.get_user(session, id)
    if actor.organization_id is not None and user.organization_id != actor.organization_id:
        raise not_found("user", id)
    await service.disable_user(session, actor=actor, user_id=id)
    return await _page(request, session, actor)


section = Section(
    router=router,
    nav=(NavEntry("/console/people", "People", Permission.USERS_MANAGE, 70),),
)
