"""Actiance XML against a real database: the document parsed back element by element, attachments, warnings."""

from __future__ import annotations

import dataclasses
import functools
import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from mmgov.compliance.actiance_format import ACTIANCE_XML, XSI_NAMESPACE, ActianceFormat
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.extract import iter_batches
from mmgov.compliance.formats import get_format
from mmgov.compliance.packaging import BatchZipWriter
from mmgov.file_store import LocalFileStore
from tests.compliance.builders import Workspace, mmid, rendering_workspace
from tests.compliance.conftest import ExportOutput, settings_for

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
START, END = T0, T0 + 100_000
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
MEMBER_FIELDS = ["LoginName", "UserType", "DateTimeUTC", "CorporateEmailID"]


@pytest.fixture
def run_actiance(run_export):
    """``run_actiance(start, end, batch_size=..., dest=...)`` -> ExportOutput of a real actiance run."""
    return functools.partial(run_export, export_format="actiance")


def _doc(out: ExportOutput, zip_path: Path) -> etree._Element:
    with zipfile.ZipFile(zip_path) as zf:
        raw = zf.read(ACTIANCE_XML)
    assert raw.startswith(DECLARATION)
    return etree.fromstring(raw)


def _fields(el: etree._Element) -> list[tuple[str, str]]:
    return [(c.tag, c.text or "") for c in el]


def _member(tag: str, email: str, when: int, user_type: str = "user") -> tuple[str, list[tuple[str, str]]]:
    return (
        tag,
        [
            ("LoginName", email),
            ("UserType", user_type),
            ("DateTimeUTC", str(when)),
            ("CorporateEmailID", email),
        ],
    )


def _children(conv: etree._Element) -> list[tuple[str, list[tuple[str, str]] | str]]:
    out: list[tuple[str, list[tuple[str, str]] | str]] = []
    for c in conv:
        out.append((c.tag, _fields(c)) if len(c) else (c.tag, c.text or ""))
    return out


def _assert_well_formed_conversation(conv: etree._Element) -> None:
    """Order of children as the spec says, and every ParticipantEntered paired with a ParticipantLeft."""
    tags = [c.tag for c in conv]
    assert tags[:2] == ["RoomID", "StartTimeUTC"]
    assert tags[-1] == "EndTimeUTC"
    body = tags[2:-1]
    phase = {"ParticipantEntered": 0, "Message": 1, "FileTransferStarted": 1, "FileTransferEnded": 1}
    phases = [phase.get(t, 2) for t in body]
    assert phases == sorted(phases), tags
    assert set(body) <= {*phase, "ParticipantLeft"}
    entered = sorted(c.findtext("LoginName") for c in conv.iter("ParticipantEntered"))
    left = sorted(c.findtext("LoginName") for c in conv.iter("ParticipantLeft"))
    assert entered == left
    start, end = int(conv.findtext("StartTimeUTC")), int(conv.findtext("EndTimeUTC"))
    for c in conv.iter("ParticipantLeft"):
        assert int(c.findtext("DateTimeUTC")) <= end
    dated = [_sort_key(c) for c in conv if phase.get(c.tag) == 1]
    assert dated == sorted(dated)
    assert start <= end


def _sort_key(el: etree._Element) -> tuple[int, str]:
    """Mattermost's sort key of a dated element (actiance_export.go ``SortVal``): a message by its
    update time when it has one, else its creation time, and its id; a transfer by its time and 26 z."""
    if el.tag == "Message":
        return int(el.findtext("UpdatedDateTimeUTC") or el.findtext("DateTimeUTC")), el.findtext("MessageId")
    return int(el.findtext("DateTimeUTC")), "z" * 26


