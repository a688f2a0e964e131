"""What staff and customers read: timeline lines, badges, tracking, departments and roles in the page's
language, times in the viewer's zone, countdowns as durations with the overdue clock first — from ledger rows
and events shaped exactly as the workflow records them (kinds, engineer summaries, data)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from activities.notifications.templates import render
from domain.messages import TemplateKey, TimelineEvent, TrackingSnapshot
from domain.models import (
    SYSTEM_ACTOR,
    Channel,
    Department,
    Locale,
    ObligationName,
    ObligationStatus,
    Role,
    State,
    Tier,
)
from tests.ui import ledger_seed as seed
from tests.ui.conftest import signed_in
from ui.i18n import countdown_words, duration_words

NOW = datetime.now(UTC).replace(microsecond=0)


def _events(cid: str, received: datetime) -> list[TimelineEvent]:
    """The workflow's own event shapes (workflows/complaint.py), English summaries included."""
    due = received + timedelta(minutes=5)

    def ev(i: int, kind: str, text: str, minutes: float, **kw) -> TimelineEvent:
        return TimelineEvent(
            event_id=f"{cid}-e{i}",
            complaint_id=cid,
            at=received + timedelta(minutes=minutes),
            kind=kind,
            actor=kw.pop("actor", SYSTEM_ACTOR),
            text=text,
            **kw,
        )

    return [
        ev(
            1,
            "received",
            "urgent complaint via hotline",
            0,
            data={"policy": "standard", "tier_confirmed": True},
        ),
        ev(
            2,
            "sla_warning",
            f"first_response due {due.isoformat()}",
            4,
            obligation=ObligationName.FIRST_RESPONSE,
            due_at=due,
            data={"obligation_status": "warned", "holder_role": "specialist"},
        ),
        ev(
            3,
            "sla_breach",
            f"first_response was due {due.isoformat()}",
            5,
            obligation=ObligationName.FIRST_RESPONSE,
            due_at=due,
            data={"obligation_status": "breached", "from_role": "specialist", "to_role": "supervisor"},
        ),
        ev(
            4,
            "escalated",
            "specialist → supervisor after the first_response breach",
            5,
            data={"from_role": "specialist", "to_role": "supervisor", "reason": "breach"},
        ),
        ev(
            5,
            "obligation_met",
            "first_response met_late",
            7,
            obligation=ObligationName.FIRST_RESPONSE,
            actor=seed.ZHANG,
            data={"obligation_status": "met_late"},
        ),
        ev(
            6,
            "investigation_started",
            "warehouse, transport",
            8,
            actor=seed.ZHANG,
            data={"departments": ["warehouse", "transport"], "round": 1},
        ),
        ev(
            7,
            "tracking_linked",
            "in_transit",
            8,
            data={"why": "intake", "found": True, "anomalies": ["long_stop"]},
        ),
        ev(
            8,
            "customer_update",
            "automatic",
            38,
            obligation=ObligationName.CUSTOMER_UPDATE,
            data={"obligation_status": "met"},
        ),
        ev(
            9,
            "notification_failed",
            "customer_update to customer not delivered",
            38,
            data={"template": "customer_update", "idempotency_key": "k", "error": "SMTP 550"},
        ),
        ev(10, "progress", "仓库正在核查出库记录", 40, actor=seed.ZHANG, data={"to_customer": True}),
    ]


def _latin_words(text: str) -> list[str]:
    return re.findall(r"\b[a-z_]{3,}\b", text)


async def test_the_zh_cn_complaint_page_tells_every_timeline_line_in_chinese(web):
    received = NOW - timedelta(hours=1)
    v = seed.view(
        "C-WORDS",
        received_at=received,
        tier=Tier.URGENT,
        channel=Channel.HOTLINE,
        holder=seed.ZHANG,
        departments=[Department.WAREHOUSE, Department.TRANSPORT],
        outcomes={ObligationName.FIRST_RESPONSE: ObligationStatus.MET_LATE},
    ).model_copy(
        update={
            "tracking": TrackingSnapshot(
                waybill="SF1234567890",
                found=True,
                carrier="顺丰",
                status="in_transit",
                anomalies=["long_stop"],
            )
        }
    )
    await seed.write(web.pool, v, _events("C-WORDS", received))
    async with signed_in(web.base_url, "zhang") as http:
        http.cookies.set("desk_tz", "Europe/London")
        page = (await http.get("/staff/complaints/C-WORDS?lang=zh-CN")).text
    timeline = page.split('id="timeline"')[1].split("</section>")[0]
    tracking = page.split('id="tracking"')[1].split("</section>")[0]
    for english in (
        "first_response",
        "specialist → supervisor",
        "warehouse, transport",
        "urgent complaint via hotline",
        "in_transit",
        "long_stop",
        "+00:00",
        "automatic",
        "not delivered",
    ):
        assert english not in timeline + tracking, english
    for chinese in (
        "紧急投诉，来自热线",
        "首次响应将于",
        "首次响应未按时完成",
        "首次响应超时后由客服专员升级至主管",
        "首次响应：超时完成",
        "部门：仓储部、运输部",
        "运输中",
        "长时间停滞",
        "系统按时自动向客户发送进展通报",
        "发给客户的“进展通报”未送达",
        "仓库正在核查出库记录",  # a person's own words, as written
    ):
        assert chinese in timeline + tracking, chinese
    # the breach's due time, in the viewer's zone (London) rather than UTC or Shanghai
    due_london = (received + timedelta(minutes=5)).astimezone(ZoneInfo("Europe/London"))
    assert f"应于 {due_london:%Y-%m-%d %H:%M} 前" in timeline
    # no Latin word left in the timeline except names (张敏 Zhang Min) and the waybill
    leftovers = [w for w in _latin_words(re.sub(r"<[^>]+>", " ", timeline)) if w not in ("zhang", "min")]
    assert not leftovers, leftovers


