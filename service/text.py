"""What free text the service takes: no control characters but, in multi-line text, tab and
line ends.

A NUL or another C0 control character in a name hides text from people and programs (a C
string ends at NUL, PostgreSQL refuses it in text, a terminal obeys escapes), and nobody types
one. Every text field of the API's input models is a ``Line`` or a ``Paragraph``; the bulk
import's fast path takes only printable text (``printable_line``) and leaves the rest to those
models, so both refuse the same values with the same reason.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

#: C0 control characters and DEL.
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: The same but tab, line feed and carriage return.
_PARAGRAPH_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _refuse(found: re.Match[str] | None, allowed: str) -> None:
    if found is not None:
        raise ValueError(
            f"contains the control character U+{ord(found.group()):04X} at position "
            f"{found.start() + 1}; {allowed}"
        )


def check_line(value: str) -> str:
    """One line of text: no control character at all."""
    _refuse(_LINE_CONTROL.search(value), "only printable text is accepted")
    return value


def check_paragraph(value: str) -> str:
    """Text that may run over lines: tab and line ends are its only control characters."""
    _refuse(
        _PARAGRAPH_CONTROL.search(value),
        "tab and line ends are the only control characters accepted",
    )
    return value


def printable_line(value: str) -> bool:
    """True when ``check_line`` surely accepts the value as it is (the fast path's test):
    printable text has no control character, and no whitespace but the space, so no stripping
    could change it either."""
    return value.isprintable()


#: What the OpenAPI document says of each: the same rule, as a pattern a client can check.
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
PARAGRAPH_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

Line = Annotated[
    str, AfterValidator(check_line), Field(json_schema_extra={"pattern": LINE_PATTERN})
]
Paragraph = Annotated[
    str, AfterValidator(check_paragraph), Field(json_schema_extra={"pattern": PARAGRAPH_PATTERN})
]


def _rfc3339_only(value: Any) -> Any:
    """An instant is RFC 3339 text, as the document says (``format: date-time``): a number,
    which pydantic would read as seconds since 1970, is refused."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("give an RFC 3339 date and time, such as 2026-11-20T10:00:00+08:00")
    return value


_NUMBER = re.compile(r"^\s*[-+]?[0-9._]+([eE][-+]?[0-9]+)?\s*$")

#: A date and time in the input, as RFC 3339 text.
Instant = Annotated[datetime, BeforeValidator(_rfc3339_only)]
