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
from service.repatriation.reports import crisis_report
from service.tasks.service import as_public, list_tasks
from service.welfare.service import counts as welfare_counts

#: How finely the provinces are drawn (degrees), as on the console's map.
SIMPLIFY_DEG = 0.01
WITHHELD = "withheld"
EXERCISE = "EXERCISE: a drill, not a real crisis"
#: Task statuses that are finished.
FINISHED = {"done", "cancelled"}
ZONE_STROKE = (20, 60, 160)
MAP_TITLE = "Map of the zone and the provinces hit"
NOT_SHOWN = "Not shown: your role does not read them."
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
    #: Tasks the caller may read: ``by_holder`` {holder: {status: n}}, ``total``, ``open``,
    #: ``overdue``, ``coverage_gaps``; None when the caller reads no tasks.
    tasks: dict[str, Any] | None
    welfare: dict[str, Any]
    #: The repatriation report's line and its movements' counts; None when not for the caller.
    repatriation: dict[str, Any] | None
    changes: dict[str, int]
    shapes: list[Shape] = field(default_factory=list)
    #: Provinces drawn (one shape each), in the order drawn.
    provinces: list[tuple[str, int | None]] = field(default_factory=list)


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
            holder = task.assignee_org_name or "no organisation (with the coordinators)"
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
) -> Sitrep:
    """The report's figures for ``day`` as ``actor`` may see them; the map's shapes drawn off
    the event loop."""
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
    )


def figure(value: int | None) -> str:
    """A count as printed: withheld where the caller's rules withhold it."""
    return WITHHELD if value is None else f"{value:,}"


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "not yet"


def words(value: str) -> str:
    return value.replace("_", " ")


def key_figures(report: Sitrep) -> list[tuple[str, str]]:
    """The headline figures, in the words both the PDF and the page use."""
    exposure = report.exposure or {}
    figures = [("Workers exposed", figure(exposure.get("workers")) if exposure else "no zone")]
    if report.tasks is not None:
        figures += [
            ("Tasks open", figure(report.tasks["open"])),
            ("Tasks overdue", figure(report.tasks["overdue"])),
            ("Coverage gaps", figure(report.tasks["coverage_gaps"])),
        ]
    statuses = report.welfare.get("by_status", {})
    figures += [
        ("Welfare statuses recorded", figure(report.welfare.get("total"))),
        ("Reported safe", figure(statuses.get("safe"))),
        ("Needing help", figure(statuses.get("needs_help"))),
    ]
    if report.repatriation is not None:
        figures.append(("Repatriation cases", figure(report.repatriation["cases"])))
    figures.append(("Timeline events in the 24 hours", figure(sum(report.changes.values()))))
    return figures


def basis(report: Sitrep) -> str:
    exposure = report.exposure or {}
    if not exposure or exposure.get("exact"):
        return "These counts are exact."
    return (
        f"These counts are rounded to 5 and a count under {exposure.get('suppressed_below')} is "
        "withheld, as for everyone outside the need-to-know."
    )


def _rows(cells: dict[str, int], label: Any = str) -> list[list[str]]:
    return [[label(k), figure(v)] for k, v in sorted(cells.items(), key=lambda c: (-c[1], c[0]))]


