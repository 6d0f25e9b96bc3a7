"""What the directory API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.countries import CountryCode
from service.directory.models import OrgKind
from service.text import Line

Slug = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]{1,62}$",
        description="Lowercase letters, digits and hyphens, 2 to 63 characters",
        examples=["phl-embassy-kl"],
    ),
]

#: Kinds that speak for the nationals of one country, and so must say which.
REPRESENTING_KINDS = {OrgKind.EMBASSY, OrgKind.CONSULATE, OrgKind.LABOUR_MINISTRY}


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    name: Annotated[Line, Field(min_length=2, max_length=200)]
    kind: OrgKind
    country: CountryCode = Field(description="Where it sits (ISO 3166-1 alpha-3)")
    represents: CountryCode | None = Field(
        default=None, description="Whose nationals it serves (embassies, consulates, ministries)"
    )
    jurisdiction: list[CountryCode] = Field(
        default_factory=list, max_length=300, description="Countries it covers"
    )
    acts_for: list[CountryCode] = Field(
        default_factory=list,
        max_length=300,
        description="Countries whose nationals it assists under consular cooperation",
    )

    @model_validator(mode="after")
    def _represents_where_needed(self) -> OrganizationCreate:
        if self.kind in REPRESENTING_KINDS and self.represents is None:
            raise ValueError(
                f"an organisation of kind {self.kind.value} must say whom it represents"
            )
        self.jurisdiction = sorted(set(self.jurisdiction))
        self.acts_for = sorted(set(self.acts_for))
        return self


class OrganizationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    slug: str
    name: str
    kind: OrgKind
    country: str
    represents: str | None
    jurisdiction: list[str]
    acts_for: list[str]
    created_at: datetime
    version: int
