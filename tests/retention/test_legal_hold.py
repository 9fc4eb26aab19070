"""Legal holds spare what they hold from the purge: by user, channel, team, date range; placed or released after a preview."""

from __future__ import annotations

import pytest

from mmgov import audit
from mmgov.retention.legal_hold import create_hold, release_hold
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from tests.retention.builders import (
    DAY,
    NOW,
    deleted_files,
    deleted_posts,
    purge_settings,
    run_purge,
)


class TestLegalHolds:
    @pytest.fixture
    def world(self, ws):
        team, other_team = ws.team(), ws.team()
        chan, held_chan, other = ws.channel(team), ws.channel(team), ws.channel(other_team)
        alice, bob = ws.user("alice"), ws.user("bob")
        posts = {
            "alice_old": ws.post(chan, 300, user_id=alice),
            "alice_mid": ws.post(chan, 200, user_id=alice),
            "bob": ws.post(chan, 300, user_id=bob),
            "held_chan": ws.post(held_chan, 300, user_id=bob),
            "other_team": ws.post(other, 300, user_id=bob),
        }
        return {
            "team": team,
            "other_team": other_team,
            "held_chan": held_chan,
            "alice": alice,
            "posts": posts,
        }

    def _deleted_names(self, conn, world):
        gone = deleted_posts(conn)
        return {name for name, pid in world["posts"].items() if pid in gone}

    def test_user_hold(self, conn, world):
        create_hold(conn, name="case", scope="user", target_id=world["alice"], actor="a")
        result = run_purge(conn, purge_settings())
        assert self._deleted_names(conn, world) == {"bob", "held_chan", "other_team"}
        assert result["summary"]["spared"]["messages_held"] == 2

    def test_channel_hold(self, conn, world):
        create_hold(conn, name="case", scope="channel", target_id=world["held_chan"], actor="a")
        run_purge(conn, purge_settings())
        assert self._deleted_names(conn, world) == {"alice_old", "alice_mid", "bob", "other_team"}

    def test_team_hold(self, conn, world):
        create_hold(conn, name="case", scope="team", target_id=world["team"], actor="a")
        run_purge(conn, purge_settings())
        assert self._deleted_names(conn, world) == {"other_team"}

    def test_date_range_on_createat(self, conn, world):
        create_hold(
            conn,
            name="case",
            scope="user",
            target_id=world["alice"],
            start_ms=NOW - 250 * DAY,
            end_ms=NOW - 150 * DAY,
            actor="a",
        )
        run_purge(conn, purge_settings())
        assert self._deleted_names(conn, world) == {"alice_old", "bob", "held_chan", "other_team"}

    def test_released_hold_no_longer_protects_the_next_run(self, conn, world):
        hold = create_hold(conn, name="case", scope="team", target_id=world["team"], actor="a")
        release_hold(conn, hold.id, actor="a")
        run_purge(conn, purge_settings())
        assert self._deleted_names(conn, world) == set(world["posts"])
        events = [e["event"] for e in audit.history(conn, event_prefix="legal_hold.")]
        assert events == ["legal_hold.released", "legal_hold.created"]

    def test_hold_placed_after_preview_protects(self, conn, world):
        s = purge_settings()
        summary = preview_purge(conn, s, now_ms=NOW)
        create_hold(conn, name="case", scope="team", target_id=world["team"], actor="a")
        soft_delete(conn, s, summary["run_id"], sleep=lambda _: None)
        assert self._deleted_names(conn, world) == {"other_team"}

    def test_hold_released_after_preview_still_protects_that_run(self, conn, world):
        hold = create_hold(conn, name="case", scope="team", target_id=world["team"], actor="a")
        s = purge_settings()
        summary = preview_purge(conn, s, now_ms=NOW)
        conn.execute("UPDATE mmgov.legal_holds SET released_at = %s WHERE id = %s", (NOW + 1, hold.id))
        soft_delete(conn, s, summary["run_id"], sleep=lambda _: None)
        assert self._deleted_names(conn, world) == {"other_team"}

    def test_held_files_are_spared(self, conn, ws, world):
        held_file = ws.file(world["posts"]["alice_old"], 300)
        free_file = ws.file(world["posts"]["bob"], 300)
        loose = ws.file(None, 300, channel_id=world["held_chan"], creator_id=world["alice"])
        create_hold(conn, name="case", scope="user", target_id=world["alice"], actor="a")
        run_purge(conn, purge_settings(EnableFileDeletion=True, FileRetentionDays=1))
        assert deleted_files(conn) == {free_file}
        assert {held_file, loose}.isdisjoint(deleted_files(conn))
