"""E-mail to complaint: an inbound SMTP endpoint (aiosmtpd) feeding the same intake service.

Each accepted message becomes one complaint (or joins the open one of the same issue): the sender is the
customer, subject + text body (HTML reduced to text when there is no plain part) the description, an order
or waybill number is picked out of the text, attachments are stored as evidence.

No complaint is lost to a missing field: a mail without the order number its issue needs, or whose issue
the classifier cannot tell, is filed all the same, and the customer is asked for what is missing in a
reply (starters/email_threads.py) in their language, with the number and the status link. A bad attachment
is left out and named in that reply. A reply to one of our mails (In-Reply-To / References), or a mail
whose subject carries a complaint number from that complaint's customer, joins the complaint as the customer's message
(the `customer_message` Update) instead of opening a new one. Only a mail that cannot be filed at all is refused,
and its sender gets a reply saying why. The SMTP answer is for machines: `250 complaint C-… filed|joined`,
`550` with the fields, `451` when the complaint system is down (the sender retries).

The server runs on the caller's event loop (not aiosmtpd's threaded Controller), because the Temporal client
and the database pool belong to that loop. `desk email-intake` runs it as a process of its own (`desk up`
starts that process next to the web app); where it listens and for whom are the `email_intake_*` fields of
`core.settings.Settings` (DESK_EMAIL_INTAKE_HOST / _PORT / _RECIPIENTS).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import signal
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

import asyncpg
import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from core.settings import Settings
from domain.actions import UPDATE_CUSTOMER_MESSAGE, ActionResult, CustomerMessage
from domain.models import CATEGORIES_NEEDING_ORDER, Category, Channel, ComplaintType, Locale
from ledger.email_threads import complaint_for_message_ids, customer_of, remember
from starters.attachments import MAX_FILES, MAX_TOTAL_BYTES, Upload, check_uploads, store_uploads
from starters.email_threads import Reply, message_ids, number_in_subject, send_reply
from starters.errors import IntakeError, IntakeInvalid, IntakeUnavailable
from starters.intake import IntakeRequest, IntakeResult, IntakeService, parse_request

log = structlog.get_logger()

LISTENING_EVENT = "email intake listening"  # `desk up` and the tests look for it

DATA_SIZE_LIMIT = (
    MAX_TOTAL_BYTES + 5 * 1024 * 1024
)  # base64 inflates attachments by a third; checked again per file
_ORDER_RE = re.compile(
    r"(?:订单号|订单编号|运单号|快递单号|单号|order\s*(?:no\.?|number|#|id)?|waybill\s*(?:no\.?|number)?|tracking\s*(?:no\.?|number)?)"
    r"\s*[:：#]?\s*([A-Za-z0-9][A-Za-z0-9\-]{5,39})",
    re.IGNORECASE,
)
_BARE_WAYBILL_RE = re.compile(r"\b((?:SF|YT|ZTO|JD|STO|YD|EMS|DPK)[0-9]{8,20})\b", re.IGNORECASE)
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_DESCRIPTION_LIMIT = 5000


class _TextFromHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n\s*\n+", "\n\n", re.sub(r"[ \t\r\f\v]+", " ", text)).strip()


def find_order_number(text: str) -> str | None:
    m = _ORDER_RE.search(text) or _BARE_WAYBILL_RE.search(text)
    return m.group(1).upper() if m else None


def _body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):  # unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return content.strip()


def _attachments(msg: EmailMessage) -> list[Upload]:
    out: list[Upload] = []
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue  # an attached message/rfc822: not evidence we can show
        out.append(
            Upload(name=part.get_filename() or "attachment", content_type=part.get_content_type(), data=data)
        )
    return out


@dataclass
class Mail:
    """One inbound message, read: who wrote, in which language, what it answers, and the complaint in it."""

    address: str
    name: str
    locale: str
    subject: str
    message_id: str | None
    in_reply_to: str | None
    references: str | None
    data: dict  # the IntakeRequest fields
    uploads: list[Upload]
    dropped: list[str]  # attachments left out, each with the reason


def read_mail(raw: bytes, mail_from: str | None = None) -> Mail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    name, address = parseaddr(str(msg.get("Reply-To") or msg.get("From") or ""))
    if not address and mail_from:
        address = mail_from
    if not name and address:
        name = address.split("@", 1)[0]
    subject = str(msg.get("Subject") or "").strip()
    body = _body_text(msg)
    description = body or subject
    if len(description) > _DESCRIPTION_LIMIT:  # long quoted threads: keep the newest words
        description = description[: _DESCRIPTION_LIMIT - 1] + "…"
    text = f"{subject}\n{body}"
    locale = Locale.ZH_CN.value if _CJK_RE.search(text) else Locale.EN.value
    data = {
        "channel": Channel.EMAIL.value,
        "customer": {"name": name[:200] or "?", "email": address or None, "locale": locale},
        "subject": subject[:200] or None,
        "description": description,
        "order_number": find_order_number(text),
    }
    uploads, dropped = _usable_uploads(_attachments(msg))
    header = lambda h: str(msg.get(h) or "").strip() or None  # noqa: E731
    return Mail(
        address=address, name=name, locale=locale, subject=subject, message_id=header("Message-ID"),
        in_reply_to=header("In-Reply-To"), references=header("References"), data=data, uploads=uploads,
        dropped=dropped,
    )  # fmt: skip


def _usable_uploads(uploads: list[Upload]) -> tuple[list[Upload], list[str]]:
    """The attachments intake can keep, and the others named with the reason: a bad file never costs the
    customer their complaint."""
    kept: list[Upload] = []
    dropped: list[str] = []
    for up in uploads:
        try:
            kept += check_uploads([up], field=up.name or "attachment")
        except IntakeInvalid as e:
            dropped.append(f"{up.name}: {e.fields[0].reason}" if e.fields else up.name)
    while kept:
        try:
            return check_uploads(kept[:MAX_FILES], field="attachments"), dropped
        except IntakeInvalid:  # too many or too large together: the last ones go
            dropped.append(f"{kept[-1].name}: too many or too large attachments together")
            kept = kept[:-1]
    return kept, dropped


def message_to_request(raw: bytes, mail_from: str | None = None):
    """Parse one message into (IntakeRequest, uploads); IntakeInvalid names what is wrong."""
    mail = read_mail(raw, mail_from)
    return parse_request(mail.data), mail.uploads


def missing_fields(req: IntakeRequest, result: IntakeResult) -> list[str]:
    """What the customer is asked for in the reply: an order number where the issue needs one, and what went
    wrong when the classifier could not tell for a complaint (a question needs no category)."""
    missing = []
    if result.category in CATEGORIES_NEEDING_ORDER and not req.order_number:
        missing.append("order_number")
    if result.category == Category.OTHER and result.complaint_type == ComplaintType.COMPLAINT:
        missing.append("category")
    return missing


def _smtp_text(s: str, limit: int = 400) -> str:
    """SMTP replies are one ASCII line."""
    return re.sub(r"\s+", " ", s.encode("ascii", "replace").decode())[:limit]


class IntakeMailHandler:
    """aiosmtpd handler: one message → one intake."""

    def __init__(self, service: IntakeService, *, recipients: set[str] | None = None) -> None:
        self.service = service
        self.pool = service.pool  # threads and uploads need it; without it every mail is a new complaint
        self.recipients = {r.lower() for r in recipients} if recipients else None  # None: any address
        self.taken: list[IntakeResult] = []  # kept for `desk up` output and tests

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options
    ):
        if self.recipients is not None and address.lower() not in self.recipients:
            return "550 5.1.1 no such complaint mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="replace")
        mail = read_mail(raw, envelope.mail_from)
        reply = Reply(to=mail.address, locale=mail.locale, subject=mail.subject,
                      in_reply_to=mail.message_id, references=mail.references, dropped=mail.dropped)  # fmt: skip
        try:
            joined = await self._join_thread(mail)
            if joined is not None:
                return f"250 OK complaint {joined} joined"
            req = parse_request(mail.data)
            taken = await self.service.take(req, source="email", uploads=mail.uploads, require_order=False)
        except IntakeUnavailable as e:
            return "451 4.3.0 " + _smtp_text(f"complaint system unavailable, try again later: {e}")
        except IntakeError as e:
            log.info("email refused", error=str(e))
            reply.refusal = [_reason(f.field, f.reason, mail.locale) for f in e.fields] or [str(e)]
            await self._reply(reply)
            return "550 5.6.0 " + _smtp_text(f"complaint refused: {e}")
        result = taken.result
        assert result is not None
        self.taken.append(result)
        if self.pool is not None:
            await remember(self.pool, mail.message_id, result.complaint_id, "in")
        if not result.joined:
            reply.complaint_id, reply.status_url = result.complaint_id, result.status_url
            reply.missing = missing_fields(req, result)
            if reply.missing or reply.dropped:  # else the workflow's confirmation says it all
                await self._reply(reply)
        verb = "joined" if result.joined else "filed"
        log.info("email taken", complaint_id=result.complaint_id, outcome=verb, asked=reply.missing)
        return f"250 OK complaint {result.complaint_id} {verb}"

    async def _join_thread(self, mail: Mail) -> str | None:
        """A reply to a mail of a complaint joins that complaint as the customer's message (the
        `customer_message` Update: it resumes a complaint waiting on the customer); None
        when the mail starts a new one (no thread, or the complaint will not take it: closed)."""
        if self.pool is None:
            return None
        complaint_id = await complaint_for_message_ids(
            self.pool, message_ids(mail.in_reply_to, mail.references)
        )
        found = await customer_of(self.pool, complaint_id) if complaint_id else None
        if found is None:
            number = number_in_subject(mail.subject)
            found = await customer_of(self.pool, number) if number else None
            if found is None or not found[0] or found[0] != mail.address.lower():
                return None  # a number alone is not proof of who writes
            complaint_id = number
        workflow_id = found[1]
        description = (mail.data.get("description") or "").strip() or mail.subject or "-"
        stored = []
        if mail.uploads:
            async with self.pool.acquire() as conn, conn.transaction():
                stored = await store_uploads(
                    conn, complaint_id, mail.uploads, self.service.settings.public_base_url
                )
        report = CustomerMessage(
            channel=Channel.EMAIL,
            message=description[:5000],
            received_at=datetime.now(UTC).isoformat(),
            attachments=stored,
        )
        key = mail.message_id or hashlib.sha256(description.encode()).hexdigest()
        try:
            await self.service.client.get_workflow_handle(workflow_id).execute_update(
                UPDATE_CUSTOMER_MESSAGE, report, id=f"email-{hashlib.sha256(key.encode()).hexdigest()[:32]}",
                result_type=ActionResult,
            )  # fmt: skip
        except WorkflowUpdateFailedError as e:
            log.info("thread's complaint refused the reply; filing it anew", complaint_id=complaint_id,
                     reason=str(e.cause or e))  # fmt: skip
            return None
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return None
            raise IntakeUnavailable("the complaint system is unavailable", [("service", e.message)]) from e
        await remember(self.pool, mail.message_id, complaint_id, "in")
        log.info("email joined its thread", complaint_id=complaint_id)
        return complaint_id

    async def _reply(self, reply: Reply) -> None:
        if not reply.to:
            return
        sent = await send_reply(self.service.settings, reply)
        if sent and reply.complaint_id and self.pool is not None:
            await remember(self.pool, sent, reply.complaint_id, "out")


def _reason(field_name: str, reason: str, locale: str) -> str:
    """A refusal reason for a person: the field in their language, the reason as the API words it."""
    names = {
        "zh-CN": {"description": "投诉内容", "customer.phone": "联系方式", "customer.email": "邮箱地址",
                  "customer.name": "姓名", "subject": "邮件主题"},
        "en": {"description": "the text of the mail", "customer.phone": "a way to reach you",
               "customer.email": "your e-mail address", "customer.name": "your name", "subject": "the subject"},
    }  # fmt: skip
    return f"{names.get(locale, {}).get(field_name, field_name)}: {reason}"


async def start_email_intake(
    service: IntakeService, host: str = "127.0.0.1", port: int = 2525, *, recipients: set[str] | None = None
) -> tuple[asyncio.Server, IntakeMailHandler]:
    """Listen for mail on host:port (port 0: any free port; read it from `server.sockets[0]`)."""
    handler = IntakeMailHandler(service, recipients=recipients)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="complaint-intake",
            data_size_limit=DATA_SIZE_LIMIT,
            enable_SMTPUTF8=True,
            decode_data=False,
            ident="complaint-desk intake",
        ),
        host=host,
        port=port,
    )
    return server, handler


def recipients_from(value: str) -> set[str] | None:
    """`support@x.com, 投诉@x.com` → a set; empty → None (any recipient)."""
    found = {addr for _, addr in getaddresses([value]) if addr}
    return found or None


class EmailIntakeStartError(Exception):
    """A start-up problem a person can fix (unreachable server, port taken); no traceback needed."""


async def serve_email_intake(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    *,
    recipients: str | None = None,
    on_listening=None,
) -> None:
    """Run the inbound SMTP endpoint until cancelled (the body of `desk email-intake`).

    Connects to Temporal and the database from `settings`; host, port and `recipients` (comma list of
    accepted addresses, empty: any) default to its `email_intake_*` fields; `on_listening(port)` is called
    once it listens (port 0 picks a free one). Raises EmailIntakeStartError when it cannot start."""
    host = settings.email_intake_host if host is None else host
    port = settings.email_intake_port if port is None else port
    recipients = settings.email_intake_recipients if recipients is None else recipients
    from core.db import create_pool
    from core.temporal import connect
    from ledger.schema import migrate

    try:
        client = await connect(settings)
    except Exception as e:  # the SDK raises RuntimeError with a transport message
        raise EmailIntakeStartError(
            f"cannot reach Temporal at {settings.temporal_address} (namespace {settings.temporal_namespace}): "
            f"{e}. Set DESK_TEMPORAL_ADDRESS / DESK_TEMPORAL_NAMESPACE."
        ) from e
    try:
        await migrate(settings.database_url)
        pool = await create_pool(settings.database_url)
    except (OSError, asyncpg.PostgresError) as e:
        raise EmailIntakeStartError(f"cannot open the database (DESK_DATABASE_URL): {e}") from e
    try:
        try:
            server, _ = await start_email_intake(
                IntakeService(client, settings, pool=pool), host, port, recipients=recipients_from(recipients)
            )
        except OSError as e:
            raise EmailIntakeStartError(
                f"cannot listen on {host}:{port}: {e.strerror or e}. "
                "Choose another port with DESK_EMAIL_INTAKE_PORT."
            ) from e
        bound = server.sockets[0].getsockname()[1]
        log.info(LISTENING_EVENT, address=f"{host}:{bound}", recipients=recipients or "any")
        if on_listening is not None:
            on_listening(bound)
        async with server:
            await server.serve_forever()
    finally:
        await pool.close()


async def run_email_intake(settings: Settings) -> int:
    """`desk email-intake`: serve until SIGTERM / SIGINT; returns the process exit code (2: cannot start)."""
    structlog.contextvars.bind_contextvars(process="email-intake")
    # aiosmtpd logs every SMTP command (senders' addresses included) at INFO; we log one line per message.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    if not settings.database_url:
        log.error("email intake cannot start", reason="DESK_DATABASE_URL is not set")
        return 2
    serving = asyncio.create_task(serve_email_intake(settings))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, serving.cancel)
    try:
        await serving
    except asyncio.CancelledError:
        log.info("email intake stopped")
        return 0
    except EmailIntakeStartError as e:
        log.error("email intake cannot start", reason=str(e))
        return 2
    return 0
