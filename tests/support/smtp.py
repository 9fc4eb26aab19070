"""A real SMTP server on loopback (aiosmtpd) with STARTTLS and AUTH, recording what it accepts.

``fail_plan`` injects faults: ``{3: (451, "4.3.0 try later")}`` answers the 3rd DATA with that
reply (once); a 5xx is permanent; code ``0`` drops the connection instead of replying. Accepted
messages are kept in ``messages``; ``connections`` counts client connections (one per peer address).
"""

from __future__ import annotations

import datetime as dt
import email
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "gr-user"
PASSWORD = "gr-secret-pw"


def _self_signed_context(workdir: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "cert.pem", workdir / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str] = field(default_factory=list)

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.data)


@dataclass
class Recorder:
    """The aiosmtpd handler: accepts, records, and fails on plan."""

    fail_plan: dict[int, tuple[int, str]] = field(default_factory=dict)
    messages: list[Received] = field(default_factory=list)
    data_attempts: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    peers: set = field(default_factory=set)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:  # EHLO comes again after STARTTLS on the same connection: count peers
            if session.peer not in self.peers:
                self.peers.add(session.peer)
                self.connections += 1
        return responses

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_attempts += 1
            planned = self.fail_plan.pop(self.data_attempts, None)
            if planned is not None:
                code, text = planned
                if code == 0:  # a dropped connection: no reply at all
                    server.transport.close()
                    return "421 4.4.2 connection dropped"
                return f"{code} {text}"
            self.messages.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content,
                    list(envelope.mail_options),
                )
            )
        return "250 2.0.0 OK queued"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """STARTTLS + AUTH SMTP server on 127.0.0.1 (a free port)."""

    def __init__(self, *, smtputf8: bool = True):
        self._tmp = tempfile.TemporaryDirectory(prefix="mmgov-smtp-")
        self.recorder = Recorder()
        context = _self_signed_context(Path(self._tmp.name))
        self.port = free_port()
        self.controller = Controller(
            self.recorder,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            authenticator=_authenticator,
            auth_required=True,
            auth_require_tls=True,
            server_hostname="localhost",
            enable_SMTPUTF8=smtputf8,
        )

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
        self._tmp.cleanup()

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

    def airflow_conn_json(self) -> str:
        """An Airflow ``smtp`` connection to this server (STARTTLS, AUTH, self-signed cert)."""
        import json

        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "login": USERNAME,
                "password": PASSWORD,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": False,
                    "timeout": 10,
                    "retry_limit": 0,
                    "from_email": "mmgov-alerts@example.com",
                    "ssl_context": "none",
                },
            }
        )
