"""The fast renderers (CSV lines, Actiance participant blocks) against their plain definitions; no database."""

from __future__ import annotations

import csv
import io
import random

import pytest
from lxml import etree

from mmgov.compliance.actiance_format import _Participants, escape_attribute, escape_text
from mmgov.compliance.csv_format import _MEMBER_TEXT, HEADER, _Lines, attachment_message, csv_field
from mmgov.compliance.model import (
    ChannelInfo,
    ExportedFile,
    MemberEvent,
    MemberEventKind,
    PostRecord,
    UserInfo,
)
from mmgov.compliance.post_classifier import classify

NASTY = ["a,b", 'say "hi"', "line\nbreak", "cr\ronly", "", "plain", "é ü", " lead"]


def _posts() -> list:
    out = []
    for i, text in enumerate(NASTY):
        user = UserInfo(f"u{i}", f"name{text}", f"e{i}{text}@x", is_bot=i % 2 == 0)
        channel = ChannelInfo(f"c{i}", f"n{text}", f"d{text}", "OPDG"[i % 4], "t", f"tn{text}", f"td{text}")
        files = (ExportedFile(f"f{i}", f"p{i}", f"file{text}", f"a/b{i}", delete_at=i % 2),)
        post = PostRecord(
            f"p{i}", 10 + i, 20 + i, 30 if i % 3 else 0, i % 2, user, channel, "root", "orig" if i == 4 else "",
            text, "", "u" if i % 3 == 1 else None, "prev" if i == 2 else "", files=files,
        )  # fmt: skip
        out.append(classify(post, 0))
    return out


def _plain_posts() -> list:
    """Posts without files (the renderer's fast path): created, edited, updated, an edit's old text."""
    out = []
    for i, text in enumerate(NASTY):
        user = UserInfo(f"u{i}", f"name{text}", f"e{i}{text}@x", is_bot=i % 2 == 1)
        channel = ChannelInfo(f"c{i}", f"n{text}", f"d{text}", "OPDG"[i % 4], "t", f"tn{text}", f"td{text}")
        update_at, edit_at = (10, 0) if i % 3 == 0 else (20 + i, i % 2)
        post = PostRecord(
            f"q{i}", 10, update_at, 30 if i == 5 else 0, edit_at, user, channel, "root" if i % 2 else "",
            "orig" + text if i == 5 else "", text, "", None, "prev" if i == 2 else "",
        )  # fmt: skip
        out.append(classify(post, 0))
    return out


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
    for cp in [*_posts(), *_plain_posts(), classify(odd, 0)]:
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


def test_xml_escapes_parse_back():
    raw = "a&<>\"'\r\n\t]]>\x00\ud800\ufffe é"
    clean = "a&<>\"'\r\n\t]]>\ufffd\ufffd\ufffd é"
    doc = f'<x a="{escape_attribute(raw)}">{escape_text(raw)}</x>'.encode()  # fails if a surrogate remained
    element = etree.fromstring(doc)
    assert element.get("a") == clean
    assert element.text == clean  # \r survives as &#13;


def test_participant_blocks_reused_for_an_unchanged_member_list():
    users = [UserInfo(f"u{i}", f"n{i}", f"{'zyx'[i]}@x") for i in range(3)]
    joins = [MemberEvent(u, MemberEventKind.PREVIOUSLY_JOINED, 100 + i) for i, u in enumerate(users)]
    kept = _Participants()
    for end in (500, 700, 900):
        fresh = _Participants().blocks("c", list(joins), end)
        assert kept.blocks("c", joins, end) == fresh
        kept.next_batch()
        entered, left = fresh
        assert entered.count(b"<ParticipantEntered>") == left.count(f"<DateTimeUTC>{end}<".encode()) == 3
        assert left.index(b"x@x") < left.index(b"y@x") < left.index(b"z@x")  # closing leaves by e-mail
    with_leave = [*joins[:2], MemberEvent(users[2], MemberEventKind.ENTER, 150, left_at=600)]
    for end in (700, 500):  # a left_at at or after the end becomes a closing leave at the end
        assert kept.blocks("c", with_leave, end) == _Participants().blocks("c", list(with_leave), end)
        kept.next_batch()


