"""Users and bots: admins, guests, deactivated users, SSO users, and bots with owners."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from mmgov_dev.synth.model import DAY, HOUR, MINUTE, Bot, User
from mmgov_dev.synth.vocabulary import BOTS, FIRST_NAMES, LAST_NAMES

USERNAME_MAX = 22
_AUTH_SERVICES = ("gitlab", "saml", "ldap")
_USERNAME_OK = re.compile(r"^[a-z][a-z0-9._-]*$")


def _username(rng: random.Random, first: str, last: str, taken: set[str]) -> str:
    pattern = rng.randrange(5)
    base = (f"{first}.{last}", f"{first}{last[0]}", f"{first}_{last}", f"{first}-{last}", first)[pattern]
    base = base[:USERNAME_MAX]
    name, n = base, 1
    while name in taken:
        n += 1
        suffix = str(n)
        name = base[: USERNAME_MAX - len(suffix)] + suffix
    assert _USERNAME_OK.match(name), name
    taken.add(name)
    return name


def build_users(n: int, rng: random.Random, new_id: Callable[[], str], start: int, end: int) -> list[User]:
    """``n`` human users; index 0 is the system admin ``sysadmin``."""
    span = end - start
    others = list(range(1, n))
    rng.shuffle(others)
    n_guest, n_deact, n_admin = max(2, n * 3 // 100), max(2, n * 4 // 100), max(1, n // 100)
    n_auth = max(3, n // 10)
    cut = [n_guest, n_guest + n_deact, n_guest + n_deact + n_admin, n_guest + n_deact + n_admin + n_auth]
    guests = set(others[: cut[0]])
    deact = set(others[cut[0] : cut[1]])
    admins = set(others[cut[1] : cut[2]]) | {0}
    auth = {i: _AUTH_SERVICES[k % 3] for k, i in enumerate(others[cut[2] : cut[3]])}
    taken = {"sysadmin"}
    users: list[User] = []
    for i in range(n):
        if i == 0:
            first, last, uname = ("System", "system"), ("Admin", "admin"), "sysadmin"
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            uname = _username(rng, first[1], last[1], taken)
        if i == 0:
            createat = start
        elif i in deact or rng.random() < 0.6:
            createat = start + MINUTE + int(rng.random() * 0.05 * span)
        else:
            createat = start + int((0.05 + 0.55 * rng.random()) * span)
        domain = "partner.example.org" if i in guests else "example.com"
        user = User(
            idx=i,
            id=new_id(),
            username=uname,
            email=f"{uname}@{domain}",
            firstname=first[0],
            lastname=last[0],
            nickname=first[0][:3].lower() if rng.random() < 0.2 else "",
            createat=createat,
            activity=rng.lognormvariate(0.0, 0.8),
            has_picture=rng.random() < 0.85 or i == 0,
        )
        if i in deact:
            user.deleteat = start + int((0.45 + 0.4 * rng.random()) * span)
        if i in guests:
            user.is_guest, user.roles = True, "system_guest"
        elif i in admins:
            user.is_admin, user.roles = True, "system_user system_admin"
        if i in auth:
            user.authservice = auth[i]
            user.authdata = {"gitlab": str(1000 + i), "saml": user.email, "ldap": uname}[auth[i]]
        users.append(user)
    return users


def build_bots(n: int, users: list[User], rng: random.Random, new_id: Callable[[], str]) -> list[Bot]:
    """``n`` bots; the first is owned by a deactivated user and disabled with its owner."""
    deactivated = [u for u in users if u.deleteat]
    owners = [u for u in users if not u.deleteat and not u.is_guest]
    bots: list[Bot] = []
    for k in range(n):
        uname, display, description = BOTS[k % len(BOTS)]
        if k >= len(BOTS):
            uname = f"{uname}{k // len(BOTS) + 1}"
        owner = deactivated[0] if k == 0 else (users[0] if k == 1 else rng.choice(owners))
        user = User(
            idx=len(users) + k,
            id=new_id(),
            username=uname,
            email=f"{uname}@localhost",
            firstname=display,
            lastname="",
            nickname="",
            createat=owner.createat + HOUR + int(rng.random() * 2 * DAY),
            is_bot=True,
        )
        if owner.deleteat:
            user.deleteat = owner.deleteat  # Mattermost disables a user's bots when it is deactivated
        bots.append(Bot(user=user, owner=owner, description=description))
    return bots
