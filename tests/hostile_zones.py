"""Zones shaped to cost the most per vertex (stars, combs, many small polygons, many holes), at
the largest sizes the limits accept: shared by the tests and ``bench/worst_zone.py``."""

from __future__ import annotations

import math
from typing import Any

#: Kuala Lumpur, where the tests and the bench register people.
KL = (101.69, 3.14)
#: The largest star the limits accept (``geo.limits.MAX_OVERLAPS``), and one just over.
STAR_ACCEPTED = 2_800
STAR_REFUSED = 4_000
#: The largest comb and number of small squares or holes the limits accept.
COMB_ACCEPTED = 99_990
SQUARES_ACCEPTED = 9_999


def star_ring(
    n: int, lon: float = KL[0], lat: float = KL[1], outer: float = 0.5, inner: float = 0.05
) -> list[list[float]]:
    """``n`` vertices alternating between two radii (degrees) around a centre, closed."""
    ring = []
    for k in range(n):
        angle = 2 * math.pi * k / n
        radius = outer if k % 2 == 0 else inner
        ring.append([lon + radius * math.cos(angle), lat + radius * math.sin(angle)])
    return [*ring, ring[0]]


def star(n: int, **kw: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [star_ring(n, **kw)]}


def comb_ring(
    n: int, lon: float = KL[0] - 0.5, lat: float = KL[1] - 0.25, width: float = 1.0
) -> list[list[float]]:
    """A straight base and (n - 3) / 2 thin vertical teeth: every horizontal line crosses them
    all, the worst case of a point-in-polygon test."""
    teeth = (n - 3) // 2
    step = width / teeth
    ring = [[lon, lat]]
    for i in range(teeth):
        x = lon + i * step
        ring += [[x, lat + 0.5], [x + step / 2, lat + 0.01]]
    ring += [[lon + width, lat], [lon, lat]]
    return ring


def comb(n: int = COMB_ACCEPTED, **kw: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [comb_ring(n, **kw)]}


def _square(x: float, y: float, side: float, clockwise: bool = False) -> list[list[float]]:
    corners = [[x, y], [x + side, y], [x + side, y + side], [x, y + side]]
    if clockwise:
        corners.reverse()
    return [*corners, corners[0]]


def squares(
    k: int = SQUARES_ACCEPTED, lon: float = KL[0] - 0.3, lat: float = KL[1] - 0.3
) -> dict[str, Any]:
    """A MultiPolygon of ``k`` small squares on a grid."""
    m = math.ceil(math.sqrt(k))
    return {
        "type": "MultiPolygon",
        "coordinates": [
            [_square(lon + (i % m) * 0.006, lat + (i // m) * 0.006, 0.004)] for i in range(k)
        ],
    }


def holes(
    k: int = SQUARES_ACCEPTED - 1, lon: float = KL[0] - 0.3, lat: float = KL[1] - 0.3
) -> dict[str, Any]:
    """A square with ``k`` square holes."""
    m = math.ceil(math.sqrt(k))
    side = m * 0.006 + 0.01
    shell = _square(lon - 0.005, lat - 0.005, side)
    inner = [
        _square(lon + (i % m) * 0.006, lat + (i // m) * 0.006, 0.004, clockwise=True)
        for i in range(k)
    ]
    return {"type": "Polygon", "coordinates": [shell, *inner]}


def cap_polygon(ring: list[list[float]]) -> str:
    """A ring as a CAP ``<polygon>``: "lat,lon" pairs."""
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in ring)


def cap_message(identifier: str, polygon: str) -> bytes:
    """A CAP 1.2 flood warning over ``polygon``."""
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier>
<sender>metmalaysia.test</sender><sent>2026-11-20T10:00:00+08:00</sent><status>Actual</status>
<msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>Flood</event>
<urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
<headline>Flood warning</headline><area><areaDesc>Klang Valley</areaDesc><polygon>{polygon}</polygon>
</area></info></alert>""".encode()
