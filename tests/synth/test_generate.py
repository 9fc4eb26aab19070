"""generate(): exact sizes, determinism, refusal to overwrite, atomicity, configuration errors, CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

import mmgov
from mmgov.db import with_database
from mmgov.mattermost_schema import create_mattermost_tables, read_catalog, schema_facts
from mmgov_dev.embedded_postgres import create_database, drop_database
from mmgov_dev.synth import SynthConfig, SynthConfigError, SynthTargetNotEmpty, generate
from mmgov_dev.synth import generator as generator_module
from mmgov_dev.synth.__main__ import main, parse_end
from mmgov_dev.synth.generator import LOADED_TABLES
from tests.support.schema import comparable, rendered_here
from tests.synth.conftest import END_MS, fresh_database


def table_digest(conn: psycopg.Connection, table: str) -> str:
    query = f"SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"
    return conn.execute(query).fetchone()[0]


def tree_digest(root: Path) -> list[tuple[str, str]]:
    return sorted(
        (str(p.relative_to(root)), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in root.rglob("*")
        if p.is_file()
    )


class TestSizes:
    @pytest.mark.parametrize("posts", [500, 2000, 4321], ids=["500", "2000", "4321"])
    def test_exact_number_of_posts(self, synth_db, posts: int):
        _dsn, conn = synth_db
        summary = generate(conn, SynthConfig(posts=posts, seed=posts, end_ms=END_MS))
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == posts
        assert summary.counts["posts"] == posts

    def test_explicit_sizes_are_honoured(self, synth_db):
        _dsn, conn = synth_db
        config = SynthConfig(posts=2500, seed=1, end_ms=END_MS, teams=2, users=40, channels_per_team=5, dms=6, gms=4,
                             bots=2)  # fmt: skip
        summary = generate(conn, config)
        one = lambda q: conn.execute(q).fetchone()[0]  # noqa: E731
        assert one("SELECT count(*) FROM teams") == 2
        assert one("SELECT count(*) FROM users WHERE id NOT IN (SELECT userid FROM bots)") == 40
        assert one("SELECT count(*) FROM bots") == 2
        assert one("SELECT count(*) FROM channels WHERE teamid <> ''") == 2 * (2 + 5)
        assert one("SELECT count(*) FROM channels WHERE type = 'D'") == 6
        assert one("SELECT count(*) FROM channels WHERE type = 'G'") == 4
        assert summary.end_ms - summary.start_ms == 90 * 86_400_000

    def test_default_end_is_today_midnight_utc(self, synth_db):
        _dsn, conn = synth_db
        summary = generate(conn, SynthConfig(posts=600))
        assert summary.end_ms % 86_400_000 == 0
        assert conn.execute("SELECT max(updateat) < %s FROM posts", (summary.end_ms,)).fetchone()[0]

    def test_summary_handles_point_at_the_right_records(self, synth_db):
        _dsn, conn = synth_db
        s = generate(conn, SynthConfig(posts=2000, seed=3, end_ms=END_MS))
        h = s.handles
        one = lambda q, *a: conn.execute(q, a).fetchone()[0]  # noqa: E731
        assert one("SELECT roles FROM users WHERE id = %s", h["admin_user_id"]) == "system_user system_admin"
        assert one("SELECT roles FROM users WHERE id = %s", h["guest_user_id"]) == "system_guest"
        assert one("SELECT deleteat > 0 FROM users WHERE id = %s", h["deactivated_user_id"])
        assert one("SELECT count(*) FROM bots WHERE userid = %s", h["bot_user_id"]) == 1
        assert one("SELECT type::text FROM channels WHERE id = %s", h["dm_channel_id"]) == "D"
        assert one("SELECT type::text FROM channels WHERE id = %s", h["gm_channel_id"]) == "G"
        assert one("SELECT count(*) FROM channelmemberhistory WHERE channelid = %s", h["gm8_channel_id"]) == 8
        assert one("SELECT deleteat > 0 FROM channels WHERE id = %s", h["archived_channel_id"])
        assert one("SELECT type::text FROM channels WHERE id = %s", h["private_channel_id"]) == "P"
        assert (
            one("SELECT postduration FROM retentionpolicies WHERE id = %s", h["retention_forever_policy_id"])
            == -1
        )
        doc = s.to_dict()
        assert json.loads(json.dumps(doc))["counts"]["posts"] == 2000
        assert doc["file_root"] is None


class TestDeterminism:
    def test_same_seed_gives_identical_tables_and_files(self, synth_server: str, tmp_path: Path):
        digests, trees, summaries = [], [], []
        for run in ("a", "b"):
            root = tmp_path / run
            with fresh_database(synth_server) as (_dsn, conn):
                s = generate(conn, SynthConfig(posts=2000, seed=99, days=30, end_ms=END_MS, file_root=root))
                digests.append({t: table_digest(conn, t) for t in LOADED_TABLES})
            trees.append(tree_digest(root))
            summaries.append(s)
        assert digests[0] == digests[1]
        assert trees[0] == trees[1]
        assert summaries[0].handles == summaries[1].handles
        assert summaries[0].missing_file_ids == summaries[1].missing_file_ids

    def test_separate_processes_with_different_hash_seeds_agree(self, synth_server: str, tmp_path: Path):
        """No set or dict iteration order leaks into the data (PYTHONHASHSEED differs per process)."""
        include = str(Path(mmgov.__file__).resolve().parents[1])
        digests = []
        for hash_seed in ("1", "2"):
            name = f"synth_hash_{uuid.uuid4().hex[:10]}"
            env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": include}
            cmd = [
                sys.executable,
                "-m",
                "mmgov_dev.synth",
                "--posts",
                "1500",
                "--seed",
                "8",
                "--end",
                "2026-01-01",
            ]
            cmd += ["--dsn", synth_server, "--database", name, "--file-root", str(tmp_path / hash_seed)]
            try:
                subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)
                with psycopg.connect(with_database(synth_server, name)) as conn:
                    digests.append({t: table_digest(conn, t) for t in LOADED_TABLES})
            finally:
                drop_database(synth_server, name)
        assert digests[0] == digests[1]
        assert tree_digest(tmp_path / "1") == tree_digest(tmp_path / "2")

    def test_a_different_seed_gives_different_data(self, synth_server: str):
        digests = []
        for seed in (1, 2):
            with fresh_database(synth_server) as (_dsn, conn):
                generate(conn, SynthConfig(posts=1000, seed=seed, end_ms=END_MS))
                digests.append((table_digest(conn, "posts"), table_digest(conn, "users")))
        assert digests[0][0] != digests[1][0]
        assert digests[0][1] != digests[1][1]


class TestSafety:
    def test_refuses_a_database_with_data_and_leaves_it_untouched(self, synth_db):
        _dsn, conn = synth_db
        generate(conn, SynthConfig(posts=800, seed=1, end_ms=END_MS))
        before = table_digest(conn, "posts")
        with pytest.raises(SynthTargetNotEmpty, match="posts"):
            generate(conn, SynthConfig(posts=800, seed=2, end_ms=END_MS))
        assert table_digest(conn, "posts") == before

    def test_refuses_when_any_mattermost_table_has_rows(self, synth_db):
        _dsn, conn = synth_db
        create_mattermost_tables(conn)
        conn.execute("INSERT INTO systems (name, value) VALUES ('Version', '9.0.0')")
        with pytest.raises(SynthTargetNotEmpty, match="systems"):
            generate(conn, SynthConfig(posts=800, end_ms=END_MS))
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 0

    def test_leaves_mattermosts_catalog_as_it_is(self, synth_db):
        """The generator fills the real 11.7 schema (every NOT NULL column) and adds no table, index
        or view of its own to it."""
        _dsn, conn = synth_db
        generate(conn, SynthConfig(posts=800, end_ms=END_MS))
        assert comparable(read_catalog(conn)) == comparable(rendered_here(conn, schema_facts()))
        assert conn.execute("SELECT count(*) FROM poststats").fetchone()[0] > 0  # views filled after the load

    def test_accepts_existing_empty_tables(self, synth_db):
        _dsn, conn = synth_db
        create_mattermost_tables(conn)
        summary = generate(conn, SynthConfig(posts=800, end_ms=END_MS))
        assert summary.counts["posts"] == 800

    def test_a_failure_late_in_the_load_leaves_nothing_behind(
        self, synth_db, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ):
        _dsn, conn = synth_db

        def boom(_conn: psycopg.Connection) -> None:
            raise RuntimeError("index build failed")

        monkeypatch.setattr(generator_module, "create_mattermost_indexes", boom)
        with pytest.raises(RuntimeError, match="index build failed"):
            generate(conn, SynthConfig(posts=800, end_ms=END_MS, file_root=tmp_path / "fs"))
        assert conn.execute("SELECT to_regclass('public.posts')").fetchone()[0] is None
        monkeypatch.undo()
        assert generate(conn, SynthConfig(posts=800, end_ms=END_MS)).counts["posts"] == 800

    def test_works_without_autocommit_and_commits(self, synth_db):
        dsn, _conn = synth_db
        with psycopg.connect(dsn) as conn:
            assert not conn.autocommit
            generate(conn, SynthConfig(posts=700, end_ms=END_MS))
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with psycopg.connect(dsn) as other:
            assert other.execute("SELECT count(*) FROM posts").fetchone()[0] == 700
            indexes = other.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_posts_update_at'")
            assert indexes.fetchone()[0] == 1


class TestConfig:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"posts": 10}, "posts must be an integer >= 500"),
            ({"posts": "1000"}, "posts must be an integer"),
            ({"days": 0}, "days must be"),
            ({"users": 5}, "users must be an integer >= 12"),
            ({"teams": 0}, "teams must be"),
            ({"attachment_ratio": 1.5}, "attachment_ratio must be between 0 and 1"),
            ({"missing_files": -1}, "missing_files must be"),
            ({"channels_per_team": 1}, "channels_per_team must be"),
        ],
        ids=["posts-small", "posts-str", "days", "users", "teams", "ratio", "missing", "channels"],
    )
    def test_bad_values_are_named(self, kwargs: dict, message: str):
        with pytest.raises(SynthConfigError, match=message):
            SynthConfig(**kwargs).resolve()

    def test_too_few_posts_for_the_workspace_is_refused_before_loading(self, synth_db):
        _dsn, conn = synth_db
        with pytest.raises(SynthConfigError, match="posts must be at least"):
            generate(conn, SynthConfig(posts=600, users=400, end_ms=END_MS))
        assert conn.execute("SELECT to_regclass('public.posts')").fetchone()[0] is None

    def test_defaults_scale_with_posts(self):
        small, large = SynthConfig(posts=2000).resolve(), SynthConfig(posts=1_000_000).resolve()
        assert (small.users, small.teams) == (24, 3)
        assert large.users == 2000
        assert large.teams > small.teams
        assert large.channels_per_team > small.channels_per_team


class TestCli:
    def test_parse_end(self):
        assert parse_end("1767225600000") == END_MS
        assert parse_end("2026-01-01") == END_MS
        assert parse_end("2026-01-01T01:00:00+01:00") == END_MS
        assert parse_end("2026-01-01T00:00:00Z") == END_MS

    def test_generates_into_a_new_database_and_replaces_its_own(
        self, synth_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ):
        name = f"synth_cli_{uuid.uuid4().hex[:10]}"
        args = [
            "--posts",
            "900",
            "--seed",
            "4",
            "--end",
            "2026-01-01",
            "--dsn",
            synth_server,
            "--database",
            name,
        ]
        try:
            assert main([*args, "--json", "--file-root", str(tmp_path / "fs")]) == 0
            doc = json.loads(capsys.readouterr().out)
            assert doc["counts"]["posts"] == 900
            assert doc["file_root"] == str((tmp_path / "fs").resolve())
            assert doc["database"] == with_database(synth_server, name)
            # Running again replaces the synthetic database; the text summary names the counts.
            assert main(args) == 0
            out = capsys.readouterr().out
            assert "posts=900" in out
            assert "files: none written" in out
            with psycopg.connect(with_database(synth_server, name)) as conn:
                assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 900
        finally:
            drop_database(synth_server, name)

    def test_refuses_to_replace_a_real_mattermost_database(
        self, synth_server: str, capsys: pytest.CaptureFixture[str]
    ):
        name = f"synth_cli_real_{uuid.uuid4().hex[:10]}"
        dsn = create_database(synth_server, name)
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                create_mattermost_tables(conn)
                conn.execute("INSERT INTO posts (id, message) VALUES ('realpost', 'keep me')")
            code = main(["--posts", "600", "--dsn", synth_server, "--database", name])
            assert code == 3
            assert "refusing" in capsys.readouterr().err
            with psycopg.connect(dsn) as conn:
                assert conn.execute("SELECT message FROM posts").fetchall() == [("keep me",)]
        finally:
            drop_database(synth_server, name)

    def test_no_create_loads_into_the_given_empty_database(
        self, synth_db, capsys: pytest.CaptureFixture[str]
    ):
        dsn, conn = synth_db
        assert main(["--posts", "700", "--end", "1767225600000", "--dsn", dsn, "--no-create"]) == 0
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 700
        assert main(["--posts", "700", "--dsn", dsn, "--no-create"]) == 3
        assert "refusing" in capsys.readouterr().err
