"""Mail a batch's Global Relay emails over SMTP (STARTTLS + AUTH), each exactly once.

Safety rule: an email the server accepted is never mailed again. Every ``.eml`` of a batch zip is
identified by (delivery key, index in the zip, SHA-256 of its bytes); right after the server's 250
reply to its DATA, that identity is written to the ledger table ``mmgov.globalrelay_delivery``
(autocommit). A retried task, a re-run of the window or a resumed delivery skips whatever the ledger
holds and sends the rest. The only window for a duplicate is a crash between the 250 and the ledger
write (milliseconds); the emails carry a deterministic ``Message-ID`` so the archive can de-duplicate
even then. To mail a batch again on purpose, delete its ledger rows (see ``sql/globalrelay.sql``).

Server: ``GlobalRelaySettings.CustomerType`` ``A9`` -> ``mailarchivespool1.globalrelay.com:25``,
``A10`` -> ``feeds.globalrelay.com:25``, ``CUSTOM`` -> ``CustomSMTPServerName``:``CustomSMTPPort``
(or the connection's host and port when no server name is set). Credentials, TLS options and the
socket timeout come from the Airflow connection ``globalrelay_smtp`` (type smtp), used through the
smtp provider's ``SmtpHook``; TLS (STARTTLS, or SSL on connect) and a login are required. MAIL FROM
is the email's ``From``, RCPT TO is ``GlobalRelaySettings.EmailAddress``. The connection is reopened
every 400 emails (Global Relay's limit per connection, as Mattermost does).

Failures: a temporary one (a 4xx reply, a timeout, a dropped or refused connection) is retried in the
task with backoff (1, 2 and 4 s by default), then raises :class:`GlobalRelayTemporaryError` so the
Airflow task retry resumes after the ledger. A permanent one (a 5xx reply: refused sender, recipient
or message, failed AUTH) raises :class:`GlobalRelayPermanentError` with the server's reply code and
text; it is not ``retryable``, so the task edge fails the task without retrying (no retry would help)
and alerts. Missing configuration raises :class:`GlobalRelayConfigError` (also no retry).

Memory: emails are streamed from the zip to the socket in 1 MiB chunks (dot-stuffed, CRLF), never
held whole. The ledger is :mod:`~mmgov.compliance.globalrelay_ledger`; the SMTP conversation (the
smtp provider's hook, so Airflow-bound) is :mod:`~mmgov.compliance.globalrelay_smtp`.
"""

from __future__ import annotations

import hashlib
import logging
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy as email_policy
from email.parser import HeaderParser
from pathlib import Path

from mmgov.compliance.globalrelay_ledger import DeliveryLedger
from mmgov.errors import MmgovError, SettingsError
from mmgov.settings import GlobalRelaySettings, Settings

log = logging.getLogger(__name__)

GLOBALRELAY_CONN_ID = "globalrelay_smtp"
CUSTOMER_SERVERS = {"A9": ("mailarchivespool1.globalrelay.com", 25), "A10": ("feeds.globalrelay.com", 25)}
MAX_EMAILS_PER_CONNECTION = 400  # Global Relay closes connections after 400 messages (Mattermost's constant)
_CHUNK = 1024 * 1024
_MAX_HEADER_BYTES = 1024 * 1024
_SETTINGS_KEY = "MessageExportSettings.GlobalRelaySettings"


class GlobalRelayDeliveryError(MmgovError):
    """Global Relay delivery failed."""

    code = "GLOBAL_RELAY_DELIVERY_FAILED"
    status = 502


class GlobalRelayTemporaryError(GlobalRelayDeliveryError):
    """The SMTP server could not take an email now (4xx, timeout, lost connection): retry later."""

    code = "GLOBAL_RELAY_SMTP_TEMPORARY_FAILURE"
    status = 503
    retryable = True  # mmgov.outcome.is_deterministic: keeps its retries


class GlobalRelayPermanentError(GlobalRelayDeliveryError):
    """The SMTP server refused for good (5xx): retrying cannot help. Carries the reply code and text."""

    code = "GLOBAL_RELAY_SMTP_REJECTED"
    status = 502
    retryable = False  # the task edge fails the task at once: no Airflow retry

    def __init__(self, message: str, *, smtp_code: int | None = None, smtp_text: str = ""):
        super().__init__(message)
        self.smtp_code = smtp_code
        self.smtp_text = smtp_text


class GlobalRelayConfigError(GlobalRelayDeliveryError, SettingsError):
    """Global Relay delivery is not configured well enough to try (a setting or the connection): no retry."""

    code = "GLOBAL_RELAY_NOT_CONFIGURED"
    status = 400
    retryable = False  # the task edge fails the task at once: no Airflow retry


@dataclass(frozen=True)
class RetryPolicy:
    """In-task retries of a temporary failure: wait ``delays[i]`` seconds before try ``i + 2``."""

    delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    sleep: Callable[[float], None] = time.sleep

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1


DEFAULT_RETRY = RetryPolicy()


# --- configuration -------------------------------------------------------------------------------


def recipient(gr: GlobalRelaySettings) -> str:
    """``GlobalRelaySettings.EmailAddress`` (required)."""
    address = gr.EmailAddress.strip()
    if not address:
        raise GlobalRelayConfigError(
            f"{_SETTINGS_KEY}.EmailAddress is empty: set the address Global Relay gave you "
            "(every email of the export is sent to it)"
        )
    return address


