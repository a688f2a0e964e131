"""E-mail threads: which complaint a reply belongs to, and the replies e-mail intake sends itself.

A mail joins an existing complaint when its In-Reply-To / References name a Message-ID we know (a mail the
complaint was filed from, a reply intake sent, or any e-mail the notifier sent about it), or when its
subject carries a complaint number and the sender is that complaint's customer (a number alone is not
proof: anyone can type one).

Intake replies itself only where the workflow's own confirmation cannot say it: the fields still needed
(order / waybill number, what went wrong), attachments left out, or why a mail could not be filed at all.
The reply goes to the sender in the sender's language, threaded to their mail, with the number and the
status link; the SMTP answer stays for machines. A reply that cannot be sent is logged, never fatal.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
import structlog

from core.settings import Settings

log = structlog.get_logger()

COMPLAINT_NUMBER_RE = re.compile(r"\bC-\d{8}-[23456789A-HJ-NP-Z]{6}\b")
_MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")


def message_ids(*headers: str | None) -> list[str]:
    """Every <id@host> in In-Reply-To / References, newest first (References lists the oldest first)."""
    found: list[str] = []
    for header in headers:
        found += _MESSAGE_ID_RE.findall(header or "")
    return list(dict.fromkeys(reversed(found)))


def number_in_subject(subject: str) -> str | None:
    m = COMPLAINT_NUMBER_RE.search(subject.upper())
    return m.group(0) if m else None


# ------------------------------------------------------------------------------------------ the replies

# What to ask for, per missing field, in the sender's language.
_ASK = {
    "zh-CN": {
        "order_number": "订单号或运单号（例如 SF1234567890）",
        "category": "遇到的问题：丢件、破损、延误、变质、错送、质量、服务态度、发票……",
    },
    "en": {
        "order_number": "the order or waybill number (for example SF1234567890)",
        "category": "what went wrong: lost, damaged, late, spoiled, wrong address, quality, service, invoice …",
    },
}


@dataclass
class Reply:
    to: str
    locale: str  # zh-CN | en
    subject: str  # the sender's subject
    in_reply_to: str | None
    references: str | None
    complaint_id: str | None = None
    status_url: str | None = None
    missing: list[str] = field(default_factory=list)  # fields to ask for
    dropped: list[str] = field(default_factory=list)  # attachments left out, with the reason
    refusal: list[str] = field(default_factory=list)  # why the mail could not be filed

    def text(self) -> str:
        zh = self.locale == "zh-CN"
        lines: list[str] = []
        if self.complaint_id:
            lines.append(
                f"您好，您的来信已登记为投诉 {self.complaint_id}。"
                if zh
                else f"Hello, your mail has been filed as complaint {self.complaint_id}."
            )
            if self.status_url:
                lines.append(
                    f"处理进度可在此查看：{self.status_url}" if zh else f"Follow it here: {self.status_url}"
                )
            if self.missing:
                lines.append("")
                lines.append(
                    "为尽快处理，请直接回复本邮件并告诉我们："
                    if zh
                    else "To handle it quickly, please reply to this mail with:"
                )
                lines += [f"- {_ASK[self.locale][m]}" for m in self.missing]
        else:
            lines.append(
                "您好，很抱歉，您的来信未能登记为投诉，原因如下："
                if zh
                else "Hello, we are sorry: your mail could not be filed as a complaint, because:"
            )
            lines += [f"- {r}" for r in self.refusal]
            lines.append("")
            lines.append(
                "请修改后重新发送，或拨打客服热线。"
                if zh
                else "Please send it again with this fixed, or call our hotline."
            )
        if self.dropped:
            lines.append("")
            lines.append("以下附件未能保存：" if zh else "These attachments were not kept:")
            lines += [f"- {d}" for d in self.dropped]
        return "\n".join(lines) + "\n"

    def mail(self, sender: str) -> EmailMessage:
        subject = self.subject or ("您的来信" if self.locale == "zh-CN" else "Your mail")
        if self.complaint_id and self.complaint_id not in subject:
            subject = f"{subject} [{self.complaint_id}]"
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = self.to
        mail["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        mail["Date"] = formatdate(usegmt=True)
        domain = sender.rsplit("@", 1)[-1].rstrip(">") or "localhost"
        mail["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)
        if self.in_reply_to:
            mail["In-Reply-To"] = self.in_reply_to
            mail["References"] = " ".join(p for p in (self.references, self.in_reply_to) if p)
        if self.complaint_id:
            mail["X-Complaint-Id"] = self.complaint_id
        mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: other robots do not answer it
        mail.set_content(self.text())
        return mail


async def send_reply(settings: Settings, reply: Reply) -> str | None:
    """Send it through the outgoing SMTP server of the notifications; returns its Message-ID, or None."""
    mail = reply.mail(settings.mail_from)
    try:
        await aiosmtplib.send(
            mail,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            timeout=15,
        )
    except (aiosmtplib.SMTPException, OSError) as e:
        log.error("intake reply not sent", complaint_id=reply.complaint_id, error=f"{type(e).__name__}: {e}")
        return None
    return mail["Message-ID"]
