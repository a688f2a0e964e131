"""E-mail to complaint: real SMTP conversations with the intake endpoint, in process and as the
`desk email-intake` command, on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
import pytest_asyncio

from domain.actions import QUERY_STATE
from domain.view import ComplaintView
from starters.email_intake import LISTENING_EVENT, find_order_number, html_to_text, start_email_intake

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 40


@pytest_asyncio.fixture
async def smtp(stack):
    server, handler = await start_email_intake(stack.service(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, handler
    finally:
        server.close()
        await server.wait_closed()


async def _send(port: int, msg: EmailMessage) -> tuple[int, str]:
    errors, response = await aiosmtplib.send(msg, hostname="127.0.0.1", port=port, timeout=60)
    return errors, response


def _message(subject: str, body: str, *, sender: str = "张三 <zhang.san@example.com>") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "complaints@desk.example"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


async def _view(stack, number: str) -> ComplaintView:
    wid = await stack.pool.fetchval("SELECT workflow_id FROM intake_receipts WHERE complaint_id = $1", number)
    return await stack.client.get_workflow_handle(wid).query(QUERY_STATE, result_type=ComplaintView)


async def test_email_with_chinese_subject_and_photo_becomes_a_complaint(stack, smtp):
    port, handler = smtp
    waybill = "SF" + str(uuid.uuid4().int % 10**12).zfill(12)
    sender = f"张三 <zs-{uuid.uuid4().hex[:6]}@example.com>"
    msg = _message(
        "投诉：包裹破损",
        f"您好，\n我的快递（运单号：{waybill}）到货时外箱破损，里面的花瓶碎了。\n照片见附件。",
        sender=sender,
    )
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="破损.png")
    _, reply = await _send(port, msg)
    assert reply.startswith("OK complaint C-"), reply
    number = reply.split()[2]
    view = await _view(stack, number)
    assert view.channel.value == "email"
    assert view.order_number == waybill
    assert view.category.value == "damaged"
    assert view.subject == "投诉：包裹破损"
    assert "花瓶碎了" in view.description
    assert view.customer.name == "张三" and view.customer.email == sender.split("<")[1].rstrip(">")
    assert view.customer.locale.value == "zh-CN"
    assert [a.name for a in view.attachments] == ["破损.png"]
    # the same customer writes again about the same issue: joins
    _, again = await _send(
        port, _message("Re: 投诉：包裹破损", f"运单号 {waybill} 破损的事还没人联系我", sender=sender)
    )
    assert again.split()[2] == number and again.endswith("joined")


async def test_html_only_email_is_read_as_text(stack, smtp):
    port, _ = smtp
    msg = EmailMessage()
    msg["From"] = "Ann Lee <ann.lee@example.com>"
    msg["To"] = "complaints@desk.example"
    msg["Subject"] = "Question about invoices"
    msg.set_content(
        "<html><body><p>How do I get an <b>invoice</b> for my order?</p><script>x()</script></body></html>",
        subtype="html",
    )
    _, reply = await _send(port, msg)
    number = reply.split()[2]
    view = await _view(stack, number)
    assert view.description == "How do I get an invoice for my order?"
    assert view.customer.locale.value == "en"
    assert view.complaint_type.value == "consultation" and view.tier.value == "general"


async def test_email_that_cannot_be_filed_at_all_is_refused_with_the_field(stack, smtp):
    """Nothing to file (no text at all): SMTP 550 names the field; the sender's reply is in
    tests/starters/test_email_threads.py."""
    port, _ = smtp
    msg = EmailMessage()
    msg["From"] = "李四 <li.si@example.com>"
    msg["To"] = "complaints@desk.example"
    msg.set_content("")
    with pytest.raises(aiosmtplib.SMTPDataError) as e:
        await _send(port, msg)
    assert e.value.code == 550
    assert "description" in e.value.message


def test_order_numbers_are_found_in_chinese_and_english_text():
    assert find_order_number("订单号：A20261123-001 的商品") == "A20261123-001"
    assert find_order_number("my order no. 7788990011 never came") == "7788990011"
    assert find_order_number("waybill SF1234567890123 stuck") == "SF1234567890123"
    assert find_order_number("顺丰 sf1234567890 延误") == "SF1234567890"
    assert find_order_number("no number here") is None


def test_html_to_text_drops_scripts_and_keeps_paragraphs():
    assert html_to_text("<p>一</p><p>二</p><style>p{}</style>") == "一\n二"


async def test_serve_email_intake_runs_on_its_own_connections_and_limits_recipients(stack):
    from starters.email_intake import serve_email_intake

    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve_email_intake(
            stack.settings,
            "127.0.0.1",
            0,
            recipients="投诉 <complaints@desk.example>",
            on_listening=bound.set_result,
        )
    )
    try:
        port = await asyncio.wait_for(bound, 60)
        _, reply = await _send(
            port, _message("发票", "请问发票怎么开？", sender=f"x{uuid.uuid4().hex[:6]}@example.com")
        )
        assert reply.startswith("OK complaint C-")
        wrong = _message("发票", "请问发票怎么开？")
        wrong.replace_header("To", "someone-else@desk.example")
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await _send(port, wrong)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def _desk_env(settings, **desk: str) -> dict[str, str]:
    """`desk` subprocess environment: the test stack's Temporal and database, nothing from the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "TEMPORAL_"))}
    env.update({"DESK_LOG_JSON": "true", "DESK_TEMPORAL_ENVCONFIG": "false", "PYTHONUNBUFFERED": "1"})
    for name in ("temporal_address", "temporal_namespace", "task_queue", "database_url", "public_base_url"):
        env[f"DESK_{name.upper()}"] = str(getattr(settings, name))
    env.update({f"DESK_{k.upper()}": v for k, v in desk.items()})
    return env


