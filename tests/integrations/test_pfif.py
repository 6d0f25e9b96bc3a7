"""PFIF 1.4: round trips, output checked against the spec's grammar, a real-shaped document, and
hostile or broken input refused with the record and field named."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring

from integrations.pfif import (
    MAX_BYTES,
    MAX_RECORDS,
    NAMESPACE,
    PfifError,
    PfifNote,
    PfifPerson,
    dump,
    format_time,
    load,
    parse_time,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pfif"
NS = "{http://zesty.ca/pfif/1.4}"

# The grammar of the spec's section 5, written out here from its text (not taken from the
# module): the fields of each record, and which are required.
PERSON_SPEC = [
    "person_record_id",
    "entry_date",
    "expiry_date",
    "author_name",
    "author_email",
    "author_phone",
    "source_name",
    "source_date",
    "source_url",
    "full_name",
    "given_name",
    "family_name",
    "alternate_names",
    "description",
    "sex",
    "date_of_birth",
    "age",
    "home_street",
    "home_neighborhood",
    "home_city",
    "home_state",
    "home_postal_code",
    "home_country",
    "photo_url",
    "profile_urls",
]
NOTE_SPEC = [
    "note_record_id",
    "person_record_id",
    "linked_person_record_id",
    "entry_date",
    "author_name",
    "author_email",
    "author_phone",
    "source_date",
    "author_made_contact",
    "status",
    "email_of_found_person",
    "phone_of_found_person",
    "last_known_location",
    "text",
    "photo_url",
]
PERSON_REQUIRED = {"person_record_id", "source_date", "full_name"}
NOTE_REQUIRED = {"note_record_id", "author_name", "source_date", "text"}
PATTERNS = {
    "person_record_id": r".+/.+",
    "note_record_id": r".+/.+",
    "linked_person_record_id": r".+/.+",
    "entry_date": r"\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
    "expiry_date": r"\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
    "source_date": r"\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
    "author_email": r".+@.+",
    "email_of_found_person": r".+@.+",
    "author_phone": r"[\-+()\d ]+",
    "phone_of_found_person": r"[\-+()\d ]+",
    "sex": r"female|male|other",
    "date_of_birth": r"\d\d\d\d(-\d\d(-\d\d)?)?",
    "age": r"\d+(-\d+)?",
    "home_country": r"[A-Z][A-Z]",
    "author_made_contact": r"true|false",
    "status": r"information_sought|is_note_author|believed_alive|believed_missing|believed_dead",
}


def check_record(element: Element, allowed: list[str], required: set[str]) -> None:
    names = [e.tag[len(NS) :] for e in element if e.tag.startswith(NS) and e.tag != NS + "note"]
    assert len(names) == len(set(names)), f"a field given twice: {names}"
    assert set(names) <= set(allowed), set(names) - set(allowed)
    assert required <= set(names), required - set(names)
    for sub in element:
        field = sub.tag[len(NS) :]
        assert len(sub) == 0 or field == "note"
        if field in PATTERNS:
            assert re.fullmatch(PATTERNS[field], sub.text or ""), (field, sub.text)


def check_valid(document: bytes) -> Element:
    """Structural validation of a PFIF 1.4 document, after the spec's grammar."""
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root: Element = fromstring(document, forbid_dtd=True)
    assert root.tag == NS + "pfif"
    for element in root:
        assert element.tag in (NS + "person", NS + "note")
        if element.tag == NS + "person":
            check_record(element, PERSON_SPEC, PERSON_REQUIRED)
            for note in element.findall(NS + "note"):
                check_record(note, NOTE_SPEC, NOTE_REQUIRED - {"person_record_id"})
                given = note.findtext(NS + "person_record_id")
                assert given in (None, element.findtext(NS + "person_record_id"))
        else:
            check_record(element, NOTE_SPEC, NOTE_REQUIRED | {"person_record_id"})
    return root


