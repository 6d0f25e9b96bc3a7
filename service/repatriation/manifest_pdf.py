"""The manifest printed for the carrier and the receiving authorities: per leg, who travels, with
a box to tick at the gate. Only what a carrier needs: no passport, never a documentation status;
a name only where the manifest gives it to the caller."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service.exports.pdf import Column, Section, table_pdf
from service.repatriation.models import Leg, Movement

HIDDEN = "—"
BOX = "☐"
COLUMNS = (
    Column("Case", 1.2),
    Column("Name", 4.0),
    Column("Nationality", 1.3),
    Column("Places", 0.9),
    Column("Needs", 3.0),
    Column("Seat", 1.1),
    Column("Checked", 1.0),
)
EXERCISE = "EXERCISE: not a real movement"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "not set"


def _name(row: dict[str, Any]) -> str:
    parts = [row["given_name"], row["family_name"]]
    return " ".join(p for p in parts if p) or HIDDEN


def _heading(leg: Leg) -> str:
    return (
        f"Leg {leg.seq}, {leg.mode}: {leg.origin} → {leg.destination}; departs "
        f"{_when(leg.departs_at)}; capacity {leg.capacity}, booked {leg.booked}"
    )


def render(
    movement: Movement,
    legs: Sequence[Leg],
    rows: Sequence[dict[str, Any]],
    *,
    generated_at: datetime,
) -> bytes:
    """The PDF of a movement's manifest (``service.manifest``'s rows), dated ``generated_at``."""
    sections = [
        Section(
            _heading(leg),
            COLUMNS,
            [
                [
                    r["case_id"][:8],
                    _name(r),
                    r["nationality"],
                    str(r["places"]),
                    (r["needs"] or "").replace(";", ", ") if r["needs"] is not None else HIDDEN,
                    r["seat"],
                    BOX,
                ]
                for r in rows
                if r["leg"] == leg.seq
            ],
            empty="Nobody booked on this leg.",
        )
        for leg in legs
    ]
    return table_pdf(
        f"Manifest: {movement.title}",
        [
            f"Movement {movement.id}, crisis {movement.crisis_id}",
            f"Generated {generated_at.strftime('%Y-%m-%d %H:%M:%S')} UTC",
        ],
        sections,
        created_at=generated_at,
        banner=EXERCISE if movement.exercise else None,
        footer=f"Movement {movement.id}",
    )
