"""Alerts for retention outcomes that are not task failures (a person rejected a run).

Uses the same notifiers as failure alerts (Mattermost webhook, SMTP); each skips when its
connection is not configured.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from mmgov_airflow.notifiers import ConfiguredSmtpNotifier, MattermostWebhookNotifier

log = logging.getLogger(__name__)


def rejection_text(summary: dict[str, Any]) -> str:
    """A short, secret-free description of a rejected retention run."""
    return (
        f"mmgov: retention run {summary['run_id']} was rejected by {summary.get('rejected_by') or 'unknown'}; "
        f"nothing was deleted (planned: {summary.get('messages_to_delete', 0)} messages, "
        f"{summary.get('files_to_delete', 0)} files)."
    )


def alert_rejected(summary: dict[str, Any], context: dict[str, Any]) -> None:
    """Send the rejection alert through every configured channel; raise if any channel failed.

    Every channel is tried first, so one broken channel does not silence the others; the raise then
    fails the task, which sends the failure alert as well.
    """
    text = rejection_text(summary)
    log.warning("%s", text)
    notifiers = [
        MattermostWebhookNotifier(text=text),
        ConfiguredSmtpNotifier(
            subject=f"mmgov: retention run {summary['run_id']} rejected",
            html_content=f"<p>{html.escape(text)}</p>",
        ),
    ]
    failures = []
    for notifier in notifiers:
        try:
            notifier.notify(context)
        except Exception as exc:  # noqa: BLE001 - collected and raised below, after trying every channel
            failures.append(f"{type(notifier).__name__}: {exc}")
    if failures:
        raise RuntimeError(f"retention rejection alert failed: {'; '.join(failures)}")
