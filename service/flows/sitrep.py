"""A crisis's situation report for a day: the figures of every domain gathered as the caller may
see them, the map's shapes, and the report drawn as a PDF (``service.exports.pdf``) or read by
the console's page.

Counts only: never a name, never a documentation status. What happened (the crisis and its
latest zone), who is exposed (``exposure_seen_by``, the API's reading for the caller, rounded
and withheld as it is there), what is being done (the tasks the caller may read, by holder and
status, overdue ones and coverage gaps), welfare (``welfare.service.counts``, the same rules),
movements and returns (the repatriation report's line and movements, for those who may read
them) and what changed in the 24 hours to the report's time (the timeline's events by kind).

The figures are the crisis's as they are when the report is made; only the changes are of the
day asked. A day before the crisis opened, or a day to come, is a 422.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import jinja2
import markupsafe
import shapely
from shapely.geometry import mapping, shape
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.admin import AdminAreas
from service.auth.permissions import Permission, allowed
from service.auth.principal import Principal
from service.crises import service as crises
from service.crises.exposure import exposure_seen_by
from service.crises.models import Crisis, CrisisEvent
from service.db import utcnow
from service.errors import InvalidInput, NotFound
from service.exports.maps import Shape, rings_of, shade, svg
from service.exports.pdf import (
    Block,
    Column,
    Heading,
    KeyFigures,
    MapFigure,
    Paragraph,
    Section,
    report_pdf,
)
from service.flows.sitrep_texts import EN, TEXTS, texts
from service.repatriation.reports import crisis_report
from service.tasks.service import as_public, list_tasks
from service.welfare.service import counts as welfare_counts

#: How finely the provinces are drawn (degrees), as on the console's map.
SIMPLIFY_DEG = 0.01
WITHHELD = EN["withheld"]
#: Task statuses that are finished.
FINISHED = {"done", "cancelled"}
ZONE_STROKE = (20, 60, 160)
#: How many tasks are read a page at a time.
_PAGE = 200


@dataclass(slots=True)
class Sitrep:
    crisis: Crisis
    day: date
    #: The report's time: now for today, the end of the day for a day gone.
    as_of: datetime
    since: datetime
    zone_version: int | None
    zone_at: datetime | None
    exposure: dict[str, Any] | None
    #: Tasks the caller may read: ``by_holder`` {holder ("" for none): {status: n}}, ``total``,
    #: ``open``, ``overdue``, ``coverage_gaps``; None when the caller reads no tasks.
    tasks: dict[str, Any] | None
    welfare: dict[str, Any]
    #: The repatriation report's line and its movements' counts; None when not for the caller.
    repatriation: dict[str, Any] | None
    changes: dict[str, int]
    shapes: list[Shape] = field(default_factory=list)
    #: Provinces drawn (one shape each), in the order drawn.
    provinces: list[tuple[str, int | None]] = field(default_factory=list)
    #: The language the report is written in (``service.flows.sitrep_texts``).
    language: str = "en"


def report_time(crisis: Crisis, day: date, now: datetime) -> datetime:
    """The time the report of ``day`` stands at; 422 for a day before the crisis or to come."""
    opened = crisis.created_at.astimezone(UTC).date()
    if day < opened:
        raise InvalidInput(
            f"The crisis opened on {opened.isoformat()}: there is no report of an earlier day",
            errors=[{"loc": ["query", "date"], "msg": "before the crisis opened"}],
        )
    if day > now.date():
        raise InvalidInput(
            "There is no report of a day to come",
            errors=[{"loc": ["query", "date"], "msg": "after today (UTC)"}],
        )
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
    return min(end, now)


async def _tasks(session: AsyncSession, actor: Principal, crisis: Crisis, now: datetime) -> Any:
    if not allowed(actor.role, Permission.TASKS_READ):
        return None
    by_holder: dict[str, Counter[str]] = {}
    total = open_ = overdue = gaps = 0
    cursor: str | None = None
    while True:
        page = await list_tasks(session, actor=actor, limit=_PAGE, cursor=cursor, crisis=crisis.id)
        for task in await as_public(session, page.items):
            holder = task.assignee_org_name or ""  # printed as the report's "no organisation"
            by_holder.setdefault(holder, Counter())[task.status] += 1
            total += 1
            if task.status not in FINISHED:
                open_ += 1
                gaps += task.coverage_gap
                overdue += task.due_at is not None and task.due_at < now
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return {
        "by_holder": {h: dict(sorted(c.items())) for h, c in sorted(by_holder.items())},
        "total": total,
        "open": open_,
        "overdue": overdue,
        "coverage_gaps": gaps,
    }


async def _repatriation(session: AsyncSession, actor: Principal, crisis: Crisis) -> Any:
    if not allowed(actor.role, Permission.REPATRIATION_READ):
        return None
    report = await crisis_report(session, actor=actor, crisis=crisis)
    return {
        "sitrep": report["sitrep"],
        "cases": report["cases"],
        "movements": [
            {
                "title": m["title"],
                "legs": len(m["legs"]),
                "booked": sum(leg["booked"] for leg in m["legs"][:1]),
                "arrived": sum(leg["arrived"] for leg in m["legs"][-1:]),
                "missing": m["missing"],
            }
            for m in report["movements"]
        ],
    }


async def _changes(
    session: AsyncSession, crisis: Crisis, since: datetime, until: datetime
) -> dict[str, int]:
    rows = (
        await session.exec(
            select(CrisisEvent.kind, func.count())
            .where(
                CrisisEvent.crisis_id == crisis.id,
                col(CrisisEvent.at) >= since,
                col(CrisisEvent.at) <= until,
            )
            .group_by(col(CrisisEvent.kind))
        )
    ).all()
    return dict(sorted((kind, int(n)) for kind, n in rows))


def map_shapes(
    zone: dict[str, Any] | None, exposure: dict[str, Any] | None
) -> tuple[list[Shape], list[tuple[str, int | None]]]:
    """The provinces hit, shaded by the exposed count the caller sees (a province withheld for
    them is not drawn: its count is not theirs to see), then the latest zone on top."""
    areas = AdminAreas.load()
    shapes: list[Shape] = []
    drawn: list[tuple[str, int | None]] = []
    cells: dict[str, int] = dict((exposure or {}).get("by_admin1", {}))
    names: dict[str, str] = (exposure or {}).get("admin1_names", {})
    top = max(cells.values(), default=0)
    for code, workers in sorted(cells.items(), key=lambda c: (-c[1], c[0])):
        outline = areas.admin1_geometry(code)
        if outline is None:
            continue
        name = names.get(code) or "unnamed province"
        simplified = mapping(shapely.simplify(outline, SIMPLIFY_DEG))
        shapes.append(
            Shape(
                rings_of(simplified),
                shade(workers, top),
                label=f"{name}: {workers}",
                kind="province",
            )
        )
        drawn.append((name, workers))
    if zone is not None:
        outline = mapping(shapely.simplify(shape(zone), SIMPLIFY_DEG / 10))
        # Outlined only, over the provinces: what it covers stays readable.
        shapes.append(Shape(rings_of(outline), None, ZONE_STROKE, "the zone", "zone", 3.0))
    return shapes, drawn


async def gather(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis: Crisis,
    day: date,
    threshold: int,
    now: datetime | None = None,
    language: str = "en",
) -> Sitrep:
    """The report's figures for ``day`` as ``actor`` may see them, to be written in
    ``language`` (422 for one not offered); the map's shapes drawn off the event loop."""
    texts(language)
    now = now or utcnow()
    as_of = report_time(crisis, day, now)
    since = as_of - timedelta(hours=24)
    zone = await crises.latest_zone(session, crisis.id)
    try:
        exposure: dict[str, Any] | None = await exposure_seen_by(
            session, actor=actor, crisis_id=crisis.id, threshold=threshold
        )
    except NotFound:  # no zone yet
        exposure = None
    geometry = zone.geometry if zone else None
    shapes, provinces = await asyncio.to_thread(map_shapes, geometry, exposure)
    return Sitrep(
        crisis=crisis,
        day=day,
        as_of=as_of,
        since=since,
        zone_version=zone.version if zone else None,
        zone_at=zone.created_at if zone else None,
        exposure=exposure,
        tasks=await _tasks(session, actor, crisis, now),
        welfare=await welfare_counts(session, actor=actor, crisis=crisis, threshold=threshold),
        repatriation=await _repatriation(session, actor, crisis),
        changes=await _changes(session, crisis, since, as_of),
        shapes=shapes,
        provinces=provinces,
        language=language,
    )


