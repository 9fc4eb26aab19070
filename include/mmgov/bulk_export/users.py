"""User and bot lines: profile, roles, notification and display preferences, team and channel
memberships, profile pictures (the seed's rule_09).

Secrets are never read: the queries below name their columns, and :data:`NEVER_EXPORTED` (checked
when this module loads) lists the ``users`` columns no query of the export may touch. ``auth_data``
(the external identity of an SSO user) is exported, as the spec says; it is not a credential.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from mmgov.bulk_export.context import ExportContext
from mmgov.bulk_export.file_copy import profile_picture_path

NEVER_EXPORTED = ("password", "mfasecret", "mfaactive", "lastpasswordupdate", "failedattempts")

_USERS = (
    "SELECT u.id, u.username, COALESCE(u.email, ''), COALESCE(u.authservice, ''), COALESCE(u.authdata, ''),"
    " COALESCE(u.nickname, ''), COALESCE(u.firstname, ''), COALESCE(u.lastname, ''), COALESCE(u.\"position\", ''),"
    " COALESCE(u.roles, ''), COALESCE(u.locale, ''), COALESCE(u.deleteat, 0),"
    " u.notifyprops ->> 'desktop', u.notifyprops ->> 'desktop_sound', u.notifyprops ->> 'email',"
    " u.notifyprops ->> 'push', u.notifyprops ->> 'push_status', u.notifyprops ->> 'channel',"
    " u.notifyprops ->> 'comments', u.notifyprops ->> 'mention_keys',"
    " u.props ->> 'customStatus', COALESCE(u.lastpictureupdate, 0)"
    " FROM users u WHERE u.id > %(after)s AND NOT EXISTS (SELECT 1 FROM bots b WHERE b.userid = u.id)"
    " AND (%(ids)s::text[] IS NULL OR u.id = ANY(%(ids)s::text[])) ORDER BY u.id LIMIT %(limit)s"
)
_BOTS = (
    "SELECT u.id, u.username, COALESCE(b.ownerid, ''), o.username, COALESCE(u.firstname, ''),"
    " COALESCE(b.description, ''), COALESCE(NULLIF(b.deleteat, 0), u.deleteat, 0), COALESCE(u.lastpictureupdate, 0)"
    " FROM bots b JOIN users u ON u.id = b.userid LEFT JOIN users o ON o.id = b.ownerid"
    " WHERE u.id > %(after)s AND (%(ids)s::text[] IS NULL OR u.id = ANY(%(ids)s::text[])"
    " OR b.ownerid = ANY(%(ids)s::text[])) ORDER BY u.id LIMIT %(limit)s"
)
_PREFS = (
    "SELECT userid, category, name, COALESCE(value, '') FROM preferences WHERE userid = ANY(%(users)s)"
    " AND category IN ('theme', 'display_settings', 'advanced_settings', 'sidebar_settings', 'notifications',"
    " 'tutorial_step', 'favorite_channel') ORDER BY userid, category, name"
)
_TEAM_MEMBERS = (
    "SELECT tm.userid, t.id, t.name, COALESCE(tm.roles, ''), COALESCE(tm.schemeuser, false),"
    " COALESCE(tm.schemeadmin, false), COALESCE(tm.schemeguest, false)"
    " FROM teammembers tm JOIN teams t ON t.id = tm.teamid"
    " WHERE tm.userid = ANY(%(users)s) AND COALESCE(tm.deleteat, 0) = 0"
    " AND (%(archived)s OR COALESCE(t.deleteat, 0) = 0)"
    " AND (%(teams)s::text[] IS NULL OR t.id = ANY(%(teams)s::text[])) ORDER BY tm.userid, t.name"
)
_CHANNEL_MEMBERS = (
    "SELECT cm.userid, c.teamid, c.id, c.name, COALESCE(cm.roles, ''), COALESCE(cm.schemeuser, false),"
    " COALESCE(cm.schemeadmin, false), COALESCE(cm.schemeguest, false), cm.notifyprops ->> 'desktop',"
    " cm.notifyprops ->> 'push', cm.notifyprops ->> 'mark_unread',"
    " COALESCE(cm.mentioncount, 0), COALESCE(cm.mentioncountroot, 0), COALESCE(cm.msgcount, 0),"
    " COALESCE(cm.msgcountroot, 0), COALESCE(cm.lastviewedat, 0)"
    " FROM channelmembers cm JOIN channels c ON c.id = cm.channelid JOIN teams t ON t.id = c.teamid"
    " WHERE cm.userid = ANY(%(users)s) AND c.type NOT IN ('D', 'G')"
    " AND (%(archived)s OR (COALESCE(c.deleteat, 0) = 0 AND COALESCE(t.deleteat, 0) = 0))"
    " AND (%(channels)s::text[] IS NULL OR c.id = ANY(%(channels)s::text[])) ORDER BY cm.userid, c.name"
)

for _query in (_USERS, _BOTS, _PREFS, _TEAM_MEMBERS, _CHANNEL_MEMBERS):
    for _column in NEVER_EXPORTED:
        if re.search(rf"\b{_column}\b", _query, re.IGNORECASE):  # pragma: no cover - guards future edits
            raise RuntimeError(f"bulk_export.users: a query reads the secret column {_column!r}")

# (category, name) -> user key; Mattermost's exporter table, plus the keys its newer versions added.
PREFERENCE_KEYS: dict[tuple[str, str], str] = {
    ("theme", ""): "theme",
    ("display_settings", "use_military_time"): "military_time",
    ("display_settings", "name_format"): "name_format",
    ("display_settings", "message_display"): "message_display",
    ("display_settings", "channel_display_mode"): "channel_display_mode",
    ("display_settings", "collapse_previews"): "link_previews",
    ("display_settings", "colorize_usernames"): "colorize_usernames",
    ("display_settings", "collapse_consecutive_messages"): "collapse_consecutive_messages",
    ("advanced_settings", "feature_enabled_markdown_preview"): "feature_enabled_markdown_preview",
    ("advanced_settings", "formatting"): "formatting",
    ("advanced_settings", "send_on_ctrl_enter"): "send_on_ctrl_enter",
    ("advanced_settings", "code_block_ctrl_enter"): "code_block_ctrl_enter",
    ("advanced_settings", "join_leave"): "show_join_leave",
    ("advanced_settings", "unread_scroll_position"): "show_unread_scroll_position",
    ("advanced_settings", "sync_drafts"): "sync_drafts",
    ("sidebar_settings", "show_unread_section"): "show_unread_section",
    ("sidebar_settings", "limit_visible_dms_gms"): "limit_visible_dms_gms",
    ("notifications", "email_interval"): "email_interval",
}
# The order of the display keys on a user line (spec).
PREFERENCE_ORDER = (
    "theme",
    "military_time",
    "name_format",
    "message_display",
    "channel_display_mode",
    "tutorial_step",
    "email_interval",
    "show_unread_section",
    "show_unread_scroll_position",
    "send_on_ctrl_enter",
    "code_block_ctrl_enter",
    "show_join_leave",
    "colorize_usernames",
    "collapse_consecutive_messages",
    "link_previews",
    "feature_enabled_markdown_preview",
    "formatting",
    "sync_drafts",
    "limit_visible_dms_gms",
)
# Mattermost stores the e-mail batching interval in seconds and imports it by name.
EMAIL_INTERVALS = {"30": "immediately", "900": "fifteen", "3600": "hour"}
# notifyprops keys as the import names them, in the order the queries read them (->> of each).
USER_NOTIFY_KEYS = (
    "desktop",
    "desktop_sound",
    "email",
    "mobile",
    "mobile_push_status",
    "channel",
    "comments",
    "mention_keys",
)
CHANNEL_NOTIFY_KEYS = ("desktop", "mobile", "mark_unread")
# Users per batch: each carries all its memberships, so batches stay small to bound memory.
USER_BATCH = 200


def export_users(ctx: ExportContext) -> int:
    """Write one user line per (non-bot) user of the export, in id order, batch by batch."""
    ids = ctx.people
    batch = min(ctx.batch_size, USER_BATCH)
    count = 0
    for rows in ctx.batches(_USERS, {"ids": ids}, batch):
        if rows:
            _write_user_batch(ctx, rows)
        count += len(rows)
        ctx.set_progress("users_exported", count)
    ctx.set_progress("users_exported", count, entity_done=True)
    return count


def _write_user_batch(ctx: ExportContext, rows: list[tuple]) -> None:
    conn, opts = ctx.conn, ctx.options
    user_ids = [r[0] for r in rows]
    prefs: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    for user_id, category, name, value in conn.execute(_PREFS, {"users": user_ids}):
        prefs[user_id][(category, name)] = value
    person = ctx.person
    scope = {
        "users": user_ids,
        "archived": opts.include_archived_channels,
        "teams": person.team_ids if person else None,
        "channels": person.channel_ids if person else None,
    }
    teams: dict[str, list[tuple]] = defaultdict(list)
    for row in conn.execute(_TEAM_MEMBERS, scope):
        teams[row[0]].append(row)
    channels: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for row in conn.execute(_CHANNEL_MEMBERS, scope):
        channels[(row[0], row[1])].append(row)

    for row in rows:
        (
            user_id,
            username,
            email,
            auth_service,
            auth_data,
            nickname,
            first_name,
            last_name,
            position,
            roles,
            locale,
            delete_at,
        ) = row[:12]
        notify_values, (custom_status, last_picture) = row[12:20], row[20:]
        body: dict[str, Any] = {}
        if opts.include_profile_pictures:
            picture = profile_picture(ctx, user_id, username, last_picture)
            if picture:
                body["profile_image"] = picture
        body.update(
            {
                "username": username,
                "email": email,
                "auth_service": auth_service,
            }
        )
        if auth_data:
            body["auth_data"] = auth_data
        body.update(
            {
                "nickname": nickname,
                "first_name": first_name,
                "last_name": last_name,
                "position": position,
                "roles": roles,
                "locale": locale,
            }
        )
        if delete_at:
            body["delete_at"] = delete_at
        body.update(preference_values(user_id, prefs.get(user_id, {})))
        notify = _pick(notify_values, USER_NOTIFY_KEYS)
        if notify:
            body["notify_props"] = notify
        status = _custom_status(custom_status)
        if status:
            body["custom_status"] = status
        user_prefs = prefs.get(user_id, {})
        memberships = []
        for _uid, team_id, team_name, team_roles, s_user, s_admin, s_guest in teams.get(user_id, []):
            team: dict[str, Any] = {
                "name": team_name,
                "roles": _roles(team_roles, s_user, s_admin, s_guest, "team"),
            }
            theme = user_prefs.get(("theme", team_id))
            if theme:
                team["theme"] = theme
            team_channels = [
                _channel_membership(row, user_prefs) for row in channels.get((user_id, team_id), [])
            ]
            if team_channels:
                team["channels"] = team_channels
            memberships.append(team)
        if memberships:
            body["teams"] = memberships
        ctx.writer.obj("user", body)


def preference_values(user_id: str, prefs: dict[tuple[str, str], str]) -> dict[str, str]:
    """The display/notification preferences Mattermost's import knows, as strings, in spec order."""
    found: dict[str, str] = {}
    for (category, name), value in prefs.items():
        key = PREFERENCE_KEYS.get((category, name))
        if key is None and category == "tutorial_step" and name in ("", user_id):
            key = "tutorial_step"
        if key is None or value == "":
            continue
        if key == "email_interval":
            value = EMAIL_INTERVALS.get(value, value if value in EMAIL_INTERVALS.values() else "")
            if not value:
                continue
        found[key] = value
    return {key: found[key] for key in PREFERENCE_ORDER if key in found}


