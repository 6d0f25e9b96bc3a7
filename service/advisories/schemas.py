"""What the advisories API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from integrations.messaging.templates import LANGUAGES
from service.text import Line, Paragraph

#: A language of the workers (``integrations.messaging.templates.LANGUAGES``), as CAP writes it.
Language = Annotated[str, Field(pattern=f"^({'|'.join(LANGUAGES)})$")]


class AdvisoryText(BaseModel):
    """An advisory in one language: where to get help, what to do."""

    model_config = ConfigDict(extra="forbid")

    headline: Annotated[Line, Field(min_length=3, max_length=160)]
    description: Annotated[Paragraph, Field(min_length=1, max_length=2000)]
    instruction: Annotated[Paragraph, Field(min_length=1, max_length=2000)]


class AdvisoryCreate(BaseModel):
    """A new version of the crisis's advisory: every text, English at least. A text that names
    a documentation or immigration status, a visa, the police, or asks a person to identify
    themselves is a 422 (`loc` names the language and the field)."""

    model_config = ConfigDict(extra="forbid")

    texts: dict[Language, AdvisoryText] = Field(min_length=1, max_length=len(LANGUAGES))
    contact: Annotated[Line, Field(min_length=3, max_length=100, description="The hotline")]
    web: HttpUrl | None = Field(default=None, description="A page with more")


class AdvisoryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    crisis_id: str
    version: int
    identifier: str
    sender: str
    status: str
    msg_type: str
    exercise: bool = False
    sent: datetime
    texts: dict[str, AdvisoryText]
    contact: str
    web: str | None
    references: list[str]