def figure(value: int | None, withheld: str = WITHHELD) -> str:
    """A count as printed: withheld where the caller's rules withhold it."""
    return withheld if value is None else f"{value:,}"


def _when(at: datetime | None, not_yet: str = EN["not_yet"]) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else not_yet


def words(value: str) -> str:
    return value.replace("_", " ")


def key_figures(report: Sitrep) -> list[tuple[str, str]]:
    """The headline figures, in the words both the PDF and the page use."""
    t = TEXTS[report.language]
    exposure = report.exposure or {}

    def fig(value: int | None) -> str:
        return figure(value, t["withheld"])

    figures = [(t["workers_exposed"], fig(exposure.get("workers")) if exposure else t["no_zone"])]
    if report.tasks is not None:
        figures += [
            (t["tasks_open"], fig(report.tasks["open"])),
            (t["tasks_overdue"], fig(report.tasks["overdue"])),
            (t["coverage_gaps"], fig(report.tasks["coverage_gaps"])),
        ]
    statuses = report.welfare.get("by_status", {})
    figures += [
        (t["welfare_recorded"], fig(report.welfare.get("total"))),
        (t["reported_safe"], fig(statuses.get("safe"))),
        (t["needing_help"], fig(statuses.get("needs_help"))),
    ]
    if report.repatriation is not None:
        figures.append((t["repatriation_cases"], fig(report.repatriation["cases"])))
    figures.append((t["timeline_events"], fig(sum(report.changes.values()))))
    return figures


