"""A map without a tile server: shapes of longitude and latitude rings drawn on a flat box, for a
printed page (``service.exports.pdf``) and for a web page (inline SVG) alike.

The projection is equirectangular over the shapes' bounding box (a degree of longitude shortened
by the cosine of the box's middle latitude), scaled to fit the box given and centred in it: good
enough for a zone and the provinces around it, never for a continent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

#: A ring: (longitude, latitude) points, the first repeated at the end or not.
Ring = Sequence[tuple[float, float]]
RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Shape:
    """A filled outline: its rings (outer rings and holes alike, drawn even-odd), its colours, a
    label for a caption or a tooltip, and a kind for a style sheet (``zone``, ``province``)."""

    rings: Sequence[Ring]
    fill: RGB | None
    stroke: RGB = (60, 60, 60)
    label: str = ""
    kind: str = ""
    #: The outline's width: 1 is a thin line (0.2 mm printed, 1 px on a page).
    stroke_width: float = 1.0


def rings_of(geometry: Any) -> list[list[tuple[float, float]]]:
    """Every ring of a GeoJSON mapping (Polygon, MultiPolygon, GeometryCollection); other
    geometries have none to draw."""
    kind = geometry.get("type")
    if kind == "Polygon":
        return [[(float(p[0]), float(p[1])) for p in ring] for ring in geometry["coordinates"]]
    if kind == "MultiPolygon":
        return [
            [(float(p[0]), float(p[1])) for p in ring]
            for polygon in geometry["coordinates"]
            for ring in polygon
        ]
    if kind == "GeometryCollection":
        return [ring for part in geometry.get("geometries", []) for ring in rings_of(part)]
    return []


def shade(value: float, top: float, light: RGB = (254, 229, 217), dark: RGB = (165, 15, 21)) -> RGB:
    """The colour of ``value`` between ``light`` (nothing) and ``dark`` (``top``)."""
    share = 0.0 if top <= 0 else max(0.0, min(1.0, value / top))
    return (
        round(light[0] + (dark[0] - light[0]) * share),
        round(light[1] + (dark[1] - light[1]) * share),
        round(light[2] + (dark[2] - light[2]) * share),
    )


@dataclass(frozen=True, slots=True)
class Projection:
    west: float
    north: float
    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            self.offset_x + (lon - self.west) * self.scale_x,
            self.offset_y + (self.north - lat) * self.scale_y,
        )


def projection(
    shapes: Sequence[Shape], x: float, y: float, width: float, height: float
) -> Projection | None:
    """The projection of the shapes' box into the box at (``x``, ``y``) of ``width`` by
    ``height`` (y growing downwards, as on a page); None when there is nothing to draw."""
    points = [p for s in shapes for ring in s.rings for p in ring]
    if not points:
        return None
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    squeeze = max(math.cos(math.radians((north + south) / 2)), 0.05)
    span_x = max((east - west) * squeeze, 1e-9)
    span_y = max(north - south, 1e-9)
    scale = min(width / span_x, height / span_y)
    drawn_w, drawn_h = span_x * scale, span_y * scale
    return Projection(
        west=west,
        north=north,
        scale_x=scale * squeeze,
        scale_y=scale,
        offset_x=x + (width - drawn_w) / 2,
        offset_y=y + (height - drawn_h) / 2,
    )


def _hex(colour: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def svg(shapes: Sequence[Shape], *, width: int = 640, height: int = 420, title: str = "") -> str:
    """The shapes as an SVG element inline in HTML (which needs no namespace declared): one
    ``<path>`` a shape, in order (the last on top), each with its label as a ``<title>``;
    ``title`` names the image for a screen reader."""
    project = projection(shapes, 4, 4, width - 8, height - 8)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for s in shapes if project else ():
        assert project is not None
        d = " ".join(
            "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in (project(*p) for p in ring)) + " Z"
            for ring in s.rings
            if ring
        )
        fill = _hex(s.fill) if s.fill else "none"
        parts.append(
            f'<path class="{escape(s.kind)}" d="{d}" fill="{fill}" fill-rule="evenodd" '
            f'stroke="{_hex(s.stroke)}" stroke-width="{s.stroke_width:g}">'
            f"<title>{escape(s.label)}</title></path>"
        )
    parts.append("</svg>")
    return "".join(parts)
