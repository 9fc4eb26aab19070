"""Hand-made Mattermost rows for the GDPR export's edge cases, and helpers to run and read an export."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from mmgov.bulk_export.export_job import finish_export, run_export, start_export
from mmgov.bulk_export.export_options import ExportOptions
from mmgov.file_store import LocalFileStore
from mmgov.settings import Settings
from mmgov_dev.synth.files import EMOJI_PNG, PROFILE_PNGS

T0 = 1_767_000_000_000  # a fixed "now" for hand-made rows


def make_id(label: str) -> str:
    """A deterministic 26-character Mattermost-style id for a label."""
    digest = hashlib.sha1(label.encode(), usedforsecurity=False).hexdigest()
    return (digest + digest)[:26]


@dataclass
class Builder:
    """Inserts rows with Mattermost's column names; returns ids. Only what a test needs is set."""

    conn: psycopg.Connection
    store: Path
    ids: dict[str, str] = field(default_factory=dict)

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        cols = ", ".join(f'"{c}"' if c == "position" else c for c in row)
        marks = ", ".join(["%s"] * len(row))
        values = [json.dumps(v) if isinstance(v, dict) else v for v in row.values()]
        self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)

    def team(self, name: str, *, deleted: int = 0, scheme: str = "") -> str:
        tid = self.ids[f"team:{name}"] = make_id(f"team:{name}")
        self._insert(
            "teams",
            {
                "id": tid,
                "name": name,
                "displayname": name.title(),
                "type": "O",
                "deleteat": deleted,
                "description": f"{name} team",
                "allowopeninvite": True,
                "createat": T0,
                "updateat": T0,
                "schemeid": scheme,
            },
        )
        return tid

    def user(
        self,
        username: str,
        *,
        deleted: int = 0,
        picture: int = 0,
        password: str = "",
        mfa: str = "",
        auth: tuple[str, str] = ("", ""),
        props: dict | None = None,
    ) -> str:
        uid = self.ids[f"user:{username}"] = make_id(f"user:{username}")
        self._insert(
            "users",
            {
                "id": uid,
                "username": username,
                "email": f"{username}@example.com",
                "password": password,
                "mfasecret": mfa,
                "mfaactive": bool(mfa),
                "authservice": auth[0],
                "authdata": auth[1] or None,
                "nickname": username[:3],
                "firstname": username.title(),
                "lastname": "Example",
                "position": "Engineer",
                "roles": "system_user",
                "locale": "en",
                "deleteat": deleted,
                "createat": T0,
                "updateat": T0,
                "lastpictureupdate": picture,
                "notifyprops": {
                    "desktop": "mention",
                    "email": "true",
                    "push": "mention",
                    "channel": "true",
                    "comments": "never",
                    "mention_keys": username,
                    "desktop_sound": "true",
                    "push_status": "away",
                },
                "props": props or {},
            },
        )
        return uid

    def bot(self, username: str, owner: str, *, deleted: int = 0) -> str:
        uid = self.user(username)
        self.conn.execute(
            "UPDATE users SET firstname = %s, deleteat = %s WHERE id = %s",
            (username.replace("-", " ").title(), deleted, uid),
        )
        self._insert(
            "bots",
            {
                "userid": uid,
                "description": f"{username} does things",
                "ownerid": owner,
                "createat": T0,
                "updateat": T0,
                "deleteat": deleted,
            },
        )
        return uid

    def channel(
        self,
        team: str | None,
        name: str,
        ctype: str = "O",
        *,
        deleted: int = 0,
        members: tuple[str, ...] = (),
    ) -> str:
        cid = self.ids[f"channel:{name}"] = make_id(f"channel:{team}:{name}")
        self._insert(
            "channels",
            {
                "id": cid,
                "teamid": self.ids[f"team:{team}"] if team else "",
                "type": ctype,
                "name": name,
                "displayname": name.replace("-", " ").title(),
                "deleteat": deleted,
                "header": f"header of {name}",
                "purpose": f"purpose of {name}",
                "createat": T0,
                "updateat": T0,
                "schemeid": "",
            },
        )
        for username in members:
            self.member(name, username)
        return cid

    def member(self, channel: str, username: str, **extra: Any) -> None:
        row = {
            "channelid": self.ids[f"channel:{channel}"],
            "userid": self.ids[f"user:{username}"],
            "roles": "",
            "schemeuser": True,
            "schemeadmin": False,
            "schemeguest": False,
            "notifyprops": {"desktop": "default", "push": "default", "mark_unread": "all"},
            "msgcount": 3,
            "mentioncount": 1,
            "msgcountroot": 2,
            "mentioncountroot": 1,
            "lastviewedat": T0,
        }
        row.update(extra)
        self._insert("channelmembers", row)

    def team_member(self, team: str, username: str, *, admin: bool = False) -> None:
        self._insert(
            "teammembers",
            {
                "teamid": self.ids[f"team:{team}"],
                "userid": self.ids[f"user:{username}"],
                "roles": "",
                "schemeuser": True,
                "schemeadmin": admin,
                "schemeguest": False,
                "deleteat": 0,
            },
        )

    def dm(self, a: str, b: str) -> str:
        ua, ub = self.ids[f"user:{a}"], self.ids[f"user:{b}"]
        name = "__".join(sorted((ua, ub)))
        label = f"dm:{'-'.join(sorted({a, b}))}"
        cid = self.ids[label] = make_id(label)
        self._insert(
            "channels",
            {
                "id": cid,
                "teamid": "",
                "type": "D",
                "name": name,
                "displayname": "",
                "deleteat": 0,
                "header": "",
                "purpose": "",
                "createat": T0,
                "updateat": T0,
            },
        )
        for uid in {ua, ub}:
            self._insert(
                "channelmembers",
                {
                    "channelid": cid,
                    "userid": uid,
                    "roles": "",
                    "schemeuser": True,
                    "schemeadmin": False,
                    "schemeguest": False,
                    "lastviewedat": T0,
                    "msgcount": 1,
                    "mentioncount": 0,
                    "msgcountroot": 1,
                    "mentioncountroot": 0,
                    "notifyprops": {"desktop": "default"},
                },
            )
        return cid

    def gm(self, label: str, usernames: tuple[str, ...]) -> str:
        cid = self.ids[f"gm:{label}"] = make_id(f"gm:{label}")
        self._insert(
            "channels",
            {
                "id": cid,
                "teamid": "",
                "type": "G",
                "name": hashlib.sha1(cid.encode(), usedforsecurity=False).hexdigest(),
                "displayname": ", ".join(usernames),
                "deleteat": 0,
                "header": "",
                "purpose": "",
                "createat": T0,
                "updateat": T0,
            },
        )
        for username in usernames:
            self._insert(
                "channelmembers",
                {
                    "channelid": cid,
                    "userid": self.ids[f"user:{username}"],
                    "roles": "",
                    "schemeuser": True,
                    "schemeadmin": False,
                    "schemeguest": False,
                    "lastviewedat": T0,
                    "msgcount": 1,
                    "mentioncount": 0,
                },
            )
        return cid

    def post(
        self,
        label: str,
        channel_id: str,
        username: str,
        message: str,
        *,
        root: str = "",
        at: int = 0,
        deleted: int = 0,
        original: str = "",
        props: dict | None = None,
        pinned: bool = False,
        user_id: str | None = None,
    ) -> str:
        pid = self.ids[f"post:{label}"] = make_id(f"post:{label}")
        self._insert(
            "posts",
            {
                "id": pid,
                "createat": T0 + at,
                "updateat": T0 + at,
                "deleteat": deleted,
                "userid": user_id or self.ids[f"user:{username}"],
                "channelid": channel_id,
                "rootid": self.ids.get(f"post:{root}", root),
                "originalid": original,
                "message": message,
                "type": "",
                "props": props or {},
                "hashtags": "",
                "filenames": "[]",
                "fileids": "[]",
                "hasreactions": False,
                "editat": 0,
                "ispinned": pinned,
                "remoteid": None,
            },
        )
        return pid

    def reaction(self, post: str, username: str, emoji: str, *, at: int = 1, deleted: int = 0) -> None:
        self._insert(
            "reactions",
            {
                "userid": self.ids[f"user:{username}"],
                "postid": self.ids[f"post:{post}"],
                "emojiname": emoji,
                "createat": T0 + at,
                "updateat": T0 + at,
                "deleteat": deleted,
                "channelid": "",
            },
        )

    def file(
        self,
        label: str,
        post: str,
        username: str,
        path: str,
        content: bytes | None = b"data",
        *,
        deleted: int = 0,
    ) -> str:
        fid = self.ids[f"file:{label}"] = make_id(f"file:{label}")
        self._insert(
            "fileinfo",
            {
                "id": fid,
                "creatorid": self.ids[f"user:{username}"],
                "postid": self.ids[f"post:{post}"],
                "createat": T0,
                "updateat": T0,
                "deleteat": deleted,
                "path": path,
                "name": Path(path).name,
                "extension": "txt",
                "size": 4,
                "mimetype": "text/plain",
            },
        )
        if content is not None:
            target = self.store / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return fid

    def pref(self, username: str, category: str, name: str, value: str) -> None:
        self._insert(
            "preferences",
            {"userid": self.ids[f"user:{username}"], "category": category, "name": name, "value": value},
        )

    def follow(self, post: str, username: str) -> None:
        self._insert(
            "threadmemberships",
            {
                "postid": self.ids[f"post:{post}"],
                "userid": self.ids[f"user:{username}"],
                "following": True,
                "lastviewed": T0,
                "lastupdated": T0,
                "unreadmentions": 0,
            },
        )

    def emoji(self, name: str, creator: str, *, image: bytes | None = EMOJI_PNG, deleted: int = 0) -> str:
        eid = self.ids[f"emoji:{name}"] = make_id(f"emoji:{name}:{deleted}")
        self._insert(
            "emoji",
            {
                "id": eid,
                "name": name,
                "creatorid": self.ids[f"user:{creator}"],
                "createat": T0,
                "updateat": T0,
                "deleteat": deleted,
            },
        )
        if image is not None:
            target = self.store / "emoji" / eid / "image"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(image)
        return eid

    def picture(self, username: str, content: bytes = PROFILE_PNGS[0]) -> None:
        target = self.store / "users" / self.ids[f"user:{username}"] / "profile.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