def basis(report: Sitrep) -> str:
    t = TEXTS[report.language]
    exposure = report.exposure or {}
    if not exposure or exposure.get("exact"):
        return t["exact"]
    return t["rounded"].format(below=exposure.get("suppressed_below"))


def blocks(report: Sitrep) -> list[Block]:
    """The report as the PDF writer's blocks, in the report's language."""
    crisis, exposure = report.crisis, report.exposure or {}
    t = TEXTS[report.language]

    def fig(value: int | None) -> str:
        return figure(value, t["withheld"])

    def when(at: datetime | None) -> str:
        return _when(at, t["not_yet"])

    def rows(cells: dict[str, int], label: Any = str) -> list[list[str]]:
        ordered = sorted(cells.items(), key=lambda c: (-c[1], c[0]))
        return [[label(k), fig(v)] for k, v in ordered]

    zone = (
        t["zone_version"].format(version=report.zone_version, at=when(report.zone_at))
        if report.zone_version
        else t["no_zone_yet"]
    )
    out: list[Block] = [
        Paragraph(t["intro"].format(day=report.day.isoformat(), as_of=when(report.as_of))),
        Heading(t["what_happened"]),
        Paragraph(
            t["happened"].format(
                hazard=words(crisis.hazard).capitalize(),
                severity=crisis.severity,
                phase=words(crisis.phase),
                stood_down=t["stood_down"] if crisis.stood_down else "",
                level=crisis.alert_level,
                opened=when(crisis.created_at),
                zone=zone,
            )
        ),
        KeyFigures(t["key_figures"], key_figures(report)),
        Paragraph(basis(report)),
        Heading(t["who_exposed"]),
    ]
    if exposure:
        names = exposure.get("admin1_names", {})
        out += [
            Paragraph(
                t["exposed"].format(
                    family=fig(exposure.get("accompanying_family")),
                    vulnerable=fig(exposure.get("vulnerable")),
                    at=when(datetime.fromisoformat(exposure["taken_at"])),
                )
            ),
            Section(
                t["by_nationality"],
                [Column(t["nationality"], 3), Column(t["workers"], 1)],
                rows(exposure.get("by_nationality", {})),
                empty=t["none_shown"],
            ),
            Section(
                t["by_province"],
                [Column(t["province"], 3), Column(t["workers"], 1)],
                rows(exposure.get("by_admin1", {}), lambda c: names.get(c) or c),
                empty=t["none_shown"],
            ),
        ]
        if "own_nationals" in exposure:
            out.append(
                Section(
                    t["own_nationals"],
                    [Column(t["nationality"], 3), Column(t["workers"], 1)],
                    rows(exposure["own_nationals"]),
                    empty=t["none"],
                )
            )
    else:
        out.append(Paragraph(t["no_exposure"]))
    out.append(MapFigure(report.shapes, caption=t["map_caption"]))
    out.append(Heading(t["being_done"]))
    if report.tasks is None:
        out.append(Paragraph(f"{t['tasks']}: {t['not_shown']}"))
    else:
        tasks = report.tasks
        out.append(
            Paragraph(
                t["tasks_line"].format(
                    total=tasks["total"],
                    open=tasks["open"],
                    overdue=tasks["overdue"],
                    gaps=tasks["coverage_gaps"],
                )
            )
        )
        out.append(
            Section(
                t["tasks_by_holder"],
                [Column(t["organisation"], 3), Column(t["status"], 2), Column(t["tasks"], 1)],
                [
                    [holder or t["no_holder"], words(status), str(n)]
                    for holder, by_status in tasks["by_holder"].items()
                    for status, n in by_status.items()
                ],
                empty=t["no_tasks"],
            )
        )
    welfare = report.welfare
    out += [
        Heading(t["welfare"]),
        Paragraph(
            t["welfare_line"].format(
                total=fig(welfare.get("total")), reached=fig(welfare.get("reached"))
            )
        ),
        Section(
            t["by_status"],
            [Column(t["status"], 3), Column(t["people"], 1)],
            rows(welfare.get("by_status", {}), words),
            empty=t["none_shown"],
        ),
        Heading(t["movements_returns"]),
    ]
    if report.repatriation is None:
        out.append(Paragraph(f"{t['repatriation']}: {t['not_shown']}"))
    else:
        # The repatriation report's own line, as that domain writes it.
        out.append(Paragraph(report.repatriation["sitrep"]))
        out.append(
            Section(
                t["movements"],
                [
                    Column(t["movement"], 3),
                    Column(t["legs"], 1),
                    Column(t["booked"], 1),
                    Column(t["arrived"], 1),
                    Column(t["missing"], 1),
                ],
                [
                    [
                        m["title"],
                        str(m["legs"]),
                        str(m["booked"]),
                        str(m["arrived"]),
                        str(m["missing"]),
                    ]
                    for m in report.repatriation["movements"]
                ],
                empty=t["no_movement"],
            )
        )
    out += [
        Heading(t["what_changed"]),
        Paragraph(t["changed_line"].format(since=when(report.since), until=when(report.as_of))),
        Section(
            t["events_by_kind"],
            [Column(t["kind"], 3), Column(t["events"], 1)],
            rows(report.changes, words),
            empty=t["nothing_changed"],
        ),
    ]
    return out