class TestDocument:
    def test_empty_window_gives_empty_root(self, ws, run_actiance):
        out = run_actiance(START, END)
        (z,) = out.zips
        assert out.names(z) == [ACTIANCE_XML]
        with zipfile.ZipFile(z) as zf:
            assert zf.read(ACTIANCE_XML) == (
                DECLARATION + f'<FileDump xmlns:xsi="{XSI_NAMESPACE}"></FileDump>'.encode()
            )
        assert out.summary["status"] == "success"
        assert out.summary["messages"] == 0

    def test_conversation_element_by_element(self, ws: Workspace, run_actiance, file_store):
        team = ws.team("acme", display="Acme Corp")
        chan = ws.channel("town", team=team, display="Town Square")
        alice, bob, carol, dave = (ws.user(u) for u in ("alice", "bob", "carol", "dave"))
        ws.history(chan, alice, T0 - 1000)  # previously joined, still there at the end
        ws.history(chan, bob, T0 + 10, T0 + 80)  # enters and leaves inside the window
        ws.history(chan, carol, T0 + 20)  # enters, still there
        ws.history(chan, dave, T0 - 500, T0 + 30)  # previously joined, leaves inside
        target = mmid("target")
        p1 = ws.post(
            "p1",
            channel=chan,
            user=alice,
            create=T0 + 5,
            message="hello <world> & co",
            props={"previewed_post": target},
        )
        live = ws.post(
            "live", channel=chan, user=bob, create=T0 + 12, update=T0 + 50, edit=T0 + 50, message="new text"
        )
        old = ws.post(
            "old",
            channel=chan,
            user=bob,
            create=T0 + 12,
            update=T0 + 50,
            delete=T0 + 50,
            original=live,
            message="old text",
        )
        pf = ws.post("pf", channel=chan, user=carol, create=T0 + 40, message="two files")
        f1 = ws.file("f1", post=pf, user=carol, channel=chan, name="a.txt", content=b"alpha", create=T0 + 40)
        f2 = ws.file(
            "f2",
            post=pf,
            user=carol,
            channel=chan,
            name="b.bin",
            content=bytes(range(256)),
            create=T0 + 41,  # files of a post are ordered by (createat, id)
            delete=T0 + 60,
        )
        dele = ws.post(
            "del",
            channel=chan,
            user=alice,
            create=T0 + 45,
            update=T0 + 70,
            delete=T0 + 70,
            message="oops",
            props={"deleteBy": alice},
        )
        out = run_actiance(START, END)
        (z,) = out.zips
        root = _doc(out, z)
        assert root.tag == "FileDump"
        assert root.nsmap == {"xsi": XSI_NAMESPACE}
        (conv,) = root
        assert conv.tag == "Conversation"
        assert conv.attrib == {"Perspective": "Town Square"}
        _assert_well_formed_conversation(conv)
        path1 = f"20260105/teams/noteam/channels/{chan}/users/{carol}/{f1}/a.txt"
        path2 = f"20260105/teams/noteam/channels/{chan}/users/{carol}/{f2}/b.bin"

        a, b, c, d = (f"{u}@example.com" for u in ("alice", "bob", "carol", "dave"))
        edit_pair = sorted(
            [
                msg(live, b, T0 + 12, "new text", utype="EditedNewMsg", updated=T0 + 50),
                msg(old, b, T0 + 12, "old text", utype="EditedOriginalMsg", updated=T0 + 50, edited=live),
            ],
            key=lambda m: m[1][0][1],
        )
        # Mattermost's order (TestOrderAsMattermost): by (time, id), a message at its update time
        # when it has one, transfers after the messages of their millisecond, starts before ends.
        assert _children(conv) == [
            ("RoomID", f"public - town - {chan}"),
            ("StartTimeUTC", str(START)),
            _member("ParticipantEntered", a, T0 - 1000),
            _member("ParticipantEntered", d, T0 - 500),
            _member("ParticipantEntered", b, T0 + 10),
            _member("ParticipantEntered", c, T0 + 20),
            msg(p1, a, T0 + 5, "hello <world> & co", preview=target),
            msg(pf, c, T0 + 40, "two files"),
            transfer("FileTransferStarted", c, T0 + 40, "a.txt", path1),
            transfer("FileTransferStarted", c, T0 + 40, "b.bin", path2),
            transfer("FileTransferEnded", c, T0 + 40, "a.txt", path1),
            transfer("FileTransferEnded", c, T0 + 40, "b.bin", path2),
            msg(dele, a, T0 + 45, "oops"),
            *edit_pair,
            msg(pf, c, T0 + 40, f"delete {path2}", utype="FileDeleted", updated=T0 + 60),
            msg(dele, a, T0 + 45, "delete oops", utype="Deleted", updated=T0 + 70),
            _member("ParticipantLeft", d, T0 + 30),
            _member("ParticipantLeft", b, T0 + 80),
            _member("ParticipantLeft", a, END),
            _member("ParticipantLeft", c, END),
            ("EndTimeUTC", str(END)),
        ]
        # attachments at their raw paths, byte-identical to the store
        assert out.names(z) == [ACTIANCE_XML, path1, path2]
        with zipfile.ZipFile(z) as zf:
            assert zf.read(path1) == (file_store / path1).read_bytes() == b"alpha"
            assert zf.read(path2) == bytes(range(256))
        s = out.summary
        assert (s["status"], s["messages"], s["message_entries"], s["files"], s["files_missing"]) == (
            "success",
            5,
            6,
            2,
            0,
        )

    def test_direct_message_and_bot(self, ws: Workspace, run_actiance):
        alice, bot = ws.user("alice"), ws.user("helperbot", bot=True)
        dm = ws.channel("dm", team=None, ctype="D", name=f"{alice}__{bot}", display="")
        ws.history(dm, alice, T0 - 10)
        pid = ws.post("b1", channel=dm, user=bot, create=T0 + 3, message="beep")  # bot: no history row
        root = _doc(*(lambda o: (o, o.zips[0]))(run_actiance(START, END)))
        (conv,) = root
        assert conv.get("Perspective") == "Direct Message"
        assert conv.findtext("RoomID") == f"direct - {alice}__{bot} - {dm}"
        _assert_well_formed_conversation(conv)
        entered = [_fields(e) for e in conv.iter("ParticipantEntered")]
        assert entered == [
            _member("ParticipantEntered", "alice@example.com", T0 - 10)[1],
            _member("ParticipantEntered", "helperbot@example.com", START, "bot")[1],  # synthetic join
        ]
        (m,) = conv.iter("Message")
        assert m.findtext("MessageId") == pid
        assert m.findtext("UserType") == "bot"

    def test_channels_in_id_order_and_join_only_channel(self, ws: Workspace, run_actiance):
        team = ws.team("acme")
        alice = ws.user("alice")
        chans = [ws.channel(f"c{i}", team=team) for i in range(4)]
        for i, ch in enumerate(chans[:3]):
            ws.history(ch, alice, T0 - 10)
            ws.post(f"p{i}", channel=ch, user=alice, create=T0 + i)
        ws.history(chans[3], alice, T0 + 30, T0 + 60)  # only a join and a leave
        out = run_actiance(START, END)
        root = _doc(out, out.zips[0])
        ids = [c.findtext("RoomID").rsplit(" - ", 1)[1] for c in root]
        assert ids == sorted(chans)
        quiet = next(c for c in root if c.findtext("RoomID").endswith(chans[3]))
        assert [c.tag for c in quiet] == [
            "RoomID",
            "StartTimeUTC",
            "ParticipantEntered",
            "ParticipantLeft",
            "EndTimeUTC",
        ]
        assert quiet.find("ParticipantLeft").findtext("DateTimeUTC") == str(T0 + 60)
        for conv in root:
            _assert_well_formed_conversation(conv)