def person(record_id: str = "lifeline.example/p1", **fields: object) -> PfifPerson:
    base = PfifPerson(
        person_record_id=record_id, source_date="2026-01-05T03:04:05Z", full_name="Test Person"
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def note(
    record_id: str = "lifeline.example/n1", person_id: str = "lifeline.example/p1", **fields: object
) -> PfifNote:
    base = PfifNote(
        note_record_id=record_id,
        person_record_id=person_id,
        author_name="Caseworker",
        source_date="2026-01-05T04:00:00Z",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


THAI = person(
    "lifeline.example/th-1",
    entry_date="2026-01-05T03:04:06Z",
    expiry_date="2027-01-05T00:00:00Z",
    author_name="สุดา ใจดี",
    author_email="suda@example.org",
    author_phone="+66 81 555 0100",
    source_name="Lifeline Bangkok desk",
    source_url="https://lifeline.example/p/th-1?a=1&b=<2>",
    full_name="สมชาย ศรีสุข",
    given_name="สมชาย",
    family_name="ศรีสุข",
    alternate_names="Somchai Srisuk\nนายสมชาย",
    description="  Two lines,\r\nthe first with leading spaces & a carriage return.  ",
    sex="male",
    date_of_birth="1990-02-28",
    age="35",
    home_street="ถนนพหลโยธิน",
    home_neighborhood="จตุจักร",
    home_city="กรุงเทพมหานคร",
    home_state="TH-10",
    home_postal_code="10900",
    home_country="TH",
    photo_url="https://lifeline.example/photo/th-1.jpg",
    profile_urls="https://a.example/1\nhttps://b.example/2",
)
BURMESE = person(
    "lifeline.example/mm-1", full_name="အောင်ကိုကို", sex="other", age="20-25", home_country="MM"
)
VIETNAMESE = person(
    "lifeline.example/vn-1",
    full_name="Nguyễn Thị Ngọc Ánh",
    given_name="Ngọc Ánh",
    family_name="Nguyễn",
    sex="female",
    date_of_birth="1998",
    home_city="Hà Tĩnh",
)
NOTES = [
    note(
        "lifeline.example/n1",
        "lifeline.example/th-1",
        entry_date="2026-01-06T00:00:00Z",
        author_email="cw@lifeline.example",
        author_phone="(02) 555-0100",
        author_made_contact=True,
        status="believed_alive",
        email_of_found_person="somchai@example.org",
        phone_of_found_person="+66 81 555 0101",
        last_known_location="13.7563, 100.5018",
        text="ติดต่อได้แล้ว ปลอดภัย",
        photo_url="https://lifeline.example/photo/n1.jpg",
    ),
    note("lifeline.example/n2", "lifeline.example/mm-1", author_made_contact=False),
    note(
        "lifeline.example/n3",
        "lifeline.example/vn-1",
        linked_person_record_id="registry.example.com/77",
        status="information_sought",
        text="Gia đình đang tìm kiếm.",
    ),
    note("other.example.net/n4", "registry.example.com/99", status="believed_missing"),
]
PERSONS = [THAI, BURMESE, VIETNAMESE]


@pytest.mark.parametrize("inside", [True, False])
def test_round_trip_keeps_every_field_in_thai_burmese_and_vietnamese(inside: bool) -> None:
    document = dump(PERSONS, NOTES, notes_inside_persons=inside)
    persons, notes = load(document)
    assert persons == PERSONS
    # Nested notes come back after their person, top-level ones after every person.
    assert sorted(notes, key=lambda n: n.note_record_id) == NOTES


def test_output_is_valid_pfif_1_4_nested_and_flat() -> None:
    root = check_valid(dump(PERSONS, NOTES))
    nested = root.find(NS + "person").findall(NS + "note")  # type: ignore[union-attr]
    assert [n.findtext(NS + "note_record_id") for n in nested] == ["lifeline.example/n1"]
    # The note of a person not in the document stays at the top level.
    assert [n.findtext(NS + "note_record_id") for n in root.findall(NS + "note")] == [
        "other.example.net/n4"
    ]
    flat = check_valid(dump(PERSONS, NOTES, notes_inside_persons=False))
    assert len(flat.findall(NS + "note")) == 4
    assert not flat.findall(f"{NS}person/{NS}note")


def test_output_is_deterministic_utf8_in_spec_order_with_the_pfif_prefix() -> None:
    document = dump(PERSONS, NOTES)
    assert document == dump(list(PERSONS), list(NOTES))
    text = document.decode("utf-8")
    assert f'<pfif:pfif xmlns:pfif="{NAMESPACE}">' in text
    assert "สมชาย ศรีสุข" in text and "Nguyễn Thị Ngọc Ánh" in text  # not character references
    assert "&#13;" in text and "&amp;" in text and "&lt;2&gt;" in text
    person_fields = [m for m in re.findall(r"<pfif:(\w+)>", text.split("<pfif:note>")[0])]
    order = [f for f in person_fields if f != "person"]
    assert order == [f for f in PERSON_SPEC if f in order]
    assert "<pfif:text></pfif:text>" in text  # a note without text still has the element


def test_empty_document() -> None:
    document = dump([], [])
    check_valid(document)
    assert load(document) == ([], [])


def test_a_real_shaped_document_loads() -> None:
    persons, notes = load((FIXTURES / "example-1.4.xml").read_bytes())
    assert len(persons) == 1
    somchai = persons[0]
    assert somchai.person_record_id == "example.org/p.2012.1024"
    assert somchai.alternate_names == "สมชาย ศรีสุข"
    assert somchai.description == (
        "Construction worker, scar on the left hand.\nLast seen at the site office."
    )
    assert somchai.sex == "male" and somchai.age == "27-29" and somchai.home_country == "TH"
    assert [n.note_record_id for n in notes] == ["other.example.net/n.55", "example.org/n.2012.9"]
    nested, top = notes
    assert nested.person_record_id == somchai.person_record_id  # from the enclosing person
    assert nested.author_name == "Nguyễn Thị Hồng"
    assert nested.author_made_contact is True and nested.status == "believed_alive"
    assert nested.source_date == "2012-06-03T20:52:25.5Z"
    assert top.author_made_contact is False and top.status == "information_sought"
    assert top.linked_person_record_id == "registry.example.com/4417"
    assert top.photo_url == "https://example.org/photo/n9.jpg"
    # What was read is written back as valid PFIF 1.4, and reads the same.
    again = dump(persons, notes)
    check_valid(again)
    assert load(again) == (persons, notes)


def doc(body: str, namespace: str = NAMESPACE) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<pfif:pfif xmlns:pfif="{namespace}">'
        f"{body}</pfif:pfif>"
    ).encode()


PERSON_XML = (
    "<pfif:person><pfif:person_record_id>a.example/1</pfif:person_record_id>"
    "<pfif:source_date>2026-01-01T00:00:00Z</pfif:source_date>"
    "<pfif:full_name>A</pfif:full_name>{extra}</pfif:person>"
)
NOTE_XML = (
    "<pfif:note><pfif:note_record_id>a.example/n1</pfif:note_record_id>"
    "<pfif:person_record_id>a.example/1</pfif:person_record_id>"
    "<pfif:author_name>B</pfif:author_name>"
    "<pfif:source_date>2026-01-01T00:00:00Z</pfif:source_date>{extra}</pfif:note>"
)


def test_unknown_elements_are_ignored() -> None:
    data = doc(
        '<x:meta xmlns:x="urn:x">1</x:meta>'
        + PERSON_XML.format(extra="<pfif:first_name>Old</pfif:first_name><x:y xmlns:x='urn:x'/>")
        + NOTE_XML.format(extra="<pfif:found>true</pfif:found>")
    )
    persons, notes = load(data)
    assert persons == [PfifPerson("a.example/1", source_date="2026-01-01T00:00:00Z", full_name="A")]
    assert notes[0].author_made_contact is None


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ("<pfif:sex>f</pfif:sex>", "sex", "female, male, other"),
        ("<pfif:entry_date>2026-01-01 00:00:00</pfif:entry_date>", "entry_date", "YYYY-MM-DD"),
        ("<pfif:expiry_date>2026-02-30T00:00:00Z</pfif:expiry_date>", "expiry_date", "exists"),
        ("<pfif:date_of_birth>1990-13</pfif:date_of_birth>", "date_of_birth", "exists"),
        ("<pfif:age>about 30</pfif:age>", "age", "age"),
        ("<pfif:home_country>th</pfif:home_country>", "home_country", "ISO 3166-1"),
        ("<pfif:full_name>B</pfif:full_name>", "full_name", "twice"),
    ],
)
def test_a_bad_person_field_is_named_with_its_record(extra: str, field: str, words: str) -> None:
    data = doc(PERSON_XML.format(extra="") + PERSON_XML.format(extra=extra))
    with pytest.raises(PfifError, match=f"^person 2, field {field}: .*{words}") as caught:
        load(data)
    assert caught.value.record == "person 2" and caught.value.field == field


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ("<pfif:status>alive</pfif:status>", "status", "believed_alive"),
        ("<pfif:author_made_contact>yes</pfif:author_made_contact>", "author_made_contact", "true"),
        ("<pfif:entry_date>2026-01-01T00:00:00+07:00</pfif:entry_date>", "entry_date", "UTC"),
        (
            "<pfif:linked_person_record_id>4417</pfif:linked_person_record_id>",
            "linked_person_record_id",
            "domain/unique-id",
        ),
    ],
)
def test_a_bad_note_field_is_named_with_its_record(extra: str, field: str, words: str) -> None:
    data = doc(NOTE_XML.format(extra=extra))
    with pytest.raises(PfifError, match=f"^note 1, field {field}: .*{words}"):
        load(data)


