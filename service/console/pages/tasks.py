"""The task board: the organisation's tasks across crises (coordinators: everyone's), filtered by
status, crisis and due time, refreshed every few seconds; one task with its actions (acknowledge,
start, block with a reason, complete, comment, reassign) and comments; what was handed on."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BeforeValidator, ValidationError

from service.auth.permissions import Permission, allowed
from service.auth.principal import Principal
from service.console.registry import NavEntry, Section
from service.console.render import render
from service.console.routing import console_router
from service.crises.service import get_crisis, list_crises
from service.db import utcnow
from service.deps import SessionDep
from service.directory.service import get_organization
from service.errors import InvalidInput, PreconditionFailed
from service.tasks import service
from service.tasks.dependencies import Reader, TaskDep, Worker
from service.tasks.models import TRANSITIONS, TaskStatus
from service.tasks.schemas import CommentCreate

router = console_router("/tasks")

#: Seconds between two refreshes of the board.
REFRESH_S = 5


class Due(enum.StrEnum):
    OVERDUE = "overdue"
    DAY = "day"
    WEEK = "week"


DUE_WITHIN = {Due.OVERDUE: timedelta(0), Due.DAY: timedelta(days=1), Due.WEEK: timedelta(days=7)}
#: The board's buttons: the status each sets, in words.
ACTIONS = {
    TaskStatus.ACKNOWLEDGED: "Acknowledge",
    TaskStatus.IN_PROGRESS: "Start",
    TaskStatus.DONE: "Complete",
}


@dataclass(frozen=True, slots=True)
class Filters:
    """What the board shows: a status, a crisis, a due time (each optional)."""

    status: TaskStatus | None
    crisis: str | None
    due: Due | None


def _empty_is_any(value: Any) -> Any:
    """An empty choice is no filter: the board's form sends ``status=`` for "any", and its
    refresh repeats the filters as they are, empty ones too."""
    return None if value == "" else value


AnyIfEmpty = BeforeValidator(_empty_is_any)


def board_filters(
    status: Annotated[TaskStatus | None, AnyIfEmpty, Query()] = None,
    crisis: Annotated[str | None, Query(max_length=64)] = None,
    due: Annotated[Due | None, AnyIfEmpty, Query()] = None,
) -> Filters:
    return Filters(status=status, crisis=crisis or None, due=due)


FiltersDep = Annotated[Filters, Depends(board_filters)]


async def _board(session: SessionDep, actor: Principal, asked: Filters) -> dict[str, Any]:
    status, crisis, due = asked.status, asked.crisis, asked.due
    filters: dict[str, Any] = {
        "status": status.value if status else None,
        "crisis": crisis,
        "due_before": utcnow() + DUE_WITHIN[due] if due else None,
    }
    held = await service.list_tasks(session, actor=actor, limit=200, cursor=None, **filters)
    handed = await service.list_tasks(
        session, actor=actor, limit=200, cursor=None, handed_off=True, **filters
    )
    return {
        "tasks": await service.as_public(session, held.items),
        "handed": await service.as_public(session, handed.items),
        "now": utcnow(),
        "query": {
            "status": status.value if status else "",
            "crisis": crisis or "",
            "due": due.value if due else "",
        },
    }


@router.get("", response_class=HTMLResponse, name="console.tasks")
async def board(
    request: Request,
    session: SessionDep,
    actor: Reader,
    asked: FiltersDep,
) -> HTMLResponse:
    crises = []
    if allowed(actor.role, Permission.CRISES_READ):
        crises = (await list_crises(session, limit=100, cursor=None, phase=None, hazard=None)).items
    return render(
        request,
        actor,
        "tasks.html",
        crises=crises,
        statuses=list(TaskStatus),
        refresh_s=REFRESH_S,
        **await _board(session, actor, asked),
    )


@router.get("/rows", response_class=HTMLResponse, name="console.task_rows")
async def rows(
    request: Request,
    session: SessionDep,
    actor: Reader,
    asked: FiltersDep,
) -> HTMLResponse:
    """The board's tables alone, for its refresh."""
    return render(request, actor, "_task_board.html", **await _board(session, actor, asked))