def _dated(conv: etree._Element) -> list[tuple[str, list[tuple[str, str]]]]:
    """The Message / FileTransferStarted / FileTransferEnded children of a conversation, in order."""
    return [
        (c.tag, _fields(c)) for c in conv if c.tag in ("Message", "FileTransferStarted", "FileTransferEnded")
    ]


def msg(pid, email, created, content, *, utype=None, updated=None, edited=None, preview=None):
    """A ``Message`` element as (tag, fields)."""
    fields = [("MessageId", pid), ("LoginName", email), ("UserType", "user"), ("DateTimeUTC", str(created))]
    if utype:
        fields += [("UpdatedType", utype), ("UpdatedDateTimeUTC", str(updated))]
    if edited:
        fields.append(("EditedNewMsgId", edited))
    fields.append(("Content", content))
    if preview:
        fields.append(("PreviewsPost", preview))
    return ("Message", fields)


def transfer(tag, email, when, name, path):
    """A ``FileTransferStarted`` / ``FileTransferEnded`` element as (tag, fields)."""
    fields = [("LoginName", email), ("DateTimeUTC", str(when)), ("UserFileName", name), ("FileName", path)]
    if tag == "FileTransferEnded":
        fields.append(("Status", "Completed"))
    return (tag, fields)


MM_EMAIL = "test@test.com"  # the author of Mattermost's test posts


