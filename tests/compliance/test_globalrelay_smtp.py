"""mmgov.compliance.globalrelay_smtp: the SMTP session's details, the reply classification the
retries rely on and the DATA stream (RFC 5321 section 4.5.2 dot-stuffing, CRLF line ends).

Delivery through a loopback SMTP server end to end is tests/compliance/test_globalrelay_delivery.py.
"""

from __future__ import annotations

import io
import smtplib

import pytest

import mmgov.compliance.globalrelay_smtp as grs
from mmgov.compliance.globalrelay_smtp import classify


class TestSmtpDetails:
    @pytest.mark.parametrize(
        ("exc", "expected"),
        [
            (smtplib.SMTPDataError(451, b"4.3.0 later"), (False, 451, "4.3.0 later")),
            (smtplib.SMTPDataError(554, b"5.7.1 no"), (True, 554, "5.7.1 no")),
            (smtplib.SMTPSenderRefused(553, b"bad sender", "x@y"), (True, 553, "bad sender")),
            (smtplib.SMTPRecipientsRefused({"a@b": (550, b"no such user")}), (True, 550, "no such user")),
            (smtplib.SMTPRecipientsRefused({"a@b": (450, b"mailbox busy")}), (False, 450, "mailbox busy")),
            (smtplib.SMTPAuthenticationError(535, b"auth failed"), (True, 535, "auth failed")),
            (smtplib.SMTPServerDisconnected("gone"), (False, None, "gone")),
            (TimeoutError(), (False, None, "TimeoutError")),
            (ConnectionRefusedError(111, "refused"), (False, None, "[Errno 111] refused")),
            (
                smtplib.SMTPNotSupportedError("STARTTLS extension not supported"),
                (True, None, "STARTTLS extension not supported"),
            ),
        ],
        ids=[
            "4xx",
            "5xx",
            "sender",
            "rcpt-5xx",
            "rcpt-4xx",
            "auth",
            "disconnect",
            "timeout",
            "refused",
            "no-tls",
        ],
    )
    def test_classify(self, exc, expected):
        assert classify(exc) == expected

    @pytest.mark.parametrize("chunk", [1, 2, 3, 1 << 20], ids=["1", "2", "3", "1MiB"])
    def test_data_is_dot_stuffed_with_crlf(self, monkeypatch, chunk):
        monkeypatch.setattr(grs, "_CHUNK", chunk)

        class Client:
            sent = b""

            def send(self, data):
                self.sent += data

        for raw, wire in [
            (b"a\r\n.b\r\n..c\r\nd", b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"),
            (b".start\r\nx\r\n", b"..start\r\nx\r\n.\r\n"),
            (b"bare\nlf\n.x\r", b"bare\r\nlf\r\n..x\r\n.\r\n"),
            (b"", b".\r\n"),
        ]:
            client = Client()
            grs._send_data(client, io.BytesIO(raw))
            assert client.sent == wire, (raw, chunk)
