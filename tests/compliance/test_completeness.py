"""Completeness under late commits and clock skew (issue 23): settle margin, late-arrival sweep, recount.

Mattermost stamps ``updateat`` in the application server before the transaction commits
(``server/channels/app/post.go`` ``CreatePost`` -> ``PreSave`` sets ``UpdateAt = GetMillis()``
in ``server/public/model/post.go``; the store inserts afterwards), and each node of a cluster stamps
with its own clock. The writers here do the same: stamp with a skewed clock, write, hold the
transaction open for up to 5 s, commit.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import threading
import time
import zipfile
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from mmgov.compliance.delivery import LocalDestination
from mmgov.compliance.export_request import resolve_request
from mmgov.compliance.formats import get_format
from mmgov.compliance.publishing import deliver, recount_previous
from mmgov.compliance.staging import begin_tracking, check_staged, stage_export
from mmgov.compliance.tasks import UncapturedGrowthError, run_export, task_check_previous_window
from mmgov.file_store import file_store_from_settings
from mmgov.ids import new_id
from mmgov.settings import Settings
from tests.compliance.builders import Workspace

MAX_COMMIT_LAG_S = 5.0
CLOCK_SKEWS_MS = (-2000, -700, 0, 900, 2000)  # one application node each
WINDOWS = 9  # consecutive "up to now" runs while the writers write
SETTLE_S = 1  # far below the lag: late arrivals are certain, the sweep must catch them
MEMBERSHIP_TYPES = {"enter", "leave", "previously-joined"}


def _settings(file_store: Path, dest: Path) -> Settings:
    return Settings.parse(
        {
            "FileSettings": {"DriverName": "local", "Directory": str(file_store)},
            "MessageExportSettings": {"EnableExport": True, "ExportFormat": "csv", "BatchSize": 50},
            "Mmgov": {
                "ExportDestination": str(dest),
                "ExportSettleSeconds": SETTLE_S,
                "LateArrivalLookbackHours": 1,
            },
        }
    )


class Node(threading.Thread):
    """An application node: creates, edits (Mattermost's way: the old text as a new row with
    ``originalid``) and deletes posts, stamping ``updateat`` with its own skewed clock before a
    transaction it commits up to 5 s later."""

    def __init__(self, dsn: str, skew_ms: int, channels: list[str], users: list[str], seed: int):
        super().__init__(daemon=True)
        self.dsn, self.skew_ms, self.channels, self.users = dsn, skew_ms, channels, users
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.mine: list[tuple[str, int, str, str]] = []  # committed posts: id, createat, channel, message
        self.lags: list[float] = []
        self.error: BaseException | None = None

    def stamp(self) -> int:
        return int(time.time() * 1000) + self.skew_ms

    def run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                while not self.stop.is_set():
                    self.transaction(conn)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def transaction(self, conn: psycopg.Connection) -> None:
        rng = self.rng
        created: list[tuple[str, int, str, str]] = []
        deleted: set[str] = set()
        with conn.transaction():
            for _ in range(rng.randint(1, 4)):
                at = self.stamp()
                op = rng.random()
                if op < 0.6 or not self.mine:
                    pid, channel, text = new_id(), rng.choice(self.channels), f"message {rng.random():.6f}"
                    _insert(conn, pid, at, at, 0, rng.choice(self.users), channel, text)
                    created.append((pid, at, channel, text))
                    continue
                pid, createat, channel, text = rng.choice(self.mine)
                if pid in deleted:
                    continue
                if op < 0.85:  # edit: the old text becomes a deleted row pointing at the post
                    _insert(conn, new_id(), createat, at, at, self.users[0], channel, text, original=pid)
                    conn.execute(
                        "UPDATE posts SET message = %s, editat = %s, updateat = %s WHERE id = %s",
                        (f"edited {rng.random():.6f}", at, at, pid),
                    )
                else:  # delete
                    conn.execute(
                        "UPDATE posts SET deleteat = %s, updateat = %s,"
                        " props = jsonb_build_object('deleteBy', userid) WHERE id = %s",
                        (at, at, pid),
                    )
                    deleted.add(pid)
            lag = rng.choice((0.0, rng.uniform(0, 0.5), rng.uniform(0, MAX_COMMIT_LAG_S)))
            self.lags.append(lag)
            if self.stop.wait(lag) and lag:
                pass  # still commit: a stopping node finishes its transaction
        self.mine = [p for p in self.mine if p[0] not in deleted] + created


def _insert(
    conn: psycopg.Connection,
    pid: str,
    create: int,
    update: int,
    delete: int,
    user: str,
    channel: str,
    text: str,
    *,
    original: str = "",
) -> None:
    conn.execute(
        "INSERT INTO posts (id, createat, updateat, deleteat, userid, channelid, rootid, originalid, message,"
        " type, props, hashtags, filenames, fileids, hasreactions, editat, ispinned, remoteid)"
        " VALUES (%s, %s, %s, %s, %s, %s, '', %s, %s, '', '{}', '', '[]', '[]', false, 0, false, NULL)",
        (pid, create, update, delete, user, channel, original, text),
    )


def exported_versions(root: Path) -> tuple[Counter, dict[str, int]]:
    """Every post version ``(id, updateat)`` in every delivered zip, counted once per zip (a post
    created and deleted in one window has two entries there), and the late posts per zip."""
    seen: Counter = Counter()
    late: dict[str, int] = {}
    for zpath in sorted(root.glob("compliance-export-*/*.zip")):
        with zipfile.ZipFile(zpath) as zf:
            rows = list(csv.DictReader(io.StringIO(zf.read("posts.csv").decode("utf-8"))))
        versions = {
            (r["Post Id"], int(r["Post Update Time"]))
            for r in rows
            if r["Post Id"] and r["Post Type"] not in MEMBERSHIP_TYPES
        }
        seen.update(versions)
        if zpath.name.startswith("late-"):
            late[f"{zpath.parent.name}/{zpath.name}"] = len(versions)
    return seen, late


@pytest.mark.timeout(120)
def test_concurrent_late_commits_and_skewed_clocks_export_every_version_exactly_once(
    mm_dsn: str, mm_conn: psycopg.Connection, file_store: Path, tmp_path: Path
):
    ws = Workspace(mm_conn)
    team = ws.team("acme")
    channels = [ws.channel(f"chan{i}", team=team) for i in range(3)]
    users = [ws.user(f"user{i}") for i in range(4)]
    for c in channels:
        for u in users:
            ws.history(c, u, 1)
    dest = tmp_path / "exports"
    settings = _settings(file_store, dest)
    start = int(time.time() * 1000) - 10_000  # before any node's clock stamps a post
    nodes = [Node(mm_dsn, skew, channels, users, seed) for seed, skew in enumerate(CLOCK_SKEWS_MS)]
    for node in nodes:
        node.start()
    summaries = []
    try:
        for i in range(WINDOWS):
            time.sleep(2.0)
            params = {"export_from": start} if i == 0 else {}
            summaries.append(run_export(mm_conn, settings, params, run_id=f"run{i}"))
    finally:
        for node in nodes:
            node.stop.set()
        for node in nodes:
            node.join(timeout=15)
    assert all(n.error is None for n in nodes), [n.error for n in nodes]
    assert max(max(n.lags) for n in nodes) > 2.0  # commits really lagged their stamps
    # The last stamps may lie up to 2 s ahead of this clock: let them settle, then the window reaching now.
    time.sleep(max(CLOCK_SKEWS_MS) / 1000 + SETTLE_S + 0.5)
    summaries.append(run_export(mm_conn, settings, {}, run_id="final"))

    windows = [s["window"] for s in summaries]
    assert len(windows) >= 8 + 1
    for before, after in itertools.pairwise(windows):
        assert after["start_ms"] == before["end_ms"]  # consecutive, no gap, no overlap
    end = windows[-1]["end_ms"]
    assert all(
        s["settle_note"].startswith("window ends at now minus Mmgov.ExportSettleSeconds") for s in summaries
    )

    db = {
        (pid, upd)
        for pid, upd in mm_conn.execute(
            "SELECT id, updateat FROM posts WHERE updateat >= %s AND updateat < %s", (start, end)
        ).fetchall()
    }
    assert mm_conn.execute("SELECT count(*) FROM posts WHERE updateat >= %s", (end,)).fetchone()[0] == 0
    seen, late_zips = exported_versions(dest)
    lost = db - set(seen)
    duplicated = {v: n for v, n in seen.items() if n > 1}
    assert (len(lost), len(duplicated)) == (0, 0), (sorted(lost)[:5], list(duplicated.items())[:5])
    assert len(db) > 200
    # The sweep did real work: versions that committed after their window was read went out late,
    # in batches named late-..., and each run's summary says so.
    late_posts = sum(s["late_posts"] for s in summaries)
    assert late_posts > 0
    assert sum(late_zips.values()) == late_posts
    assert summaries[-1]["previous_window"]["uncaptured"] == 0
    assert all(s["previous_window"] is not None for s in summaries[1:])


HOUR = 3_600_000


class TestLateBatch:
    """One late post, placed by hand: where it goes, what the run says about it."""

    @pytest.fixture
    def setup(self, mm_conn: psycopg.Connection, file_store: Path, tmp_path: Path):
        ws = Workspace(mm_conn)
        team = ws.team("acme")
        channel = ws.channel("town", team=team)
        user = ws.user("alice")
        ws.history(channel, user, 1)
        now = int(time.time() * 1000)
        settings = Settings.parse(
            {
                "FileSettings": {"DriverName": "local", "Directory": str(file_store)},
                "MessageExportSettings": {"ExportFormat": "csv"},
                "Mmgov": {"ExportDestination": str(tmp_path / "out"), "LateArrivalLookbackHours": 24},
            }
        )
        a, b, c = now - 3 * HOUR, now - 2 * HOUR, now - HOUR
        ws.post("in-a", channel=channel, user=user, create=a + 10)
        first = run_export(mm_conn, settings, {"export_from": a, "export_to": b}, run_id="run-a")
        return ws, channel, user, settings, (a, b, c), first, tmp_path / "out"

    def test_a_late_post_goes_in_a_late_batch_of_the_next_run_naming_its_window(self, setup, mm_conn):
        ws, channel, user, settings, (a, b, c), first, out = setup
        assert first["late"] == []
        assert first["previous_window"] is None
        late = ws.post("late-in-a", channel=channel, user=user, create=a + 20)  # committed after run-a read A
        ws.post("in-b", channel=channel, user=user, create=b + 5)
        second = run_export(mm_conn, settings, {"export_from": b, "export_to": c}, run_id="run-b")
        zip_name = f"late-batch001-{a}-{b}.zip"
        assert second["late_posts"] == 1
        assert second["late"] == [
            {
                "span": {"start_ms": a, "end_ms": b},
                "posts": 1,
                "batches": [zip_name],
                "by_window": [{"window": {"start_ms": a, "end_ms": b}, "late_posts": 1}],
            }
        ]
        assert second["batches"] == [f"batch001-{b}-{c}.zip", zip_name]
        folder = out / ExportWindowName.of(b, c)
        with zipfile.ZipFile(folder / zip_name) as zf:
            rows = list(csv.DictReader(io.StringIO(zf.read("posts.csv").decode())))
        assert [r["Post Id"] for r in rows if r["Post Id"]] == [late]
        manifest = json.loads((folder / "manifest.json").read_text())
        entry = next(x for x in manifest["batches"] if x["zip_name"] == zip_name)
        assert entry["late"] is True
        assert entry["window"] == {"start_ms": a, "end_ms": b}
        assert entry["late_windows"] == [{"window": {"start_ms": a, "end_ms": b}, "late_posts": 1}]
        # the recount of A: one more post than at its export, captured by this run's sweep
        assert second["previous_window"] == {
            "run_key": "run-a",
            "window": {"start_ms": a, "end_ms": b},
            "posts_at_export": 1,
            "posts_now": 2,
            "growth": 1,
            "uncaptured": 0,
        }
        third = run_export(mm_conn, settings, {"export_from": c}, run_id="run-c")
        assert third["late"] == []
        assert third["late_posts"] == 0

    def test_growth_after_the_sweep_is_an_alert(self, setup, mm_conn, file_store):
        ws, channel, user, settings, (a, b, c), _first, out = setup
        request = resolve_request({"export_from": b, "export_to": c}, settings, run_id="run-b")
        fmt = get_format("csv", settings)
        destination = LocalDestination(out)
        tracking = begin_tracking(mm_conn, request, settings, int(time.time() * 1000))
        manifest = stage_export(
            mm_conn,
            request,
            fmt,
            file_store_from_settings(settings.FileSettings),
            destination,
            tracking=tracking,
        )
        check_staged(request, manifest, destination)
        ws.post("after-sweep", channel=channel, user=user, create=a + 30)  # lands after the sweep read A
        previous = recount_previous(mm_conn, request, manifest)
        assert previous is not None
        assert (previous["posts_at_export"], previous["posts_now"], previous["uncaptured"]) == (1, 2, 1)
        summary = deliver(request, manifest, fmt, destination, previous=previous)
        assert summary["status"] == "warning"
        assert summary["previous_window"]["uncaptured"] == 1
        audited = mm_conn.execute(
            "SELECT payload FROM mmgov.audit_log WHERE event = 'compliance_export.uncaptured_growth'"
        ).fetchone()[0]
        assert audited["previous_window"]["uncaptured"] == 1
        from mmgov.outcome import error_line, is_deterministic

        with pytest.raises(UncapturedGrowthError) as err:
            task_check_previous_window(summary)
        assert error_line(err.value).startswith("COMPLIANCE_EXPORT_UNCAPTURED_GROWTH: 1 post versions")
        assert is_deterministic(err.value)  # the task edge fails the task: no retry
        assert task_check_previous_window({"previous_window": {**previous, "uncaptured": 0}})

    def test_a_failed_run_exports_nothing_it_counts_as_exported(self, setup, mm_conn, file_store):
        """A staged run that is never delivered leaves no ledger rows that count: its versions are
        swept again by the next run."""
        ws, channel, user, settings, (a, b, c), _first, out = setup
        ws.post("late-in-a", channel=channel, user=user, create=a + 20)
        request = resolve_request({"export_from": b, "export_to": c}, settings, run_id="run-b-failed")
        fmt = get_format("csv", settings)
        tracking = begin_tracking(mm_conn, request, settings, int(time.time() * 1000))
        staged = stage_export(
            mm_conn,
            request,
            fmt,
            file_store_from_settings(settings.FileSettings),
            LocalDestination(out),
            tracking=tracking,
        )
        assert sum(p.db.posts for p in staged.late) == 1  # staged, then the run fails before delivery
        again = run_export(mm_conn, settings, {"export_from": b, "export_to": c}, run_id="run-b-retry")
        assert again["late_posts"] == 1


class ExportWindowName:
    @staticmethod
    def of(start: int, end: int) -> str:
        from mmgov.compliance.export_window import ExportWindow

        return ExportWindow(start, end).folder_name
