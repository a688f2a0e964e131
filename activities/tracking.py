"""The `lookup_tracking` activity: a waybill's trail from the carrier API, checked for anomalies, kept in the ledger.

Carrier API (what `standins/carrier.py` serves; point `DESK_TRACKING_API_URL` at a real carrier's adapter):
`GET {base}/waybills/{waybill}` → 200 `{waybill, carrier, status, route: [planned places], events: [{time,
place, status, handler, lat, lon}], last_position: {lat, lon}, courier: {name, phone, station}, e_waybill}`;
404 unknown waybill.

Answers: 404 / 400 → `found=False` (an answer, not an error: no retry loop); 5xx, 429, timeouts → retryable
`ApplicationError`; 401 / 403 or an unreadable body → non-retryable (configuration, retrying cannot help).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.messages import ACTIVITY_TRACKING, TrackingEvent, TrackingRequest, TrackingSnapshot
from ledger.writes import store_tracking_snapshot

LONG_STOP = timedelta(hours=36)  # no scan for this long while not delivered (or between two scans)
DELIVERED = frozenset({"delivered", "signed"})


def detect_anomalies(
    events: Sequence[TrackingEvent],
    planned_route: Sequence[str],
    now: datetime,
    *,
    long_stop: timedelta = LONG_STOP,
) -> list[str]:
    """Anomalies in a trail, as codes:

    - `long_stop`: two consecutive scans, or the last scan and now (parcel not delivered), further apart
      than `long_stop`;
    - `missed_scan`: a planned place was passed without a scan (a later planned place was scanned);
    - `route_deviation`: a scan at a place that is not on the planned route.
    """
    found: list[str] = []
    ordered = sorted(events, key=lambda e: e.at)
    if ordered:
        gaps = [b.at - a.at for a, b in zip(ordered, ordered[1:], strict=False)]
        if ordered[-1].status not in DELIVERED:
            gaps.append(now - ordered[-1].at)
        if any(gap > long_stop for gap in gaps):
            found.append("long_stop")
    if planned_route:
        scanned = {e.place for e in ordered}
        last_reached = max((i for i, place in enumerate(planned_route) if place in scanned), default=-1)
        if any(place not in scanned for place in planned_route[:last_reached]):
            found.append("missed_scan")
        if scanned - set(planned_route):
            found.append("route_deviation")
    return found


def snapshot_from_carrier(body: dict[str, Any], now: datetime) -> TrackingSnapshot:
    """Map the carrier's answer onto the domain snapshot, anomalies included."""
    events = [
        TrackingEvent(at=e["time"], place=e["place"], status=e["status"], handler=e.get("handler"))
        for e in body.get("events", [])
    ]
    position = body.get("last_position") or None
    courier = body.get("courier") or None
    return TrackingSnapshot(
        waybill=body["waybill"],
        found=True,
        carrier=body.get("carrier"),
        status=body.get("status"),
        events=events,
        last_position=(position["lat"], position["lon"]) if position else None,
        courier={k: str(v) for k, v in courier.items() if v is not None} if courier else None,
        anomalies=detect_anomalies(events, body.get("route") or [], now),
        fetched_at=now,
    )


class Tracker:
    def __init__(
        self, client: httpx.AsyncClient, base_url: str, pool: asyncpg.Pool, *, api_key: str = ""
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.pool = pool
        self.api_key = api_key

    async def fetch(self, waybill: str) -> tuple[TrackingSnapshot, dict[str, Any] | None]:
        now = datetime.now(UTC)
        waybill = waybill.strip()
        if not waybill:
            return TrackingSnapshot(waybill=waybill, found=False, fetched_at=now), None
        url = f"{self.base_url}/waybills/{urllib.parse.quote(waybill, safe='')}"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = await self.client.get(url, headers=headers, timeout=httpx.Timeout(10.0, connect=3.0))
        except httpx.TransportError as e:  # timeouts included
            raise ApplicationError(
                f"carrier API unreachable: {type(e).__name__}: {e}", type="TrackingUnavailable"
            ) from e
        if response.status_code in (400, 404, 410):
            return TrackingSnapshot(waybill=waybill, found=False, fetched_at=now), None
        if response.status_code == 429 or response.status_code >= 500:
            raise ApplicationError(f"carrier API answered {response.status_code}", type="TrackingUnavailable")
        if response.status_code >= 400:
            raise ApplicationError(
                f"carrier API refused the request ({response.status_code}): check DESK_TRACKING_API_URL / key",
                type="TrackingMisconfigured",
                non_retryable=True,
            )
        try:
            body = response.json()
            return snapshot_from_carrier(body, now), body
        except (ValueError, KeyError, TypeError, ValidationError) as e:
            raise ApplicationError(
                f"carrier API answer unreadable: {type(e).__name__}: {e}",
                type="TrackingBadAnswer",
                non_retryable=True,
            ) from e

    @activity.defn(name=ACTIVITY_TRACKING)
    async def lookup_tracking(self, request: TrackingRequest) -> TrackingSnapshot:
        snapshot, raw = await self.fetch(request.waybill)
        await store_tracking_snapshot(self.pool, request.complaint_id, snapshot, raw)
        return snapshot