def test_missing_and_malformed_record_ids() -> None:
    no_id = "<pfif:person><pfif:full_name>A</pfif:full_name></pfif:person>"
    with pytest.raises(PfifError, match=r"^person 1, field person_record_id: missing"):
        load(doc(no_id))
    bad = PERSON_XML.format(extra="").replace("a.example/1", "12345")
    with pytest.raises(PfifError, match=r"^person 1, field person_record_id: '12345' is not"):
        load(doc(bad))
    no_note_id = NOTE_XML.format(extra="").replace(
        "<pfif:note_record_id>a.example/n1</pfif:note_record_id>", ""
    )
    with pytest.raises(PfifError, match=r"^note 1, field note_record_id: missing"):
        load(doc(no_note_id))
    orphan = NOTE_XML.format(extra="").replace(
        "<pfif:person_record_id>a.example/1</pfif:person_record_id>", ""
    )
    with pytest.raises(PfifError, match=r"^note 1, field person_record_id: missing"):
        load(doc(orphan))
    # Inside a person, a note's person_record_id is optional but must be that person's.
    inside = PERSON_XML.format(
        extra=NOTE_XML.format(extra="").replace("a.example/1<", "b.example/2<")
    )
    with pytest.raises(PfifError, match=r"^note 1 \(in person 1\), field person_record_id: "):
        load(doc(inside))


