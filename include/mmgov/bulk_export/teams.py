"""Team lines. With ``include_archived_channels`` deleted teams are kept (with ``delete_at``, an mmgov
addition Mattermost's importer ignores); otherwise they are left out with their channels."""

from __future__ import annotations

from typing import Any

from mmgov.bulk_export.context import ExportContext
from mmgov.bulk_export.roles import scheme_names

_TEAMS = (
    "SELECT id, name, COALESCE(displayname, name), COALESCE(type::text, 'O'), COALESCE(description, ''),"
    " COALESCE(allowopeninvite, false), COALESCE(schemeid, ''), COALESCE(deleteat, 0) FROM teams"
    " WHERE id > %(after)s AND (%(archived)s OR COALESCE(deleteat, 0) = 0)"
    " AND (%(ids)s::text[] IS NULL OR id = ANY(%(ids)s::text[])) ORDER BY id LIMIT %(limit)s"
)


def export_teams(ctx: ExportContext) -> int:
    """Write the teams of the export (all, or the per-person scope's), in id order."""
    schemes = scheme_names(ctx)
    ids = ctx.person.team_ids if ctx.person is not None else None
    count = 0
    for rows in ctx.batches(_TEAMS, {"archived": ctx.options.include_archived_channels, "ids": ids}):
        for _team_id, name, display_name, team_type, description, open_invite, scheme_id, delete_at in rows:
            body: dict[str, Any] = {
                "name": name,
                "display_name": display_name,
                "type": team_type,
                "description": description,
                "allow_open_invite": open_invite,
            }
            if scheme_id in schemes:
                body["scheme"] = schemes[scheme_id]
            if delete_at:
                body["delete_at"] = delete_at
            ctx.writer.obj("team", body)
        count += len(rows)
        ctx.set_progress("teams_exported", count)
    ctx.set_progress("teams_exported", count, entity_done=True)
    return count
