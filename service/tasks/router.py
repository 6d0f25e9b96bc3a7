"""``/api/v1/tasks`` and ``/api/v1/crises/{id}/tasks``: the work, who owns it, its state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from service.auth.principal import Principal
from service.crises.service import get_crisis
from service.deps import IfMatch, SessionDep, send_etag
from service.exports import tables
from service.openapi import problems
from service.pagination import CursorParam, FilterText, LimitParam, Page
from service.tasks import service
from service.tasks.dependencies import Creator, Reader, TaskDep, Worker
from service.tasks.models import TaskStatus
from service.tasks.schemas import CommentCreate, CommentPublic, TaskCreate, TaskPublic, TaskUpdate
from service.text import Instant

router = APIRouter(tags=["tasks"])


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
    """One page of tasks as ``{items, next_cursor}``, or all of them as CSV or XLSX."""
    page = await service.list_tasks(
        session,
        actor=actor,
        limit=CSV_LIMIT if format in tables.FORMATS else limit,
        cursor=cursor,
        **filters,
    )
    items = await service.as_public(session, page.items)
    if format in tables.FORMATS:
        columns = [*TaskPublic.model_fields, *TaskPublic.model_computed_fields]
        lines = [
            [";".join(v) if isinstance(v, list) else v for v in map(item.model_dump().get, columns)]
            for item in items
        ]
        return tables.download(
            session,
            actor,
            format,
            columns,
            lines,
            filename,
            what="tasks",
            scope={k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in filters.items()},
            cap=CSV_LIMIT,
            more=page.next_cursor is not None,
        )
    return Page[TaskPublic](items=items, next_cursor=page.next_cursor)


Format = Annotated[str, Query(pattern=tables.PATTERN)]
StatusFilter = Annotated[TaskStatus | None, Query(alias="status")]
#: The most rows one CSV export holds.
CSV_LIMIT = 10_000
CSV_ANSWER = tables.ANSWER


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
    return (await service.as_public(session, [made]))[0]


@router.get("/tasks", response_model=Page[TaskPublic], responses=CSV_ANSWER)
async def list_tasks(
    session: SessionDep,
    actor: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    org: FilterText = None,
    status_: StatusFilter = None,
    crisis: FilterText = None,
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
    org: FilterText = None,
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
async def get_task(
    session: SessionDep, actor: Reader, task: TaskDep, response: Response
) -> TaskPublic:
    """Your organisation's task, or one it handed on (read-only: a PATCH is refused with 403)."""
    send_etag(response, task.version)
    return (await service.as_public(session, [task]))[0]


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
    return (await service.as_public(session, [task]))[0]


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
    page = await service.list_comments(session, actor=actor, task_id=id, limit=limit, cursor=cursor)
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
        for c, slug, name in page.items
    ]
    return Page[CommentPublic](items=items, next_cursor=page.next_cursor)