def render_pdf(report: Sitrep, *, created_at: datetime, compress: bool = True) -> bytes:
    crisis, t = report.crisis, TEXTS[report.language]
    return report_pdf(
        t["title"].format(title=crisis.title),
        blocks(report),
        created_at=created_at,
        banner=t["exercise"] if crisis.exercise else None,
        footer=t["footer"].format(crisis=crisis.id, day=report.day.isoformat()),
        page_of=t["page_of"],
        compress=compress,
    )


_FRAGMENT = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(
    """
{% macro table(caption, head, rows, empty) %}
<div class="table-wrap"><table>
<caption>{{ caption }}</caption>
<thead><tr>{% for h in head %}
<th scope="col"{% if not loop.first %} class="num"{% endif %}>{{ h }}</th>
{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}<tr>{% for cell in row %}
<td{% if not loop.first %} class="num"{% endif %}>{{ cell }}</td>
{% endfor %}</tr>
{% else %}<tr><td colspan="{{ head | length }}">{{ empty }}</td></tr>
{% endfor %}
</tbody></table></div>
{% endmacro %}
{% if exercise %}<p class="notice" data-banner>{{ exercise }}</p>{% endif %}
{% for block in blocks %}
{% if block.kind == "heading" %}<h2>{{ block.text }}</h2>
{% elif block.kind == "paragraph" %}<p>{{ block.text }}</p>
{% elif block.kind == "figures" %}
<div class="table-wrap"><table class="key-figures"><caption>{{ block.heading }}</caption><tbody>
{% for name, value in block.figures %}<tr><th scope="row">{{ name }}</th>
<td class="num" data-figure="{{ name }}">{{ value }}</td></tr>
{% endfor %}</tbody></table></div>
{% elif block.kind == "map" %}
<figure class="sitrep-map">{{ block.svg }}<figcaption>{{ block.caption }}</figcaption></figure>
{% else %}{{ table(block.heading, block.head, block.rows, block.empty) }}
{% endif %}
{% endfor %}
"""
)


def html_fragment(report: Sitrep) -> markupsafe.Markup:
    """The report as HTML (the same blocks as the PDF, the map as inline SVG), for a page."""
    out: list[dict[str, Any]] = []
    for block in blocks(report):
        if isinstance(block, Heading):
            out.append({"kind": "heading", "text": block.text})
        elif isinstance(block, Paragraph):
            out.append({"kind": "paragraph", "text": block.text})
        elif isinstance(block, KeyFigures):
            out.append({"kind": "figures", "heading": block.heading, "figures": block.figures})
        elif isinstance(block, MapFigure):
            # Markup: ``svg`` escapes every text and attribute it writes.
            title = TEXTS[report.language]["map_title"]
            drawn = markupsafe.Markup(svg(block.shapes, title=title))  # noqa: S704
            out.append({"kind": "map", "svg": drawn, "caption": block.caption})
        else:
            out.append(
                {
                    "kind": "table",
                    "heading": block.heading,
                    "head": [c.name for c in block.columns],
                    "rows": block.rows,
                    "empty": block.empty,
                }
            )
    exercise = TEXTS[report.language]["exercise"] if report.crisis.exercise else None
    # Markup: rendered with autoescape on.
    return markupsafe.Markup(_FRAGMENT.render(blocks=out, exercise=exercise))  # noqa: S704


def html_document(report: Sitrep, pdf_link: str) -> str:
    """A page of its own (the API's ``format=html``): the fragment under a title."""
    t = TEXTS[report.language]
    title = markupsafe.escape(t["title"].format(title=report.crisis.title))
    link = markupsafe.escape(pdf_link)
    return (
        f'<!DOCTYPE html>\n<html lang="{report.language}"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><main><h1>{title}</h1>"
        f'{html_fragment(report)}<p><a href="{link}">{t["as_pdf"]}</a></p>'
        "</main></body></html>\n"
    )