def _plain_participant_blocks(joins: list[MemberEvent], end: int) -> tuple[bytes, bytes]:
    """The participant blocks by their definition: entered in member order; real leaves by (time,
    e-mail, id); closing leaves at ``end`` by (e-mail, id), a stable sort."""

    def element(tag: str, user: UserInfo, time: int) -> str:
        email = escape_text(user.email)
        return (
            f"\n    <{tag}>\n      <LoginName>{email}</LoginName>\n      <UserType>{user.user_type}</UserType>"
            f"\n      <DateTimeUTC>{time}</DateTimeUTC>\n      <CorporateEmailID>{email}</CorporateEmailID>"
            f"\n    </{tag}>"
        )

    entered = "".join(element("ParticipantEntered", e.user, e.time) for e in joins)
    real = sorted(
        (e for e in joins if e.left_at is not None and e.left_at < end),
        key=lambda e: (e.left_at, e.user.email, e.user.id),
    )
    closing = sorted(
        (e for e in joins if e.left_at is None or e.left_at >= end), key=lambda e: (e.user.email, e.user.id)
    )
    left = [element("ParticipantLeft", e.user, e.left_at) for e in real]
    left += [element("ParticipantLeft", e.user, end) for e in closing]
    return entered.encode(), "".join(left).encode()


def test_participant_blocks_follow_changing_member_lists_exactly():
    """Members come and go, users appear late (ranked between others), one user has two objects with
    different bot flags (ordered as they come): every batch equals the plain definition."""
    rng = random.Random(7)
    emails = ["a@x", "a@x.c", "a@x.c1", "a<b@x", "a'b@x", "b&c@x", "z@x", "é@x", "A@x"]
    users = [UserInfo(f"u{i}", f"n{i}", e) for i, e in enumerate(emails)]
    users += [UserInfo(f"v{i}", f"m{i}", f"{rng.random():.6f}@y") for i in range(60)]
    twin = UserInfo(
        users[3].id, users[3].username, users[3].email, is_bot=True
    )  # a synthetic author's object
    same = UserInfo(users[4].id, users[4].username, users[4].email)  # same closing leave: no ambiguity
    kept = _Participants()
    lists: dict[str, list[MemberEvent]] = {"c1": [], "c2": []}
    for batch in range(40):
        end = 1000 * (batch + 1)
        for cid, joins in lists.items():
            if rng.random() < 0.6:  # the list changes: some go, some come (kept events stay the same objects)
                joins = [e for e in joins if e.left_at is None and rng.random() > 0.1]
                pool = users if batch > 5 else users[:20]  # later users rank between earlier ones
                for _ in range(rng.randrange(4)):
                    user = rng.choice([*pool, twin, same] if batch > 10 else pool)
                    left_at = rng.choice([None, None, end - 10, end, end + 5])
                    joins.append(MemberEvent(user, MemberEventKind.ENTER, end - 100, left_at=left_at))
                lists[cid] = joins
            assert kept.blocks(cid, joins, end) == _plain_participant_blocks(joins, end), (batch, cid)
        kept.next_batch()
    assert kept._ambiguous  # the twin was met


def test_participant_ranks_renumber_when_no_float_is_left_between_neighbours():
    parts = _Participants()
    users = [UserInfo("lo", "lo", "a@x"), UserInfo("hi", "hi", "b@x")]
    joins = [MemberEvent(u, MemberEventKind.PREVIOUSLY_JOINED, 1) for u in users]
    for i in range(80):  # each new e-mail sorts just above "a@x": halves the same gap 80 times
        user = UserInfo(f"n{i}", "n", "a@x" + "\x01" * (80 - i))
        joins.append(MemberEvent(user, MemberEventKind.PREVIOUSLY_JOINED, 1))
        assert parts.blocks("c", list(joins), 5) == _plain_participant_blocks(joins, 5)
        parts.next_batch()


def test_participant_user_cache_is_bounded_between_batches():
    parts = _Participants()
    parts.MAX_USERS = 3
    users = [UserInfo(f"u{i}", "n", f"{'qwertyuiop'[i]}@x") for i in range(8)]
    for batch in range(3):
        joins = [MemberEvent(u, MemberEventKind.PREVIOUSLY_JOINED, batch) for u in users[batch : batch + 6]]
        assert parts.blocks("c", joins, 99) == _plain_participant_blocks(joins, 99)
        parts.next_batch()
        assert len(parts._users) <= 3
        assert len(parts._rank) <= 3


