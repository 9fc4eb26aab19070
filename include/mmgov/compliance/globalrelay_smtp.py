"""The SMTP conversation of a Global Relay delivery, through the smtp provider's ``SmtpHook``.

This module is Airflow-bound on purpose: the hook reads the ``globalrelay_smtp`` Airflow connection
(credentials, TLS options, timeout); :func:`mmgov.compliance.globalrelay_delivery.deliver_zip` imports it
only when there is something to mail. Emails are streamed to the socket in 1 MiB chunks
(dot-stuffed, CRLF); a temporary failure is retried here with backoff, a permanent one raised at once.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, Any

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk.exceptions import AirflowException

from mmgov.compliance.globalrelay_delivery import (
    DEFAULT_RETRY,
    GLOBALRELAY_CONN_ID,
    MAX_EMAILS_PER_CONNECTION,
    EmlEntry,
    GlobalRelayConfigError,
    GlobalRelayPermanentError,
    GlobalRelayTemporaryError,
    RetryPolicy,
)

log = logging.getLogger(__name__)
_CHUNK = 1024 * 1024  # an email goes to the socket in chunks of this size, never whole


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
