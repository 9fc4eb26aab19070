"""Every DAG's task defaults: retries with backoff and both failure notifiers (the notifiers: test_notifiers.py)."""

from __future__ import annotations

from mmgov_airflow.alerts import default_args, failure_notifiers
from mmgov_airflow.notifiers import ConfiguredSmtpNotifier, MattermostWebhookNotifier


def test_default_args_wire_both_notifiers_and_retries():
    args = default_args()
    kinds = {type(n) for n in args["on_failure_callback"]}
    assert kinds == {ConfiguredSmtpNotifier, MattermostWebhookNotifier}
    assert args["retries"] == 2
    assert args["retry_exponential_backoff"] is True
    assert len(failure_notifiers()) == 2
