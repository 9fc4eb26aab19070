"""The command line by names (users, teams, ``team/channel``), by Airflow run id, and its one-line errors.

Name rules come from Mattermost: ``teams.name`` and ``channels (name, teamid)`` are unique
(``teams_name_key``, ``channels_name_teamid_key`` in Mattermost 11.7's catalog,
include/mmgov/sql/mattermost-schema.json); usernames and e-mails are stored lower-case
(``NormalizeUsername``/``NormalizeEmail``, called by ``User.PreSave``/``PreUpdate`` in
mattermost/mattermost server/public/model/user.go).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmgov.db import ConnectionInvalid, conninfo_from_airflow
from mmgov.retention.approval import record_rejection
from mmgov.retention.cli import main
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from mmgov.retention.runs import update_run
from tests.retention.builders import NOW, deleted_posts, settings

SETTINGS = json.dumps(
    {
        "DataRetentionSettings": {
            "EnableMessageDeletion": True,
            "MessageRetentionDays": 100,
            "TimeBetweenBatchesMilliseconds": 0,
        },
        "Mmgov": {"RetentionApproval": "never"},
    }
)
PURGE = settings(**json.loads(SETTINGS))


@pytest.fixture
def cli(mm_dsn, conn, capsys):
    def run(*args: str) -> tuple[int, object, str]:
        code = main(["--dsn", mm_dsn, "--settings", SETTINGS, "--actor", "cli:tester", *args])
        out, err = capsys.readouterr()
        return code, json.loads(out) if out.strip() else None, err

    return run


@pytest.fixture
def admin_cli(mm_dsn, conn, capsys, api, monkeypatch):
    """The CLI as the Airflow admin (``--token``), for restores."""
    monkeypatch.delenv("AIRFLOW_API_TOKEN", raising=False)

    def run(*args: str) -> tuple[int, object, str]:
        auth = ["--api-url", api.base_url, "--token", api.token("admin")]
        code = main(["--dsn", mm_dsn, "--settings", SETTINGS, *auth, *args])
        out, err = capsys.readouterr()
        return code, json.loads(out) if out.strip() else None, err

    return run


@pytest.fixture
def named(ws):
    """A team ``sales`` with channels ``deals`` and ``town-square``; users ``bob`` and ``carol``."""
    team = ws.team("sales")
    return {
        "team": team,
        "deals": ws.channel(team, name="deals"),
        "town": ws.channel(team, name="town-square"),
        "bob": ws.user("bob"),
        "carol": ws.user("carol"),
    }


def test_policy_by_team_and_channel_names(cli, named):
    code, created, err = cli(
        "policies", "create", "--name", "Sales", "--days", "30", "--team", "sales", "--channel", "sales/deals"
    )
    assert code == 0, err
    assert (created["team_ids"], created["channel_ids"]) == ([named["team"]], [named["deals"]])
    code, patched, _ = cli("policies", "add", created["id"], "--channel", "SALES/Town-Square")
    assert sorted(patched["channel_ids"]) == sorted([named["deals"], named["town"]])
    code, eff, _ = cli("policies", "effective", "sales/town-square")
    assert (eff["source"], eff["policy_id"]) == ("channel", created["id"])
    code, eff_by_id, _ = cli("policies", "effective", named["town"])  # ids still accepted
    assert eff_by_id == eff


@pytest.mark.parametrize(
    ("option", "ref", "key", "scope"),
    [
        ("--user", "bob", "bob", "user"),
        ("--user", "@bob", "bob", "user"),
        ("--user", "Carol@Example.com", "carol", "user"),
        ("--team", "sales", "team", "team"),
        ("--channel", "sales/deals", "deals", "channel"),
    ],
    ids=["username", "at-username", "email-any-case", "team-name", "team-slash-channel"],
)
def test_hold_by_name(cli, named, option, ref, key, scope):
    code, hold, err = cli("holds", "create", "--name", "Case 42", option, ref)
    assert code == 0, err
    assert (hold["scope"], hold["target_id"]) == (scope, named[key])


@pytest.mark.parametrize(
    ("args", "code_name", "words"),
    [
        (
            ["holds", "create", "--name", "x", "--user", "nobody"],
            "LEGAL_HOLD_INVALID",
            "no such user: 'nobody'",
        ),
        (["holds", "create", "--name", "x", "--team", "nope"], "LEGAL_HOLD_INVALID", "no such team: 'nope'"),
        (
            ["policies", "create", "--name", "x", "--days", "3", "--channel", "sales/nope"],
            "RETENTION_INVALID_CHANNEL",
            "no such channel: 'sales/nope'",
        ),
        (
            ["policies", "create", "--name", "x", "--days", "3", "--team", "nope,sales"],
            "RETENTION_INVALID_TEAM",
            "no such team: 'nope'",
        ),
        (["policies", "effective", "deals"], "RETENTION_INVALID_CHANNEL", "team/channel"),
        (["purge", "show", "manual__nope"], "RETENTION_RUN_NOT_FOUND", "Airflow run id"),
        (["holds", "crate"], "MMGOV_USAGE", "invalid choice: 'crate'"),
        (["policies", "delete", "x"], "MMGOV_USAGE", "--yes"),
    ],
    ids=[
        "unknown-user",
        "unknown-team",
        "unknown-channel",
        "one-unknown-team",
        "channel-without-team",
        "unknown-run-show",
        "bad-command",
        "missing-confirmation",
    ],
)
def test_errors_are_one_line_with_the_code(cli, named, args, code_name, words):
    code, out, err = cli(*args)
    assert code == 2
    assert out is None
    assert err.count("\n") == 1, err
    assert err.startswith(f"error: {code_name}: ")
    assert words in err


def _purged_run(conn, ws, named, dag_run_id: str) -> tuple[str, dict[str, str]]:
    posts = {"deals": ws.post(named["deals"], 200), "town": ws.post(named["town"], 200)}
    summary = preview_purge(conn, PURGE, now_ms=NOW, dag_run_id=dag_run_id)
    soft_delete(conn, PURGE, summary["run_id"])
    assert deleted_posts(conn) == set(posts.values())
    return summary["run_id"], posts


@pytest.mark.airflow
def test_restore_one_channel_by_airflow_run_id_and_name(admin_cli, cli, conn, ws, named):
    dag_run_id = "manual__2026-01-01T00:00:00+00:00"
    run_id, posts = _purged_run(conn, ws, named, dag_run_id)
    code, shown, _ = cli("purge", "show", dag_run_id)
    assert shown["id"] == run_id
    code, restored, err = admin_cli("restore", dag_run_id, "--channel", "sales/deals", "--yes")
    assert code == 0, err
    assert (restored["run_id"], restored["channel_id"], restored["messages_restored"]) == (
        run_id,
        named["deals"],
        1,
    )
    assert restored["note"] == "restored 1 messages and 0 files in channel sales / deals"
    assert deleted_posts(conn) == {posts["town"]}
    # The same channel again: nothing left, and the note says why.
    code, again, _ = admin_cli("restore", run_id, "--channel", "sales/deals", "--yes")
    assert again["messages_restored"] == 0
    assert "already restored" in again["note"]
    code, rest, _ = admin_cli("restore", run_id, "--yes")
    assert rest["messages_restored"] == 1
    code, twice, _ = admin_cli("restore", run_id, "--yes")
    assert (twice["messages_restored"], twice["files_restored"]) == (0, 0)
    assert twice["note"] == (
        "nothing left to restore: this run's deletions were already restored (2 messages and 0 files in all)"
    )


@pytest.mark.airflow
def test_restore_of_a_rejected_run_says_why(admin_cli, conn, ws, named):
    ws.post(named["deals"], 200)
    summary = preview_purge(conn, PURGE, now_ms=NOW, dag_run_id="scheduled__2026-01-01T00:00:00+00:00")
    record_rejection(
        conn, summary["run_id"], {"chosen_options": ["Reject"], "responded_by_user": {"id": "ann"}}
    )
    code, out, err = admin_cli("restore", "scheduled__2026-01-01T00:00:00+00:00", "--yes")
    assert code == 0, err
    assert out["messages_restored"] == 0
    assert out["note"].startswith(f"nothing to restore: run {summary['run_id']} deleted nothing because")
    assert "rejected" in out["note"]


@pytest.mark.airflow
def test_restore_of_a_dry_run_says_why(admin_cli, conn, ws, named):
    code, out, err = admin_cli("restore", "manual__nope", "--yes")
    assert (code, out) == (2, None)
    assert err.startswith("error: RETENTION_RUN_NOT_FOUND: ")
    assert "Airflow run id" in err
    ws.post(named["deals"], 200)
    summary = preview_purge(conn, PURGE, now_ms=NOW, dry_run=True)
    update_run(conn, summary["run_id"], status="dry_run")
    _code, out, _ = admin_cli("restore", summary["run_id"], "--yes")
    assert out["messages_restored"] == 0
    assert "dry run" in out["note"]


# --- finding the database -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "postgres://mm%40corp:p%2Fw@db.example:5433/mattermost?sslmode=require&cursor=dictcursor",
            {
                "host": "db.example",
                "port": 5433,
                "user": "mm@corp",
                "password": "p/w",
                "dbname": "mattermost",
                "sslmode": "require",
            },
        ),
        (
            '{"conn_type": "postgres", "host": "/run/pg", "login": "mm", "schema": "mm", "port": 5432,'
            ' "extra": {"sslmode": "disable", "cursor": "x"}}',
            {"host": "/run/pg", "user": "mm", "dbname": "mm", "port": 5432, "sslmode": "disable"},
        ),
        (
            'postgresql://mm@db/mm?__extra__={"connect_timeout": "5"}',
            {"host": "db", "user": "mm", "dbname": "mm", "connect_timeout": "5"},
        ),
        (
            "postgresql://postgres:@/mm?host=/tmp/mmgov-pg/pgdata",  # the embedded server's unix socket
            {"host": "/tmp/mmgov-pg/pgdata", "user": "postgres", "dbname": "mm"},
        ),
    ],
    ids=["uri", "json", "uri-extra-json", "uri-socket-host"],
)
def test_conninfo_from_airflow_forms(value, expected):
    assert conninfo_from_airflow(value) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [("{not json", "not valid JSON"), ("mysql://u@h/db", "must be a postgres connection, got type 'mysql'")],
    ids=["bad-json", "not-postgres"],
)
def test_conninfo_from_airflow_refusals(value, words):
    with pytest.raises(ConnectionInvalid, match=words):
        conninfo_from_airflow(value)


# ``mmgov retention ...`` that says on its last stderr line whether Airflow was imported.
_RUN_CLI = (
    "import sys; from mmgov.cli import main; rc = main(['retention', *sys.argv[1:]]);"
    " print('airflow imported' if 'airflow' in sys.modules else 'airflow not imported', file=sys.stderr);"
    " sys.exit(rc)"
)


def _cli_process(
    args: list[str], env: dict[str, str], tmp_path: Path, *, report_airflow: bool = False
) -> tuple[subprocess.CompletedProcess, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_")}
    clean |= {"AIRFLOW_HOME": str(tmp_path / "airflow-home"), **env}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _RUN_CLI, *args]
        if report_airflow
        else [sys.executable, "-m", "mmgov", "retention", *args],
        capture_output=True,
        text=True,
        env=clean,
        check=False,
        timeout=180,
    )
    return result, time.monotonic() - started


def test_cli_finds_mattermost_db_in_the_environment_without_loading_airflow(mm_dsn, conn, named, tmp_path):
    from mmgov.db import airflow_conn_json

    for value in (airflow_conn_json(mm_dsn), mm_dsn):
        result, seconds = _cli_process(
            [
                "--settings",
                SETTINGS,
                "--actor",
                "env-test",
                "holds",
                "create",
                "--name",
                "Case",
                "--user",
                "bob",
            ],
            {"AIRFLOW_CONN_MATTERMOST_DB": value},
            tmp_path,
            report_airflow=True,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["target_id"] == named["bob"]
        assert result.stderr.strip().splitlines()[-1] == "airflow not imported"
        assert seconds < 10, f"the CLI took {seconds:.1f}s"


def test_cli_without_a_connection_says_what_to_set(tmp_path):
    result, _ = _cli_process(["policies", "list"], {}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: MMGOV_CONNECTION_MISSING: no Mattermost database: pass --dsn")
    assert "AIRFLOW_CONN_MATTERMOST_DB" in lines[0]
    assert "airflow connections add mattermost_db" in lines[0]


def test_cli_with_an_unreachable_database_is_one_line(tmp_path):
    result, _ = _cli_process(["--dsn", "postgresql://mm@127.0.0.1:1/mm", "policies", "list"], {}, tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        "error: MMGOV_DATABASE_UNAVAILABLE: cannot connect to the Mattermost database"
    )


def test_bad_settings_file_is_one_line(mm_dsn, capsys, tmp_path):
    code = main(["--dsn", mm_dsn, "--settings", str(tmp_path / "missing.json"), "policies", "list"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: MMGOV_INVALID_SETTING: ")
