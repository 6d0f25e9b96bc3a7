"""Safe XML parsing from bytes: no DTDs, no entities, no network, bounded size."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from integrations.errors import PayloadError

MAX_XML_BYTES = 10_000_000


def parse_xml(content: bytes, *, max_bytes: int = MAX_XML_BYTES) -> ET.Element:
    """Parse ``content`` (bytes, never decoded text) into an element tree.

    The parser reads the encoding from the BOM or the XML declaration (UTF-8, UTF-16,
    ISO-8859-1...). A DOCTYPE, an entity declaration or an external reference is refused: a
    hazard feed has no use for them, and they are the vector of XXE and billion-laughs attacks.

    Raises
    ------
    PayloadError
        Empty, too large, hostile, or not well-formed.
    """
    if not content or not content.strip():
        raise PayloadError("empty payload")
    if len(content) > max_bytes:
        raise PayloadError(f"payload of {len(content)} bytes is over the {max_bytes}-byte limit")
    try:
        root: ET.Element = fromstring(
            content, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise PayloadError(
            f"refused: the document declares a DTD or entities ({type(exc).__name__})"
        ) from exc
    except ET.ParseError as exc:
        raise PayloadError(f"not well-formed XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # unknown encoding names
        raise PayloadError(f"unreadable XML: {exc}") from exc
    return root


def local(tag: str) -> str:
    """The local name of a tag, without its namespace: CAP 1.1, 1.2 and prefixed forms alike."""
    return tag.rsplit("}", 1)[-1]


def child(element: ET.Element, name: str) -> ET.Element | None:
    for sub in element:
        if local(sub.tag) == name:
            return sub
    return None


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [sub for sub in element if local(sub.tag) == name]


def text(element: ET.Element | None, name: str | None = None, default: str = "") -> str:
    """Stripped text of ``element`` (or of its first child called ``name``)."""
    target = element if name is None or element is None else child(element, name)
    if target is None or target.text is None:
        return default
    return target.text.strip()
