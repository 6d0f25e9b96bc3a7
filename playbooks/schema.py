"""The playbook schema: a YAML file says when it applies and what work it creates for whom."""

from __future__ import annotations

import re
import string
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

HAZARDS = (
    "earthquake",
    "tropical_cyclone",
    "flood",
    "tsunami",
    "volcano",
    "wildfire",
    "drought",
    "conflict",
    "epidemic",
    "civil_unrest",
    "economic_crisis",
    "other",
)
SEVERITIES = ("minor", "moderate", "severe", "extreme")
PHASES = ("preparedness", "response", "recovery", "closed")
Actor = Literal[
    "embassy",
    "national_society_host",
    "national_society_origin",
    "labour_ministry_origin",
    "host_authority",
    "employer",
    "recruitment_agency",
    "international_org",
    "coordinator",
]
#: What a title or description may say, filled in per task.
PLACEHOLDERS = frozenset(
    {
        "nationality",
        "country",
        "admin1",
        "workers",
        "family",
        "vulnerable",
        "hazard",
        "crisis_title",
        "alert_level",
    }
)
_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?$")
_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")


def parse_duration(text: str) -> timedelta:
    """``"2h"``, ``"3d"``, ``"1d 12h"``, ``"30m"`` or ISO 8601 ``"PT2H"``, ``"P3D"``."""
    raw = text.strip()
    match = _DURATION.match(raw) or _ISO.match(raw)
    if not raw or not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration: write 2h, 3d, 1d 12h, 30m or PT2H")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _duration(text: str) -> str:
    parse_duration(text)
    return text


def _placeholders(text: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        raise ValueError(f"unknown placeholder(s) {unknown}: use {sorted(PLACEHOLDERS)}")
    return text


def _said(text: str) -> str:
    if not text.strip():
        raise ValueError("say what to do: every action has a description")
    return text


Duration = Annotated[str, AfterValidator(_duration)]
Template = Annotated[str, AfterValidator(_placeholders)]


class When(BaseModel):
    """Conditions on the exposure of the task's scope (a nationality, a province, the crisis)."""

    model_config = ConfigDict(extra="forbid")

    min_workers: int = Field(default=1, ge=0)
    min_vulnerable: int = Field(default=0, ge=0)
    min_family: int = Field(default=0, ge=0)
    sectors: list[str] = Field(default_factory=list)


class TaskTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_]{1,60}$")
    title: Template = Field(min_length=3, max_length=300)
    #: What to do, for the organisation that gets the task: every action says it.
    description: Annotated[Template, AfterValidator(_said)] = Field(
        default="", validate_default=True
    )
    actor: Actor
    due: Duration
    escalate_after: Duration | None = None
    escalate_to: Actor | None = None
    after: list[str] = Field(default_factory=list)
    #: How many copies: one per crisis, per exposed nationality and host country, per province,
    #: or per employer / recruitment agency of the exposed workers (those in the directory).
    per: Literal["crisis", "nationality", "admin1", "employer", "agency"] = "crisis"
    when: When = Field(default_factory=When)
    basis: list[str] = Field(min_length=1, description="The texts the action rests on")


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hazards: list[Literal["any", *HAZARDS]] = Field(min_length=1)  # type: ignore[valid-type]
    min_severity: Literal[*SEVERITIES] = "minor"  # type: ignore[valid-type]
    phases: list[Literal[*PHASES]] = Field(default_factory=lambda: ["response"])  # type: ignore[valid-type]
    alert_levels: list[Annotated[int, Field(ge=1, le=4)]] = Field(
        default_factory=lambda: [1, 2, 3, 4]
    )
    min_workers: int = Field(default=1, ge=0)


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,60}$")
    title: str = Field(min_length=3, max_length=200)
    version: int = Field(ge=1)
    description: str = ""
    trigger: Trigger
    tasks: list[TaskTemplate] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Playbook:
        keys = [t.key for t in self.tasks]
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        if duplicated:
            raise ValueError(f"task keys must be unique: {duplicated}")
        for task in self.tasks:
            unknown = sorted(set(task.after) - set(keys))
            if unknown:
                raise ValueError(f"task {task.key}: 'after' names unknown task(s) {unknown}")
        # Cycles in "after" would leave tasks blocked forever.
        graph = {t.key: set(t.after) for t in self.tasks}
        state: dict[str, int] = {}

        def visit(node: str, path: tuple[str, ...]) -> None:
            if state.get(node) == 1:
                raise ValueError(f"'after' makes a cycle: {' -> '.join((*path, node))}")
            if state.get(node) == 2:
                return
            state[node] = 1
            for nxt in sorted(graph[node]):
                visit(nxt, (*path, node))
            state[node] = 2

        for node in sorted(graph):
            visit(node, ())
        return self
