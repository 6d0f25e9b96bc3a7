"""Worker rows from registrations: normalised values, sealed personal fields, keyed hashes.

A registration through the API (validated by ``WorkerCreate``) and a row of a bulk import end
in the same ``Clean`` values and the same ``RowMaker``, so both store exactly the same thing for
the same person.

``clean_cells`` is the import's fast path. It accepts a row only when it can tell, field by field,
that ``WorkerCreate`` would accept it and with the same values; anything else (an error, or an
unusual but valid spelling such as ``1.5e1`` or ``YES``) returns None and the caller asks
``WorkerCreate``, which decides and words the reason. ``tests/service/registry/test_import_rows.py``
holds the two to agreement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from operator import attrgetter
from typing import Any, NamedTuple

from service.countries import ISO3
from service.crypto import SealBroken, Sealer
from service.db import new_id
from service.registry.models import (
    IMPORT_SOURCE,
    SEALED_FIELDS,
    LegalBasis,
    Sector,
    Sex,
    Source,
    Vulnerability,
)
from service.registry.protect import Protector
from service.registry.schemas import WorkerCreate
from service.text import printable_line


class Clean(NamedTuple):
    """A registration's values, normalised: enums as their values, lists sorted and unique."""

    nationality: str
    given_name: str | None
    family_name: str | None
    sex: str | None
    birth_date: str | None  # ISO 8601 date
    document_number: str | None
    phone: str | None
    languages: tuple[str, ...]
    sector: str | None
    employer: str | None
    recruitment_agency: str | None
    lat: float
    lon: float
    country: str | None
    accompanying_family: int
    vulnerabilities: tuple[str, ...]
    documentation_status: str | None
    international_protection: bool
    share_with_embassy: bool
    share_with_humanitarian: bool
    legal_basis: str
    source: str
    verified: bool
    stay_registered: bool
    accept_flagged_location: bool

    @classmethod
    def of(cls, data: WorkerCreate) -> Clean:
        return cls(
            data.nationality,
            data.given_name,
            data.family_name,
            data.sex.value if data.sex else None,
            data.birth_date.isoformat() if data.birth_date else None,
            data.document_number,
            data.phone,
            tuple(data.languages),
            data.sector.value if data.sector else None,
            data.employer,
            data.recruitment_agency,
            data.location.lat,
            data.location.lon,
            data.country,
            data.accompanying_family,
            tuple(v.value for v in data.vulnerabilities),
            data.documentation_status,
            data.international_protection,
            data.consent.share_with_embassy,
            data.consent.share_with_humanitarian,
            data.legal_basis.value,
            # An import's row without a source; a registration through the API has had its
            # organisation's default put in by then (``registry.service.register_worker``).
            (data.source or IMPORT_SOURCE).value,
            data.verified,
            data.stay_registered,
            data.accept_flagged_location,
        )

    def content(self, country: str | None) -> str:
        """What the record says, as one unambiguous string (the content hash's input): with the
        ``country`` stored (given, or derived from the location), so that a registration that
        left it out and its export, which writes it, say the same. Whether a doubtful location
        was accepted is how it was sent, not what it says."""
        return repr((*self[:_COUNTRY], country, *self[_COUNTRY + 1 : -1]))


_COUNTRY = Clean._fields.index("country")


#: The columns of ``workers`` a row fills, in order.
COLUMNS = (
    "id",
    "nationality",
    "sex",
    "sector",
    "languages",
    "employer",
    "recruitment_agency",
    "employer_org_id",
    "agency_org_id",
    "lat",
    "lon",
    "country",
    "admin1",
    "location_flag",
    "accompanying_family",
    "vulnerabilities",
    "vulnerable",
    "international_protection",
    "consent_embassy",
    "consent_humanitarian",
    "legal_basis",
    "source",
    "verified",
    "stay_registered",
    "identity_hash",
    "content_hash",
    "phone_hash",
    "registered_by",
    "given_name_sealed",
    "family_name_sealed",
    "birth_date_sealed",
    "document_number_sealed",
    "phone_sealed",
    "documentation_status_sealed",
    "created_at",
    "updated_at",
    "version",
)
ID, IDENTITY_HASH, CONTENT_HASH = (
    COLUMNS.index(name) for name in ("id", "identity_hash", "content_hash")
)


#: The fields an import file may leave out when it updates a record, each with the column of
#: ``workers`` that keeps it: a field whose column the file lacks keeps the record's value. Not
#: among them: the required columns (``service.registry.bulk.REQUIRED_COLUMNS``), the country,
#: which follows the location, and ``accept_flagged_location``, which is how a row was sent.
KEPT_COLUMNS: Mapping[str, str] = {
    "given_name": "given_name_sealed",
    "family_name": "family_name_sealed",
    "sex": "sex",
    "birth_date": "birth_date_sealed",
    "document_number": "document_number_sealed",
    "phone": "phone_sealed",
    "languages": "languages",
    "sector": "sector",
    "employer": "employer",
    "recruitment_agency": "recruitment_agency",
    "accompanying_family": "accompanying_family",
    "vulnerabilities": "vulnerabilities",
    "documentation_status": "documentation_status_sealed",
    "international_protection": "international_protection",
    "share_with_embassy": "consent_embassy",
    "share_with_humanitarian": "consent_humanitarian",
    "legal_basis": "legal_basis",
    "source": "source",
    "verified": "verified",
    "stay_registered": "stay_registered",
}
_LIST_FIELDS = frozenset({"languages", "vulnerabilities"})


