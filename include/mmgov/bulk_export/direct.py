"""Direct (``D``) and group (``G``) message channel lines: participants, favourites, sidebar visibility.

A DM's two members come from its name (``<id>__<id>``, so a DM with yourself has the same user
twice, and a deactivated user stays a member); a GM's from ``channelmembers``. A channel Mattermost
could not import (not 2 or 3-8 members) is left out with a line in ``warnings.txt``.
Per person, the other participants appear by username only: their unread counters, favourites and
sidebar settings are their private state.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mmgov.bulk_export.context import ExportContext
from mmgov.bulk_export.posts import members_json
from mmgov.bulk_export.users import CHANNEL_NOTIFY_KEYS, _pick

# A participant's channel notify props as Mattermost's exporter writes them
# (``importDirectChannelMembersFromChannelMembers`` in server/channels/app/export_converters.go;
# keys of ``UserChannelNotifyPropsImportData`` in server/channels/app/imports/import_types.go), read
# from ``channelmembers.notifyprops`` keys ``desktop``, ``push``, ``mark_unread``, ``email``,
# ``ignore_channel_mentions``, ``channel_auto_follow_threads``; its importer restores all six.
PARTICIPANT_NOTIFY_KEYS = (
    *CHANNEL_NOTIFY_KEYS,
    "email",
    "ignore_channel_mentions",
    "channel_auto_follow_threads",
)

_DIRECT_CHANNELS = (
    "SELECT c.id, c.type::text, c.name, COALESCE(c.header, ''), CASE WHEN c.type = 'D' THEN"
    " (SELECT array_agg(u.id || ' ' || u.username ORDER BY u.username)"
    "  FROM unnest(string_to_array(c.name, '__')) x(uid) JOIN users u ON u.id = x.uid)"
    " ELSE (SELECT array_agg(u.id || ' ' || u.username ORDER BY u.username) FROM channelmembers cm"
    "  JOIN users u ON u.id = cm.userid WHERE cm.channelid = c.id) END"
    " FROM channels c WHERE c.id > %(after)s AND c.type IN ('D', 'G')"
    " AND (%(ids)s::text[] IS NULL OR c.id = ANY(%(ids)s::text[])) ORDER BY c.id LIMIT %(limit)s"
)
_MEMBER_STATE = (
    "SELECT cm.channelid, cm.userid, cm.notifyprops ->> 'desktop', cm.notifyprops ->> 'push',"
    " cm.notifyprops ->> 'mark_unread', cm.notifyprops ->> 'email', cm.notifyprops ->> 'ignore_channel_mentions',"
    " cm.notifyprops ->> 'channel_auto_follow_threads', COALESCE(cm.schemeuser, false),"
    " COALESCE(cm.schemeadmin, false), COALESCE(cm.schemeguest, false), COALESCE(cm.mentioncount, 0),"
    " COALESCE(cm.mentioncountroot, 0), COALESCE(cm.msgcount, 0), COALESCE(cm.msgcountroot, 0),"
    " COALESCE(cm.lastviewedat, 0) FROM channelmembers cm WHERE cm.channelid = ANY(%(channels)s)"
    " AND (%(people)s::text[] IS NULL OR cm.userid = ANY(%(people)s::text[]))"
)
# favorite_channel (name = channel id); DM visibility: direct_channel_show (name = the other user's
# id); GM visibility: group_channel_show (name = channel id).
_PREFS = (
    "SELECT p.category, p.name, p.userid, u.username FROM preferences p JOIN users u ON u.id = p.userid"
    " WHERE p.value = 'true' AND (%(people)s::text[] IS NULL OR p.userid = ANY(%(people)s::text[]))"
    " AND ((p.category IN ('favorite_channel', 'group_channel_show') AND p.name = ANY(%(channels)s))"
    "   OR (p.category = 'direct_channel_show' AND p.userid = ANY(%(users)s) AND p.name = ANY(%(users)s)))"
    " ORDER BY u.username"
)


def export_direct_channels(ctx: ExportContext) -> int:
    """Write one ``direct_channel`` line per DM/GM of the export, in id order."""
    ids = ctx.person.direct_channel_ids if ctx.person is not None else None
    count = 0
    for rows in ctx.batches(_DIRECT_CHANNELS, {"ids": ids}):
        if rows:
            count += _write_batch(ctx, rows)
        ctx.set_progress("direct_channels_exported", count)
    ctx.set_progress("direct_channels_exported", count, entity_done=True)
    return count


def _write_batch(ctx: ExportContext, rows: list[tuple]) -> int:
    channel_ids = [r[0] for r in rows]
    user_ids = sorted({m.split(" ", 1)[0] for r in rows for m in (r[4] or [])})
    people = ctx.people
    state: dict[tuple[str, str], tuple] = {}
    for row in ctx.conn.execute(_MEMBER_STATE, {"channels": channel_ids, "people": people}):
        state[(row[0], row[1])] = row
    favorites: dict[str, list[str]] = defaultdict(list)
    shown: dict[str, list[str]] = defaultdict(list)
    dm_shown: dict[tuple[str, str], bool] = {}
    for category, name, user_id, username in ctx.conn.execute(
        _PREFS, {"channels": channel_ids, "users": user_ids, "people": people}
    ):
        if category == "favorite_channel":
            favorites[name].append(username)
        elif category == "group_channel_show":
            shown[name].append(username)
        else:
            dm_shown[(user_id, name)] = True

    written = 0
    for channel_id, ctype, name, header, members in rows:
        pairs = [m.split(" ", 1) for m in (members or [])]
        usernames = [username for _uid, username in pairs]
        if members_json(ctx, channel_id, usernames) is None:
            continue
        participants = []
        for user_id, username in pairs:
            participant: dict[str, Any] = {"username": username}
            member = state.get((channel_id, user_id))
            if member is not None:
                participant.update(_member_state(member))
            participants.append(participant)
        body: dict[str, Any] = {"participants": participants}
        fav = [u for u in favorites.get(channel_id, []) if u in usernames]
        if fav:
            body["favorited_by"] = fav
        if ctype == "D":
            ids = name.split("__")
            shown_by = []
            for user_id, username in pairs:
                other = ids[1] if ids[0] == user_id else ids[0]
                if dm_shown.get((user_id, other)):
                    shown_by.append(username)
        else:
            shown_by = [u for u in shown.get(channel_id, []) if u in usernames]
        if shown_by:
            body["shown_by"] = sorted(set(shown_by))
        body["header"] = header
        ctx.writer.obj("direct_channel", body)
        written += 1
    return written


def _member_state(row: tuple) -> dict[str, Any]:
    (
        _cid,
        _uid,
        *notify_values,
        s_user,
        s_admin,
        s_guest,
        mention_count,
        mention_count_root,
        msg_count,
        msg_count_root,
        last_viewed_at,
    ) = row
    out: dict[str, Any] = {}
    notify = _pick(notify_values, PARTICIPANT_NOTIFY_KEYS)
    if notify:
        out["notify_props"] = notify
    out.update(
        {
            "scheme_user": s_user,
            "scheme_admin": s_admin,
            "scheme_guest": s_guest,
            "mention_count": mention_count,
            "mention_count_root": mention_count_root,
            "msg_count": msg_count,
            "msg_count_root": msg_count_root,
            "last_viewed_at": last_viewed_at,
        }
    )
    return out
