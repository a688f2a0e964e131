"""What can happen in a complaint's life: the kinds of its timeline events (TimelineEvent.kind).

Events that change the state carry `data["state"]`; events about a clock carry `obligation`,
`data["obligation_status"]` and `data["occurrence"]`. The ledger keeps them all, the workflow's state the
newest few; the UI words each kind (`event.<kind>` in ui/i18n.py).
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    SUPERVISOR_ACKNOWLEDGED = "supervisor_acknowledged"
    CLASSIFIED = "classified"
    ANSWERED = "answered"
    ASSIGNED = "assigned"
    TRACKING_LINKED = "tracking_linked"
    TRACKING_FAILED = "tracking_failed"
    INVESTIGATION_STARTED = "investigation_started"
    DEPARTMENT_REPORT = "department_report"
    INVESTIGATION_COMPLETE = "investigation_complete"
    INVESTIGATION_OVERRIDDEN = "investigation_overridden"
    HANDLING_STARTED = "handling_started"
    PROGRESS = "progress"
    PLAN_PROPOSED = "plan_proposed"
    PLAN_APPROVED = "plan_approved"
    PLAN_REJECTED = "plan_rejected"
    WORK_DONE = "work_done"
    RESOLVED = "resolved"
    SURVEY_SENT = "survey_sent"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESUMED = "resumed"
    ESCALATED = "escalated"
    REASSIGNED = "reassigned"
    CANCELLED = "cancelled"
    MERGED = "merged"
    RATED = "rated"
    REOPENED = "reopened"
    CLOSED = "closed"
    DUPLICATE_REPORT = "duplicate_report"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    PROGRESS_REPORT = "progress_report"  # a periodic report, as its obligation's name
    CUSTOMER_UPDATE = "customer_update"  # likewise
    NOTIFICATION_FAILED = "notification_failed"
    STAFF_REPLY = "staff_reply"  # data: text, visibility "customer", notification (its idempotency key)
    NOTE = "note"  # data: text, visibility "internal"
    CUSTOMER_MESSAGE = "customer_message"  # data: text, visibility "customer", channel, attachments
    OBLIGATION_MET = "obligation_met"  # ledger only
    CALENDAR_CHANGED = "calendar_changed"  # admins changed a calendar's days: running clocks moved


# `data["visibility"]` of the conversation's written entries: shown to the customer, or to staff only.
VISIBLE_TO_CUSTOMER = "customer"
INTERNAL = "internal"

# Kinds that say what became of an obligation when the event's data does not (the ledger's outcome column).
OUTCOME_KINDS = {EventKind.SLA_WARNING: "warned", EventKind.SLA_BREACH: "breached"}