def recorded(record: Any, fields: Iterable[str], sealer: Sealer) -> dict[str, Any]:
    """The values of ``fields`` (of ``KEPT_COLUMNS``) that a stored record holds, as ``Clean``
    holds them; ``record``: a row with the record's ``id`` and those columns. A sealed field
    that does not open (a lost key) reads as None."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(record, KEPT_COLUMNS[name])
        if name in SEALED_FIELDS:
            try:
                value = sealer.open(value, record_id=record.id, field=name)
            except SealBroken:
                value = None
        elif name in _LIST_FIELDS:
            value = tuple(value or ())
        out[name] = value
    return out


def _json_list(values: tuple[str, ...]) -> str:
    # The values are validated tokens (enum values, language tags): nothing to escape.
    return '["' + '", "'.join(values) + '"]' if values else "[]"


#: A ``Clean``'s values of the sealed fields, in the order of SEALED_FIELDS (and of COLUMNS).
_sealed_values = attrgetter(*SEALED_FIELDS)


class RowMaker:
    """Seals and hashes ``Clean`` values into rows of ``COLUMNS``.

    One per import (or registration): the key material, the directory of companies and the
    time are looked up once, not per row.
    """

    def __init__(
        self,
        protector: Protector,
        *,
        registered_by: str | None,
        companies: Mapping[str, tuple[str, str]] | None,
        now: datetime,
    ) -> None:
        self.protector = protector
        self._registered_by = registered_by
        self._companies = companies or {}
        self.now = now

    def _company(self, text: str | None, kind: str) -> str | None:
        if not text or not self._companies:
            return None
        found = self._companies.get(text.strip().casefold())
        return found[0] if found and found[1] == kind else None

    def row(
        self,
        c: Clean,
        *,
        country: str | None,
        admin1: str | None,
        flag: str | None,
        record_id: str | None = None,
        registered_by: str | None = None,
    ) -> tuple[Any, ...]:
        rid = record_id or new_id()
        protector = self.protector
        content_hash = protector.content_hash(c.content(country))
        identity_hash = protector.identity_hash(
            nationality=c.nationality,
            document_number=c.document_number,
            given_name=c.given_name,
            family_name=c.family_name,
            birth_date=c.birth_date,
        )
        sealed = protector.sealer.seal_all(
            tuple(zip(SEALED_FIELDS, _sealed_values(c), strict=True)), record_id=rid
        )
        now = self.now
        return (
            rid,
            c.nationality,
            c.sex,
            c.sector,
            _json_list(c.languages),
            c.employer,
            c.recruitment_agency,
            self._company(c.employer, "employer"),
            self._company(c.recruitment_agency, "recruitment_agency"),
            c.lat,
            c.lon,
            country,
            admin1,
            flag,
            c.accompanying_family,
            _json_list(c.vulnerabilities),
            bool(c.vulnerabilities),
            c.international_protection,
            c.share_with_embassy,
            c.share_with_humanitarian,
            c.legal_basis,
            c.source,
            c.verified,
            c.stay_registered,
            # None when nothing identifies the person: two people with the same nationality
            # in the same place are two people (an import gives such a row an identity of its
            # own, see ``service.registry.bulk``).
            identity_hash,
            content_hash,
            protector.phone_hash(c.phone, country=country, nationality=c.nationality),
            registered_by or self._registered_by,
            *sealed,
            now,
            now,
            1,
        )

    def values(self, c: Clean, **kwargs: Any) -> dict[str, Any]:
        """The row as column → value, JSON columns as lists (for the ORM)."""
        out = dict(zip(COLUMNS, self.row(c, **kwargs), strict=True))
        out["languages"], out["vulnerabilities"] = list(c.languages), list(c.vulnerabilities)
        return out


# The import's fast path. Each check accepts a strict subset of what WorkerCreate accepts.

_SEX = frozenset(s.value for s in Sex)
_SECTOR = frozenset(s.value for s in Sector)
_VULNERABILITY = frozenset(v.value for v in Vulnerability)
_LEGAL_BASIS = frozenset(b.value for b in LegalBasis)
_SOURCE = frozenset(s.value for s in Source)
_BOOL = {"true": True, "false": False, "1": True, "0": False}
#: A boolean cell, by its default when empty.
_YES = {**_BOOL, "": True}
_NO = {**_BOOL, "": False}
_DEGREES = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,15})?")
_PHONE = re.compile(r"\+?[0-9 ()./-]{5,25}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_EARLIEST = date(1900, 1, 1)


class Columns(NamedTuple):
    """Where each field is in a row of cells (-1: no such column)."""

    at: tuple[int, ...]

    @classmethod
    def of(cls, header: Sequence[str]) -> Columns:
        where = {h: i for i, h in enumerate(header)}  # the last of a repeated column wins
        return cls(tuple(where.get(name, -1) for name in CELL_FIELDS))


#: The columns of an import file, in the order ``clean_cells`` reads them.
CELL_FIELDS = (
    "nationality",
    "given_name",
    "family_name",
    "sex",
    "birth_date",
    "document_number",
    "phone",
    "languages",
    "sector",
    "employer",
    "recruitment_agency",
    "lat",
    "lon",
    "country",
    "accompanying_family",
    "vulnerabilities",
    "documentation_status",
    "international_protection",
    "share_with_embassy",
    "share_with_humanitarian",
    "legal_basis",
    "source",
    "verified",
    "stay_registered",
    "accept_flagged_location",
)


#: Columns of the register's own exports (``service.exports.workers``) that describe the record
#: rather than the person: an import reads past them without a warning, so that an export can
#: be imported again.
RECORD_COLUMNS = (
    "id",
    "version",
    "admin1",
    "admin1_name",
    "location_flag",
    "registered_by",
    "created_at",
    "updated_at",
    "unreadable",
)


def _text(value: str, longest: int) -> bool:
    return len(value) <= longest and printable_line(value)


def _tokens(value: str) -> list[str]:
    if ";" not in value:
        return [value] if value else []
    return [p.strip() for p in value.split(";") if p.strip()]


def clean_cells(cells: Sequence[str], columns: Columns, today: date) -> Clean | None:
    """The Clean values of a row of cells, or None for the slow path (see module)."""
    n = len(cells)
    (
        nationality,
        given_name,
        family_name,
        sex,
        birth_date,
        document_number,
        phone,
        languages,
        sector,
        employer,
        agency,
        lat,
        lon,
        country,
        family,
        vulnerabilities,
        documentation_status,
        protection,
        embassy,
        humanitarian,
        legal_basis,
        source,
        verified,
        stay,
        accept,
    ) = [cells[i].strip() if 0 <= i < n else "" for i in columns.at]
    nationality = nationality.upper()
    source = source or IMPORT_SOURCE.value
    if nationality not in ISO3 or source not in _SOURCE:
        return None
    if not (_DEGREES.fullmatch(lat) and _DEGREES.fullmatch(lon)):
        return None
    y, x = float(lat), float(lon)
    if not (-90.0 <= y <= 90.0 and -180.0 <= x <= 180.0):
        return None
    if given_name and not _text(given_name, 200):
        return None
    if family_name and not _text(family_name, 200):
        return None
    if (sex and sex not in _SEX) or (sector and sector not in _SECTOR):
        return None
    if birth_date:
        if len(birth_date) != 10 or birth_date[4] != "-" or birth_date[7] != "-":
            return None
        try:
            born = date.fromisoformat(birth_date)
        except ValueError:
            return None
        if not _EARLIEST <= born <= today:
            return None
    if document_number and not (len(document_number) >= 3 and _text(document_number, 40)):
        return None
    if phone and not _PHONE.fullmatch(phone):
        return None
    langs = _tokens(languages)
    if len(langs) > 10 or not all(_LANGUAGE.fullmatch(t) for t in langs):
        return None
    vulns = _tokens(vulnerabilities)
    if len(vulns) > 6 or not _VULNERABILITY.issuperset(vulns):
        return None
    if employer and not _text(employer, 200):
        return None
    if agency and not _text(agency, 200):
        return None
    if documentation_status and not _text(documentation_status, 40):
        return None
    if country:
        country = country.upper()
        if country not in ISO3:
            return None
    if family:
        if not (family.isascii() and family.isdigit() and (family == "0" or family[0] != "0")):
            return None
        children = int(family)
        if children > 50:
            return None
    else:
        children = 0
    if legal_basis and legal_basis not in _LEGAL_BASIS:
        return None
    is_protected = _NO.get(protection)
    to_embassy = _YES.get(embassy)
    to_humanitarian = _NO.get(humanitarian)
    is_verified = _NO.get(verified)
    stays = _NO.get(stay)
    accepted = _NO.get(accept)
    if (
        is_protected is None
        or to_embassy is None
        or to_humanitarian is None
        or is_verified is None
        or stays is None
        or accepted is None
    ):
        return None
    return Clean(
        nationality,
        given_name or None,
        family_name or None,
        sex or None,
        birth_date or None,
        document_number or None,
        phone or None,
        tuple(sorted(set(langs))) if len(langs) > 1 else tuple(langs),
        sector or None,
        employer or None,
        agency or None,
        y,
        x,
        country or None,
        children,
        tuple(sorted(set(vulns))) if len(vulns) > 1 else tuple(vulns),
        documentation_status or None,
        is_protected,
        to_embassy,
        to_humanitarian,
        legal_basis or LegalBasis.VITAL_INTEREST.value,
        source,
        is_verified,
        stays,
        accepted,
    )
