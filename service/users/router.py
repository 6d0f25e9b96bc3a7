"""``/api/v1/users``: people's accounts (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from service.auth.permissions import Role
from service.deps import SessionDep
from service.directory.service import get_organization
from service.openapi import problems
from service.pagination import CursorParam, FilterText, LimitParam, Page
from service.users import service
from service.users.dependencies import Manager
from service.users.models import User
from service.users.passwords import new_password
from service.users.schemas import UserCreate, UserCreated, UserPublic

router = APIRouter(prefix="/users", tags=["users"])


def public(user: User) -> UserPublic:
    return UserPublic.model_validate(
        {**user.model_dump(), "second_factor": user.totp_enrolled_at is not None}
    )


@router.post(
    "",
    response_model=UserCreated,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The account exists with this organisation and role: unchanged"},
        # The organisation named in the body; an e-mail taken elsewhere.
        **problems(404, 409),
    },
)
async def create_user(
    data: UserCreate, session: SessionDep, actor: Manager, response: Response
) -> UserCreated:
    """Make a person's account and a one-time password for them. They sign in at
    ``/console/sign-in`` and set up their second factor (TOTP) the first time."""
    org = await get_organization(session, ref=data.organization)
    password = new_password()
    user, created = await service.create_user(
        session,
        actor=actor,
        organization=org,
        role=Role(data.role.value),
        email=data.email,
        display_name=data.display_name,
        password=password,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return UserCreated(**public(user).model_dump(), password=password if created else None)


@router.get("", response_model=Page[UserPublic], responses=problems(404))
async def list_users(
    session: SessionDep,
    actor: Manager,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    organization: FilterText = None,
) -> Page[UserPublic]:
    org_id = (await get_organization(session, ref=organization)).id if organization else None
    page = await service.list_users(session, limit=limit, cursor=cursor, organization_id=org_id)
    return Page[UserPublic](items=[public(u) for u in page.items], next_cursor=page.next_cursor)


@router.post("/{id}/disable", response_model=UserPublic, responses=problems(404))
async def disable_user(id: str, session: SessionDep, actor: Manager) -> UserPublic:
    """Disable an account: its sessions end at once, it signs in no more. Again: unchanged."""
    return public(await service.disable_user(session, actor=actor, user_id=id))
