"""Global Relay EML against a real database: each email parsed back (headers, both bodies, attachments)."""

from __future__ import annotations

import logging
import re
from email.utils import parsedate_to_datetime

import pytest

from mmgov.compliance.formats import get_format
from mmgov.compliance.globalrelay_format import ATTACHMENTS_REMOVED_ID
from mmgov.errors import SettingsError
from mmgov.outcome import is_deterministic
from tests.compliance.builders import Workspace, mmid
from tests.compliance.gr_support import (
    attachments,
    gr_settings,
    html_body,
    run_gr,
    text_body,
)

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
START, END = T0, T0 + 100_000


@pytest.fixture
def gr(mm_conn, file_store, tmp_path):
    """``gr(start, end, **kw)`` -> GrOutput of a real globalrelay-zip run into a fresh folder."""
    runs = iter(range(1000))

    def run(start=START, end=END, **kw):
        return run_gr(mm_conn, file_store, tmp_path / f"out{next(runs)}", start, end, **kw)

    return run


def _town(ws: Workspace, display: str = "Town Square") -> tuple[str, str]:
    team = ws.team("acme", display="Acme Corp")
    return team, ws.channel("town", team=team, display=display)


class TestEmail:
    def test_headers_bodies_and_attachments(self, ws: Workspace, gr, file_store):
        team, chan = _town(ws)
        alice, bob, zed = ws.user("alice"), ws.user("bob"), ws.user("zed")
        ws.history(chan, zed, T0 - 1000)
        ws.history(chan, bob, T0 + 10, T0 + 80)
        ws.history(chan, alice, T0 - 500)
        p1 = ws.post("p1", channel=chan, user=alice, create=T0 + 5, message='hello <b>bold</b> & "q"\nline 2')
        hook = ws.post(
            "hook",
            channel=chan,
            user=bob,
            create=T0 + 20,
            message="from ci",
            props={"from_webhook": "true", "override_username": "ci-bot"},
        )
        live = ws.post(
            "live", channel=chan, user=bob, create=T0 + 30, update=T0 + 50, edit=T0 + 50, message="new text"
        )
        pf = ws.post("pf", channel=chan, user=zed, create=T0 + 40, message="files")
        f1 = ws.file(
            "f1",
            post=pf,
            user=zed,
            channel=chan,
            name="report.pdf",
            content=b"%PDF-1.4 " + bytes(range(256)) * 40,
            create=T0 + 40,
        )
        f2 = ws.file(
            "f2",
            post=pf,
            user=zed,
            channel=chan,
            name="notes.txt",
            content=b"some notes\n",
            create=T0 + 41,
            delete=T0 + 60,
        )
        dele = ws.post(
            "gone",
            channel=chan,
            user=alice,
            create=T0 + 45,
            update=T0 + 70,
            delete=T0 + 70,
            message="secret oops",
            props={"deleteBy": alice},
        )
        out = gr()
        (z,) = out.zips
        name = f"town - ({chan}) - 0.eml"
        assert list(out.entries(z)) == [name]
        msg = out.emls(z)[name]
        assert msg["From"] == "alice@example.com"  # participants sorted by username: alice, bob, zed
        assert [a.addr_spec for a in msg["To"].addresses] == [
            "alice@example.com",
            "bob@example.com",
            "zed@example.com",
        ]
        assert msg["Subject"] == "Mattermost Compliance Export: Town Square"
        assert parsedate_to_datetime(msg["Date"]).timestamp() * 1000 == END
        for header, value in [
            ("MIME-Version", "1.0"),
            ("Auto-Submitted", "auto-generated"),
            ("Precedence", "bulk"),
            ("X-GlobalRelay-MsgType", "Mattermost"),
            ("X-Mattermost-ChannelName", "Town Square"),
            ("X-Mattermost-ChannelID", chan),
            ("X-Mattermost-ChannelType", "public"),
        ]:
            assert msg[header] == value, header
        assert msg.get_content_type() == "multipart/mixed"
        assert msg["Message-ID"].endswith("@mmgov.compliance-export>")
        text, doc = text_body(msg), html_body(msg)
        # summary
        assert "  Team: Acme Corp (acme)" in text
        assert f"  Team Id: {team}" in text
        assert "  Channel: Town Square (town)" in text
        assert f"  Channel Id: {chan}" in text
        assert "  Started: 2026-01-01T00:00:00.000Z" in text
        assert "  Ended: 2026-01-01T00:01:40.000Z" in text
        assert "  Duration: 1 minute 40 seconds" in text
        assert "<tr><th>Duration</th><td>1 minute 40 seconds</td></tr>" in doc
        # participants (sorted by username) with their message counts
        assert re.search(
            r"@alice \(user, alice@example.com, user id \w+\): joined 2025-12-31T23:59:59.500Z, "
            r"left 2026-01-01T00:01:40.000Z, duration 1 minute 40 seconds, 2 messages\n",
            text,
        )
        assert "@bob (user, bob@example.com, user id " in text
        assert "left 2026-01-01T00:00:00.080Z" in text
        assert ", 2 messages\n" in text  # bob: the webhook post and the edit
        assert f"<tr><td>{mmid('zed')}</td><td>@zed</td><td>user</td><td>zed@example.com</td>" in doc
        # messages in time order; the deletion is not exported (the seed), the "created" entry is
        order = [
            text.index(s)
            for s in (
                "hello <b>bold</b>",
                "from ci",
                "new text",
                "] @zed",
                "Uploaded file report.pdf",
                "Uploaded file notes.txt",
                "Deleted file notes.txt",  # file lines are sent at their post's createat (TestAsMattermost)
                "secret oops",
            )
        ]
        assert order == sorted(order)
        assert "delete secret oops" not in text
        assert "(Deleted at" not in text
        assert "Deleted file notes.txt\n      (FileDeleted at 2026-01-01T00:00:00.060Z)" in text
        assert f'@bob as "ci-bot" (user, bob@example.com, user id {bob}), post {hook}:' in text
        assert "(EditedNewMsg at 2026-01-01T00:00:00.050Z)" in text
        assert 'hello <b>bold</b> & "q"\n      line 2' in text
        # HTML: all user content escaped
        assert "hello &lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot;\nline 2" in doc
        assert "<b>" not in doc
        assert f'<span class="post_id">{p1}</span>' in doc
        assert '<span class="postusername">ci-bot</span>' in doc
        assert '<span class="update_type">EditedNewMsg</span>' in doc
        assert live in doc
        assert dele in doc
        # attachments: real MIME parts, decoded byte-identical to the store
        path1 = f"20260105/teams/noteam/channels/{chan}/users/{zed}/{f1}/report.pdf"
        path2 = f"20260105/teams/noteam/channels/{chan}/users/{zed}/{f2}/notes.txt"
        assert attachments(msg) == [
            ("report.pdf", "application/pdf", (file_store / path1).read_bytes()),
            ("notes.txt", "text/plain", (file_store / path2).read_bytes()),
        ]
        for part in msg.iter_attachments():
            assert part["Content-Transfer-Encoding"] == "base64"
            assert part.get_content_disposition() == "attachment"
        s = out.summary
        assert (s["status"], s["messages"], s["files"], s["files_missing"], s["files_skipped"]) == (
            "success",
            5,
            2,
            0,
            0,
        )

    def test_rfc2047_and_rfc2231_for_non_ascii(self, ws: Workspace, gr, file_store):
        _team, chan = _town(ws, display="Café ☕ Ünïcode")
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 1)
        pid = ws.post("p", channel=chan, user=alice, create=T0 + 1, message="naïve 😀 \x07 bell")
        fid = ws.file(
            "f",
            post=pid,
            user=alice,
            channel=chan,
            name="résumé d'été.docx",
            content=b"PK\x03\x04 x",
            create=T0 + 1,
        )
        out = gr()
        name = f"town - ({chan}) - 0.eml"
        raw = out.entries()[name]
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii()  # headers are 7-bit: RFC 2047 words, RFC 2231 parameters
        assert b"=?utf-8?" in head
        msg = out.emls()[name]
        assert msg["Subject"] == "Mattermost Compliance Export: Café ☕ Ünïcode"
        assert msg["X-Mattermost-ChannelName"] == "Café ☕ Ünïcode"
        assert "naïve 😀 \x07 bell" in text_body(msg)
        ((filename, ctype, data),) = attachments(msg)
        assert filename == "résumé d'été.docx"
        assert ctype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        assert data == b"PK\x03\x04 x"
        assert fid

    def test_direct_message(self, ws: Workspace, gr):
        alice, bob = ws.user("alice"), ws.user("bob")
        dm = ws.channel("dm", team=None, ctype="D", name=f"{alice}__{bob}", display="")
        ws.history(dm, alice, T0 - 10)
        ws.history(dm, bob, T0 - 10)
        ws.post("dm1", channel=dm, user=bob, create=T0 + 3, message="hi alice")
        out = gr()
        emls = out.emls()
        assert list(emls) == [f"{alice}__{bob} - ({dm}) - 0.eml"]  # the channel name (TestAsMattermost)
        msg = emls[f"{alice}__{bob} - ({dm}) - 0.eml"]
        assert msg["Subject"] == "Mattermost Compliance Export: Direct Message"
        assert msg["X-Mattermost-ChannelType"] == "direct"
        assert msg["From"] == "alice@example.com"
        assert "  Team: \n" in text_body(msg)
        assert out.summary["messages"] == 1

    def test_empty_window(self, ws: Workspace, gr):
        out = gr()
        (z,) = out.zips
        assert out.entries(z) == {}
        assert out.summary["status"] == "success"

    def test_deterministic(self, ws: Workspace, gr):
        _team, chan = _town(ws)
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 1)
        for i in range(5):
            pid = ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i)
            ws.file(
                f"f{i}",
                post=pid,
                user=alice,
                channel=chan,
                name=f"f{i}.png",
                content=bytes([i]) * 1000,
                create=T0 + i,
            )
        first, second = gr(batch_size=2), gr(batch_size=2)
        assert len(first.zips) == 3
        assert [z.read_bytes() for z in first.zips] == [z.read_bytes() for z in second.zips]


