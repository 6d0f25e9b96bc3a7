"""``/api/v1/playbooks``: the library, and validation of a playbook before it is added."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from playbooks.loader import load_library, validate_yaml
from service.crises.dependencies import PlaybookDep, Reader, Writer
from service.errors import InvalidInput

router = APIRouter(prefix="/playbooks", tags=["playbooks"])


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
async def get_playbook(actor: Reader, found: PlaybookDep) -> dict[str, Any]:
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
