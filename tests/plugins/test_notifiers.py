"""Failure alerts against real servers on loopback: SMTP (aiosmtpd, STARTTLS + AUTH) and a webhook recorder."""

from __future__ import annotations

import email.policy
from dataclasses import dataclass

import pytest
from mmgov_airflow.notifiers import (
    SMTP_CONN_ID,
    WEBHOOK_CONN_ID,
    ConfiguredSmtpNotifier,
    MattermostWebhookNotifier,
    alert_text,
)

from tests.support.webhook import WebhookServer


@dataclass
class FakeTI:
    dag_id: str = "compliance_export"
    task_id: str = "reconcile"
    run_id: str = "scheduled__2026-01-02T01:00:00+00:00"
    try_number: int = 3
    log_url: str = "http://airflow.local/log?x=1"


def _context(exc: Exception | None = None) -> dict:
    return {
        "ti": FakeTI(),
        "task_instance": FakeTI(),
        "exception": exc or RuntimeError("database has 5 posts\nmore"),
    }


@pytest.fixture
def smtp_conn(monkeypatch, smtp_server):
    import json

    conn = json.loads(smtp_server.airflow_conn_json())
    conn["extra"]["to"] = "ops@example.com, compliance@example.com"
    monkeypatch.setenv("AIRFLOW_CONN_" + SMTP_CONN_ID.upper(), json.dumps(conn))
    return smtp_server


class TestAlertText:
    def test_first_line_of_the_error_and_where(self):
        text = alert_text(_context())
        assert text.splitlines() == [
            "mmgov: task failed: compliance_export.reconcile",
            "run scheduled__2026-01-02T01:00:00+00:00, try 3",
            "error: RuntimeError: database has 5 posts",
            "log: http://airflow.local/log?x=1",
        ]

    def test_without_exception(self):
        assert "error: Error: unknown error" in alert_text({"ti": FakeTI()})


class TestSmtpNotifier:
    def test_mail_arrives_over_starttls_with_auth(self, smtp_conn):
        ConfiguredSmtpNotifier()(_context())
        (msg,) = smtp_conn.messages
        assert msg.mail_from == "mmgov-alerts@example.com"
        assert sorted(msg.rcpt_tos) == ["compliance@example.com", "ops@example.com"]
        parsed = msg.message
        assert parsed["Subject"] == "mmgov alert: compliance_export.reconcile failed"
        body = parsed.get_payload(decode=False)
        html = body[0].get_payload(decode=True).decode() if isinstance(body, list) else str(body)
        assert "compliance_export.reconcile" in html
        assert "database has 5 posts" in html

    def test_skipped_without_connection(self, smtp_server, monkeypatch):
        monkeypatch.delenv("AIRFLOW_CONN_" + SMTP_CONN_ID.upper(), raising=False)
        ConfiguredSmtpNotifier()(_context())
        assert smtp_server.messages == []

    def test_missing_recipients_is_a_clear_error(self, monkeypatch, smtp_server):
        monkeypatch.setenv("AIRFLOW_CONN_" + SMTP_CONN_ID.upper(), smtp_server.airflow_conn_json())
        with pytest.raises(ValueError, match="set extra 'to'"):
            ConfiguredSmtpNotifier()(_context())

    def test_server_refusal_raises(self, smtp_conn):
        smtp_conn.recorder.fail_plan[1] = (554, "5.7.1 rejected")
        with pytest.raises(Exception, match=r"rejected|554"):
            ConfiguredSmtpNotifier()(_context())


class TestWebhookNotifier:
    def test_post_arrives_with_text_and_extras(self, monkeypatch):
        with WebhookServer() as hook:
            monkeypatch.setenv(
                "AIRFLOW_CONN_" + WEBHOOK_CONN_ID.upper(),
                hook.airflow_conn_json(key="abc123", channel="compliance-alerts", username="mmgov"),
            )
            MattermostWebhookNotifier()(_context())
        (call,) = hook.calls
        assert call.path == "/hooks/abc123"
        assert call.body["channel"] == "compliance-alerts"
        assert call.body["username"] == "mmgov"
        assert call.body["text"].startswith("mmgov: task failed: compliance_export.reconcile")
        assert call.headers["Content-Type"].startswith("application/json")

    def test_skipped_without_connection(self, monkeypatch):
        monkeypatch.delenv("AIRFLOW_CONN_" + WEBHOOK_CONN_ID.upper(), raising=False)
        MattermostWebhookNotifier()(_context())  # no error, nothing sent

    def test_missing_key_is_a_clear_error(self, monkeypatch):
        with WebhookServer() as hook:
            monkeypatch.setenv("AIRFLOW_CONN_" + WEBHOOK_CONN_ID.upper(), hook.airflow_conn_json(key=""))
            with pytest.raises(ValueError, match="webhook key"):
                MattermostWebhookNotifier()(_context())
        assert hook.calls == []

    def test_http_error_raises(self, monkeypatch):
        with WebhookServer(status=500) as hook:
            monkeypatch.setenv("AIRFLOW_CONN_" + WEBHOOK_CONN_ID.upper(), hook.airflow_conn_json())
            with pytest.raises(Exception, match="500"):
                MattermostWebhookNotifier()(_context())
        assert len(hook.calls) == 1


def test_message_is_valid_email(smtp_conn):
    ConfiguredSmtpNotifier()(_context(ValueError("bad <value> & more")))
    (msg,) = smtp_conn.messages
    parsed = email.message_from_bytes(msg.data, policy=email.policy.default)
    html = parsed.get_body(preferencelist=("html",)).get_content()
    assert "bad &lt;value&gt; &amp; more" in html  # escaped in the HTML body
