"""Exact Mattermost rows for retention tests, inserted one by one (ids known, ages in days)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psycopg

from mmgov.ids import new_id
from mmgov.settings import Settings

DAY = 86_400_000
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the instant previews evaluate expiry at


def settings(**sections: dict[str, Any]) -> Settings:
    """Settings with the given sections (defaults elsewhere)."""
    return Settings.parse(sections)


def mode_settings(mode: str, days: int = 100, factor: float = 3.0) -> Settings:
    """Purge settings with ``Mmgov.RetentionApproval`` = ``mode`` (always, on_change, never)."""
    return settings(
        DataRetentionSettings={
            "EnableMessageDeletion": True,
            "MessageRetentionDays": days,
            "BatchSize": 50,
            "TimeBetweenBatchesMilliseconds": 0,
        },
        Mmgov={"RetentionApproval": mode, "RetentionAnomalyFactor": factor},
    )


APPROVED = {"chosen_options": ["Approve"], "responded_by_user": {"id": "ann", "name": "ann"}}


def complete(conn: psycopg.Connection, s: Settings, summary: dict) -> dict:
    """Soft-delete a previewed run, approved by ``ann`` when it asks for a person."""
    from mmgov.retention.purge import soft_delete

    hitl = APPROVED if summary["approval"]["needs_approval"] else None
    return soft_delete(conn, s, summary["run_id"], hitl_result=hitl, sleep=lambda _: None)


@dataclass
class Workspace:
    """Inserts teams, channels, users, posts, files and post children; remembers what it made."""

    conn: psycopg.Connection
    now: int = NOW
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def team(self, name: str | None = None) -> str:
        tid = new_id()
        self.conn.execute(
            "INSERT INTO teams (id, createat, updateat, deleteat, displayname, name, type) VALUES (%s, 0, 0, 0, %s, %s, 'O')",
            (tid, name or tid[:8], name or tid),
        )
        return tid

    def channel(self, team_id: str = "", *, type: str = "O", name: str | None = None) -> str:
        cid = new_id()
        self.conn.execute(
            "INSERT INTO channels (id, createat, updateat, deleteat, teamid, type, displayname, name)"
            " VALUES (%s, 0, 0, 0, %s, %s, %s, %s)",
            (cid, team_id, type, name or cid[:8], name or cid),
        )
        return cid

    def user(self, name: str | None = None) -> str:
        uid = new_id()
        self.conn.execute(
            "INSERT INTO users (id, createat, updateat, deleteat, username, email, roles) VALUES (%s, 0, 0, 0, %s, %s, 'system_user')",
            (uid, name or uid, f"{name or uid}@example.com"),
        )
        return uid

    def post(
        self,
        channel_id: str,
        age_days: float,
        *,
        user_id: str | None = None,
        pinned: bool = False,
        deleted_by_user: bool = False,
        root_id: str = "",
        original_id: str = "",
        updated_days_ago: float | None = None,
        message: str = "hello",
        props: dict[str, Any] | None = None,
    ) -> str:
        pid = new_id()
        create = int(self.now - age_days * DAY)
        update = create if updated_days_ago is None else int(self.now - updated_days_ago * DAY)
        delete = 0
        props = dict(props or {})
        if deleted_by_user:
            delete = update = create + 1000
            props["deleteBy"] = user_id or "someuser"
        self.conn.execute(
            "INSERT INTO posts (id, createat, updateat, deleteat, userid, channelid, rootid, originalid, message, type,"
            " props, hashtags, filenames, fileids, hasreactions, editat, ispinned, remoteid)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, '', %s, '', '[]', '[]', false, 0, %s, '')",
            (
                pid,
                create,
                update,
                delete,
                user_id or new_id(),
                channel_id,
                root_id,
                original_id,
                message,
                json.dumps(props),
                pinned,
            ),
        )
        self.posts[pid] = {
            "channel": channel_id,
            "createat": create,
            "updateat": update,
            "deleteat": delete,
            "props": props,
        }
        return pid

    def edit_history(self, post_id: str) -> str:
        """The old version Mattermost keeps when a post is edited (deleted, originalid = the post)."""
        src = self.posts[post_id]
        hid = new_id()
        self.conn.execute(
            "INSERT INTO posts (id, createat, updateat, deleteat, userid, channelid, rootid, originalid, message,"
            " type, props, ispinned) SELECT %s, createat, updateat, updateat + 1, userid, channelid, rootid, id,"
            " 'old text', type, props, false FROM posts WHERE id = %s",
            (hid, post_id),
        )
        self.posts[hid] = {"channel": src["channel"], "history_of": post_id}
        return hid

    def file(
        self,
        post_id: str | None,
        age_days: float,
        *,
        channel_id: str | None = None,
        creator_id: str | None = None,
        path: str | None = None,
        deleted: bool = False,
    ) -> str:
        fid = new_id()
        create = int(self.now - age_days * DAY)
        if post_id is not None and channel_id is None:
            channel_id = self.posts[post_id]["channel"]
        path = (
            path if path is not None else f"20250101/teams/noteam/channels/{channel_id}/users/u/{fid}/f.txt"
        )
        self.conn.execute(
            "INSERT INTO fileinfo (id, creatorid, postid, createat, updateat, deleteat, path, thumbnailpath,"
            " previewpath, name, extension, size, mimetype, channelid)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, '', '', 'f.txt', 'txt', 3, 'text/plain', %s)",
            (
                fid,
                creator_id or new_id(),
                post_id or "",
                create,
                create,
                create + 1 if deleted else 0,
                path,
                channel_id or "",
            ),
        )
        self.files[fid] = {"post": post_id, "path": path}
        return fid

    def reaction(self, post_id: str, user_id: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO reactions (userid, postid, emojiname, createat, updateat, deleteat, channelid)"
            " VALUES (%s, %s, 'smile', 1, 1, 0, %s)",
            (user_id or new_id(), post_id, self.posts[post_id]["channel"]),
        )

    def flag(self, post_id: str, user_id: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO preferences (userid, category, name, value) VALUES (%s, 'flagged_post', %s, 'true')",
            (user_id or new_id(), post_id),
        )

    def thread(self, root_id: str, member_id: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO threads (postid, replycount, lastreplyat, participants, channelid) VALUES (%s, 1, 1, '[]', %s)",
            (root_id, self.posts[root_id]["channel"]),
        )
        self.conn.execute(
            "INSERT INTO threadmemberships (postid, userid, following, lastviewed, lastupdated, unreadmentions)"
            " VALUES (%s, %s, true, 0, 0, 0)",
            (root_id, member_id or new_id()),
        )

    def policy(self, name: str, days: int | None, *, teams: list[str] = (), channels: list[str] = ()) -> str:
        """A policy written straight into Mattermost's tables (as Mattermost would)."""
        pid = new_id()
        self.conn.execute(
            "INSERT INTO retentionpolicies (id, displayname, postduration) VALUES (%s, %s, %s)",
            (pid, name, -1 if days is None else days),
        )
        for t in teams:
            self.conn.execute(
                "INSERT INTO retentionpoliciesteams (policyid, teamid) VALUES (%s, %s)", (pid, t)
            )
        for c in channels:
            self.conn.execute(
                "INSERT INTO retentionpolicieschannels (policyid, channelid) VALUES (%s, %s)", (pid, c)
            )
        return pid


def deleted_posts(conn: psycopg.Connection) -> set[str]:
    """Ids of posts retention soft-deleted (its marker in props)."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT id FROM posts WHERE deleteat > 0 AND props->>'deleteBy' = 'mmgov-retention'"
        )
    }


def deleted_files(conn: psycopg.Connection) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT f.id FROM fileinfo f JOIN mmgov.purge_log l ON l.kind = 'file' AND l.id = f.id WHERE f.deleteat > 0"
        )
    }


def live_posts(conn: psycopg.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT id FROM posts WHERE deleteat = 0")}


def snapshot(conn: psycopg.Connection, table: str = "posts") -> dict[str, tuple]:
    """Every row of posts or fileinfo, by id (to compare before/after exactly)."""
    query = {
        "posts": "SELECT id, createat, updateat, deleteat, props::text, message, ispinned FROM posts",
        "fileinfo": "SELECT id, createat, updateat, deleteat, path FROM fileinfo",
    }[table]
    return {r[0]: r[1:] for r in conn.execute(query)}
