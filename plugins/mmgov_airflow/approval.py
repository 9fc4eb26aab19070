"""The standard provider's ApprovalOperator, recording the person's decision in XCom (key ``decision``).

On "Reject" the stock operator skips its downstream tasks by raising, so it pushes no return value;
mmgov's later tasks still need to know who rejected (to record and alert), so the decision is
pushed first, whatever it is.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

DECISION_KEY = "decision"


class RecordedApprovalOperator(ApprovalOperator):
    """ApprovalOperator that pushes ``{"chosen_options", "responded_by_user"}`` under XCom key ``decision``."""

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if "error" not in event:
            context["ti"].xcom_push(
                key=DECISION_KEY,
                value={
                    "chosen_options": list(event.get("chosen_options") or []),
                    "responded_by_user": event.get("responded_by_user"),
                },
            )
        return super().execute_complete(context, event)
