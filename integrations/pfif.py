"""PFIF 1.4 (People Finder Interchange Format): person and note records, read and written as XML.

PFIF is the format Google Person Finder and other survivor registries exchanged after the
2010 Haiti and 2011 Japan earthquakes, used here for Restoring Family Links: a *person* record
says who is sought or found, a *note* record adds what someone knows of that person (believed
alive, believed missing, in contact with the author...). Specification: http://zesty.ca/pfif/1.4
(PFIF 1.4, 29 May 2012; its section 5 gives the format as a RELAX NG compact schema).

A document is one ``pfif:pfif`` element in the namespace ``http://zesty.ca/pfif/1.4`` holding
``pfif:person`` and ``pfif:note`` elements; a note may sit inside its person or at the top level.
Every field is a child element holding text.

Pitfalls, all handled below:

- Record ids are ``domain/local-id``: the domain names the original repository, the authority
  for the record. A copy keeps the original id; never mint ids in another repository's domain.
- A note outside a person must carry ``person_record_id``; inside a person it may leave it out,
  and if it gives one, it must be the enclosing person's.
- Times are UTC, ``YYYY-MM-DDTHH:MM:SSZ`` (the schema also allows fractions of a second); no
  offsets, no local times. ``date_of_birth`` is ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; ``age``
  is ``N`` or a range ``N-M``.
- The 1.4 namespace renamed fields of 1.3 (``first_name``, ``last_name``, ``other``, ``found``
  became ``given_name``, ``family_name``, ``description``, ``author_made_contact``), so a 1.3
  document is not a 1.4 one under another namespace. The spec asks nothing of 1.4 readers about
  older versions; ``load`` refuses them with an error naming the version, rather than guessing.
- The schema's prose and its grammar disagree on a note's ``text`` (optional in the prose, present
  in the grammar): ``dump`` always writes the element, empty when there is no text.
- The order of fields inside a record does not matter to a 1.4 reader (the grammar interleaves
  them); ``dump`` still writes them in the order the spec lists them, so output is stable.
- A carriage return in a value would come back as a line feed after parsing (XML normalises line
  ends), so it is written as a character reference. Characters XML 1.0 cannot carry (most control
  characters) are refused rather than dropped: these are tracing records.
- Input is untrusted: parsed with defusedxml, DTDs and entities refused, size and record count
  capped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Final, Literal, get_args
from xml.etree.ElementTree import Element

from integrations.errors import PayloadError
from integrations.xml import parse_xml

NAMESPACE: Final = "http://zesty.ca/pfif/1.4"
_NS: Final = "{" + NAMESPACE + "}"
_OLDER_VERSIONS: Final = ("1.1", "1.2", "1.3")

# A PFIF export of a whole repository is paged (Person Finder served 200 records a page); 20 MB
# is far above any page and bounds the memory the parsed tree takes.
MAX_BYTES: Final = 20_000_000
# 20 MB of minimal records would be some 200,000 of them: each becomes an object here and a row
# later. 100,000 records is an import an operator can review; a larger one should come in pages.
MAX_RECORDS: Final = 100_000

Sex = Literal["female", "male", "other"]
NoteStatus = Literal[
    "information_sought", "is_note_author", "believed_alive", "believed_missing", "believed_dead"
]
SEXES: Final[tuple[str, ...]] = get_args(Sex)
STATUSES: Final[tuple[str, ...]] = get_args(NoteStatus)


class PfifError(ValueError):
    """A PFIF document or record that cannot be read or written.

    ``record`` names the record (``"person 2"``, ``"note 1 in person 3"``) and ``field`` the
    field, when the fault is in one; the message says both.
    """

    def __init__(self, message: str, *, record: str | None = None, field: str | None = None):
        where = ""
        if record is not None:
            where = record + (f", field {field}" if field is not None else "") + ": "
        super().__init__(where + message)
        self.record = record
        self.field = field


@dataclass(frozen=True, slots=True)
class PfifPerson:
    """A person record: who is sought or found. Fields in the order of the spec's section 4.1."""

    person_record_id: str
    entry_date: str | None = None
    expiry_date: str | None = None
    author_name: str | None = None
    author_email: str | None = None
    author_phone: str | None = None
    source_name: str | None = None
    source_date: str | None = None
    source_url: str | None = None
    full_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    alternate_names: str | None = None
    description: str | None = None
    sex: Sex | None = None
    date_of_birth: str | None = None
    age: str | None = None
    home_street: str | None = None
    home_neighborhood: str | None = None
    home_city: str | None = None
    home_state: str | None = None
    home_postal_code: str | None = None
    home_country: str | None = None
    photo_url: str | None = None
    profile_urls: str | None = None


