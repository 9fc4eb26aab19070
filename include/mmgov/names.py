"""People's names for Mattermost's users, teams and channels, both ways.

Resolve what a person types to an id: a user by id, username (``@`` optional) or e-mail; a team by id
or name (the name in its URL); a channel by id or ``team/channel`` (both URL names). An id is tried
first, so a 26-character name that is also an existing id means that id. Label ids for people to
read: channels as ``Team / Channel``, direct and group messages by their members' usernames.

Mattermost facts used: ``teams.name`` is unique, ``channels (name, teamid)`` is unique, direct and
group messages (types ``D``/``G``) have no team and their members in ``channelmembers``; usernames
and e-mails are stored lower-case (``model.NormalizeUsername``/``NormalizeEmail`` in
server/public/model/user.go).
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from mmgov.errors import MmgovError

MAX_GROUP_NAMES = 8  # a group message's label lists at most this many members, then "+N"


def _refs(values: Iterable[str]) -> list[str]:
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def user_ids(conn: psycopg.Connection, refs: Iterable[str], error: type[MmgovError]) -> list[str]:
    """The ids of users given by id, username (``@`` optional) or e-mail; ``error`` names the unknown ones."""
    refs = _refs(refs)
    keys = [r.lstrip("@").lower() for r in refs]
    rows = conn.execute(
        "SELECT id, username, lower(email) FROM users WHERE id = ANY(%s) OR username = ANY(%s)"
        " OR lower(email) = ANY(%s)",
        (refs, keys, keys),
    ).fetchall()
    by_id = {r[0]: r[0] for r in rows}
    by_name = {r[1]: r[0] for r in rows} | {r[2]: r[0] for r in rows if r[2]}
    return _pick(refs, keys, by_id, by_name, "user", "a user id, username or e-mail address", error)


def team_ids(conn: psycopg.Connection, refs: Iterable[str], error: type[MmgovError]) -> list[str]:
    """The ids of teams given by id or name; ``error`` names the unknown ones."""
    refs = _refs(refs)
    keys = [r.lower() for r in refs]
    rows = conn.execute(
        "SELECT id, name FROM teams WHERE id = ANY(%s) OR name = ANY(%s)", (refs, keys)
    ).fetchall()
    return _pick(
        refs,
        keys,
        {r[0]: r[0] for r in rows},
        {r[1]: r[0] for r in rows},
        "team",
        "a team id or the team's name (as in its URL)",
        error,
    )


def channel_ids(conn: psycopg.Connection, refs: Iterable[str], error: type[MmgovError]) -> list[str]:
    """The ids of channels given by id or ``team/channel`` (URL names); ``error`` names the unknown ones."""
    refs = _refs(refs)
    keys = [r.lower() for r in refs]
    pairs = [k.split("/", 1) for k in keys if "/" in k]
    rows = conn.execute(
        "SELECT c.id, t.name || '/' || c.name FROM channels c LEFT JOIN teams t ON t.id = c.teamid"
        " WHERE c.id = ANY(%s) OR (c.name, t.name) IN (SELECT x.c, x.t FROM unnest(%s::text[], %s::text[]) AS x(t, c))",
        (refs, [p[0] for p in pairs], [p[1] for p in pairs]),
    ).fetchall()
    return _pick(
        refs,
        keys,
        {r[0]: r[0] for r in rows},
        {r[1]: r[0] for r in rows if r[1]},
        "channel",
        "a channel id or team/channel (the names in the channel's URL)",
        error,
    )


def _pick(
    refs: list[str],
    keys: list[str],
    by_id: dict[str, str],
    by_name: dict[str, str],
    kind: str,
    allowed: str,
    error: type[MmgovError],
) -> list[str]:
    out, missing = [], []
    for ref, key in zip(refs, keys, strict=True):
        found = by_id.get(ref) or by_name.get(key)
        if found is None:
            missing.append(ref)
        elif found not in out:
            out.append(found)
    if missing:
        raise error(f"no such {kind}: {', '.join(repr(m) for m in missing)}; give {allowed}")
    return out


# --- labels ---------------------------------------------------------------------------------------

_CHANNEL_LABELS = """
SELECT c.id, c.type, coalesce(nullif(t.displayname, ''), t.name), coalesce(nullif(c.displayname, ''), c.name),
       t.name || '/' || c.name,
       (SELECT array_agg(u.username ORDER BY u.username) FROM channelmembers m JOIN users u ON u.id = m.userid
        WHERE m.channelid = c.id AND c.type IN ('D', 'G'))