async def _task_page(
    request: Request,
    session: SessionDep,
    actor: Principal,
    task_id: str,
    *,
    status_code: int = 200,
    problem: str | None = None,
) -> HTMLResponse:
    task = await service.get_task(session, actor=actor, task_id=task_id)
    shown = (await service.as_public(session, [task]))[0]
    comments = await service.list_comments(
        session, actor=actor, task_id=task_id, limit=200, cursor=None
    )
    crisis = await get_crisis(session, task.crisis_id)
    current = TaskStatus(task.status)
    template = "_task.html" if request.headers.get("HX-Request") else "task.html"
    return render(
        request,
        actor,
        template,
        status_code=status_code,
        task=shown,
        crisis=crisis,
        comments=comments.items,
        may_change=service.visible(actor, task) and allowed(actor.role, Permission.TASKS_WRITE),
        may_reassign=service.sees_all(actor),
        actions={s: label for s, label in ACTIONS.items() if s in TRANSITIONS[current]},
        may_block=TaskStatus.BLOCKED in TRANSITIONS[current],
        problem=problem,
    )


@router.get("/{id}", response_class=HTMLResponse, name="console.task")
async def task_page(
    request: Request, session: SessionDep, actor: Reader, task: TaskDep
) -> HTMLResponse:
    return await _task_page(request, session, actor, task.id)


def _after(request: Request, task_id: str) -> Response | None:
    """A plain form comes back to the task's page (an htmx one gets the panel instead)."""
    if request.headers.get("HX-Request"):
        return None
    return RedirectResponse(f"/console/tasks/{task_id}", status_code=303)


STALE = (
    "Someone changed this task after you opened it (you saw version {seen}). Nothing was "
    "changed: here it is as it is now; do it again if it still applies."
)


async def _change(
    request: Request,
    session: SessionDep,
    actor: Principal,
    task_id: str,
    version: int,
    changes: dict[str, Any],
    note: str | None = None,
) -> Response:
    try:
        await service.change_task(
            session, actor=actor, task_id=task_id, if_match=version, changes=changes
        )
    except PreconditionFailed:
        return await _task_page(
            request, session, actor, task_id, status_code=412, problem=STALE.format(seen=version)
        )
    except InvalidInput as exc:
        return await _task_page(
            request, session, actor, task_id, status_code=422, problem=exc.detail
        )
    if note:
        await service.add_comment(session, actor=actor, task_id=task_id, body=note)
    return _after(request, task_id) or await _task_page(request, session, actor, task_id)


@router.post("/{id}/status", response_class=HTMLResponse, name="console.task_status")
async def change_status(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Worker,
    status: Annotated[TaskStatus, Form()],
    version: Annotated[int, Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A new status at the version the page showed; blocking says why, as a comment."""
    note = None
    if status is TaskStatus.BLOCKED:
        if not reason.strip():
            return await _task_page(
                request, session, actor, id, status_code=422, problem="Say why the task is blocked."
            )
        note = f"Blocked: {reason.strip()}"
    return await _change(request, session, actor, id, version, {"status": status.value}, note)


@router.post("/{id}/assignee", response_class=HTMLResponse, name="console.task_assignee")
async def reassign(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Worker,
    org: Annotated[str, Form(min_length=1, max_length=120)],
    version: Annotated[int, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Hand the task to another organisation (coordinators), named by its slug."""
    holder = await get_organization(session, ref=org.strip())
    return await _change(request, session, actor, id, version, {"assignee_org": holder.id})


@router.post("/{id}/comments", response_class=HTMLResponse, name="console.task_comment")
async def comment(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Worker,
    body: Annotated[str, Form(max_length=10_000)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    try:
        said = CommentCreate.model_validate({"body": body})
    except ValidationError:
        return await _task_page(
            request, session, actor, id, status_code=422, problem="A comment needs some text."
        )
    await service.add_comment(session, actor=actor, task_id=id, body=said.body)
    return _after(request, id) or await _task_page(request, session, actor, id)


section = Section(
    router=router, nav=(NavEntry("/console/tasks", "Task board", Permission.TASKS_READ, 30),)
)
