"""Roles and schemes lines (``include_roles_and_schemes``): team schemes, then channel schemes with
only their channel roles, then the roles no scheme holds; deleted ones left out."""

from __future__ import annotations

import psycopg
import pytest

from tests.bulk_export.workspace import export_once

ROLES = (
    # id, name, permissions, scheme managed, deleted at
    ("r1", "system_custom", "manage_system  read_channel", False, 0),
    ("r2", "ts_team_admin", "manage_team", True, 0),
    ("r3", "ts_team_user", "view_team", True, 0),
    ("r4", "cs_channel_user", "read_channel create_post", True, 0),
    ("r5", "gone_role", "manage_system", False, 1),
)
SCHEMES = (
    # id, name, scope, team admin, team user, channel user, deleted at
    ("s1", "ts", "team", "ts_team_admin", "ts_team_user", "cs_channel_user", 0),
    ("s2", "cs", "channel", "ts_team_admin", None, "cs_channel_user", 0),
    ("s3", "gone_scheme", "team", None, None, None, 1),
)


@pytest.fixture
def roles_workspace(edge_workspace):
    with psycopg.connect(edge_workspace.dsn, autocommit=True) as conn:
        for rid, name, permissions, managed, deleted in ROLES:
            conn.execute(
                "INSERT INTO roles (id, name, displayname, description, permissions, schememanaged, deleteat)"
                " VALUES (%s, %s, %s, NULL, %s, %s, %s)",
                (rid.ljust(26, "x"), name, name.replace("_", " ").title(), permissions, managed, deleted),
            )
        for sid, name, scope, team_admin, team_user, channel_user, deleted in SCHEMES:
            conn.execute(
                "INSERT INTO schemes (id, name, displayname, description, scope, defaultteamadminrole,"
                " defaultteamuserrole, defaultchanneluserrole, deleteat) VALUES (%s, %s, %s, '', %s, %s, %s, %s, %s)",
                (sid.ljust(26, "x"), name, name.upper(), scope, team_admin, team_user, channel_user, deleted),
            )
    return edge_workspace


def test_schemes_carry_their_roles_and_the_other_roles_follow(roles_workspace, tmp_path):
    ws = roles_workspace
    export = export_once(
        ws.dsn, tmp_path / "out", ws.store, create_archive=False, include_roles_and_schemes=True
    )
    types = [line["type"] for line in export.lines]
    assert types[1:4] == ["scheme", "scheme", "role"]  # right after the version line
    team_scheme, channel_scheme = export.of_type("scheme")
    assert team_scheme == {
        "name": "ts",
        "display_name": "TS",
        "description": "",
        "scope": "team",  # the deleted team scheme is left out
        "default_team_admin_role": {
            "name": "ts_team_admin",
            "display_name": "Ts Team Admin",
            "description": "",
            "permissions": ["manage_team"],
            "scheme_managed": True,
        },
        "default_team_user_role": team_scheme["default_team_user_role"],
        "default_channel_user_role": team_scheme["default_channel_user_role"],
    }
    assert team_scheme["default_team_user_role"]["name"] == "ts_team_user"
    assert team_scheme["default_channel_user_role"]["permissions"] == ["read_channel", "create_post"]
    # a channel scheme carries only channel roles (import_validators.go ValidateSchemeImportData)
    assert set(channel_scheme) == {
        "name",
        "display_name",
        "description",
        "scope",
        "default_channel_user_role",
    }
    assert export.of_type("role") == [  # not the scheme roles, not the deleted one
        {
            "name": "system_custom",
            "display_name": "System Custom",
            "description": "",
            "permissions": ["manage_system", "read_channel"],
            "scheme_managed": False,
        }
    ]
    progress = export.summary["progress"]
    assert (
        progress["team_schemes_exported"],
        progress["channel_schemes_exported"],
        progress["roles_exported"],
    ) == (
        1,
        1,
        1,
    )


def test_without_the_option_no_role_or_scheme_line(roles_workspace, tmp_path):
    ws = roles_workspace
    export = export_once(ws.dsn, tmp_path / "out", ws.store, create_archive=False)
    assert not export.of_type("scheme")
    assert not export.of_type("role")
