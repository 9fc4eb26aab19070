"""Who counts as an Airflow admin for mmgov's API, with the auth managers' own user classes."""

from __future__ import annotations

import pytest
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager
from airflow.providers.fab.auth_manager.models import Role, User
from mmgov_airflow.api.auth import is_admin


@pytest.mark.parametrize(
    ("role", "admin"), [("ADMIN", True), ("admin", True), ("OP", False), ("VIEWER", False)]
)
def test_simple_auth_manager_admin_is_the_admin_role(role, admin):
    user = SimpleAuthManagerUser(username="ann", role=role)
    assert is_admin(user, SimpleAuthManager()) is admin


@pytest.mark.parametrize(
    ("roles", "admin"),
    [(["Admin"], True), (["Viewer", "Admin"], True), (["Op"], False), (["Viewer"], False), ([], False)],
)
def test_fab_admin_is_a_user_with_fabs_admin_role(roles, admin):
    # An API-server process without FAB's AppBuilder falls back to FAB's default AUTH_ROLE_ADMIN.
    user = User(username="ann", roles=[Role(name=name) for name in roles])
    assert is_admin(user, FabAuthManager()) is admin


def test_fab_admin_role_follows_auth_role_admin():
    class Configured(FabAuthManager):
        @property
        def security_manager(self):
            return type("SecurityManager", (), {"auth_role_admin": "Superusers"})()

    assert is_admin(User(username="ann", roles=[Role(name="Superusers")]), Configured())
    assert not is_admin(User(username="bob", roles=[Role(name="Admin")]), Configured())
