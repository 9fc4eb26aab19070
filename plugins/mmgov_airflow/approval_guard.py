"""On the api-server: refuse (403) and audit an answer to a purge approval from anyone but the approvers.

Airflow's UI and REST API both answer a HITL task with ``PATCH /api/v2/dags/{dag}/dagRuns/{run}/
taskInstances/{task}/{map_index}/hitlDetails``. For mmgov's approval tasks this root middleware (added
by the mmgov plugin) asks the auth manager who the caller is and applies :func:`mmgov.authz.may_approve`
(``Mmgov.RetentionApprovers``, default the Airflow admins as the auth manager defines them), for every
auth manager. A refusal is recorded as ``retention.approval_refused`` with the Airflow user name and
answered ``403 {"detail": ...}`` before Airflow records anything. Requests without a valid login pass
through: Airflow answers them 401/403 itself.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

log = logging.getLogger(__name__)
# Anchored at the end only: an api-server served under a path prefix sees it in front.
HITL_ANSWER = re.compile(
    r"/api/v2/dags/(?P<dag_id>[^/]+)/dagRuns/(?P<run_id>[^/]+)/taskInstances/(?P<task_id>[^/]+)"
    r"(?:/(?P<map_index>-?\d+))?/hitlDetails/?$"
)
APPROVAL_TASKS = {("retention_purge", "approval"), ("retention_physical_removal", "approval")}


async def request_user(request: Request) -> Any | None:
    """The Airflow user of the request (bearer token, else the UI's cookie), or None if not logged in."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        token = request.cookies.get(COOKIE_NAME_JWT_TOKEN, "")
    try:
        return await resolve_user_from_token(token)
    except HTTPException:
        return None


def refusal(user: Any, dag_id: str, run_id: str) -> str | None:
    """None when ``user`` may answer the approval of ``dag_id`` run ``run_id``; else audit and say why not."""
    from airflow.api_fastapi.app import get_auth_manager

    from mmgov.authz import may_approve
    from mmgov.db import hook_connection
    from mmgov.retention.approval import refuse_response
    from mmgov_airflow.api.auth import is_admin
    from mmgov_airflow.api.deps import mattermost_settings

    settings = mattermost_settings()
    name = user.get_name()
    if may_approve(name, settings, is_admin=is_admin(user, get_auth_manager())):
        return None
    with hook_connection() as conn:
        conn.autocommit = True
        error = refuse_response(
            conn,
            dag_id=dag_id,
            dag_run_id=run_id,
            user=name,
            approvers=settings.Mmgov.RetentionApprovers or None,
            where="api-server",
        )
    log.warning("%s: %s", error.code, error)
    return f"{error.code}: {error}"


class ApprovalGuard:
    """ASGI middleware: only approvers answer mmgov's approval tasks (see the module docstring)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        match = HITL_ANSWER.search(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope.get("method") != "PATCH":
            await self.app(scope, receive, send)
            return
        dag_id, run_id, task_id = match["dag_id"], match["run_id"], match["task_id"]  # already decoded
        if (dag_id, task_id) not in APPROVAL_TASKS:
            await self.app(scope, receive, send)
            return
        user = await request_user(Request(scope))
        reason = None if user is None else await run_in_threadpool(refusal, user, dag_id, run_id)
        if reason is None:
            await self.app(scope, receive, send)
            return
        await JSONResponse(status_code=403, content={"detail": reason})(scope, receive, send)
