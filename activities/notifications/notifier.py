"""The `notify` activity: render, route, and deliver once per channel through the outbox.

Outcomes the workflow sees:
- every delivery settled → `NotificationResult` (channels delivered, channels that refused for good);
- a customer who cannot be reached on any configured channel → `rejected=["unreachable"]`, so a person
  calls them back;
- any delivery failed transiently → `ApplicationError` (retryable): Temporal retries with backoff and the
  outbox sends only what is still missing.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications.channels import Channel, OutgoingMessage, TransientFailure
from activities.notifications.outbox import DeliveryStatus, Outbox, Planned
from activities.notifications.robot_relay import RobotRelay
from activities.notifications.routing import ROBOTS, CustomerContact, Delivery, RoutingConfig, deliveries_for
from activities.notifications.templates import DEFAULT_TIMEZONE, Rendered, render
from domain.messages import ACTIVITY_NOTIFY, Audience, Notification, NotificationResult, TemplateKey
from ledger import reads

log = structlog.get_logger()

UNREACHABLE = "unreachable"
CUSTOMER_FACTS = ("customer", "channel", "status_token")  # what a customer message needs of the complaint


class Notifier:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: dict[str, Channel],
        routing: RoutingConfig | None = None,
        *,
        public_base_url: str = "http://127.0.0.1:8000",
        timezone: str = DEFAULT_TIMEZONE,
        relay: RobotRelay | None = None,
    ) -> None:
        self.pool = pool
        self.outbox = Outbox(pool)
        self.channels = channels
        self.routing = routing or RoutingConfig()
        self.public_base_url = public_base_url.rstrip("/")
        self.timezone = timezone
        # With a relay, robot deliveries are reserved here and sent by it (paced, digested); without, here.
        self.relay = relay

    @activity.defn(name=ACTIVITY_NOTIFY)
    async def notify(self, n: Notification) -> NotificationResult:
        # What the notification does not carry (the tier; a customer's contact and status link) is the
        # ledger's. A confirmation carries all of it, and is sent before the ledger has the complaint.
        needs_facts = "tier" not in n.context or (
            n.audience == Audience.CUSTOMER and not all(n.context.get(k) for k in CUSTOMER_FACTS)
        )
        facts = await self._ledger_facts(n.complaint_id) if needs_facts else {}
        contact = self._contact(n, facts) if n.audience == Audience.CUSTOMER else None
        context = self._context(n, facts, contact)
        rendered = render(n.template, n.locale, context)
        link = context.get("status_url" if n.audience == Audience.CUSTOMER else "staff_url")
        deliveries = [d for d in deliveries_for(n, contact, self.routing) if d.channel in self.channels]

        result = NotificationResult(idempotency_key=n.idempotency_key)
        if not deliveries:
            if n.audience == Audience.CUSTOMER:
                result.rejected.append(UNREACHABLE)
            log.warning(
                "notification has no deliverable channel", key=n.idempotency_key, audience=n.audience.value
            )
            return result

        async def send(d: Delivery, key: str) -> str:
            return await self.channels[d.channel].send(_message(n, key, d.recipient, rendered, link))

        planned = [
            Planned(d, rendered.markdown if d.channel in ROBOTS else rendered.text) for d in deliveries
        ]
        relayed = self.relay.channels if self.relay else frozenset()
        outcomes = await self.outbox.deliver(n, rendered.subject, planned, send, relayed)
        if self.relay:
            self.relay.wake(d.channel for d in deliveries if d.channel in relayed)
        deferred: list[str] = []
        settled_before = 0
        for d, outcome in zip(deliveries, outcomes, strict=True):
            if isinstance(outcome, TransientFailure):  # another live attempt holds this delivery
                deferred.append(f"{d.channel}: {outcome}")
                continue
            settled_before += outcome.settled_before
            if outcome.status == DeliveryStatus.QUEUED:
                continue  # the relay sends it; the outbox row says when
            if outcome.status == DeliveryStatus.SENT:
                _add(result.delivered, d.channel)
            elif outcome.status == DeliveryStatus.REJECTED:
                _add(result.rejected, d.channel)
                log.warning(
                    "delivery rejected", key=n.idempotency_key, channel=d.channel, error=outcome.error
                )
            else:
                deferred.append(f"{d.channel}: {outcome.error}")

        if deferred:
            raise ApplicationError(
                "notification not fully delivered, will retry: " + "; ".join(deferred),
                type="NotificationDeferred",
            )
        result.duplicate = settled_before == len(deliveries)
        return result

    async def _ledger_facts(self, complaint_id: str) -> dict[str, Any]:
        """What the ledger knows of the complaint (nothing yet when the intake confirmation goes out first)."""
        row = await reads.contact_facts(self.pool, complaint_id)
        if row is None:
            return {}
        customer = row["customer"]
        return {
            "customer": json.loads(customer) if isinstance(customer, str) else customer,
            "channel": row["channel"],
            "status_token": row["status_token"],
            "tier": row["tier"],
        }

    @staticmethod
    def _contact(n: Notification, facts: dict[str, Any]) -> CustomerContact:
        customer = n.context.get("customer") or facts.get("customer") or {}
        channel = n.context.get("channel") or facts.get("channel")
        return CustomerContact(
            name=customer.get("name"),
            phone=customer.get("phone"),
            email=customer.get("email"),
            app_user=n.context.get("app_user"),
            channel=channel,
        )

    def _context(
        self, n: Notification, facts: dict[str, Any], contact: CustomerContact | None
    ) -> dict[str, Any]:
        context: dict[str, Any] = {"timezone": self.timezone, "tier": facts.get("tier"), **n.context}
        context["complaint_id"] = n.complaint_id
        token = n.context.get("status_token") or facts.get("status_token")
        if "status_url" not in context and token:
            context["status_url"] = f"{self.public_base_url}/status/{token}"
        context.setdefault("staff_url", f"{self.public_base_url}/staff/complaints/{n.complaint_id}")
        if contact and contact.name:
            context.setdefault("customer_name", contact.name)
        if n.template == TemplateKey.ESCALATION and n.roles:
            context.setdefault("escalated_to", n.roles[0].value)  # the role it goes to
        return context


def _message(
    n: Notification, key: str, recipient: str, rendered: Rendered, link: str | None
) -> OutgoingMessage:
    return OutgoingMessage(
        delivery_key=key,
        complaint_id=n.complaint_id,
        recipient=recipient,
        subject=rendered.subject,
        text=rendered.text,
        markdown=rendered.markdown,
        link=link,
    )


def _add(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)
