"""Who gets a notification on which channel: configuration with sensible defaults.

Customers get every configured channel they can be reached on (SMS with a phone, e-mail with an address,
app push when they use the app) — the rulebooks want the result told "on the channels they use". Staff get
the group robots and, for the roles that decide, e-mail to a mailbox per role or department.
`DESK_NOTIFY_ROUTING` may override any field with JSON, e.g.
`{"role_channels": {"specialist": ["wecom"]}, "mailboxes": {"supervisor": ["cs-leads@example.com"]}}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from domain.messages import Audience, Notification
from domain.models import Channel, Role

ROBOTS = ("wecom", "dingtalk")


class CustomerContact(BaseModel):
    """How to reach the customer: from the notification's context or the ledger's complaint row."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    app_user: str | None = None  # the app account to push to
    channel: Channel | None = None  # where the complaint came in


class RoutingConfig(BaseModel):
    customer_channels: list[str] = Field(default_factory=lambda: ["sms", "email", "push"])
    # Push only to customers who use the app: those who filed there, or whose context names an app account.
    push_channels: list[Channel] = Field(default_factory=lambda: [Channel.APP])
    role_channels: dict[Role, list[str]] = Field(
        default_factory=lambda: {
            Role.SPECIALIST: ["wecom", "dingtalk"],
            Role.ENGINEER: ["wecom", "dingtalk"],
            Role.LOGISTICS: ["wecom", "dingtalk"],
            Role.SUPERVISOR: ["wecom", "dingtalk", "email"],
            Role.SENIOR_SUPERVISOR: ["wecom", "dingtalk", "email"],
            Role.DEPARTMENT_HEAD: ["wecom", "dingtalk", "email"],
            Role.ADMIN: ["email"],
        }
    )
    staff_id_channels: list[str] = Field(default_factory=lambda: ["email"])  # named people
    # A notification for departments with no role named (assignment, a department's report clock).
    department_channels: list[str] = Field(default_factory=lambda: ["wecom", "dingtalk", "email"])
    staff_email_domain: str = "desk.local"
    # Overrides: "supervisor", "department_head:warehouse", "department:warehouse" or a staff id → addresses.
    mailboxes: dict[str, list[str]] = Field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> RoutingConfig:
        return cls.model_validate_json(text) if text.strip() else cls()


@dataclass(frozen=True, order=True)
class Delivery:
    channel: str
    recipient: str


def _mailbox(config: RoutingConfig, key: str, default_local: str) -> list[str]:
    if key in config.mailboxes:
        return config.mailboxes[key]
    return [default_local if "@" in default_local else f"{default_local}@{config.staff_email_domain}"]


def customer_deliveries(contact: CustomerContact, config: RoutingConfig) -> list[Delivery]:
    out: list[Delivery] = []
    for channel in config.customer_channels:
        if channel == "sms" and contact.phone:
            out.append(Delivery("sms", contact.phone))
        elif channel == "email" and contact.email:
            out.append(Delivery("email", contact.email))
        elif channel == "push":
            user = contact.app_user or (contact.phone if contact.channel in config.push_channels else None)
            if user:
                out.append(Delivery("push", user))
    return out


def staff_deliveries(n: Notification, config: RoutingConfig) -> list[Delivery]:
    """Robots get one message per group; e-mail goes to each role's mailbox (a department head's per
    department), to each named person, and — when no role is named — to each department's mailbox. Nobody
    named at all: the supervisors."""
    out: set[Delivery] = set()

    def add(channels: list[str], mailboxes: list[str]) -> None:
        for channel in channels:
            if channel in ROBOTS:
                out.add(Delivery(channel, "group"))
            elif channel == "email":
                out.update(Delivery("email", address) for address in mailboxes)

    for role in n.roles:
        if role == Role.DEPARTMENT_HEAD and n.departments:
            boxes = [
                a
                for d in n.departments
                for a in _mailbox(config, f"{role.value}:{d.value}", f"{d.value}-head")
            ]
        else:
            boxes = _mailbox(config, role.value, role.value)
        add(config.role_channels.get(role, []), boxes)
    for staff_id in n.staff_ids:
        add(config.staff_id_channels, _mailbox(config, staff_id, staff_id))
    if not n.roles:
        for d in n.departments:
            add(config.department_channels, _mailbox(config, f"department:{d.value}", d.value))
    if not (n.roles or n.staff_ids or n.departments):
        add(
            config.role_channels.get(Role.SUPERVISOR, []),
            _mailbox(config, Role.SUPERVISOR.value, "supervisor"),
        )
    return sorted(out)


def deliveries_for(n: Notification, contact: CustomerContact | None, config: RoutingConfig) -> list[Delivery]:
    if n.audience == Audience.CUSTOMER:
        return customer_deliveries(contact, config) if contact else []
    return staff_deliveries(n, config)