class TestAsMattermost:
    """Global Relay EML as Mattermost 10.5+ writes it, with expected values from Mattermost's own tests:
    server/enterprise/message_export/message_export_test.go (TestRunExportJobE2EByType, "GlobalRelay
    e2e 1", testdata/grE2E1Batch1Ch3.tmpl and grE2E1Batch1SummaryCh3.tmpl) and
    server/enterprise/message_export/global_relay_export/global_relay_export_test.go
    (TestGlobalRelayExport). ``globalrelay`` mails the very emails of ``globalrelay-zip``
    (test_globalrelay_delivery.py::TestDelivery::test_join_only_channel_is_mailed_too)."""

    def _e2e_channels(self, ws: Workspace) -> tuple[str, str, str, str]:
        """Channels two (private, a post) and three (public: user7 was in it and left, no post)."""
        team = ws.team("team")
        two = ws.channel("two", team=team, ctype="P", name="channel_two_name", display="the Channel Two")
        three = ws.channel("three", team=team, name="channel_three_name", display="the Channel Three")
        user1, user7 = ws.user("user1", email="user1@email"), ws.user("user7", email="user7@email")
        ws.history(two, user1, T0 - 10)
        ws.history(three, user7, T0 - 10, T0 + 30)
        ws.post("m0", channel=two, user=user1, create=T0 + 5, message="message 0")
        return two, three, user1, user7

    def test_entry_names_use_the_channel_name(self, ws: Workspace, gr):
        """The test opens each channel's email by a name starting with ``channel.Name``
        (``openZipAndReadFileStartingWith(t, exportBackend, batchName, channel2.Name)``):
        global_relay_export.go names it ``<channel name> - (<channel id>) - <n>.eml``."""
        two, three, _user1, _user7 = self._e2e_channels(ws)
        (z,) = (out := gr()).zips
        assert sorted(out.entries(z)) == sorted(
            [f"channel_two_name - ({two}) - 0.eml", f"channel_three_name - ({three}) - 0.eml"]
        )

    def test_channel_with_only_joins_and_leaves_gets_an_email(self, ws: Workspace, gr):
        """Channel three: its headers (Subject, From, To, X-Mattermost-ChannelName/ChannelType) and a
        participants table of user7 with 0 messages, and no message. (Mattermost leaves the team name
        of such a channel empty; mmgov fills it: docs/compliance-export.md, compatibility.)"""
        _two, three, _user1, user7 = self._e2e_channels(ws)
        out = gr()
        msg = out.emls()[f"channel_three_name - ({three}) - 0.eml"]
        for header, value in {
            "Subject": "Mattermost Compliance Export: the Channel Three",
            "From": "user7@email",
            "To": "user7@email",
            "X-Mattermost-ChannelName": "the Channel Three",
            "X-Mattermost-ChannelID": three,
            "X-Mattermost-ChannelType": "public",
        }.items():
            assert msg[header] == value, header
        text, doc = text_body(msg), html_body(msg)
        assert re.search(
            r"@user7 \(user, user7@email, user id \w+\): joined 2025-12-31T23:59:59.990Z, "
            r"left 2026-01-01T00:00:00.030Z, duration 0 seconds, 0 messages\n",
            text,
        )
        assert f"<tr><td>{user7}</td><td>@user7</td><td>user</td><td>user7@email</td>" in doc
        assert text.endswith("\nMessages\n")
        assert "<ul>\n</ul>" in doc
        assert "  Team: Team (team)" in text  # mmgov fills the team (Mattermost: empty)
        assert attachments(msg) == []
        assert out.summary["messages"] == 1  # channel two's post; channel three adds no post row

    def test_deleted_file_line(self, ws: Workspace, gr):
        """Case "posts with deleted post and deleted attachments": post-id-1 (created at 1, its file
        deleted at 200,000) gives its message, ``Uploaded file test1-attachment`` and ``Deleted file
        test1-attachment``, all sent at the post's createat, the last with ``FileDeleted`` at the
        file's deleteat; then post-id-2 (created at 100,000, deleted at 200,000). The same lines for
        a deleted post created in the window and its file (global_relay_export.go:
        ``postToMessage(post)`` for an upload, ``postToMessage(deleted)`` of the file's
        ``deleteFileToExportEntry`` for its deletion), and the posts' ``Deleted`` entries with the
        option on."""
        team = ws.team("team-name", display="team-display-name")
        chan = ws.channel(
            "channel-id", team=team, ctype="D", name="channel-name", display="channel-display-name"
        )
        test1 = ws.user("test1", email="test1@test.com")
        ws.history(chan, test1, 0, 100_000)
        p1 = ws.post("p1", pid="post-id-1", channel=chan, user=test1, create=1, message="message")
        ws.file("f1", post=p1, user=test1, channel=chan, name="test1-attachment", create=1, delete=200_000)
        deleted = {"deleteBy": "fy8j97gwii84bk4zxprbpc9d9w"}
        ws.post(
            "p2",
            pid="post-id-2",
            root=p1,
            channel=chan,
            user=test1,
            create=100_000,
            update=200_000,
            delete=200_000,
            message="message",
            props=deleted,
        )
        p3 = ws.post(
            "p3",
            pid="post-id-3",
            channel=chan,
            user=test1,
            create=150_000,
            update=190_000,
            delete=190_000,
            message="with file",
            props=deleted,
        )
        ws.file("f3", post=p3, user=test1, channel=chan, name="b.txt", create=150_000, delete=190_000)
        out = gr(1, 200_001, mmgov={"GlobalRelayIncludeMessageDeletions": True})
        msg = out.emls()[f"channel-name - ({chan}) - 0.eml"]
        who = f"@test1 (user, test1@test.com, user id {test1})"
        lines = text_body(msg).split("\nMessages\n", 1)[1].splitlines()
        assert lines == [
            f"  [1970-01-01T00:00:00.001Z] {who}, post post-id-1:",
            "      message",
            f"  [1970-01-01T00:00:00.001Z] {who}, post post-id-1: Uploaded file test1-attachment",
            f"  [1970-01-01T00:00:00.001Z] {who}, post post-id-1: Deleted file test1-attachment",
            "      (FileDeleted at 1970-01-01T00:03:20.000Z)",
            f"  [1970-01-01T00:01:40.000Z] {who}, post post-id-2:",
            "      message",
            f"  [1970-01-01T00:01:40.000Z] {who}, post post-id-2:",
            "      delete message",
            "      (Deleted at 1970-01-01T00:03:20.000Z)",
            f"  [1970-01-01T00:02:30.000Z] {who}, post post-id-3:",
            "      with file",
            f"  [1970-01-01T00:02:30.000Z] {who}, post post-id-3:",
            "      delete with file",
            "      (Deleted at 1970-01-01T00:03:10.000Z)",
            f"  [1970-01-01T00:02:30.000Z] {who}, post post-id-3: Uploaded file b.txt",
            f"  [1970-01-01T00:02:30.000Z] {who}, post post-id-3: Deleted file b.txt",
            "      (FileDeleted at 1970-01-01T00:03:10.000Z)",
        ]
        doc = html_body(msg)
        assert (
            '<span class="sent_time">1970-01-01T00:00:00.001Z</span>'
            in doc.split("Deleted file test1-attachment")[0].rsplit("<li>", 1)[1]
        )
        assert (
            '<span class="message">Deleted file test1-attachment</span> <span class="update_type">FileDeleted'
            '</span> <span class="update_time">1970-01-01T00:03:20.000Z</span></li>'
        ) in doc


