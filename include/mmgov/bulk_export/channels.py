"""Team channel lines (public ``O`` and private ``P``); archived ones carry ``deleted_at`` (Mattermost's
own key, spelled so) and are left out, with their posts, unless ``include_archived_channels``."""

from __future__ import annotations

from typing import Any

from mmgov.bulk_export.context import ExportContext
from mmgov.bulk_export.roles import scheme_names

_CHANNELS = (
    "SELECT c.id, t.name, c.name, COALESCE(c.displayname, ''), c.type::text, COALESCE(c.header, ''),"
    " COALESCE(c.purpose, ''), COALESCE(c.schemeid, ''), COALESCE(c.deleteat, 0)"
    " FROM channels c JOIN teams t ON t.id = c.teamid"
    " WHERE c.id > %(after)s AND c.type IN ('O', 'P')"
    " AND (%(archived)s OR (COALESCE(c.deleteat, 0) = 0 AND COALESCE(t.deleteat, 0) = 0))"
    " AND (%(ids)s::text[] IS NULL OR c.id = ANY(%(ids)s::text[])) ORDER BY c.id LIMIT %(limit)s"
)


def export_channels(ctx: ExportContext) -> int:
    """Write the team channels of the export, in id order."""
    schemes = scheme_names(ctx)
    ids = ctx.person.channel_ids if ctx.person is not None else None
    count, after = 0, ""
    while True:
        rows = ctx.conn.execute(
            _CHANNELS,
            {
                "after": after,
                "archived": ctx.options.include_archived_channels,
                "ids": ids,
                "limit": ctx.batch_size,
            },
        ).fetchall()
        for channel_id, team, name, display_name, ctype, header, purpose, scheme_id, delete_at in rows:
            body: dict[str, Any] = {
                "team": team,
                "name": name,
                "display_name": display_name or name,
                "type": ctype,
                "header": header,
                "purpose": purpose,
            }
            if scheme_id in schemes:
                body["scheme"] = schemes[scheme_id]
            if delete_at:
                body["deleted_at"] = delete_at
            ctx.writer.obj("channel", body)
            after = channel_id
        count += len(rows)
        ctx.set_progress("channels_exported", count)
        if len(rows) < ctx.batch_size:
            break
    ctx.set_progress("channels_exported", count, entity_done=True)
    return count
