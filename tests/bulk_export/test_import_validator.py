"""The import validator: one passing file, then every rule broken once (each error branch is tested)."""

from __future__ import annotations

import copy
import json
import zipfile

import pytest

from mmgov.bulk_export.__main__ import main
from mmgov.bulk_export.import_validator import validate_export, validate_lines

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


def run(lines: list[dict], *, strict: bool = True):
    return validate_lines([json.dumps(line) for line in lines], strict=strict).report


def mutate(path: str, value, *, line_type: str | None = None, delete: bool = False) -> list[dict]:
    """Set (or delete) a key of the first line of ``line_type`` (dotted path inside its object)."""
    lines = copy.deepcopy(base())
    kind = line_type or path.split(".")[0]
    line = next(ln for ln in lines if ln["type"] == kind)
    target = line[kind]
    keys = path.split(".")[1:]
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if delete:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return lines


def test_the_base_file_is_valid():
    report = run(base())
    assert report.ok, report.errors
    assert report.warning_count == 0, report.warnings
    assert report.counts["post"] == 1
    assert report.lines == len(base())


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("team.name", "Not Valid", "team.name.invalid"),
        ("team.name", "admin", "team.name.reserved"),
        ("team.name", "a" * 65, "team.name.length"),
        ("team.display_name", "", "team.display_name.length"),
        ("team.display_name", "é" * 65, "team.display_name.length"),
        ("team.type", "X", "team.type.invalid"),
        ("team.description", "d" * 256, "team.description.length"),
        ("team.scheme", "undefined_scheme", "team.scheme.unknown"),
        ("channel.name", "Bad Name!", "channel.name.invalid"),
        ("channel.team", "nowhere", "channel.team.unknown"),
        ("channel.type", "D", "channel.type.invalid"),
        ("channel.display_name", "ü" * 65, "channel.display_name.length"),
        ("channel.header", "h" * 1025, "channel.header.length"),
        ("channel.purpose", "p" * 251, "channel.purpose.length"),
        ("user.username", "Al", "user.username.invalid"),
        ("user.username", "all", "user.username.invalid"),
        ("user.email", "", "user.email.length"),
        ("user.email", "e" * 129, "user.email.length"),
        ("user.auth_service", "saml", "user.auth.dependency"),
        ("user.nickname", "n" * 65, "user.nickname.length"),
        ("user.position", "p" * 129, "user.position.length"),
        ("user.roles", "system user!", "user.roles.invalid"),
        ("user.email_interval", "weekly", "user.email_interval.invalid"),
        ("user.notify_props.desktop", "loud", "user.notify_props.desktop.invalid"),
        ("user.teams.0.name", "beta", "user.teams.unknown"),
        ("user.teams.0.theme", "not json", "user.teams.theme.invalid"),
        ("user.teams.0.channels.0.name", "nope", "user.channels.unknown"),
        (
            "user.teams.0.channels.0.notify_props.mark_unread",
            "never",
            "user.channels.notify_props.mark_unread.invalid",
        ),
        ("user.password", "$2a$10$hash", "secret.exported"),
        ("bot.owner", None, "bot.owner.missing"),
        ("post.user", None, "post.user.missing"),
        ("post.user", "mallory", "post.user.unknown"),
        ("post.channel", "gone", "post.channel.unknown"),
        ("post.message", "m" * 16384, "post.message.length"),
        ("post.create_at", 0, "post.create_at.zero"),
        ("post.create_at", None, "post.create_at.missing"),
        ("post.props", {"x": "y" * 800_001}, "post.props.length"),
        ("post.reactions.0.create_at", 99, "post.reaction.before_post"),
        ("post.reactions.0.emoji_name", "e" * 65, "post.reaction.emoji_name.length"),
        ("post.reactions.0.create_at", 0, "post.reaction.create_at.zero"),
        ("post.replies.0.create_at", 0, "reply.create_at.zero"),
        ("post.replies.0.user", None, "reply.user.missing"),
        ("post.attachments.0.path", "../escape.txt", "post.attachments.path"),
        ("post.replies.0.attachments.0.path", "/etc/passwd", "reply.attachments.path"),
        ("direct_channel.participants", [{"username": "alice"}], "direct_channel.members.count"),
        ("direct_channel.favorited_by", ["helper"], "direct_channel.favorited_by.not_member"),
        ("direct_post.channel_members", [], "direct_post.members.count"),
        (
            "direct_post.channel_members",
            ["alice", "bob", "helper", "a1", "a2", "a3", "a4", "a5", "a6"],
            "direct_post.members.count",
        ),
        ("direct_post.flagged_by", ["helper"], "direct_post.flagged_by.not_member"),
        ("emoji.name", "no spaces", "emoji.name.invalid"),
        ("emoji.image", None, "emoji.image.missing"),
        ("scheme.scope", "global", "scheme.scope.invalid"),
        ("scheme.default_team_user_role", None, "scheme.roles.missing"),
        ("scheme.name", "Bad-Name", "scheme.name.invalid"),
        (
            "scheme.default_team_admin_role.display_name",
            "",
            "scheme.default_team_admin_role.display_name.length",
        ),
        ("role.name", "Bad Role", "role.name.invalid"),
    ],
)
def test_each_rule_is_an_error(path, value, code):
    lines = mutate(path, None, delete=True) if value is None else mutate(path, value)
    report = run(lines)
    assert not report.ok
    assert code in report.codes("error"), report.errors


