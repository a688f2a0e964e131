"""Message texts for every `TemplateKey`, in zh-CN and en, chosen by the recipient's locale.

Times are shown in the recipient's zone (`context["timezone"]`, default Asia/Shanghai). Values come from
`Notification.context` (JSON-safe); the notifier adds `complaint_id`, `status_url`, `staff_url`, the
customer's name and, for escalations, the role it goes to. Context keys read (all optional; `a | b` means
either name):

customer
  confirmation: promised ({obligation: iso} or [{obligation, due_at}]), subject, order_number ·
  acknowledged: holder_name, message · customer_update: message | last_progress, next_update_at ·
  answer: answer · plan: plan, compensation, expected_at · result: cause, solution, compensation,
  compensation_note | note, rating_due_at · rating_request: rating_due_at · reopened: demand, holder_name,
  due_at · duplicate_joined: target_complaint_id, report_channel | channel · waiting_on_customer: reason ·
  closed: cancelled, reason (rated | no_rating | merged | free text) or rated, score
staff
  new_complaint: tier, category, channel, summary, due_at, order_number · assignment: departments,
  assignees, obligation, due_at, note · warning, breach: obligation, department, due_at, holder_name,
  escalated_to · escalation: escalated_to, level, obligation, department, due_at, reason, demand, score ·
  progress_report: state, summary | last_progress, next_due, next_due_at, breach_count | breaches,
  occurrence, findings ([{department, findings, responsible}]) · approval_needed: plan, compensation,
  proposed_by · customer_message: message, resumed, attachments · no_progress: since, next_due, next_due_at
customer (automatic updates) customer_update also: progress, standing, pending_departments, next_promise,
  next_promise_at, missed, missed_at, holder_role
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChainableUndefined
from jinja2.sandbox import SandboxedEnvironment

from domain.messages import TemplateKey
from domain.models import Locale

DEFAULT_TIMEZONE = "Asia/Shanghai"

# Words people read instead of enum values.
LABELS: dict[Locale, dict[str, str]] = {
    Locale.ZH_CN: {
        # obligations
        "first_response": "首次响应",
        "supervisor_ack": "主管确认",
        "direct_answer": "答复",
        "assignment": "分派部门",
        "preliminary_plan": "初步处理方案",
        "handling_start": "开始处理",
        "progress_report": "进度汇报",
        "customer_update": "进展通报",
        "result_feedback": "结果反馈",
        "resolution": "解决",
        "department_report": "部门调查报告",
        "rating": "满意度评价",
        # tiers
        "general": "一般",
        "important": "重要",
        "urgent": "紧急",
        # roles
        "specialist": "客服专员",
        "engineer": "技术支持工程师",
        "logistics": "物流",  # also the department
        "supervisor": "主管",
        "senior_supervisor": "资深主管",
        "department_head": "部门负责人",
        "admin": "管理员",
        # departments
        "customer_service": "客服部",
        "sales": "销售部",
        "rnd": "研发部",
        "warehouse": "仓储部",
        "transport": "运输部",
        "delivery": "配送部",
        "technical": "技术部",
        "finance": "财务部",
        # categories
        "lost": "货物丢失",
        "damaged": "货物破损",
        "delayed": "延误",
        "spoiled": "货物变质",
        "misdelivered": "错发/误投",
        "quality": "质量问题",
        "attitude": "服务态度",
        "invoice": "发票",
        "policy": "政策咨询",
        "other": "其他",
        # states
        "received": "已受理",
        "acknowledged": "已响应",
        "answered": "已答复",
        "assigned": "已分派",
        "in_progress": "处理中",
        "waiting_on_customer": "等待客户配合",
        "work_done": "处理完成",
        "resolved": "已解决",
        "awaiting_rating": "待评价",
        "closed": "已结案",
        "merged": "已合并",
        "cancelled": "已取消",
        # channels
        "web": "网站",
        "hotline": "热线",
        "email": "邮件",
        "social": "社交媒体",
        "app": "App",
        "ecommerce": "电商平台",
        "counter": "网点柜台",
        "api": "接口",
        # reasons the workflow gives as codes (a person's reason is free text and shown as written)
        "customer unsatisfied": "客户对处理结果不满意",
    },
    Locale.EN: {
        "first_response": "first response",
        "supervisor_ack": "supervisor acknowledgement",
        "direct_answer": "answer",
        "assignment": "assignment to a department",
        "preliminary_plan": "preliminary plan",
        "handling_start": "start of handling",
        "progress_report": "progress report",
        "customer_update": "progress update",
        "result_feedback": "result feedback",
        "resolution": "resolution",
        "department_report": "department report",
        "rating": "satisfaction rating",
        "general": "general",
        "important": "important",
        "urgent": "urgent",
        "specialist": "specialist",
        "engineer": "technical engineer",
        "logistics": "logistics",
        "supervisor": "supervisor",
        "senior_supervisor": "senior supervisor",
        "department_head": "department head",
        "admin": "administrator",
        "customer_service": "customer service",
        "sales": "sales",
        "rnd": "R&D",
        "warehouse": "warehouse",
        "transport": "transport",
        "delivery": "delivery",
        "technical": "technical support",
        "finance": "finance",
        "lost": "lost goods",
        "damaged": "damaged goods",
        "delayed": "delay",
        "spoiled": "spoiled goods",
        "misdelivered": "misdelivery",
        "quality": "quality problem",
        "attitude": "staff attitude",
        "invoice": "invoice",
        "policy": "policy question",
        "other": "other",
        "received": "received",
        "acknowledged": "acknowledged",
        "answered": "answered",
        "assigned": "assigned",
        "in_progress": "in progress",
        "waiting_on_customer": "waiting for the customer",
        "work_done": "work done",
        "resolved": "resolved",
        "awaiting_rating": "awaiting rating",
        "closed": "closed",
        "merged": "merged",
        "cancelled": "cancelled",
        "web": "web site",
        "hotline": "hotline",
        "email": "e-mail",
        "social": "social media",
        "app": "app",
        "ecommerce": "e-commerce platform",
        "counter": "branch counter",
        "api": "API",
        "customer unsatisfied": "the customer is not satisfied with the result",
    },
}

_ZONE_NAMES = {
    Locale.ZH_CN: {"Asia/Shanghai": "北京时间"},
    Locale.EN: {"Asia/Shanghai": "China Standard Time"},
}

# What the customer filed, in their words: every customer template says `noun` (a consultation is no complaint).
NOUNS: dict[Locale, dict[str, str]] = {
    Locale.ZH_CN: {"complaint": "投诉", "consultation": "咨询", "suggestion": "建议"},
    Locale.EN: {"complaint": "complaint", "consultation": "question", "suggestion": "suggestion"},
}

# (subject, body) per template and locale. Bodies are plain text, one statement per line; a line holding only
# a URL becomes a link in markdown.
_ZH: dict[TemplateKey, tuple[str, str]] = {
    TemplateKey.CONFIRMATION: (
        "您的{{ noun }}已受理（编号 {{ complaint_id }}）",
        """{{ customer_name or '客户' }}您好，您的{{ noun }}已受理，编号 {{ complaint_id }}。
{% if subject %}事由：{{ subject }}
{% endif %}{% if order_number %}订单/运单号：{{ order_number }}
{% endif %}{% for p in promised %}我们承诺在 {{ p.when }}前完成{{ p.label }}。
{% endfor %}您可随时查看处理进度：
{{ status_url }}""",
    ),
    TemplateKey.ACKNOWLEDGED: (
        "您的{{ noun }} {{ complaint_id }} 已有专人处理",
        """{{ customer_name or '客户' }}您好，{{ holder_name or '客服专员' }}已接手您的{{ noun }} {{ complaint_id }}。
{% if message %}{{ message }}
{% endif %}查看进度：
{{ status_url }}""",
    ),
    TemplateKey.CUSTOMER_UPDATE: (
        "{{ noun }} {{ complaint_id }} 处理进展",
        """{{ customer_name or '客户' }}您好，您的{{ noun }} {{ complaint_id }} 最新进展：
{% if message or progress %}{{ message or progress }}
{% elif standing == 'awaiting_findings' %}我们正在等待{{ labels(pending_departments) or '相关部门' }}的核查结果。
{% elif standing == 'plan_under_review' %}处理方案正在由主管审核，审核通过后会立即告知您。
{% elif standing == 'awaiting_review' %}客服专员正在核实您反映的情况。
{% elif standing == 'result_being_prepared' %}处理已完成，我们正在整理结果，稍后告知您。
{% elif standing == 'waiting_on_you' %}我们在等待您的回复，收到后立即继续处理。
{% elif standing %}{{ labels(departments) or '相关部门' }}正在处理。
{% else %}我们正在处理中。
{% endif %}{% if missed %}很抱歉，{{ label(missed) }}未能在承诺时间（{{ when(missed_at) }}）前完成，现由{{ label(holder_role) }}负责跟进。
{% endif %}{% if next_promise %}我们承诺在 {{ when(next_promise_at) }}前完成{{ label(next_promise) }}。
{% endif %}{% if next_update_at %}下次进展通报不晚于 {{ when(next_update_at) }}。
{% endif %}查看进度：
{{ status_url }}""",
    ),
    TemplateKey.ANSWER: (
        "关于您的咨询 {{ complaint_id }} 的答复",
        """{{ customer_name or '客户' }}您好，关于您的咨询 {{ complaint_id }}，答复如下：
{{ answer }}
如仍有疑问，请通过以下链接告诉我们：
{{ status_url }}""",
    ),
    TemplateKey.PLAN: (
        "{{ noun }} {{ complaint_id }} 的处理方案",
        """{{ customer_name or '客户' }}您好，针对您的{{ noun }} {{ complaint_id }}，我们的初步处理方案是：
{{ plan }}
{% if compensation %}拟补偿金额：{{ money(compensation) }}
{% endif %}{% if expected_at %}预计在 {{ when(expected_at) }}前处理完毕。
{% endif %}查看进度：
{{ status_url }}""",
    ),
    TemplateKey.RESULT: (
        "{{ noun }} {{ complaint_id }} 处理结果",
        """{{ customer_name or '客户' }}您好，您的{{ noun }} {{ complaint_id }} 已处理完毕。
