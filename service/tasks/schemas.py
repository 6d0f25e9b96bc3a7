"""What the task API takes and gives: tasks and their comments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, computed_field

from service.tasks.models import TaskStatus
from service.text import Instant, Line, Paragraph


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
    assignee_user: str | None = Field(description="The id of the user who holds it, if one")
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


#: A person of the assignee organisation (``service.users``).
AssigneeUser = Annotated[
    Line,
    Field(
        max_length=200,
        description="The id of a user (`/api/v1/users`) of the assignee organisation, enabled; "
        "another is a 422",
    ),
]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    crisis_id: str
    title: Annotated[Line, Field(min_length=3, max_length=500)]
    assignee_org: str
    description: Annotated[Paragraph, Field(max_length=20_000)] = ""
    assignee_user: AssigneeUser | None = None
    due_at: Instant | None = None
    after: list[str] = Field(default_factory=list, max_length=50)


class TaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = None
    assignee_org: str | None = None
    assignee_user: AssigneeUser | None = None
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
