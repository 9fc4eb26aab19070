"""Roles and permission schemes: Mattermost's built-in roles, one team scheme, one channel scheme."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mmgov_dev.synth.copy_loader import esc

ROLE_COLUMNS = (
    "id", "name", "displayname", "description", "createat", "updateat", "deleteat", "permissions",
    "schememanaged", "builtin",
)  # fmt: skip
SCHEME_COLUMNS = (
    "id", "name", "displayname", "description", "createat", "updateat", "deleteat", "scope",
    "defaultteamadminrole", "defaultteamuserrole", "defaultchanneladminrole", "defaultchanneluserrole",
    "defaultteamguestrole", "defaultchannelguestrole",
)  # fmt: skip

_CHANNEL_USER = (
    "read_channel add_reaction remove_reaction manage_public_channel_members upload_file get_public_link "
    "create_post use_channel_mentions use_slash_commands manage_public_channel_properties delete_public_channel "
    "manage_private_channel_properties delete_private_channel manage_private_channel_members delete_post "
    "edit_post read_public_channel_groups read_private_channel_groups"
)
_CHANNEL_ADMIN = "manage_channel_roles use_group_mentions"
_CHANNEL_GUEST = (
    "read_channel add_reaction remove_reaction upload_file edit_post create_post use_channel_mentions"
)
_TEAM_USER = (
    "list_team_channels join_public_channels read_public_channel view_team create_public_channel "
    "create_private_channel invite_user add_user_to_team"
)
_TEAM_ADMIN = (
    "edit_others_posts remove_user_from_team manage_team import_team manage_team_roles manage_channel_roles "
    "manage_others_outgoing_webhooks manage_slash_commands manage_others_slash_commands "
    "manage_incoming_webhooks manage_outgoing_webhooks delete_post delete_others_posts convert_public_channel_to_private"
)
_TEAM_GUEST = "view_team"
BUILTIN_ROLES: tuple[tuple[str, str, str, bool], ...] = (
    # name, display name, permissions, scheme managed
    ("system_user", "authentication.roles.global_user.name",
     "create_team create_direct_channel create_group_channel list_public_teams join_public_teams view_members "
     "create_emojis delete_emojis create_custom_group edit_custom_group manage_custom_group_members", True),
    ("system_admin", "authentication.roles.global_admin.name",
     "sysconsole_read_compliance_data_retention_policy sysconsole_write_compliance_data_retention_policy "
     "sysconsole_read_compliance_compliance_export sysconsole_write_compliance_compliance_export manage_system "
     "manage_roles manage_jobs read_jobs create_compliance_export_job download_compliance_export_result "
     "create_data_retention_job read_data_retention_job manage_bots manage_others_bots edit_other_users "
     "manage_team manage_system_wide_oauth delete_others_emojis " + _TEAM_ADMIN + " " + _CHANNEL_USER, True),
    ("system_guest", "authentication.roles.global_guest.name", "create_direct_channel create_group_channel", True),
    ("system_user_access_token", "authentication.roles.system_user_access_token.name",
     "create_user_access_token read_user_access_token revoke_user_access_token", False),
    ("system_post_all", "authentication.roles.system_post_all.name", "create_post", False),
    ("system_read_only_admin", "authentication.roles.system_read_only_admin.name",
     "sysconsole_read_compliance_data_retention_policy sysconsole_read_compliance_compliance_export read_jobs",
     False),
    ("team_user", "authentication.roles.team_user.name", _TEAM_USER, True),
    ("team_admin", "authentication.roles.team_admin.name", _TEAM_ADMIN, True),
    ("team_guest", "authentication.roles.team_guest.name", _TEAM_GUEST, True),
    ("team_post_all", "authentication.roles.team_post_all.name", "create_post", False),
    ("channel_user", "authentication.roles.channel_user.name", _CHANNEL_USER, True),
    ("channel_admin", "authentication.roles.channel_admin.name", _CHANNEL_ADMIN, True),
    ("channel_guest", "authentication.roles.channel_guest.name", _CHANNEL_GUEST, True),
)  # fmt: skip


@dataclass
class Permissions:
    """The rows of ``roles`` and ``schemes`` plus the two scheme ids."""

    team_scheme_id: str
    channel_scheme_id: str
    role_lines: list[str] = field(default_factory=list)
    scheme_lines: list[str] = field(default_factory=list)


def build_permissions(new_id: Callable[[], str], at: int) -> Permissions:
    """Built-in roles, a team scheme (with its six roles) and a channel scheme (three roles)."""
    perms = Permissions(team_scheme_id=new_id(), channel_scheme_id=new_id())

    def role(
        name: str, display: str, description: str, permissions: str, managed: bool, builtin: bool
    ) -> str:
        perms.role_lines.append(
            f"{new_id()}\t{name}\t{esc(display)}\t{esc(description)}\t{at}\t{at}\t0\t{permissions}\t"
            f"{'t' if managed else 'f'}\t{'t' if builtin else 'f'}\n"
        )
        return name

    for name, display, permissions, managed in BUILTIN_ROLES:
        role(name, display, "", permissions, managed, True)

    def scheme(sid: str, display: str, scope: str, roles: dict[str, str]) -> None:
        names: dict[str, str] = {}
        for key, perm in roles.items():
            names[key] = role(new_id(), f"{key.replace('_', ' ').title()} Role for Scheme {display}",
                              "", perm, True, False)  # fmt: skip
        cols = [names.get(k, "") for k in ("team_admin", "team_user", "channel_admin", "channel_user")]
        cols += [names.get(k, "") for k in ("team_guest", "channel_guest")]
        description = f'Permissions of {display}, "restricted"'
        perms.scheme_lines.append(
            f"{sid}\t{new_id()}\t{esc(display)}\t{esc(description)}\t{at}\t{at}\t0\t{scope}\t"
            + "\t".join(cols)
            + "\n"
        )

    scheme(perms.team_scheme_id, "Invite-only Team", "team", {
        "team_admin": _TEAM_ADMIN, "team_user": _TEAM_USER.replace(" invite_user", ""), "team_guest": _TEAM_GUEST,
        "channel_admin": _CHANNEL_ADMIN, "channel_user": _CHANNEL_USER, "channel_guest": _CHANNEL_GUEST,
    })  # fmt: skip
    scheme(perms.channel_scheme_id, "Read-mostly Channel", "channel", {
        "channel_admin": _CHANNEL_ADMIN, "channel_user": "read_channel add_reaction remove_reaction",
        "channel_guest": "read_channel",
    })  # fmt: skip
    return perms
