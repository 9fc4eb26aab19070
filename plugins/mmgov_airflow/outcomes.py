"""Run outcomes in Airflow: the task edge (fail fast, leave the note) and the listener writing run notes.

- :func:`task_edge` wraps every mmgov task body. An error a retry cannot fix
  (:func:`mmgov.outcome.is_deterministic`) is logged as one line ``CODE: message`` and re-raised as
  ``AirflowFailException`` (no retries, no chained tracebacks); transient ones keep their retries.
  Either way the task leaves ``FAILED: CODE: message`` under XCom key ``mmgov_outcome``. The run's
  last task (``outcome=True``) leaves the success note built from its summary instead; a rejected
  retention run's report leaves ``REJECTED by ...`` and is **skipped**, so it never looks completed.
- The listener (registered by ``mmgov_plugin``; it runs where dag runs finish: the scheduler, or
  ``airflow dags test``) copies that text into the run's note. A failed run without one gets
  ``FAILED in <task>: see its log``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from airflow.listeners import hookimpl

from mmgov.outcome import (
    NOTES,
    OUTCOME_KEY,
    error_line,
    failure_note,
    files_missing,
    is_deterministic,
    run_note,
)

log = logging.getLogger(__name__)


def task_edge(fn: Callable[..., Any] | None = None, *, outcome: bool = False) -> Any:
    """Decorator for a task body (below ``@task``): fail-fast errors and the run's note.

    ``outcome=True`` on the task whose return value is the run's summary.
    """
    if fn is None:
        return functools.partial(task_edge, outcome=outcome)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        context = get_current_context()
        ti = context["ti"]
        try:
            result = fn(*args, **kwargs)
        except AirflowSkipException:
            raise
        except Exception as exc:
            if type(exc).__name__ == "TaskDeferred":
                raise
            cause = exc.__cause__ if isinstance(exc, AirflowFailException) and exc.__cause__ else exc
            _push(ti, failure_note(cause, task_id=ti.task_id))
            if isinstance(exc, AirflowFailException) or is_deterministic(exc):
                line = error_line(cause)
                log.error("%s", line)
                raise AirflowFailException(line) from None
            raise
        if outcome and isinstance(result, dict):
            note = run_note(ti.dag_id, result)
            _push(ti, note)
            if files_missing(ti.dag_id, result):
                alert_warning(note, context)
            if result.get("status") == "rejected":  # skipped, never green: nothing was done
                _push(ti, result, key="return_value")
                raise AirflowSkipException(note)
        return result

    return wrapper


def alert_warning(note: str, context: Any) -> None:
    """A warning (not a failure) through every configured alert channel; a broken channel is logged."""
    import html

    from mmgov_airflow.notifiers import ConfiguredSmtpNotifier, MattermostWebhookNotifier

    ti = context["ti"]
    text = f"mmgov warning: {ti.dag_id} run {ti.run_id}: {note}"
    log.warning("%s", text)
    for notifier in (
        MattermostWebhookNotifier(text=text),
        ConfiguredSmtpNotifier(
            subject=f"mmgov warning: {ti.dag_id} run {ti.run_id}", html_content=f"<p>{html.escape(text)}</p>"
        ),
    ):
        try:
            notifier.notify(context)
        except Exception:
            log.exception("warning alert through %s failed", type(notifier).__name__)


def _push(ti: Any, value: Any, *, key: str = OUTCOME_KEY) -> None:
    try:
        ti.xcom_push(key=key, value=value)
    except Exception:
        log.exception("could not push XCom %s of %s", key, ti.task_id)


# --- the listener (scheduler side: has the metadata database) ---------------------------------------


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    write_note(dag_run, failed=False)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    write_note(dag_run, failed=True)


def write_note(dag_run: Any, *, failed: bool) -> None:
    """Set the run's note from the outcome its tasks left (the newest; a failed task's on failure)."""
    if dag_run.dag_id not in NOTES:
        return
    try:
        session, run = _attached(dag_run)
        text = outcome_text(session, run, failed=failed)
        if text:
            run.note = text  # committed with the caller's state change
    except Exception:
        log.exception("could not write the run note of %s", dag_run.run_id)


def _attached(dag_run: Any) -> tuple[Any, Any]:
    """The session the caller changes ``dag_run`` in, and the run as that session knows it.

    The scheduler passes a run bound to its session. ``airflow dags test`` passes a detached copy;
    its session is the thread's scoped ``settings.Session`` (committed by ``dag.test``). Writing
    through another session would wait on the caller's lock of the run's row.
    """
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is not None:
        return session, dag_run
    from airflow import settings
    from airflow.models.dagrun import DagRun

    session = settings.Session()
    return session, session.get(DagRun, dag_run.id)


def outcome_text(session: Any, dag_run: Any, *, failed: bool) -> str | None:
    """The note for ``dag_run``: its tasks' outcome (the newest), or on failure a failed task's."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    rows = session.execute(
        select(XComModel.task_id, XComModel.value)
        .where(
            XComModel.dag_id == dag_run.dag_id,
            XComModel.run_id == dag_run.run_id,
            XComModel.key == OUTCOME_KEY,
        )
        .order_by(XComModel.timestamp)
    ).all()
    notes = {task_id: XComModel.deserialize_value(_Row(value)) for task_id, value in rows}
    if not failed:
        return next(reversed(notes.values()), None)
    failed_ids = [
        ti.task_id
        for ti in session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_run.dag_id,
                TaskInstance.run_id == dag_run.run_id,
                TaskInstance.state == TaskInstanceState.FAILED,
            )
        )
    ]
    failure = next(
        (str(notes[t]) for t in failed_ids if t in notes and str(notes[t]).startswith("FAILED")),
        f"FAILED in {', '.join(failed_ids)}: see its log." if failed_ids else "FAILED: see the log.",
    )
    done = [str(n) for t, n in notes.items() if t not in failed_ids and not str(n).startswith("FAILED")]
    return f"{failure} Before that: {done[-1]}" if done else failure  # e.g. delivered, then a check failed


class _Row:
    """What ``XComModel.deserialize_value`` reads: an object with ``value``."""

    def __init__(self, value: Any):
        self.value = value
