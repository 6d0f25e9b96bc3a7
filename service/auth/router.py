"""``/api/v1/tokens``: issuing and revoking API tokens (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from service.audit.service import record
from service.auth import service
from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.auth.schemas import TokenCreate, TokenIssued, TokenPublic
from service.db import session_scope
from service.deps import SessionDep
from service.directory.service import get_organization
from service.openapi import problems
from service.pagination import CursorParam, FilterText, LimitParam, Page
from service.settings import Settings

router = APIRouter(prefix="/tokens", tags=["tokens"])

Manager = Annotated[Principal, Depends(authorize(Permission.TOKENS_MANAGE))]


@router.post(
    "",
    response_model=TokenIssued,
    status_code=status.HTTP_201_CREATED,
    responses={
        403: {
            "description": "A role that reads personal data, asked for another organisation "
            "(only its own administrators issue those, unless the deployment allows it)"
        },
        # The organisation named in the body.
        **problems(404),
    },
)
async def create_token(
    data: TokenCreate, request: Request, session: SessionDep, actor: Manager
) -> TokenIssued:
    """Issue a token. For another organisation than yours, a role that reads personal data is
    refused unless ``LIFELINE_CENTRAL_ISSUE_PERSONAL_DATA_CREDENTIALS`` is on; every issue for
    another organisation is audited as ``token.create_for_other_organization`` and listed, with
    its issuer, to that organisation's administrators."""
    org = await get_organization(session, ref=data.organization)
    settings: Settings = request.app.state.settings
    try:
        issued = await service.create_token(
            session,
            actor=actor,
            organization=org,
            role=data.role,
            name=data.name,
            allow_central=settings.central_issue_personal_data_credentials,
        )
    except service.IssueRefused:
        # The request's transaction is rolled back (now, so that SQLite's write lock is free;
        # the rollback expires ``org``): the refusal is written in one of its own.
        target = org.id
        await session.rollback()
        async with session_scope(request.app.state.sessionmaker) as own:
            record(
                own,
                actor=actor,
                action="token.create_for_other_organization",
                outcome="denied",
                subject_type="organization",
                subject_id=target,
                detail={"organization_id": target, "role": data.role.value},
            )
        raise
    public = TokenPublic.model_validate(issued.token)
    return TokenIssued(**public.model_dump(), token=issued.secret)


@router.get("", response_model=Page[TokenPublic], responses=problems(404))
async def list_tokens(
    session: SessionDep,
    actor: Manager,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    organization: FilterText = None,
) -> Page[TokenPublic]:
    org_id = (await get_organization(session, ref=organization)).id if organization else None
    page = await service.list_tokens(session, limit=limit, cursor=cursor, organization_id=org_id)
    items = [TokenPublic.model_validate(t) for t in page.items]
    return Page[TokenPublic](items=items, next_cursor=page.next_cursor)


@router.delete("/{id}", response_model=TokenPublic)
async def revoke_token(id: str, session: SessionDep, actor: Manager) -> TokenPublic:
    return TokenPublic.model_validate(await service.revoke_token(session, actor=actor, token_id=id))