@dataclass(frozen=True, slots=True)
class PfifNote:
    """A note record: what someone knows of a person. Fields in the order of section 4.2."""

    note_record_id: str
    person_record_id: str
    linked_person_record_id: str | None = None
    entry_date: str | None = None
    author_name: str | None = None
    author_email: str | None = None
    author_phone: str | None = None
    source_date: str | None = None
    author_made_contact: bool | None = None
    status: NoteStatus | None = None
    email_of_found_person: str | None = None
    phone_of_found_person: str | None = None
    last_known_location: str | None = None
    text: str | None = None
    photo_url: str | None = None


PERSON_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(PfifPerson))
NOTE_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(PfifNote))
# Required by the spec (section 5) besides the record ids. `load` does not insist on them, so a
# record another repository wrote carelessly is still read; `dump` does, so its output is valid.
_PERSON_REQUIRED: Final = ("source_date", "full_name")
_NOTE_REQUIRED: Final = ("author_name", "source_date")

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
_RECORD_ID = re.compile(r"[^/\s]+/\S.*")
_EMAIL = re.compile(r".+@.+")
_PHONE = re.compile(r"[\-+()\d ]+")
_APPROX_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_AGE = re.compile(r"\d+(-\d+)?")
_COUNTRY = re.compile(r"[A-Z]{2}")
# What XML 1.0 can carry: tab, line feed, carriage return, and the rest of Unicode but the
# surrogates and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def format_time(moment: datetime) -> str:
    """An aware datetime as a PFIF time: UTC, whole seconds, ``YYYY-MM-DDTHH:MM:SSZ``."""
    if moment.tzinfo is None:
        raise ValueError("a PFIF time needs an aware datetime: PFIF times are UTC")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """A PFIF time (fractions of a second allowed) as an aware UTC datetime."""
    if not _TIME.fullmatch(value):
        raise ValueError(f"{value!r} is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ")
    try:
        return datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{value!r} is not a date and time that exists") from None


# Field checks: each returns None when the value is valid, else what is wrong with it.


def _check_record_id(value: str) -> str | None:
    if _RECORD_ID.fullmatch(value):
        return None
    return f"{value!r} is not a record id of the form domain/unique-id"


def _check_time(value: str) -> str | None:
    try:
        parse_time(value)
    except ValueError as exc:
        return str(exc)
    return None


def _check_approx_date(value: str) -> str | None:
    if not _APPROX_DATE.fullmatch(value):
        return f"{value!r} is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD"
    parts = [int(p) for p in value.split("-")]
    try:
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return f"{value!r} is not a date that exists"
    return None


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if regex.fullmatch(value) else f"{value!r} is not {what}"

    return check