class TestOrderAsMattermost:
    """The order of a conversation's dated elements, as Mattermost 10.5+ writes it: a stable sort by
    (time, id) where an edited, updated or deleted entry sorts by its update time (actiance_export.go
    ``PostExport.SortVal``, ``SortableSort``). Expected elements are those of Mattermost's own tests
    (server/enterprise/message_export/actiance_export/actiance_export_test.go, TestActianceExport),
    with the same ids, times and texts, written by the real pipeline from PostgreSQL, through both
    the database-rendered and the Python path."""

    @pytest.fixture(params=["database", "python"])
    def export(self, request, ws: Workspace, run_actiance, monkeypatch):
        if request.param == "python":
            monkeypatch.setattr(ActianceFormat, "accelerator", None)
        team = ws.team("team")
        chan = ws.channel(
            "channel", team=team, ctype="D", name="channel-name", display="channel-display-name"
        )
        user = ws.user("username", email="test@test.com")
        ws.history(chan, user, 0)

        def run(*, end: int = 501):
            (z,) = (out := run_actiance(1, end)).zips
            (conv,) = _doc(out, z)
            return conv

        return ws, chan, user, run

    def test_edits_and_deletions_sort_by_their_update_time(self, export):
        """Case "posts": an edit (its old text and new text at updateat 2) and a deletion (at 4) of posts
        created at 1 come after the "created" entry of the deleted post and before a post created at 100."""
        ws, chan, user, run = export
        ws.post(
            "a",
            pid="post-original-id",
            channel=chan,
            user=user,
            create=1,
            update=2,
            edit=2,
            message="edited message",
        )
        ws.post(
            "b",
            pid="post-id",
            channel=chan,
            user=user,
            create=1,
            update=2,
            delete=2,
            original="post-original-id",
            message="original message",
        )
        ws.post(
            "c",
            pid="post-id2",
            channel=chan,
            user=user,
            create=1,
            update=4,
            delete=4,
            message="message2",
            props={"deleteBy": "fy8j97gwii84bk4zxprbpc9d9w"},
        )
        ws.post(
            "d", pid="post-id3", channel=chan, user=user, create=100, root="post-root-id", message="message3"
        )
        assert _dated(run()) == [
            msg("post-id2", MM_EMAIL, 1, "message2"),
            msg(
                "post-id",
                MM_EMAIL,
                1,
                "original message",
                utype="EditedOriginalMsg",
                updated=2,
                edited="post-original-id",
            ),
            msg("post-original-id", MM_EMAIL, 1, "edited message", utype="EditedNewMsg", updated=2),
            msg("post-id2", MM_EMAIL, 1, "delete message2", utype="Deleted", updated=4),
            msg("post-id3", MM_EMAIL, 100, "message3"),
        ]

    @pytest.mark.parametrize("deleted_post", [True, False], ids=["deleted-post", "live-post"])
    def test_deleted_attachment(self, export, deleted_post):
        """Cases "posts with deleted attachments and deleted post" (the "created" entry and its file
        transfers at 1, then the deletion and the file's deletion at 2) and "posts with deleted
        attachments, no deleted post, and at different time from original post" (the file's deletion
        at its own deleteat, after the post's transfers)."""
        ws, chan, user, run = export
        deletion = {"update": 2, "delete": 2, "props": {"deleteBy": "fy8j97gwii84bk4zxprbpc9d9w"}}
        pid = ws.post(
            "p",
            pid="post-id-1",
            channel=chan,
            user=user,
            create=1,
            message="message1",
            **(deletion if deleted_post else {}),
        )
        ws.file(
            "f",
            post=pid,
            user=user,
            channel=chan,
            name="test1-attachment",
            path="test1-attachment",
            create=1,
            delete=2,
        )
        deleted = (
            [msg("post-id-1", MM_EMAIL, 1, "delete message1", utype="Deleted", updated=2)]
            if deleted_post
            else []
        )
        assert _dated(run(end=701)) == [
            msg("post-id-1", MM_EMAIL, 1, "message1"),
            transfer("FileTransferStarted", MM_EMAIL, 1, "test1-attachment", "test1-attachment"),
            transfer("FileTransferEnded", MM_EMAIL, 1, "test1-attachment", "test1-attachment"),
            *deleted,
            msg("post-id-1", MM_EMAIL, 1, "delete test1-attachment", utype="FileDeleted", updated=2),
        ]

    def test_transfers_follow_every_message_of_their_millisecond(self, export):
        """actiance_export.go: a transfer sorts as (post createat, ``EnsureLastMessageInASort``), so the
        messages of a millisecond come first (whatever their ids), then every FileTransferStarted,
        then every FileTransferEnded, each in batch order (the stable sort keeps the order appended)."""
        ws, chan, user, run = export
        for tag in ("b", "a"):  # batch order: updateat, id ("post-a" < "post-b")
            pid = ws.post(
                tag, pid=f"post-{tag}", channel=chan, user=user, create=5, update=6 if tag == "b" else 5
            )
            ws.file(
                f"f{tag}", post=pid, user=user, channel=chan, name=f"{tag}.txt", path=f"{tag}.txt", create=5
            )
        ws.post("z", pid="zzzzzzzzzzzzzzzzzzzzzzzzzy", channel=chan, user=user, create=5, message="last id")
        assert [(tag, dict(f).get("MessageId") or dict(f)["UserFileName"]) for tag, f in _dated(run())] == [
            ("Message", "post-a"),
            ("Message", "zzzzzzzzzzzzzzzzzzzzzzzzzy"),
            ("FileTransferStarted", "a.txt"),
            ("FileTransferStarted", "b.txt"),
            ("FileTransferEnded", "a.txt"),
            ("FileTransferEnded", "b.txt"),
            ("Message", "post-b"),
        ]


