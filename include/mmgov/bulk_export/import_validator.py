"""Check an export line by line against the rules of Mattermost's bulk import (and mmgov's own).

Rules come from Mattermost's importer: ``server/channels/app/imports/import_validators.go`` (line
types and their order, required keys, lengths in runes or bytes as Mattermost counts them, channel
and team types, member counts, reactions not older than their post, ``flagged_by`` members, scheme
roles per scope), the model validators the importer calls when it saves (``IsValidUsername``,
``IsValidTeamName``, ``IsReservedTeamName``, ``IsValidChannelIdentifier``, ``IsValidSchemeName``,
``IsValidEmail``, ``IsValidLocale``, ``Post.IsValid``: :mod:`mmgov.bulk_export.mattermost_rules`),
the JSON types Go decodes a line into (``import_types.go``: ``info.version`` is a string,
``custom_status.expires_at`` RFC 3339), what ``server/channels/app/import.go`` does with a line
(``stopOnError``: a direct channel with a wrong member count is skipped, not an error), and what
``mmctl import validate`` checks besides (``server/cmd/mmctl/commands/importer/validate.go``:
duplicate lines, emoji images under ``data/`` that decode). Names are lower-cased where the importer
lower-cases them (users, teams, channels), so references match case-insensitively. mmgov adds: no
secret key (``password``, MFA secrets) anywhere, safe file paths, and (``strict`` mode,
whole-workspace exports) that every team, channel, user and scheme a line names was defined by an
earlier line.

An *error* is what Mattermost's importer or ``mmctl import validate`` rejects (or what mmgov never
writes); a *warning* is what it accepts but changes, skips or finds suspicious (a team name it
lower-cases, a type ``O`` team it makes invite-only, a direct channel it skips, a reply older than
its root, an attachment missing from the archive). Memory grows with teams, channels, users, direct
channels and the files lines name, never with posts otherwise: files of any size are checked as a
stream; profile pictures and emoji images are decoded (Pillow: the importer decodes them).

``python -m mmgov.bulk_export validate <import.jsonl | export folder | export.zip>``
(:func:`mmgov.bulk_export.export_check.validate_export`: the lines, then the files they name; the
report is :mod:`~mmgov.bulk_export.import_report`). :class:`ImportValidator` is one class (most of
this module's 780 lines) on purpose: every line check reads and extends the same references (teams, channels,
users, members, schemes) in line order, as the importer does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from mmgov.bulk_export import mattermost_rules as rules
from mmgov.bulk_export.import_report import Finding, ValidationReport
from mmgov.bulk_export.jsonl_writer import LINE_ORDER

MAX_POST_RUNES = 16383
MAX_PROPS_RUNES = 800_000
MAX_FINDINGS = 1000
_RANK = {t: i for i, t in enumerate(LINE_ORDER)}
_ROLE_NAME = re.compile(r"^[a-z0-9_]+$")
_EMOJI_NAME = re.compile(r"^[a-zA-Z0-9\-+_]+$")
AUTH_SERVICES = {"", "email", "gitlab", "saml", "ldap", "google", "office365", "openid"}
SECRET_KEYS = {"password", "mfa_secret", "mfasecret", "mfa_active"}
NOTIFY_LEVELS = {"all", "mention", "none"}
CHANNEL_NOTIFY_LEVELS = {"default", "all", "mention", "none"}
TRUE_FALSE = {"true", "false"}
USER_NOTIFY_CHOICES = {
    "desktop": NOTIFY_LEVELS,
    "desktop_sound": TRUE_FALSE,
    "email": TRUE_FALSE,
    "mobile": NOTIFY_LEVELS,
    "mobile_push_status": {"online", "away", "offline"},
    "channel": TRUE_FALSE,
    "comments": {"any", "root", "never"},
}
USER_TRUE_FALSE_PREFS = ("feature_enabled_markdown_preview", "formatting", "show_unread_section")
EMAIL_INTERVALS = {"immediately", "fifteen", "hour"}
TEAM_SCHEME_ROLES = (
    "default_team_admin_role",
    "default_team_user_role",
    "default_channel_admin_role",
    "default_channel_user_role",
    "default_team_guest_role",
    "default_channel_guest_role",
)


def _runes(value: str) -> int:
    return len(value)


def _bytes(value: str) -> int:
    return len(value.encode("utf-8"))


def _safe_relative(path: str) -> bool:
    pure = PurePosixPath(path)
    return (
        bool(path)
        and not pure.is_absolute()
        and ".." not in pure.parts
        and "\\" not in path
        and "\x00" not in path
    )


class ImportValidator:
    """Feed lines with :meth:`feed` (or use :func:`validate_lines`); read :attr:`report`."""

    def __init__(self, *, strict: bool = True, max_findings: int = MAX_FINDINGS):
        self.strict = strict
        self.max_findings = max_findings
        self.report = ValidationReport()
        self._line = 0
        self._rank = -1
        self._scheme_scope_rank = 0
        # References, lower-cased as the importer looks them up (teams, channels, users).
        self.teams: set[str] = set()
        self.channels: set[tuple[str, str]] = set()
        self.users: set[str] = set()
        self.bots: set[str] = set()
        self.schemes: set[str] = set()
        self.members: set[tuple[str, str, str]] = set()  # (team, channel, username)
        self.direct_channels: set[frozenset[str]] = set()
        self.files: list[tuple[int, str, str]] = []  # (line, kind, path) for file checks
        # mmctl import validate's duplicate check: exact names, users and bots in one namespace.
        self._seen: dict[tuple[str, Any], int] = {}

    # -- findings ----------------------------------------------------------------------------
    def error(self, code: str, message: str) -> None:
        self.report.error_count += 1
        if len(self.report.errors) < self.max_findings:
            self.report.errors.append(Finding(self._line, "error", code, message))

    def warning(self, code: str, message: str) -> None:
        self.report.warning_count += 1
        if len(self.report.warnings) < self.max_findings:
            self.report.warnings.append(Finding(self._line, "warning", code, message))

    # -- helpers -----------------------------------------------------------------------------
    def _str(
        self,
        obj: dict,
        key: str,
        where: str,
        *,
        required: bool = False,
        max_runes: int | None = None,
        max_bytes: int | None = None,
        min_runes: int = 0,
    ) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.error(f"{where}.{key}.missing", f"{where}: '{key}' is required")
            return None
        if not isinstance(value, str):
            self.error(
                f"{where}.{key}.type", f"{where}: '{key}' must be a string, got {type(value).__name__}"
            )
            return None
        if max_runes is not None and _runes(value) > max_runes:
            self.error(
                f"{where}.{key}.length",
                f"{where}: '{key}' has {_runes(value)} runes, at most {max_runes} allowed",
            )
        if max_bytes is not None and _bytes(value) > max_bytes:
            self.error(
                f"{where}.{key}.length",
                f"{where}: '{key}' has {_bytes(value)} bytes, at most {max_bytes} allowed",
            )
        if _runes(value) < min_runes:
            self.error(f"{where}.{key}.length", f"{where}: '{key}' must have at least {min_runes} rune(s)")
        return value

    def _int(
        self, obj: dict, key: str, where: str, *, required: bool = False, nonzero: bool = False
    ) -> int | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.error(f"{where}.{key}.missing", f"{where}: '{key}' is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(f"{where}.{key}.type", f"{where}: '{key}' must be an integer, got {value!r}")
            return None
        if nonzero and value == 0:
            self.error(f"{where}.{key}.zero", f"{where}: '{key}' must not be 0")
        if value < 0:
            self.error(f"{where}.{key}.negative", f"{where}: '{key}' must not be negative, got {value}")
        return value

    def _choice(self, obj: dict, key: str, where: str, allowed: set[str], *, required: bool = False) -> None:
        value = obj.get(key)
        if value is None:
            if required:
                self.error(f"{where}.{key}.missing", f"{where}: '{key}' is required")
            return
        if value not in allowed:
            self.error(
                f"{where}.{key}.invalid",
                f"{where}: '{key}' is {value!r}; allowed: {', '.join(sorted(allowed))}",
            )

    def _list(self, obj: dict, key: str, where: str) -> list | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            self.error(f"{where}.{key}.type", f"{where}: '{key}' must be a list, got {type(value).__name__}")
            return None
        return value

    def _no_secrets(self, obj: Any, where: str) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key.lower() in SECRET_KEYS:
                    self.error("secret.exported", f"{where}: secret key '{key}' must never be exported")
                if isinstance(value, dict | list):
                    self._no_secrets(value, where)
        elif isinstance(obj, list):
            for item in obj:
                self._no_secrets(item, where)

    def _strings_object(self, value: Any, keys: tuple[str, ...], where: str) -> dict | None:
        """A Go struct of string fields (``info``, ``custom_status``): an object whose ``keys``, when
        present, are strings; anything else fails Go's decoding of the line."""
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(f"{where}.type", f"{where} must be an object, got {type(value).__name__}")
            return None
        for key in keys:
            if key in value and not isinstance(value[key], str):
                self.error(f"{where}.{key}.type", f"{where}.{key} must be a string, got {value[key]!r}")
        return value

    def _once(self, kind: str, key: Any, where: str) -> None:
        """``mmctl import validate`` rejects a second line defining the same role, scheme, team,
        channel, user (or bot) or emoji: "duplicate entry, previous was in line N" (validate.go)."""
        previous = self._seen.setdefault((kind, key), self._line)
        if previous != self._line:
            self.error(
                f"{where}.duplicate", f"{where}: duplicate entry {key!r}, previous was in line {previous}"
            )

    def _roles_string(self, value: Any, where: str) -> None:
        if value is None:
            return
        if not isinstance(value, str) or any(not _ROLE_NAME.match(r) for r in value.split()):
            self.error(
                f"{where}.roles.invalid", f"{where}: roles must be space-separated role names, got {value!r}"
            )
        elif value.split() == ["system_admin"]:  # IsValidUserRoles (user.go)
            self.error(
                f"{where}.roles.invalid", f"{where}: 'system_admin' alone is refused (with system_user)"
            )

    def _username_ref(self, username: Any, where: str) -> None:
        if (
            self.strict
            and isinstance(username, str)
            and username.lower() not in self.users
            and username.lower() not in self.bots
        ):
            self.error(
                f"{where}.user.unknown", f"{where}: user {username!r} is not defined by an earlier line"
            )

    # -- lines -------------------------------------------------------------------------------
    def feed(self, raw: str | bytes) -> None:
        """Validate one line."""
        self._line += 1
        self.report.lines += 1
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.error("line.encoding", "line is not valid UTF-8")
                return
        if not raw.strip():
            self.error("line.empty", "empty line")
            return
        try:
            line = json.loads(raw)
        except ValueError as exc:
            self.error("line.json", f"not valid JSON: {exc}")
            return
        if not isinstance(line, dict) or not isinstance(line.get("type"), str):
            self.error("line.type.missing", "a line must be a JSON object with a string 'type'")
            return
        kind = line["type"]
        self.report.counts[kind] += 1
        if self._line == 1:
            if kind != "version":
                self.error("version.first", f"the first line must be the version line, got type {kind!r}")
            else:
                self._version(line)
            return
        if kind == "version":
            self.error("version.repeated", "only the first line may be a version line")
            return
        if kind not in _RANK:
            self.error(
                "line.type.unknown", f"unknown line type {kind!r}; allowed: {', '.join(LINE_ORDER[1:])}"
            )
            return
        rank = _RANK[kind]
        if rank < self._rank:
            self.error(
                "line.order",
                f"{kind} line after {LINE_ORDER[self._rank]} lines; the order is {', '.join(LINE_ORDER)}",
            )
        self._rank = max(self._rank, rank)
        body = line.get(kind)
        if not isinstance(body, dict):
            self.error(f"{kind}.missing", f"a {kind} line needs a '{kind}' object")
            return
        self._no_secrets(body, kind)
        getattr(self, f"_{kind}")(body)

    def _version(self, line: dict) -> None:
        """``version`` is a Go int (1 only) and ``info``'s generator, version and created are Go
        strings (``VersionInfoImportData``, import_types.go): anything else fails to decode and the
        import stops at line 1."""
        version = line.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version != 1:
            self.error("version.unsupported", f"version must be the integer 1, got {version!r}")
        self._strings_object(line.get("info"), ("generator", "version", "created"), "version.info")

    def _scheme(self, s: dict) -> None:
        name = self._str(s, "name", "scheme", required=True, max_bytes=64)
        if name is not None and not rules.is_valid_scheme_name(name):
            self.error("scheme.name.invalid", f"scheme: name {name!r} must be 2-64 of a-z, 0-9 and _")
        if name is not None:
            self._once("scheme", name, "scheme")
        self._str(s, "display_name", "scheme", required=True, max_bytes=128, min_runes=1)
        self._str(s, "description", "scheme", max_bytes=1024)
        scope = s.get("scope")
        if scope == "team":
            needed, forbidden = TEAM_SCHEME_ROLES[:4], ()
            if self._scheme_scope_rank > 0:
                self.error("line.order", "team-scope schemes must come before channel-scope schemes")
        elif scope == "channel":
            needed, forbidden = TEAM_SCHEME_ROLES[2:4], TEAM_SCHEME_ROLES[:2]
            self._scheme_scope_rank = 1
        else:
            self.error("scheme.scope.invalid", f"scheme: scope must be team or channel, got {scope!r}")
            return
        for key in needed:
            if s.get(key) is None:
                self.error("scheme.roles.missing", f"scheme {name!r}: a {scope} scheme needs '{key}'")
        for key in forbidden:
            if s.get(key) is not None:
                self.error(
                    "scheme.roles.wrong_scope", f"scheme {name!r}: a channel scheme must not have '{key}'"
                )
        for key in TEAM_SCHEME_ROLES:
            if isinstance(s.get(key), dict):
                self._role(s[key], where=f"scheme.{key}")
        if name:
            self.schemes.add(name)

    def _role(self, r: dict, where: str = "role") -> None:
        name = self._str(r, "name", where, required=True, max_bytes=64)
        if name is not None and not _ROLE_NAME.match(name):
            self.error(f"{where}.name.invalid", f"{where}: name {name!r} may hold a-z, 0-9 and _ only")
        if name is not None and where == "role":
            self._once("role", name, "role")
        self._str(r, "display_name", where, required=True, max_bytes=128, min_runes=1)
        self._str(r, "description", where, max_bytes=1024)
        perms = self._list(r, "permissions", where)
        if perms is not None and not all(isinstance(p, str) and p for p in perms):
            self.error(f"{where}.permissions.invalid", f"{where}: permissions must be non-empty strings")

    def _scheme_ref(self, obj: dict, where: str) -> None:
        scheme = obj.get("scheme")
        if scheme is None:
            return
        if not isinstance(scheme, str) or not rules.is_valid_scheme_name(scheme):
            self.error(f"{where}.scheme.invalid", f"{where}: scheme {scheme!r} is not a valid scheme name")
        elif self.strict and scheme not in self.schemes:
            self.error(
                f"{where}.scheme.unknown", f"{where}: scheme {scheme!r} is not defined by an earlier line"
            )

    def _team(self, t: dict) -> None:
        name = self._str(t, "name", "team", required=True, max_bytes=64)
        if name is not None:
            if rules.is_reserved_team_name(name):
                self.error(
                    "team.name.reserved",
                    f"team: name {name!r} starts with a reserved word ({', '.join(rules.RESERVED_NAMES)})",
                )
            elif not rules.is_valid_team_name(name.lower()):
                self.error(
                    "team.name.invalid",
                    f"team: name {name!r} must be 2-64 of a-z, 0-9 and - (not at either end)",
                )
            elif name != name.lower():
                self.warning("team.name.lowercased", f"team: name {name!r} is imported as {name.lower()!r}")
            self._once("team", name, "team")
            self.teams.add(name.lower())
        self._str(t, "display_name", "team", required=True, max_runes=64, min_runes=1)
        self._choice(t, "type", "team", {"O", "I"}, required=True)
        open_invite = t.get("allow_open_invite")
        if open_invite is not None and not isinstance(open_invite, bool):
            self.error(
                "team.allow_open_invite.type",
                f"team: allow_open_invite must be true or false, got {open_invite!r}",
            )
        elif t.get("type") == "O" and open_invite is not True:
            # model/team.go syncTypeAndAllowOpenInvite: no open invite means an invite-only team
            self.warning(
                "team.type.invite_only",
                f"team {name!r}: type O without allow_open_invite true is imported as an invite-only team (I)",
            )
        elif t.get("type") == "I" and open_invite is True:
            self.warning(
                "team.allow_open_invite.ignored",
                f"team {name!r}: an invite-only team (I) is imported with allow_open_invite false",
            )
        self._str(t, "description", "team", max_bytes=255)
        self._scheme_ref(t, "team")
        self._int(t, "delete_at", "team")

    def _channel(self, c: dict) -> None:
        team = self._str(c, "team", "channel", required=True)
        name = self._str(c, "name", "channel", required=True, max_bytes=64)
        if name is not None and not rules.is_valid_channel_name(name.lower()):
            self.error(
                "channel.name.invalid",
                f"channel: name {name!r} may hold a-z, 0-9, - and _ only, starting with a letter or digit",
            )
        if team is not None and name is not None:
            self._once("channel", (team, name), "channel")
        if team is not None and self.strict and team.lower() not in self.teams:
            self.error(
                "channel.team.unknown", f"channel {name!r}: team {team!r} is not defined by an earlier line"
            )
        display_name = c.get("display_name")
        if isinstance(display_name, str) and display_name:
            self._str(c, "display_name", "channel", max_runes=64)
        self._choice(c, "type", "channel", {"O", "P"}, required=True)
        self._str(c, "header", "channel", max_runes=1024)
        self._str(c, "purpose", "channel", max_runes=250)
        self._scheme_ref(c, "channel")
        self._int(c, "deleted_at", "channel")
        if team and name:
            self.channels.add((team.lower(), name.lower()))

    def _username(self, obj: dict, where: str) -> str | None:
        username = self._str(obj, "username", where, required=True, max_bytes=64)
        if username is None:
            return None
        if not rules.is_valid_username(username.lower()):  # the importer lower-cases it first
            self.error(
                f"{where}.username.invalid",
                f"{where}: username {username!r} must be 1-64 of a-z, 0-9, '.', '-', '_', and not one of "
                f"{', '.join(sorted(rules.RESTRICTED_USERNAMES))}",
            )
        self._once("user", username, where)
        return username

    def _profile_image(self, obj: dict, where: str) -> None:
        image = obj.get("profile_image")
        if image is None:
            return
        if not isinstance(image, str) or not _safe_relative(image):
            self.error(
                f"{where}.profile_image.path",
                f"{where}: profile_image {image!r} must be a relative path without '..'",
            )
        else:
            self.files.append((self._line, "profile_image", image))

    def _user(self, u: dict) -> None:
        username = self._username(u, "user")
        self._profile_image(u, "user")
        email = self._str(u, "email", "user", required=True, max_bytes=128)
        if email is not None and not email:
            self.error("user.email.length", "user: email must not be empty")
        elif email is not None and not rules.is_valid_email(email.lower()):  # lower-cased, then User.IsValid
            self.error(
                "user.email.invalid",
                f"user {username!r}: {email!r} is not an e-mail address Mattermost accepts",
            )
        locale = self._str(u, "locale", "user")
        if locale is not None and not rules.is_valid_locale(locale):
            self.error(
                "user.locale.invalid",
                f"user {username!r}: locale {locale!r} is not a language tag of at most 5 characters (IsValidLocale)",
            )
        self._custom_status(u.get("custom_status"), username)
        service, data = u.get("auth_service") or "", u.get("auth_data") or ""
        if bool(service) != bool(data):
            self.error("user.auth.dependency", f"user {username!r}: auth_service and auth_data go together")
        if service not in AUTH_SERVICES:
            self.error("user.auth_service.invalid", f"user {username!r}: unknown auth_service {service!r}")
        self._str(u, "auth_data", "user", max_bytes=128)
        for key in ("nickname", "first_name", "last_name"):
            self._str(u, key, "user", max_runes=64)
        self._str(u, "position", "user", max_runes=128)
        self._roles_string(u.get("roles"), "user")
        self._int(u, "delete_at", "user")
        notify = u.get("notify_props")
        if isinstance(notify, dict):
            for key, allowed in USER_NOTIFY_CHOICES.items():
                self._choice(notify, key, "user.notify_props", allowed)
        for key in USER_TRUE_FALSE_PREFS:
            self._choice(u, key, "user", TRUE_FALSE)
        self._choice(u, "email_interval", "user", EMAIL_INTERVALS)
        for team in self._list(u, "teams", "user") or []:
            self._user_team(team, username)
        if username:
            self.users.add(username.lower())

    def _custom_status(self, status: Any, username: str | None) -> None:
        """``model.CustomStatus``: strings, and ``expires_at`` a Go ``time.Time`` (RFC 3339): anything
        else fails to decode and the import stops at the line."""
        status = self._strings_object(status, ("emoji", "text", "duration"), "user.custom_status")
        if status is None:
            return
        expires = status.get("expires_at")
        if expires is not None and not (isinstance(expires, str) and rules.is_rfc3339(expires)):
            self.error(
                "user.custom_status.expires_at.invalid",
                f"user {username!r}: custom_status.expires_at {expires!r} is not an RFC 3339 time",
            )

    def _user_team(self, team: Any, username: str | None) -> None:
        if not isinstance(team, dict):
            self.error("user.teams.type", "user: each team membership must be an object")
            return
        name = self._str(team, "name", "user.teams", required=True)
        if name is not None:
            name = name.lower()
        if name is not None and self.strict and name not in self.teams:
            self.error(
                "user.teams.unknown", f"user {username!r}: team {name!r} is not defined by an earlier line"
            )
        self._roles_string(team.get("roles"), "user.teams")
        theme = team.get("theme")
        if isinstance(theme, str) and theme.strip():
            try:
                decoded = json.loads(theme)  # a Go map[string]string
                if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
                    raise ValueError
            except ValueError:
                self.error("user.teams.theme.invalid", f"user {username!r}: team theme must be a JSON object")
        for channel in self._list(team, "channels", "user.teams") or []:
            if not isinstance(channel, dict):
                self.error("user.channels.type", "user: each channel membership must be an object")
                continue
            cname = self._str(channel, "name", "user.channels", required=True)
            if cname is not None:
                cname = cname.lower()
            if cname is not None and name is not None:
                if self.strict and (name, cname) not in self.channels:
                    self.error(
                        "user.channels.unknown",
                        f"user {username!r}: channel {name}/{cname} is not defined by an earlier line",
                    )
                if username:
                    self.members.add((name, cname, username.lower()))
            self._roles_string(channel.get("roles"), "user.channels")
            notify = channel.get("notify_props")
            if isinstance(notify, dict):
                self._choice(notify, "desktop", "user.channels.notify_props", CHANNEL_NOTIFY_LEVELS)
                self._choice(notify, "mobile", "user.channels.notify_props", CHANNEL_NOTIFY_LEVELS)
                self._choice(notify, "mark_unread", "user.channels.notify_props", {"all", "mention"})

    def _bot(self, b: dict) -> None:
        username = self._username(b, "bot")
        self._profile_image(b, "bot")
        owner = self._str(b, "owner", "bot", required=True)
        if owner is not None and not rules.is_valid_username(owner):  # ValidateBotImportData: not lower-cased
            self.error(
                "bot.owner.invalid",
                f"bot {username!r}: owner {owner!r} must be a valid username or plugin id (IsValidUsername)",
            )
        elif (
            owner is not None
            and self.strict
            and owner.lower() not in self.users
            and owner.lower() not in self.bots
            and "." not in owner
        ):
            self.warning(
                "bot.owner.unknown",
                f"bot {username!r}: owner {owner!r} is neither an exported user nor a plugin id",
            )
        self._str(b, "display_name", "bot", max_runes=64)
        self._str(b, "description", "bot", max_runes=1024)
        self._int(b, "delete_at", "bot")
        if username:
            self.bots.add(username.lower())

    def _post_common(
        self, p: dict, where: str, *, members: set[str] | None, team_channel: tuple | None
    ) -> None:
        """Keys shared by post, direct_post and reply objects."""
        user = self._str(p, "user", where, required=True)
        self._username_ref(user, where)
        post_type = self._str(p, "type", where)
        if post_type is not None and not rules.is_valid_post_type(post_type):
            self.error(
                f"{where}.type.invalid",
                f"{where}: type {post_type!r} is neither one of Mattermost's post types nor custom_... (Post.IsValid)",
            )
        self._str(p, "message", where, required=where != "reply", max_runes=MAX_POST_RUNES)
        create_at = self._int(p, "create_at", where, required=True, nonzero=True)
        self._int(p, "edit_at", where)
        self._int(p, "delete_at", where)
        props = p.get("props")
        if props is not None:
            if not isinstance(props, dict):
                self.error(f"{where}.props.type", f"{where}: props must be an object")
            elif _runes(json.dumps(props, ensure_ascii=False, separators=(",", ":"))) > MAX_PROPS_RUNES:
                self.error(f"{where}.props.length", f"{where}: props exceed {MAX_PROPS_RUNES} runes")
        for flagger in self._list(p, "flagged_by", where) or []:
            if members is not None:
                if flagger not in members:
                    self.error(
                        f"{where}.flagged_by.not_member",
                        f"{where}: {flagger!r} flagged the post but is not one of its channel members",
                    )
            elif (
                team_channel is not None
                and self.strict
                and str(flagger).lower() not in self.bots
                and (*team_channel, str(flagger).lower()) not in self.members
            ):  # bots have no membership lines
                self.warning(
                    f"{where}.flagged_by.not_member",
                    f"{where}: {flagger!r} flagged the post but is not a member of "
                    f"{team_channel[0]}/{team_channel[1]}",
                )
        for reaction in self._list(p, "reactions", where) or []:
            self._reaction(reaction, create_at, where)
        for attachment in self._list(p, "attachments", where) or []:
            path = attachment.get("path") if isinstance(attachment, dict) else None
            if not isinstance(path, str) or not _safe_relative(path):
                self.error(
                    f"{where}.attachments.path",
                    f"{where}: attachment path {path!r} must be a relative path without '..'",
                )
            else:
                self.files.append((self._line, "attachment", path))

    def _reaction(self, r: Any, post_create_at: int | None, where: str) -> None:
        if not isinstance(r, dict):
            self.error(f"{where}.reactions.type", f"{where}: each reaction must be an object")
            return
        user = self._str(r, "user", f"{where}.reaction", required=True)
        self._username_ref(user, f"{where}.reaction")
        self._str(r, "emoji_name", f"{where}.reaction", required=True, max_runes=64)
        create_at = self._int(r, "create_at", f"{where}.reaction", required=True, nonzero=True)
        if create_at and post_create_at and create_at < post_create_at:
            self.error(
                f"{where}.reaction.before_post",
                f"{where}: reaction by {user!r} at {create_at} is older than its post ({post_create_at})",
            )

    def _thread(self, p: dict, where: str, *, members: set[str] | None, team_channel: tuple | None) -> None:
        self._post_common(p, where, members=members, team_channel=team_channel)
        root_create_at = p.get("create_at") if isinstance(p.get("create_at"), int) else None
        for reply in self._list(p, "replies", where) or []:
            if not isinstance(reply, dict):
                self.error(f"{where}.replies.type", f"{where}: each reply must be an object")
                continue
            self._post_common(reply, "reply", members=members, team_channel=team_channel)
            if "message" not in reply:
                self.error("reply.message.missing", "reply: 'message' is required")
            created = reply.get("create_at")
            if isinstance(created, int) and root_create_at and created < root_create_at:
                self.warning(
                    "reply.before_root",
                    f"{where}: reply at {created} is older than its root ({root_create_at})",
                )
        for follower in self._list(p, "thread_followers", where) or []:
            if not isinstance(follower, dict) or not isinstance(follower.get("user"), str):
                self.error(f"{where}.thread_followers.user", f"{where}: each thread follower needs a 'user'")

    def _post(self, p: dict) -> None:
        team = self._str(p, "team", "post", required=True)
        channel = self._str(p, "channel", "post", required=True)
        if (
            team is not None
            and channel is not None
            and self.strict
            and (team.lower(), channel.lower()) not in self.channels
        ):
            self.error(
                "post.channel.unknown", f"post: channel {team}/{channel} is not defined by an earlier line"
            )
        team_channel = (team.lower(), channel.lower()) if team is not None and channel is not None else None
        self._thread(p, "post", members=None, team_channel=team_channel)

    def _members_of(self, obj: dict, where: str) -> list[str] | None:
        names = obj.get("channel_members") if where == "direct_post" else None
        if where == "direct_channel":
            participants = obj.get("participants")
            if participants is not None:
                if not isinstance(participants, list):
                    self.error(
                        "direct_channel.participants.type", "direct_channel: participants must be a list"
                    )
                    return None
                names = [p.get("username") if isinstance(p, dict) else None for p in participants]
            else:
                names = obj.get("members")
        key = "channel_members" if where == "direct_post" else "participants (or members)"
        if names is None:
            self.error(f"{where}.members.missing", f"{where}: '{key}' is required")
            return None
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            self.error(f"{where}.members.type", f"{where}: '{key}' must be a list of usernames")
            return None
        if not (len(names) == 2 or 3 <= len(names) <= 8):
            # import.go stopOnError: the server skips a direct_channel line with too few or too many
            # members (and goes on); a direct_post line with them stops the import.
            report = self.warning if where == "direct_channel" else self.error
            skipped = ": the server skips the line" if where == "direct_channel" else ""
            report(
                f"{where}.members.count",
                f"{where}: {len(names)} members; a direct channel has 2, a group channel 3 to 8{skipped}",
            )
        for name in names:
            self._username_ref(name, where)
        return names

    def _direct_channel(self, d: dict) -> None:
        names = self._members_of(d, "direct_channel")
        self._str(d, "header", "direct_channel", max_runes=1024)
        if names is None:
            return
        members = set(names)
        # favorited_by: ValidateDirectChannelImportData; shown_by: importDirectChannel looks the
        # name up among the members (import_functions.go), a non-member fails the line.
        for key in ("favorited_by", "shown_by"):
            for name in self._list(d, key, "direct_channel") or []:
                if name not in members:
                    self.error(
                        f"direct_channel.{key}.not_member",
                        f"direct_channel: {name!r} in {key} is not a member",
                    )
        self.direct_channels.add(frozenset(names))

    def _direct_post(self, p: dict) -> None:
        names = self._members_of(p, "direct_post")
        members = set(names) if names is not None else None
        if names is not None and self.strict and frozenset(names) not in self.direct_channels:
            self.warning(
                "direct_post.channel.unknown",
                f"direct_post: no direct_channel line has the members {sorted(members or [])}",
            )
        if members is not None and isinstance(p.get("user"), str) and p["user"] not in members:
            self.warning(
                "direct_post.user.not_member", f"direct_post: author {p['user']!r} is not a channel member"
            )
        self._thread(p, "direct_post", members=members, team_channel=None)

    def _emoji(self, e: dict) -> None:
        name = self._str(e, "name", "emoji", required=True, max_runes=64)
        if name is not None and (not name or not _EMOJI_NAME.match(name)):
            self.error(
                "emoji.name.invalid", f"emoji: name {name!r} may hold letters, digits, '-', '+' and '_'"
            )
        if name is not None:
            self._once("emoji", name, "emoji")
        image = self._str(e, "image", "emoji", required=True)
        if image is not None:
            if not image or not _safe_relative(image):
                self.error("emoji.image.path", f"emoji: image {image!r} must be a relative path without '..'")
            else:
                self.files.append((self._line, "emoji", image))


def validate_lines(
    lines: Iterable[str | bytes], *, strict: bool = True, max_findings: int = MAX_FINDINGS
) -> ImportValidator:
    """Validate an iterable of lines; returns the validator (``.report`` holds the result)."""
    validator = ImportValidator(strict=strict, max_findings=max_findings)
    for raw in lines:
        validator.feed(raw.rstrip(b"\r\n") if isinstance(raw, bytes) else raw.rstrip("\r\n"))
    if validator.report.lines == 0:
        validator.error("file.empty", "the file has no lines (a version line is required)")
    return validator
