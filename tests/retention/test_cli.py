"""``python -m mmgov.retention``: policies, holds, preview, restore against a real database."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mmgov import audit
from mmgov.retention.cli import main, parse_time_ms
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from tests.retention.builders import NOW, deleted_posts, settings

SETTINGS = json.dumps(
    {
        "DataRetentionSettings": {"EnableMessageDeletion": True, "MessageRetentionDays": 100},
        "Mmgov": {"RetentionApproval": "never"},
    }
)


@pytest.fixture
def cli(mm_dsn, conn, capsys):
    def run(*args: str) -> tuple[int, object, str]:
        code = main(["--dsn", mm_dsn, "--settings", SETTINGS, "--actor", "tester", *args])
        out, err = capsys.readouterr()
        return code, json.loads(out) if out.strip() else None, err

    return run


def test_policy_lifecycle(cli, conn, ws):
    team, chan = ws.team(), ws.channel()
    code, created, _ = cli("policies", "create", "--name", "Sales", "--days", "90", "--team", team)
    assert code == 0
    assert created["post_duration_days"] == 90
    assert created["team_ids"] == [team]
    pid = created["id"]
    code, listed, _ = cli("policies", "list")
    assert listed["total_count"] == 1
    assert listed["policies"][0]["id"] == pid
    code, patched, _ = cli("policies", "patch", pid, "--keep-forever", "--channels", chan)
    assert (patched["post_duration_days"], patched["channel_ids"]) == (None, [chan])
    code, patched, _ = cli("policies", "patch", pid, "--teams", "")
    assert patched["team_ids"] == []
    code, eff, _ = cli("policies", "effective", chan)
    assert (eff["source"], eff["keep_forever"]) == ("channel", True)
    code, deleted, _ = cli("policies", "delete", pid, "--yes")
    assert deleted["deleted"]["id"] == pid
    events = [(e["event"], e["actor"]) for e in audit.history(conn, event_prefix="retention.policy")]
    assert events == [
        ("retention.policy_deleted", "script:tester"),
        ("retention.policy_updated", "script:tester"),
        ("retention.policy_updated", "script:tester"),
        ("retention.policy_created", "script:tester"),
    ]


@pytest.mark.parametrize(
    ("args", "code_name"),
    [
        (["policies", "create", "--name", "x", "--days", "0"], "RETENTION_INVALID_DURATION"),
        (["policies", "create", "--name", "x", "--days", "3", "--team", "a" * 26], "RETENTION_INVALID_TEAM"),
        (["policies", "get", "b" * 26], "RETENTION_POLICY_NOT_FOUND"),
        (["holds", "release", "c" * 26], "LEGAL_HOLD_NOT_FOUND"),
    ],
    ids=["zero-days", "unknown-team", "missing-policy", "missing-hold"],
)
def test_refusals_exit_2_with_the_code(cli, args, code_name):
    code, out, err = cli(*args)
    assert code == 2
    assert out is None
    assert err.startswith(f"error: {code_name}:")


def test_holds_preview_and_restore(cli, conn, ws):
    chan = ws.channel(ws.team())
    user = ws.user()
    held = ws.post(chan, 200, user_id=user)
    free = ws.post(chan, 200)
    code, hold, _ = cli(
        "holds",
        "create",
        "--name",
        "Case 42",
        "--user",
        user,
        "--from",
        "2024-01-01",
        "--to",
        "2026-01-01T00:00:00+00:00",
        "--reason",
        "litigation",
    )
    assert code == 0
    assert hold["active"]
    assert hold["start_ms"] == 1_704_067_200_000
    assert hold["end_ms"] == NOW
    code, holds, _ = cli("holds", "list")
    assert [h["id"] for h in holds] == [hold["id"]]
    code, preview, _ = cli("purge", "preview")
    assert preview["dry_run"]
    assert preview["messages_to_delete"] == 1
    assert preview["spared"]["messages_held"] == 1
    assert deleted_posts(conn) == set()
    s = settings(
        DataRetentionSettings={
            "EnableMessageDeletion": True,
            "MessageRetentionDays": 100,
            "TimeBetweenBatchesMilliseconds": 0,
        },
        Mmgov={"RetentionApproval": "never"},
    )
    summary = preview_purge(conn, s, now_ms=NOW)
    soft_delete(conn, s, summary["run_id"])
    assert deleted_posts(conn) == {free}
    code, runs, _ = cli("purge", "runs")
    assert next(r["id"] for r in runs) == summary["run_id"]
    code, _, err = cli("restore", summary["run_id"], "--yes")  # a script may not restore
    assert code == 2
    assert "MMGOV_ACTOR_NOT_ALLOWED: 'script:tester' may not restore" in err
    assert deleted_posts(conn) == {free}  # restores with an Airflow token: tests/retention/test_cli_actor.py
    code, released, _ = cli("holds", "release", hold["id"])
    assert not released["active"]
    assert released["released_by"] == "script:tester"
    assert held


def test_time_parsing():
    assert parse_time_ms("1700000000000") == 1_700_000_000_000
    assert parse_time_ms("2026-01-01") == NOW


def test_module_entry_point(mm_dsn, conn):
    result = subprocess.run(
        [sys.executable, "-m", "mmgov.retention", "--dsn", mm_dsn, "policies", "list"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"policies": [], "total_count": 0}