def _channel_membership(row: tuple, prefs: dict[tuple[str, str], str]) -> dict[str, Any]:
    (
        _uid,
        _team,
        channel_id,
        name,
        roles,
        s_user,
        s_admin,
        s_guest,
        *notify_values,
        mention_count,
        mention_count_root,
        msg_count,
        msg_count_root,
        last_viewed_at,
    ) = row
    out: dict[str, Any] = {"name": name, "roles": _roles(roles, s_user, s_admin, s_guest, "channel")}
    notify = _pick(notify_values, CHANNEL_NOTIFY_KEYS)
    if notify:
        out["notify_props"] = notify
    out["favorite"] = prefs.get(("favorite_channel", channel_id)) == "true"
    out.update(
        {
            "mention_count": mention_count,
            "mention_count_root": mention_count_root,
            "msg_count": msg_count,
            "msg_count_root": msg_count_root,
            "last_viewed_at": last_viewed_at,
        }
    )
    return out


def _roles(explicit: str, scheme_user: bool, scheme_admin: bool, scheme_guest: bool, level: str) -> str:
    """Explicit roles plus the scheme flags as role names (``team_user``, ``channel_admin`` ...)."""
    names = explicit.split()
    for flag, suffix in ((scheme_guest, "guest"), (scheme_user, "user"), (scheme_admin, "admin")):
        role = f"{level}_{suffix}"
        if flag and role not in names:
            names.append(role)
    return " ".join(names)