def test_csv_merge_of_posts_and_members_equals_one_sort_of_all_rows():
    from mmgov.compliance.csv_format import _merged, _sorted_row_by_row
    from mmgov.compliance.export_window import ExportWindow
    from mmgov.compliance.model import ExportBatch

    lines = _Lines()
    posts = _posts() + _plain_posts()  # creation times 10..17, several posts at 10
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
        for cp in _plain_posts():  # 8 distinct users and channels
            assert lines.post(cp) == [csv_line(r) for r in post_rows(cp)]
            assert len(lines._users) <= 3
            assert len(lines._channels) <= 3


def test_actiance_message_fast_path_equals_the_general_element():
    from mmgov.compliance.actiance_format import _Element, _message_element, _other_element

    nasty = ["a&b<c>", "cr\ronly", "ctl\x01\x0b", "emoji 😀", "\ufffe", "]]>"]
    for cp in _plain_posts() + _posts():
        p = cp.post
        for text in nasty:
            for m in cp.messages:
                m.message = text
                p.previewed_post = text if text.startswith("a") else p.previewed_post
                general = _other_element(_Element(p.create_at, p.id, 0, 0, cp, m, None))
                assert _message_element(p, m, {}) == general


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


def test_participant_blocks_from_membership_deltas_equal_the_plain_definition():
    """The incremental path (``delta_blocks``: prefix blocks cut and spliced from batch to batch) on
    member lists from the real membership state machine (``_Channel``): joins, leaves, deactivations,
    a user with two history rows, late users ranked between others, ranks renumbered, a channel
    skipping batches, the user cache dropped. Every batch equals the plain definition."""
    from array import array

    from mmgov.compliance.membership import _NO_LEAVE, _Channel
    from mmgov.compliance.model import ChannelActivity

    rng = random.Random(11)
    users = _random_users(rng, 70)
    # late users, each ranked just below the one before: the same gap halved until no float is left
    late = [UserInfo(f"v{i}", "v", "a@x" + "\x01" * (80 - i)) for i in range(80)]
    channels = {}
    for c in range(4):
        rows = _random_history_rows(rng, users, 120)
        if c == 0:
            rows += [(5000 + 50 * i, user, _NO_LEAVE) for i, user in enumerate(late)]
        rows.append((100, users[0], 200))  # one user, two rows
        rows.append((150, users[0], _NO_LEAVE))
        rows.sort(key=lambda r: (r[0], r[1].email, r[1].id))
        channels[f"c{c}"] = _Channel(
            [r[1] for r in rows], array("q", [r[0] for r in rows]), array("q", [r[2] for r in rows])
        )
    renumbered = []

    class Counting(_Participants):
        def _renumber(self) -> None:
            renumbered.append(self._epoch)
            super()._renumber()

    parts = Counting()
    parts.MAX_USERS = 140  # dropped (with every rank) once more users than that were seen
    info = ChannelInfo("c", "n", "d", "O", "t", "tn", "td")
    incremental = 0
    for batch in range(40):
        start, end = 250 * batch, 250 * (batch + 1)
        for cid, state in channels.items():
            if cid == "c3" and batch % 3 == 1:
                continue  # not active in this batch: its cached blocks are dropped
            joins, leaves, _, leaving = state.during(start, end, 0)
            activity = ChannelActivity(info, joins, leaves, state.delta(leaving))
            pieces = parts.delta_blocks(cid, activity, end)
            assert pieces is not None, (batch, cid)
            blocks = b"".join(pieces[0]), b"".join(pieces[1])
            assert blocks == _plain_participant_blocks(joins, end), (batch, cid)
            incremental += 1
        parts.next_batch()
    assert incremental == 4 * 40 - 13  # every active channel took the incremental path
    assert renumbered
    assert parts._epoch > len(renumbered) + 1  # the user cache was dropped too
    # two objects of one user with different closing leaves: their order needs the full render
    parts._add_rank(UserInfo(users[5].id, users[5].username, users[5].email, is_bot=not users[5].is_bot))
    assert parts.delta_blocks(cid, activity, end) is None


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