class TestCharacters:
    CONTENT = "ctl:\x01\x02\x08\x0b\x0c\x0e\x1f del:\x7f nonchars:\ufffe\uffff emoji:\U0001f600\U0001f44d\u200d crlf:\r\n tab:\t <&>\"'"

    def test_control_characters_and_emoji_parse(self, ws: Workspace, run_actiance):
        team = ws.team("acme")
        chan = ws.channel("town", team=team, display="Town \x07 Square \U0001f3e0")
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 10)
        pid = ws.post("ctl", channel=chan, user=alice, create=T0 + 1, message=self.CONTENT)
        out = run_actiance(START, END)
        (conv,) = _doc(out, out.zips[0])
        (m,) = conv.iter("Message")
        expected = (
            "ctl:\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd del:\x7f nonchars:\ufffd\ufffd "
            "emoji:\U0001f600\U0001f44d\u200d crlf:\r\n tab:\t <&>\"'"
        )
        assert m.findtext("MessageId") == pid
        assert m.findtext("Content") == expected
        assert conv.get("Perspective") == "Town \ufffd Square \U0001f3e0"

    def test_lone_surrogates_parse(self, mm_conn, ws: Workspace, file_store):
        """PostgreSQL cannot store lone surrogates, so the batch is altered in memory before rendering."""
        team = ws.team("acme")
        chan = ws.channel("town", team=team)
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 10)
        ws.post("s", channel=chan, user=alice, create=T0 + 1, message="x")
        ((batch, _counts),) = list(iter_batches(mm_conn, ExportWindow(START, END)))
        cp = batch.posts[0]
        bad = "a\ud800b\udfffc\U0001f600"
        post = dataclasses.replace(cp.post, message=bad)
        entry = dataclasses.replace(cp.messages[0], post=post, message=bad)
        batch.posts[0] = dataclasses.replace(cp, post=post, messages=(entry,))
        buf = io.BytesIO()
        with BatchZipWriter(buf, timestamp_ms=END) as zw:
            ActianceFormat(settings_for(file_store)).write_batch(batch, zw, LocalFileStore(file_store))
        with zipfile.ZipFile(buf) as zf:
            root = etree.fromstring(zf.read(ACTIANCE_XML))
        assert root.findtext("Conversation/Message/Content") == "a\ufffdb\ufffdc\U0001f600"


