"""Mattermost's value rules, each with a value it accepts and one it refuses (server/public/model/:
user.go, utils.go, team.go, channel.go, scheme.go, post.go)."""

from __future__ import annotations

import io

import pytest

from mmgov.bulk_export import mattermost_rules as rules
from mmgov_dev.synth.files import EMOJI_PNG


@pytest.mark.parametrize(
    ("username", "valid"),
    [
        ("alice.b-c_1", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("Alice", False),
        ("all", False),
        ("", False),
    ],
)
def test_usernames_follow_user_go(username, valid):
    """``IsValidUsername`` (user.go): 1-64 of a-z 0-9 . - _, and not a restricted name."""
    assert rules.is_valid_username(username) is valid


def test_a_team_name_starting_with_a_reserved_word_is_reserved():
    """``IsReservedTeamName`` (utils.go) tests the prefix: ``helpdesk`` and ``Admin2`` are reserved."""
    assert rules.is_reserved_team_name("helpdesk")
    assert rules.is_reserved_team_name("Admin2")
    assert not rules.is_reserved_team_name("alpha")


@pytest.mark.parametrize(
    ("check", "name", "valid"),
    [
        (rules.is_valid_team_name, "team-1", True),
        (rules.is_valid_team_name, "a", False),  # team.go TeamNameMinLength 2
        (rules.is_valid_team_name, "team-", False),
        (rules.is_valid_channel_name, "town-square_", True),  # validSimpleAlphaNum may end with - or _
        (rules.is_valid_channel_name, "_hidden", False),
        (rules.is_valid_scheme_name, "my_scheme", True),
        (rules.is_valid_scheme_name, "Bad-Name", False),
        (rules.is_valid_post_type, "system_join_channel", True),
        (rules.is_valid_post_type, "custom_poll", True),
        (rules.is_valid_post_type, "poll", False),
    ],
)
def test_names_and_post_types(check, name, valid):
    assert check(name) is valid


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        ("a.b+c@example.com", True),
        ('"john doe"@example.com', True),
        ("user@[10.0.0.1]", True),
        ("üser@exämple.org", True),  # net/mail accepts non-ASCII runes (RFC 6532)
        ("Upper@example.com", False),  # IsValidEmail wants lower case
        ("a@b@c.org", False),
        ("a b@example.com", False),
        ("a@example..com", False),
        ("Bob <bob@example.com>", False),
    ],
)
def test_emails_follow_utils_go_and_net_mail(email, valid):
    """``IsValidEmail`` (utils.go): lower case and ``mail.ParseAddress`` reads exactly the address."""
    assert rules.is_valid_email(email) is valid


@pytest.mark.parametrize(
    ("locale", "valid"),
    [
        ("", True),
        ("en", True),
        ("pt-BR", True),
        ("zh_CN", True),
        ("x-abc", True),
        ("qq", False),
        ("en-BX", False),
        ("english", False),
    ],
)
def test_locales_follow_user_go(locale, valid):
    """``IsValidLocale`` (user.go): at most 5 characters that ``language.Parse`` reads."""
    assert rules.is_valid_locale(locale) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-01-02T03:04:05Z", True),
        ("2026-01-02T03:04:05.5+02:00", True),
        ("2026-01-02", False),
        ("2026-13-02T03:04:05Z", False),
    ],
)
def test_custom_status_expiry_is_rfc3339(value, valid):
    assert rules.is_rfc3339(value) is valid


def test_images_must_be_an_allowed_format_within_the_pixel_limit():
    assert rules.image_problem(io.BytesIO(EMOJI_PNG), rules.EMOJI_IMAGE_FORMATS) is None
    assert "not an image" in rules.image_problem(io.BytesIO(b"GIF89a x"), ("PNG",))
    assert "more than the 0" in rules.image_problem(io.BytesIO(EMOJI_PNG), ("PNG",), max_pixels=0)


def test_svg_is_told_by_its_root_element():
    assert rules.is_svg(io.BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"/>'))
    assert not rules.is_svg(io.BytesIO(b"<html/>"))
    assert rules.svg_problem(io.BytesIO(b"<svg/>")) is None
    assert rules.svg_problem(io.BytesIO(b"<svg")).startswith("SVG cannot be parsed")
