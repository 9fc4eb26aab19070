"""Notifiers for failure alerts: a Mattermost incoming webhook, and SMTP through the smtp provider.

Both read their target from an Airflow connection and skip (with a log line) when that connection
does not exist, so a deployment with only ``mattermost_db`` configured still runs.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseNotifier

WEBHOOK_CONN_ID = "mmgov_alert_webhook"
SMTP_CONN_ID = "mmgov_alert_smtp"


def _connection(conn_id: str):
    """The connection, or None when it is not defined anywhere (env, secrets backend, metadata DB)."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - AirflowNotFoundException's module moved between versions
        return None


def alert_text(context: dict[str, Any]) -> str:
    """A short, secret-free description of a failed task instance."""
    ti = context.get("ti") or context.get("task_instance")
    exc = context.get("exception")
    first_line = str(exc).strip().splitlines()[0][:500] if exc else "unknown error"
    parts = [
        f"mmgov: task failed: {getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}",
        f"run {getattr(ti, 'run_id', '?')}, try {getattr(ti, 'try_number', '?')}",
        f"error: {type(exc).__name__ if exc else 'Error'}: {first_line}",
    ]
    log_url = getattr(ti, "log_url", None)
    if log_url:
        parts.append(f"log: {log_url}")
    return "\n".join(parts)


class MattermostWebhookNotifier(BaseNotifier):
    """Post an alert to a Mattermost incoming webhook.

    The connection (``http``) holds the server (``schema`` https/http, ``host``, ``port``) and, in
    ``password``, the webhook key of ``/hooks/<key>``, so the secret part is masked in logs.
    Optional extras: ``channel``, ``username``, ``icon_url``.
    """

    template_fields = ("text", "conn_id")

    def __init__(self, *, conn_id: str = WEBHOOK_CONN_ID, text: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.text = text

    def notify(self, context: dict[str, Any]) -> None:
        conn = _connection(self.conn_id)
        if conn is None:
            self.log.info("No connection %s: Mattermost webhook alert skipped", self.conn_id)
            return
        if not conn.password:
            raise ValueError(
                f"Connection {self.conn_id}: put the webhook key (of /hooks/<key>) in its password"
            )
        from airflow.providers.http.hooks.http import HttpHook

        body: dict[str, Any] = {"text": self.text or alert_text(context)}
        extra = conn.extra_dejson
        for key in ("channel", "username", "icon_url"):
            if extra.get(key):
                body[key] = extra[key]
        hook = HttpHook(method="POST", http_conn_id=self.conn_id)
        response = hook.run(endpoint=f"hooks/{conn.password}", json=body, extra_options={"timeout": 15})
        self.log.info("Mattermost webhook alert sent (HTTP %s)", response.status_code)


class ConfiguredSmtpNotifier(SmtpNotifier):
    """The smtp provider's notifier, sending to the ``to`` extra of its connection when it exists."""

    def __init__(self, *, smtp_conn_id: str = SMTP_CONN_ID, **kwargs):
        kwargs.setdefault("subject", "mmgov alert: {{ ti.dag_id }}.{{ ti.task_id }} failed")
        kwargs.setdefault(
            "html_content",
            "<p>Task <b>{{ ti.dag_id }}.{{ ti.task_id }}</b> failed (run {{ ti.run_id }},"
            " try {{ ti.try_number }}).</p><p>{{ exception | e }}</p>",
        )
        super().__init__(to="", smtp_conn_id=smtp_conn_id, **kwargs)

    def notify(self, context: dict[str, Any]) -> None:
        conn = _connection(self.smtp_conn_id)
        if conn is None:
            self.log.info("No connection %s: e-mail alert skipped", self.smtp_conn_id)
            return
        to = conn.extra_dejson.get("to")
        if not to:
            raise ValueError(f"Connection {self.smtp_conn_id}: set extra 'to' (comma-separated recipients)")
        self.to = [a.strip() for a in str(to).split(",") if a.strip()]
        super().notify(context)
