"""User preferences: display settings, theme, notifications, favourites, tutorial, DM visibility.

``flagged_post`` preferences come from the post stream (they need post ids).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from mmgov_dev.synth.model import Workspace

PREFERENCE_COLUMNS = ("userid", "category", "name", "value")
_THEMES = (
    '{"type":"Denim","sidebarBg":"#1e325c","sidebarText":"#ffffff","buttonBg":"#1c58d9",'
    '"centerChannelBg":"#ffffff","centerChannelColor":"#3f4350","linkColor":"#386fe5"}',
    '{"type":"Onyx","sidebarBg":"#121317","sidebarText":"#ffffff","buttonBg":"#4a7ce8",'
    '"centerChannelBg":"#2f3e4e","centerChannelColor":"#dddddd","linkColor":"#a4ffeb"}',
)
_DISPLAY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("use_military_time", ("false", "true")),
    ("name_format", ("username", "full_name", "nickname_full_name")),
    ("message_display", ("clean", "compact")),
    ("channel_display_mode", ("full", "centered")),
    ("collapse_previews", ("false", "true")),
    ("colorize_usernames", ("true", "false")),
    ("link_previews", ("true", "false")),
)


def preference_lines(ws: Workspace, rng: random.Random) -> Iterator[str]:
    """``preferences`` rows of every human user."""
    current: dict[str, list[str]] = {}
    peers: dict[str, list[tuple[str, str]]] = {}
    for c in ws.channels:
        ids = [h.user.id for h in c.current]
        for uid in ids:
            current.setdefault(uid, []).append(c.id)
            if c.type == "D":
                other = next((x for x in ids if x != uid), uid)
                peers.setdefault(uid, []).append(("direct_channel_show", other))
            elif c.type == "G":
                peers.setdefault(uid, []).append(("group_channel_show", c.id))
    for u in ws.users:
        if u.is_bot:
            continue
        uid = u.id
        for name, values in _DISPLAY:
            if rng.random() < 0.6:
                yield f"{uid}\tdisplay_settings\t{name}\t{rng.choice(values)}\n"
        if rng.random() < 0.5:
            yield f"{uid}\ttheme\t\t{rng.choice(_THEMES)}\n"
        yield f"{uid}\tnotifications\temail_interval\t{rng.choice(('30', '900', '3600'))}\n"
        yield f"{uid}\ttutorial_step\t{uid}\t999\n"
        mine = current.get(uid, [])
        for cid in rng.sample(mine, min(len(mine), rng.randint(0, 2))):
            yield f"{uid}\tfavorite_channel\t{cid}\ttrue\n"
        seen: set[tuple[str, str]] = set()
        for key in peers.get(uid, []):
            if key not in seen:
                seen.add(key)
                yield f"{uid}\t{key[0]}\t{key[1]}\ttrue\n"
