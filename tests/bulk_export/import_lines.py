"""A small, valid import file touching every line type: the validator's and the export check's tests
change it one key at a time."""

from __future__ import annotations

VERSION = {"type": "version", "version": 1, "info": {"generator": "t", "version": "1", "created": "x"}}
ROLE = {
    "name": "team_user",
    "display_name": "Team User",
    "description": "",
    "permissions": ["view_team"],
    "scheme_managed": True,
}


def base() -> list[dict]:
    """A small, valid import file touching every line type."""
    return [
        VERSION,
        {
            "type": "scheme",
            "scheme": {
                "name": "team_scheme",
                "display_name": "Team",
                "description": "",
                "scope": "team",
                "default_team_admin_role": ROLE | {"name": "t_admin"},
                "default_team_user_role": ROLE | {"name": "t_user"},
                "default_channel_admin_role": ROLE | {"name": "c_admin"},
                "default_channel_user_role": ROLE | {"name": "c_user"},
            },
        },
        {
            "type": "scheme",
            "scheme": {
                "name": "chan_scheme",
                "display_name": "Chan",
                "description": "",
                "scope": "channel",
                "default_channel_admin_role": ROLE | {"name": "c2_admin"},
                "default_channel_user_role": ROLE | {"name": "c2_user"},
            },
        },
        {"type": "role", "role": ROLE},
        {
            "type": "team",
            "team": {
                "name": "alpha",
                "display_name": "Alpha",
                "type": "O",
                "description": "",
                "allow_open_invite": True,
                "scheme": "team_scheme",
            },
        },
        {
            "type": "channel",
            "channel": {
                "team": "alpha",
                "name": "town-square",
                "display_name": "Town Square",
                "type": "O",
                "header": "",
                "purpose": "",
                "scheme": "chan_scheme",
            },
        },
        {
            "type": "user",
            "user": {
                "username": "alice",
                "email": "alice@example.com",
                "auth_service": "",
                "nickname": "",
                "first_name": "Alice",
                "last_name": "",
                "position": "",
                "roles": "system_user",
                "locale": "en",
                "email_interval": "hour",
                "notify_props": {"desktop": "mention", "comments": "never"},
                "teams": [
                    {
                        "name": "alpha",
                        "roles": "team_user",
                        "theme": '{"a":"b"}',
                        "channels": [
                            {
                                "name": "town-square",
                                "roles": "channel_user",
                                "notify_props": {"mark_unread": "all"},
                            }
                        ],
                    }
                ],
            },
        },
        {
            "type": "user",
            "user": {
                "username": "bob",
                "email": "bob@example.com",
                "auth_service": "saml",
                "auth_data": "bob@idp",
                "nickname": "",
                "first_name": "",
                "last_name": "",
                "position": "",
                "roles": "system_user",
                "locale": "en",
                "delete_at": 5,
                "teams": [
                    {
                        "name": "alpha",
                        "roles": "team_user",
                        "channels": [{"name": "town-square", "roles": "channel_user"}],
                    }
                ],
            },
        },
        {"type": "bot", "bot": {"username": "helper", "owner": "bob", "display_name": "Helper"}},
        {
            "type": "post",
            "post": {
                "team": "alpha",
                "channel": "town-square",
                "user": "alice",
                "type": "",
                "message": "hi",
                "props": {},
                "create_at": 100,
                "edit_at": 0,
                "flagged_by": ["bob"],
                "reactions": [{"user": "bob", "create_at": 100, "emoji_name": "+1"}],
                "replies": [
                    {
                        "user": "bob",
                        "type": "",
                        "message": "yo",
                        "create_at": 200,
                        "attachments": [{"path": "a/b.txt"}],
                    }
                ],
                "attachments": [{"path": "x/y.png"}],
                "is_pinned": False,
                "thread_followers": [{"user": "alice"}],
            },
        },
        {"type": "emoji", "emoji": {"name": "party-parrot", "image": "exported_emoji/e1/image"}},
        {
            "type": "direct_channel",
            "direct_channel": {
                "participants": [{"username": "alice"}, {"username": "bob"}],
                "favorited_by": ["alice"],
                "header": "",
            },
        },
        {
            "type": "direct_post",
            "direct_post": {
                "channel_members": ["alice", "bob"],
                "user": "alice",
                "message": "psst",
                "create_at": 300,
                "flagged_by": ["bob"],
            },
        },
    ]