def test_gm_of_8_is_valid_and_9_is_not():
    eight = [f"user{i}" for i in range(8)]
    users = [
        {"type": "user", "user": {"username": n, "email": f"{n}@x.org", "auth_service": "", "roles": ""}}
        for n in [*eight, "user8"]
    ]
    lines = [
        VERSION,
        *users,
        {"type": "direct_channel", "direct_channel": {"participants": [{"username": n} for n in eight]}},
        {
            "type": "direct_post",
            "direct_post": {"channel_members": eight, "user": "user0", "message": "m", "create_at": 1},
        },
    ]
    assert run(lines).ok
    lines[-1]["direct_post"]["channel_members"] = [*eight, "user8"]
    assert "direct_post.members.count" in run(lines).codes("error")


def test_a_channel_scheme_must_not_carry_team_roles():
    lines = base()
    lines[2]["scheme"]["default_team_admin_role"] = ROLE | {"name": "x_admin"}
    assert "scheme.roles.wrong_scope" in run(lines).codes("error")


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([{"type": "team", "team": {}}], "version.first"),
        ([{**VERSION, "version": 2}], "version.unsupported"),
        ([VERSION, VERSION], "version.repeated"),
        ([VERSION, {"type": "widget", "widget": {}}], "line.type.unknown"),
        ([VERSION, {"type": "team"}], "team.missing"),
        ([VERSION, {"no_type": 1}], "line.type.missing"),
    ],
    ids=["not-first", "version-2", "twice", "unknown-type", "no-body", "no-type"],
)
def test_structure_errors(lines, code):
    assert code in run(lines).codes("error")


def test_order_of_line_types_is_enforced():
    lines = base()
    post = next(ln for ln in lines if ln["type"] == "post")
    lines.remove(post)
    lines.insert(4, post)  # a post before teams
    assert "line.order" in run(lines).codes("error")


def test_channel_schemes_after_team_schemes():
    lines = base()
    lines[1], lines[2] = lines[2], lines[1]
    assert "line.order" in run(lines).codes("error")


def test_broken_json_and_empty_lines_and_empty_files():
    report = validate_lines([json.dumps(VERSION), "{not json", ""]).report
    assert {"line.json", "line.empty"} <= set(report.codes("error"))
    assert "file.empty" in validate_lines([]).report.codes("error")


def test_warnings_do_not_make_a_file_invalid():
    lines = base()
    lines[9]["post"]["replies"][0]["create_at"] = 50  # reply older than its root: Mattermost only logs it
    lines[9]["post"]["flagged_by"] = ["alice", "bob"]
    lines.insert(7, {"type": "user", "user": {"username": "carol", "email": "c@x.org", "auth_service": ""}})
    lines[10]["post"]["flagged_by"] = ["carol"]  # not a member of the channel any more
    report = run(lines)
    assert report.ok
    assert {"reply.before_root", "post.flagged_by.not_member"} <= set(report.codes("warning"))


def test_lenient_mode_accepts_people_and_channels_defined_elsewhere():
    lines = [
        VERSION,
        {
            "type": "post",
            "post": {"team": "t1", "channel": "c1", "user": "someone", "message": "m", "create_at": 5},
        },
    ]
    assert not run(lines).ok
    assert run(lines, strict=False).ok


def test_findings_are_capped_but_counted():
    lines = [VERSION] + [
        {"type": "team", "team": {"name": "Bad Name", "display_name": "x", "type": "O"}}
    ] * 30
    report = validate_lines([json.dumps(ln) for ln in lines], max_findings=5).report
    assert report.error_count == 30
    assert len(report.errors) == 5


def test_zip_and_folder_exports_and_the_cli(tmp_path, capsys):
    text = "\n".join(json.dumps(line) for line in base()) + "\n"
    folder = tmp_path / "export"
    (folder / "data" / "a").mkdir(parents=True)
    (folder / "import.jsonl").write_text(text)
    (folder / "data" / "a" / "b.txt").write_text("x")
    report = validate_export(folder)
    assert report.ok
    missing = {f.message for f in report.warnings}
    assert any("x/y.png" in m for m in missing)
    assert any("exported_emoji/e1/image" in m for m in missing)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("import.jsonl", text)
        zf.writestr("data/a/b.txt", "x")
        zf.writestr("data/x/y.png", "x")
        zf.writestr("exported_emoji/e1/image", "x")
    assert validate_export(archive).warning_count == 0
    assert main(["validate", str(archive)]) == 0
    assert capsys.readouterr().out.startswith("valid: 13 lines")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(text.replace('"type": "O"', '"type": "Z"', 1))
    assert main(["validate", str(broken), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error_count"] == 1
    assert main(["validate", str(tmp_path / "missing.jsonl")]) == 2