def smtp_server(
    gr: GlobalRelaySettings, conn_host: str = "", conn_port: int | None = None
) -> tuple[str, int]:
    """The SMTP server for ``CustomerType``: A9 / A10 are Global Relay's; CUSTOM is configured."""
    if gr.CustomerType in CUSTOMER_SERVERS:
        return CUSTOMER_SERVERS[gr.CustomerType]
    if gr.CustomerType != "CUSTOM":
        raise GlobalRelayConfigError(
            f"{_SETTINGS_KEY}.CustomerType must be one of A9, A10, CUSTOM; got {gr.CustomerType!r}"
        )
    if gr.CustomSMTPServerName:
        return gr.CustomSMTPServerName, int(gr.CustomSMTPPort)
    if conn_host:
        return conn_host, int(conn_port or gr.CustomSMTPPort)
    raise GlobalRelayConfigError(
        f"{_SETTINGS_KEY}.CustomerType is CUSTOM but neither {_SETTINGS_KEY}.CustomSMTPServerName nor the "
        f"host of the Airflow connection {GLOBALRELAY_CONN_ID} is set"
    )


# --- the emails of a zip -------------------------------------------------------------------------


@dataclass(frozen=True)
class EmlEntry:
    """One email of a batch zip: its place, identity and envelope sender."""

    index: int
    name: str
    size: int
    sha256: str
    mail_from: str
    message_id: str = ""


def scan_zip(zf: zipfile.ZipFile) -> list[EmlEntry]:
    """Every ``.eml`` entry in zip order, with its SHA-256 and ``From`` address (one streaming pass each)."""
    entries = []
    emls = [info for info in zf.infolist() if info.filename.endswith(".eml")]
    for index, info in enumerate(emls):
        digest = hashlib.sha256()
        head = bytearray()
        header_done = False
        with zf.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                if not header_done:
                    head += chunk
                    end = head.find(b"\r\n\r\n")
                    if end >= 0:
                        del head[end + 2 :]
                        header_done = True
                    elif len(head) > _MAX_HEADER_BYTES:
                        raise GlobalRelayPermanentError(f"{info.filename}: no end of the header block")
        try:  # our headers are ASCII or raw UTF-8 (RFC 6532 addresses, sent over SMTPUTF8)
            text = bytes(head).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GlobalRelayPermanentError(f"{info.filename}: the header block is not UTF-8") from exc
        headers = HeaderParser(policy=email_policy.default).parsestr(text)
        sender = headers.get("From")
        addresses = getattr(sender, "addresses", ()) if sender is not None else ()
        if not addresses or not addresses[0].addr_spec:
            raise GlobalRelayPermanentError(f"{info.filename}: the email has no From address")
        entries.append(
            EmlEntry(
                index,
                info.filename,
                info.file_size,
                digest.hexdigest(),
                addresses[0].addr_spec,
                str(headers.get("Message-ID") or "").strip(),
            )
        )
    return entries


# --- delivery of one batch -----------------------------------------------------------------------


@dataclass
class DeliveryReport:
    """What one batch's delivery did (summed over batches in the run summary)."""

    emails: int = 0
    sent: int = 0
    already_sent: int = 0
    bytes_sent: int = 0
    connections: int = 0
    retries: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "emails": self.emails,
            "emails_sent": self.sent,
            "emails_already_sent": self.already_sent,
            "bytes_sent": self.bytes_sent,
            "smtp_connections": self.connections,
            "smtp_retries": self.retries,
        }


def deliver_zip(
    zip_path: Path,
    *,
    key: str,
    settings: Settings,
    ledger: DeliveryLedger | None = None,
    conn_id: str = GLOBALRELAY_CONN_ID,
    emails_per_connection: int | None = None,
    retry: RetryPolicy | None = None,
) -> DeliveryReport:
    """Mail every ``.eml`` of ``zip_path`` not yet in the ledger under ``key``, in zip order."""
    gr = settings.MessageExportSettings.GlobalRelaySettings
    rcpt = recipient(gr)
    report = DeliveryReport()
    with zipfile.ZipFile(zip_path) as zf:
        entries = scan_zip(zf)
        report.emails = len(entries)
        if not entries:
            return report
        with _ledger(ledger) as book:
            done = book.delivered(key)
            todo = [e for e in entries if (e.index, e.sha256) not in done]
            report.already_sent = len(entries) - len(todo)
            if todo:
                from mmgov.compliance.globalrelay_smtp import GlobalRelaySmtpHook, SmtpSession

                hook = GlobalRelaySmtpHook(conn_id)
                hook.check_config()
                server = smtp_server(gr, hook.smtp_connection.host or "", hook.smtp_connection.port)
                session = SmtpSession(
                    conn_id,
                    server,
                    emails_per_connection or MAX_EMAILS_PER_CONNECTION,
                    retry or DEFAULT_RETRY,
                )
                try:
                    with session:
                        for entry in todo:
                            reply = session.send(entry, rcpt, lambda e=entry: zf.open(e.name))
                            book.record(key, entry, rcpt, session.describe, reply)
                            report.sent += 1
                            report.bytes_sent += entry.size
                finally:
                    report.connections, report.retries = session.connections, session.retries
    log.info(
        "Global Relay delivery of %s to %s: %d emails, %d sent now, %d already sent, %d connections",
        key,
        rcpt,
        report.emails,
        report.sent,
        report.already_sent,
        report.connections,
    )
    return report


@contextmanager
def _ledger(ledger: DeliveryLedger | None) -> Iterator[DeliveryLedger]:
    if ledger is not None:
        yield ledger
        return
    with DeliveryLedger.open() as opened:
        yield opened