def _desk_email_intake(tmp_path: Path, label: str, env: dict[str, str], *args: str) -> subprocess.Popen:
    with (tmp_path / f"{label}.log").open("wb") as out:  # cwd: away from any .env in the repo
        return subprocess.Popen(
            [sys.executable, "-m", "desk", "email-intake", *args],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _exit_code(proc: subprocess.Popen, limit_s: float = 90) -> int:
    deadline = time.monotonic() + limit_s
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"desk email-intake still running after {limit_s:.0f}s")
        await asyncio.sleep(0.1)
    return proc.returncode


async def _desk_healthcheck(tmp_path: Path, env: dict[str, str]) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "desk", "healthcheck", "email-intake", cwd=tmp_path, env=env
    )
    return await asyncio.wait_for(proc.wait(), 60)


async def test_desk_email_intake_command_serves_refuses_a_taken_port_and_stops_on_sigterm(stack, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _desk_env(stack.settings, email_intake_recipients="complaints@desk.example")
    proc = _desk_email_intake(tmp_path, "serving", env, "--port", str(port))
    log_path = tmp_path / "serving.log"
    try:
        deadline = time.monotonic() + 90
        while LISTENING_EVENT not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"desk email-intake did not listen:\n{log_path.read_text(errors='replace')[-3000:]}"
                )
            await asyncio.sleep(0.1)

        _, reply = await _send(
            port, _message("发票", "请问发票怎么开？", sender=f"cli-{uuid.uuid4().hex[:6]}@example.com")
        )
        assert reply.startswith("OK complaint C-"), reply
        assert (await _view(stack, reply.split()[2])).channel.value == "email"
        wrong = _message("发票", "请问发票怎么开？")
        wrong.replace_header("To", "someone-else@desk.example")  # DESK_EMAIL_INTAKE_RECIPIENTS applies
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await _send(port, wrong)

        # A second one on the same port says which setting moves it, without a traceback.
        clash = _desk_email_intake(tmp_path, "clash", env, "--port", str(port))
        assert await _exit_code(clash) == 2
        out = (tmp_path / "clash.log").read_text(errors="replace")
        assert f"cannot listen on 127.0.0.1:{port}" in out and "DESK_EMAIL_INTAKE_PORT" in out, out
        assert "Traceback" not in out

        # The container health check finds it through DESK_EMAIL_INTAKE_PORT (and makes no complaint).
        probe_env = {**env, "DESK_EMAIL_INTAKE_PORT": str(port)}
        assert await _desk_healthcheck(tmp_path, probe_env) == 0

        proc.send_signal(signal.SIGTERM)
        assert await _exit_code(proc) == 0, log_path.read_text(errors="replace")[-3000:]
        assert "email intake stopped" in log_path.read_text(errors="replace")
        assert await _desk_healthcheck(tmp_path, probe_env) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_desk_email_intake_without_database_url_names_the_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "TEMPORAL_"))}
    proc = _desk_email_intake(tmp_path, "no-db", env)
    assert await _exit_code(proc) == 2
    assert "DESK_DATABASE_URL is not set" in (tmp_path / "no-db.log").read_text(errors="replace")