class TestMessageDeletions:
    def _setup(self, ws):
        _team, chan = _town(ws)
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 1)
        old = ws.post(
            "old",
            channel=chan,
            user=alice,
            create=T0 - 50_000,
            update=T0 + 7,
            delete=T0 + 7,
            message="gone",
            props={"deleteBy": alice},
        )
        keep = ws.post("keep", channel=chan, user=alice, create=T0 + 8, message="stays")
        return chan, old, keep

    def test_excluded_by_default_and_counted_as_skipped(self, ws, gr):
        chan, old, _keep = self._setup(ws)
        out = gr()
        text = text_body(out.emls()[f"town - ({chan}) - 0.eml"])
        assert "stays" in text
        assert "gone" not in text
        assert old not in text
        assert out.summary["messages"] == 2  # both post rows reconciled: one exported, one skipped

    def test_included_with_the_option(self, ws, gr):
        chan, old, _keep = self._setup(ws)
        out = gr(mmgov={"GlobalRelayIncludeMessageDeletions": True})
        msg = out.emls()[f"town - ({chan}) - 0.eml"]
        text = text_body(msg)
        assert "delete gone" in text
        assert "(Deleted at 2026-01-01T00:00:00.007Z)" in text
        assert '<span class="update_type">Deleted</span>' in html_body(msg)
        assert old in text

    def test_channel_whose_only_post_is_a_left_out_deletion_still_gets_its_email(self, ws, gr):
        """Every channel of the batch gets an email (TestAsMattermost): this one names its participants
        and no message; the post row is reconciled as skipped."""
        _team, chan = _town(ws)
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 1)
        ws.post(
            "old",
            channel=chan,
            user=alice,
            create=T0 - 50_000,
            update=T0 + 7,
            delete=T0 + 7,
            message="gone",
            props={"deleteBy": alice},
        )
        out = gr()
        text = text_body(out.emls()[f"town - ({chan}) - 0.eml"])
        assert "@alice (user, alice@example.com" in text
        assert text.endswith("\nMessages\n")
        assert (out.summary["messages"], out.summary["message_entries"]) == (1, 0)


