"""Keyword classification (docs/rules.md "Tiers", B §2.1): proposes category, type, tier, departments.
Each test is named for the rule it checks."""

from __future__ import annotations

import pytest

from domain.classify import CATEGORY_RULES, ESCALATORS, classify
from domain.models import Category, ComplaintType, Department, Tier


@pytest.mark.parametrize(
    "text",
    [
        "生鲜水果在运输途中腐烂变质",
        "冷链配送的海鲜到了已经发臭了",
        "买的牛奶到货时已经变质",
        "The fresh seafood arrived rotten",
        "Perishable goods spoiled in transit",
        "蛋糕送到时已经融化变形，明天就要用",
    ],
)
def test_spoiled_fresh_goods_are_urgent_never_general(text):
    c = classify(text)
    assert c.tier == Tier.URGENT, (text, c)
    assert c.complaint_type == ComplaintType.COMPLAINT


@pytest.mark.parametrize(
    "text",
    [
        "保价的笔记本电脑丢失了",
        "贵重首饰包裹丢件",
        "My insured high-value watch shipment is lost",
        "包裹里的黄金手镯不见了",
    ],
)
def test_high_value_goods_lost_are_urgent(text):
    c = classify(text)
    assert c.category == Category.LOST
    assert c.tier == Tier.URGENT, (text, c)


def test_spoiled_even_when_the_caller_chose_another_category_is_urgent():
    # an intake system said "delayed"; the text says fresh goods went bad: the safe side wins
    c = classify("生鲜延误两天，水果都坏了", category=Category.DELAYED)
    assert c.category == Category.DELAYED
    assert c.tier == Tier.URGENT


def test_lost_goods_open_a_joint_investigation_of_warehouse_transport_and_delivery():
    c = classify("包裹丢失")
    assert {Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY} <= set(c.departments)
    assert c.tier == Tier.IMPORTANT


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("快递延误三天", Category.DELAYED),
        ("The parcel is delayed", Category.DELAYED),
        ("快递员态度恶劣", Category.ATTITUDE),
        ("staff were rude to me", Category.ATTITUDE),
    ],
)
def test_ordinary_delay_and_staff_attitude_are_important(text, category):
    c = classify(text)
    assert (c.category, c.tier) == (category, Tier.IMPORTANT)


@pytest.mark.parametrize(
    "text",
    ["请问怎么开发票？", "How do I get an invoice?", "你们的退货政策是什么？", "What is your return policy?"],
)
def test_invoice_and_policy_questions_are_general_consultations(text):
    c = classify(text)
    assert c.tier == Tier.GENERAL
    assert c.complaint_type == ComplaintType.CONSULTATION


def test_a_reported_problem_phrased_as_a_question_is_still_a_complaint():
    c = classify("请问我的包裹破损了怎么办？")
    assert c.complaint_type == ComplaintType.COMPLAINT and c.category == Category.DAMAGED


def test_suggestions_are_general_suggestions():
    c = classify("建议你们改进包装，增加防震泡沫")
    assert (c.complaint_type, c.tier) == (ComplaintType.SUGGESTION, Tier.GENERAL)


def test_serious_quality_failure_and_major_event_at_risk_are_urgent():
    assert classify("充电器使用时冒烟起火").tier == Tier.URGENT
    assert classify("质量有问题，影响明天的婚礼").tier == Tier.URGENT
    assert classify("defective machine stopped our production line").tier == Tier.URGENT


def test_courier_attitude_also_goes_to_delivery():
    assert Department.DELIVERY in classify("快递员态度很差").departments
    assert Department.DELIVERY not in classify("客服态度很差").departments


def test_english_keywords_match_whole_words_only():
    assert classify("Please update the template for our invoices").category == Category.INVOICE  # not "late"
    assert classify("Our shipment is late").category == Category.DELAYED


def test_full_width_input_is_understood():
    assert classify("ＬＯＳＴ　ｐａｒｃｅｌ").category == Category.LOST


def test_every_rule_is_data_with_keywords_in_both_languages():
    for rule in CATEGORY_RULES:
        assert any(not k.isascii() for k in rule.keywords), rule.category
        assert any(k.isascii() for k in rule.keywords), rule.category
    for esc in ESCALATORS:
        assert any(not k.isascii() for k in esc.keywords) and any(k.isascii() for k in esc.keywords)


def test_reasons_name_the_matched_words_for_the_person_who_confirms():
    c = classify("保价包裹丢失")
    assert any("丢失" in r for r in c.reasons) and any("保价" in r for r in c.reasons)


def test_a_phone_number_mentioned_in_a_loss_does_not_make_it_high_value():
    assert classify("包裹丢了，我的手机号是13800000000").tier == Tier.IMPORTANT
