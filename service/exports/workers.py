"""The workers CSV: one column per value, named as the import names its columns, so that an
export can be imported again (``service.registry.bulk``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from geo.admin import AdminAreas
from service.crypto import SealBroken
from service.registry.protect import Protector
from service.registry.rows import CELL_FIELDS, RECORD_COLUMNS
from service.registry.service import SEALED_READ, present

log = logging.getLogger("lifeline.registry")

#: Never in an export, whoever asks (DATA-PROTECTION: documentation status stays in the
#: register); ``accept_flagged_location`` is how a registration was sent, not a value.
WITHHELD = frozenset({"documentation_status", "accept_flagged_location"})
#: Every column a workers CSV may have, in order: the import's, then the record's own.
COLUMNS = (
    "id",
    *(name for name in CELL_FIELDS if name not in WITHHELD),
    *(name for name in RECORD_COLUMNS if name != "id"),
)
_LISTS = frozenset({"languages", "vulnerabilities", "unreadable"})


def flatten(worker: dict[str, Any]) -> dict[str, Any]:
    """A presented worker (``service.registry.service.present``) as import columns: the
    location as ``lat`` and ``lon``, the consent as its two flags, lists joined by ``;``."""
    flat = {k: v for k, v in worker.items() if k not in WITHHELD}
    location = flat.pop("location", None)
    if isinstance(location, dict):
        flat["lat"], flat["lon"] = location["lat"], location["lon"]
    consent = flat.pop("consent", None)
    if isinstance(consent, dict):
        flat["share_with_embassy"] = consent["share_with_embassy"]
        flat["share_with_humanitarian"] = consent["share_with_humanitarian"]
    for key in _LISTS & flat.keys():
        flat[key] = ";".join(flat[key])
    return flat


def table(workers: Sequence[dict[str, Any]]) -> tuple[list[str], Iterator[list[Any]]]:
    """The header (the columns any of the workers has, in ``COLUMNS`` order) and the rows."""
    flat = [flatten(w) for w in workers]
    present = set().union(*flat) if flat else {"id"}
    header = [c for c in COLUMNS if c in present]
    return header, ([row.get(c) for c in header] for row in flat)


def header_for(fields: frozenset[str]) -> list[str]:
    """The columns of a download whose workers show at most ``fields`` (``present`` with them,
    then ``flatten``), and ``unreadable``: the fields of a row that could not be opened."""
    keys = {"id", "nationality", "version", "unreadable", *fields}
    if "admin1" in fields:
        keys.add("admin1_name")
    if "location" in fields:
        keys |= {"lat", "lon"}
    if "consent" in fields:
        keys |= {"share_with_embassy", "share_with_humanitarian"}
    return [c for c in COLUMNS if c in keys]


class Cells:
    """A register row (plain columns named ``columns``, as ``service.exposure.people`` reads
    them) as the cells of ``header`` for a caller who may see ``fields`` of it: the values
    ``present`` then ``flatten`` give, without the two dictionaries a row (a download writes
    hundreds of thousands). ``slowly`` is that pair itself, for a row whose visible fields
    differ; a test holds the two equal."""

    def __init__(
        self,
        header: Sequence[str],
        fields: frozenset[str],
        protect: Protector,
        columns: Sequence[str],
    ) -> None:
        self.header, self.protect = list(header), protect
        where = {name: i for i, name in enumerate(columns)}
        position = {name: i for i, name in enumerate(self.header)}
        #: Each sealed field the header shows: its cell, its name, where its token is.
        self.sealed = [
            (position[name], name, where[f"{name}_sealed"])
            for name in SEALED_READ
            if name in position and name in fields
        ]
        self.unreadable = position.get("unreadable")
        self.id_at = where["id"]
        areas = AdminAreas.load()
        self.steps = [_step(column, where, fields, areas) for column in self.header]

    def __call__(self, row: Sequence[Any]) -> list[Any]:
        out = [step(row) for step in self.steps]
        broken = []
        record_id = row[self.id_at]
        unseal = self.protect.sealer.open
        for cell, name, at in self.sealed:
            try:
                out[cell] = unseal(row[at], record_id=record_id, field=name)
            except SealBroken:
                # One unreadable record (a lost key, tampering) must not hide all the others.
                log.error("sealed field unreadable", extra={"worker": record_id, "field": name})
                broken.append(name)
        if broken and self.unreadable is not None:
            out[self.unreadable] = ";".join(sorted(broken))
        return out

    def slowly(self, row: Any, fields: frozenset[str]) -> list[Any]:
        flat = flatten(present(row, fields, self.protect))
        return [flat.get(c) for c in self.header]


def _step(
    column: str, where: dict[str, int], fields: frozenset[str], areas: AdminAreas
) -> Callable[[Sequence[Any]], Any]:
    """How one cell of the header is read from a row (``None`` for a sealed field: opened by
    ``Cells``, and for a column the caller may not see)."""
    if column in SEALED_READ or column == "unreadable":
        return _nothing
    if column in _LISTS and column in fields:
        at = where[column]
        return lambda row: ";".join(row[at])
    if column == "admin1_name" and "admin1" in fields:
        at = where["admin1"]
        return lambda row: areas.admin1_name(row[at])
    if column in {"lat", "lon"} and "location" in fields:
        lat, lon, at = where["lat"], where["lon"], where[column]
        return lambda row: row[at] if row[lat] is not None and row[lon] is not None else None
    if column == "share_with_embassy" and "consent" in fields:
        return itemgetter(where["consent_embassy"])
    if column == "share_with_humanitarian" and "consent" in fields:
        return itemgetter(where["consent_humanitarian"])
    if column in {"id", "nationality", "version"} or (column in fields and column in where):
        return itemgetter(where[column])
    return _nothing


def _nothing(row: Sequence[Any]) -> None:
    return None
