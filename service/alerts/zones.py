"""The zone of an alert: the area to match registered workers against.

Never drop an alert for lack of a polygon: use the polygon when the source gives one, else the
admin areas of its geocodes, else an impact radius around its point, else its countries.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from geo.admin import AdminAreas
from geo.circles import circle_geojson
from integrations.alert import Alert, Hazard

#: Radius around a GDACS event point until its polygons arrive, in km: GDACS reports exposed
#: population within 100 km of earthquakes; cyclone wind fields reach further.
POINT_RADIUS_KM = {
    Hazard.EARTHQUAKE: 100.0,
    Hazard.TROPICAL_CYCLONE: 300.0,
    Hazard.TSUNAMI: 100.0,
    Hazard.VOLCANO: 50.0,
}
DEFAULT_POINT_RADIUS_KM = 50.0
GEOCODE_NAMES = {"iso3166-2", "iso 3166-2", "iso3166_2"}


def locate(alert: Alert) -> tuple[dict[str, Any] | None, str | None]:
    """(GeoJSON zone, how it was made) for ``alert``; (None, None) when nothing locates it."""
    geometry = alert.geometry
    if geometry and geometry.get("type") in {"Polygon", "MultiPolygon", "GeometryCollection"}:
        return geometry, "polygon"
    areas = AdminAreas.load()
    codes = [
        value
        for name, value in alert.extra.get("geocodes", [])
        if str(name).strip().lower() in GEOCODE_NAMES
    ]
    shapes: list[BaseGeometry] = [
        g for g in (areas.admin1_geometry(c) for c in codes) if g is not None
    ]
    if shapes:
        return dict(mapping(shapely.union_all(shapes))), "geocodes"
    if geometry and geometry.get("type") == "Point":
        lon, lat = geometry["coordinates"][:2]
        radius = alert.extra.get("impact_radius_km") or POINT_RADIUS_KM.get(
            alert.hazard, DEFAULT_POINT_RADIUS_KM
        )
        return circle_geojson(
            float(lon), float(lat), float(radius) * 1000.0
        ), f"point+{float(radius):.0f}km"
    countries = [g for g in (areas.country_geometry(c) for c in alert.countries) if g is not None]
    if countries:
        return dict(mapping(shapely.union_all(countries))), "countries"
    return None, None


def union_geojson(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(mapping(shapely.union_all([shape(p) for p in parts])))
