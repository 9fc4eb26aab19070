"""The import validator: one passing file, then every rule broken once (each error branch is tested)."""

from __future__ import annotations

import copy
import json

import pytest

from mmgov.bulk_export.import_validator import validate_lines
from tests.bulk_export.import_lines import ROLE, VERSION, base


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
        ("user.username", "i am a username with spaces and !!!", "user.username.invalid"),
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
        {"type": "team", "team": {"name": f"Bad Name {i}", "display_name": "x", "type": "I"}}
        for i in range(30)
    ]
    report = validate_lines([json.dumps(ln) for ln in lines], max_findings=5).report
    assert report.error_count == 30
    assert len(report.errors) == 5


# -- Mattermost's rules, each one line accepted and one rejected (issue 18, item 4) ----------------
# Each case: the keys to set (dotted paths of base()'s lines, so references stay consistent), the
# expected finding (None: no error and no warning), and the Go file the rule comes from.
IMPORT_VALIDATORS = "server/channels/app/imports/import_validators.go"
IMPORT_FUNCTIONS = "server/channels/app/import_functions.go"
IMPORT_GO = "server/channels/app/import.go"
MMCTL_VALIDATE = "server/cmd/mmctl/commands/importer/validate.go"


def _with(changes: dict[str, object]) -> list[dict]:
    """base() with several keys set at once: ``kind.key.key`` (the first line of that kind),
    ``kind#n.key`` (its n-th line), ``version.key`` (the version line itself); ``None`` deletes the
    key; ``+kind``: a line added after the last line of that kind."""
    lines = copy.deepcopy(base())
    for path, value in changes.items():
        if path.startswith("+"):
            kind = path[1:]
            last = max(i for i, ln in enumerate(lines) if ln["type"] == kind)
            lines.insert(last + 1, {"type": kind, kind: value})
            continue
        head, *keys = path.split(".")
        kind, _, nth = head.partition("#")
        line = [ln for ln in lines if ln["type"] == kind][int(nth or 0)]
        target = line if kind == "version" else line[kind]
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is None:
            del target[keys[-1]]
        elif isinstance(target, list):
            target[int(keys[-1])] = value
        else:
            target[keys[-1]] = value
    return lines


TEAM_REFERENCES = ("team.name", "channel.team", "user.teams.0.name", "user#1.teams.0.name", "post.team")
CHANNEL_REFERENCES = (
    "channel.name",
    "user.teams.0.channels.0.name",
    "user#1.teams.0.channels.0.name",
    "post.channel",
)


def _team_named(name: str) -> dict[str, object]:
    return dict.fromkeys(TEAM_REFERENCES, name)


def _channel_named(name: str) -> dict[str, object]:
    return dict.fromkeys(CHANNEL_REFERENCES, name)


def _user_named(name: str) -> dict[str, object]:
    return {
        "+user": {"username": name, "email": "new@example.com", "auth_service": "", "roles": "system_user"}
    }


