"""The fast renderers (CSV lines, Actiance participant blocks) against their plain definitions; no database."""

from __future__ import annotations

import csv
import io

from lxml import etree

from mmgov.compliance.actiance_format import _Participants, escape_attribute, escape_text
from mmgov.compliance.csv_format import _Lines, csv_field, csv_line, member_row, post_rows
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


def test_csv_lines_equal_the_escaped_rows():
    lines = _Lines()
    for cp in _posts():
        assert lines.post(cp) == [csv_line(r) for r in post_rows(cp)]
        e = MemberEvent(cp.post.user, MemberEventKind.ENTER, 5)
        assert lines.member(cp.post.channel, e) == csv_line(member_row(cp.post.channel, e))


def test_csv_fields_round_trip_and_carriage_returns_are_quoted():
    for text in NASTY:
        (row,) = csv.reader(io.StringIO(csv_field(text) + "," + csv_field(1) + "\n", newline=""))
        assert row == [text, "1"]
    assert csv_field("cr\ronly") == '"cr\ronly"'
    assert csv_field("plain") == "plain"


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