FROM channels c LEFT JOIN teams t ON t.id = c.teamid
WHERE c.id = ANY(%s)
"""


def channel_labels(conn: psycopg.Connection, ids: Iterable[str]) -> dict[str, str]:
    """``{channel id: label}``: ``Team / Channel``, ``Direct message: a, b`` or ``Group message: a, b, c``."""
    wanted = sorted({i for i in ids if i})
    out: dict[str, str] = {}
    for cid, ctype, team, channel, _path, members in conn.execute(_CHANNEL_LABELS, (wanted,)):
        if ctype in ("D", "G"):
            names = list(members or [])
            shown = ", ".join(names[:MAX_GROUP_NAMES]) + (
                f" +{len(names) - MAX_GROUP_NAMES}" if len(names) > MAX_GROUP_NAMES else ""
            )
            kind = "Direct message" if ctype == "D" else "Group message"
            out[cid] = f"{kind}: {shown or '(no members left)'}"
        else:
            out[cid] = f"{team} / {channel}" if team else channel
    return out


def channel_paths(conn: psycopg.Connection, ids: Iterable[str]) -> dict[str, str]:
    """``{channel id: "team/channel"}`` (what the command line and the API accept) for team channels."""
    rows = conn.execute(
        "SELECT c.id, t.name || '/' || c.name FROM channels c JOIN teams t ON t.id = c.teamid WHERE c.id = ANY(%s)",
        (sorted(set(ids)),),
    )
    return {cid: path for cid, path in rows}


def team_labels(conn: psycopg.Connection, ids: Iterable[str]) -> dict[str, str]:
    """``{team id: display name (name)}``."""
    rows = conn.execute(
        "SELECT id, coalesce(nullif(displayname, ''), name), name FROM teams WHERE id = ANY(%s)",
        (sorted(set(ids)),),
    )
    return {tid: (f"{shown} ({name})" if shown != name else name) for tid, shown, name in rows}


def user_labels(conn: psycopg.Connection, ids: Iterable[str]) -> dict[str, str]:
    """``{user id: @username}``."""
    rows = conn.execute("SELECT id, username FROM users WHERE id = ANY(%s)", (sorted(set(ids)),))
    return {uid: f"@{username}" for uid, username in rows}


def search_teams(conn: psycopg.Connection, term: str, *, limit: int = 20) -> list[dict[str, str]]:
    """Teams whose name or display name starts with ``term`` (case-insensitive), for pickers."""
    like = _prefix(term)
    rows = conn.execute(
        "SELECT id, name, displayname FROM teams WHERE deleteat = 0"
        " AND (name LIKE %s OR lower(displayname) LIKE %s) ORDER BY name LIMIT %s",
        (like, like, limit),
    )
    return [{"id": i, "name": n, "display_name": d} for i, n, d in rows]


def search_channels(conn: psycopg.Connection, term: str, *, limit: int = 20) -> list[dict[str, str]]:
    """Team channels whose name or display name starts with ``term`` (``team/chan`` narrows the team)."""
    team, _, chan = term.rpartition("/")
    like = _prefix(chan)
    rows = conn.execute(
        "SELECT c.id, t.name || '/' || c.name, coalesce(nullif(t.displayname, ''), t.name) || ' / ' || c.displayname"
        " FROM channels c JOIN teams t ON t.id = c.teamid"
        " WHERE c.deleteat = 0 AND c.type IN ('O', 'P') AND (lower(c.name) LIKE %s OR lower(c.displayname) LIKE %s)"
        " AND (%s = '' OR t.name = %s) ORDER BY t.name, c.name LIMIT %s",
        (like, like, team.lower(), team.lower(), limit),
    )
    return [{"id": i, "path": p, "label": lbl} for i, p, lbl in rows]


def _prefix(term: str) -> str:
    escaped = term.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def search_users(conn: psycopg.Connection, term: str, *, limit: int = 20) -> list[dict[str, str]]:
    """Active users whose username or e-mail starts with ``term`` (case-insensitive), for pickers."""
    like = _prefix(term.lstrip("@"))
    rows = conn.execute(
        "SELECT id, username, email FROM users WHERE deleteat = 0 AND (username LIKE %s OR lower(email) LIKE %s)"
        " ORDER BY username LIMIT %s",
        (like, like, limit),
    )
    return [{"id": i, "username": u, "email": e} for i, u, e in rows]
