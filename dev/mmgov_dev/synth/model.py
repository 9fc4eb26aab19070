"""The in-memory workspace the generator builds before streaming posts (small: no posts here)."""

from __future__ import annotations

from dataclasses import dataclass, field

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# A posting window: (user, first ms the user may post, last ms the user may post) in one channel.
Window = tuple["User", int, int]


@dataclass(slots=True, eq=False)
class User:
    """A ``users`` row (bots included)."""

    idx: int
    id: str
    username: str
    email: str
    firstname: str
    lastname: str
    nickname: str
    createat: int
    deleteat: int = 0
    roles: str = "system_user"
    is_bot: bool = False
    is_guest: bool = False
    is_admin: bool = False
    activity: float = 1.0
    authservice: str = ""
    authdata: str | None = None
    has_picture: bool = False


@dataclass(slots=True, eq=False)
class Bot:
    """A ``bots`` row; ``user`` is its ``users`` row."""

    user: User
    owner: User
    description: str


@dataclass(slots=True, eq=False)
class TeamMember:
    """A ``teammembers`` row; ``leave`` > 0 is an ex-member (``deleteat``)."""

    user: User
    join: int
    leave: int = 0
    admin: bool = False


@dataclass(slots=True, eq=False)
class Team:
    """A ``teams`` row with its members."""

    id: str
    name: str
    displayname: str
    description: str
    type: str
    createat: int
    schemeid: str | None = None
    members: list[TeamMember] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Membership:
    """A ``channelmemberhistory`` row (``leave`` None = still a member)."""

    user: User
    join: int
    leave: int | None = None


@dataclass(slots=True, eq=False)
class Channel:
    """A ``channels`` row, its membership history, posting windows and post statistics."""

    id: str
    team: Team | None
    type: str
    name: str
    displayname: str
    createat: int
    creator: User
    end: int
    deleteat: int = 0
    header: str = ""
    purpose: str = ""
    schemeid: str | None = None
    history: list[Membership] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    wcum: list[float] = field(default_factory=list)
    bot_windows: list[Window] = field(default_factory=list)
    current: list[Membership] = field(default_factory=list)
    lastpostat: int = 0
    total: int = 0
    totalroot: int = 0
    lastrootpostat: int = 0
    header_at: int = 0

    @property
    def teamid(self) -> str:
        return self.team.id if self.team is not None else ""


@dataclass(slots=True, eq=False)
class Emoji:
    """An ``emoji`` row; its image is ``emoji/<id>/image``."""

    id: str
    name: str
    creator: User
    createat: int
    deleteat: int
    image: bytes


@dataclass(eq=False)
class Workspace:
    """Everything but the posts and what hangs off them."""

    start: int
    end: int
    users: list[User]
    bots: list[Bot]
    teams: list[Team]
    channels: list[Channel]
    emoji: list[Emoji]
    handles: dict[str, str] = field(default_factory=dict)

    @property
    def humans(self) -> list[User]:
        return [u for u in self.users if not u.is_bot]
