"""What the API says of a kept situation report (its files are fetched on their own)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class KeptSitrepPublic(BaseModel):
    id: str
    crisis_id: str
    day: date
    language: str = Field(description="ISO 639-1: `en`, `id`, `ms`, `tl` or `vi`")
    created_at: datetime
    exercise: bool = Field(description="A drill's report: EXERCISE on every page")
    made_by: str = Field(description="`worker` for the daily report, else who kept it again")
    pdf: str = Field(description="The path of the kept PDF")
    html: str = Field(description="The path of the kept page")
