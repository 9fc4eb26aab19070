"""The standard provider's ApprovalOperator, answerable by the approvers only, recording the decision in XCom.

Who may answer is :mod:`mmgov.authz`'s rule (``Mmgov.RetentionApprovers``, default the Airflow admins),
resolved when the task asks:

* SimpleAuthManager: the approvers become the HITL task's ``assigned_users`` (user id = user name), so
  Airflow's own API refuses anyone else (403 "not a respondent");
* FAB and other auth managers: their user ids and roles are not visible to tasks, so no
  ``assigned_users`` are set; mmgov's api-server guard (:mod:`mmgov_airflow.approval_guard`) refuses
  and audits everyone else before Airflow records the answer.

Either way the task checks the answer again when it resumes (the names it can see): an answer by a
non-approver is audited (``retention.approval_refused``) and fails the task without retry; nothing is
deleted. On "Reject" the stock operator skips its downstream tasks by raising, so it pushes no return
value; mmgov's later tasks still need to know who rejected, so the decision is pushed first (key
``decision``).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

DECISION_KEY = "decision"


def _approvers() -> tuple[tuple[str, ...] | None, bool]:
    """The approvers' names as a task sees them (``None``: the admins, unknown here) and if they are ids too."""
    from mmgov.authz import SIMPLE_AUTH_MANAGER, approvers, auth_manager_name, task_admins
    from mmgov.settings import load_settings

    return approvers(load_settings(), task_admins()), auth_manager_name() == SIMPLE_AUTH_MANAGER


class RecordedApprovalOperator(ApprovalOperator):
    """ApprovalOperator for the approvers only; pushes ``{"chosen_options", "responded_by_user"}`` (``decision``)."""

    def execute(self, context: Any) -> Any:
        from airflow.sdk.exceptions import AirflowFailException

        names, names_are_ids = _approvers()
        if names is not None and not names:
            raise AirflowFailException(
                "RETENTION_APPROVER_REQUIRED: nobody may approve: Mmgov.RetentionApprovers is empty and the "
                "auth manager has no admin user; name the approvers in Mmgov.RetentionApprovers"
            )
        if names is not None and names_are_ids:
            self.assigned_users = [{"id": name, "name": name} for name in names]
        who = ", ".join(names) if names is not None else "the Airflow admins"
        self.body = f"{self.body or ''}\n\n**Who may answer:** {who} (`Mmgov.RetentionApprovers`)."
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if "error" not in event:
            self._check_responder(context, event)
            context["ti"].xcom_push(
                key=DECISION_KEY,
                value={
                    "chosen_options": list(event.get("chosen_options") or []),
                    "responded_by_user": event.get("responded_by_user"),
                },
            )
        return super().execute_complete(context, event)

    def _check_responder(self, context: Any, event: dict[str, Any]) -> None:
        """Fail (audited, no retry) when the answer came from someone who is not an approver."""
        from airflow.sdk.exceptions import AirflowFailException

        from mmgov.retention.approval import refuse_response
        from mmgov.retention.tasks import mattermost_connection

        names, _ = _approvers()
        user = (event.get("responded_by_user") or {}).get("name") or "unknown"
        if names is None or user in names:
            return
        with mattermost_connection() as conn:
            error = refuse_response(
                conn,
                dag_id=context["dag_run"].dag_id,
                dag_run_id=context["dag_run"].run_id,
                user=user,
                approvers=names,
                chosen=list(event.get("chosen_options") or []),
                where="task",
            )
        raise AirflowFailException(f"{error.code}: {error}")
