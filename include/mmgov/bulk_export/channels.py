"""Team channel lines; archived ones carry ``deleted_at`` (Mattermost's own key, spelled so) and are
left out, with their posts, unless ``include_archived_channels``.

Mattermost's import format carries team channels of type ``O`` (public) and ``P`` (private) only
(``ValidateChannelImportData`` in server/channels/app/imports/import_validators.go). A team channel
of another type (newer Mattermost versions add channel types; ``channels.type`` is an enum) is
exported as a private channel (``P``), the closest importable type that shows its messages to no
one but its members, with its posts and memberships; a channel of another type without a team
cannot be a team channel nor a direct channel: it is left out with its posts. Each is named in
``warnings.txt`` with its raw type. Every query of the export selects team channels as
``type NOT IN ('D', 'G')`` with a team, and direct channels as ``type IN ('D', 'G')``.
"""

from __future__ import annotations

from typing import Any

from mmgov.bulk_export.context import ExportContext
from mmgov.bulk_export.roles import scheme_names

IMPORTABLE_TYPES = ("O", "P")
CLOSEST_TYPE = "P"
_CHANNELS = (
    "SELECT c.id, t.name, c.name, COALESCE(c.displayname, ''), c.type::text, COALESCE(c.header, ''),"
    " COALESCE(c.purpose, ''), COALESCE(c.schemeid, ''), COALESCE(c.deleteat, 0)"
    " FROM channels c JOIN teams t ON t.id = c.teamid"
    " WHERE c.id > %(after)s AND c.type NOT IN ('D', 'G')"
    " AND (%(archived)s OR (COALESCE(c.deleteat, 0) = 0 AND COALESCE(t.deleteat, 0) = 0))"
    " AND (%(ids)s::text[] IS NULL OR c.id = ANY(%(ids)s::text[])) ORDER BY c.id LIMIT %(limit)s"
)


def export_channels(ctx: ExportContext) -> int:
    """Write the team channels of the export, in id order."""
    schemes = scheme_names(ctx)
    ids = ctx.person.channel_ids if ctx.person is not None else None
    count = 0
    for rows in ctx.batches(_CHANNELS, {"archived": ctx.options.include_archived_channels, "ids": ids}):
        for channel_id, team, name, display_name, ctype, header, purpose, scheme_id, delete_at in rows:
            if ctype not in IMPORTABLE_TYPES:
                ctx.copier.warn(
                    "channel",
                    channel_id,
                    f"channel {team}/{name}",
                    f"type {ctype!r} is not one Mattermost's import format carries (O, P):"
                    f" exported as a private channel ({CLOSEST_TYPE}) with its posts",
                )
            body: dict[str, Any] = {
                "team": team,
                "name": name,
                "display_name": display_name or name,
                "type": ctype if ctype in IMPORTABLE_TYPES else CLOSEST_TYPE,
                "header": header,
                "purpose": purpose,
            }
            if scheme_id in schemes:
                body["scheme"] = schemes[scheme_id]
            if delete_at:
                body["deleted_at"] = delete_at
            ctx.writer.obj("channel", body)
        count += len(rows)
        ctx.set_progress("channels_exported", count)
    _name_teamless_channels(ctx)
    ctx.set_progress("channels_exported", count, entity_done=True)
    return count


_TEAMLESS = (
    "SELECT c.id, c.type::text, COALESCE(c.name, ''), (SELECT count(*) FROM posts p WHERE p.channelid = c.id)"
    " FROM channels c LEFT JOIN teams t ON t.id = c.teamid"
    " WHERE c.type NOT IN ('O', 'P', 'D', 'G') AND t.id IS NULL"
    " AND (%(people)s::text[] IS NULL OR EXISTS (SELECT 1 FROM channelmembers cm"
    "      WHERE cm.channelid = c.id AND cm.userid = ANY(%(people)s::text[])))"
    " ORDER BY c.id"
)


def _name_teamless_channels(ctx: ExportContext) -> None:
    """A channel of a type the format does not know and without a team: a line of ``warnings.txt``."""
    for channel_id, ctype, name, posts in ctx.conn.execute(_TEAMLESS, {"people": ctx.people}):
        ctx.copier.warn(
            "channel",
            channel_id,
            f"channel {name}",
            f"type {ctype!r} without a team is neither a team channel (O, P) nor a direct channel (D, G)"
            f" of Mattermost's import format: channel and its {posts} post(s) not exported",
        )