def _one_of(allowed: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in allowed else f"{value!r} is not one of {', '.join(allowed)}"

    return check


_CHECKS: Final[dict[str, Callable[[str], str | None]]] = {
    "person_record_id": _check_record_id,
    "note_record_id": _check_record_id,
    "linked_person_record_id": _check_record_id,
    "entry_date": _check_time,
    "expiry_date": _check_time,
    "source_date": _check_time,
    "author_email": _pattern(_EMAIL, "an e-mail address"),
    "email_of_found_person": _pattern(_EMAIL, "an e-mail address"),
    "author_phone": _pattern(_PHONE, "a phone number (digits, spaces, + - ( ) only)"),
    "phone_of_found_person": _pattern(_PHONE, "a phone number (digits, spaces, + - ( ) only)"),
    "sex": _one_of(SEXES),
    "status": _one_of(STATUSES),
    "author_made_contact": _one_of(("true", "false")),
    "date_of_birth": _check_approx_date,
    "age": _pattern(_AGE, "an age (N) or a range of ages (N-M)"),
    "home_country": _pattern(_COUNTRY, "a two-letter ISO 3166-1 code in capitals"),
}


# Writing.


def dump(
    persons: Iterable[PfifPerson],
    notes: Iterable[PfifNote],
    *,
    notes_inside_persons: bool = True,
) -> bytes:
    """A PFIF 1.4 document of ``persons`` and ``notes``, UTF-8, in the order given.

    With ``notes_inside_persons`` each note is written inside its person when that person is in
    ``persons``, and at the top level otherwise; without it every note is at the top level, after
    the persons. The same records always give the same bytes.

    Raises
    ------
    PfifError
        A record with an invalid value, without a field the spec requires (a person's
        ``source_date`` and ``full_name``, a note's ``author_name`` and ``source_date``), with a
        character XML cannot carry, or with the id of an earlier record of its kind.
    """
    person_list = list(persons)
    note_list = list(notes)
    seen: set[str] = set()
    for number, person in enumerate(person_list, 1):
        _check_for_writing(person, _PERSON_REQUIRED, f"person {number}")
        if person.person_record_id in seen:
            raise PfifError("a second person with this id", record=f"person {number}")
        seen.add(person.person_record_id)
    seen_notes: set[str] = set()
    for number, note in enumerate(note_list, 1):
        _check_for_writing(note, _NOTE_REQUIRED, f"note {number}")
        if note.note_record_id in seen_notes:
            raise PfifError("a second note with this id", record=f"note {number}")
        seen_notes.add(note.note_record_id)

    nested: dict[str, list[PfifNote]] = {}
    top_level: list[PfifNote] = []
    for note in note_list:
        if notes_inside_persons and note.person_record_id in seen:
            nested.setdefault(note.person_record_id, []).append(note)
        else:
            top_level.append(note)

    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<pfif:pfif xmlns:pfif="{NAMESPACE}">']
    for person in person_list:
        lines.append("  <pfif:person>")
        lines.extend(_field_lines(person, PERSON_FIELDS, "    "))
        for note in nested.get(person.person_record_id, []):
            lines.extend(_note_lines(note, "    "))
        lines.append("  </pfif:person>")
    for note in top_level:
        lines.extend(_note_lines(note, "  "))
    lines.append("</pfif:pfif>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _check_for_writing(record: PfifPerson | PfifNote, required: Sequence[str], name: str) -> None:
    for field in required:
        if not (getattr(record, field) or "").strip():
            raise PfifError("missing: PFIF 1.4 requires it", record=name, field=field)
    for field, value in _text_values(record):
        if value == "" and not field.endswith("record_id"):
            continue
        bad = _NOT_XML.search(value)
        if bad:
            raise PfifError(
                f"character U+{ord(bad.group()):04X} cannot be written in XML",
                record=name,
                field=field,
            )
        check = _CHECKS.get(field)
        problem = check(value) if check is not None else None
        if problem is not None:
            raise PfifError(problem, record=name, field=field)


def _text_values(record: PfifPerson | PfifNote) -> list[tuple[str, str]]:
    """The record's fields that have a value, as the text PFIF writes for them."""
    out: list[tuple[str, str]] = []
    for field in PERSON_FIELDS if isinstance(record, PfifPerson) else NOTE_FIELDS:
        value = getattr(record, field)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append((field, value))
    return out


def _escape(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _field_lines(record: PfifPerson | PfifNote, order: Sequence[str], indent: str) -> list[str]:
    values = dict(_text_values(record))
    if isinstance(record, PfifNote):
        values.setdefault("text", "")  # see the module's docstring: the grammar wants it
    return [
        f"{indent}<pfif:{field}>{_escape(values[field])}</pfif:{field}>"
        for field in order
        if field in values and (values[field] != "" or field == "text")
    ]


def _note_lines(note: PfifNote, indent: str) -> list[str]:
    return [
        f"{indent}<pfif:note>",
        *_field_lines(note, NOTE_FIELDS, indent + "  "),
        f"{indent}</pfif:note>",
    ]


# Reading.


def load(data: bytes) -> tuple[list[PfifPerson], list[PfifNote]]:
    """The persons and notes of a PFIF 1.4 document, in document order.

    Notes are read inside persons and at the top level alike; a nested note without
    ``person_record_id`` gets its person's. Elements PFIF 1.4 does not define are ignored (they are
    extensions); empty fields are None.

    Raises
    ------
    PfifError
        Not XML, hostile (a DTD or entities), over ``MAX_BYTES`` or ``MAX_RECORDS``, not PFIF 1.4,
        or a record with a missing or malformed id or an invalid value. The message names the
        record (by its place in the document) and the field.
    """
    if len(data) > MAX_BYTES:
        raise PfifError(f"document of {len(data)} bytes is over the {MAX_BYTES}-byte limit")
    try:
        root = parse_xml(data, max_bytes=MAX_BYTES)
    except PayloadError as exc:
        raise PfifError(exc.reason) from exc
    _check_root(root.tag)

    count = sum(1 for e in root.iter() if e.tag in (_NS + "person", _NS + "note"))
    if count > MAX_RECORDS:
        raise PfifError(f"document of {count} records is over the {MAX_RECORDS}-record limit")

    persons: list[PfifPerson] = []
    notes: list[PfifNote] = []
    note_number = 0
    for element in root:
        if element.tag == _NS + "person":
            person = _read_person(element, len(persons) + 1)
            persons.append(person)
            for sub in element:
                if sub.tag == _NS + "note":
                    note_number += 1
                    name = f"note {note_number} (in person {len(persons)})"
                    notes.append(_read_note(sub, name, person.person_record_id))
        elif element.tag == _NS + "note":
            note_number += 1
            notes.append(_read_note(element, f"note {note_number}", None))
    return persons, notes


def _check_root(tag: str) -> None:
    namespace, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if namespace == NAMESPACE and name == "pfif":
        return
    for version in _OLDER_VERSIONS:
        if namespace.rstrip("/") == f"http://zesty.ca/pfif/{version}":
            raise PfifError(
                f"a PFIF {version} document: only PFIF 1.4 ({NAMESPACE}) is read; "
                "1.4 renamed fields of earlier versions, so convert it first"
            )
    if namespace.rstrip("/") == NAMESPACE:
        raise PfifError(f"namespace {namespace!r}: PFIF 1.4's is {NAMESPACE!r}, without a slash")
    raise PfifError(
        f"root element {name!r} in namespace {namespace or 'none'!r} is not "
        f"PFIF 1.4's pfif element in {NAMESPACE!r}"
    )


def _read_fields(element: Element, known: Sequence[str], name: str) -> dict[str, str]:
    """The record's PFIF fields with a value; typed fields checked, free text kept verbatim."""
    values: dict[str, str] = {}
    for sub in element:
        if not sub.tag.startswith(_NS):
            continue  # another namespace: an extension
        field = sub.tag[len(_NS) :]
        if field not in known:
            continue  # not a 1.4 field of this record (or a nested note, read on its own)
        if field in values:
            raise PfifError("given twice", record=name, field=field)
        value = sub.text or ""
        if not value.strip():
            continue
        check = _CHECKS.get(field)
        if check is not None:
            value = value.strip()
            problem = check(value)
            if problem is not None:
                raise PfifError(problem, record=name, field=field)
        values[field] = value
    return values


def _read_person(element: Element, number: int) -> PfifPerson:
    name = f"person {number}"
    values = _read_fields(element, PERSON_FIELDS, name)
    record_id = values.pop("person_record_id", None)
    if record_id is None:
        raise PfifError("missing", record=name, field="person_record_id")
    # `values` holds only this record's fields, each checked: `sex` is one of its literals.
    return PfifPerson(person_record_id=record_id, **values)  # type: ignore[arg-type]


def _read_note(element: Element, name: str, enclosing: str | None) -> PfifNote:
    values = _read_fields(element, NOTE_FIELDS, name)
    record_id = values.pop("note_record_id", None)
    if record_id is None:
        raise PfifError("missing", record=name, field="note_record_id")
    person_id = values.pop("person_record_id", None)
    if person_id is None:
        if enclosing is None:
            raise PfifError(
                "missing: a note outside a person must name its person",
                record=name,
                field="person_record_id",
            )
        person_id = enclosing
    elif enclosing is not None and person_id != enclosing:
        raise PfifError(
            f"{person_id!r} is not the enclosing person's id {enclosing!r}",
            record=name,
            field="person_record_id",
        )
    contact = values.pop("author_made_contact", None)
    return PfifNote(
        note_record_id=record_id,
        person_record_id=person_id,
        author_made_contact=None if contact is None else contact == "true",
        **values,  # type: ignore[arg-type]  # checked fields: `status` is one of its literals
    )
