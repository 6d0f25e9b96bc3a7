"""``/api/v1/playbooks``: the library, and validation of a playbook before it is added."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from playbooks.loader import load_library, validate_yaml
from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.errors import InvalidInput, NotFound

router = APIRouter(prefix="/playbooks", tags=["playbooks"])

Reader = Annotated[Principal, Depends(authorize(Permission.CRISES_READ))]
Writer = Annotated[Principal, Depends(authorize(Permission.CRISES_WRITE))]


@router.get("")
async def list_playbooks(actor: Reader) -> list[dict[str, Any]]:
    return [
        {
            "key": p.key,
            "title": p.title,
            "version": p.version,
            "trigger": p.trigger.model_dump(),
            "tasks": len(p.tasks),
        }
        for p in load_library()
    ]


@router.get("/{key}")
async def get_playbook(key: str, actor: Reader) -> dict[str, Any]:
    found = next((p for p in load_library() if p.key == key), None)
    if found is None:
        raise NotFound(f"No playbook {key!r}")
    return found.model_dump()


@router.post(
    "/validate",
    openapi_extra={
        "requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}}
    },
)
async def validate_playbook(
    actor: Writer, text: Annotated[str, Body(media_type="application/yaml")]
) -> dict[str, Any]:
    """Check a playbook's YAML: its summary, or a 422 listing each problem with its line."""
    playbook, issues = validate_yaml(text)
    if playbook is None:
        raise InvalidInput(
            f"The playbook has {len(issues)} problem(s)",
            errors=[{"loc": ["body", *i.loc], "msg": str(i)} for i in issues],
        )
    return {"valid": True, "key": playbook.key, "tasks": [t.key for t in playbook.tasks]}
