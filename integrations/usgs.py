"""USGS earthquake GeoJSON feeds (summary and detail) turned into normalised alerts."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeGuard
from urllib.parse import urljoin

import httpx
import shapely
from shapely.errors import ShapelyError
from shapely.geometry import LineString, MultiLineString, Polygon, shape

from geo.circles import circle_geojson
from integrations.alert import (
    Alert,
    Certainty,
    FetchInfo,
    Hazard,
    MsgType,
    Severity,
    Status,
    Urgency,
)
from integrations.errors import FeedError, PayloadError
from integrations.polling import FeedConfig, FeedKind, FeedState, PollOutcome, poll_once
from integrations.timeparse import from_epoch_ms

SOURCE = "usgs"
BASE_URL = "https://earthquake.usgs.gov"

#: MMI threshold of the impact zone: VI is "strong" shaking, felt by all, with slight damage.
IMPACT_MMI = 6.0
#: Below this magnitude the intensity equation is outside the data it was fitted on, and its
#: near-source term diverges for shallow events: no impact zone.
MIN_IMPACT_MAGNITUDE = 5.0

PAGER = {
    "green": Severity.MINOR,
    "yellow": Severity.MODERATE,
    "orange": Severity.SEVERE,
    "red": Severity.EXTREME,
}
_PAGER_ORDER = ("green", "yellow", "orange", "red")
_CERTAINTY = {"automatic": Certainty.LIKELY, "reviewed": Certainty.OBSERVED}


def summary_url(magnitude: str = "4.5", period: str = "day") -> str:
    """A summary feed URL: ``magnitude`` significant/4.5/2.5/1.0/all, ``period``
    hour/day/week/month."""
    if magnitude not in {"significant", "4.5", "2.5", "1.0", "all"}:
        raise ValueError(f"magnitude={magnitude!r}: use significant, 4.5, 2.5, 1.0 or all")
    if period not in {"hour", "day", "week", "month"}:
        raise ValueError(f"period={period!r}: use hour, day, week or month")
    return f"{BASE_URL}/earthquakes/feed/v1.0/summary/{magnitude}_{period}.geojson"


def parse_summary(
    content: bytes,
    *,
    fetch: FetchInfo | None = None,
    skip_other_types: bool = False,
    base_url: str = BASE_URL,
) -> list[Alert]:
    """Alerts from a summary feed (a GeoJSON FeatureCollection), one per event.

    Geometry is the epicentre as a GeoJSON Point (depth goes to ``extra["depth_km"]``);
    ``extra["impact_radius_km"]`` carries the estimated strong-shaking radius, which
    :func:`impact_zone` turns into a polygon when the service needs one (no geodesic work
    here: this path must stay fast). Events whose ``type`` is not ``earthquake`` (quarry
    blast, explosion, ice quake...) are marked ``Hazard.OTHER`` with severity unknown and
    ``extra["event_type"]``, or left out with ``skip_other_types``.

    Raises
    ------
    PayloadError
        Not JSON, or not a FeatureCollection of events with ids, times and epicentres.
    """
    doc = _load_json(content)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise PayloadError("not a USGS GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise PayloadError("the USGS FeatureCollection has no features list")
    alerts: list[Alert] = []
    for index, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise PayloadError(f"USGS feature {index} is not an object")
        if skip_other_types and _event_type(feature) != "earthquake":
            continue
        alerts.append(feature_to_alert(feature, fetch=fetch, base_url=base_url))
    return alerts


def parse_detail(
    content: bytes, *, fetch: FetchInfo | None = None, base_url: str = BASE_URL
) -> Alert:
    """The alert of one event from its detail GeoJSON (``properties.detail`` of a summary item).

    Adds what the summary lacks: the PAGER level of the preferred ``losspager`` product when
    the ``alert`` property is empty; the ShakeMap version, maximum MMI and the absolute URL of
    its MMI contour file (``extra["shakemap_contours"]``: ShakeMap 4 ``cont_mmi.json`` or 3.5
    ``cont_mi.json``; the service fetches it and calls :func:`shakemap_zone`); and a zone: the
    geodesic circle of :func:`impact_radius_km` around the epicentre, or the epicentre alone
    when no strong shaking is expected (``extra["zone"]`` says which). A ShakeMap marked
    ``SCENARIO`` makes the alert an exercise.

    Raises
    ------
    PayloadError
        Not JSON, or not a GeoJSON Feature of an event.
    """
    doc = _load_json(content)
    if not isinstance(doc, dict) or doc.get("type") != "Feature":
        raise PayloadError("a USGS detail document is a GeoJSON Feature")
    alert = feature_to_alert(doc, fetch=fetch, base_url=base_url)
    extra = dict(alert.extra)
    products = _mapping(_mapping(doc, "properties"), "products")
    severity, status = alert.severity, alert.status
    pager = _preferred(products, "losspager")
    pager_level = _text(_mapping(pager, "properties").get("alertlevel"))
    extra["pager_alertlevel"] = pager_level
    if extra.get("pager") is None and pager_level in PAGER:
        extra["pager"] = pager_level
        severity = PAGER[pager_level]
    shakemap = _preferred(products, "shakemap")
    if shakemap:
        sm_props = _mapping(shakemap, "properties")
        contents = _mapping(shakemap, "contents")
        contour = _mapping(contents, "download/cont_mmi.json") or _mapping(
            contents, "download/cont_mi.json"
        )
        if isinstance(contour.get("url"), str):
            extra["shakemap_contours"] = urljoin(base_url, contour["url"])
        extra["shakemap_version"] = _text(sm_props.get("version"))
        extra["shakemap_maxmmi"] = _float(sm_props.get("maxmmi"))
        if _text(sm_props.get("event-type")) == "SCENARIO":
            status = Status.EXERCISE
    circle = impact_zone(alert)
    extra["zone"] = "impact_circle" if circle else "epicentre"
    return replace(
        alert,
        severity=severity,
        status=status,
        geometry=circle or alert.geometry,
        extra=extra,
    )


async def fetch_detail(
    client: httpx.AsyncClient,
    url: str,
    *,
    timeout_s: float = 20.0,
    contours: bool = True,
    min_mmi: float = IMPACT_MMI,
    now: datetime | None = None,
) -> Alert:
    """Fetch a detail document (``extra["detail"]`` of a summary alert) and, when it links a
    ShakeMap, its MMI contours: the zone becomes the area of at least ``min_mmi``.

    The contours are a refinement: when they cannot be fetched or hold no closed contour at
    ``min_mmi``, the impact circle of :func:`parse_detail` stays, and
    ``extra["shakemap_error"]`` says why.

    Raises
    ------
    FeedError
        The detail document itself could not be fetched or read (transient or permanent).
    """
    detail = await _fetch_one(client, url, timeout_s, now, lambda b: [parse_detail(b)])
    alert: Alert = detail[0]
    contour_url = alert.extra.get("shakemap_contours")
    if not contours or not isinstance(contour_url, str):
        return alert
    try:
        zones = await _fetch_one(
            client, contour_url, timeout_s, now, lambda b: [shakemap_zone(b, min_mmi=min_mmi)]
        )
    except FeedError as exc:
        return replace(alert, extra={**alert.extra, "shakemap_error": f"{exc}"})
    zone = zones[0]
    if zone is None:
        reason = f"no closed contour of MMI {min_mmi:g} or more"
        return replace(alert, extra={**alert.extra, "shakemap_error": reason})
    return replace(alert, geometry=zone, extra={**alert.extra, "zone": "shakemap"})


async def _fetch_one(
    client: httpx.AsyncClient,
    url: str,
    timeout_s: float,
    now: datetime | None,
    parse: Callable[[bytes], list[Any]],
) -> list[Any]:
    # One-off documents go through the poller's GET: same User-Agent, limits and error classes.
    config = FeedConfig(name=f"{SOURCE}:{url}", kind=FeedKind.USGS, url=url, timeout_s=timeout_s)
    result = await poll_once(client, config, FeedState(), parse, now=now)
    if result.outcome is not PollOutcome.UPDATED:
        raise result.error or PayloadError(f"{url}: no document ({result.outcome.value})")
    return list(result.items)


def feature_to_alert(
    feature: Mapping[str, Any], *, fetch: FetchInfo | None = None, base_url: str = BASE_URL
) -> Alert:
    """One summary or detail Feature as an alert (see :func:`parse_summary`).

    Raises
    ------
    PayloadError
        No id, no epoch-millisecond ``time``/``updated``, or no usable epicentre.
    """
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise PayloadError("USGS feature without properties")
    event_id = feature.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise PayloadError("USGS feature without an id")
    time_ms, updated_ms = props.get("time"), props.get("updated")
    if not _is_number(time_ms) or not _is_number(updated_ms):
        raise PayloadError(f"USGS event {event_id}: time and updated must be epoch milliseconds")
    geometry, depth_km = _epicentre(feature.get("geometry"), event_id)
    magnitude = _float(props.get("mag"))
    event_type = _event_type(feature)
    is_quake = event_type == "earthquake"
    pager = _text(props.get("alert"))
    pager = pager.lower() if pager else None
    review = (_text(props.get("status")) or "").lower()
    url, detail = _text(props.get("url")), _text(props.get("detail"))
    extra: dict[str, Any] = {
        "magnitude": magnitude,
        "mag_type": _text(props.get("magType")),
        "depth_km": depth_km,
        "place": _text(props.get("place")),
        "event_type": event_type,
        "review_status": review or None,
        "pager": pager if pager in PAGER else None,
        # tsunami=1 only says a tsunami may be relevant: never a warning (see NTWC/PTWC).
        "tsunami_flag": bool(props.get("tsunami")),
        "sig": props.get("sig"),
        "felt": props.get("felt"),
        "cdi": _float(props.get("cdi")),
        "mmi": _float(props.get("mmi")),
        "network": _text(props.get("net")),
        "types": _split_list(props.get("types")),
        "detail": urljoin(base_url, detail) if detail else None,
        "impact_radius_km": impact_radius_km(magnitude, depth_km) if is_quake else 0.0,
    }
    return Alert(
        source=SOURCE,
        external_id=event_id,
        version=str(int(updated_ms)),
        hazard=Hazard.EARTHQUAKE if is_quake else Hazard.OTHER,
        severity=severity_of(magnitude, pager) if is_quake else Severity.UNKNOWN,
        certainty=_CERTAINTY.get(review, Certainty.UNKNOWN),
        urgency=Urgency.PAST,
        status=Status.ACTUAL,
        # "deleted" is the source's own withdrawal; the service decides alert versus update.
        msg_type=MsgType.CANCEL if review == "deleted" else MsgType.ALERT,
        headline=_text(props.get("title")) or f"M {magnitude} - {props.get('place') or event_id}",
        onset=from_epoch_ms(time_ms),
        sent=from_epoch_ms(updated_ms),
        geometry=geometry,
        aliases=tuple(dict.fromkeys(_split_list(props.get("ids")) or [event_id])),
        url=urljoin(base_url, url) if url else None,
        raw=json.dumps(feature, separators=(",", ":"), ensure_ascii=False).encode(),
        fetch=fetch,
        extra=extra,
    )


def severity_of(magnitude: float | None, pager: str | None) -> Severity:
    """PAGER's level when there is one (it weighs exposure); otherwise the magnitude class.

    PAGER green/yellow/orange/red → minor/moderate/severe/extreme. Magnitude classes of the
    USGS: under 5 light or less (minor), 5 moderate, 6 strong (severe), 7 and more major or
    great (extreme).
    """
    if pager and pager.lower() in PAGER:
        return PAGER[pager.lower()]
    if magnitude is None or not math.isfinite(magnitude):
        return Severity.UNKNOWN
    if magnitude < 5.0:
        return Severity.MINOR
    if magnitude < 6.0:
        return Severity.MODERATE
    if magnitude < 7.0:
        return Severity.SEVERE
    return Severity.EXTREME


def impact_radius_km(
    magnitude: float | None, depth_km: float | None, mmi: float = IMPACT_MMI
) -> float:
    """Epicentral distance, in km, within which shaking of at least ``mmi`` is expected.

    Uses the intensity prediction equation of Allen, Wald & Worden (2012), "Intensity
    attenuation for active crustal regions", Journal of Seismology 16:409-433, in its
    hypocentral-distance form, without site terms::

        MMI(R) = 2.085 + 1.428 M - 1.402 ln(sqrt(R² + Rm²)) + 0.078 ln(R / 50)·[R > 50]
        Rm     = -0.209 + 2.042 exp(M - 5)

    with ``R`` the hypocentral distance in km. MMI(R) decreases with ``R``, so the distance
    where it equals ``mmi`` is found by bisection and converted to an epicentral distance
    ``sqrt(R² - depth²)``. It gives about 25 km at M6, 76 km at M7 and 225 km at M8 for a
    10 km deep event. Returns 0.0 when no point at the surface reaches ``mmi`` (deep events),
    when the magnitude is unknown, or below ``MIN_IMPACT_MAGNITUDE``. A median estimate for
    screening, not a ShakeMap: contours, when fetched, are better. Negative depths (above
    sea level, seen in real feeds) count as 0.
    """
    if magnitude is None or not math.isfinite(magnitude) or magnitude < MIN_IMPACT_MAGNITUDE:
        return 0.0
    depth = max(0.0, depth_km or 0.0)
    rm = -0.209 + 2.042 * math.exp(magnitude - 5.0)

    def intensity(r: float) -> float:
        value = 2.085 + 1.428 * magnitude - 1.402 * math.log(math.sqrt(r * r + rm * rm))
        if r > 50.0:
            value += 0.078 * math.log(r / 50.0)
        return value

    low, high = max(depth, 1e-3), 2_000.0
    if intensity(low) < mmi:
        return 0.0
    if intensity(high) >= mmi:
        low = high
    else:
        for _ in range(40):
            mid = (low + high) / 2.0
            if intensity(mid) >= mmi:
                low = mid
            else:
                high = mid
    return round(math.sqrt(max(0.0, low * low - depth * depth)), 1)


def impact_zone(alert: Alert) -> dict[str, Any] | None:
    """The impact circle of a USGS alert as a GeoJSON geometry, or None when its radius is 0.

    Computed on demand, so that parsing a summary feed does no geodesic work.
    """
    radius = alert.extra.get("impact_radius_km")
    geometry = alert.geometry
    if not radius or not geometry or geometry.get("type") != "Point":
        return None
    lon, lat = geometry["coordinates"][:2]
    return circle_geojson(float(lon), float(lat), float(radius) * 1000.0)


def shakemap_zone(contours: bytes, *, min_mmi: float = IMPACT_MMI) -> dict[str, Any] | None:
    """The area of shaking of at least ``min_mmi`` from a ShakeMap MMI contour file.

    Contours are lines (``properties.value`` = MMI); the closed ones at or above ``min_mmi``
    are united into a polygon. A contour cut open by the map's edge is left out, so the zone
    may be smaller than the truth: keep the impact circle alongside. None when no closed
    contour reaches ``min_mmi``.

    Raises
    ------
    PayloadError
        Not JSON, or not a FeatureCollection of line contours.
    """
    doc = _load_json(contours)
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise PayloadError("a ShakeMap contour file is a GeoJSON FeatureCollection")
    rings: list[Polygon] = []
    for feature in doc["features"]:
        value = _float(_mapping(feature, "properties").get("value"))
        if value is None or value < min_mmi:
            continue
        try:
            geom = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError, ShapelyError) as exc:
            raise PayloadError(f"ShakeMap contour of MMI {value}: {exc}") from exc
        lines = geom.geoms if isinstance(geom, MultiLineString) else [geom]
        for line in lines:
            if isinstance(line, LineString) and line.is_ring and len(line.coords) >= 4:
                rings.append(Polygon(line.coords))
    if not rings:
        return None
    zone = shapely.make_valid(shapely.union_all(rings))
    out: dict[str, Any] = json.loads(shapely.to_geojson(zone))
    return out


def merge_key(alert: Alert) -> frozenset[str]:
    """Every id of the event: its preferred id and all aliases from ``ids``.

    Networks merge events and the preferred id can change (``us…`` → ``ci…``): two alerts
    are the same event when their keys overlap, not only when their ids are equal.
    """
    return frozenset((alert.external_id, *alert.aliases))


def dedupe(alerts: Iterable[Alert]) -> list[Alert]:
    """One alert per event, the most recently updated, events grouped by any shared id."""
    groups: list[tuple[set[str], Alert]] = []
    for alert in alerts:
        key = set(merge_key(alert))
        best = alert
        kept: list[tuple[set[str], Alert]] = []
        for ids, other in groups:
            if ids & key:
                key |= ids
                if _version_number(other) > _version_number(best):
                    best = other
            else:
                kept.append((ids, other))
        kept.append((key, best))
        groups = kept
    return [alert for _, alert in groups]


def vanished(previous_ids: Iterable[str], current_alerts: Iterable[Alert]) -> set[str]:
    """Ids seen in the previous fetch that no event of the current one carries, even as alias.

    USGS deletes events by dropping them from the summary feeds, without a tombstone. An id
    returned here is only a candidate: absence from one fetch is never a cancel by itself.
    Compare two successful fetches of the same feed (a failed fetch has no current alerts
    and must never cancel anything), ignore events old enough to have left the feed's time
    window, and confirm with the detail document (``status: deleted``) before closing.
    """
    present: set[str] = set()
    for alert in current_alerts:
        present |= merge_key(alert)
    return set(previous_ids) - present


@dataclass(frozen=True, slots=True)
class PagerLosses:
    """PAGER's empirical loss model for one event (countries as ISO 3166-1 alpha-2)."""

    total_fatalities: int
    total_dollars: int
    fatalities_by_country: dict[str, int]
    dollars_by_country: dict[str, int]

    @property
    def alert_level(self) -> str:
        """PAGER's level: the higher of the fatality and the economic-loss levels.

        Thresholds of the PAGER fact sheet (USGS Fact Sheet 2010-3036): fatalities 0 green,
        1-99 yellow, 100-999 orange, 1,000+ red; losses under US$1 million green, under
        US$100 million yellow, under US$1 billion orange, beyond red.
        """
        deaths, dollars = self.total_fatalities, self.total_dollars
        by_deaths = 0 if deaths < 1 else 1 if deaths < 100 else 2 if deaths < 1000 else 3
        by_dollars = 0 if dollars < 1e6 else 1 if dollars < 1e8 else 2 if dollars < 1e9 else 3
        return _PAGER_ORDER[max(by_deaths, by_dollars)]


