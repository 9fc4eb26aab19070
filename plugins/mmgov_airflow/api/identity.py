"""``GET /mmgov/api/v4/me``: the Airflow user behind a token, as mmgov's command lines record it.

Any authenticated Airflow user may ask (no admin needed): the answer is the user name the audit trail
records and whether the auth manager counts the user as an Airflow admin.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from mmgov_airflow.api.auth import authenticated_user, is_admin

router = APIRouter(prefix="/api/v4", tags=["identity"])


@router.get("/me")
def me(user: Annotated[Any, Depends(authenticated_user)]) -> dict[str, Any]:
    from airflow.api_fastapi.app import get_auth_manager

    return {"name": user.get_name(), "admin": is_admin(user, get_auth_manager())}
