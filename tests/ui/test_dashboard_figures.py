"""The dashboard's figures on a scripted set of complaints whose answers are known by hand: every rating
counted (first and final apart), a breach charged to whoever held the complaint when it fell due (or the
unassigned queue), no region = unknown and never a hot spot, and the CSV's range and name = the screen's."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from domain.messages import TimelineEvent
from domain.models import SYSTEM_ACTOR, ObligationName, ObligationStatus, State
from domain.view import ObligationView
from tests.ui import ledger_seed as seed
from tests.ui.conftest import signed_in
from ui import charts

MET = {o: ObligationStatus.MET for o, _ in seed.WINDOWS[seed.Tier.GENERAL]}
DAY = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def _script(pool) -> None:
    # A: rated 2, reopened, rated 5 — both ratings count; zhang met all three clocks in time. Two customer
    # updates were due: the first the system sent on its own (nobody had), the second zhang posted.
    a = seed.view(
        "C-A",
        received_at=DAY,
        state=State.CLOSED,
        holder=seed.ZHANG,
        outcomes=MET,
        ratings=[2, 5],
        region="上海",
    )
    updates = [
        ObligationView(
            name=ObligationName.CUSTOMER_UPDATE,
            status=ObligationStatus.MET,
            occurrence=n,
            started_at=DAY + timedelta(minutes=30 * (n - 1)),
            due_at=DAY + timedelta(minutes=30 * n),
            met_at=DAY + timedelta(minutes=30 * n - (0 if n == 1 else 5)),
        )
        for n in (1, 2)
    ]
    a = a.model_copy(update={"obligations": [*a.obligations, *updates]})
    events = [
        TimelineEvent(
            event_id="C-A-auto",
            complaint_id="C-A",
            at=DAY + timedelta(minutes=30),
            kind="customer_update",
            actor=SYSTEM_ACTOR,
            text="automatic",
            obligation=ObligationName.CUSTOMER_UPDATE,
            due_at=DAY + timedelta(minutes=30),
            data={"obligation_status": "met", "occurrence": 1, "automatic": True, "no_progress": True},
        ),
        TimelineEvent(
            event_id="C-A-staff",
            complaint_id="C-A",
            at=DAY + timedelta(minutes=55),
            kind="progress",
            actor=seed.ZHANG,
            text="仓库已找到包裹",
            data={"to_customer": True},
        ),
    ]
    await seed.write(pool, a, events)
    # B: rated 4, no region.
    await seed.write(
        pool,
        seed.view(
            "C-B",
            received_at=DAY + timedelta(days=1),
            state=State.CLOSED,
            holder=seed.LI,
            outcomes=MET,
            ratings=[4],
            region=None,
        ),
    )
    # C: nobody held it when the first response fell due; zhang took it over and met it late afterwards.
    breached = {ObligationName.FIRST_RESPONSE: ObligationStatus.BREACHED}
    await seed.write(
        pool,
        seed.view(
            "C-C",
            received_at=DAY + timedelta(days=2),
            holder=None,
            outcomes=breached,
            region="上海",
            token="tok-c",
        ),
    )
    late = {ObligationName.FIRST_RESPONSE: ObligationStatus.MET_LATE}
    await seed.write(
        pool,
        seed.view(
            "C-C",
            received_at=DAY + timedelta(days=2),
            holder=seed.ZHANG,
            outcomes=late,
            region="上海",
            token="tok-c",
        ),
    )
    # D: one more region.
    await seed.write(
        pool, seed.view("C-D", received_at=DAY + timedelta(days=3), holder=seed.LI, region="北京")
    )


def _kpi(html: str, key: str) -> str:
    m = re.search(rf'data-kpi="{re.escape(key)}"><div class="v">([^<]*)<', html)
    assert m, key
    return m.group(1)


def _chart(html: str, name: str) -> str:
    return html.split(f'id="chart-{name}"')[1].split("</section>")[0]


async def test_the_dashboard_figures_on_a_scripted_set(web):
    await _script(web.pool)
    async with signed_in(web.base_url, "zhao") as http:
        html = (await http.get("/dashboard?from=2026-11-02&to=2026-12-01&lang=zh-CN")).text
        assert _kpi(html, "dashboard.total") == "4"
        assert _kpi(html, "dashboard.ratings") == "3"
        assert _kpi(html, "dashboard.satisfaction") == "3.67 / 5"  # (2 + 5 + 4) / 3, not the last ones only
        assert _kpi(html, "dashboard.first_rating") == "3.00 / 5"  # (2 + 4) / 2
        assert _kpi(html, "dashboard.final_rating") == "4.50 / 5"  # (5 + 4) / 2
        assert _kpi(html, "dashboard.staff_updates") == "1"
        assert _kpi(html, "dashboard.automatic_updates") == "1"
        assert _kpi(html, "dashboard.no_progress_updates") == "1"  # nobody had worked on it: said apart
        person = _chart(html, "person")
        assert "未分派队列" in person and "—" not in person
        region = _chart(html, "region")
        assert region.index("上海") < region.index("北京") < region.index("未知")  # unknown last
        unknown_bar = region.split("<g>")[-1]
        assert "未知" in unknown_bar and charts.GREY in unknown_bar  # grey, not a hot-spot colour
        assert "breached" not in html and "曾超时" in html
        assert 'data-help="compliance_person"' in html and "未分派队列" in html.split('id="help"')[1]

        export = await http.get("/dashboard.csv?from=2026-11-02&to=2026-12-01")
        assert (
            export.headers["content-disposition"]
            == 'attachment; filename="complaints-report-2026-11-02-2026-12-01.csv"'
        )
        rows = {(r[0], r[1], r[2]): r[3] for r in csv.reader(io.StringIO(export.text.lstrip("\ufeff")))}
        assert rows[("range", "", "from")] == "2026-11-02T00:00:00+08:00"
        assert rows[("range", "", "to")] == "2026-12-02T00:00:00+08:00"
        assert rows[("range", "", "last_day")] == "2026-12-01"
        assert rows[("summary", "", "ratings")] == "3"
        assert float(rows[("summary", "", "avg_satisfaction")]) == round(11 / 3, 4)
        assert rows[("compliance_person", "unassigned_queue", "settled")] == "1"
        assert rows[("compliance_person", "unassigned_queue", "on_time")] == "0"
        # zhang: A's three clocks and her own update; neither the automatic update nor C's breach
        assert rows[("compliance_person", "zhang", "settled")] == "4"
        assert rows[("compliance_person", "li", "settled")] == "3"
        assert rows[("by_region", "unknown", "complaints")] == "1"
        # the automatic update is not a deadline met: counted apart, out of the ratio
        assert rows[("compliance_obligation", "customer_update", "automatic")] == "1"
        assert rows[("compliance_obligation", "customer_update", "settled")] == "1"
        assert rows[("compliance_obligation", "customer_update", "on_time")] == "1"


async def test_the_default_range_on_screen_is_the_range_exported(web):
    async with signed_in(web.base_url, "zhao") as http:
        http.cookies.set("desk_tz", "America%2FLos_Angeles")
        html = (await http.get("/dashboard")).text
        shown_from = re.search(r'name="from" value="([^"]+)"', html).group(1)
        shown_to = re.search(r'name="to" value="([^"]+)"', html).group(1)
        for path, prefix in (
            ("/dashboard.csv", "complaints-report"),
            ("/dashboard/complaints.csv", "complaints"),
        ):
            r = await http.get(path)
            assert (
                r.headers["content-disposition"]
                == f'attachment; filename="{prefix}-{shown_from}-{shown_to}.csv"'
            )
        rows = {
            (r[0], r[2]): r[3]
            for r in csv.reader(io.StringIO((await http.get("/dashboard.csv")).text.lstrip("\ufeff")))
        }
        assert rows[("range", "first_day")] == shown_from and rows[("range", "last_day")] == shown_to
        assert rows[("range", "from")].startswith(shown_from + "T00:00:00-0")  # Los Angeles, not UTC
