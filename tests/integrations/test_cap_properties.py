"""Properties of the CAP parser: whatever the bytes, an alert or a ``PayloadError``.

Any byte string, the real messages of ``tests/fixtures/feeds/cap`` mutated byte by byte, and
the same messages with the text of an element replaced (times, polygons, circles, codes) give
an ``Alert`` or the parser's own ``PayloadError``, never another exception, and quickly: a
document that declares entities (the billion laughs) is refused before any is expanded. Pure:
no database.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from integrations.alert import Alert
from integrations.cap import parse_cap, parse_cap_index
from integrations.errors import PayloadError

CAP = Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "cap"
MESSAGES = {
    path.name: path.read_bytes()
    for path in sorted(CAP.iterdir())
    if path.suffix in {".xml", ".cap"} and path.name != "xee.cap"
}
INDEXES = [(CAP / "ny_index.rss").read_bytes(), (CAP / "weather_index.atom").read_bytes()]
#: Elements whose text the parser reads and converts: the ones worth replacing.
FIELDS = (
    "sent",
    "expires",
    "onset",
    "effective",
    "status",
    "msgType",
    "references",
    "polygon",
    "circle",
    "severity",
    "certainty",
    "urgency",
    "identifier",
    "sender",
    "event",
    "value",
)
#: What a feed might put in them: numbers of every kind, separators, dates half written.
TOKENS = st.sampled_from(
    [
        "0", "-0", "1", "-1", "90", "-90.0001", "180", "181", "1e400", "-1e400", "nan", "inf",
        "-inf", "1e-320", ",", " ", ", ", ".", "-", "+", ":", "T", "Z", "2026-11-20",
        "2026-02-30", "T10:00:00", "+08:00", "+99:99", "Fri, 20 Nov 2026 10:00:00 +0800",
        "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "Actual", "Update", "Cancel",
        "\u00e9", "\x00", "&amp;", "&lt;", "]]>", "<![CDATA[x]]>",
    ]
)  # fmt: skip
#: A real message parses in milliseconds; seconds would mean a blow-up (entities, a geometry).
#: The bound is loose for a loaded machine.
BOUND_S = 5.0

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"""
#: Quadratic blow-up: one large entity used many times, without nesting.
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]><alert>'
    + b"&a;" * 50_000
    + b"</alert>"
)
EXTERNAL = (CAP / "xee.cap").read_bytes()


def _parse_cleanly(content: bytes) -> Alert | None:
    """The alert, or None when the parser refuses the bytes with its own error; within the
    bound either way."""
    started = time.monotonic()
    try:
        alert = parse_cap(content)
    except PayloadError as exc:
        assert exc.reason, "a refusal says why"
        alert = None
    assert time.monotonic() - started < BOUND_S
    if alert is not None:
        assert alert.sent is not None and alert.sent.utcoffset() is not None
        assert alert.external_id and alert.version
    return alert


@SETTINGS
@example(b"")
@example(b"\xef\xbb\xbf")
@example(b"<alert/>")
@example(b'<?xml version="1.0" encoding="x-unknown"?><alert/>')
@example(BILLION_LAUGHS)
@example(QUADRATIC)
@example(EXTERNAL)
@given(st.binary(max_size=2_000))
def test_any_bytes_give_an_alert_or_a_payload_error(content: bytes) -> None:
    _parse_cleanly(content)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real message with a few bytes replaced, inserted or deleted."""
    content = bytearray(MESSAGES[draw(st.sampled_from(sorted(MESSAGES)))])
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(content)))
        change = draw(st.sampled_from(["replace", "insert", "delete"]))
        piece = draw(st.binary(min_size=1, max_size=4))
        if change == "replace":
            content[at : at + len(piece)] = piece
        elif change == "insert":
            content[at:at] = piece
        else:
            del content[at : at + draw(st.integers(1, 16))]
    return bytes(content)


@SETTINGS
@given(mutated())
def test_real_messages_mutated_give_an_alert_or_a_payload_error(content: bytes) -> None:
    _parse_cleanly(content)


@st.composite
def rewritten(draw: st.DrawFn) -> bytes:
    """A real message with the text of one kind of element replaced by plausible nonsense."""
    content = MESSAGES[draw(st.sampled_from(sorted(MESSAGES)))]
    name = draw(st.sampled_from(FIELDS))
    value = "".join(draw(st.lists(TOKENS, min_size=0, max_size=12)))
    pattern = re.compile(rb"(<(?:\w+:)?" + name.encode() + rb">)[^<]*(</)")
    return pattern.sub(lambda m: m.group(1) + value.encode() + m.group(2), content)


@SETTINGS
@example(MESSAGES["example1.xml"].replace(b"<sent>", b"<sent>nan"))
# Found by this property: a time that leaves Python's years once in UTC was an OverflowError.
@example(
    re.sub(
        rb"<sent>[^<]*</sent>", b"<sent>9999-12-31T23:59:59-14:00</sent>", MESSAGES["example1.xml"]
    )
)
@example(
    re.sub(
        rb"<sent>[^<]*</sent>", b"<sent>0001-01-01T00:00:00+14:00</sent>", MESSAGES["example1.xml"]
    )
)
@example(
    re.sub(
        rb"<sent>[^<]*</sent>",
        b"<sent>Fri, 31 Dec 9999 23:59:59 -1400</sent>",
        MESSAGES["example1.xml"],
    )
)
@given(rewritten())
def test_real_messages_with_fields_rewritten_give_an_alert_or_a_payload_error(
    content: bytes,
) -> None:
    _parse_cleanly(content)


@SETTINGS
@given(st.sampled_from(INDEXES), st.integers(0, 4_000), st.binary(min_size=1, max_size=8))
def test_index_feeds_mutated_give_entries_or_a_payload_error(
    content: bytes, at: int, piece: bytes
) -> None:
    changed = content[:at] + piece + content[at + len(piece) :]
    try:
        entries = parse_cap_index(changed)
    except PayloadError:
        return
    assert all(entry.url for entry in entries)
