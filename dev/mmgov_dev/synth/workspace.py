"""Teams, channels and who was a member when: the skeleton every post is placed in.

Membership is decided before any post exists: each (channel, user) gets one or two history
intervals, and each interval a posting window clipped to the user's deactivation, the channel's
archiving and the end of the span. Posts are later placed only inside windows, which is what
keeps ``channelmemberhistory`` consistent with every author.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from mmgov_dev.synth.config import ResolvedConfig
from mmgov_dev.synth.files import EMOJI_PNG, EMOJI_SVG, TINY_GIF
from mmgov_dev.synth.model import (
    DAY,
    HOUR,
    MINUTE,
    Channel,
    Emoji,
    Membership,
    Team,
    TeamMember,
    User,
    Workspace,
)
from mmgov_dev.synth.people import build_bots, build_users
from mmgov_dev.synth.vocabulary import (
    ARCHIVED_CHANNELS,
    CUSTOM_EMOJI,
    HEADERS,
    PRIVATE_CHANNELS,
    PUBLIC_CHANNELS,
    PURPOSES,
    TEAMS,
)

MIN_WINDOW = 10 * MINUTE
LEAVE_RATE = 0.06
REJOIN_RATE = 0.4
DM_SHARE = 0.25


def dm_name(a: str, b: str) -> str:
    """A direct channel's name: both user ids sorted, joined by ``__``."""
    return "__".join(sorted((a, b)))


def gm_name(ids: list[str]) -> str:
    """A group channel's name: sha1 hex of the sorted member ids, concatenated."""
    return hashlib.sha1("".join(sorted(ids)).encode()).hexdigest()


def gm_display_name(usernames: list[str]) -> str:
    """A group channel's display name, as Mattermost builds it (sorted, truncated to 64)."""
    return ", ".join(sorted(usernames))[:64]