class TestBatchesAndFiles:
    def test_closing_leaves_per_batch_and_determinism(self, ws: Workspace, run_actiance, tmp_path):
        team = ws.team("acme")
        chan = ws.channel("town", team=team)
        alice, bob = ws.user("alice"), ws.user("bob")
        ws.history(chan, alice, T0 - 10)
        ws.history(chan, bob, T0 + 15, T0 + 35)
        for i in range(6):
            ws.post(f"p{i}", channel=chan, user=alice, create=T0 + 10 * i + 1)
        first = run_actiance(START, END, batch_size=2, dest=tmp_path / "a")
        second = run_actiance(START, END, batch_size=2, dest=tmp_path / "b")
        assert len(first.zips) == 3
        assert [z.read_bytes() for z in first.zips] == [z.read_bytes() for z in second.zips]
        seen_posts = []
        for z in first.zips:
            (conv,) = _doc(first, z)
            _assert_well_formed_conversation(conv)
            _, start, end = z.stem.split("-")
            assert (conv.findtext("StartTimeUTC"), conv.findtext("EndTimeUTC")) == (start, end)
            for left in conv.iter("ParticipantLeft"):
                if left.findtext("LoginName") == "alice@example.com":
                    assert left.findtext("DateTimeUTC") == end  # closing leave at the batch end
            seen_posts += [m.findtext("MessageId") for m in conv.iter("Message")]
        assert sorted(seen_posts) == sorted(mmid(f"p{i}") for i in range(6))
        assert first.summary["messages"] == 6

    def test_missing_duplicate_and_reserved_paths(self, ws: Workspace, run_actiance, file_store):
        team = ws.team("acme")
        chan = ws.channel("town", team=team)
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 10)
        pid = ws.post("p", channel=chan, user=alice, create=T0 + 1)
        ws.file(
            "ok",
            post=pid,
            user=alice,
            channel=chan,
            name="ok.txt",
            content=b"fine",
            create=T0 + 1,
            path="shared/ok.txt",
        )
        ws.file(
            "dup",
            post=pid,
            user=alice,
            channel=chan,
            name="ok2.txt",
            content=b"fine",
            create=T0 + 2,
            path="shared/ok.txt",
        )
        ws.file(
            "gone",
            post=pid,
            user=alice,
            channel=chan,
            name="gone.txt",
            content=None,
            create=T0 + 3,
            path="shared/gone.txt",
        )
        odd = ws.file(
            "odd",
            post=pid,
            user=alice,
            channel=chan,
            name="w.txt",
            content=b"not a warning",
            create=T0 + 4,
            path="warning.txt",
        )
        ws.file(
            "evil",
            post=pid,
            user=alice,
            channel=chan,
            name="e.txt",
            content=None,
            create=T0 + 5,
            path="../etc/passwd",
        )
        out = run_actiance(START, END)
        (z,) = out.zips
        assert out.names(z) == [
            ACTIANCE_XML,
            "shared/ok.txt",
            f"files/{pid}/{odd}-warning.txt",
            "warning.txt",
        ]
        warnings = out.read(z, "warning.txt").splitlines()
        assert len(warnings) == 2
        assert warnings[0].endswith(f"- Post: {pid} - shared/gone.txt")
        assert warnings[1].endswith(f"- Post: {pid} - ../etc/passwd")
        s = out.summary
        assert (s["status"], s["files"], s["files_missing"]) == ("warning", 3, 2)
        assert len(list(_doc(out, z).iter("FileTransferStarted"))) == 5

    def test_xml_is_streamed_into_the_entry(self, mm_conn, ws: Workspace, file_store):
        """The document reaches the zip stream in many writes while it is produced (no tree of the batch)."""
        team = ws.team("acme")
        chan = ws.channel("town", team=team)
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 10)
        for i in range(1000):
            ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i, message="m" * 300)

        class CountingSink(BatchZipWriter):
            writes = 0

            def open(self, name, **kw):
                ctx = super().open(name, **kw)
                sink = self

                class Wrap:
                    def __enter__(self):
                        self.stream = ctx.__enter__()
                        real = self.stream.write

                        def write(data):
                            sink.writes += 1
                            return real(data)

                        self.stream.write = write
                        return self.stream

                    def __exit__(self, *exc):
                        return ctx.__exit__(*exc)

                return Wrap()

        ((batch, _),) = list(iter_batches(mm_conn, ExportWindow(START, START + 10_000)))
        buf = io.BytesIO()
        with CountingSink(buf, timestamp_ms=END) as zw:
            get_format("actiance", settings_for(file_store)).write_batch(
                batch, zw, LocalFileStore(file_store)
            )
            assert zw.writes > 5
        with zipfile.ZipFile(buf) as zf:
            assert len(etree.fromstring(zf.read(ACTIANCE_XML)).findall("Conversation/Message")) == 1000


