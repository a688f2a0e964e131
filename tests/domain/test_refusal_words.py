"""Every refusal reads as a sentence in zh-CN and in English (ui/refusal_words.py): no code, no
parameter name and no validation dump reaches a person."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from domain import actions as a
from domain.models import Actor, Role
from domain.refusals import (
    REASON_DEMAND_BELOW,
    REASON_NOT_INVESTIGATED,
    REASON_NOT_STAFF,
    REASON_SELF_MERGE,
    RefusalCode,
    field_refusal,
    refusal,
)
from ui.refusal_words import refusal_text

C = RefusalCode
SAMPLES = [
    refusal(C.FINISHED, action="resolve", state="closed"),
    refusal(C.WRONG_ROLE, action="approve", role="specialist", allowed_roles=["supervisor", "admin"]),
    refusal(
        C.WRONG_STATE,
        action="resolve",
        state="waiting_on_customer",
        allowed_states=["assigned"],
        hint="resume_first",
    ),
    refusal(
        C.WRONG_STATE,
        action="start_handling",
        state="received",
        allowed_states=["assigned"],
        hint="assign_first",
    ),
    refusal(C.WRONG_STATE, action="classify", state="closed", allowed_states=["received"], hint="has_result"),
    refusal(
        C.WRONG_STATE,
        action="answer_directly",
        state="assigned",
        allowed_states=["received"],
        hint="before_assignment",
    ),
    refusal(C.WRONG_STATE, action="rate", state="received", allowed_states=["answered"], hint="after_result"),
    refusal(
        C.NOT_YOURS,
        action="wait_on_customer",
        holder="zhang",
        holder_role="specialist",
        allowed_roles=["supervisor"],
    ),
    refusal(C.NOT_YOURS, action="escalate", holder_role="specialist", allowed_roles=["supervisor"]),
    refusal(C.ALREADY_DONE, what="acknowledged"),
    refusal(C.ALREADY_DONE, what="plan_approved", by="zhao"),
    refusal(C.ALREADY_DONE, what="plan_rejected", by="zhao"),
    refusal(C.ALREADY_DONE, what="department_report", department="warehouse"),
    refusal(C.NOTHING_TO_DO, what="plan"),
    refusal(C.NOTHING_TO_DO, what="investigation"),
    refusal(C.NOT_APPLICABLE, action="answer_directly", tier="urgent", complaint_type="complaint"),
    refusal(C.INVESTIGATION_PENDING, action="resolve", departments=["delivery"]),
    refusal(C.NEEDS_APPROVAL, compensation=300.0),
    refusal(C.TOP_OF_LADDER, role="senior_supervisor"),
    refusal(C.FIELD, name="target_complaint_id", reason=REASON_SELF_MERGE),
    refusal(C.FIELD, name="holder_role", reason=REASON_NOT_STAFF, role="customer"),
    refusal(C.FIELD, name="demand", reason=REASON_DEMAND_BELOW, score=4),
    refusal(
        C.FIELD, name="department", reason=REASON_NOT_INVESTIGATED, department="rnd", departments=["sales"]
    ),
]
LATIN_WORD = re.compile(r"[A-Za-z_]{3,}")


def test_every_code_has_a_sample():
    assert {r.code for r in SAMPLES} == set(RefusalCode)


@pytest.mark.parametrize("r", SAMPLES, ids=lambda r: r.summary()[:60])
def test_a_refusal_reads_in_chinese_without_english_words(r):
    text = refusal_text(r, "zh-CN")
    assert "refusal." not in text and "{" not in text
    assert not LATIN_WORD.findall(text.replace("zhang", "").replace("zhao", "")), text


@pytest.mark.parametrize("r", SAMPLES, ids=lambda r: r.summary()[:60])
def test_a_refusal_reads_in_english_without_codes(r):
    text = refusal_text(r, "en")
    assert "refusal." not in text and "{" not in text and "_" not in text, text


def test_a_payload_field_error_becomes_a_field_refusal_in_words():
    with pytest.raises(ValidationError) as info:
        a.PostProgress(actor=Actor(id="x", role=Role.SPECIALIST))  # message missing
    r = field_refusal(info.value)
    assert (r.code, r.params) == (C.FIELD, {"name": "message", "reason": "missing"})
    assert refusal_text(r, "zh-CN") == "字段“给客户的话”：必填"
    assert refusal_text(r, "en") == "Field “Message to the customer”: required"
