"""The preview a person decides on (approval body and console): names, dates, cutoffs, what is spared.

Direct and group messages have no team and their members in ``channelmembers`` (Mattermost's
``ChannelTypeDirect``/``ChannelTypeGroup``, server/public/model/channel.go).
"""

from __future__ import annotations

import pytest

from mmgov.retention.legal_hold import create_hold
from mmgov.retention.preview import preview_purge
from mmgov.retention.preview_text import CHANNEL_ROWS, decision_view, when
from tests.retention.builders import DAY, NOW, settings


def _member(conn, channel_id: str, user_id: str) -> None:
    conn.execute("INSERT INTO channelmembers (channelid, userid) VALUES (%s, %s)", (channel_id, user_id))


def _settings(**mmgov):
    return settings(
        DataRetentionSettings={
            "EnableMessageDeletion": True,
            "MessageRetentionDays": 100,
            "EnableFileDeletion": True,
            "FileRetentionDays": 60,
            "PreservePinnedPosts": True,
        },
        Mmgov={"Timezone": "Europe/Berlin", "RetentionApprovalTimeoutHours": 6, **mmgov},
    )


@pytest.fixture
def preview(conn, ws):
    sales = conn.execute(
        "INSERT INTO teams (id, createat, updateat, deleteat, displayname, name, type)"
        " VALUES ('salesteam0000000000000000a', 0, 0, 0, 'Sales EMEA', 'sales', 'O') RETURNING id"
    ).fetchone()[0]
    deals = ws.channel(sales, name="deals")
    conn.execute("UPDATE channels SET displayname = 'Big Deals' WHERE id = %s", (deals,))
    alice, bob, carol = ws.user("alice"), ws.user("bob"), ws.user("carol")
    dm = ws.channel("", type="D", name=f"{alice}__{bob}")
    gm = ws.channel("", type="G", name="gm")
    for channel, members in ((dm, (alice, bob)), (gm, (alice, bob, carol))):
        for user in members:
            _member(conn, channel, user)
    ws.policy("Deals 30", 30, channels=[deals])
    for _ in range(3):
        ws.post(deals, 40)
    ws.post(deals, 40, pinned=True)
    ws.post(dm, 200)
    ws.post(dm, 201)  # two: listed above the one-message channels
    ws.post(gm, 200)
    held = ws.post(gm, 200, user_id=carol)
    create_hold(conn, name="case", scope="user", target_id=carol, actor="t")
    extra = [ws.channel(sales, name=f"c{i:02d}") for i in range(CHANNEL_ROWS + 2)]
    for channel in extra:
        ws.post(channel, 300)
    ws.file(None, 90, channel_id=deals)  # an old file of no expired post: the global file retention's
    summary = preview_purge(conn, _settings(), now_ms=NOW, dag_run_id="manual__x")
    return summary, {"deals": deals, "dm": dm, "gm": gm, "held": held, "extra": extra}


def test_channels_by_team_and_members_names(preview):
    summary, ids = preview
    labels = {c["channel_id"]: c["label"] for c in summary["channels"]}
    assert labels[ids["deals"]] == "Sales EMEA / Big Deals"
    assert labels[ids["dm"]] == "Direct message: alice, bob"
    assert labels[ids["gm"]] == "Group message: alice, bob, carol"
    assert ids["dm"] not in summary["markdown"]
    assert "| Direct message: alice, bob | 2 | 0 | 0 |" in summary["markdown"]


def test_dates_in_the_settings_time_zone_never_epoch_ms(preview):
    summary, _ = preview
    md = summary["markdown"]
    assert "previewed 2026-01-01 01:00 CET (times in Europe/Berlin)" in md
    # each policy's cutoff: 30 days for the channel policy, 100 days for the global setting
    assert (
        "| Policy \u201cDeals 30\u201d (channel) | 30 days | created before 2025-12-02 01:00 CET | 1 | 3 | 0 |"
        in md
    )
    assert (
        "| Global message retention (DataRetentionSettings) | 100 days | created before 2025-09-23 02:00 CEST |"
        in md
    )
    assert "**Answer by 2026-01-01 07:00 CET** (6 hours after the preview)" in md
    assert str(NOW) not in md
    assert str(NOW - 30 * DAY) not in md


def test_global_file_retention_has_its_own_row(preview):
    summary, _ = preview
    assert summary["file_retention"]["files"] == 1
    assert summary["files_to_delete"] == 1
    assert all(p["files"] == 0 for p in summary["by_policy"])  # not under the channel's policy
    assert (
        "| Global file retention (FileRetentionDays) | 60 days | files uploaded before 2025-11-02 01:00 CET |"
        "  |  | 1 |" in summary["markdown"]
    )


def test_spared_and_why(preview):
    summary, _ = preview
    view = decision_view(summary)
    assert view["spared"] == [
        (1, "messages under a legal hold"),
        (1, "pinned messages (PreservePinnedPosts)"),
    ]
    assert "- 1 messages under a legal hold" in summary["markdown"]
    assert "- 1 pinned messages (PreservePinnedPosts)" in summary["markdown"]


def test_more_channels_summed_so_rows_add_up(preview):
    summary, ids = preview
    view = decision_view(summary)
    total_channels = 1 + 2 + len(ids["extra"])  # deals, the DM, the GM, the extra channels
    assert view["channel_total"] == {
        "channels": total_channels,
        "messages": 3 + 3 + len(ids["extra"]),
        "files": 1,
    }
    assert len(view["channels"]) == CHANNEL_ROWS
    more = view["more_channels"]
    assert more["channels"] == total_channels - CHANNEL_ROWS
    assert sum(c[1] for c in view["channels"]) + more["messages"] == summary["messages_to_delete"]
    assert f"| \u2026 and {more['channels']} more channels | {more['messages']} |" in summary["markdown"]


def test_export_guard_watermark_as_a_date():
    summary = {
        "run_id": "r",
        "now_ms": NOW,
        "timezone": "America/New_York",
        "messages_to_delete": 0,
        "files_to_delete": 0,
        "by_policy": [],
        "by_team": [],
        "channels": [],
        "spared": dict.fromkeys(
            (
                "messages_held",
                "messages_pinned",
                "messages_not_exported",
                "files_held",
                "files_pinned",
                "files_not_exported",
                "files_keep_forever",
            ),
            0,
        ),
        "export_guard": {"state": "on", "watermark_ms": NOW - DAY, "note": "x"},
        "approval": {"reasons": ["always"]},
    }
    assert decision_view(summary)["guard"] == (
        "only messages last changed before 2025-12-30 19:00 EST (the end of the last compliance export) can be deleted"
    )
    assert when(None) == "-"
