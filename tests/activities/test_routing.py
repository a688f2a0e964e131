"""Who gets what: customers on the channels they can be reached on, staff by role, person and department."""

from __future__ import annotations

from activities.notifications.routing import CustomerContact, Delivery, RoutingConfig, deliveries_for
from domain.messages import Audience, Notification, TemplateKey
from domain.models import Channel, Department, Role


def staff(**kw) -> Notification:
    return Notification(
        idempotency_key="k",
        complaint_id="C-1",
        template=TemplateKey.ASSIGNMENT,
        audience=Audience.STAFF,
        **kw,
    )


def test_customer_gets_push_only_when_they_use_the_app():
    n = Notification(
        idempotency_key="k", complaint_id="C-1", template=TemplateKey.RESULT, audience=Audience.CUSTOMER
    )
    by_phone = CustomerContact(phone="+8613800000000", channel=Channel.HOTLINE)
    assert deliveries_for(n, by_phone, RoutingConfig()) == [Delivery("sms", "+8613800000000")]
    in_app = by_phone.model_copy(update={"channel": Channel.APP})
    assert Delivery("push", "+8613800000000") in deliveries_for(n, in_app, RoutingConfig())
    account = CustomerContact(email="a@example.com", app_user="user-7")
    assert deliveries_for(n, account, RoutingConfig()) == [
        Delivery("email", "a@example.com"),
        Delivery("push", "user-7"),
    ]


def test_assignment_to_departments_and_people_reaches_both():
    out = deliveries_for(
        staff(departments=[Department.WAREHOUSE], staff_ids=["agent-7"]), None, RoutingConfig()
    )
    assert out == [
        Delivery("dingtalk", "group"),
        Delivery("email", "agent-7@desk.local"),
        Delivery("email", "warehouse@desk.local"),
        Delivery("wecom", "group"),
    ]


def test_department_heads_get_their_own_mailbox_per_department():
    n = staff(roles=[Role.DEPARTMENT_HEAD], departments=[Department.WAREHOUSE, Department.DELIVERY])
    emails = [d.recipient for d in deliveries_for(n, None, RoutingConfig()) if d.channel == "email"]
    assert emails == ["delivery-head@desk.local", "warehouse-head@desk.local"]


def test_specialists_are_alerted_in_the_group_not_by_mail():
    assert deliveries_for(staff(roles=[Role.SPECIALIST]), None, RoutingConfig()) == [
        Delivery("dingtalk", "group"),
        Delivery("wecom", "group"),
    ]


def test_a_staff_alert_naming_nobody_goes_to_the_supervisors():
    assert Delivery("email", "supervisor@desk.local") in deliveries_for(staff(), None, RoutingConfig())


def test_mailboxes_and_domain_are_configuration():
    config = RoutingConfig.from_json(
        '{"staff_email_domain": "corp.example", "mailboxes": {"department_head:warehouse": ["wh-boss@corp.example"]}}'
    )
    n = staff(roles=[Role.DEPARTMENT_HEAD, Role.SUPERVISOR], departments=[Department.WAREHOUSE])
    emails = [d.recipient for d in deliveries_for(n, None, config) if d.channel == "email"]
    assert emails == ["supervisor@corp.example", "wh-boss@corp.example"]