def _pick(values: Any, keys: tuple[str, ...]) -> dict[str, str]:
    """The notify props that are set, by import key (``values`` in the order of ``keys``)."""
    return {key: value for key, value in zip(keys, values, strict=True) if value is not None}


def _custom_status(raw: str | None) -> dict[str, Any] | None:
    """``props.customStatus`` is JSON text inside the props; exported as the object it holds."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value else None


def profile_picture(ctx: ExportContext, user_id: str, username: str, last_picture_update: int) -> str | None:
    """Copy ``users/<id>/profile.png`` to ``data/``; its import path, or ``None``.

    A user who never uploaded a picture (``lastpictureupdate`` 0) has a generated avatar and no file:
    that is not a warning. A recorded upload whose file is gone is.
    """
    path = profile_picture_path(user_id)
    copied = ctx.copier.copy(
        "profile_picture", path, f"data/{path}", f"user {username}", quiet_missing=last_picture_update <= 0
    )
    ctx.progress["profile_pictures_exported"] = ctx.copier.copied["profile_pictures"]
    return path if copied else None


def export_bots(ctx: ExportContext) -> int:
    """Write bot lines (per person: the bots they own); ``owner`` is the owner's username, or the
    plugin id when a plugin owns the bot."""
    ids = ctx.people
    count = 0
    for rows in ctx.batches(_BOTS, {"ids": ids}):
        for (
            bot_id,
            username,
            owner_id,
            owner_name,
            display_name,
            description,
            delete_at,
            last_picture,
        ) in rows:
            body: dict[str, Any] = {}
            if ctx.options.include_profile_pictures:
                picture = profile_picture(ctx, bot_id, username, last_picture)
                if picture:
                    body["profile_image"] = picture
            body.update(
                {
                    "username": username,
                    "owner": owner_name or owner_id,
                    "display_name": display_name or username,
                    "description": description,
                }
            )
            if delete_at:
                body["delete_at"] = delete_at
            ctx.writer.obj("bot", body)
        count += len(rows)
        ctx.set_progress("bots_exported", count)
    ctx.set_progress("bots_exported", count, entity_done=True)
    return count
