"""The fast CSV renderers against their plain definitions; no database."""

from __future__ import annotations

import csv
import io
import random

import pytest

from mmgov.compliance.csv_format import _MEMBER_TEXT, HEADER, _Lines, attachment_message, csv_field
from mmgov.compliance.model import (
    ChannelInfo,
    MemberEvent,
    MemberEventKind,
    PostRecord,
    UserInfo,
)
from mmgov.compliance.post_classifier import classify
from tests.compliance.classified_posts import NASTY, nasty_posts, plain_posts


def csv_line(fields: list) -> str:
    return ",".join(csv_field(f) for f in fields) + "\n"


def _channel_columns(ch: ChannelInfo) -> list:
    return [
        ch.team_id,
        ch.team_name,
        ch.team_display_name,
        ch.id,
        ch.name,
        ch.export_display_name,
        ch.type_name,
    ]


def post_rows(cp) -> list[list]:
    """The plain definition of a post's CSV rows (the columns of HEADER): messages, uploads, file deletions."""
    p, u = cp.post, cp.post.user
    head = [*_channel_columns(p.channel), u.id, u.email, u.username, p.id]
    tail = [u.user_type, p.previewed_post]
    rows = [
        [
            p.create_at,
            p.update_at,
            m.update_type.value,
            *head,
            m.edited_new_msg_id,
            p.root_id,
            m.message,
            "message",
            *tail,
        ]
        for m in cp.messages
    ]
    rows += [
        [p.create_at, p.update_at, "", *head, "", p.root_id, attachment_message(f), "attachment", *tail]
        for f in cp.uploads
    ]
    rows += [
        [
            p.create_at,
            f.delete_at,
            "FileDeleted",
            *head,
            "",
            p.root_id,
            attachment_message(f),
            "deleted attachment",
            *tail,
        ]
        for f in cp.file_deletions
    ]
    assert all(len(r) == len(HEADER.split(",")) for r in rows)
    return rows


def member_row(ch: ChannelInfo, e: MemberEvent) -> list:
    u = e.user
    text = _MEMBER_TEXT[e.kind].format(u=u.username, e=u.email)
    return [
        e.time,
        0,
        "",
        *_channel_columns(ch),
        u.id,
        u.email,
        u.username,
        "",
        "",
        "",
        text,
        e.kind.value,
        u.user_type,
        "",
    ]


@pytest.mark.parametrize("member_cache", [True, False])
def test_csv_lines_equal_the_escaped_rows(member_cache):
    """Also without the membership-line cache (window mode, which writes each row about once)."""
    lines = _Lines(member_cache=member_cache)
    odd = PostRecord(
        "id,1",
        1,
        1,
        0,
        0,
        UserInfo("u", "n", "e"),
        ChannelInfo("c", "n", "d", "O"),
        " root",
        "",
        "m",
        "",
        None,
        'p"v',
    )
    for cp in [*nasty_posts(), *plain_posts(), classify(odd, 0)]:
        assert lines.post(cp) == [csv_line(r) for r in post_rows(cp)]
        for kind in MemberEventKind:
            e = MemberEvent(cp.post.user, kind, 5)
            assert lines.member(cp.post.channel, e) == csv_line(member_row(cp.post.channel, e))
    assert (lines._members is None) is not member_cache


def test_csv_fields_round_trip_and_carriage_returns_are_quoted():
    for text in NASTY:
        (row,) = csv.reader(io.StringIO(csv_field(text) + "," + csv_field(1) + "\n", newline=""))
        assert row == [text, "1"]
    assert csv_field("cr\ronly") == '"cr\ronly"'
    assert csv_field("plain") == "plain"


def test_csv_quoting_follows_go_encoding_csv():
    """Go's Writer.fieldNeedsQuotes: also a leading Unicode space (unicode.IsSpace) and the field `\\.`."""
    for text in (" a", "\ta", "\u3000a", "\xa0a", "\x85a", "\u2028a", "\\."):
        assert csv_field(text) == f'"{text}"', repr(text)
    for text in ("a ", "\u200ba", "\x1ca", "\\.x", "x\\.", "", "-"):  # not spaces for Go / not `\.` alone
        assert csv_field(text) == text, repr(text)


def test_csv_merge_of_posts_and_members_equals_one_sort_of_all_rows():
    from mmgov.compliance.csv_format import _merged, _sorted_row_by_row
    from mmgov.compliance.export_window import ExportWindow
    from mmgov.compliance.model import ExportBatch

    lines = _Lines()
    posts = nasty_posts() + plain_posts()  # creation times 10..17, several posts at 10
    members = []
    for t in (5, 10, 10, 12, 17, 30):  # ties with posts' creation times go first
        for cp in posts[:3]:
            e = MemberEvent(cp.post.user, MemberEventKind.PREVIOUSLY_JOINED, t)
            ch = cp.post.channel
            members.append(((t, "", ch.id, 0, e.user.email, e.user.id), lines.member(ch, e).encode()))
    members.sort(key=lambda m: m[0])
    batch = ExportBatch(1, ExportWindow(0, 100), 0, 100, posts, {})
    expected = b"".join(_sorted_row_by_row(members, batch, lines)).decode()
    blocks = [(cp.post.create_at, cp.post.id, "".join(lines.post(cp)).encode()) for cp in reversed(posts)]
    merged = b"".join(_merged(members, blocks, batch, lines)).decode()
    assert merged == expected
    rows = list(csv.reader(io.StringIO(merged, newline="")))
    # 3 members at 5, 6 at 10, then the posts created at 10 (post rows have a post id)
    assert [r[0] for r in rows[:9]] == ["5"] * 3 + ["10"] * 6
    assert not any(r[13] for r in rows[:9])
    assert rows[9][0] == "10"
    assert rows[9][13]