def parse_pager_losses(content: bytes) -> PagerLosses:
    """The ``losspager`` product's losses JSON (``empirical_fatality``, ``empirical_economic``).

    Raises
    ------
    PayloadError
        Not JSON, or without the empirical fatality and economic sections.
    """
    doc = _load_json(content)
    fatality = _mapping(doc, "empirical_fatality") if isinstance(doc, dict) else {}
    economic = _mapping(doc, "empirical_economic") if isinstance(doc, dict) else {}
    if not fatality or not economic:
        raise PayloadError("PAGER losses need empirical_fatality and empirical_economic")
    try:
        return PagerLosses(
            total_fatalities=int(fatality["total_fatalities"]),
            total_dollars=int(economic["total_dollars"]),
            fatalities_by_country={
                str(c["country_code"]): int(c["fatalities"])
                for c in fatality.get("country_fatalities") or []
            },
            dollars_by_country={
                str(c["country_code"]): int(c["us_dollars"])
                for c in economic.get("country_dollars") or []
            },
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"PAGER losses: missing or invalid {exc}") from exc


def _event_type(feature: Mapping[str, Any]) -> str:
    value = _mapping(feature, "properties").get("type")
    return str(value).strip().lower() if value else "earthquake"


def _epicentre(raw: Any, event_id: str) -> tuple[dict[str, Any] | None, float | None]:
    coords = raw.get("coordinates") if isinstance(raw, dict) else None
    if (
        not isinstance(coords, list)
        or len(coords) < 2
        or not all(_is_number(c) for c in coords[:2])
    ):
        raise PayloadError(f"USGS event {event_id}: geometry is not a [lon, lat, depth] Point")
    lon, lat = float(coords[0]), float(coords[1])
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise PayloadError(f"USGS event {event_id}: epicentre ({lon}, {lat}) is out of range")
    depth = float(coords[2]) if len(coords) > 2 and _is_number(coords[2]) else None
    # GeoJSON's third coordinate is an altitude; USGS puts the depth there (positive down).
    return {"type": "Point", "coordinates": [lon, lat]}, depth


def _preferred(products: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """The first element of a product list is the preferred one."""
    items = products.get(name)
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0]
    return None


def _mapping(parent: Any, key: str) -> dict[str, Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, dict) else {}


def _version_number(alert: Alert) -> int:
    try:
        return int(alert.version)
    except ValueError:
        return -1


def _split_list(value: Any) -> list[str]:
    """USGS comma lists carry leading and trailing commas: ``,us1,ci2,``."""
    if not isinstance(value, str):
        return []
    return [part for part in value.split(",") if part]


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _load_json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"not valid JSON: {exc}") from exc
