"""Who may call mmgov's API: an authenticated Airflow user who is an Airflow admin.

Authentication is Airflow's own: the JWT of the api-server (``Authorization: Bearer <token>`` from
``POST /auth/token``, or the UI's session cookie), validated by Airflow's ``get_user``. No or an
invalid/expired token is 401; a valid token of a non-admin is 403.

"Admin" is decided by the auth manager in use:

- SimpleAuthManager: the user's role is ``ADMIN`` (``[core] simple_auth_manager_users``);
- FAB auth manager: the user has FAB's admin role (``AUTH_ROLE_ADMIN``, by default ``Admin``);
- any other auth manager: it must grant both ``PUT`` on the Airflow configuration and ``DELETE`` on
  the custom view ``mmgov`` (the hook auth managers give plugins for their own resources).

Restores (``POST /purge_runs/{id}/restore``) also admit the users in ``Mmgov.GdprExportAdmins``
(:func:`require_restorer`, :mod:`mmgov.authz`); a refused restore is audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mmgov.errors import MmgovError
from mmgov_airflow.api.deps import DbDep, SettingsDep

log = logging.getLogger(__name__)
CUSTOM_VIEW = "mmgov"
_bearer = HTTPBearer(auto_error=False, description="An Airflow API token (POST /auth/token)")


class NotAuthenticated(MmgovError):
    code = "MMGOV_NOT_AUTHENTICATED"
    status = 401


class NotAdmin(MmgovError):
    code = "MMGOV_ADMIN_REQUIRED"
    status = 403


@dataclass(frozen=True)
class Admin:
    """The admin making the request; ``actor`` is what the audit trail records."""

    name: str
    user: Any

    @property
    def actor(self) -> str:
        """The Airflow user name, as the UI's and the tasks' audit rows record it."""
        return self.name


async def authenticated_user(
    request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Any:
    """The Airflow user of the request, validated by Airflow (401 when missing, invalid or expired)."""
    from airflow.api_fastapi.core_api.security import get_user

    try:
        return await get_user(request, None, bearer)
    except HTTPException as exc:  # Airflow answers 403 for a malformed token: for us it is not logged in
        raise NotAuthenticated(
            f"Authentication required: send an Airflow API token as 'Authorization: Bearer <token>' "
            f"(POST /auth/token); {exc.detail}"
        ) from exc


def is_admin(user: Any, auth_manager: Any) -> bool:
    """Whether ``user`` is an Airflow admin for the auth manager in use (see the module docstring)."""
    role = getattr(user, "role", None)
    if role is not None or type(auth_manager).__name__ == "SimpleAuthManager":
        return isinstance(role, str) and role.upper() == "ADMIN"
    roles = getattr(user, "roles", None)
    if roles is not None:
        admin_role = _fab_admin_role(auth_manager)
        return any(getattr(r, "name", r) == admin_role for r in roles)
    return bool(
        auth_manager.is_authorized_configuration(method="PUT", user=user)
        and auth_manager.is_authorized_custom_view(method="DELETE", resource_name=CUSTOM_VIEW, user=user)
    )


def _fab_admin_role(auth_manager: Any) -> str:
    """FAB's ``AUTH_ROLE_ADMIN`` (default ``Admin``); the default where FAB's AppBuilder is not set up."""
    try:
        return auth_manager.security_manager.auth_role_admin or "Admin"
    except Exception:  # noqa: BLE001 - AttributeError, or FAB's "AppBuilder is not initialized."
        return "Admin"


def require_admin(user: Annotated[Any, Depends(authenticated_user)]) -> Admin:
    """FastAPI dependency: the request's admin, or 403."""
    from airflow.api_fastapi.app import get_auth_manager

    name = user.get_name()
    if not is_admin(user, get_auth_manager()):
        log.warning("mmgov API refused to non-admin user %s", name)
        raise NotAdmin(f"Airflow user {name!r} is not an admin; mmgov's API requires an Airflow admin")
    return Admin(name=name, user=user)


AdminDep = Annotated[Admin, Depends(require_admin)]


def require_restorer(
    user: Annotated[Any, Depends(authenticated_user)], conn: DbDep, settings: SettingsDep, request: Request
) -> Admin:
    """FastAPI dependency: an Airflow admin or a user in ``Mmgov.GdprExportAdmins`` (:mod:`mmgov.authz`); else 403, audited."""
    from airflow.api_fastapi.app import get_auth_manager

    from mmgov import audit
    from mmgov.authz import may_export
    from mmgov.retention.errors import RestoreNotAllowed

    name = user.get_name()
    if may_export(name, settings, is_admin=is_admin(user, get_auth_manager())):
        return Admin(name=name, user=user)
    error = RestoreNotAllowed(
        f"Airflow user {name!r} may not restore: restores are for the Airflow admins and the users in "
        f"Mmgov.GdprExportAdmins ({', '.join(settings.Mmgov.GdprExportAdmins) or 'empty'})"
    )
    audit.record(conn, "retention.restore_refused", {"path": request.url.path, "reason": str(error)}, name)
    log.warning("%s: %s", error.code, error)
    raise error


RestorerDep = Annotated[Admin, Depends(require_restorer)]