class TestSizeLimit:
    def test_split_into_several_emails_under_the_limit(self, ws: Workspace, gr, file_store):
        _team, chan = _town(ws)
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 1)
        contents = {}
        for i in range(8):
            pid = ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i, message=f"post number {i}")
            ws.file(
                f"f{i}",
                post=pid,
                user=alice,
                channel=chan,
                name=f"blob{i}.bin",
                content=bytes([i]) * 9000,
                create=T0 + i,
            )
            contents[f"blob{i}.bin"] = bytes([i]) * 9000
        limit = 40_000
        out = gr(mmgov={"GlobalRelayMaxEmailBytes": limit})
        entries = out.entries()
        names = sorted(n for n in entries if n.endswith(".eml"))
        assert len(names) >= 3
        assert names == [f"town - ({chan}) - {n}.eml" for n in range(len(names))]
        seen_files, seen_posts = {}, []
        for n, name in enumerate(names):
            assert len(entries[name]) <= limit, name
            msg = out.emls()[name]
            assert msg["Subject"] == "Mattermost Compliance Export: Town Square"
            text = text_body(msg)
            assert f"  Email: {n + 1} of {len(names)}" in text
            seen_posts += re.findall(r"post number (\d)", text)
            for filename, _ctype, data in attachments(msg):
                seen_files[filename] = data
        assert sorted(seen_posts) == [str(i) for i in range(8)]  # each post once, none lost
        assert seen_files == contents
        assert "warning.txt" not in entries
        assert out.summary["status"] == "success"

    def test_oversized_post_is_sent_without_its_attachments(self, ws: Workspace, gr, caplog):
        _team, chan = _town(ws)
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 1)
        small = ws.post("small", channel=chan, user=alice, create=T0 + 1, message="small one")
        ws.file("ok", post=small, user=alice, channel=chan, name="ok.txt", content=b"fits", create=T0 + 1)
        big = ws.post("big", channel=chan, user=alice, create=T0 + 2, message="big one")
        b1 = ws.file(
            "b1", post=big, user=alice, channel=chan, name="huge.iso", content=b"x" * 30_000, create=T0 + 2
        )
        b2 = ws.file(
            "b2",
            post=big,
            user=alice,
            channel=chan,
            name="also.iso",
            content=b"y" * 30_000,
            create=T0 + 3,
            delete=T0 + 9,
        )
        with caplog.at_level(logging.ERROR, logger="mmgov.compliance.globalrelay_format"):
            out = gr(mmgov={"GlobalRelayMaxEmailBytes": 40_000})
        emls = out.emls()
        texts = "\n".join(text_body(m) for m in emls.values())
        assert f"Uploaded file 'huge.iso' (id '{b1}') was removed because it was too large to send." in texts
        assert f"Uploaded file 'also.iso' (id '{b2}') was removed because it was too large to send." in texts
        assert f"Deleted file 'also.iso' (id '{b2}') was removed because it was too large to send." in texts
        assert "big one" in texts
        sent = [a for m in emls.values() for a in attachments(m)]
        assert sent == [("ok.txt", "text/plain", b"fits")]
        (record,) = [r for r in caplog.records if getattr(r, "id", None) == ATTACHMENTS_REMOVED_ID]
        assert record.levelno == logging.ERROR
        assert record.post_id == big
        assert record.attachment_ids == [b1, b2]
        assert ATTACHMENTS_REMOVED_ID in record.getMessage()
        assert big in record.getMessage()
        s = out.summary
        assert (s["status"], s["files"], s["files_skipped"], s["files_missing"], s["warnings"]) == (
            "warning",
            1,
            2,
            0,
            2,
        )
        warnings = out.entries()["warning.txt"].decode().splitlines()
        assert all(
            w.startswith("Warning:Attachment removed: too large to send to Global Relay - Post: " + big)
            for w in warnings
        )

    def test_missing_attachment_is_a_warning(self, ws: Workspace, gr):
        _team, chan = _town(ws)
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 1)
        pid = ws.post("p", channel=chan, user=alice, create=T0 + 1)
        ws.file("ok", post=pid, user=alice, channel=chan, name="ok.txt", content=b"fine", create=T0 + 1)
        miss = ws.file(
            "miss", post=pid, user=alice, channel=chan, name="lost.txt", content=None, create=T0 + 2
        )
        out = gr()
        (msg,) = out.emls().values()
        assert attachments(msg) == [("ok.txt", "text/plain", b"fine")]
        assert "Uploaded file lost.txt" in text_body(msg)
        assert out.entries()["warning.txt"].decode() == (
            "Warning:File backend read: File missing for post; cannot copy file to archive - Post: "
            f"{pid} - 20260105/teams/noteam/channels/{chan}/users/{alice}/{miss}/lost.txt\n"
        )
        assert (out.summary["status"], out.summary["files_missing"]) == ("warning", 1)


class TestFormatObject:
    def test_variants(self, file_store):
        mail = get_format("globalrelay", gr_settings(file_store, export_format="globalrelay"))
        keep = get_format("globalrelay-zip", gr_settings(file_store))
        assert (mail.publishes_archive, keep.publishes_archive) == (False, True)
        assert (mail.export_format, keep.export_format) == ("globalrelay", "globalrelay-zip")

    def test_mailing_needs_an_address(self, file_store):
        with pytest.raises(SettingsError, match=r"GlobalRelaySettings\.EmailAddress is empty") as err:
            get_format("globalrelay", gr_settings(file_store, export_format="globalrelay", email_address=""))
        assert is_deterministic(err.value)  # a task retry cannot fix a setting
        get_format("globalrelay-zip", gr_settings(file_store, email_address=""))  # keeping zips needs none
