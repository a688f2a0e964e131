"""Every template in both languages: the complaint number, the right link, times in the reader's zone."""

from __future__ import annotations

import re

import pytest

from activities.notifications.templates import TEMPLATES, render
from domain.messages import TemplateKey
from domain.models import Locale

CUSTOMER_KEYS = {
    TemplateKey.CONFIRMATION,
    TemplateKey.ACKNOWLEDGED,
    TemplateKey.CUSTOMER_UPDATE,
    TemplateKey.STAFF_REPLY,
    TemplateKey.ANSWER,
    TemplateKey.PLAN,
    TemplateKey.RESULT,
    TemplateKey.RATING_REQUEST,
    TemplateKey.REOPENED,
    TemplateKey.DUPLICATE_JOINED,
    TemplateKey.WAITING_ON_CUSTOMER,
    TemplateKey.CLOSED,
}
STAFF_KEYS = set(TemplateKey) - CUSTOMER_KEYS
CJK = re.compile(r"[\u4e00-\u9fff]")

# Every variable any template reads; ASCII only, so an English text with a CJK character has a gap.
CONTEXT = {
    "complaint_id": "C-20260302-7F3K2Q",
    "status_url": "https://desk.example.com/status/tok123",
    "staff_url": "https://desk.example.com/staff/complaints/C-20260302-7F3K2Q",
    "customer_name": "Alex Chen",
    "subject": "Parcel arrived broken",
    "order_number": "SF1234567896",
    "promised": {"resolution": "2026-03-03T01:00:00Z", "first_response": "2026-03-02T01:05:00Z"},
    "holder_name": "Agent Li",
    "message": "The warehouse found your parcel.",
    "next_update_at": "2026-03-02T01:30:00Z",
    "answer": "Invoices are issued within 3 working days.",
    "plan": "Replace the item.",
    "compensation": 1200,
    "compensation_note": "refund of shipping",
    "expected_at": "2026-03-02T09:00:00Z",
    "cause": "Crushed in transport.",
    "solution": "A new item was shipped.",
    "rating_due_at": "2026-03-05T01:00:00Z",
    "demand": "Full refund",
    "due_at": "2026-03-02T01:05:00Z",
    "report_channel": "hotline",
    "reason": "Please send a photo of the label.",
    "score": 5,
    "tier": "urgent",
    "category": "damaged",
    "channel": "app",
    "summary": "Box crushed, glass broken",
    "departments": ["warehouse", "transport"],
    "assignees": ["agent-7"],
    "obligation": "first_response",
    "note": "Call the customer first",
    "escalated_to": "supervisor",
    "level": 1,
    "state": "in_progress",
    "next_due": "resolution",
    "next_due_at": "2026-03-03T01:00:00Z",
    "breach_count": 2,
    "occurrence": 3,
    "proposed_by": "Agent Li",
}


def test_every_template_key_has_a_text_in_both_languages():
    for locale in Locale:
        assert set(TEMPLATES[locale]) == set(TemplateKey), locale


@pytest.mark.parametrize("locale", list(Locale))
@pytest.mark.parametrize("key", list(TemplateKey))
def test_template_renders_complaint_number_and_link_in_the_readers_language(key, locale):
    out = render(key, locale, CONTEXT)
    assert out.subject and out.text
    assert "C-20260302-7F3K2Q" in out.subject + out.text
    link = CONTEXT["status_url"] if key in CUSTOMER_KEYS else CONTEXT["staff_url"]
    assert link in out.text
    for leftover in ("{{", "{%", "None", "Undefined", "[]"):
        assert leftover not in out.subject + out.text, (key, locale, leftover)
    if locale == Locale.ZH_CN:
        assert CJK.search(out.subject) and CJK.search(out.text)
    else:
        assert not CJK.search(out.subject + out.text), out.text


@pytest.mark.parametrize("locale", list(Locale))
def test_confirmation_lists_promised_times_in_shanghai_time_soonest_first(locale):
    out = render(TemplateKey.CONFIRMATION, locale, CONTEXT)
    first, resolution = out.text.index("2026-03-02 09:05"), out.text.index("2026-03-03 09:00")
    assert first < resolution
    assert ("首次响应" if locale == Locale.ZH_CN else "first response") in out.text
    assert ("北京时间" if locale == Locale.ZH_CN else "China Standard Time") in out.text


def test_times_follow_the_zone_named_in_the_context():
    out = render(TemplateKey.WARNING, Locale.EN, {**CONTEXT, "timezone": "Europe/London"})
    assert "2026-03-02 01:05" in out.text and "09:05" not in out.text


@pytest.mark.parametrize("locale", list(Locale))
def test_result_tells_cause_solution_and_compensation(locale):
    out = render(TemplateKey.RESULT, locale, CONTEXT)
    for part in ("Crushed in transport.", "A new item was shipped.", "¥1,200.00", "refund of shipping"):
        assert part in out.text


def test_result_without_compensation_says_nothing_of_it():
    context = {k: v for k, v in CONTEXT.items() if not k.startswith("compensation") and k != "note"}
    assert "Compensation" not in render(TemplateKey.RESULT, Locale.EN, context).text
    assert "补偿" not in render(TemplateKey.RESULT, Locale.ZH_CN, context).text


