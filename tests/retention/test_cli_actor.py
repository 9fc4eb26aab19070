"""One actor name: the retention CLI audits the Airflow user behind a real token, as the UI and REST do.

A real ``airflow api-server`` (SimpleAuthManager users of every role, tests/support/airflow_api.py) says
whose token it is (``GET /mmgov/api/v4/me``); ``--actor`` is for scripts and audited as ``script:NAME``.
"""

from __future__ import annotations

import json

import pytest

from mmgov import audit
from mmgov.retention.cli import main
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from tests.retention.builders import deleted_posts, settings

pytestmark = pytest.mark.airflow
RETENTION = {"EnableMessageDeletion": True, "MessageRetentionDays": 100, "TimeBetweenBatchesMilliseconds": 0}
MMGOV = {"RetentionApproval": "never", "GdprExportAdmins": ["dpo"]}
SETTINGS = json.dumps({"DataRetentionSettings": RETENTION, "Mmgov": MMGOV})


@pytest.fixture
def cli(mm_dsn, api, capsys, monkeypatch):
    monkeypatch.delenv("AIRFLOW_API_TOKEN", raising=False)

    def run(*args: str, user: str | None = None, token: str | None = None) -> tuple[int, object, str]:
        auth = ["--token", token or api.token(user)] if (user or token) else []
        code = main(["--dsn", mm_dsn, "--settings", SETTINGS, "--api-url", api.base_url, *auth, *args])
        out, err = capsys.readouterr()
        return code, json.loads(out) if out.strip() else None, err

    return run


def test_the_airflow_user_behind_the_token_is_the_actor(cli, api, conn, ws, monkeypatch):
    team = ws.team()
    code, created, err = cli(
        "policies", "create", "--name", "Sales", "--days", "90", "--team", team, user="admin"
    )
    assert code == 0, err
    # the same name the REST API (tests/plugins/api/test_retention.py) and the UI's approval record
    assert audit.history(conn, event_prefix="retention.policy_created")[0]["actor"] == "admin"
    code, _, err = cli("policies", "delete", created["id"], "--yes", user="admin")
    assert code == 0, err
    assert audit.history(conn, event_prefix="retention.policy_deleted")[0]["actor"] == "admin"
    # AIRFLOW_API_TOKEN works like --token
    monkeypatch.setenv("AIRFLOW_API_TOKEN", api.token("admin"))
    code, hold, err = cli("holds", "create", "--name", "Case 1", "--team", team)
    assert code == 0, err
    assert hold["created_by"] == "admin"


@pytest.mark.parametrize("user", ["viewer", "user", "op", "dpo"])
def test_changes_need_an_admin(cli, conn, ws, user):
    code, _, err = cli("policies", "create", "--name", "x", "--days", "9", "--team", ws.team(), user=user)
    assert code == 2
    assert f"MMGOV_ACTOR_NOT_ALLOWED: Airflow user {user!r} is not an admin" in err
    assert audit.history(conn, event_prefix="retention.policy") == []


def test_reads_need_no_identity_and_changes_refuse_without_one(cli, conn, ws):
    assert cli("policies", "list")[0] == 0
    code, _, err = cli("policies", "create", "--name", "x", "--days", "9", "--team", ws.team())
    assert code == 2
    assert "MMGOV_ACTOR_REQUIRED: policies create is audited: say who is acting with --token" in err


def test_a_refused_token_refuses_the_command(cli, api, conn, ws):
    forged = api.token("admin")[:-4] + "AAAA"
    code, _, err = cli("policies", "create", "--name", "x", "--days", "9", "--team", ws.team(), token=forged)
    assert code == 2
    assert f"the Airflow api-server at {api.base_url} refused the token (HTTP 401)" in err
    assert forged not in err
    assert audit.history(conn, event_prefix="retention.policy") == []


def test_a_script_is_audited_as_such(mm_dsn, conn, ws, capsys):
    team = ws.team()
    args = ["--settings", SETTINGS, "--actor", "nightly-sync", "holds", "create", "--name", "Case 2"]
    code = main(["--dsn", mm_dsn, *args, "--team", team])
    assert code == 0, capsys.readouterr().err
    assert audit.history(conn, event_prefix="legal_hold")[0]["actor"] == "script:nightly-sync"


@pytest.mark.parametrize(
    ("user", "allowed"),
    [("admin", True), ("dpo", True), ("op", False), ("user", False), ("viewer", False)],
)
def test_restore_by_admins_and_gdpr_export_admins(cli, conn, ws, user, allowed):
    chan = ws.channel(ws.team())
    posts = {ws.post(chan, 200) for _ in range(2)}
    s = settings(DataRetentionSettings=RETENTION, Mmgov={"RetentionApproval": "never"})
    run = preview_purge(conn, s, now_ms=ws.now)
    soft_delete(conn, s, run["run_id"])
    assert posts <= deleted_posts(conn)
    code, result, err = cli("restore", run["run_id"], "--yes", user=user)
    if allowed:
        assert code == 0, err
        assert result["messages_restored"] == 2
        assert deleted_posts(conn) & posts == set()
        assert audit.history(conn, event_prefix="retention.restored")[0]["actor"] == user
    else:
        assert code == 2
        assert f"MMGOV_ACTOR_NOT_ALLOWED: {user!r} may not restore" in err
        assert "Mmgov.GdprExportAdmins (dpo)" in err
        assert posts <= deleted_posts(conn)