async def test_the_english_page_tells_the_same_lines_in_english(web):
    received = NOW - timedelta(hours=1)
    v = seed.view("C-WORDS-EN", received_at=received, tier=Tier.URGENT, holder=seed.ZHANG)
    await seed.write(web.pool, v, _events("C-WORDS-EN", received))
    async with signed_in(web.base_url, "zhang") as http:
        page = (await http.get("/staff/complaints/C-WORDS-EN?lang=en")).text
    timeline = page.split('id="timeline"')[1].split("</section>")[0]
    for line in (
        "Urgent Complaint via Hotline",
        "First response missed (was due",
        "Specialist → Supervisor after the missed First response",
        "departments: Warehouse, Transport",
        "in transit · anomalies: long stop",
    ):
        assert line in timeline, line
    assert "first_response" not in timeline


def test_countdowns_read_as_durations_not_clock_times():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert countdown_words(now + timedelta(minutes=4, seconds=5), "zh-CN", now) == "还剩 4 分 05 秒"
    assert countdown_words(now + timedelta(minutes=4, seconds=5), "en", now) == "4 min 05 s left"
    assert countdown_words(now - timedelta(seconds=36), "zh-CN", now) == "超时 36 秒"
    assert countdown_words(now - timedelta(seconds=36), "en", now) == "36 s overdue"
    assert duration_words(3 * 3600 + 5 * 60, "zh-CN") == "3 小时 05 分"
    assert duration_words(2 * 86400 + 3 * 3600, "en") == "2 d 3 h"


async def test_after_a_breach_the_queue_counts_the_overdue_clock_first(web):
    v = seed.view(
        "C-OVERDUE",
        received_at=datetime.now(UTC) - timedelta(minutes=7),
        tier=Tier.URGENT,
        outcomes={ObligationName.FIRST_RESPONSE: ObligationStatus.BREACHED},
    )
    await seed.write(web.pool, v)
    async with signed_in(web.base_url, "zhang") as http:
        rows = (await http.get("/staff/queue/rows?lang=zh-CN")).text
    row = rows.split('data-complaint="C-OVERDUE"')[1].split("</tr>")[0]
    assert re.search(r'class="countdown overdue"[^>]*>超时 2 分 \d\d 秒<', row), row
    assert "首次响应" in row.split("</td>")[0]  # the overdue obligation, not the next one (supervisor ack)


async def test_after_a_breach_the_status_page_says_the_promise_was_missed(web):
    v = seed.view(
        "C-MISSED",
        received_at=NOW - timedelta(minutes=20),
        tier=Tier.URGENT,
        outcomes={ObligationName.FIRST_RESPONSE: ObligationStatus.BREACHED},
    ).model_copy(update={"holder_role": Role.SUPERVISOR, "state": State.RECEIVED})
    await seed.write(web.pool, v)
    due = v.received_at + timedelta(minutes=5)
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        zh = (await http.get(f"/status/{v.status_token}?lang=zh-CN")).text
        en = (await http.get(f"/status/{v.status_token}?lang=en")).text
    local_due = due.astimezone(ZoneInfo("Asia/Shanghai"))
    assert "很抱歉，客服专员未能在 " in zh and f"{local_due:%Y-%m-%d %H:%M}</time> 前与您联系" in zh
    assert "您的投诉已转交主管优先处理" in zh
    # the missed time is not promised again as what happens next
    nxt = zh.split('data-testid="next"')[1].split("</div>")[0]
    assert "客服专员与您联系" not in nxt
    assert "We are sorry: a specialist should have contacted you by" in en
    assert "now with a supervisor" in en


def test_a_reopen_escalation_gives_its_reason_in_the_readers_language():
    context = {"complaint_id": "C-1", "escalated_to": "senior_supervisor", "reason": "customer unsatisfied"}
    assert "原因：客户对处理结果不满意" in render(TemplateKey.ESCALATION, Locale.ZH_CN, context).text
    assert "Reason: the customer is not satisfied" in render(TemplateKey.ESCALATION, Locale.EN, context).text
    free = render(TemplateKey.ESCALATION, Locale.ZH_CN, {**context, "reason": "客户要求主管处理"}).text
    assert "原因：客户要求主管处理" in free  # a person's reason stays as written


async def test_a_promise_past_due_is_not_offered_again_even_before_the_breach_is_recorded(web):
    v = seed.view("C-PAST", received_at=NOW - timedelta(minutes=7), tier=Tier.URGENT)  # first response: open
    await seed.write(web.pool, v)
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        zh = (await http.get(f"/status/{v.status_token}?lang=zh-CN")).text
    assert 'data-testid="missed"' in zh and "客服专员未能在" in zh
    nxt = zh.split('data-testid="next"')[1].split("</div>")[0]
    assert (
        "客服专员与您联系" not in nxt and "主管确认" not in nxt
    )  # the next promise is a customer-facing one