def test_older_versions_are_refused_with_their_version_named() -> None:
    # The 1.4 spec asks nothing of readers about 1.3 and earlier, whose fields it renamed.
    for version in ("1.1", "1.2", "1.3"):
        data = doc(PERSON_XML.format(extra=""), f"http://zesty.ca/pfif/{version}")
        with pytest.raises(PfifError, match=f"a PFIF {version} document: only PFIF 1.4"):
            load(data)
    with pytest.raises(PfifError, match="without a slash"):
        load(doc("", NAMESPACE + "/"))
    with pytest.raises(PfifError, match=r"is not PFIF 1.4's pfif element"):
        load(b'<feed xmlns="http://www.w3.org/2005/Atom"/>')


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/1.4"><pfif:person>
<pfif:person_record_id>a.example/1</pfif:person_record_id>
<pfif:full_name>&lol3;</pfif:full_name></pfif:person></pfif:pfif>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE pfif [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/1.4"><pfif:person>
<pfif:person_record_id>a.example/1</pfif:person_record_id>
<pfif:full_name>&secret;</pfif:full_name></pfif:person></pfif:pfif>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_dtds_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(PfifError, match="DTD or entities"):
        load(data)


def test_a_30_mb_body_is_refused_before_parsing() -> None:
    body = doc(" " * 30_000_000)
    assert len(body) > MAX_BYTES
    with pytest.raises(PfifError, match="over the 20000000-byte limit"):
        load(body)


def test_too_many_records_are_refused() -> None:
    data = doc("<pfif:note/>" * (MAX_RECORDS + 1))
    with pytest.raises(PfifError, match="record limit"):
        load(data)


@pytest.mark.parametrize("data", [b"", b"not xml", b"<pfif:pfif xmlns:pfif='x'>"])
def test_garbage_is_a_pfif_error(data: bytes) -> None:
    with pytest.raises(PfifError):
        load(data)


def test_dump_refuses_what_would_not_be_valid() -> None:
    with pytest.raises(PfifError, match=r"^person 1, field full_name: missing"):
        dump([person(full_name=None)], [])
    with pytest.raises(PfifError, match=r"^person 2, field sex: "):
        dump([person("a.example/1"), person("a.example/2", sex="F")], [])
    with pytest.raises(PfifError, match=r"^person 1, field person_record_id: "):
        dump([person("")], [])
    with pytest.raises(PfifError, match=r"^note 1, field source_date: missing"):
        dump([], [note(source_date=None)])
    with pytest.raises(PfifError, match=r"^note 1, field status: "):
        dump([], [note(status="alive")])
    with pytest.raises(PfifError, match=r"^person 1, field description: character U\+0000"):
        dump([person(description="a\x00b")], [])
    with pytest.raises(PfifError, match=r"^person 2: a second person with this id"):
        dump([person(), person()], [])


def test_times() -> None:
    bangkok = timezone(timedelta(hours=7))
    moment = datetime(2026, 1, 5, 10, 4, 5, 999, tzinfo=bangkok)
    assert format_time(moment) == "2026-01-05T03:04:05Z"
    assert parse_time("2026-01-05T03:04:05.25Z") == datetime(2026, 1, 5, 3, 4, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        format_time(datetime(2026, 1, 5))
    with pytest.raises(ValueError, match="exists"):
        parse_time("2026-02-29T00:00:00Z")
