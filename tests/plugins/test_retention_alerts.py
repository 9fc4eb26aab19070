"""The alert when a person rejects a retention run, through a real webhook on loopback."""

from __future__ import annotations

import pytest
from mmgov_airflow.notifiers import SMTP_CONN_ID, WEBHOOK_CONN_ID
from mmgov_airflow.retention_alerts import alert_rejected, rejection_text

from tests.support.webhook import WebhookServer

SUMMARY = {"run_id": "r1", "rejected_by": "dpo", "messages_to_delete": 5, "files_to_delete": 2}
TEXT = "mmgov: retention run r1 was rejected by dpo; nothing was deleted (planned: 5 messages, 2 files)."


@pytest.fixture(autouse=True)
def _no_smtp(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_" + SMTP_CONN_ID.upper(), raising=False)  # that channel skips


def test_rejection_text():
    assert rejection_text(SUMMARY) == TEXT
    assert "rejected by unknown; nothing was deleted (planned: 0 messages, 0 files)" in rejection_text(
        {"run_id": "r"}
    )


def test_the_rejection_is_posted(monkeypatch):
    with WebhookServer() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_" + WEBHOOK_CONN_ID.upper(), hook.airflow_conn_json())
        alert_rejected(SUMMARY, {})
    assert [call.body["text"] for call in hook.calls] == [TEXT]


def test_a_failed_channel_raises_after_trying_every_channel(monkeypatch):
    with WebhookServer(status=500) as hook:
        monkeypatch.setenv("AIRFLOW_CONN_" + WEBHOOK_CONN_ID.upper(), hook.airflow_conn_json())
        with pytest.raises(
            RuntimeError, match="retention rejection alert failed: MattermostWebhookNotifier: "
        ):
            alert_rejected(SUMMARY, {})
    assert len(hook.calls) == 1