def blocks(report: Sitrep) -> list[Block]:
    """The report as the PDF writer's blocks."""
    crisis, exposure = report.crisis, report.exposure or {}
    zone = (
        f"zone version {report.zone_version} of {_when(report.zone_at)}"
        if report.zone_version
        else "no zone yet"
    )
    out: list[Block] = [
        Paragraph(
            f"Situation report of {report.day.isoformat()}, as of {_when(report.as_of)}. "
            f"Counts only: no person is named in it."
        ),
        Heading("What happened"),
        Paragraph(
            f"{words(crisis.hazard).capitalize()}, {crisis.severity}; phase "
            f"{words(crisis.phase)}{' (stood down)' if crisis.stood_down else ''}; alert level "
            f"{crisis.alert_level} of 4; opened {_when(crisis.created_at)}; {zone}."
        ),
        KeyFigures("Key figures", key_figures(report)),
        Paragraph(basis(report)),
        Heading("Who is exposed"),
    ]
    if exposure:
        names = exposure.get("admin1_names", {})
        out += [
            Paragraph(
                f"Accompanying family {figure(exposure.get('accompanying_family'))}; vulnerable "
                f"people {figure(exposure.get('vulnerable'))}; counted on "
                f"{_when(datetime.fromisoformat(exposure['taken_at']))}."
            ),
            Section(
                "By nationality",
                [Column("Nationality", 3), Column("Workers", 1)],
                _rows(exposure.get("by_nationality", {})),
                empty="None shown.",
            ),
            Section(
                "By province",
                [Column("Province", 3), Column("Workers", 1)],
                _rows(exposure.get("by_admin1", {}), lambda c: names.get(c) or c),
                empty="None shown.",
            ),
        ]
        if "own_nationals" in exposure:
            out.append(
                Section(
                    "Your own nationals, exactly",
                    [Column("Nationality", 3), Column("Workers", 1)],
                    _rows(exposure["own_nationals"]),
                    empty="None.",
                )
            )
    else:
        out.append(Paragraph("No exposure yet: the crisis has no zone."))
    out.append(
        MapFigure(
            report.shapes,
            caption="Map: the current zone (blue outline) over the provinces hit, darker for more "
            "exposed workers as counted for you (a province withheld is not drawn).",
        )
    )
    out.append(Heading("What is being done"))
    if report.tasks is None:
        out.append(Paragraph("Tasks: " + NOT_SHOWN))
    else:
        t = report.tasks
        out.append(
            Paragraph(
                f"{t['total']} tasks you may read: {t['open']} open, {t['overdue']} overdue, "
                f"{t['coverage_gaps']} coverage gaps (nobody fills the role)."
            )
        )
        out.append(
            Section(
                "Tasks by organisation and status",
                [Column("Organisation", 3), Column("Status", 2), Column("Tasks", 1)],
                [[h, words(s), str(n)] for h, c in t["by_holder"].items() for s, n in c.items()],
                empty="No tasks.",
            )
        )
    welfare = report.welfare
    out += [
        Heading("Welfare"),
        Paragraph(
            f"{figure(welfare.get('total'))} statuses recorded, {figure(welfare.get('reached'))} "
            "people reached."
        ),
        Section(
            "By status",
            [Column("Status", 3), Column("People", 1)],
            _rows(welfare.get("by_status", {}), words),
            empty="None shown.",
        ),
        Heading("Movements and returns"),
    ]
    if report.repatriation is None:
        out.append(Paragraph("Repatriation: " + NOT_SHOWN))
    else:
        out.append(Paragraph(report.repatriation["sitrep"]))
        out.append(
            Section(
                "Movements",
                [
                    Column("Movement", 3),
                    Column("Legs", 1),
                    Column("Booked", 1),
                    Column("Arrived", 1),
                    Column("Missing", 1),
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
                empty="No movement.",
            )
        )
    out += [
        Heading("What changed"),
        Paragraph(f"Timeline events from {_when(report.since)} to {_when(report.as_of)}."),
        Section(
            "Events by kind",
            [Column("Kind", 3), Column("Events", 1)],
            _rows(report.changes, words),
            empty="Nothing changed.",
        ),
    ]
    return out


def render_pdf(report: Sitrep, *, created_at: datetime, compress: bool = True) -> bytes:
    crisis = report.crisis
    return report_pdf(
        f"Situation report: {crisis.title}",
        blocks(report),
        created_at=created_at,
        banner=EXERCISE if crisis.exercise else None,
        footer=f"Crisis {crisis.id}, {report.day.isoformat()}",
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
            drawn = markupsafe.Markup(svg(block.shapes, title=MAP_TITLE))  # noqa: S704
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
    exercise = EXERCISE if report.crisis.exercise else None
    # Markup: rendered with autoescape on.
    return markupsafe.Markup(_FRAGMENT.render(blocks=out, exercise=exercise))  # noqa: S704


def html_document(report: Sitrep, pdf_link: str) -> str:
    """A page of its own (the API's ``format=html``): the fragment under a title."""
    title = markupsafe.escape(f"Situation report: {report.crisis.title}")
    link = markupsafe.escape(pdf_link)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><main><h1>{title}</h1>"
        f'{html_fragment(report)}<p><a href="{link}">The same report as a PDF</a></p>'
        "</main></body></html>\n"
    )
