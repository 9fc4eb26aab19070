"""A hand-made workspace holding every edge case of the GDPR export (see ``edge_workspace``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.bulk_export.workspace import T0, Builder, Export, export_once

ALICE_HASH = "$2a$10$ALICEPASSWORDHASHxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
ALICE_MFA = "ALICEMFASECRETBASE32XX"
BOB_HASH = "$2a$10$BOBPASSWORDHASHyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"


@dataclass
class Edge:
    """The edge workspace: database, file store, and the builder (for ids)."""

    dsn: str
    store: Path
    b: Builder

    def id(self, label: str) -> str:
        return self.b.ids[label]


@pytest.fixture
def edge_workspace(mm_dsn: str, file_store: Path) -> Iterator[Edge]:
    """Teams, channels, people and posts covering every edge case the export must handle.

    * alice (subject of per-person tests, password hash + MFA secret that must never leak, picture),
      bob (picture recorded but file gone), carol (deactivated; owns a bot), dave (no picture),
      zed (the stranger: alone in ``secret-room``), erin..heidi (for a GM of 8);
    * team ``alpha`` (live) and ``oldteam`` (deleted, one channel); channels ``town-square``,
      ``archived-proj`` (archived), ``secret-room`` (zed and bob only);
    * a thread with a reply, reactions, a flag, followers, two attachments (one missing) and one
      with an unsafe path; a deleted post with its edit history; an orphaned reply (root gone);
      a DM with carol (deactivated), a self-DM, a GM of 8, a DM bob-zed, a DM whose other member no
      longer exists; emoji with and without an image; a deleted emoji.
    """
    with psycopg.connect(mm_dsn, autocommit=True) as conn:
        b = Builder(conn, file_store)
        b.team("alpha")
        b.team("oldteam", deleted=T0 - 5000)
        b.user(
            "alice",
            picture=T0,
            password=ALICE_HASH,
            mfa=ALICE_MFA,
            props={"customStatus": '{"emoji":"palm_tree","text":"On holiday","duration":"today"}'},
        )
        b.picture("alice")
        b.user("bob", picture=T0, password=BOB_HASH)  # recorded picture, file missing
        b.user("carol", deleted=T0 - 1000)
        b.user("dave")
        b.user("zed")
        b.user("ssouser", auth=("saml", "ssouser@idp.example"))
        for name in ("erin", "frank", "grace", "heidi"):
            b.user(name)
        b.bot("helper-bot", owner=b.ids["user:carol"])  # owned by a deactivated user
        b.bot("plugin-bot", owner="com.example.plugin")  # owned by a plugin
        for name in ("alice", "bob", "dave", "zed"):
            b.team_member("alpha", name, admin=name == "alice")
        b.team_member("oldteam", "alice")
        town = b.channel("alpha", "town-square", members=("alice", "bob", "dave"))
        archived = b.channel("alpha", "archived-proj", "P", deleted=T0 - 2000, members=("alice", "bob"))
        secret = b.channel("alpha", "secret-room", "P", members=("zed", "bob"))
        legacy = b.channel("oldteam", "legacy", members=("alice",))

        b.post("p1", town, "alice", "Release notes are up", at=100, pinned=True)
        b.post("r1", town, "bob", "Thanks, alice!", root="p1", at=200)
        b.post("r2", town, "dave", "Reply two", root="p1", at=300)
        b.reaction("p1", "bob", "+1", at=150)
        b.reaction("r1", "alice", "heart", at=250)
        b.reaction("p1", "dave", "tada", at=160, deleted=T0 + 999)  # removed reaction
        b.pref("bob", "flagged_post", b.ids["post:r1"], "true")
        b.pref("alice", "flagged_post", b.ids["post:p1"], "true")
        b.pref("dave", "flagged_post", b.ids["post:p1"], "true")
        b.follow("p1", "alice")
        b.follow("p1", "bob")
        b.file(
            "f1",
            "p1",
            "alice",
            "20260101/teams/alpha/channels/town/users/alice/f1/notes.txt",
            b"release notes",
        )
        b.file("f2", "p1", "alice", "20260101/teams/alpha/channels/town/users/alice/f2/gone.txt", None)
        b.file("f3", "r1", "bob", "../../etc/passwd", None)  # unsafe path: never read
        b.post(
            "p2",
            town,
            "bob",
            "Oops, deleted",
            at=400,
            deleted=T0 + 500,
            props={"deleteBy": b.ids["user:bob"]},
        )
        b.post(
            "p2old",
            town,
            "bob",
            "Oops (before the edit)",
            at=400,
            deleted=T0 + 450,
            original=b.ids["post:p2"],
        )
        b.post("p4", town, "dave", "Dave asks something", at=500)
        b.reaction("p4", "alice", "eyes", at=600)
        b.post("p5", town, "dave", "Dave talks to himself", at=700)
        b.post(
            "orphan", town, "alice", "Reply whose root was purged", root="zzzzzzzzzzzzzzzzzzzzzzzzzz", at=800
        )
        b.post("ghost", town, "nobody", "Author gone", at=850, user_id="g" * 26)
        b.post("pa", archived, "alice", "Archived channel talk", at=900)
        b.post("ps", secret, "zed", "Zed's secret plans", at=1000)
        b.post("psr", secret, "bob", "Bob answers in secret", root="ps", at=1100)
        b.post("pl", legacy, "alice", "Legacy team post", at=1200)

        dm_carol = b.dm("alice", "carol")
        b.post("dm1", dm_carol, "alice", "Hi carol", at=1300)
        b.post("dm2", dm_carol, "carol", "Bye alice", root="dm1", at=1400)
        b.pref("alice", "direct_channel_show", b.ids["user:carol"], "true")
        b.pref("alice", "favorite_channel", dm_carol, "true")
        self_dm = b.dm("alice", "alice")
        b.post("self", self_dm, "alice", "Note to self", at=1500)
        gm8 = b.gm("eight", ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"))
        b.post("gm", gm8, "erin", "Hello group of eight", at=1600)
        b.pref("alice", "group_channel_show", gm8, "true")
        dm_zed = b.dm("bob", "zed")
        b.post("dmz", dm_zed, "zed", "Bob, between us", at=1700)
        b.pref("zed", "flagged_post", b.ids["post:dmz"], "true")
        # a DM whose other user was physically removed
        broken = b.dm("dave", "dave")
        conn.execute(
            "UPDATE channels SET name = %s WHERE id = %s", (f"{'q' * 26}__{b.ids['user:dave']}", broken)
        )
        b.post("broken", broken, "dave", "Talking to a ghost", at=1800)

        b.emoji("partyparrot", "alice")
        b.emoji("noimage", "dave", image=None)
        b.emoji("oldemoji", "alice", deleted=T0 - 1)

        b.pref("alice", "theme", "", '{"type":"Onyx"}')
        b.pref("alice", "theme", b.ids["team:alpha"], '{"type":"Denim"}')
        b.pref("alice", "display_settings", "use_military_time", "true")
        b.pref("alice", "display_settings", "name_format", "full_name")
        b.pref("alice", "notifications", "email_interval", "900")
        b.pref("alice", "favorite_channel", town, "true")
        b.pref("alice", "tutorial_step", b.ids["user:alice"], "999")
        yield Edge(mm_dsn, file_store, b)


@pytest.fixture
def export(edge_workspace: Edge, tmp_path: Path) -> Export:
    """The edge workspace exported whole, to a folder."""
    return export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store, create_archive=False)
