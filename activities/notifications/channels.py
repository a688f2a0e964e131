"""Delivery channels: each speaks one provider's real protocol and sorts its failures into two kinds.

- `TransientFailure`: try again later (timeouts, 5xx, 429, "system busy"); the activity raises so Temporal
  retries with backoff.
- `PermanentRejection`: this message will never go through (bad number, unknown mailbox, 4xx); recorded and
  handed back to the workflow, which escalates to a person.

Every send carries the delivery's idempotency key. Providers that honour one (`dedupes = True`: the generic
SMS and push APIs through `Idempotency-Key`; mailboxes through the deterministic Message-ID) turn a resend
after an unknown outcome into a no-op. Twilio and the WeCom / DingTalk robots have no such key: see the
outbox for what that means.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from functools import cached_property
from typing import Any, ClassVar, Protocol

import aiosmtplib
import httpx


class TransientFailure(Exception):
    """Retry later: the provider may take it next time."""


class PermanentRejection(Exception):
    """The provider refused this message for good."""


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_key: str  # unique per notification × channel × recipient; the provider idempotency key
    complaint_id: str
    recipient: str  # phone, e-mail, app user id, or "group" for robots
    subject: str
    text: str
    markdown: str = ""
    link: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    name: str
    dedupes: bool  # the receiving side collapses a resend with the same key

    async def send(self, message: OutgoingMessage) -> str:
        """Deliver; return the provider's message id. Raise TransientFailure or PermanentRejection."""
        ...


def message_id_for(delivery_key: str, domain: str) -> str:
    """The same delivery always gets the same Message-ID, so a resend is recognisable as the same mail."""
    return f"<{hashlib.sha256(delivery_key.encode()).hexdigest()[:32]}@{domain}>"