class _Builder:
    def __init__(self, cfg: ResolvedConfig, rng: random.Random, new_id: Callable[[], str]) -> None:
        self.cfg, self.rng, self.new_id = cfg, rng, new_id
        self.start, self.end = cfg.start_ms, cfg.end_ms
        self.span = self.end - self.start

    # -- teams -----------------------------------------------------------------------------
    def teams(self, humans: list[User], bots: list[User]) -> list[Team]:
        rng, admin = self.rng, humans[0]
        teams: list[Team] = []
        for k in range(self.cfg.teams):
            name, display, description = TEAMS[k % len(TEAMS)]
            if k >= len(TEAMS):
                name, display = f"{name}-{k // len(TEAMS) + 1}", f"{display} {k // len(TEAMS) + 1}"
            team = Team(
                id=self.new_id(),
                name=name,
                displayname=display,
                description=description,
                type="O" if k % 2 == 0 else "I",
                createat=self.start + MINUTE + k * HOUR,
            )
            team.members.append(TeamMember(admin, team.createat, admin=True))
            teams.append(team)
        guest_team = {u.id: rng.randrange(len(teams)) for u in humans if u.is_guest}
        for u in humans[1:]:
            for k, team in enumerate(teams):
                joined = guest_team[u.id] == k if u.is_guest else (k == 0 or rng.random() < 0.45)
                if joined:
                    team.members.append(TeamMember(u, self._team_join(team, u), admin=u.is_admin))
        for b in bots:
            for k, team in enumerate(teams):
                if k == 0 or rng.random() < 0.3:
                    team.members.append(TeamMember(b, max(team.createat, b.createat) + MINUTE))
        # Some users leave a team (teammembers.deleteat); at least one does.
        candidates = [
            (team, m)
            for team in (teams[1:] or teams)
            for m in team.members
            if not (m.user.is_bot or m.user.is_guest or m.user.is_admin or m.user.deleteat)
            and self.end - m.join > 8 * DAY
        ]
        leavers = [c for c in candidates if rng.random() < 0.05] or candidates[:1]
        for _team, m in leavers:
            m.leave = m.join + int((0.3 + 0.6 * rng.random()) * (self.end - m.join - 2 * DAY))
        return teams

    def _team_join(self, team: Team, u: User) -> int:
        base = max(team.createat, u.createat) + MINUTE
        limit = (u.deleteat or self.end) - 4 * DAY
        join = base + int(self.rng.expovariate(1 / (6 * HOUR)))
        return join if join < limit else base

    # -- channels --------------------------------------------------------------------------
    def team_channels(self, team: Team, k: int) -> list[Channel]:
        rng, admin = self.rng, team.members[0].user
        chans = [
            self._channel(team, "O", "town-square", "Town Square", team.createat, admin),
            self._channel(team, "O", "off-topic", "Off-Topic", team.createat, admin),
        ]
        extra = self.cfg.channels_per_team
        kinds = ["O", "P", "A"][:extra]
        while len(kinds) < extra:
            r = rng.random()
            kinds.append("O" if r < 0.68 else ("P" if r < 0.9 else "A"))
        used: dict[str, int] = {}
        for j, kind in enumerate(kinds):
            pool = {"O": PUBLIC_CHANNELS, "P": PRIVATE_CHANNELS, "A": ARCHIVED_CHANNELS}[kind]
            n = used.get(kind, 0)
            used[kind] = n + 1
            name, display = pool[(n + k * 3) % len(pool)]
            if n >= len(pool):
                name, display = f"{name}-{n // len(pool) + 1}", f"{display} {n // len(pool) + 1}"
            if kind == "A":
                createat = team.createat + HOUR + int(rng.random() * 0.25 * self.span)
            else:
                createat = team.createat + HOUR + int(rng.random() * 0.45 * self.span)
            creator = self._creator(team, createat)
            ch_type = ("O" if j % 2 else "P") if kind == "A" else kind
            ch = self._channel(team, ch_type, name, display, createat, creator)
            if kind == "A":
                ch.deleteat = createat + int((0.35 + 0.4 * rng.random()) * (self.end - createat))
                ch.end = ch.deleteat - 1
            chans.append(ch)
        return chans

    def _channel(
        self, team: Team | None, typ: str, name: str, display: str, at: int, creator: User
    ) -> Channel:
        rng = self.rng
        return Channel(
            id=self.new_id(),
            team=team,
            type=typ,
            name=name,
            displayname=display,
            createat=at,
            creator=creator,
            end=self.end - 1,
            header=rng.choice(HEADERS) if team is not None else "",
            purpose=rng.choice(PURPOSES) if team is not None else "",
        )

    def _creator(self, team: Team, at: int) -> User:
        able = [
            m.user
            for m in team.members
            if m.join <= at
            and not (m.user.is_bot or m.user.is_guest)
            and (m.leave == 0 or m.leave > at + DAY)
            and (m.user.deleteat == 0 or m.user.deleteat > at + DAY)
        ]
        return self.rng.choice(able) if able else team.members[0].user

    def memberships(self, team: Team, chans: list[Channel], k: int) -> None:
        rng = self.rng
        members = team.members
        humans = [m for m in members if not m.user.is_bot and not m.user.is_guest]
        extras = chans[2:]
        # Guests join two channels of their team; bots a couple of public ones.
        picks: dict[int, list[TeamMember]] = {id(c): [] for c in chans}
        for m in members:
            if m.user.is_guest and extras:
                for c in rng.sample(extras, min(2, len(extras))):
                    picks[id(c)].append(m)
            elif m.user.is_bot:
                public = [c for c in extras if c.type == "O" and c.deleteat == 0]
                for c in rng.sample(public, min(2, len(public))):
                    picks[id(c)].append(m)
        for j, ch in enumerate(chans):
            if j == 0:
                chosen = [m for m in members if not m.user.is_guest]
            elif j == 1:
                chosen = [m for m in humans if m.user is ch.creator or rng.random() < 0.85]
            else:
                ratio = (0.03 + 0.17 * rng.random()) if ch.type == "P" else (0.05 + 0.35 * rng.random())
                if j in (2, 4) and ch.deleteat == 0:
                    ratio = 0.6
                chosen = [m for m in humans if m.user is ch.creator or rng.random() < ratio]
                chosen += picks[id(ch)]
            forced = 0
            for m in chosen:
                # Force a leave-and-rejoin and a plain leave in the first team's off-topic.
                force = 0
                if k == 0 and j == 1 and m.user is not ch.creator and not m.user.deleteat and forced < 2:
                    forced += 1
                    force = forced
                self._member(ch, m, auto=j < 2, force=force)
            ch.history.sort(key=lambda h: (h.join, h.user.idx))

    def _member(self, ch: Channel, m: TeamMember, *, auto: bool, force: int) -> None:
        rng, u = self.rng, m.user
        hard_end = min(m.leave or self.end, u.deleteat or self.end, ch.deleteat or self.end)
        if u is ch.creator:
            join = ch.createat
        elif auto:
            join = max(m.join, ch.createat)
        else:
            join = max(ch.createat, m.join, u.createat) + MINUTE + int(rng.expovariate(1 / (4 * DAY)))
        if join > hard_end - 3 * HOUR:
            if not auto:
                return
            join = max(m.join, ch.createat)
        rows = [Membership(u, join)]
        can_leave = ch.name != "town-square" and not u.is_bot and hard_end - join > 6 * HOUR
        if can_leave and (force or rng.random() < LEAVE_RATE):
            leave = join + HOUR + int(rng.random() * (hard_end - join - 4 * HOUR))
            rows[0].leave = leave
            if (force == 1 or (not force and rng.random() < REJOIN_RATE)) and hard_end - leave > 3 * HOUR:
                rows.append(Membership(u, leave + HOUR + int(rng.random() * (hard_end - leave - 2 * HOUR))))
        last = rows[-1]
        if last.leave is None and m.leave and (ch.deleteat == 0 or m.leave < ch.deleteat):
            last.leave = m.leave  # leaving a team leaves its channels
        ch.history.extend(rows)

    # -- direct and group messages ---------------------------------------------------------
    def direct_channels(self, humans: list[User], bots: list[User]) -> tuple[list[Channel], dict[str, str]]:
        rng = self.rng
        admin = humans[0]
        active = [u for u in humans if not u.deleteat]
        deact = [u for u in humans if u.deleteat]
        pairs: list[tuple[User, User]] = [(admin, admin), (deact[0], rng.choice(active[1:]))]
        live_bot = next((b for b in bots if not b.deleteat), bots[-1])
        pairs.append((live_bot, admin))
        seen = {dm_name(a.id, b.id) for a, b in pairs}
        while len(pairs) < self.cfg.dms:
            a, b = rng.sample(humans, 2)
            if dm_name(a.id, b.id) not in seen:
                seen.add(dm_name(a.id, b.id))
                pairs.append((a, b))
        chans: list[Channel] = []
        for a, b in pairs:
            at = self._private_start([a, b])
            ch = self._channel(None, "D", dm_name(a.id, b.id), "", at, a)
            ch.history = [Membership(a, at)] + ([Membership(b, at)] if b is not a else [])
            chans.append(ch)
        handles = {"self_dm_channel_id": chans[0].id, "dm_with_deactivated_channel_id": chans[1].id}
        handles["bot_dm_channel_id"] = chans[2].id
        handles["dm_channel_id"] = chans[3].id if len(chans) > 3 else chans[1].id

        sizes = [8, 3, 3] + [rng.randint(3, 8) for _ in range(self.cfg.gms - 3)]
        names: set[str] = set()
        for size in sizes:
            for _try in range(20):
                group = rng.sample(active, size)
                name = gm_name([u.id for u in group])
                if name not in names:
                    break
            else:
                continue
            names.add(name)
            at = self._private_start(group)
            display = gm_display_name([u.username for u in group])
            ch = self._channel(None, "G", name, display, at, group[0])
            ch.history = [Membership(u, at) for u in group]
            chans.append(ch)
        gms = [c for c in chans if c.type == "G"]
        handles["gm8_channel_id"] = gms[0].id
        handles["gm_channel_id"] = gms[1].id
        return chans, handles

    def _private_start(self, users: list[User]) -> int:
        base = max(u.createat for u in users) + HOUR
        limit = min(u.deleteat or self.end for u in users) - DAY
        return base + int(self.rng.random() * 0.5 * max(0, limit - base))

    # -- windows and weights ---------------------------------------------------------------
    def windows(self, ch: Channel) -> None:
        for h in ch.history:
            u = h.user
            ws = h.join + 1
            we = min(h.leave if h.leave is not None else self.end, u.deleteat or self.end, ch.end + 1) - 1
            if we - ws < MIN_WINDOW:
                continue
            (ch.bot_windows if u.is_bot else ch.windows).append((u, ws, we))
        total = 0.0
        for u, ws, we in ch.windows:
            total += (we - ws) * u.activity
            ch.wcum.append(total)
        latest: dict[str, Membership] = {}
        for h in ch.history:
            latest[h.user.id] = h
        ch.current = [h for h in latest.values() if h.leave is None]

    def emoji(self, humans: list[User]) -> list[Emoji]:
        rng = self.rng
        n = min(len(CUSTOM_EMOJI), 5 + len(humans) // 300)
        out: list[Emoji] = []
        creators = [u for u in humans if not u.deleteat and not u.is_guest]
        for i in range(n):
            creator = rng.choice(creators)
            at = creator.createat + HOUR + int(rng.random() * 0.2 * self.span)
            image = (EMOJI_PNG, TINY_GIF, EMOJI_SVG)[i % 3]
            out.append(Emoji(self.new_id(), CUSTOM_EMOJI[i], creator, at, 0, image))
        last = out[-1]
        last.deleteat = last.createat + int(0.5 * (self.end - last.createat))
        return out


def channel_weights(channels: list[Channel], rng: random.Random) -> list[float]:
    """Relative post volume per channel: a few busy channels, DMs/GMs a quarter of the traffic."""
    team_w: list[float] = []
    direct_w: list[float] = []
    for ch in channels:
        if not ch.windows:
            team_w.append(0.0)
            direct_w.append(0.0)
            continue
        if ch.team is None:
            team_w.append(0.0)
            direct_w.append(rng.lognormvariate(0.0, 1.0))
            continue
        rank = 1 + rng.random() * 12
        w = (3.0 if ch.name == "town-square" else 1.0) * (len(ch.windows) ** 0.5) / rank
        if ch.deleteat:
            w *= 0.5
        team_w.append(w)
        direct_w.append(0.0)
    st, sd = sum(team_w) or 1.0, sum(direct_w) or 1.0
    return [(1 - DM_SHARE) * t / st + DM_SHARE * d / sd for t, d in zip(team_w, direct_w, strict=True)]


def build_workspace(cfg: ResolvedConfig, rng: random.Random, new_id: Callable[[], str]) -> Workspace:
    """Users, bots, teams, channels, memberships and emoji for ``cfg``."""
    b = _Builder(cfg, rng, new_id)
    humans = build_users(cfg.users, rng, new_id, cfg.start_ms, cfg.end_ms)
    bots = build_bots(cfg.bots, humans, rng, new_id)
    bot_users = [x.user for x in bots]
    teams = b.teams(humans, bot_users)
    channels: list[Channel] = []
    for k, team in enumerate(teams):
        chans = b.team_channels(team, k)
        b.memberships(team, chans, k)
        channels.extend(chans)
    direct, handles = b.direct_channels(humans, bot_users)
    channels.extend(direct)
    for ch in channels:
        b.windows(ch)
    emoji = b.emoji(humans)
    ws = Workspace(cfg.start_ms, cfg.end_ms, humans + bot_users, bots, teams, channels, emoji)
    deact = [u for u in humans if u.deleteat]
    first = [c for c in channels if c.team is teams[0]]
    ws.handles = {
        "admin_user_id": humans[0].id,
        "guest_user_id": next(u.id for u in humans if u.is_guest),
        "deactivated_user_id": deact[0].id,
        "auth_user_id": next(u.id for u in humans if u.authservice),
        "bot_user_id": bot_users[1].id,
        "bot_owned_by_deactivated_user_id": bot_users[0].id,
        "town_square_channel_id": first[0].id,
        "off_topic_channel_id": first[1].id,
        "public_channel_id": next(c.id for c in first[2:] if c.type == "O" and not c.deleteat),
        "private_channel_id": next(c.id for c in first if c.type == "P" and not c.deleteat),
        "archived_channel_id": next(c.id for c in first if c.deleteat),
        **handles,
    }
    for k, team in enumerate(teams):
        ws.handles[f"team_{k}_id"] = team.id
    return ws