RULES = [
    # model.IsValidUsername after model.NormalizeUsername (user.go; ValidateUserImportData)
    ("username jo", _user_named("jo"), None, "server/public/model/user.go"),
    ("username 1john", _user_named("1john"), None, "server/public/model/user.go"),
    ("username here", _user_named("here"), None, "server/public/model/user.go"),
    ("username Carol (lower-cased)", _user_named("Carol"), None, IMPORT_VALIDATORS),
    ("username all", _user_named("all"), ("error", "user.username.invalid"), "server/public/model/user.go"),
    ("username with spaces", _user_named("i am a username with spaces and !!!"),
     ("error", "user.username.invalid"), IMPORT_VALIDATORS),
    # ValidateTeamImportData: IsValidTeamName(strings.ToLower(name)); the importer lower-cases it
    ("team name Alpha", _team_named("Alpha"), ("warning", "team.name.lowercased"), IMPORT_VALIDATORS),
    ("team name Test::''ASD", {"team.name": "Test::''ASD"}, ("error", "team.name.invalid"), IMPORT_VALIDATORS),
    # model.IsReservedTeamName: a name *starting with* a reserved word (utils.go reservedName, team.go)
    ("team name teamhelp", _team_named("teamhelp"), None, "server/public/model/team.go"),
    ("team name helpdesk", _team_named("helpdesk"), ("error", "team.name.reserved"), "server/public/model/team.go"),
    # model.IsValidChannelIdentifier(strings.ToLower(name)): validSimpleAlphaNum (utils.go)
    ("channel name ending in -", _channel_named("town-"), None, "server/public/model/utils.go"),
    ("channel name A (lower-cased)", _channel_named("A"), None, IMPORT_VALIDATORS),
    ("channel name starting with -", _channel_named("-town"), ("error", "channel.name.invalid"),
     "server/public/model/utils.go"),
    # model.IsValidSchemeName: ^[a-z0-9_]{2,64}$ (scheme.go; ValidateSchemeImportData)
    ("scheme name of 2", {"scheme.name": "ts", "team.scheme": "ts"}, None, "server/public/model/scheme.go"),
    ("scheme name of 1", {"scheme.name": "t", "team.scheme": "t"}, ("error", "scheme.name.invalid"),
     "server/public/model/scheme.go"),
    # User.IsValid -> model.IsValidEmail (user.go, utils.go) after the importer lower-cases the e-mail
    ("email upper-case", {"user.email": "Alice@Example.com"}, None, IMPORT_FUNCTIONS),
    ("email with plus", {"user.email": "alice+test@example.com"}, None, "server/public/model/utils.go"),
    ("email with space", {"user.email": "john doe@example.com"}, ("error", "user.email.invalid"),
     "server/public/model/utils.go"),
    ("email without @", {"user.email": "johnexample.com"}, ("error", "user.email.invalid"),
     "server/public/model/utils.go"),
    ("email with a name", {"user.email": "Alice <alice@example.com>"}, ("error", "user.email.invalid"),
     "server/public/model/utils.go"),
    ("email with two @", {"user.email": "a@b@example.com"}, ("error", "user.email.invalid"),
     "server/public/model/utils.go"),
    # User.IsValid -> model.IsValidLocale: at most 5 characters, language.Parse (user.go)
    ("locale pt-BR", {"user.locale": "pt-BR"}, None, "server/public/model/user.go"),
    ("locale empty", {"user.locale": ""}, None, "server/public/model/user.go"),
    ("locale english", {"user.locale": "english"}, ("error", "user.locale.invalid"), "server/public/model/user.go"),
    ("locale xx", {"user.locale": "xx"}, ("error", "user.locale.invalid"), "server/public/model/user.go"),
    # Post.IsValid: known types or custom_... (post.go), for posts, replies and direct posts
    ("post type custom_poll", {"post.type": "custom_poll"}, None, "server/public/model/post.go"),
    ("post type system_join_channel", {"post.type": "system_join_channel"}, None, "server/public/model/post.go"),
    ("post type poll", {"post.type": "poll"}, ("error", "post.type.invalid"), "server/public/model/post.go"),
    ("reply type system_ephemeral", {"post.replies.0.type": "system_ephemeral"}, ("error", "reply.type.invalid"),
     "server/public/model/post.go"),
    ("direct post type", {"direct_post.type": "sticker"}, ("error", "direct_post.type.invalid"),
     "server/public/model/post.go"),
    # VersionInfoImportData.Version is a Go string (import_types.go): a number fails to decode
    ("info.version string", {"version.info.version": "11.7.0"}, None, "server/channels/app/imports/import_types.go"),
    ("info.version number", {"version.info.version": 1}, ("error", "version.info.version.type"),
     "server/channels/app/imports/import_types.go"),
    ("version 1.0", {"version.version": 1.0}, ("error", "version.unsupported"),
     "server/channels/app/imports/import_types.go"),
    # model.CustomStatus.ExpiresAt is a Go time.Time: RFC 3339 (custom_status.go)
    ("expires_at RFC 3339", {"user.custom_status": {"emoji": "x", "text": "t", "expires_at": "2026-01-05T10:00:00Z"}},
     None, "server/public/model/custom_status.go"),
    ("expires_at with offset", {"user.custom_status": {"expires_at": "2026-01-05T10:00:00.123+01:00"}},
     None, "server/public/model/custom_status.go"),
    ("expires_at with a space", {"user.custom_status": {"expires_at": "2026-01-05 10:00:00"}},
     ("error", "user.custom_status.expires_at.invalid"), "server/public/model/custom_status.go"),
    ("expires_at in ms", {"user.custom_status": {"expires_at": 1767000000000}},
     ("error", "user.custom_status.expires_at.invalid"), "server/public/model/custom_status.go"),
    # importDirectChannel looks every shown_by name up among the members (import_functions.go)
    ("shown_by a member", {"direct_channel.shown_by": ["bob"]}, None, IMPORT_FUNCTIONS),
    ("shown_by a non-member", {"direct_channel.shown_by": ["helper"]}, ("error", "direct_channel.shown_by.not_member"),
     IMPORT_FUNCTIONS),
    # model.Team syncTypeAndAllowOpenInvite (team.go): type O without an open invite becomes I
    ("team O with open invite", {"team.allow_open_invite": True}, None, "server/public/model/team.go"),
    ("team O without open invite", {"team.allow_open_invite": None}, ("warning", "team.type.invite_only"),
     "server/public/model/team.go"),
    ("team O with open invite false", {"team.allow_open_invite": False}, ("warning", "team.type.invite_only"),
     "server/public/model/team.go"),
    # import.go stopOnError: members_too_few/too_many of a direct channel skip the line, go on
    ("direct channel of 2", {"direct_channel.participants": [{"username": "alice"}, {"username": "bob"}]}, None,
     IMPORT_GO),
    ("direct channel of 1", {"direct_channel.participants": [{"username": "alice"}], "direct_channel.favorited_by": None},
     ("warning", "direct_channel.members.count"), IMPORT_GO),
    ("direct post of 1", {"direct_post.channel_members": ["alice"], "direct_post.flagged_by": None},
     ("error", "direct_post.members.count"), IMPORT_VALIDATORS),
    # ValidateBotImportData: model.IsValidUsername(owner), not lower-cased
    ("bot owner plugin id", {"bot.owner": "com.example.plugin"}, None, IMPORT_VALIDATORS),
    ("bot owner upper-case", {"bot.owner": "Bob"}, ("error", "bot.owner.invalid"), IMPORT_VALIDATORS),
    # ValidateUserTeamsImportData: a theme decodes into map[string]string
    ("theme of strings", {"user.teams.0.theme": '{"sidebarBg": "#fff"}'}, None, IMPORT_VALIDATORS),
    ("theme with a number", {"user.teams.0.theme": '{"somekey": 25}'}, ("error", "user.teams.theme.invalid"),
     "server/channels/app/imports/import_validators_test.go"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "expected", "source"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_mattermosts_rule(changes, expected, source):
    """One accepted and one rejected value per rule, as Mattermost's importer (``source``) decides."""
    report = run(_with(changes))
    if expected is None:
        assert report.ok, (source, report.errors)
        assert report.warning_count == 0, (source, report.warnings)
        return
    severity, code = expected
    assert code in report.codes(severity), (source, report.errors, report.warnings)
    if severity == "warning":
        assert report.ok, (source, report.errors)  # accepted, with a notice of what changes


@pytest.mark.parametrize(
    ("duplicate", "code"),
    [
        ({"type": "team", "team": {"name": "alpha", "display_name": "A", "type": "I"}}, "team.duplicate"),
        (
            {
                "type": "channel",
                "channel": {"team": "alpha", "name": "town-square", "display_name": "T", "type": "O"},
            },
            "channel.duplicate",
        ),
        ({"type": "user", "user": {"username": "alice", "email": "a2@example.com"}}, "user.duplicate"),
        ({"type": "bot", "bot": {"username": "alice", "owner": "bob"}}, "bot.duplicate"),
        (
            {"type": "emoji", "emoji": {"name": "party-parrot", "image": "exported_emoji/e2/image"}},
            "emoji.duplicate",
        ),
        ({"type": "role", "role": ROLE}, "role.duplicate"),
    ],
    ids=["team", "channel", "user", "bot-named-like-a-user", "emoji", "role"],
)
def test_mmctl_validate_rejects_duplicate_lines(duplicate, code):
    """``mmctl import validate``: "duplicate entry, previous was in line N" for roles, schemes, teams,
    channels, users and bots (one namespace) and emoji (server/cmd/mmctl/commands/importer/validate.go)."""
    lines = base()
    kind = duplicate["type"]
    last = max(i for i, ln in enumerate(lines) if ln["type"] == kind)
    lines.insert(last + 1, duplicate)
    report = run(lines)
    assert code in report.codes("error"), report.errors
    renamed = copy.deepcopy(duplicate)
    body = renamed[kind]
    body["name" if "name" in body else "username"] = "anotherone"
    lines[last + 1] = renamed
    assert run(lines).ok, run(lines).errors
