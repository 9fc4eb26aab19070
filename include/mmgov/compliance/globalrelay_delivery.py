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
text; it is an ``AirflowFailException``, so Airflow fails the task without retrying (no retry would
help) and alerts. Missing configuration raises :class:`GlobalRelayConfigError` (also no retry).

Memory: emails are streamed from the zip to the socket in 1 MiB chunks (dot-stuffed, CRLF), never
held whole.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email import policy as email_policy
from email.parser import HeaderParser
from functools import cached_property
from pathlib import Path
from typing import IO, Any

import psycopg
from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from mmgov.errors import MmgovError, SettingsError
from mmgov.settings import GlobalRelaySettings, Settings
from mmgov.state import SCHEMA, ensure_mmgov_schema, register_ddl

register_ddl("globalrelay.sql")

log = logging.getLogger(__name__)

GLOBALRELAY_CONN_ID = "globalrelay_smtp"
CUSTOMER_SERVERS = {"A9": ("mailarchivespool1.globalrelay.com", 25), "A10": ("feeds.globalrelay.com", 25)}
MAX_EMAILS_PER_CONNECTION = 400  # Global Relay closes connections after 400 messages (Mattermost's constant)
LEDGER_TABLE = f"{SCHEMA}.globalrelay_delivery"
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


class GlobalRelayPermanentError(GlobalRelayDeliveryError, AirflowFailException):
    """The SMTP server refused for good (5xx): retrying cannot help. Carries the reply code and text."""

    code = "GLOBAL_RELAY_SMTP_REJECTED"
    status = 502

    def __init__(self, message: str, *, smtp_code: int | None = None, smtp_text: str = ""):
        super().__init__(message)
        self.smtp_code = smtp_code
        self.smtp_text = smtp_text


class GlobalRelayConfigError(GlobalRelayDeliveryError, SettingsError, AirflowFailException):
    """Global Relay delivery is not configured well enough to try (a setting or the connection): no retry."""

    code = "GLOBAL_RELAY_NOT_CONFIGURED"
    status = 400


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


class GlobalRelaySmtpHook(SmtpHook):
    """The smtp provider's hook, talking to the server chosen by ``CustomerType`` (not the connection's host)."""

    def __init__(self, smtp_conn_id: str = GLOBALRELAY_CONN_ID, *, server: tuple[str, int] | None = None):
        super().__init__(smtp_conn_id=smtp_conn_id)
        self._server = server

    @property
    def host(self) -> str:
        return self._server[0] if self._server else super().host

    @property
    def port(self) -> int:
        return self._server[1] if self._server else super().port

    @property
    def client(self) -> smtplib.SMTP:
        """The logged-in client of :meth:`get_conn`."""
        if self._smtp_client is None:
            raise GlobalRelayTemporaryError("not connected to the Global Relay SMTP server")
        return self._smtp_client  # type: ignore[return-value]

    def check_config(self) -> None:
        """Refuse a connection that would send in clear text, without AUTH, or with a bad ssl_context."""
        where = f"Airflow connection {self.smtp_conn_id}"
        try:
            self.smtp_connection = self.get_connection(self.smtp_conn_id)
        except Exception as exc:
            raise GlobalRelayConfigError(
                f"{where} is missing ({exc}); create it (type smtp) with the Global Relay SMTP login, "
                "password and TLS options"
            ) from exc
        if not (self.smtp_starttls or self.use_ssl):
            raise GlobalRelayConfigError(
                f"{where} disables both STARTTLS (disable_tls) and SSL (disable_ssl); Global Relay needs TLS"
            )
        if not (self.smtp_user and self.smtp_password):
            raise GlobalRelayConfigError(f"{where} needs a login and a password (Global Relay SMTP AUTH)")
        if self.ssl_context not in (None, "default", "none"):
            raise GlobalRelayConfigError(
                f"{where}: extra ssl_context must be 'default' or 'none'; got {self.ssl_context!r}"
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


def _send_data(client: smtplib.SMTP, stream: IO[bytes]) -> None:
    """Stream a message body after DATA: CRLF line ends, leading dots doubled, then ``.``."""
    carry = b""
    at_line_start = True
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        data = carry + chunk
        if data.endswith(b"\r"):  # a CRLF may straddle two chunks
            data, carry = data[:-1], b"\r"
        else:
            carry = b""
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if not data:
            continue
        if at_line_start and data.startswith(b"."):
            data = b"." + data
        data = data.replace(b"\n.", b"\n..")
        at_line_start = data.endswith(b"\n")
        client.send(data)
    if carry:
        client.send(b"\r\n")
        at_line_start = True
    client.send((b"" if at_line_start else b"\r\n") + b".\r\n")


# --- the ledger ----------------------------------------------------------------------------------


class DeliveryLedger:
    """``mmgov.globalrelay_delivery``: which emails the server accepted (autocommit, one row per email)."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.conn.autocommit = True
        ensure_mmgov_schema(conn)

    @classmethod
    @contextmanager
    def open(cls) -> Iterator[DeliveryLedger]:
        """On the ``mattermost_db`` connection (the mmgov schema lives in the Mattermost database)."""
        from mmgov.db import hook_connection

        conn = hook_connection()
        try:
            yield cls(conn)
        finally:
            conn.close()

    def delivered(self, key: str) -> set[tuple[int, str]]:
        rows = self.conn.execute(
            f"SELECT email_index, sha256 FROM {LEDGER_TABLE} WHERE delivery_key = %s", (key,)
        ).fetchall()
        return {(int(i), s) for i, s in rows}

    def sent(self, keys: list[str]) -> list[dict[str, Any]]:
        """The ledger rows of these delivery keys, in key and email order (the custody manifest)."""
        rows = self.conn.execute(
            f"SELECT delivery_key, email_index, email_name, message_id, sha256, size_bytes, rcpt_to,"
            f" smtp_server, smtp_reply, sent_at FROM {LEDGER_TABLE} WHERE delivery_key = ANY(%s)"
            " ORDER BY delivery_key, email_index",
            (keys,),
        ).fetchall()
        names = ("delivery_key", "email_index", "email_name", "message_id", "sha256", "size")
        names += ("rcpt_to", "smtp_server", "smtp_reply", "sent_at")
        return [dict(zip(names, (*r[:9], r[9].isoformat()), strict=True)) for r in rows]

    def record(self, key: str, entry: EmlEntry, rcpt: str, server: str, reply: str) -> None:
        self.conn.execute(
            f"INSERT INTO {LEDGER_TABLE} (delivery_key, email_index, sha256, email_name, size_bytes, mail_from,"
            " rcpt_to, smtp_server, smtp_reply, message_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (
                key,
                entry.index,
                entry.sha256,
                entry.name,
                entry.size,
                entry.mail_from,
                rcpt,
                server,
                reply,
                entry.message_id,
            ),
        )


# --- SMTP ----------------------------------------------------------------------------------------


def _reply_text(raw: Any) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def classify(exc: BaseException) -> tuple[bool, int | None, str]:
    """(permanent?, reply code, reply text) of an SMTP failure; 5xx and TLS/AUTH misfits are permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, text = next(iter(exc.recipients.values()))
        return 500 <= code < 600, code, _reply_text(text)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return 500 <= code < 600, code, _reply_text(exc.smtp_error)
    if isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError):
        return True, None, str(exc)
    return False, None, str(exc) or type(exc).__name__


