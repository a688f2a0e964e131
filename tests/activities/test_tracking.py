"""Logistics tracking: anomaly rules, the carrier simulator's trails, and the activity over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.tracking import Tracker, detect_anomalies, snapshot_from_carrier
from domain.messages import TrackingEvent, TrackingRequest
from ledger.reads import LedgerReader
from standins.carrier import generate_trail, scenario_for
from standins.http import serve

NOW = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)
ROUTE = ["上海浦东营业部", "上海转运中心", "武汉转运中心", "广州转运中心", "广州天河营业部"]


def ev(hours_ago: float, place: str, status: str = "arrived") -> TrackingEvent:
    return TrackingEvent(at=NOW - timedelta(hours=hours_ago), place=place, status=status)


def test_a_trail_scanned_along_its_route_has_no_anomaly():
    trail = [
        ev(30, ROUTE[0], "picked_up"),
        ev(24, ROUTE[1]),
        ev(14, ROUTE[2]),
        ev(6, ROUTE[3]),
        ev(2, ROUTE[4]),
    ]
    assert detect_anomalies(trail, ROUTE, NOW) == []


def test_long_stop_since_the_last_scan_of_a_parcel_not_yet_delivered():
    assert detect_anomalies([ev(60, ROUTE[0], "picked_up"), ev(40, ROUTE[1])], ROUTE, NOW) == ["long_stop"]


def test_long_stop_between_two_scans_even_once_delivered():
    trail = [
        ev(90, ROUTE[0], "picked_up"),
        ev(80, ROUTE[1]),
        ev(20, ROUTE[2]),
        ev(10, ROUTE[3]),
        ev(1, ROUTE[4], "delivered"),
    ]
    assert detect_anomalies(trail, ROUTE, NOW) == ["long_stop"]


def test_a_delivered_parcel_is_not_a_long_stop_however_long_ago():
    trail = [ev(300, place) for place in ROUTE[:-1]] + [ev(299, ROUTE[4], "delivered")]
    assert "long_stop" not in detect_anomalies(sorted(trail, key=lambda e: e.at), ROUTE, NOW)


def test_missed_scan_when_a_planned_place_was_passed_without_a_scan():
    trail = [ev(30, ROUTE[0], "picked_up"), ev(24, ROUTE[1]), ev(6, ROUTE[3])]
    assert detect_anomalies(trail, ROUTE, NOW) == ["missed_scan"]


def test_places_not_reached_yet_are_not_missed():
    assert detect_anomalies([ev(3, ROUTE[0], "picked_up"), ev(1, ROUTE[1])], ROUTE, NOW) == []


def test_route_deviation_when_scanned_off_the_planned_route():
    trail = [ev(30, ROUTE[0], "picked_up"), ev(24, ROUTE[1]), ev(14, ROUTE[2]), ev(8, "成都转运中心")]
    assert detect_anomalies(trail, ROUTE, NOW) == ["route_deviation"]


def test_without_a_planned_route_only_time_is_judged():
    assert detect_anomalies([ev(8, "成都转运中心")], [], NOW) == []


@pytest.mark.parametrize(
    "waybill, story, anomalies",
    [
        ("SF1234567891", "long_stop", ["long_stop"]),
        ("YT9876543212", "missed_scan", ["missed_scan"]),
        ("ZT5550001113", "route_deviation", ["route_deviation"]),
        ("JD7777777774", "delivered", []),
        ("SF1234567896", "in_transit", []),
    ],
)
def test_simulator_trails_tell_their_story(waybill, story, anomalies):
    assert scenario_for(waybill) == story
    trail = generate_trail(waybill, NOW)
    assert trail == generate_trail(waybill, NOW)  # deterministic
    snapshot = snapshot_from_carrier(trail, NOW)
    assert snapshot.anomalies == anomalies
    times = [e.at for e in snapshot.events]
    assert times == sorted(times) and times[-1] <= NOW
    assert all(e.handler for e in snapshot.events)
    if story in ("delivered", "missed_scan", "route_deviation"):
        assert snapshot.status == "delivered" and snapshot.courier and snapshot.courier["phone"]
    if story == "long_stop":
        assert snapshot.status == "in_transit" and snapshot.courier is None
    assert snapshot.last_position and 20 < snapshot.last_position[0] < 42


def test_the_trail_moves_on_during_the_day():
    morning, evening = NOW.replace(hour=1), NOW.replace(hour=12)  # 09:00 and 20:00 in Shanghai
    assert len(generate_trail("SF1234567896", morning)["events"]) <= len(
        generate_trail("SF1234567896", evening)["events"]
    )


@pytest.mark.parametrize("waybill", ["SF1234560000", "sf1234567891", "12345", "SF12345678901234", ""])
def test_unknown_or_malformed_waybills_have_no_trail(waybill):
    assert generate_trail(waybill, NOW) is None


async def lookup(tracker: Tracker, waybill: str, complaint_id: str = "C-1"):
    return await ActivityEnvironment().run(
        tracker.lookup_tracking, TrackingRequest(complaint_id=complaint_id, waybill=waybill)
    )


async def test_lookup_returns_the_trail_and_keeps_each_distinct_snapshot_once(standins, http):
    tracker = Tracker(http, f"{standins.base_url}/carrier-sim", standins.pool)
    first = await lookup(tracker, "SF1234567891")
    assert first.found and first.carrier == "顺丰速运" and first.anomalies == ["long_stop"]
    second = await lookup(tracker, "SF1234567891")
    rows = await standins.pool.fetch("SELECT * FROM tracking_snapshots")
    assert len(rows) == 1 and rows[0]["fetched_at"] == second.fetched_at > rows[0]["first_seen_at"]
    assert rows[0]["anomalies"] == ["long_stop"]
    assert '"e_waybill"' in rows[0]["raw"]  # the carrier's full answer is kept
    assert await LedgerReader(standins.pool).latest_tracking("C-1") == second


async def test_an_unknown_waybill_is_an_answer_not_an_error(standins, http):
    tracker = Tracker(http, f"{standins.base_url}/carrier-sim", standins.pool)
    snapshot = await lookup(tracker, "SF1234560000")
    assert not snapshot.found and snapshot.events == []
    assert await standins.pool.fetchval("SELECT found FROM tracking_snapshots") is False


async def test_a_carrier_outage_is_retryable(standins, http):
    tracker = Tracker(http, f"{standins.base_url}/carrier-sim", standins.pool)
    with pytest.raises(ApplicationError) as e:
        await lookup(tracker, "ER1234567896")
    assert not e.value.non_retryable and "503" in str(e.value)


async def test_an_unreachable_carrier_is_retryable(standins, http):
    tracker = Tracker(http, "http://127.0.0.1:9/carrier-sim", standins.pool)
    with pytest.raises(ApplicationError) as e:
        await lookup(tracker, "SF1234567891")
    assert e.value.type == "TrackingUnavailable" and not e.value.non_retryable


async def test_a_refused_api_key_is_not_retried(standins, http):
    carrier = FastAPI()

    @carrier.get("/waybills/{waybill}")
    async def refuse(waybill: str) -> JSONResponse:
        return JSONResponse({"error": "unauthorized"}, status_code=401)

    async with serve(carrier) as url:
        with pytest.raises(ApplicationError) as e:
            await lookup(Tracker(http, url, standins.pool), "SF1234567891")
    assert e.value.non_retryable and e.value.type == "TrackingMisconfigured"