原因：{{ cause }}
解决方案：{{ solution }}
{% if compensation %}补偿：{{ money(compensation) }}{% if compensation_note %}（{{ compensation_note }}）{% endif %}
{% elif compensation_note %}补偿：{{ compensation_note }}
{% endif %}请为本次处理评分（1–5 分）{% if rating_due_at %}，评价截止 {{ when(rating_due_at) }}{% endif %}：
{{ status_url }}""",
    ),
    TemplateKey.RATING_REQUEST: (
        "请评价{{ noun }} {{ complaint_id }} 的处理",
        """{{ customer_name or '客户' }}您好，您对{{ noun }} {{ complaint_id }} 的处理满意吗？请打 1–5 分{% if rating_due_at %}（{{ when(rating_due_at) }}前）{% endif %}，不满意请告诉我们您的诉求：
{{ status_url }}""",
    ),
    TemplateKey.REOPENED: (
        "{{ noun }} {{ complaint_id }} 已重新处理",
        """{{ customer_name or '客户' }}您好，很抱歉结果未能令您满意。您的{{ noun }} {{ complaint_id }} 已重新打开，由{{ holder_name or '资深主管' }}亲自跟进。
{% if demand %}您的诉求：{{ demand }}
{% endif %}{% if due_at %}我们将在 {{ when(due_at) }}前给您答复。
{% endif %}查看进度：
{{ status_url }}""",
    ),
    TemplateKey.DUPLICATE_JOINED: (
        "您的反馈已并入{{ noun }} {{ target_complaint_id or complaint_id }}",
        """{{ customer_name or '客户' }}您好，{% if target_complaint_id %}您的{{ noun }} {{ complaint_id }} 与{{ noun }} {{ target_complaint_id }} 是同一问题，已并入后者一并处理{% else %}您{% if report_channel %}通过{{ label(report_channel) }}{% endif %}再次反馈的问题已并入正在处理的{{ noun }} {{ complaint_id }}{% endif %}，无需重复反馈。