def test_staff_breach_names_the_obligation_and_who_it_went_to():
    zh = render(TemplateKey.BREACH, Locale.ZH_CN, CONTEXT)
    assert "首次响应" in zh.subject and "已升级至主管" in zh.text
    en = render(TemplateKey.BREACH, Locale.EN, CONTEXT)
    assert "first response" in en.subject and "Escalated to the supervisor" in en.text


def test_markdown_for_group_robots_has_a_heading_and_links():
    out = render(TemplateKey.PROGRESS_REPORT, Locale.ZH_CN, CONTEXT)
    assert out.markdown.startswith("### 【进度汇报】")
    assert f"[{CONTEXT['staff_url']}]({CONTEXT['staff_url']})" in out.markdown
    assert "处理中" in out.markdown  # the state, in words


def test_an_unknown_locale_falls_back_to_chinese():
    assert CJK.search(render(TemplateKey.CLOSED, "fr", CONTEXT).text)


def test_closed_says_cancelled_with_the_reason_or_thanks_for_the_rating():
    cancelled = render(TemplateKey.CLOSED, Locale.ZH_CN, {**CONTEXT, "reason": "客户撤诉", "cancelled": True})
    assert "已取消" in cancelled.subject and "原因：客户撤诉" in cancelled.text
    rated = render(TemplateKey.CLOSED, Locale.EN, {"complaint_id": "C-1", "rated": True})
    assert "Thank you for your rating" in rated.text
    expired = render(TemplateKey.CLOSED, Locale.EN, {"complaint_id": "C-1", "rated": False})
    assert "the rating period has ended" in expired.text


def test_duplicate_joined_names_the_complaint_it_joined():
    merged = render(
        TemplateKey.DUPLICATE_JOINED, Locale.EN, {"complaint_id": "C-2", "target_complaint_id": "C-1"}
    )
    assert "C-1" in merged.subject and "complaint C-2 concerns the same issue as complaint C-1" in merged.text
    again = render(TemplateKey.DUPLICATE_JOINED, Locale.ZH_CN, {"complaint_id": "C-1", "channel": "hotline"})
    assert "通过热线再次反馈" in again.text


def test_the_workflows_own_names_for_values_are_understood():
    """The complaint workflow sends `note`, `last_progress`, `breaches` and department `findings`."""
    result = render(
        TemplateKey.RESULT, Locale.EN, {"cause": "c", "solution": "s", "compensation": 50, "note": "voucher"}
    )
    assert "¥50.00 (voucher)" in result.text
    update = render(TemplateKey.CUSTOMER_UPDATE, Locale.ZH_CN, {"last_progress": "已联系仓库"})
    assert "已联系仓库" in update.text
    report = render(
        TemplateKey.PROGRESS_REPORT,
        Locale.ZH_CN,
        {
            "last_progress": "调查中",
            "breaches": 1,
            "findings": [
                {"department": "warehouse", "findings": "出库时完好", "responsible": False},
                {"department": "transport", "findings": None},
            ],
        },
    )
    assert "进展：调查中" in report.text and "已超时 1 次" in report.text
    assert "仓储部调查：出库时完好" in report.text and "运输部调查：尚未报告" in report.text


def test_department_report_warnings_name_the_department():
    context = {"obligation": "department_report", "department": "warehouse", "due_at": "2026-03-02T05:00:00Z"}
    assert "部门调查报告（仓储部）" in render(TemplateKey.WARNING, Locale.ZH_CN, context).text
    assert "department report (warehouse)" in render(TemplateKey.BREACH, Locale.EN, context).text


@pytest.mark.parametrize("key", sorted(CUSTOMER_KEYS))
def test_a_consultation_and_a_suggestion_are_never_called_a_complaint(key):
    for ctype, zh, en in (("consultation", "咨询", "question"), ("suggestion", "建议", "suggestion")):
        context = CONTEXT | {"complaint_type": ctype, "target_complaint_id": None, "reason": ""}
        out_zh = render(key, Locale.ZH_CN, context)
        out_en = render(key, Locale.EN, context)
        assert "投诉" not in out_zh.subject + out_zh.text, (ctype, out_zh)
        assert not re.search(r"\bcomplaint\b", (out_en.subject + out_en.text).lower()), (ctype, out_en)
        if key not in (TemplateKey.ANSWER,):
            assert zh in out_zh.subject + out_zh.text and en in (out_en.subject + out_en.text).lower()


def test_an_automatic_update_without_progress_says_where_it_stands_and_the_missed_promise():
    context = CONTEXT | {
        "message": None,
        "progress": None,
        "standing": "awaiting_findings",
        "pending_departments": ["warehouse"],
        "missed": "first_response",
        "missed_at": "2026-03-02T01:05:00Z",
        "holder_role": "supervisor",
        "next_promise": "resolution",
        "next_promise_at": "2026-03-03T01:00:00Z",
    }
    zh = render(TemplateKey.CUSTOMER_UPDATE, Locale.ZH_CN, context).text
    assert "全力处理" not in zh and "等待仓储部的核查结果" in zh
    assert "首次响应未能在承诺时间" in zh and "主管" in zh and "2026-03-03 09:00" in zh
    en = render(TemplateKey.CUSTOMER_UPDATE, Locale.EN, context).text
    assert "awaiting the findings of warehouse" in en and "first response was not done" in en
