"""The situation reports kept with a crisis: each day's shared report, as it was made."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime, new_id


class KeptSitrep(SQLModel, table=True):
    """One day's situation report of a crisis in one language, as seen from outside the
    need-to-know (rounded, small cells withheld): the PDF and the page, as made. One a crisis,
    day and language; it goes with the crisis."""

    __tablename__ = "sitreps"
    __table_args__ = (
        UniqueConstraint("crisis_id", "day", "language", name="uq_sitreps_crisis_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    crisis_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("crises.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    day: date
    #: ISO 639-1, one of ``service.flows.sitrep_texts.LANGUAGES``.
    language: str = Field(max_length=8)
    created_at: datetime = Field(sa_type=UTCDateTime)
    #: A drill's: EXERCISE on every page.
    exercise: bool
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    html: str = Field(sa_column=Column(Text, nullable=False))
    #: Who made it: ``worker`` (the daily one) or the coordinator's token or person.
    made_by: str = Field(max_length=120)
