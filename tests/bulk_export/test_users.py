"""User and bot lines: profile, preferences and memberships, never a secret; bots with their owner."""

from __future__ import annotations

from tests.bulk_export.workspace import T0, by_key


def test_users_carry_profile_preferences_and_memberships_but_never_secrets(export):
    users = by_key(export.of_type("user"))
    assert set(users) == {
        "alice",
        "bob",
        "carol",
        "dave",
        "zed",
        "ssouser",
        "erin",
        "frank",
        "grace",
        "heidi",
    }
    alice = users["alice"]
    assert alice["email"] == "alice@example.com"
    assert alice["first_name"] == "Alice"
    assert alice["position"] == "Engineer"
    assert alice["locale"] == "en"
    assert alice["roles"] == "system_user"
    assert alice["theme"] == '{"type":"Onyx"}'
    assert alice["military_time"] == "true"
    assert alice["name_format"] == "full_name"
    assert alice["email_interval"] == "fifteen"
    assert alice["tutorial_step"] == "999"
    assert alice["notify_props"]["mobile"] == "mention"
    assert alice["notify_props"]["comments"] == "never"
    assert alice["custom_status"] == {"emoji": "palm_tree", "text": "On holiday", "duration": "today"}
    assert alice["profile_image"] == f"users/{export_user_id(export, 'alice')}/profile.png"
    teams = by_key(alice["teams"], "name")
    assert teams["alpha"]["roles"] == "team_user team_admin"
    assert teams["alpha"]["theme"] == '{"type":"Denim"}'
    channels = by_key(teams["alpha"]["channels"], "name")
    assert set(channels) == {"town-square", "archived-proj"}
    assert channels["town-square"]["favorite"] is True
    assert channels["archived-proj"]["favorite"] is False
    assert channels["town-square"]["notify_props"] == {
        "desktop": "default",
        "mobile": "default",
        "mark_unread": "all",
    }
    assert channels["town-square"]["msg_count"] == 3
    assert channels["town-square"]["last_viewed_at"] == T0
    assert users["carol"]["delete_at"] == T0 - 1000  # deactivated, still exported
    assert users["ssouser"]["auth_service"] == "saml"
    assert users["ssouser"]["auth_data"] == "ssouser@idp.example"
    assert "profile_image" not in users["bob"]  # picture recorded, file gone: a warning instead
    assert "profile_image" not in users["dave"]  # never uploaded one: nothing, no warning
    for line in export.lines:
        assert "password" not in line.get("user", {})
        assert "mfa_secret" not in line.get("user", {})


def test_bots_with_owner_usernames_even_when_the_owner_is_deactivated_or_a_plugin(export):
    bots = by_key(export.of_type("bot"))
    assert bots["helper-bot"] == {
        "username": "helper-bot",
        "owner": "carol",
        "display_name": "Helper Bot",
        "description": "helper-bot does things",
    }
    assert bots["plugin-bot"]["owner"] == "com.example.plugin"
    assert "helper-bot" not in by_key(export.of_type("user"))


def export_user_id(export, username):
    from tests.bulk_export.workspace import make_id

    return make_id(f"user:{username}")