@dataclass
class Export:
    """An export read back: its lines (parsed), raw bytes of every member, the summary."""

    path: Path
    summary: dict[str, Any]
    members: dict[str, bytes]

    @property
    def jsonl(self) -> bytes:
        return self.members["import.jsonl"]

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.jsonl.decode().splitlines()]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [line[kind] for line in self.lines if line["type"] == kind]

    @property
    def warnings(self) -> list[str]:
        return self.members.get("warnings.txt", b"").decode().splitlines()

    def all_bytes(self) -> bytes:
        """Every byte of the export as written (the ZIP file itself, or every file of the folder)."""
        if self.path.is_file():
            return self.path.read_bytes()
        return b"".join(self.members.values())


def read_export(path: Path) -> dict[str, bytes]:
    """Member name -> bytes, from a ZIP or a folder."""
    if path.is_file():
        with zipfile.ZipFile(path) as zf:
            return {name: zf.read(name) for name in zf.namelist()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def export_once(
    dsn: str,
    output: Path,
    store: Path | Any,
    *,
    job_id: str = "manual__test",
    actor: str | None = None,
    settings: Settings | None = None,
    batch_size: int | None = None,
    **params: Any,
) -> Export:
    """start -> run -> finish in this process (no Airflow), like the DAG's three tasks."""
    params.setdefault("output_path", str(output))
    with psycopg.connect(dsn, autocommit=True) as state, psycopg.connect(dsn, autocommit=True) as conn:
        job = start_export(state, job_id, params, actor=actor, settings=settings or Settings())
        options = ExportOptions.from_params(job["options"])
        file_store = store if not isinstance(store, Path) else LocalFileStore(store)
        kwargs = {"batch_size": batch_size} if batch_size else {}
        result = run_export(conn, state, job_id, options, file_store, **kwargs)
        summary = finish_export(state, result.to_dict())
    final = Path(summary["output_path"])
    return Export(final, summary, read_export(final))


def zip_names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.namelist()


def by_key(items: list[dict[str, Any]], key: str = "username") -> dict[str, dict[str, Any]]:
    """Lines' objects by one of their keys (people by username, teams by name)."""
    return {item[key]: item for item in items}


def posts_by_message(export: Export, kind: str = "post") -> dict[str, dict[str, Any]]:
    """The ``post`` (or ``direct_post``) objects of an export by their message."""
    return by_key(export.of_type(kind), "message")