async def _post(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    try:
        response = await client.post(url, **kwargs)
    except httpx.TimeoutException as e:  # the provider may or may not have it: resend with the same key
        raise TransientFailure(f"timeout talking to {_host(url)}: {type(e).__name__}") from e
    except httpx.TransportError as e:
        raise TransientFailure(f"cannot reach {_host(url)}: {type(e).__name__}: {e}") from e
    if response.status_code in (408, 409, 425, 429) or response.status_code >= 500:
        raise TransientFailure(f"{_host(url)} answered {response.status_code}: {response.text[:200]}")
    if response.status_code >= 400:
        raise PermanentRejection(f"{_host(url)} refused ({response.status_code}): {response.text[:300]}")
    return response


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as e:
        raise TransientFailure(f"unreadable answer from provider: {response.text[:200]}") from e
    return body if isinstance(body, dict) else {}


@dataclass
class JsonSmsChannel:
    """A generic JSON SMS API: POST {to, text, sender, reference} with `Idempotency-Key`; 2xx → {"id"}."""

    client: httpx.AsyncClient
    url: str
    api_key: str = ""
    sender: str = ""
    name: str = "sms"
    dedupes: ClassVar[bool] = True

    async def send(self, message: OutgoingMessage) -> str:
        headers = {"Idempotency-Key": message.delivery_key, "X-Complaint-Id": message.complaint_id}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {
            "to": message.recipient,
            "text": message.text,
            "sender": self.sender,
            "reference": message.complaint_id,
        }
        response = await _post(self.client, self.url, json=body, headers=headers)
        return str(_json(response).get("id") or "")


@dataclass
class TwilioSmsChannel:
    """Twilio's Messages API: form POST to /2010-04-01/Accounts/{sid}/Messages.json, HTTP basic auth.
    Twilio takes no idempotency key for outgoing messages."""

    client: httpx.AsyncClient
    base_url: str  # https://api.twilio.com
    account_sid: str
    auth_token: str
    from_number: str
    name: str = "sms"
    dedupes: ClassVar[bool] = False

    async def send(self, message: OutgoingMessage) -> str:
        url = f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        form = {"To": message.recipient, "From": self.from_number, "Body": message.text}
        try:
            response = await _post(
                self.client,
                url,
                data=form,
                auth=(self.account_sid, self.auth_token),
                headers={"X-Complaint-Id": message.complaint_id},
            )
        except PermanentRejection as e:
            raise PermanentRejection(f"twilio: {e}") from e
        return str(_json(response).get("sid") or "")


@dataclass
class PushChannel:
    """App push through an HTTP webhook: POST {to, title, body, data} with `Idempotency-Key`."""

    client: httpx.AsyncClient
    url: str
    api_key: str = ""
    name: str = "push"
    dedupes: ClassVar[bool] = True

    async def send(self, message: OutgoingMessage) -> str:
        headers = {"Idempotency-Key": message.delivery_key, "X-Complaint-Id": message.complaint_id}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {
            "to": message.recipient,
            "title": message.subject,
            "body": message.text,
            "data": {"complaint_id": message.complaint_id, "url": message.link},
        }
        response = await _post(self.client, self.url, json=body, headers=headers)
        return str(_json(response).get("id") or "")


# Robot errcodes worth another try: system busy, rate limited (WeCom 45009, DingTalk 130101).
_ROBOT_TRANSIENT = {-1, 45009, 130101, 45033}


def _robot_result(provider: str, response: httpx.Response) -> str:
    body = _json(response)
    code = body.get("errcode", 0)
    if code == 0:
        return str(body.get("msgid") or "")
    if code in _ROBOT_TRANSIENT:
        raise TransientFailure(f"{provider} errcode {code}: {body.get('errmsg')}")
    raise PermanentRejection(f"{provider} errcode {code}: {body.get('errmsg')}")


@dataclass
class WeComRobotChannel:
    """WeCom (企业微信) group robot: POST {"msgtype": "markdown", "markdown": {"content": …}} to its webhook."""

    client: httpx.AsyncClient
    webhook_url: str  # https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
    name: str = "wecom"
    dedupes: ClassVar[bool] = False
    max_bytes: ClassVar[int] = 4096  # WeCom's limit for markdown content

    async def send(self, message: OutgoingMessage) -> str:
        content = message.markdown or message.text
        content = content.encode()[: self.max_bytes].decode(errors="ignore")
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        response = await _post(
            self.client, self.webhook_url, json=body, headers={"X-Complaint-Id": message.complaint_id}
        )
        return _robot_result("wecom", response)


@dataclass
class DingTalkRobotChannel:
    """DingTalk (钉钉) custom robot: POST {"msgtype": "markdown", "markdown": {"title", "text"}, "at": …};
    with a signing secret, `timestamp` and `sign` (HMAC-SHA256 of "timestamp\\nsecret") go in the URL."""

    client: httpx.AsyncClient
    webhook_url: str  # https://oapi.dingtalk.com/robot/send?access_token=…
    secret: str = ""
    name: str = "dingtalk"
    dedupes: ClassVar[bool] = False

    def signed_url(self, timestamp_ms: int | None = None) -> str:
        if not self.secret:
            return self.webhook_url
        timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        digest = hmac.new(
            self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256
        ).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        joiner = "&" if "?" in self.webhook_url else "?"
        return f"{self.webhook_url}{joiner}timestamp={timestamp}&sign={sign}"

    async def send(self, message: OutgoingMessage) -> str:
        body = {
            "msgtype": "markdown",
            "markdown": {"title": message.subject[:64], "text": message.markdown or message.text},
            "at": {"atMobiles": message.extra.get("at_mobiles", []), "isAtAll": False},
        }
        response = await _post(
            self.client, self.signed_url(), json=body, headers={"X-Complaint-Id": message.complaint_id}
        )
        return _robot_result("dingtalk", response)


@dataclass
class SmtpChannel:
    """E-mail over SMTP (aiosmtplib). The Message-ID is derived from the delivery key."""

    host: str
    port: int
    sender: str  # "Complaint Desk <desk@example.com>"
    username: str = ""
    password: str = ""
    tls: str = "none"  # none | starttls | tls
    timeout: float = 15.0
    name: str = "email"
    # The name this host gives in EHLO, looked up once: aiosmtplib would look it up in a thread per message.
    local_hostname: str = field(default_factory=socket.getfqdn)
    max_idle: int = 8  # connections kept open between sends
    _idle: list[aiosmtplib.SMTP] = field(default_factory=list, init=False, repr=False, compare=False)
    dedupes: ClassVar[bool] = True  # same Message-ID: mail stores collapse the resend

    @property
    def domain(self) -> str:
        address = self.sender.rsplit("<", 1)[-1].rstrip(">")
        return address.rsplit("@", 1)[-1] or "localhost"

    @cached_property
    def from_header(self) -> str:
        name, address = parseaddr(self.sender)
        return formataddr((name, address), charset="utf-8")  # a Chinese sender name, RFC 2047 encoded

    def build(self, message: OutgoingMessage) -> MIMEText:
        """UTF-8 text, base64, the subject RFC 2047 encoded: with the legacy (compat32) message classes, a
        quarter of the cost of `EmailMessage`'s header objects (0.17 vs 0.77 ms a mail, the worker's and the
        web's largest part of an e-mail under py-spy)."""
        mail = MIMEText(message.text, "plain", "utf-8")
        mail["From"] = self.from_header
        mail["To"] = message.recipient
        mail["Subject"] = Header(message.subject, "utf-8")
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = message_id_for(message.delivery_key, self.domain)
        mail["X-Complaint-Id"] = message.complaint_id
        return mail

    async def send(self, message: OutgoingMessage) -> str:
        """On a connection kept from an earlier send when there is one (connect, EHLO and QUIT cost more than
        the mail); one the server has closed meanwhile is replaced by a fresh connection. Only a connection
        whose last transaction succeeded is kept."""
        mail = self.build(message)
        while self._idle:
            smtp = self._idle.pop()
            try:
                with _smtp_failures(self):
                    await smtp.send_message(mail, timeout=self.timeout)
            except TransientFailure as e:
                smtp.close()
                if isinstance(e.__cause__, aiosmtplib.SMTPServerDisconnected | ConnectionError):
                    continue  # hung up while idle: the same mail, same Message-ID, on another connection
                raise
            except BaseException:
                smtp.close()
                raise
            self._keep(smtp)
            return mail["Message-ID"]
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username or None,
            password=self.password or None,
            use_tls=self.tls == "tls",
            start_tls=self.tls == "starttls",
            timeout=self.timeout,
            local_hostname=self.local_hostname,
        )
        try:
            with _smtp_failures(self):
                await smtp.connect()
                await smtp.send_message(mail)
        except BaseException:
            smtp.close()
            raise
        self._keep(smtp)
        return mail["Message-ID"]

    def _keep(self, smtp: aiosmtplib.SMTP) -> None:
        if smtp.is_connected and len(self._idle) < self.max_idle:
            self._idle.append(smtp)
        else:
            smtp.close()


@contextmanager
def _smtp_failures(channel: SmtpChannel) -> Iterator[None]:
    """aiosmtplib's errors sorted into the two kinds."""
    try:
        yield
    except aiosmtplib.SMTPRecipientsRefused as e:
        codes = [err.code for err in e.recipients]
        if all(500 <= code < 600 for code in codes):
            raise PermanentRejection(f"mailbox refused: {'; '.join(str(err) for err in e.recipients)}") from e
        raise TransientFailure(f"mailbox deferred: {'; '.join(str(err) for err in e.recipients)}") from e
    except aiosmtplib.SMTPResponseException as e:
        if 500 <= e.code < 600:
            raise PermanentRejection(f"SMTP {e.code}: {e.message}") from e
        raise TransientFailure(f"SMTP {e.code}: {e.message}") from e
    except (aiosmtplib.SMTPException, OSError) as e:  # connect, timeout, disconnect
        raise TransientFailure(f"SMTP {channel.host}:{channel.port}: {type(e).__name__}: {e}") from e
