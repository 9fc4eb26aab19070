"""Roles and schemes (only with ``include_roles_and_schemes``): team schemes, channel schemes, then the
roles that belong to no scheme. Deleted schemes and roles are left out (they grant nothing)."""

from __future__ import annotations

from typing import Any

from mmgov.bulk_export.context import ExportContext

# Scheme columns -> import keys; a channel scheme carries only the channel roles.
TEAM_SCHEME_ROLES = (
    ("defaultteamadminrole", "default_team_admin_role"),
    ("defaultteamuserrole", "default_team_user_role"),
    ("defaultchanneladminrole", "default_channel_admin_role"),
    ("defaultchanneluserrole", "default_channel_user_role"),
    ("defaultteamguestrole", "default_team_guest_role"),
    ("defaultchannelguestrole", "default_channel_guest_role"),
)
CHANNEL_SCHEME_ROLES = tuple(pair for pair in TEAM_SCHEME_ROLES if "channel" in pair[0])
_ROLES = (
    "SELECT name, COALESCE(displayname, name), COALESCE(description, ''), COALESCE(permissions, ''),"
    " COALESCE(schememanaged, false) FROM roles WHERE COALESCE(deleteat, 0) = 0 ORDER BY name"
)
_SCHEMES = (
    "SELECT name, COALESCE(displayname, name), COALESCE(description, ''), defaultteamadminrole,"
    " defaultteamuserrole, defaultchanneladminrole, defaultchanneluserrole, defaultteamguestrole,"
    " defaultchannelguestrole FROM schemes WHERE scope = %s AND COALESCE(deleteat, 0) = 0 ORDER BY name"
)


def role_object(row: tuple) -> dict[str, Any]:
    """A role as Mattermost's import wants it (permissions as a list)."""
    name, display_name, description, permissions, scheme_managed = row
    return {
        "name": name,
        "display_name": display_name,
        "description": description,
        "permissions": permissions.split(),
        "scheme_managed": scheme_managed,
    }


def export_roles_and_schemes(ctx: ExportContext) -> None:
    """Write scheme lines (team scope, then channel scope) and the remaining role lines."""
    conn, writer = ctx.conn, ctx.writer
    roles = {r[0]: role_object(r) for r in conn.execute(_ROLES)}
    in_schemes: set[str] = set()
    for scope, pairs, counter in (
        ("team", TEAM_SCHEME_ROLES, "team_schemes_exported"),
        ("channel", CHANNEL_SCHEME_ROLES, "channel_schemes_exported"),
    ):
        count = 0
        rows = conn.execute(_SCHEMES, (scope,)).fetchall()
        for name, display_name, description, *role_names in rows:
            by_column = dict(zip((c for c, _ in TEAM_SCHEME_ROLES), role_names, strict=True))
            body: dict[str, Any] = {
                "name": name,
                "display_name": display_name,
                "description": description,
                "scope": scope,
            }
            for column, key in pairs:
                role_name = by_column[column]
                if role_name and role_name in roles:
                    body[key] = roles[role_name]
                    in_schemes.add(role_name)
            writer.obj("scheme", body)
            count += 1
        ctx.set_progress(counter, count, entity_done=True)
    count = 0
    for name, role in roles.items():
        if name not in in_schemes:
            writer.obj("role", role)
            count += 1
    ctx.set_progress("roles_exported", count, entity_done=True)


def scheme_names(ctx: ExportContext) -> dict[str, str]:
    """Scheme id -> name of the schemes exported (empty when roles and schemes are not asked for)."""
    if not ctx.options.include_roles_and_schemes:
        return {}
    return dict(ctx.conn.execute("SELECT id, name FROM schemes WHERE COALESCE(deleteat, 0) = 0").fetchall())
