"""COPY column lists and text rows for the workspace tables (users, teams, channels, ...)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

from mmgov_dev.synth.copy_loader import NULL, esc, flag, opt
from mmgov_dev.synth.model import HOUR, Channel, Workspace
from mmgov_dev.synth.vocabulary import LOCALES, POSITIONS, TIMEZONES

USER_COLUMNS = (
    "id", "createat", "updateat", "deleteat", "username", "password", "authdata", "authservice", "email",
    "emailverified", "nickname", "firstname", "lastname", "roles", "allowmarketing", "props", "notifyprops",
    "lastpasswordupdate", "lastpictureupdate", "failedattempts", "locale", "mfaactive", "mfasecret",
    "position", "timezone", "remoteid", "lastlogin",
)  # fmt: skip
BOT_COLUMNS = ("userid", "description", "ownerid", "createat", "updateat", "deleteat", "lasticonupdate")
TEAM_COLUMNS = (
    "id", "createat", "updateat", "deleteat", "displayname", "name", "description", "email", "type",
    "companyname", "alloweddomains", "inviteid", "schemeid", "allowopeninvite", "lastteamiconupdate",
    "groupconstrained", "cloudlimitsarchived",
)  # fmt: skip
TEAM_MEMBER_COLUMNS = (
    "teamid", "userid", "roles", "deleteat", "schemeuser", "schemeadmin", "schemeguest", "createat",
)  # fmt: skip
CHANNEL_COLUMNS = (
    "id", "createat", "updateat", "deleteat", "teamid", "type", "displayname", "name", "header", "purpose",
    "lastpostat", "totalmsgcount", "extraupdateat", "creatorid", "schemeid", "groupconstrained", "shared",
    "totalmsgcountroot", "lastrootpostat", "bannerinfo", "defaultcategoryname",
)  # fmt: skip
CHANNEL_MEMBER_COLUMNS = (
    "channelid", "userid", "roles", "lastviewedat", "msgcount", "mentioncount", "notifyprops", "lastupdateat",
    "schemeuser", "schemeadmin", "schemeguest", "mentioncountroot", "msgcountroot", "urgentmentioncount",
)  # fmt: skip
HISTORY_COLUMNS = ("channelid", "userid", "jointime", "leavetime")
EMOJI_COLUMNS = ("id", "createat", "updateat", "deleteat", "creatorid", "name")
SYSTEM_COLUMNS = ("name", "value")

_BCRYPT = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_MEMBER_NOTIFY = (
    '{"desktop":"default","email":"default","ignore_channel_mentions":"default","mark_unread":"all",'
    '"push":"default"}'
)
_MEMBER_NOTIFY_MUTED = '{"desktop":"none","email":"default","ignore_channel_mentions":"on","mark_unread":"mention","push":"none"}'


def _notify_props(rng: random.Random, username: str) -> str:
    doc = {
        "auto_responder_active": "false",
        "auto_responder_message": "Hello, I am out of office and unable to respond to messages.",
        "channel": "true",
        "comments": rng.choice(("never", "root", "any")),
        "desktop": rng.choice(("mention", "mention", "all", "none")),
        "desktop_sound": "true",
        "desktop_threads": "all",
        "email": rng.choice(("true", "true", "false")),
        "email_threads": "all",
        "first_name": "false",
        "mention_keys": f"{username},@{username}",
        "push": rng.choice(("mention", "mention", "all", "none")),
        "push_status": "away",
        "push_threads": "all",
    }
    if rng.random() < 0.05:
        doc["auto_responder_active"] = "true"
        doc["auto_responder_message"] = 'Out of office — back Monday. "Urgent"? Call +49 30 1234, thanks!'
    return esc(json.dumps(doc, ensure_ascii=False))


def user_lines(ws: Workspace, rng: random.Random) -> Iterator[str]:
    """``users`` rows (bots included); passwords are fake bcrypt-looking hashes."""
    first_mfa = next(u for u in ws.users[1:] if not u.authservice)
    for u in ws.users:
        sso = bool(u.authservice)
        password = "" if u.is_bot or sso else "$2a$10$" + "".join(rng.choices(_BCRYPT, k=53))
        mfa = u is first_mfa or (not u.is_bot and not sso and rng.random() < 0.1)
        secret = "".join(rng.choices(_BASE32, k=32)) if mfa else ""
        picture = u.createat + HOUR if u.has_picture else 0
        end = u.deleteat or ws.end
        lastlogin = (
            0 if u.is_bot or rng.random() < 0.05 else u.createat + int(rng.random() * (end - u.createat))
        )
        props = "{}"
        if not u.is_bot and rng.random() < 0.08:
            status = {"emoji": "palm_tree", "text": "On vacation 🌴", "duration": "date_and_time"}
            props = esc(
                json.dumps({"customStatus": json.dumps(status, ensure_ascii=False)}, ensure_ascii=False)
            )
        tz = rng.choice(TIMEZONES)
        timezone = f'{{"automaticTimezone":"{tz}","manualTimezone":"","useAutomaticTimezone":"true"}}'
        fields = (
            u.id,
            str(u.createat),
            str(max(u.createat, picture, u.deleteat)),
            str(u.deleteat),
            u.username,
            password,
            opt(u.authdata),
            u.authservice,
            u.email,
            flag(u.is_bot or not (u.is_guest and rng.random() < 0.5)),
            esc(u.nickname),
            esc(u.firstname),
            esc(u.lastname),
            u.roles,
            flag(rng.random() < 0.3),
            props,
            _notify_props(rng, u.username),
            str(u.createat),
            str(picture),
            str(rng.choice((0, 0, 0, 0, 1, 2))),
            "en" if u.is_bot else rng.choice(LOCALES),
            flag(mfa),
            secret,
            "" if u.is_bot else esc(rng.choice(POSITIONS)),
            timezone,
            NULL,
            str(lastlogin),
        )
        yield "\t".join(fields) + "\n"


def bot_lines(ws: Workspace) -> Iterator[str]:
    """``bots`` rows."""
    for b in ws.bots:
        u = b.user
        yield f"{u.id}\t{esc(b.description)}\t{b.owner.id}\t{u.createat}\t{max(u.createat, u.deleteat)}\t{u.deleteat}\t0\n"


def team_lines(ws: Workspace, rng: random.Random) -> Iterator[str]:
    """``teams`` rows."""
    for t in ws.teams:
        invite = f"{rng.getrandbits(128):032x}"
        fields = (
            t.id, str(t.createat), str(t.createat), "0", esc(t.displayname), t.name, esc(t.description),
            f"admin@{t.name}.example.com", t.type, "", "", invite, opt(t.schemeid), flag(t.type == "O"), "0",
            "f", "f",
        )  # fmt: skip
        yield "\t".join(fields) + "\n"


def team_member_lines(ws: Workspace) -> Iterator[str]:
    """``teammembers`` rows (``deleteat`` > 0 for ex-members)."""
    for t in ws.teams:
        for m in t.members:
            u = m.user
            yield (
                f"{t.id}\t{u.id}\t\t{m.leave}\t{flag(not u.is_guest)}\t{flag(m.admin)}\t{flag(u.is_guest)}\t{m.join}\n"
            )


def channel_lines(ws: Workspace) -> Iterator[str]:
    """``channels`` rows, with the post statistics gathered while streaming."""
    for c in ws.channels:
        fields = (
            c.id, str(c.createat), str(max(c.createat, c.header_at, c.deleteat)), str(c.deleteat), c.teamid,
            c.type, esc(c.displayname), c.name, esc(c.header), esc(c.purpose), str(c.lastpostat), str(c.total),
            "0", c.creator.id, opt(c.schemeid), "f", "f", str(c.totalroot), str(c.lastrootpostat), NULL, "",
        )  # fmt: skip
        yield "\t".join(fields) + "\n"


def _viewed(c: Channel, rng: random.Random, join: int) -> tuple[int, int, int]:
    """(lastviewedat, msgcount, msgcountroot) of a member: most have read everything."""
    if rng.random() < 0.7 or c.lastpostat <= join:
        return max(c.lastpostat, join), c.total, c.totalroot
    seen = rng.random()
    return join + int(seen * (c.lastpostat - join)), int(c.total * seen), int(c.totalroot * seen)


def channel_member_lines(ws: Workspace, rng: random.Random) -> Iterator[str]:
    """``channelmembers`` rows: exactly the users whose latest history interval is open."""
    for c in ws.channels:
        for h in c.current:
            u = h.user
            viewed, msgs, roots = _viewed(c, rng, h.join)
            notify = _MEMBER_NOTIFY_MUTED if rng.random() < 0.05 else _MEMBER_NOTIFY
            admin = u is c.creator and c.team is not None and not u.is_guest
            yield (
                f"{c.id}\t{u.id}\t\t{viewed}\t{msgs}\t0\t{notify}\t{h.join}\t{flag(not u.is_guest)}\t{flag(admin)}\t"
                f"{flag(u.is_guest)}\t0\t{roots}\t0\n"
            )


def history_lines(ws: Workspace) -> Iterator[str]:
    """``channelmemberhistory`` rows (leavetime NULL = still a member)."""
    for c in ws.channels:
        for h in c.history:
            leave = NULL if h.leave is None else str(h.leave)
            yield f"{c.id}\t{h.user.id}\t{h.join}\t{leave}\n"


def emoji_lines(ws: Workspace) -> Iterator[str]:
    """``emoji`` rows (one deleted)."""
    for e in ws.emoji:
        yield f"{e.id}\t{e.createat}\t{max(e.createat, e.deleteat)}\t{e.deleteat}\t{e.creator.id}\t{e.name}\n"


def system_lines(ws: Workspace, marker: dict[str, object], diagnostic_id: str) -> Iterator[str]:
    """``systems`` rows, including ``MmgovSynth`` (the generator's parameters) as a marker."""
    rows = (
        ("Version", "11.7.0"),  # the release whose schema the workspace has (mattermost-schema.json)
        ("DiagnosticId", diagnostic_id),
        ("InstallationDate", str(ws.start)),
        ("FirstServerRunTimestamp", str(ws.start)),
        ("AdvancedPermissionsMigrationComplete", "true"),
        ("LastSecurityTime", str(ws.end - 86_400_000)),
        ("MmgovSynth", json.dumps(marker, sort_keys=True)),
    )
    for name, value in rows:
        yield f"{name}\t{esc(value)}\n"
