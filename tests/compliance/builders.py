"""Insert exact Mattermost rows for compliance tests (teams, channels, users, bots, posts, files, history).

Every helper takes explicit timestamps so tests can place rows on window and batch boundaries.
Ids are deterministic (26 chars) from a readable tag: ``mmid("post-a")``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import psycopg

from mmgov.ids import ALPHABET


def mmid(tag: str) -> str:
    """A deterministic 26-character Mattermost-style id for ``tag``."""
    n = int.from_bytes(hashlib.sha256(tag.encode()).digest(), "big")
    out = []
    for _ in range(26):
        n, r = divmod(n, 36)
        out.append(ALPHABET[r])
    return "".join(out)


class Workspace:
    """Row builder over a connection to a Mattermost test database (autocommit)."""

    def __init__(self, conn: psycopg.Connection, file_root: Path | None = None):
        self.conn = conn
        self.file_root = file_root

    def team(self, tag: str, *, name: str | None = None, display: str | None = None) -> str:
        tid = mmid(tag)
        self.conn.execute(
            "INSERT INTO teams (id, createat, updateat, deleteat, displayname, name, description, email, type,"
            " companyname, alloweddomains, inviteid, allowopeninvite, groupconstrained, cloudlimitsarchived)"
            " VALUES (%s, 1, 1, 0, %s, %s, '', '', 'O', '', '', %s, true, false, false)",
            (tid, display or tag.title(), name or tag, mmid("invite-" + tag)),
        )
        return tid

    def user(self, tag: str, *, email: str | None = None, bot: bool = False, delete_at: int = 0) -> str:
        uid = mmid(tag)
        self.conn.execute(
            "INSERT INTO users (id, createat, updateat, deleteat, username, password, authservice, email,"
            " emailverified, nickname, firstname, lastname, roles, allowmarketing, props, notifyprops,"
            " lastpasswordupdate, lastpictureupdate, failedattempts, locale, mfaactive, mfasecret, position,"
            " timezone, remoteid, lastlogin) VALUES (%s, 1, 1, %s, %s, '', '', %s, true, '', '', '',"
            " 'system_user', false, '{}', '{}', 0, 0, 0, 'en', false, '', '', '{}', '', 0)",
            (uid, delete_at, tag, email or f"{tag}@example.com"),
        )
        if bot:
            self.conn.execute(
                "INSERT INTO bots (userid, description, ownerid, createat, updateat, deleteat, lasticonupdate)"
                " VALUES (%s, '', 'plugin', 1, 1, 0, 0)",
                (uid,),
            )
        return uid

    def channel(
        self,
        tag: str,
        *,
        team: str | None,
        ctype: str = "O",
        name: str | None = None,
        display: str | None = None,
    ) -> str:
        cid = mmid(tag)
        self.conn.execute(
            "INSERT INTO channels (id, createat, updateat, deleteat, teamid, type, displayname, name, header,"
            " purpose, lastpostat, totalmsgcount, extraupdateat, creatorid, schemeid, groupconstrained, shared,"
            " totalmsgcountroot, lastrootpostat, defaultcategoryname) VALUES (%s, 1, 1, 0, %s, %s, %s, %s, '', '',"
            " 0, 0, 0, '', NULL, false, false, 0, 0, '')",
            (cid, team or "", ctype, display if display is not None else tag.title(), name or tag),
        )
        return cid

    def history(self, channel: str, user: str, join: int, leave: int | None = None) -> None:
        self.conn.execute(
            "INSERT INTO channelmemberhistory (channelid, userid, jointime, leavetime) VALUES (%s, %s, %s, %s)",
            (channel, user, join, leave),
        )

    def member(self, channel: str, user: str) -> None:
        self.conn.execute(
            "INSERT INTO channelmembers (channelid, userid, roles, lastviewedat, msgcount, mentioncount,"
            " notifyprops, lastupdateat, schemeuser, schemeadmin, schemeguest, mentioncountroot, msgcountroot,"
            " urgentmentioncount) VALUES (%s, %s, '', 0, 0, 0, '{}', 0, true, false, false, 0, 0, 0)",
            (channel, user),
        )

    def post(
        self,
        tag: str,
        *,
        channel: str,
        user: str,
        create: int,
        update: int | None = None,
        delete: int = 0,
        edit: int = 0,
        message: str | None = None,
        root: str = "",
        original: str = "",
        ptype: str = "",
        props: dict[str, Any] | None = None,
        pid: str | None = None,
    ) -> str:
        pid = pid or mmid(tag)
        self.conn.execute(
            "INSERT INTO posts (id, createat, updateat, deleteat, userid, channelid, rootid, originalid, message,"
            " type, props, hashtags, filenames, fileids, hasreactions, editat, ispinned, remoteid)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', '[]', '[]', false, %s, false, NULL)",
            (
                pid,
                create,
                update if update is not None else create,
                delete,
                user,
                channel,
                root,
                original,
                message if message is not None else f"message {tag}",
                ptype,
                json.dumps(props or {}),
                edit,
            ),
        )
        return pid

    def post_of_kind(self, tag: str, kind: int, *, at: int, **fields: Any) -> str:
        """A post created at ``at`` that is, by ``kind`` (0, 1, 2): just created; edited (``editat``
        and ``updateat`` 3 ms later); updated without a text change (``updateat`` only)."""
        return self.post(
            tag, create=at, update=at if kind == 0 else at + 3, edit=at + 3 if kind == 1 else 0, **fields
        )

    def deleted_posts(
        self, *, at: int, before: int, places: list[tuple[str, str]], texts: list[str], deleter: str
    ) -> int:
        """Deleted posts of each kind the classifier tells apart, from ``at`` on; returns how many.

        For each (channel, author) of ``places``, with the ``texts`` in turn: a user's deletion
        (``deleteBy``) of a post created at ``at`` (two entries: "created" and ``Deleted``) or, every
        other one, at ``before`` (one entry); the third as a bot (``from_bot``). Then an edit's old
        text whose new post id needs quoting, a negative ``deleteat`` (not deleted) and a deleted
        post with a file (classified in Python, whatever a format renders).
        """
        deleted_by = {"deleteBy": deleter}
        for i, ((channel, user), text) in enumerate(zip(places, texts, strict=True)):
            props = {**deleted_by, "from_bot": "true"} if i == 2 else deleted_by
            created = before if i % 2 else at + i
            self.post(
                f"del{i}",
                channel=channel,
                user=user,
                create=created,
                update=at + 150 + i,  # later than the deletion: the two times are told apart
                delete=at + 100 + i,
                message=text,
                props=props,
            )
        channel, user = places[0]
        self.post(
            "old-text",
            channel=channel,
            user=user,
            create=at + 200,
            update=at + 210,
            delete=at + 205,
            original="a,b&<c>",
        )
        self.post("negative", channel=channel, user=user, create=at + 220, delete=-5, message="still here")
        with_file = self.post(
            "del-file",
            channel=channel,
            user=user,
            create=at + 230,
            update=at + 240,
            delete=at + 240,
            props=deleted_by,
        )
        self.file("del-file-f", post=with_file, user=user, channel=channel, name="a.txt", create=at + 230)
        return len(places) + 3

    def file(
        self,
        tag: str,
        *,
        post: str,
        user: str,
        channel: str,
        name: str,
        content: bytes | None = b"data",
        create: int = 1,
        delete: int = 0,
        path: str | None = None,
    ) -> str:
        fid = mmid(tag)
        path = path or f"20260105/teams/noteam/channels/{channel}/users/{user}/{fid}/{name}"
        self.conn.execute(
            "INSERT INTO fileinfo (id, creatorid, postid, createat, updateat, deleteat, path, thumbnailpath,"
            " previewpath, name, extension, size, mimetype, width, height, haspreviewimage, minipreview, content,"
            " remoteid, archived, channelid) VALUES (%s, %s, %s, %s, %s, %s, %s, '', '', %s, %s, %s,"
            " 'application/octet-stream', 0, 0, false, NULL, '', NULL, false, %s)",
            (
                fid,
                user,
                post,
                create,
                delete or create,
                delete,
                path,
                name,
                name.rsplit(".", 1)[-1],
                len(content or b""),
                channel,
            ),
        )
        if (
            content is not None
            and self.file_root is not None
            and not path.startswith("/")
            and ".." not in path
        ):
            target = self.file_root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return fid
