"""Mattermost's invariants hold in a generated workspace (checked in SQL on real PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from tests.synth.conftest import SMALL_POSTS, SMALL_SEED, Generated


def test_exact_post_count_and_summary_counts(generated: Generated):
    assert generated.scalar("SELECT count(*) FROM posts") == SMALL_POSTS
    for table, count in generated.summary.counts.items():
        assert generated.scalar(f"SELECT count(*) FROM {table}") == count, table
    assert generated.summary.counts["posts"] == SMALL_POSTS


def test_every_timestamp_lies_in_the_span(generated: Generated):
    s = generated.summary
    assert s.end_ms - s.start_ms == 60 * 86_400_000
    bad = generated.scalar(
        "SELECT count(*) FROM posts WHERE createat < %s OR updateat > %s OR deleteat > %s OR editat > %s "
        "OR updateat < createat",
        (s.start_ms, s.end_ms, s.end_ms, s.end_ms),
    )
    assert bad == 0


class TestMembership:
    def test_every_author_has_a_covering_history_interval(self, generated: Generated):
        uncovered = generated.scalar(
            """
            SELECT count(*) FROM posts p
            WHERE NOT EXISTS (
                SELECT 1 FROM channelmemberhistory h
                WHERE h.channelid = p.channelid AND h.userid = p.userid
                  AND h.jointime <= p.createat AND (h.leavetime IS NULL OR h.leavetime >= p.createat))
            """
        )
        assert uncovered == 0

    def test_channelmembers_are_exactly_the_open_intervals(self, generated: Generated):
        diff = generated.rows(
            """
            (SELECT channelid, userid FROM channelmembers
             EXCEPT SELECT channelid, userid FROM channelmemberhistory WHERE leavetime IS NULL)
            UNION ALL
            (SELECT channelid, userid FROM channelmemberhistory WHERE leavetime IS NULL
             EXCEPT SELECT channelid, userid FROM channelmembers)
            """
        )
        assert diff == []

    def test_intervals_are_ordered_and_do_not_overlap(self, generated: Generated):
        bad = generated.scalar(
            """
            SELECT count(*) FROM channelmemberhistory a JOIN channelmemberhistory b
              ON a.channelid = b.channelid AND a.userid = b.userid AND a.jointime < b.jointime
            WHERE a.leavetime IS NULL OR a.leavetime >= b.jointime
            """
        )
        assert bad == 0
        assert generated.scalar("SELECT count(*) FROM channelmemberhistory WHERE leavetime <= jointime") == 0

    def test_some_users_leave_and_some_rejoin(self, generated: Generated):
        assert generated.scalar("SELECT count(*) FROM channelmemberhistory WHERE leavetime IS NOT NULL") >= 2
        rejoined = generated.scalar(
            "SELECT count(*) FROM (SELECT 1 FROM channelmemberhistory GROUP BY channelid, userid "
            "HAVING count(*) > 1) x"
        )
        assert rejoined >= 1

    def test_join_and_leave_posts_match_the_history(self, generated: Generated):
        unmatched_posts = generated.scalar(
            """
            SELECT count(*) FROM posts p WHERE p.type IN ('system_join_channel', 'system_leave_channel')
            AND NOT EXISTS (
                SELECT 1 FROM channelmemberhistory h WHERE h.channelid = p.channelid AND h.userid = p.userid
                AND ((p.type = 'system_join_channel' AND h.jointime = p.createat)
                  OR (p.type = 'system_leave_channel' AND h.leavetime = p.createat)))
            """
        )
        assert unmatched_posts == 0
        unmatched_history = generated.scalar(
            """
            SELECT count(*) FROM channelmemberhistory h JOIN channels c ON c.id = h.channelid
            WHERE c.type IN ('O', 'P') AND (
                NOT EXISTS (SELECT 1 FROM posts p WHERE p.type = 'system_join_channel'
                            AND p.channelid = h.channelid AND p.userid = h.userid AND p.createat = h.jointime)
             OR (h.leavetime IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM posts p WHERE p.type = 'system_leave_channel'
                   AND p.channelid = h.channelid AND p.userid = h.userid AND p.createat = h.leavetime)))
            """
        )
        assert unmatched_history == 0
        direct = generated.scalar(
            "SELECT count(*) FROM posts p JOIN channels c ON c.id = p.channelid "
            "WHERE c.type IN ('D', 'G') AND p.type LIKE 'system_%%'"
        )
        assert direct == 0

    def test_team_ex_members_left_their_channels(self, generated: Generated):
        assert generated.scalar("SELECT count(*) FROM teammembers WHERE deleteat > 0") >= 1
        still_in = generated.scalar(
            """
            SELECT count(*) FROM teammembers tm JOIN channels c ON c.teamid = tm.teamid AND c.deleteat = 0
            JOIN channelmemberhistory h ON h.channelid = c.id AND h.userid = tm.userid
            WHERE tm.deleteat > 0 AND (h.leavetime IS NULL OR h.leavetime > tm.deleteat)
            """
        )
        assert still_in == 0


class TestChannels:
    def test_direct_channel_names(self, generated: Generated):
        rows = generated.rows(
            """
            SELECT c.name, c.teamid, c.displayname, array_agg(h.userid ORDER BY h.userid COLLATE "C")
            FROM channels c JOIN channelmemberhistory h ON h.channelid = c.id
            WHERE c.type = 'D' GROUP BY c.id
            """
        )
        assert len(rows) == generated.scalar("SELECT count(*) FROM channels WHERE type = 'D'")
        for name, teamid, display, members in rows:
            pair = members if len(members) == 2 else members * 2
            assert name == "__".join(sorted(pair))
            assert (teamid, display) == ("", "")
        assert any(len(m) == 1 for *_x, m in rows), "a self-DM exists"

    def test_group_channel_names(self, generated: Generated):
        rows = generated.rows(
            """
            SELECT c.name, c.teamid, c.displayname, array_agg(u.id), array_agg(u.username)
            FROM channels c JOIN channelmemberhistory h ON h.channelid = c.id JOIN users u ON u.id = h.userid
            WHERE c.type = 'G' GROUP BY c.id
            """
        )
        sizes = sorted(len(r[3]) for r in rows)
        assert 8 in sizes
        assert sizes.count(3) >= 2
        for name, teamid, display, ids, usernames in rows:
            assert name == hashlib.sha1("".join(sorted(ids)).encode(), usedforsecurity=False).hexdigest()
            assert teamid == ""
            assert display == ", ".join(sorted(usernames))[:64]

    def test_a_dm_with_a_deactivated_user_has_posts_before_deactivation(self, generated: Generated):
        cid = generated.summary.handles["dm_with_deactivated_channel_id"]
        n = generated.scalar(
            "SELECT count(*) FROM posts p JOIN users u ON u.id = p.userid "
            "WHERE p.channelid = %s AND u.deleteat > 0 AND p.createat < u.deleteat",
            (cid,),
        )
        assert n >= 1

    def test_team_channels(self, generated: Generated):
        per_team = generated.rows(
            """
            SELECT t.id, bool_or(c.name = 'town-square'), bool_or(c.name = 'off-topic'),
                   bool_or(c.type = 'O' AND c.deleteat = 0), bool_or(c.type = 'P'), bool_or(c.deleteat > 0)
            FROM teams t JOIN channels c ON c.teamid = t.id GROUP BY t.id
            """
        )
        assert len(per_team) == generated.summary.counts["teams"]
        assert all(all(r[1:]) for r in per_team)
        assert generated.scalar("SELECT count(*) FROM teams WHERE name !~ '^[a-z0-9-]+$'") == 0
        assert generated.scalar("SELECT array_agg(DISTINCT type::text ORDER BY type::text) FROM teams") == [
            "I",
            "O",
        ]

    def test_archived_channel_posts_are_older_than_the_archiving(self, generated: Generated):
        assert (
            generated.scalar(
                "SELECT count(*) FROM posts p JOIN channels c ON c.id = p.channelid "
                "WHERE c.deleteat > 0 AND (p.createat >= c.deleteat OR p.updateat >= c.deleteat)"
            )
            == 0
        )
        assert (
            generated.scalar(
                "SELECT count(*) FROM posts p JOIN channels c ON c.id = p.channelid WHERE c.deleteat > 0"
            )
            > 0
        )

    def test_channel_statistics(self, generated: Generated):
        bad = generated.scalar(
            """
            SELECT count(*) FROM channels c LEFT JOIN (
                SELECT channelid, count(*) n, max(createat) last FROM posts WHERE originalid = ''
                GROUP BY channelid) s ON s.channelid = c.id
            WHERE c.totalmsgcount <> coalesce(s.n, 0) OR c.lastpostat <> coalesce(s.last, 0)
            """
        )
        assert bad == 0


class TestUsers:
    def test_kinds_of_users(self, generated: Generated):
        g = generated
        assert g.scalar("SELECT count(*) FROM users WHERE roles = 'system_user system_admin'") >= 1
        assert g.scalar("SELECT count(*) FROM users WHERE roles = 'system_guest'") >= 1
        assert g.scalar("SELECT count(*) FROM users WHERE deleteat > 0") >= 2
        assert g.scalar("SELECT count(*) FROM users WHERE authservice <> '' AND authdata <> ''") >= 1
        assert g.scalar("SELECT count(*) FROM users WHERE mfaactive AND mfasecret <> ''") >= 1
        assert g.scalar("SELECT count(*) FROM users WHERE username !~ '^[a-z0-9._-]+$'") == 0
        assert g.scalar("SELECT count(DISTINCT email) = count(*) FROM users")

    def test_passwords_look_like_bcrypt(self, generated: Generated):
        pw = [r[0] for r in generated.rows("SELECT password FROM users WHERE password <> ''")]
        assert pw
        assert all(re.fullmatch(r"\$2a\$10\$[./A-Za-z0-9]{53}", p) for p in pw)

    def test_notify_props_and_timezone_are_json(self, generated: Generated):
        for notify, tz in generated.rows("SELECT notifyprops, timezone FROM users"):
            assert notify["desktop"] in ("mention", "all", "none")
            assert notify["email"] in ("true", "false")
            assert "useAutomaticTimezone" in tz

    def test_bots_have_users_rows_and_owners(self, generated: Generated):
        g = generated
        assert g.scalar("SELECT count(*) FROM bots") >= 2
        assert (
            g.scalar("SELECT count(*) FROM bots b LEFT JOIN users u ON u.id = b.userid WHERE u.id IS NULL")
            == 0
        )
        assert (
            g.scalar("SELECT count(*) FROM bots b LEFT JOIN users o ON o.id = b.ownerid WHERE o.id IS NULL")
            == 0
        )
        assert (
            g.scalar("SELECT count(*) FROM bots b JOIN users o ON o.id = b.ownerid WHERE o.deleteat > 0") >= 1
        )

    def test_posts_of_deactivated_users_predate_deactivation(self, generated: Generated):
        g = generated
        assert (
            g.scalar(
                "SELECT count(*) FROM posts p JOIN users u ON u.id = p.userid WHERE u.deleteat > 0 "
                "AND p.createat >= u.deleteat"
            )
            == 0
        )
        assert (
            g.scalar(
                "SELECT count(*) FROM posts p JOIN users u ON u.id = p.userid WHERE u.deleteat > 0 AND p.type = ''"
            )
            >= 1
        )


# Predicates on posts: each kind must appear at least twice.
POST_KINDS = {
    "normal": "type = '' AND rootid = '' AND originalid = '' AND deleteat = 0 AND updateat = createat",
    "reply": "rootid <> '' AND originalid = ''",
    "edit_history": "originalid <> ''",
    "edited": "editat > 0 AND originalid = ''",
    "deleted": "deleteat > 0 AND originalid = '' AND props ? 'deleteBy'",
    "deleted_reply": "deleteat > 0 AND rootid <> '' AND originalid = ''",
    "reaction_update": "updateat > createat AND editat = 0 AND deleteat = 0 AND hasreactions",
    "pinned": "ispinned",
    "webhook": "props->>'from_webhook' = 'true' AND props ? 'override_username' AND props ? 'webhook_display_name'",
    "slack_attachment": "type = 'slack_attachment' AND jsonb_typeof(props->'attachments') = 'array'",
    "bot": "props->>'from_bot' = 'true' AND userid IN (SELECT userid FROM bots)",
    "plugin": "type LIKE 'custom\\_%%' AND props->>'from_plugin' = 'true'",
    "join": "type = 'system_join_channel'",
    "leave": "type = 'system_leave_channel'",
    "header_change": "type = 'system_header_change'",
    "previewed": "props ? 'previewed_post'",
    "unicode": "message ~ '[^\\x01-\\x7e]'",
    "emoji": "message LIKE '%%🎉%%' OR message LIKE '%%🚀%%' OR message LIKE '%%👍%%'",
    "newline": "message LIKE E'%%\\n%%'",
    "carriage_return": "message LIKE E'%%\\r\\n%%'",
    "tab": "message LIKE E'%%\\t%%'",
    "backslash": "strpos(message, E'\\\\') > 0",
    "comma_and_quote": "message LIKE '%%,%%' AND message LIKE '%%\"%%'",
    "control_chars": "message ~ '[\\x01\\x0b]'",
    "with_files": "fileids <> '[]'",
}


class TestPosts:
    @pytest.mark.parametrize("kind", list(POST_KINDS), ids=list(POST_KINDS))
    def test_kind_is_present(self, generated: Generated, kind: str):
        n = generated.scalar(f"SELECT count(*) FROM posts WHERE {POST_KINDS[kind]}")
        assert n >= 2, kind

    @pytest.mark.parametrize("ctype", ["O", "P", "D", "G"])
    def test_posts_in_every_channel_type(self, generated: Generated, ctype: str):
        n = generated.scalar(
            "SELECT count(*) FROM posts p JOIN channels c ON c.id = p.channelid WHERE c.type = %s AND p.type = ''",
            (ctype,),
        )
        assert n >= 3

    def test_fixed_columns(self, generated: Generated):
        g = generated
        assert (
            g.scalar("SELECT count(*) FROM posts WHERE hashtags <> '' OR filenames <> '[]' OR remoteid <> ''")
            == 0
        )
        assert g.scalar("SELECT count(*) FROM posts WHERE rootid IS NULL OR originalid IS NULL") == 0
        ids = g.rows("SELECT fileids FROM posts WHERE fileids <> '[]'")
        assert all(isinstance(json.loads(r[0]), list) for r in ids)

    def test_many_posts_share_a_millisecond(self, generated: Generated):
        groups = generated.scalar(
            "SELECT count(*) FROM (SELECT 1 FROM posts WHERE originalid = '' GROUP BY channelid, createat "
            "HAVING count(*) > 1) x"
        )
        assert groups >= SMALL_POSTS // 150
        assert (
            generated.scalar(
                "SELECT count(*) FROM (SELECT 1 FROM posts GROUP BY updateat HAVING count(*) > 1) x"
            )
            >= SMALL_POSTS // 150
        )

    def test_replies_follow_their_root_in_the_same_channel(self, generated: Generated):
        bad = generated.scalar(
            "SELECT count(*) FROM posts r LEFT JOIN posts root ON root.id = r.rootid WHERE r.rootid <> '' "
            "AND (root.id IS NULL OR root.rootid <> '' OR root.channelid <> r.channelid "
            "OR (r.originalid = '' AND r.createat <= root.createat))"
        )
        assert bad == 0

    def test_edit_history_rows(self, generated: Generated):
        bad = generated.scalar(
            """
            SELECT count(*) FROM posts e LEFT JOIN posts o ON o.id = e.originalid
            WHERE e.originalid <> '' AND (o.id IS NULL OR o.editat = 0 OR o.originalid <> ''
                OR e.deleteat = 0 OR e.deleteat <> e.updateat OR e.createat <> o.createat
                OR e.deleteat > o.editat OR e.userid <> o.userid OR e.channelid <> o.channelid
                OR e.rootid <> o.rootid OR e.message = o.message)
            """
        )
        assert bad == 0
        # The edited post: updateat = editat, and the last history row was saved at that edit.
        assert (
            generated.scalar(
                "SELECT count(*) FROM posts WHERE editat > 0 AND originalid = '' AND deleteat = 0 AND updateat <> editat"
            )
            == 0
        )
        assert (
            generated.scalar(
                "SELECT count(*) FROM posts o WHERE o.editat > 0 AND o.originalid = '' AND NOT EXISTS ("
                "SELECT 1 FROM posts e WHERE e.originalid = o.id AND e.deleteat = o.editat)"
            )
            == 0
        )

    def test_user_deletions(self, generated: Generated):
        g = generated
        assert (
            g.scalar(
                "SELECT count(*) FROM posts WHERE deleteat > 0 AND originalid = '' "
                "AND (NOT props ? 'deleteBy' OR updateat <> deleteat)"
            )
            == 0
        )
        assert (
            g.scalar(
                "SELECT count(*) FROM posts p LEFT JOIN users u ON u.id = p.props->>'deleteBy' "
                "WHERE p.props ? 'deleteBy' AND u.id IS NULL"
            )
            == 0
        )
        assert (
            g.scalar(
                "SELECT count(*) FROM posts r JOIN posts root ON root.id = r.rootid "
                "WHERE root.deleteat > 0 AND root.originalid = '' AND r.deleteat <> root.deleteat"
            )
            == 0
        )
        assert (
            g.scalar(
                "SELECT count(*) FROM fileinfo f JOIN posts p ON p.id = f.postid "
                "WHERE p.deleteat > 0 AND (f.deleteat <> p.deleteat OR f.updateat <> p.deleteat)"
            )
            == 0
        )
        assert (
            g.scalar("SELECT count(*) FROM fileinfo f JOIN posts p ON p.id = f.postid WHERE p.deleteat > 0")
            >= 1
        )

    def test_deleted_files_on_live_posts(self, generated: Generated):
        rows = generated.rows(
            "SELECT f.id, p.fileids FROM fileinfo f JOIN posts p ON p.id = f.postid "
            "WHERE p.deleteat = 0 AND f.deleteat > 0"
        )
        assert len(rows) >= 2
        assert all(fid not in json.loads(fileids) for fid, fileids in rows)

    def test_fileids_match_fileinfo(self, generated: Generated):
        rows = generated.rows(
            "SELECT p.fileids, coalesce(array_agg(f.id) FILTER (WHERE f.id IS NOT NULL AND (f.deleteat = 0 "
            "OR p.deleteat > 0)), '{}') FROM posts p LEFT JOIN fileinfo f ON f.postid = p.id "
            "WHERE p.originalid = '' GROUP BY p.id"
        )
        for fileids, live in rows:
            assert sorted(json.loads(fileids)) == sorted(live)

    def test_previewed_posts_exist(self, generated: Generated):
        assert (
            generated.scalar(
                "SELECT count(*) FROM posts p LEFT JOIN posts t ON t.id = p.props->>'previewed_post' "
                "WHERE p.props ? 'previewed_post' AND t.id IS NULL"
            )
            == 0
        )


class TestHangingOffPosts:
    def test_reactions(self, generated: Generated):
        g = generated
        assert g.scalar("SELECT count(*) FROM reactions") > 0
        assert (
            g.scalar(
                "SELECT count(*) FROM reactions r JOIN posts p ON p.id = r.postid "
                "WHERE r.createat < p.createat OR r.channelid <> p.channelid OR NOT p.hasreactions "
                "OR r.createat > p.updateat"
            )
            == 0
        )
        assert (
            g.scalar(
                "SELECT count(*) FROM posts p WHERE p.hasreactions AND NOT EXISTS "
                "(SELECT 1 FROM reactions r WHERE r.postid = p.id)"
            )
            == 0
        )
        assert (
            g.scalar(
                """
            SELECT count(*) FROM reactions r WHERE NOT EXISTS (
                SELECT 1 FROM channelmemberhistory h WHERE h.channelid = r.channelid AND h.userid = r.userid
                AND h.jointime <= r.createat AND (h.leavetime IS NULL OR h.leavetime >= r.createat))
            """
            )
            == 0
        )
        custom = g.scalar(
            "SELECT count(*) FROM reactions r JOIN emoji e ON e.name = r.emojiname AND e.deleteat = 0"
        )
        builtin = g.scalar("SELECT count(*) FROM reactions WHERE emojiname IN ('+1', 'smile')")
        assert custom > 0
        assert builtin > 0

    def test_flagged_posts_by_channel_members(self, generated: Generated):
        g = generated
        assert g.scalar("SELECT count(*) FROM preferences WHERE category = 'flagged_post'") >= 1
        assert (
            g.scalar(
                """
            SELECT count(*) FROM preferences f LEFT JOIN posts p ON p.id = f.name
            WHERE f.category = 'flagged_post' AND (p.id IS NULL OR f.value <> 'true' OR NOT EXISTS (
                SELECT 1 FROM channelmembers m WHERE m.channelid = p.channelid AND m.userid = f.userid))
            """
            )
            == 0
        )

    def test_other_preferences(self, generated: Generated):
        cats = dict(generated.rows("SELECT category, count(*) FROM preferences GROUP BY 1"))
        for cat in ("display_settings", "theme", "notifications", "favorite_channel", "tutorial_step"):
            assert cats.get(cat, 0) >= 1, cat
        names = {
            r[0]
            for r in generated.rows(
                "SELECT DISTINCT name FROM preferences WHERE category = 'display_settings'"
            )
        }
        assert {"use_military_time", "name_format", "message_display", "channel_display_mode"} <= names
        assert (
            generated.scalar(
                "SELECT count(*) FROM preferences WHERE category = 'theme' AND (name <> '' OR NOT value::jsonb ? 'type')"
            )
            == 0
        )

    def test_threads(self, generated: Generated):
        bad = generated.scalar(
            """
            SELECT count(*) FROM threads t JOIN posts root ON root.id = t.postid
            LEFT JOIN (SELECT rootid, count(*) n, max(createat) last,
                              jsonb_agg(DISTINCT userid) people
                       FROM posts WHERE rootid <> '' AND originalid = '' GROUP BY rootid) r ON r.rootid = t.postid
            LEFT JOIN channels c ON c.id = t.channelid
            WHERE t.replycount <> r.n OR t.lastreplyat <> r.last OR t.channelid <> root.channelid
               OR t.threadteamid <> c.teamid OR t.threaddeleteat <> root.deleteat
               OR NOT t.participants @> r.people OR NOT t.participants ? root.userid
            """
        )
        assert bad == 0
        roots_with_replies = generated.scalar("SELECT count(DISTINCT rootid) FROM posts WHERE rootid <> ''")
        assert generated.scalar("SELECT count(*) FROM threads") == roots_with_replies
        assert (
            generated.scalar(
                "SELECT count(*) FROM threads t, jsonb_array_elements_text(t.participants) p(uid) "
                "WHERE NOT EXISTS (SELECT 1 FROM threadmemberships m WHERE m.postid = t.postid AND m.userid = p.uid)"
            )
            == 0
        )


class TestPermissionsAndRetention:
    def test_roles_and_schemes(self, generated: Generated):
        g = generated
        names = {r[0] for r in g.rows("SELECT name FROM roles WHERE builtin")}
        assert {"system_user", "system_admin", "system_guest", "team_user", "team_admin", "channel_user",
                "channel_admin"} <= names  # fmt: skip
        scopes = dict(g.rows("SELECT scope, count(*) FROM schemes GROUP BY 1"))
        assert scopes == {"team": 1, "channel": 1}
        missing_roles = g.scalar(
            """
            SELECT count(*) FROM schemes s, unnest(ARRAY[defaultteamadminrole, defaultteamuserrole,
                defaultchanneladminrole, defaultchanneluserrole, defaultteamguestrole, defaultchannelguestrole]) r
            WHERE r <> '' AND NOT EXISTS (SELECT 1 FROM roles WHERE name = r AND schememanaged AND NOT builtin)
            """
        )
        assert missing_roles == 0
        assert (
            g.scalar("SELECT count(*) FROM teams t JOIN schemes s ON s.id = t.schemeid AND s.scope = 'team'")
            == 1
        )
        assert (
            g.scalar(
                "SELECT count(*) FROM channels c JOIN schemes s ON s.id = c.schemeid AND s.scope = 'channel'"
            )
            == 1
        )
        assert g.scalar("SELECT count(*) FROM roles WHERE permissions = '' OR permissions LIKE '%%  %%'") == 0

    def test_retention_policies(self, generated: Generated):
        g = generated
        ids = generated.summary.retention_policy_ids
        assert sorted(r[0] for r in g.rows("SELECT id FROM retentionpolicies")) == sorted(ids)
        assert g.scalar("SELECT count(*) FROM retentionpolicies WHERE postduration = -1") == 1
        assert g.scalar("SELECT count(*) FROM retentionpoliciesteams") >= 1
        assert g.scalar("SELECT count(*) FROM retentionpolicieschannels") >= 2
        assert (
            g.scalar(
                "SELECT count(*) FROM retentionpoliciesteams p LEFT JOIN teams t ON t.id = p.teamid WHERE t.id IS NULL"
            )
            == 0
        )
        assert (
            g.scalar(
                "SELECT count(*) FROM retentionpolicieschannels p LEFT JOIN channels c ON c.id = p.channelid "
                "WHERE c.id IS NULL"
            )
            == 0
        )
        # A keep-forever channel inside a team that has a 30-day policy: channel policies win.
        assert (
            g.scalar(
                """
            SELECT count(*) FROM retentionpolicieschannels pc JOIN retentionpolicies p ON p.id = pc.policyid
            JOIN channels c ON c.id = pc.channelid JOIN retentionpoliciesteams pt ON pt.teamid = c.teamid
            WHERE p.postduration = -1
            """
            )
            >= 1
        )

    def test_systems_and_emoji(self, generated: Generated):
        g = generated
        assert g.scalar("SELECT value FROM systems WHERE name = 'Version'")
        marker = json.loads(g.scalar("SELECT value FROM systems WHERE name = 'MmgovSynth'"))
        assert marker["seed"] == SMALL_SEED
        assert marker["posts"] == SMALL_POSTS
        assert g.scalar("SELECT count(*) FROM emoji WHERE deleteat > 0") == 1
        assert g.scalar("SELECT count(*) FROM emoji WHERE deleteat = 0") >= 4
