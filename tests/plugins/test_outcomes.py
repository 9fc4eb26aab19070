"""The task edge: an error a retry cannot fix fails the task without retry; others keep their retries."""

from __future__ import annotations

from types import SimpleNamespace

import airflow.sdk
import pytest
from airflow.sdk.exceptions import AirflowFailException
from mmgov_airflow.outcomes import OUTCOME_KEY, task_edge

from mmgov.compliance.globalrelay_delivery import GlobalRelayPermanentError, GlobalRelayTemporaryError


@pytest.fixture
def pushed(monkeypatch):
    """The XComs the wrapped task pushes (the task context is Airflow's outer boundary)."""
    xcoms: dict[str, object] = {}
    ti = SimpleNamespace(
        task_id="deliver", dag_id="compliance_export", xcom_push=lambda key, value: xcoms.update({key: value})
    )
    monkeypatch.setattr(airflow.sdk, "get_current_context", lambda: {"ti": ti})
    return xcoms


def _raising(exc: Exception):
    @task_edge
    def body() -> None:
        raise exc

    return body


def test_a_non_retryable_domain_error_fails_the_task_without_retry(pushed):
    exc = GlobalRelayPermanentError("550 mailbox unavailable", smtp_code=550)
    with pytest.raises(AirflowFailException, match=r"^GLOBAL_RELAY_SMTP_REJECTED: 550 mailbox unavailable$"):
        _raising(exc)()
    assert pushed[OUTCOME_KEY].startswith("FAILED")
    assert "GLOBAL_RELAY_SMTP_REJECTED" in pushed[OUTCOME_KEY]


def test_a_retryable_domain_error_keeps_its_retries(pushed):
    exc = GlobalRelayTemporaryError("421 try later")
    with pytest.raises(GlobalRelayTemporaryError) as err:
        _raising(exc)()
    assert err.value is exc
    assert not isinstance(err.value, AirflowFailException)
    assert "GLOBAL_RELAY_SMTP_TEMPORARY_FAILURE" in pushed[OUTCOME_KEY]
