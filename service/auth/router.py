"""``/api/v1/tokens``: issuing and revoking API tokens (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from service.auth import service
from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.auth.schemas import TokenCreate, TokenIssued, TokenPublic
from service.deps import SessionDep
from service.directory.service import get_organization
from service.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor

router = APIRouter(prefix="/tokens", tags=["tokens"])

Manager = Annotated[Principal, Depends(authorize(Permission.TOKENS_MANAGE))]


@router.post("", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
async def create_token(data: TokenCreate, session: SessionDep, actor: Manager) -> TokenIssued:
    org = await get_organization(session, ref=data.organization)
    issued = await service.create_token(
        session, actor=actor, organization=org, role=data.role, name=data.name
    )
    public = TokenPublic.model_validate(issued.token)
    return TokenIssued(**public.model_dump(), token=issued.secret)


@router.get("", response_model=Page[TokenPublic])
async def list_tokens(
    session: SessionDep,
    actor: Manager,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    organization: str | None = None,
) -> Page[TokenPublic]:
    after = decode_cursor(cursor)
    org_id = (await get_organization(session, ref=organization)).id if organization else None
    rows = await service.list_tokens(
        session,
        limit=limit + 1,
        after_id=str(after) if after is not None else None,
        organization_id=org_id,
    )
    items = [TokenPublic.model_validate(t) for t in rows[:limit]]
    return Page[TokenPublic](
        items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None
    )


@router.delete("/{id}", response_model=TokenPublic)
async def revoke_token(id: str, session: SessionDep, actor: Manager) -> TokenPublic:
    return TokenPublic.model_validate(await service.revoke_token(session, actor=actor, token_id=id))
