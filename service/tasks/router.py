"""``/api/v1/tasks`` and ``/api/v1/crises/{id}/tasks``: the work, who owns it, its state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, computed_field

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.crises.service import get_crisis
from service.deps import IfMatch, SessionDep, send_etag
from service.errors import InvalidInput
from service.exports import csv as tasks_csv
from service.openapi import problems
from service.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from service.tasks import service
from service.tasks.models import TaskStatus
from service.text import Instant, Line, Paragraph

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
    assignee_org: str | None = Field(description="The id of the organisation that holds it")
    assignee_org_slug: str | None = None
    assignee_org_name: str | None = None
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
    comments: int = Field(default=0, description="How many comments: GET /tasks/{id}/comments")
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
    due_at: Instant | None = None
    after: list[str] = Field(default_factory=list, max_length=50)


class TaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = None
    assignee_org: str | None = None
    assignee_user: Annotated[Line, Field(max_length=200)] | None = None
    due_at: Instant | None = None


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[Paragraph, Field(min_length=1, max_length=10_000)]


class CommentPublic(BaseModel):
    id: str
    task_id: str
    body: str
    author_org: str | None = Field(description="The id of the author's organisation")
    author_org_slug: str | None
    author_org_name: str | None
    created_at: datetime


async def _public(session: SessionDep, rows: Sequence[Any]) -> list[TaskPublic]:
    """Tasks (rows or dicts) as answered, each with its holder's slug and name and its comment
    count: one query for them all."""
    items = [TaskPublic.model_validate(t) for t in rows]
    found = await service.details(session, [t.id for t in items])
    for item in items:
        slug, name, comments = found.get(item.id, (None, None, 0))
        item.assignee_org_slug, item.assignee_org_name, item.comments = slug, name, comments
    return items


async def _page(
    session: SessionDep,
    actor: Principal,
    *,
    limit: int,
    cursor: str | None,
    format: str,
    filename: str,
    **filters: Any,
) -> Any:
    """One page of tasks as ``{items, next_cursor}``, or all of them as CSV."""
    after = decode_cursor(cursor)
    rows = await service.list_tasks(
        session,
        actor=actor,
        limit=10_000 if format == "csv" else limit + 1,
        after_id=str(after) if after else None,
        **filters,
    )
    items = await _public(session, rows)
    if format == "csv":
        columns = [*TaskPublic.model_fields, *TaskPublic.model_computed_fields]
        lines = (
            [";".join(v) if isinstance(v, list) else v for v in map(item.model_dump().get, columns)]
            for item in items
        )
        return tasks_csv.response(columns, lines, filename)
    shown = items[:limit]
    return Page[TaskPublic](
        items=shown, next_cursor=encode_cursor(shown[-1].id) if len(items) > limit else None
    )


Format = Annotated[str, Query(pattern="^(json|csv)$")]
StatusFilter = Annotated[TaskStatus | None, Query(alias="status")]
CSV_ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


# 404: the crisis or the organisation named in the body.
@router.post(
    "/tasks",
    response_model=TaskPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404),
)
async def create_task(data: TaskCreate, session: SessionDep, actor: Creator) -> TaskPublic:
    """A task by hand (coordinators), beside the playbooks' own."""
    from service.db import new_id
    from service.directory.service import get_organization

    crisis = await get_crisis(session, data.crisis_id)
    org = await get_organization(session, ref=data.assignee_org)
    made = await service.create_task(
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
    return (await _public(session, [made]))[0]


@router.get("/tasks", response_model=Page[TaskPublic], responses=CSV_ANSWER)
async def list_tasks(
    session: SessionDep,
    actor: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    org: str | None = None,
    status_: StatusFilter = None,
    crisis: str | None = None,
    due_before: Instant | None = None,
    handed_off: Annotated[
        bool,
        Query(
            description="Instead of your tasks, those your organisation handed on to another "
            "(reassigned, or next after a task of yours was done): read-only for you"
        ),
    ] = False,
    format: Format = "json",
) -> Any:
    """Your organisation's tasks (coordinators: everyone's), oldest first; format=csv exports."""
    return await _page(
        session,
        actor,
        limit=limit,
        cursor=cursor,
        format=format,
        filename="tasks.csv",
        org=org,
        status=status_.value if status_ else None,
        crisis=crisis,
        due_before=due_before,
        handed_off=handed_off,
    )


@router.get("/crises/{id}/tasks", response_model=Page[TaskPublic])
async def crisis_tasks(
    id: str,
    session: SessionDep,
    actor: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    org: str | None = None,
    status_: StatusFilter = None,
    due_before: Instant | None = None,
) -> Any:
    """The crisis's tasks that you may see, as ``GET /tasks?crisis=`` answers them (its CSV
    export too)."""
    await get_crisis(session, id)
    return await _page(
        session,
        actor,
        limit=limit,
        cursor=cursor,
        format="json",
        filename="tasks.csv",
        org=org,
        status=status_.value if status_ else None,
        crisis=id,
        due_before=due_before,
    )


@router.get("/tasks/{id}", response_model=TaskPublic)
async def get_task(id: str, session: SessionDep, actor: Reader, response: Response) -> TaskPublic:
    """Your organisation's task, or one it handed on (read-only: a PATCH is refused with 403)."""
    task = await service.get_task(session, actor=actor, task_id=id)
    send_etag(response, task.version)
    return (await _public(session, [task]))[0]


@router.patch("/tasks/{id}", response_model=TaskPublic)
async def change_task(
    id: str,
    data: TaskUpdate,
    session: SessionDep,
    actor: Worker,
    response: Response,
    version: IfMatch,
) -> TaskPublic:
    """Status, assignee, due time, with ``If-Match`` (the ``ETag`` of the GET): none gets 428,
    a stale one 412, and neither changes anything."""
    changes = data.model_dump(exclude_unset=True, mode="python")
    if "status" in changes and changes["status"] is not None:
        changes["status"] = changes["status"].value
    task = await service.change_task(
        session, actor=actor, task_id=id, if_match=version, changes=changes
    )
    send_etag(response, task["version"])
    return (await _public(session, [task]))[0]


@router.post("/tasks/{id}/comments", status_code=status.HTTP_201_CREATED)
async def comment(
    id: str, data: CommentCreate, session: SessionDep, actor: Worker
) -> dict[str, Any]:
    made = await service.add_comment(session, actor=actor, task_id=id, body=data.body)
    return {"id": made.id, "task_id": made.task_id, "created_at": made.created_at}


@router.get("/tasks/{id}/comments", response_model=Page[CommentPublic])
async def comments(
    id: str, session: SessionDep, actor: Reader, limit: LimitParam = 50, cursor: CursorParam = None
) -> Page[CommentPublic]:
    """The task's comments, oldest first, with who wrote them: for whoever may read the task."""
    rows = await service.list_comments(
        session, actor=actor, task_id=id, limit=limit + 1, after=_comment_cursor(cursor)
    )
    items = [
        CommentPublic(
            id=c.id,
            task_id=c.task_id,
            body=c.body,
            author_org=c.author_org,
            author_org_slug=slug,
            author_org_name=name,
            created_at=c.created_at,
        )
        for c, slug, name in rows[:limit]
    ]
    last = items[-1] if len(rows) > limit else None
    return Page[CommentPublic](
        items=items,
        next_cursor=encode_cursor([last.created_at.isoformat(), last.id]) if last else None,
    )


def _comment_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """A comments cursor is (time, id) of the last comment shown."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        at, last = key
        return datetime.fromisoformat(at), str(last)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            "The cursor is not one this service gave out; start again without it",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from exc
