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

from mmgov.compliance.export_request import ExportRequest
from mmgov.compliance.export_window import ExportWindow
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


# Texts that the formats escape or quote: CSV (Go's encoding/csv quoting: comma, quote, CR, LF, a
# leading Unicode space, `\.`) and XML (lxml's escapes; characters XML 1.0 forbids become U+FFFD).
RENDERING_TEXTS = [
    "a,b",
    'say "hi"',
    "line\nbreak",
    "cr\ronly",
    "",
    "plain",
    "é ü 😀",
    " leading space",
    "\tleading tab",
    "\u3000ideographic space",
    "\xa0nbsp first",
    "\u200bzero width first",  # not a space for Go: unquoted
    "\\.",
    "\\.x",
    "trailing space ",
    "a&b<c>d",
    "ctl\x01\x08\x0b\x0c\x1f",
    "\ufffe\uffff",
    "]]>",
    "quote \" and ' ",
    "\ttab &amp; already",
]


def rendering_workspace(ws: Workspace, *, at: int, before: int) -> int:
    """Posts through every path a format renders, from ``at`` on; returns the number of post rows.

    Each of :data:`RENDERING_TEXTS` in a team channel, a private channel, a DM and a group message,
    as a plain, an edited and an updated post (by turns), by a user, a bot and a post flagged
    ``from_bot``, some with a preview or a root; names, e-mails and ids with characters to escape;
    a post whose author and channel rows are missing; and the deleted posts of
    :meth:`Workspace.deleted_posts` (some created at ``before``, outside a window starting after it).
    """
    team = ws.team("acme", name="a,cme", display=" Acme")
    chan = ws.channel("town", team=team, display='Town "Square"')
    private = ws.channel("priv", team=team, ctype="P", name=" lead", display="\\.")
    alice = ws.user("alice", email="a&<b>,1@example.com")
    bot = ws.user("robot", bot=True)
    carol = ws.user("carol", email="carol\x01@example.com")
    dm = ws.channel("dm", team=None, ctype="D", name=f"{alice}__{carol}", display="")
    gm = ws.channel("gm", team=None, ctype="G", name="gm-name", display="")
    ws.history(chan, alice, at - 5)
    places = ((chan, alice), (private, bot), (dm, carol), (gm, alice))
    t = at
    for i, text in enumerate(RENDERING_TEXTS):
        for j, (channel, user) in enumerate(places):
            t += 7
            preview = {"previewed_post": f" x,y{text}"} if j == 1 else {}
            ws.post_of_kind(
                f"p{i}-{j}",
                (i + j) % 3,
                at=t,
                channel=channel,
                user=user,
                message=text,
                root=mmid(f"p{i}-0") if j == 3 else "",
                props={"from_bot": "true"} if (i + j) % 4 == 0 else preview,
            )
    ws.post("odd", pid="id&<odd>", channel=chan, user=alice, create=t + 10, message="odd id")
    ws.post("ghost", channel=mmid("nochannel"), user=mmid("nobody"), create=t + 20, message=" ghost")
    ws.post("gone", channel=chan, user=alice, create=t + 30, delete=t + 40, message="bye, <now>")
    ws.post("old", channel=chan, user=alice, create=t + 50, delete=t + 60, original=mmid("p0-0"), message="x")
    deleted = ws.deleted_posts(
        at=t + 100,
        before=before,
        places=list(places),
        texts=["said, then took back & <gone>", ' quoted "words"\n', "ctl\x02 \ufffe", ""],
        deleter=carol,
    )
    return len(RENDERING_TEXTS) * len(places) + 4 + deleted


def town_channel(ws: Workspace, joined_at: int) -> tuple[str, str]:
    """A team channel "town" and its member alice (joined at ``joined_at``): ``(channel id, alice's id)``."""
    team = ws.team("acme")
    chan = ws.channel("town", team=team)
    alice = ws.user("alice")
    ws.history(chan, alice, joined_at)
    return chan, alice


def csv_request(window: ExportWindow, batch_size: int = 3, run_id: str = "r1") -> ExportRequest:
    """A CSV export of ``window`` to the "test" destination, in batches of ``batch_size`` posts."""
    return ExportRequest(
        window=window,
        source="params",
        export_format="csv",
        batch_size=batch_size,
        destination="test",
        run_folder=window.folder_name,
        run_key=run_id,
    )
