"""The playbook engine: (crisis, exposure, directory, what exists) → the tasks to create. Pure:
the same state plans nothing new; a new nationality or province plans only what it lacks."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from playbooks.actors import Organization, resolve
from playbooks.schema import SEVERITIES, Playbook, TaskTemplate, parse_duration


@dataclass(frozen=True, slots=True)
class CrisisState:
    id: str
    title: str
    hazard: str
    severity: str
    phase: str
    alert_level: int
    exercise: bool
    activated_at: datetime


@dataclass(frozen=True, slots=True)
class ExposureView:
    """Aggregates only: the engine never sees a person."""

    workers: int
    by_nationality_country: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    by_admin1: Mapping[str, int] = field(default_factory=dict)
    by_sector: Mapping[str, int] = field(default_factory=dict)
    vulnerable: int = 0
    family: int = 0
    #: Exposed workers per employer and per recruitment agency (directory ids).
    by_employer: Mapping[str, int] = field(default_factory=dict)
    by_agency: Mapping[str, int] = field(default_factory=dict)
    #: The names of the first-level subdivisions of ``by_admin1`` (``{"MY-10": "Selangor"}``):
    #: a task speaks of a province by its name; its key keeps the code.
    admin1_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlannedTask:
    key: str
    playbook: str
    task_key: str
    title: str
    description: str
    actor: str
    assignee: str | None
    coverage_gap: bool
    due_at: datetime
    escalate_after_s: int | None
    escalate_to: str | None
    after: tuple[str, ...]
    basis: tuple[str, ...]
    exercise: bool


@dataclass(frozen=True, slots=True)
class _Scope:
    suffix: str
    nationality: str | None
    country: str | None
    admin1: str | None
    workers: int
    organization: str | None = None


def _province(code: str | None, names: Mapping[str, str]) -> str:
    """A province as people say it: its name and, to tell it apart, its code."""
    if not code:
        return ""
    name = names.get(code)
    return f"{name} ({code})" if name else code


def applies(playbook: Playbook, crisis: CrisisState, exposure: ExposureView) -> bool:
    trigger = playbook.trigger
    return (
        ("any" in trigger.hazards or crisis.hazard in trigger.hazards)
        and SEVERITIES.index(crisis.severity) >= SEVERITIES.index(trigger.min_severity)
        and crisis.phase in trigger.phases
        and crisis.alert_level in trigger.alert_levels
        and exposure.workers >= trigger.min_workers
    )


def _scopes(template: TaskTemplate, exposure: ExposureView) -> list[_Scope]:
    if template.per == "nationality":
        return [
            _Scope(f"@{n}@{c}", n, c, None, count)
            for n, countries in sorted(exposure.by_nationality_country.items())
            for c, count in sorted(countries.items())
            if n and c and n != "unknown"
        ]
    if template.per in {"employer", "agency"}:
        counts = exposure.by_employer if template.per == "employer" else exposure.by_agency
        return [
            _Scope(f"@{org}", None, None, None, count, org)
            for org, count in sorted(counts.items())
            if org
        ]
    if template.per == "admin1":
        return [
            _Scope(f"@{a}", None, None, a, count)
            for a, count in sorted(exposure.by_admin1.items())
            if a and a != "unknown"
        ]
    totals: dict[str, int] = {}
    for countries in exposure.by_nationality_country.values():
        for country, count in countries.items():
            totals[country] = totals.get(country, 0) + count
    # The host country with the most exposed workers; of two with as many, the first by code,
    # so that the plan never depends on the order the counts came in.
    host = min(totals, key=lambda c: (-totals[c], c), default=None)
    return [_Scope("", None, host, None, exposure.workers)]


def _wanted(template: TaskTemplate, scope: _Scope, exposure: ExposureView) -> bool:
    when = template.when
    if (
        scope.workers < when.min_workers
        or exposure.vulnerable < when.min_vulnerable
        or exposure.family < when.min_family
    ):
        return False
    return not when.sectors or any(exposure.by_sector.get(s, 0) for s in when.sectors)


def plan(
    crisis: CrisisState,
    exposure: ExposureView,
    directory: Sequence[Organization],
    existing: Collection[str],
    library: Sequence[Playbook],
) -> list[PlannedTask]:
    """The tasks to create now, predecessors before successors, in a stable order."""
    planned: list[PlannedTask] = []
    for playbook in sorted(library, key=lambda p: p.key):
        if not applies(playbook, crisis, exposure):
            continue
        by_key = {t.key: t for t in playbook.tasks}
        for template in _in_dependency_order(playbook.tasks):
            for scope in _scopes(template, exposure):
                if not _wanted(template, scope, exposure):
                    continue
                key = f"{playbook.key}.{template.key}{scope.suffix}"
                if key in existing:
                    continue
                planned.append(
                    _task(crisis, exposure, directory, playbook, template, scope, key, by_key)
                )
    return planned


def _in_dependency_order(tasks: Sequence[TaskTemplate]) -> list[TaskTemplate]:
    done: list[TaskTemplate] = []
    seen: set[str] = set()
    by_key = {t.key: t for t in tasks}

    def add(task: TaskTemplate) -> None:
        if task.key in seen:
            return
        seen.add(task.key)
        for before in task.after:
            add(by_key[before])
        done.append(task)

    for task in tasks:
        add(task)
    return done


def _task(
    crisis: CrisisState,
    exposure: ExposureView,
    directory: Sequence[Organization],
    playbook: Playbook,
    template: TaskTemplate,
    scope: _Scope,
    key: str,
    by_key: Mapping[str, TaskTemplate],
) -> PlannedTask:
    if scope.organization is not None:
        org = next((o for o in directory if o.id == scope.organization), None)
    else:
        org = resolve(
            template.actor, nationality=scope.nationality, host=scope.country, directory=directory
        )
    gap = org is None and template.actor != "coordinator"
    values = {
        "nationality": scope.nationality or "all nationalities",
        "country": scope.country or "the affected countries",
        "admin1": _province(scope.admin1, exposure.admin1_names),
        "workers": scope.workers,
        "family": exposure.family,
        "vulnerable": exposure.vulnerable,
        "hazard": crisis.hazard.replace("_", " "),
        "crisis_title": crisis.title,
        "alert_level": crisis.alert_level,
    }
    title = template.title.format(**values)
    description = template.description.format(**values)
    if gap:
        who = template.actor.replace("_", " ")
        where = (
            values["admin1"] if scope.admin1 else f"{values['nationality']} in {values['country']}"
        )
        title = f"Coverage gap: no {who} for {where}. {title}"
        description = (
            f"Nobody in the directory fills the role '{template.actor}' here: find who can, or "
            f"do it. {description}"
        ).strip()
    after = []
    for before in template.after:
        predecessor = by_key[before]
        suffix = scope.suffix if predecessor.per == template.per else ""
        after.append(f"{playbook.key}.{before}{suffix}")
    escalate_to = None
    if template.escalate_to:
        target = resolve(
            template.escalate_to,
            nationality=scope.nationality,
            host=scope.country,
            directory=directory,
        )
        escalate_to = target.id if target else None
    return PlannedTask(
        key=key,
        playbook=playbook.key,
        task_key=template.key,
        title=title[:500],
        description=description,
        actor=template.actor,
        assignee=org.id if org else None,
        coverage_gap=gap,
        due_at=crisis.activated_at + parse_duration(template.due),
        escalate_after_s=int(parse_duration(template.escalate_after).total_seconds())
        if template.escalate_after
        else None,
        escalate_to=escalate_to,
        after=tuple(after),
        basis=tuple(template.basis),
        exercise=crisis.exercise,
    )