@pytest.mark.airflow
def test_dag_run_actiance(mm_dsn, ws: Workspace, file_store, tmp_path, airflow_env):
    """``airflow dags test compliance_export -c '{"export_format": "actiance", ...}'`` for real."""
    team = ws.team("acme")
    chan = ws.channel("town", team=team, display="Town Square")
    alice = ws.user("alice")
    ws.history(chan, alice, T0 - 10)
    pid = ws.post("p", channel=chan, user=alice, create=T0 + 1, message="through the DAG \x01 😀")
    ws.file("f", post=pid, user=alice, channel=chan, name="a.txt", content=b"attached", create=T0 + 1)
    dest = tmp_path / "exports"
    settings = {
        "FileSettings": {"DriverName": "local", "Directory": str(file_store)},
        "MessageExportSettings": {"ExportFormat": "csv"},
        "Mmgov": {"ExportDestination": str(dest)},
    }
    env = airflow_env(mm_dsn, settings)
    env.dags_test("compliance_export", {"export_format": "actiance", "export_from": START, "export_to": END})
    (z,) = (dest / ExportWindow(START, END).folder_name).glob("batch*.zip")
    with zipfile.ZipFile(z) as zf:
        root = etree.fromstring(zf.read(ACTIANCE_XML))
        assert zf.namelist()[1].endswith("/a.txt")
        assert zf.read(zf.namelist()[1]) == b"attached"
    (conv,) = root
    _assert_well_formed_conversation(conv)
    assert conv.findtext("Message/Content") == "through the DAG \ufffd 😀"


def test_texts_are_escaped_as_lxml_escapes_them(ws: Workspace, run_export, tmp_path):
    """Escapes and forbidden characters through the whole pipeline (the database rendering;
    test_accelerator checks the Python one writes the same bytes)."""
    posts = rendering_workspace(ws, at=T0, before=START - 50)
    out = run_export(START, END, batch_size=7, dest=tmp_path / "db", export_format="actiance")
    for z in out.zips:
        etree.fromstring(out.read(z, ACTIANCE_XML).encode())  # parses, whatever the messages held
    everything = "".join(out.read(z, ACTIANCE_XML) for z in out.zips)
    assert "<Content>a&amp;b&lt;c&gt;d</Content>" in everything
    assert "<Content>cr&#13;only</Content>" in everything
    assert "<Content>ctl\ufffd\ufffd\ufffd\ufffd\ufffd</Content>" in everything
    assert "<MessageId>id&amp;&lt;odd&gt;</MessageId>" in everything
    assert "<LoginName>a&amp;&lt;b&gt;,1@example.com</LoginName>" in everything
    assert "<LoginName>carol\ufffd@example.com</LoginName>" in everything
    assert "<PreviewsPost> x,y\ufffd\ufffd</PreviewsPost>" in everything
    assert out.summary["messages"] == posts
    assert "<UpdatedType>Deleted</UpdatedType>" in everything
    assert "<Content>delete said, then took back &amp; &lt;gone&gt;</Content>" in everything
    assert "<EditedNewMsgId>a,b&amp;&lt;c&gt;</EditedNewMsgId>" in everything