_TRANSIENT = (smtplib.SMTPException, OSError, AirflowException)  # OSError covers timeouts and TLS errors


@dataclass
class SmtpSession:
    """One SMTP conversation at a time through :class:`GlobalRelaySmtpHook`, reopened every N emails."""

    conn_id: str
    server: tuple[str, int]
    emails_per_connection: int = MAX_EMAILS_PER_CONNECTION
    retry: RetryPolicy = field(default_factory=lambda: DEFAULT_RETRY)
    connections: int = 0
    retries: int = 0
    _hook: GlobalRelaySmtpHook | None = None
    _on_connection: int = 0

    @cached_property
    def describe(self) -> str:
        return f"{self.server[0]}:{self.server[1]}"

    def _client(self) -> smtplib.SMTP:
        if self._hook is not None and self._on_connection >= self.emails_per_connection:
            self.close()
        if self._hook is None:
            hook = GlobalRelaySmtpHook(self.conn_id, server=self.server)
            try:
                hook.get_conn()  # connect, STARTTLS, EHLO, AUTH
            except BaseException:
                if hook._smtp_client is not None:
                    hook.__exit__(None, None, None)
                raise
            self._hook, self._on_connection = hook, 0
            self.connections += 1
        return self._hook.client

    def close(self) -> None:
        hook, self._hook = self._hook, None
        if hook is None or hook._smtp_client is None:
            return
        with suppress(smtplib.SMTPException, OSError):
            hook.client.quit()
        hook.__exit__(None, None, None)

    def send(self, entry: EmlEntry, rcpt: str, opener: Callable[[], IO[bytes]]) -> str:
        """Mail one email (retrying temporary failures); returns the server's final reply."""
        for attempt in range(self.retry.attempts):
            try:
                reply = self._transmit(self._client(), entry, rcpt, opener)
            except _TRANSIENT as exc:
                self.close()
                permanent, code, text = classify(exc)
                what = f"Global Relay SMTP server {self.describe} did not accept {entry.name!r} (email {entry.index})"
                if permanent:
                    raise GlobalRelayPermanentError(
                        f"{what}: {code} {text}" if code else f"{what}: {text}",
                        smtp_code=code,
                        smtp_text=text,
                    ) from exc
                if attempt + 1 >= self.retry.attempts:
                    raise GlobalRelayTemporaryError(
                        f"{what} after {self.retry.attempts} tries: "
                        + (f"{code} {text}" if code else text)
                        + " (temporary; the task retry resumes after the emails already accepted)"
                    ) from exc
                delay = self.retry.delays[attempt]
                log.warning("%s: %s %s; retrying in %.1f s", what, code or "", text, delay)
                self.retries += 1
                self.retry.sleep(delay)
                continue
            self._on_connection += 1
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _transmit(client: smtplib.SMTP, entry: EmlEntry, rcpt: str, opener: Callable[[], IO[bytes]]) -> str:
        options = [f"SIZE={entry.size}"] if client.has_extn("size") else []
        client.command_encoding = "ascii"
        if not (entry.mail_from.isascii() and rcpt.isascii()):
            # An internationalised address (RFC 6531): only over SMTPUTF8, never mangled.
            if not client.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError(
                    f"the address {entry.mail_from if not entry.mail_from.isascii() else rcpt!r} is not ASCII "
                    "and the server does not offer SMTPUTF8"
                )
            options.append("SMTPUTF8")
            client.command_encoding = "utf-8"
        code, text = client.mail(entry.mail_from, options)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, text, entry.mail_from)
        code, text = client.rcpt(rcpt)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({rcpt: (code, text)})
        code, text = client.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, text)
        with opener() as stream:
            _send_data(client, stream)
        code, text = client.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, text)
        return f"{code} {_reply_text(text)}"

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
