"""Who may approve, export and restore (:mod:`mmgov.authz`): the rules as a task applies them."""

from __future__ import annotations

import pytest

from mmgov import authz
from mmgov.bulk_export.errors import ExportPermissionDenied
from mmgov.settings import Settings, SettingsError

SIMPLE = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


def test_simple_admins_are_the_admin_role_of_the_user_list():
    users = ["root:ADMIN", "ann:admin", "olga:op", "vic:viewer", "ursula:user", "tess:Admin:team1|team2"]
    assert authz.simple_admins(users) == ("root", "ann", "tess")


@pytest.mark.parametrize(
    ("manager", "admins"), [(SIMPLE, ("admin", "dpo")), (FAB, None)], ids=["simple", "fab"]
)
def test_task_admins_from_the_configuration(monkeypatch, manager, admins):
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", manager)
    monkeypatch.setenv(
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,op:op,viewer:viewer,dpo:ADMIN"
    )
    assert authz.task_admins() == admins


def test_approvers_default_to_the_admins_and_the_setting_replaces_them():
    assert authz.approvers(Settings(), ("admin",)) == ("admin",)
    assert authz.approvers(Settings(), None) is None
    named = Settings.parse({"Mmgov": {"RetentionApprovers": ["dpo", "legal"]}})
    assert authz.approvers(named, ("admin",)) == ("dpo", "legal")
    assert authz.approvers(named, None) == ("dpo", "legal")


@pytest.mark.parametrize("bad", ["dpo", [""], [1], {"dpo": True}])
def test_retention_approvers_must_be_a_list_of_names(bad):
    with pytest.raises(SettingsError, match=r"Mmgov\.RetentionApprovers must be a list of Airflow usernames"):
        Settings.parse({"Mmgov": {"RetentionApprovers": bad}})


class TestExportPermission:
    LISTED = Settings.parse({"Mmgov": {"GdprExportAdmins": ["dpo"]}})

    @pytest.mark.parametrize(
        ("user", "admins"),
        [
            ("admin", ("admin",)),
            ("dpo", ("admin",)),
            ("dpo", None),
            ("dag_test", ("admin",)),
            ("dag_test", None),
        ],
        ids=["admin", "listed", "listed-fab", "dags-test", "dags-test-fab"],
    )
    def test_allowed(self, user, admins):
        authz.check_export_permission(user, self.LISTED, admins)

    @pytest.mark.parametrize("user", ["op", "viewer", "user", "Admin"])
    def test_others_are_refused_naming_who_may(self, user):
        with pytest.raises(ExportPermissionDenied) as info:
            authz.check_export_permission(user, self.LISTED, ("admin",))
        assert (info.value.code, info.value.status) == ("EXPORT_PERMISSION_DENIED", 403)
        assert f"Airflow user {user!r} may not" in str(info.value)
        assert "the Airflow admins (admin) and Mmgov.GdprExportAdmins (dpo)" in str(info.value)

    def test_fab_admin_not_visible_to_the_task_must_be_listed(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", FAB)
        with pytest.raises(ExportPermissionDenied, match=r"FabAuthManager roles are not visible to tasks"):
            authz.check_export_permission("admin", self.LISTED, None)

    def test_a_run_without_a_person_is_refused(self):
        with pytest.raises(ExportPermissionDenied, match="this run has no triggering user"):
            authz.check_export_permission(None, self.LISTED, ("admin",))