查看进度：
{{ status_url }}""",
    ),
    TemplateKey.WAITING_ON_CUSTOMER: (
        "{{ noun }} {{ complaint_id }} 需要您的配合",
        """{{ customer_name or '客户' }}您好，处理您的{{ noun }} {{ complaint_id }} 需要您的配合：
{{ reason }}
收到您的回复后我们将立即继续处理：
{{ status_url }}""",
    ),
    TemplateKey.CLOSED: (
        "{{ noun }} {{ complaint_id }} 已{{ '取消' if cancelled else '结案' }}",
        """{{ customer_name or '客户' }}您好，您的{{ noun }} {{ complaint_id }} {% if cancelled %}已取消{% if reason %}，原因：{{ reason }}{% endif %}{% else %}已结案{% if reason == 'rated' %}，感谢您的评价{% if score %}（{{ score }} 分）{% endif %}{% elif reason == 'no_rating' %}（评价期已过）{% elif reason == 'merged' %}，已并入其他{{ noun }}一并处理{% elif reason %}：{{ reason }}{% endif %}{% endif %}。
感谢您的耐心与支持。
{{ status_url }}""",
    ),
    TemplateKey.STAFF_REPLY: (
        "关于您的{{ noun }} {{ complaint_id }} 的回复",
        """{{ customer_name or '客户' }}您好，{% if holder_name %}{{ holder_name }}{% else %}客服专员{% endif %}回复您：
{{ message }}
如需补充信息或照片，请在此回复：
{{ status_url }}""",
    ),
    TemplateKey.NEW_COMPLAINT: (
        "【{{ label(tier) }}】新投诉 {{ complaint_id }}",
        """新{{ label(tier) }}投诉 {{ complaint_id }}{% if category %}（{{ label(category) }}{% if channel %}，来自{{ label(channel) }}{% endif %}）{% endif %}
{% if order_number %}订单/运单号：{{ order_number }}
{% endif %}{% if summary %}内容：{{ summary }}
{% endif %}{% if due_at %}请在 {{ when(due_at) }}前确认{% if tier == 'urgent' %}并组建应急小组{% endif %}。
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.ASSIGNMENT: (
        "投诉 {{ complaint_id }} 已分派给您",
        """投诉 {{ complaint_id }}{% if tier %}（{{ label(tier) }}）{% endif %}已分派{% if departments %}给{{ labels(departments) }}{% endif %}{% if assignees %}，处理人：{{ assignees | join('、') }}{% endif %}。
{% if obligation and due_at %}请在 {{ when(due_at) }}前完成{{ label(obligation) }}。
{% endif %}{% if note %}备注：{{ note }}
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.WARNING: (
        "【即将超时】投诉 {{ complaint_id }} {{ label(obligation) }}",
        """投诉 {{ complaint_id }} 的{{ label(obligation) }}{% if department %}（{{ label(department) }}）{% endif %}将于 {{ when(due_at) }}到期{% if holder_name %}，当前处理人：{{ holder_name }}{% endif %}。请尽快处理。
{{ staff_url }}""",
    ),
    TemplateKey.BREACH: (
        "【已超时】投诉 {{ complaint_id }} {{ label(obligation) }}",
        """投诉 {{ complaint_id }} 的{{ label(obligation) }}{% if department %}（{{ label(department) }}）{% endif %}已超时（期限 {{ when(due_at) }}）{% if holder_name %}，当前处理人：{{ holder_name }}{% endif %}。
{% if escalated_to %}已升级至{{ label(escalated_to) }}。
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.ESCALATION: (
        "【升级】投诉 {{ complaint_id }} 已升级至{{ label(escalated_to) }}",
        """投诉 {{ complaint_id }}{% if tier %}（{{ label(tier) }}）{% endif %}已升级至{{ label(escalated_to) }}{% if level %}（第 {{ level }} 级）{% endif %}，请您接手。
{% if obligation %}相关时限：{{ label(obligation) }}{% if department %}（{{ label(department) }}）{% endif %}{% if due_at %}，期限 {{ when(due_at) }}{% endif %}
{% endif %}{% if reason %}原因：{{ label(reason) }}
{% endif %}{% if demand %}客户诉求：{{ demand }}{% if score %}（评分 {{ score }}）{% endif %}
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.PROGRESS_REPORT: (
        "【进度汇报】投诉 {{ complaint_id }}",
        """投诉 {{ complaint_id }}{% if tier %}（{{ label(tier) }}）{% endif %}进度汇报{% if occurrence %}（第 {{ occurrence }} 次）{% endif %}：
{% if state %}当前状态：{{ label(state) }}
{% endif %}{% if summary %}进展：{{ summary }}
{% endif %}{% for f in findings %}{{ label(f.department) }}调查：{{ f.findings or '尚未报告' }}{% if f.responsible %}（责任方）{% endif %}
{% endfor %}{% if next_due %}下一时限：{{ label(next_due) }}，{{ when(next_due_at) }}
{% endif %}{% if breach_count %}已超时 {{ breach_count }} 次
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.APPROVAL_NEEDED: (
        "【待审批】投诉 {{ complaint_id }} 的处理方案",
        """投诉 {{ complaint_id }} 的处理方案待您审批{% if proposed_by %}（提出人：{{ proposed_by }}）{% endif %}：
{{ plan }}
{% if compensation %}补偿金额：{{ money(compensation) }}
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.NO_PROGRESS: (
        "【无人处理】投诉 {{ complaint_id }}",
        """投诉 {{ complaint_id }}{% if tier %}（{{ label(tier) }}）{% endif %}自 {{ when(since) }} 以来无人处理，系统已自动向客户通报当前状态。请尽快跟进{% if next_due %}：{{ label(next_due) }}将于 {{ when(next_due_at) }}到期{% endif %}。
{{ staff_url }}""",
    ),
    TemplateKey.CUSTOMER_MESSAGE: (
        "【客户回复】投诉 {{ complaint_id }}",
        """客户对投诉 {{ complaint_id }} 有新的回复{% if attachments %}（附件 {{ attachments }} 个）{% endif %}：
{{ message }}
{% if resumed %}投诉原在等待客户配合，时限已恢复计时。
{% endif %}{{ staff_url }}""",
    ),
}

_EN: dict[TemplateKey, tuple[str, str]] = {
    TemplateKey.CONFIRMATION: (
        "We have received your {{ noun }} {{ complaint_id }}",
        """Dear {{ customer_name or 'customer' }}, we have received your {{ noun }}. Its number is {{ complaint_id }}.
{% if subject %}Subject: {{ subject }}
{% endif %}{% if order_number %}Order / waybill: {{ order_number }}
{% endif %}{% for p in promised %}We promise the {{ p.label }} by {{ p.when }}.
{% endfor %}Follow its progress at any time:
{{ status_url }}""",
    ),
    TemplateKey.ACKNOWLEDGED: (
        "Your {{ noun }} {{ complaint_id }} is being handled",
        """Dear {{ customer_name or 'customer' }}, {{ holder_name or 'a specialist' }} has taken charge of your {{ noun }} {{ complaint_id }}.
{% if message %}{{ message }}
{% endif %}Progress:
{{ status_url }}""",
    ),
    TemplateKey.CUSTOMER_UPDATE: (
        "Progress on your {{ noun }} {{ complaint_id }}",
        """Dear {{ customer_name or 'customer' }}, here is the latest on your {{ noun }} {{ complaint_id }}:
{% if message or progress %}{{ message or progress }}
{% elif standing == 'awaiting_findings' %}We are awaiting the findings of {{ labels(pending_departments) or 'the departments involved' }}.
{% elif standing == 'plan_under_review' %}A supervisor is reviewing our plan; you will hear as soon as it is approved.
{% elif standing == 'awaiting_review' %}A specialist is checking what you reported.
{% elif standing == 'result_being_prepared' %}The work is done; we are preparing the result for you.
{% elif standing == 'waiting_on_you' %}We are waiting for your answer and will go on as soon as we have it.
{% elif standing %}{{ labels(departments) or 'The departments involved' }}: handling it now.
{% else %}We are handling it.
{% endif %}{% if missed %}We are sorry: the {{ label(missed) }} was not done by the promised time ({{ when(missed_at) }}); the {{ label(holder_role) }} now follows it up.
{% endif %}{% if next_promise %}We promise the {{ label(next_promise) }} by {{ when(next_promise_at) }}.
{% endif %}{% if next_update_at %}You will hear from us again by {{ when(next_update_at) }}.
{% endif %}Progress:
{{ status_url }}""",
    ),
    TemplateKey.ANSWER: (
        "Our answer to your enquiry {{ complaint_id }}",
        """Dear {{ customer_name or 'customer' }}, here is our answer to your enquiry {{ complaint_id }}:
{{ answer }}
If anything is still unclear, tell us here:
{{ status_url }}""",
    ),
    TemplateKey.PLAN: (
        "Our plan for your {{ noun }} {{ complaint_id }}",
        """Dear {{ customer_name or 'customer' }}, this is our preliminary plan for your {{ noun }} {{ complaint_id }}:
{{ plan }}
{% if compensation %}Proposed compensation: {{ money(compensation) }}
{% endif %}{% if expected_at %}We expect to finish by {{ when(expected_at) }}.
{% endif %}Progress:
{{ status_url }}""",
    ),
    TemplateKey.RESULT: (
        "The result of your {{ noun }} {{ complaint_id }}",
        """Dear {{ customer_name or 'customer' }}, we have finished handling your {{ noun }} {{ complaint_id }}.
Cause: {{ cause }}
Solution: {{ solution }}
{% if compensation %}Compensation: {{ money(compensation) }}{% if compensation_note %} ({{ compensation_note }}){% endif %}
{% elif compensation_note %}Compensation: {{ compensation_note }}
{% endif %}Please rate how we handled it (1–5){% if rating_due_at %} by {{ when(rating_due_at) }}{% endif %}:
{{ status_url }}""",
    ),
    TemplateKey.RATING_REQUEST: (
        "How did we do with your {{ noun }} {{ complaint_id }}?",
        """Dear {{ customer_name or 'customer' }}, are you satisfied with how we handled your {{ noun }} {{ complaint_id }}? Please rate it from 1 to 5{% if rating_due_at %} by {{ when(rating_due_at) }}{% endif %}, and tell us what you still need if you are not:
{{ status_url }}""",
    ),
    TemplateKey.REOPENED: (
        "Your {{ noun }} {{ complaint_id }} has been reopened",
        """Dear {{ customer_name or 'customer' }}, we are sorry the result did not satisfy you. Your {{ noun }} {{ complaint_id }} is open again and {{ holder_name or 'a senior supervisor' }} now handles it personally.
{% if demand %}Your request: {{ demand }}
{% endif %}{% if due_at %}You will have our answer by {{ when(due_at) }}.
{% endif %}Progress:
{{ status_url }}""",
    ),
    TemplateKey.DUPLICATE_JOINED: (
        "Your report was added to {{ noun }} {{ target_complaint_id or complaint_id }}",
        """Dear {{ customer_name or 'customer' }}, {% if target_complaint_id %}your {{ noun }} {{ complaint_id }} concerns the same issue as {{ noun }} {{ target_complaint_id }} and is now handled together with it{% else %}the issue you reported again{% if report_channel %} via {{ label(report_channel) }}{% endif %} has been added to your open {{ noun }} {{ complaint_id }}{% endif %}. There is no need to file it twice.
Progress:
{{ status_url }}""",
    ),
    TemplateKey.WAITING_ON_CUSTOMER: (
        "We need your help with your {{ noun }} {{ complaint_id }}",
        """Dear {{ customer_name or 'customer' }}, to go on with your {{ noun }} {{ complaint_id }} we need the following from you:
{{ reason }}
We continue as soon as we hear from you:
{{ status_url }}""",
    ),
    TemplateKey.CLOSED: (
        "Your {{ noun }} {{ complaint_id }} is {{ 'cancelled' if cancelled else 'closed' }}",
        """Dear {{ customer_name or 'customer' }}, your {{ noun }} {{ complaint_id }} {% if cancelled %}is cancelled{% if reason %}: {{ reason }}{% endif %}{% else %}is closed{% if reason == 'rated' %}. Thank you for your rating{% if score %} of {{ score }}{% endif %}{% elif reason == 'no_rating' %} (the rating period has ended){% elif reason == 'merged' %}; it is handled together with another {{ noun }}{% elif reason %}: {{ reason }}{% endif %}{% endif %}.
Thank you for your patience.
{{ status_url }}""",
    ),
    TemplateKey.STAFF_REPLY: (
        "A reply about your {{ noun }} {{ complaint_id }}",
        """Dear {{ customer_name or 'customer' }}, {{ holder_name or 'our specialist' }} writes:
{{ message }}
To add information or photos, answer here:
{{ status_url }}""",
    ),
    TemplateKey.NEW_COMPLAINT: (
        "[{{ label(tier) | upper }}] New complaint {{ complaint_id }}",
        """New {{ label(tier) }} complaint {{ complaint_id }}{% if category %} ({{ label(category) }}{% if channel %}, via {{ label(channel) }}{% endif %}){% endif %}
{% if order_number %}Order / waybill: {{ order_number }}
{% endif %}{% if summary %}Report: {{ summary }}
{% endif %}{% if due_at %}Acknowledge by {{ when(due_at) }}{% if tier == 'urgent' %} and form the emergency team{% endif %}.
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.ASSIGNMENT: (
        "Complaint {{ complaint_id }} assigned to you",
        """Complaint {{ complaint_id }}{% if tier %} ({{ label(tier) }}){% endif %} is assigned{% if departments %} to {{ labels(departments) }}{% endif %}{% if assignees %}, handled by {{ assignees | join(', ') }}{% endif %}.
{% if obligation and due_at %}The {{ label(obligation) }} is due by {{ when(due_at) }}.
{% endif %}{% if note %}Note: {{ note }}
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.WARNING: (
        "[DUE SOON] Complaint {{ complaint_id }}: {{ label(obligation) }}",
        """The {{ label(obligation) }}{% if department %} ({{ label(department) }}){% endif %} of complaint {{ complaint_id }} is due at {{ when(due_at) }}{% if holder_name %}; held by {{ holder_name }}{% endif %}. Please act now.
{{ staff_url }}""",
    ),
    TemplateKey.BREACH: (
        "[OVERDUE] Complaint {{ complaint_id }}: {{ label(obligation) }}",
        """The {{ label(obligation) }}{% if department %} ({{ label(department) }}){% endif %} of complaint {{ complaint_id }} is overdue (it was due at {{ when(due_at) }}){% if holder_name %}; held by {{ holder_name }}{% endif %}.
{% if escalated_to %}Escalated to the {{ label(escalated_to) }}.
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.ESCALATION: (
        "[ESCALATED] Complaint {{ complaint_id }} to the {{ label(escalated_to) }}",
        """Complaint {{ complaint_id }}{% if tier %} ({{ label(tier) }}){% endif %} is escalated to the {{ label(escalated_to) }}{% if level %} (level {{ level }}){% endif %}; please take it over.
{% if obligation %}Deadline concerned: {{ label(obligation) }}{% if department %} ({{ label(department) }}){% endif %}{% if due_at %}, due at {{ when(due_at) }}{% endif %}
{% endif %}{% if reason %}Reason: {{ label(reason) }}
{% endif %}{% if demand %}The customer asks for: {{ demand }}{% if score %} (rated {{ score }}){% endif %}
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.PROGRESS_REPORT: (
        "[PROGRESS] Complaint {{ complaint_id }}",
        """Progress report{% if occurrence %} #{{ occurrence }}{% endif %} on complaint {{ complaint_id }}{% if tier %} ({{ label(tier) }}){% endif %}:
{% if state %}State: {{ label(state) }}
{% endif %}{% if summary %}Progress: {{ summary }}
{% endif %}{% for f in findings %}{{ label(f.department) | capitalize }} findings: {{ f.findings or 'not reported yet' }}{% if f.responsible %} (responsible){% endif %}
{% endfor %}{% if next_due %}Next deadline: {{ label(next_due) }}, {{ when(next_due_at) }}
{% endif %}{% if breach_count %}Deadlines missed so far: {{ breach_count }}
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.APPROVAL_NEEDED: (
        "[APPROVAL] Plan for complaint {{ complaint_id }}",
        """The plan for complaint {{ complaint_id }} awaits your approval{% if proposed_by %} (proposed by {{ proposed_by }}){% endif %}:
{{ plan }}
{% if compensation %}Compensation: {{ money(compensation) }}
{% endif %}{{ staff_url }}""",
    ),
    TemplateKey.NO_PROGRESS: (
        "[NO PROGRESS] Complaint {{ complaint_id }}",
        """Nobody has worked on complaint {{ complaint_id }}{% if tier %} ({{ label(tier) }}){% endif %} since {{ when(since) }}; the system told the customer where it stands. Please follow it up{% if next_due %}: the {{ label(next_due) }} is due at {{ when(next_due_at) }}{% endif %}.
{{ staff_url }}""",
    ),
    TemplateKey.CUSTOMER_MESSAGE: (
        "[CUSTOMER REPLY] Complaint {{ complaint_id }}",
        """The customer wrote on complaint {{ complaint_id }}{% if attachments %} ({{ attachments }} attachment(s)){% endif %}:
{{ message }}
{% if resumed %}It was waiting on the customer: its clocks run again.
{% endif %}{{ staff_url }}""",
    ),
}

TEMPLATES: dict[Locale, dict[TemplateKey, tuple[str, str]]] = {Locale.ZH_CN: _ZH, Locale.EN: _EN}

_env = SandboxedEnvironment(autoescape=False, undefined=ChainableUndefined, keep_trailing_newline=False)
_compiled = {
    (locale, key): (_env.from_string(subject), _env.from_string(body))
    for locale, table in TEMPLATES.items()
    for key, (subject, body) in table.items()
}
_URL_LINE = re.compile(r"^https?://\S+$")

# Other names the workflow uses for the same values, per template: (alias, canonical).
_ALIASES: dict[TemplateKey, tuple[tuple[str, str], ...]] = {
    TemplateKey.RESULT: (("note", "compensation_note"),),
    TemplateKey.CUSTOMER_UPDATE: (("last_progress", "message"),),
    TemplateKey.PROGRESS_REPORT: (("last_progress", "summary"), ("breaches", "breach_count")),
    TemplateKey.DUPLICATE_JOINED: (("channel", "report_channel"),),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str  # plain text: e-mail body, SMS, push body

    @property
    def markdown(self) -> str:
        """For WeCom / DingTalk group robots: a heading, one paragraph per line, URLs as links."""
        lines = [
            f"[{ln}]({ln})" if _URL_LINE.match(ln) else ln for ln in self.text.splitlines() if ln.strip()
        ]
        return f"### {self.subject}\n\n" + "\n\n".join(lines)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_time(value: Any, locale: Locale, zone: str = DEFAULT_TIMEZONE) -> str:
    """`2026-03-02 09:05（北京时间）` — the moment in the reader's zone, with the zone named."""
    moment = _parse_time(value)
    if moment is None:
        return str(value or "")
    local = moment.astimezone(ZoneInfo(zone))
    zone_name = _ZONE_NAMES[locale].get(zone) or local.strftime("%Z") or zone
    if locale == Locale.ZH_CN:
        return f"{local:%Y-%m-%d %H:%M}（{zone_name}）"
    return f"{local:%Y-%m-%d %H:%M} ({zone_name})"


def _promised(value: Any, locale: Locale, zone: str) -> list[dict[str, str]]:
    """The confirmation's promised times, given as {obligation: time} or [{obligation, due_at}], soonest first."""
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, list):
        items = [(p.get("obligation"), p.get("due_at")) for p in value if isinstance(p, Mapping)]
    else:
        return []
    items = [(name, _parse_time(due)) for name, due in items if name]
    items.sort(key=lambda item: item[1] or datetime.max.replace(tzinfo=UTC))
    return [
        {"label": LABELS[locale].get(str(name), str(name)), "when": format_time(due, locale, zone)}
        for name, due in items
        if due is not None
    ]


def render(key: TemplateKey, locale: Locale | str, context: Mapping[str, Any]) -> Rendered:
    locale = Locale(locale) if str(locale) in {lc.value for lc in Locale} else Locale.ZH_CN
    zone = str(context.get("timezone") or DEFAULT_TIMEZONE)
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        zone = DEFAULT_TIMEZONE
    labels = LABELS[locale]
    separator = "、" if locale == Locale.ZH_CN else ", "
    helpers = {
        "when": lambda v: format_time(v, locale, zone),
        "label": lambda v: labels.get(str(v), str(v)) if v else "",
        "labels": lambda vs: separator.join(labels.get(str(v), str(v)) for v in (vs or [])),
        "money": lambda v: f"¥{float(v):,.2f}" if isinstance(v, int | float) else str(v),
    }
    key = TemplateKey(key)
    noun = NOUNS[locale].get(str(context.get("complaint_type") or ""), NOUNS[locale]["complaint"])
    variables = {
        **context,
        **helpers,
        "noun": noun,
        "promised": _promised(context.get("promised"), locale, zone),
    }
    for alias, canonical in _ALIASES.get(key, ()):
        if not variables.get(canonical) and variables.get(alias):
            variables[canonical] = variables[alias]
    if key == TemplateKey.CLOSED and "rated" in variables and not variables.get("reason"):
        variables["reason"] = "rated" if variables["rated"] else "no_rating"
    if not isinstance(variables.get("findings"), list):
        variables["findings"] = []
    subject_t, body_t = _compiled[(locale, key)]
    subject = " ".join(subject_t.render(variables).split())
    body = "\n".join(line.rstrip() for line in body_t.render(variables).strip().splitlines())
    return Rendered(subject=subject, text=body)


# A group robot's digest: what queued for it while it was at its message limit, as one message.
_DIGEST = {
    Locale.ZH_CN: (
        "{n} 条提醒",
        "群机器人每分钟最多发送 {limit} 条消息，以下提醒合并为一条发送：",
        "另有 {more} 条，请在工作台查看：[{url}]({url})",
    ),
    Locale.EN: (
        "{n} alerts",
        "The group robot takes at most {limit} messages a minute, so these alerts come as one message:",
        "{more} more, in the desk: [{url}]({url})",
    ),
}


def render_digest(
    locale: Locale | str,
    items: list[tuple[str, str]],
    *,
    limit: int,
    desk_url: str,
    max_bytes: int,
) -> tuple[str, str]:
    """(subject, markdown) listing `items` (subject, link) in order, as many as fit in `max_bytes`; the rest
    are counted, with a link to the desk. The first item is always listed."""
    locale = Locale(locale) if str(locale) in {lc.value for lc in Locale} else Locale.ZH_CN
    title_t, intro_t, more_t = _DIGEST[locale]
    subject = title_t.format(n=len(items))
    head = f"### {subject}\n\n{intro_t.format(limit=limit)}\n"
    tail_room = len(more_t.format(more=len(items), url=desk_url).encode()) + 2
    lines: list[str] = []
    size = len(head.encode())
    for i, (title, link) in enumerate(items):
        line = f"- [{title}]({link})" if link else f"- {title}"
        cost = len(line.encode()) + 1
        if lines and size + cost + (tail_room if i < len(items) - 1 else 0) > max_bytes:
            break
        lines.append(line)
        size += cost
    body = head + "\n".join(lines)
    if len(lines) < len(items):
        body += "\n\n" + more_t.format(more=len(items) - len(lines), url=desk_url)
    return subject, body
