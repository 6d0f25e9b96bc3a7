"""``/api/v1/tasks`` and ``/api/v1/crises/{id}/tasks``: the work, who owns it, its state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, computed_field

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.crises.service import get_crisis
from service.deps import IfMatch, SessionDep
from service.exports import csv as tasks_csv
from service.openapi import problems
from service.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from service.tasks import service
from service.tasks.models import Task, TaskStatus
from service.text import Line, Paragraph

router = APIRouter(tags=["tasks"])

Reader = Annotated[Principal, Depends(authorize(Permission.TASKS_READ))]
Worker = Annotated[Principal, Depends(authorize(Permission.TASKS_WRITE))]
Creator = Annotated[Principal, Depends(authorize(Permission.TASKS_CREATE))]


class TaskPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    crisis_id: str
    key: str
    playbook: str | None
    title: str
    description: str
    assignee_org: str | None
    assignee_user: str | None
    actor_role: str | None
    coverage_gap: bool
    status: str
    due_at: datetime | None
    escalate_after: int | None = Field(validation_alias="escalate_after_s", description="Seconds")
    escalated_at: datetime | None
    after: list[str]
    basis: list[str]
    exercise: bool
    needs_review: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        """Past its due time and not finished."""
        return (
            self.due_at is not None
            and self.status not in {"done", "cancelled"}
            and self.due_at < datetime.now(UTC)
        )


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    crisis_id: str
    title: Annotated[Line, Field(min_length=3, max_length=500)]
    assignee_org: str
    description: Annotated[Paragraph, Field(max_length=20_000)] = ""
    assignee_user: Annotated[Line, Field(max_length=200)] | None = None
    due_at: datetime | None = None
    after: list[str] = Field(default_factory=list, max_length=50)


class TaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = None
    assignee_org: str | None = None
    assignee_user: Annotated[Line, Field(max_length=200)] | None = None
    due_at: datetime | None = None


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[Paragraph, Field(min_length=1, max_length=10_000)]


# 404: the crisis or the organisation named in the body.
@router.post(
    "/tasks",
    response_model=TaskPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404),
)
async def create_task(data: TaskCreate, session: SessionDep, actor: Creator) -> Task:
    """A task by hand (coordinators), beside the playbooks' own."""
    from service.db import new_id
    from service.directory.service import get_organization

    crisis = await get_crisis(session, data.crisis_id)
    org = await get_organization(session, ref=data.assignee_org)
    return await service.create_task(
        session,
        crisis=crisis,
        actor=actor,
        values={
            "key": f"manual:{new_id()}",
            "title": data.title,
            "description": data.description,
            "assignee_org": org.id,
            "assignee_user": data.assignee_user,
            "due_at": data.due_at,
            "after": data.after,
        },
    )


@router.get(
    "/tasks", response_model=Page[TaskPublic], responses={200: {"content": {"text/csv": {}}}}
)
async def list_tasks(
    session: SessionDep,
    actor: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    org: str | None = None,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    crisis: str | None = None,
    due_before: datetime | None = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Your organisation's tasks (coordinators: everyone's), oldest first; format=csv exports."""
    after = decode_cursor(cursor)
    rows = await service.list_tasks(
        session,
        actor=actor,
        limit=10_000 if format == "csv" else limit + 1,
        after_id=str(after) if after else None,
        org=org,
        status=status_.value if status_ else None,
        crisis=crisis,
        due_before=due_before,
    )
    items = [TaskPublic.model_validate(t) for t in rows]
    if format == "csv":
        columns = [*TaskPublic.model_fields, *TaskPublic.model_computed_fields]
        lines = (
            [";".join(v) if isinstance(v, list) else v for v in map(item.model_dump().get, columns)]
            for item in items
        )
        return tasks_csv.response(columns, lines, "tasks.csv")
    shown = items[:limit]
    return Page[TaskPublic](
        items=shown, next_cursor=encode_cursor(shown[-1].id) if len(items) > limit else None
    )


@router.get("/crises/{id}/tasks", response_model=list[TaskPublic])
async def crisis_tasks(id: str, session: SessionDep, actor: Reader) -> list[TaskPublic]:
    await get_crisis(session, id)
    rows = await service.list_tasks(
        session,
        actor=actor,
        limit=10_000,
        after_id=None,
        org=None,
        status=None,
        crisis=id,
        due_before=None,
    )
    return [TaskPublic.model_validate(t) for t in rows]


@router.get("/tasks/{id}", response_model=TaskPublic)
async def get_task(id: str, session: SessionDep, actor: Reader) -> Task:
    return await service.get_task(session, actor=actor, task_id=id)


@router.patch("/tasks/{id}", response_model=TaskPublic)
async def change_task(
    id: str,
    data: TaskUpdate,
    session: SessionDep,
    actor: Worker,
    response: Response,
    version: IfMatch = None,
) -> dict[str, Any]:
    """Status, assignee, due time; a stale ``If-Match`` gets 412 and changes nothing."""
    changes = data.model_dump(exclude_unset=True, mode="python")
    if "status" in changes and changes["status"] is not None:
        changes["status"] = changes["status"].value
    task = await service.change_task(
        session, actor=actor, task_id=id, if_match=version, changes=changes
    )
    response.headers["ETag"] = f'"{task["version"]}"'
    return task


@router.post("/tasks/{id}/comments", status_code=status.HTTP_201_CREATED)
async def comment(
    id: str, data: CommentCreate, session: SessionDep, actor: Worker
) -> dict[str, Any]:
    made = await service.add_comment(session, actor=actor, task_id=id, body=data.body)
    return {"id": made.id, "task_id": made.task_id, "created_at": made.created_at}