def test_csv_line_caches_stay_bounded_and_exact():
    lines = _Lines()
    lines.LIMIT = 3
    for _ in range(2):  # the second pass renders from refilled caches
        for cp in plain_posts():  # 8 distinct users and channels
            assert lines.post(cp) == [csv_line(r) for r in post_rows(cp)]
            assert len(lines._users) <= 3
            assert len(lines._channels) <= 3


def _random_users(rng: random.Random, count: int) -> list[UserInfo]:
    """Users with random e-mails (their sort order); one in ten deactivated at 4000."""
    return [
        UserInfo(f"u{i}", f"n{i}", f"{rng.random():.5f}@x", delete_at=rng.choice([0] * 9 + [4000]))
        for i in range(count)
    ]


def _random_history_rows(rng: random.Random, users: list[UserInfo], count: int) -> list[tuple]:
    """``(join, user, leave)`` history rows: joined at 0 or within 10 s, a third of them leaving."""
    from mmgov.compliance.membership import _NO_LEAVE

    rows = []
    for _ in range(count):
        join = rng.choice([0, rng.randrange(10_000)])
        leave = rng.choice([_NO_LEAVE, _NO_LEAVE, join + rng.randrange(1, 3000)])
        rows.append((join, rng.choice(users), leave))
    return rows


def test_csv_window_membership_rows_are_merged_in_one_sort_order_once_each():
    """The window mode's membership rows come from a lazy merge of each channel's sorted joins and
    leaves: the result is the order of one sort of every row by its key, channels interleaved; an
    event repeated in a run (a duplicated history row) is written once, a synthetic join once per
    (channel, author) across batches, and a later batch writes only events from the channel's
    last written batch end on."""
    from mmgov.compliance.csv_format import CsvFormat, _first
    from mmgov.compliance.export_window import ExportWindow
    from mmgov.compliance.formats import BatchResult
    from mmgov.compliance.model import ChannelActivity, ExportBatch

    rng = random.Random(5)
    users = [UserInfo(f"u{i}", f"n{i}", f"{rng.random():.4f}@x") for i in range(30)]
    prev, enter, leave = MemberEventKind.PREVIOUSLY_JOINED, MemberEventKind.ENTER, MemberEventKind.LEAVE

    def key(e: MemberEvent) -> tuple:
        return (e.time, e.user.email, e.user.id)

    def channel(c: int, start: int, end: int) -> ChannelActivity:
        joins = [MemberEvent(u, prev, rng.randrange(0, start)) for u in rng.sample(users, 12)]
        joins += [MemberEvent(u, enter, rng.randrange(start, end)) for u in rng.sample(users, 4)]
        joins.append(MemberEvent(users[c], prev, start, synthetic=True))
        joins.sort(key=key)
        joins.insert(3, joins[3])  # a duplicated history row
        leaves = sorted((MemberEvent(u, leave, rng.randrange(start, end)) for u in users[:5]), key=key)
        ch = ChannelInfo(f"c{c}", f"n{c}", "d", "O", "t", "tn", "td")
        return ChannelActivity(ch, joins, leaves)

    fmt = CsvFormat(settings=None)
    lines = _Lines()
    written = []
    for number, (start, end) in enumerate([(1000, 2000), (2000, 3000)], 1):
        channels = {f"c{c}": channel(c, start, end) for c in range(6)}
        batch = ExportBatch(number, ExportWindow(0, 3000), start, end, [], channels)
        result = BatchResult(batch.zip_name)
        rows = list(fmt._member_entries(batch, result, lines))
        expected = sorted(
            {
                (e.time, "", cid, order, e.user.email, e.user.id): e
                for cid, act in channels.items()
                for order, events in ((0, act.joins), (1, act.leaves))
                for e in events
                if number == 1 or e.time >= 2000  # a later batch: nothing before the last batch end
                if not (e.synthetic and number == 2)  # synthetic joins: once per (channel, author)
            }.items()
        )
        assert [k for k, _ in rows] == [k for k, _ in expected]
        assert [line for _, line in rows] == [
            lines.member(channels[k[2]].channel, e).encode() for k, e in expected
        ]
        assert result.members == len(rows)
        assert [k[2] for k, _ in rows] != sorted(k[2] for k, _ in rows)  # channels do interleave
        assert rows == sorted(rows, key=_first)
        written += rows
    assert len(written) > 150
