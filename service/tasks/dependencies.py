"""What the task routes take from the request: the caller's permission, the task in the path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.deps import SessionDep
from service.openapi import raises
from service.tasks.models import Task
from service.tasks.service import get_task

Reader = Annotated[Principal, Depends(authorize(Permission.TASKS_READ))]
Worker = Annotated[Principal, Depends(authorize(Permission.TASKS_WRITE))]
Creator = Annotated[Principal, Depends(authorize(Permission.TASKS_CREATE))]


@raises(404)
async def readable_task(id: str, session: SessionDep, actor: Reader) -> Task:
    """The task ``{id}`` names if the caller may read it (its holder, whoever handed it on,
    coordinators), else the 404."""
    return await get_task(session, actor=actor, task_id=id)


TaskDep = Annotated[Task, Depends(readable_task)]
