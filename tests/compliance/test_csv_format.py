"""mmgov.compliance.csv_format: the CSV export against a real database (exact rows, classification,
membership, files, metadata)."""

from __future__ import annotations

import json

from mmgov.compliance.csv_format import HEADER
from tests.compliance.builders import Workspace, mmid, rendering_workspace

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
START, END = T0, T0 + 100_000


def _team_channel(ws: Workspace) -> tuple[str, str, str]:
    team = ws.team("acme", display="Acme Corp")
    chan = ws.channel("town", team=team, display="Town Square")
    alice = ws.user("alice")
    return team, chan, alice


class TestBasicRows:
    def test_empty_window_yields_one_empty_batch(self, ws, run_export):
        out = run_export(START, END)
        assert [z.name for z in out.zips] == [f"batch001-{START}-{END}.zip"]
        (z,) = out.zips
        assert out.names(z) == ["posts.csv", "metadata.json"]
        assert out.read(z, "posts.csv") == HEADER + "\n"
        assert json.loads(out.read(z, "metadata.json")) == {
            "Channels": None,
            "MessagesCount": 0,
            "AttachmentsCount": 0,
            "StartTime": START,
            "EndTime": END,
        }
        assert out.summary["status"] == "success"
        assert out.summary["messages"] == 0

    def test_plain_post_with_history_rows(self, ws, run_export):
        team, chan, alice = _team_channel(ws)
        bob = ws.user("bob")
        carol = ws.user("carol")
        ws.history(chan, alice, T0 - 1000)  # previously joined, still there
        ws.history(chan, bob, T0 + 10, T0 + 80)  # enters and leaves inside the window
        ws.history(chan, carol, END)  # joins exactly at the window end: next window
        ws.post("p1", channel=chan, user=alice, create=T0 + 5, message="hello, world")
        out = run_export(START, END)
        head = f"{team},acme,Acme Corp,{chan},town,Town Square,public"
        pid = mmid("p1")
        assert out.csv_lines() == [
            f"{T0 - 1000},0,,{head},{alice},alice@example.com,alice,,,,"
            "User alice (alice@example.com) was already in the channel,previously-joined,user,",
            f'{T0 + 5},{T0 + 5},,{head},{alice},alice@example.com,alice,{pid},,,"hello, world",message,user,',
            f"{T0 + 10},0,,{head},{bob},bob@example.com,bob,,,,User bob (bob@example.com) joined the channel,enter,user,",
            f"{T0 + 80},0,,{head},{bob},bob@example.com,bob,,,,User bob (bob@example.com) left the channel,leave,user,",
        ]
        meta = json.loads(out.read(out.zips[0], "metadata.json"))
        assert meta["Channels"][chan] == {
            "TeamId": team,
            "TeamName": "acme",
            "TeamDisplayName": "Acme Corp",
            "ChannelId": chan,
            "ChannelName": "town",
            "ChannelDisplayName": "Town Square",
            "ChannelType": "O",
            "RoomId": f"public - {chan}",
            "StartTime": START,
            "EndTime": END,
            "MessagesCount": 1,
            "AttachmentsCount": 0,
        }
        assert (meta["MessagesCount"], meta["AttachmentsCount"]) == (1, 0)


def _row(time, update, utype, head, user, pid, edited, root, message, ptype, utype_col="user", preview=""):
    uid, uname = user
    return (
        f"{time},{update},{utype},{head},{uid},{uname}@example.com,{uname},{pid},{edited},{root},{message},"
        f"{ptype},{utype_col},{preview}"
    )


class TestClassification:
    """Each classification rule, with the rows Mattermost writes for it."""

    def _setup(self, ws):
        team, chan, alice = _team_channel(ws)
        ws.history(chan, alice, T0 - 5000)
        head = f"{team},acme,Acme Corp,{chan},town,Town Square,public"
        prev = (
            f"{T0 - 5000},0,,{head},{alice},alice@example.com,alice,,,,"
            "User alice (alice@example.com) was already in the channel,previously-joined,user,"
        )
        return chan, alice, head, prev

    def test_edit_gives_edited_original_and_edited_new(self, ws, run_export):
        chan, alice, head, prev = self._setup(ws)
        live = ws.post(
            "live", channel=chan, user=alice, create=T0 + 10, update=T0 + 50, edit=T0 + 50, message="new text"
        )
        old = ws.post(
            "old",
            channel=chan,
            user=alice,
            create=T0 + 10,
            update=T0 + 50,
            delete=T0 + 50,
            original=live,
            message="old text",
        )
        out = run_export(START, END)
        a = (alice, "alice")
        expected = sorted(
            [
                _row(T0 + 10, T0 + 50, "EditedNewMsg", head, a, live, "", "", "new text", "message"),
                _row(T0 + 10, T0 + 50, "EditedOriginalMsg", head, a, old, live, "", "old text", "message"),
            ],
            key=lambda line: line.split(",")[13],
        )
        assert out.csv_lines() == [prev, *expected]

    def test_reaction_gives_updated_no_msg_change(self, ws, run_export):
        chan, alice, head, prev = self._setup(ws)
        pid = ws.post("r", channel=chan, user=alice, create=T0 - 90_000, update=T0 + 20, message="old post")
        out = run_export(START, END)
        assert out.csv_lines() == [
            _row(
                T0 - 90_000,
                T0 + 20,
                "UpdatedNoMsgChange",
                head,
                (alice, "alice"),
                pid,
                "",
                "",
                "old post",
                "message",
            ),
            prev,
        ]

    def test_post_created_and_deleted_in_window_gives_both_rows(self, ws, run_export):
        chan, alice, head, prev = self._setup(ws)
        pid = ws.post(
            "d",
            channel=chan,
            user=alice,
            create=T0 + 2,
            update=T0 + 3,
            delete=T0 + 3,
            message="oops",
            props={"deleteBy": alice},
        )
        fid = ws.file("df", post=pid, user=alice, channel=chan, name="x.txt", delete=T0 + 3)
        out = run_export(START, END)
        a = (alice, "alice")
        att = f"x.txt (files/{pid}/{fid}-x.txt)"
        assert out.csv_lines() == [
            prev,
            _row(T0 + 2, T0 + 3, "", head, a, pid, "", "", "oops", "message"),
            _row(T0 + 2, T0 + 3, "Deleted", head, a, pid, "", "", "delete oops", "message"),
            _row(T0 + 2, T0 + 3, "", head, a, pid, "", "", att, "attachment"),
            _row(T0 + 2, T0 + 3, "FileDeleted", head, a, pid, "", "", att, "deleted attachment"),
        ]
        assert out.summary["messages"] == 1
        assert out.summary["message_entries"] == 2

    def test_post_deleted_later_gives_deleted_row_only(self, ws, run_export):
        chan, alice, head, prev = self._setup(ws)
        pid = ws.post(
            "d2",
            channel=chan,
            user=alice,
            create=T0 - 50_000,
            update=T0 + 7,
            delete=T0 + 7,
            message="gone",
            props={"deleteBy": alice},
        )
        out = run_export(START, END)
        assert out.csv_lines() == [
            _row(
                T0 - 50_000, T0 + 7, "Deleted", head, (alice, "alice"), pid, "", "", "delete gone", "message"
            ),
            prev,
        ]

    def test_file_deleted_on_live_post(self, ws, run_export):
        chan, alice, head, prev = self._setup(ws)
        pid = ws.post("fp", channel=chan, user=alice, create=T0 + 1, update=T0 + 1, message="with file")
        fid = ws.file("ff", post=pid, user=alice, channel=chan, name="report.pdf", delete=T0 + 9)
        out = run_export(START, END)
        a = (alice, "alice")
        att = f"report.pdf (files/{pid}/{fid}-report.pdf)"
        assert out.csv_lines() == [
            prev,
            _row(T0 + 1, T0 + 1, "", head, a, pid, "", "", "with file", "message"),
            _row(T0 + 1, T0 + 1, "", head, a, pid, "", "", att, "attachment"),
            _row(T0 + 1, T0 + 9, "FileDeleted", head, a, pid, "", "", att, "deleted attachment"),
        ]
        (z,) = out.zips
        assert out.read(z, f"files/{pid}/{fid}-report.pdf") == "data"

    def test_reply_and_preview_columns(self, ws, run_export):
        chan, alice, head, _prev = self._setup(ws)
        root = ws.post("root", channel=chan, user=alice, create=T0 + 1)
        target = mmid("target")
        reply = ws.post(
            "reply",
            channel=chan,
            user=alice,
            create=T0 + 2,
            root=root,
            message="see this",
            props={"previewed_post": target},
        )
        out = run_export(START, END)
        assert out.csv_lines()[-1] == _row(
            T0 + 2, T0 + 2, "", head, (alice, "alice"), reply, "", root, "see this", "message", preview=target
        )

    def test_integrations_included_and_system_posts_excluded(self, ws, run_export):
        chan, alice, _head, _prev = self._setup(ws)
        bot = ws.user("helperbot", bot=True)
        ws.history(chan, bot, T0 - 5000)
        p_bot = ws.post("bot", channel=chan, user=bot, create=T0 + 1, message="beep")
        p_hook = ws.post(
            "hook",
            channel=chan,
            user=alice,
            create=T0 + 2,
            ptype="slack_attachment",
            props={"from_webhook": "true", "override_username": "ci"},
        )
        p_plugin = ws.post(
            "plug",
            channel=chan,
            user=alice,
            create=T0 + 3,
            ptype="custom_poll",
            props={"from_plugin": "true"},
        )
        p_frombot = ws.post("frombot", channel=chan, user=alice, create=T0 + 4, props={"from_bot": "true"})
        ws.post("sys", channel=chan, user=alice, create=T0 + 5, ptype="system_join_channel")
        ws.post("sys2", channel=chan, user=alice, create=T0 + 6, ptype="system_header_change")
        out = run_export(START, END)
        lines = out.csv_lines()
        by_id = {line.split(",")[13]: line for line in lines if line.split(",")[13]}
        assert set(by_id) == {p_bot, p_hook, p_plugin, p_frombot}
        assert by_id[p_bot].split(",")[-2] == "bot"
        assert by_id[p_frombot].split(",")[-2] == "bot"
        assert by_id[p_hook].split(",")[-2] == "user"
        assert out.summary["messages"] == 4

    def test_author_and_channel_without_rows_export_empty_fields(self, ws, run_export):
        """Authors and channels are looked up by id: a missing row gives empty fields, as a LEFT JOIN would."""
        chan, alice, head, _prev = self._setup(ws)
        ghost, nowhere = mmid("ghost"), mmid("nowhere")
        p_lost = ws.post("lost", channel=nowhere, user=ghost, create=T0 + 1, message="orphan")
        p_ghost = ws.post("ghost", channel=chan, user=ghost, create=T0 + 2, props={"from_bot": "true"})
        p_alice = ws.post("alice", channel=nowhere, user=alice, create=T0 + 3, message="hi")
        out = run_export(START, END)
        by_id = {line.split(",")[13]: line for line in out.csv_lines() if line.split(",")[13]}
        assert (
            by_id[p_lost] == f"{T0 + 1},{T0 + 1},,,,,{nowhere},,,,{ghost},,,{p_lost},,,orphan,message,user,"
        )
        assert by_id[p_ghost] == f"{T0 + 2},{T0 + 2},,{head},{ghost},,,{p_ghost},,,message ghost,message,bot,"
        assert by_id[p_alice] == (
            f"{T0 + 3},{T0 + 3},,,,,{nowhere},,,,{alice},alice@example.com,alice,{p_alice},,,hi,message,user,"
        )

    def test_user_deactivated_after_posting_is_exported(self, ws, run_export):
        team = ws.team("acme", display="Acme Corp")
        chan = ws.channel("town", team=team, display="Town Square")
        gone = ws.user("gone", delete_at=T0 + 90)  # deactivated after posting, inside the window
        old = ws.user("old", delete_at=T0 - 10)  # deactivated before the window: not a member any more
        ws.history(chan, gone, T0 - 100)
        ws.history(chan, old, T0 - 100)
        pid = ws.post("g", channel=chan, user=gone, create=T0 + 5, message="bye")
        out = run_export(START, END)
        head = f"{team},acme,Acme Corp,{chan},town,Town Square,public"
        assert out.csv_lines() == [
            f"{T0 - 100},0,,{head},{gone},gone@example.com,gone,,,,"
            "User gone (gone@example.com) was already in the channel,previously-joined,user,",
            _row(T0 + 5, T0 + 5, "", head, (gone, "gone"), pid, "", "", "bye", "message"),
        ]


class TestChannelsAndMembership:
    def test_direct_and_group_messages(self, ws, run_export):
        alice, bob, carol = ws.user("alice"), ws.user("bob"), ws.user("carol")
        dm = ws.channel("dm", team=None, ctype="D", name=f"{alice}__{bob}", display="")
        gm = ws.channel("gm", team=None, ctype="G", name="a" * 40, display="alice, bob, carol")
        for c, users in ((dm, (alice, bob)), (gm, (alice, bob, carol))):
            for u in users:
                ws.history(c, u, T0 - 10)
        p1 = ws.post("dm1", channel=dm, user=alice, create=T0 + 1, message="hi bob")
        p2 = ws.post("gm1", channel=gm, user=carol, create=T0 + 2, message="hi all")
        out = run_export(START, END)
        posts = [line for line in out.csv_lines() if line.split(",")[13]]
        assert posts == [
            f"{T0 + 1},{T0 + 1},,,,,{dm},{alice}__{bob},Direct Message,direct,{alice},alice@example.com,alice,"
            f"{p1},,,hi bob,message,user,",
            f"{T0 + 2},{T0 + 2},,,,,{gm},{'a' * 40},Group Message,group,{carol},carol@example.com,carol,"
            f"{p2},,,hi all,message,user,",
        ]
        members = [line for line in out.csv_lines() if not line.split(",")[13]]
        assert len(members) == 5
        assert all(",,,,," in m and "previously-joined" in m for m in members)
        meta = json.loads(out.read(out.zips[0], "metadata.json"))
        assert meta["Channels"][dm]["ChannelType"] == "D"
        assert meta["Channels"][dm]["TeamId"] == ""
        assert meta["Channels"][gm]["RoomId"] == f"group - {gm}"

    def test_author_without_history_gets_synthetic_join(self, ws, run_export):
        team, chan, alice = _team_channel(ws)
        ws.history(chan, ws.user("bob"), T0 - 1)
        ws.post("p", channel=chan, user=alice, create=T0 + 5)
        out = run_export(START, END)
        head = f"{team},acme,Acme Corp,{chan},town,Town Square,public"
        assert out.csv_lines()[:2] == [
            f"{T0 - 1},0,,{head},{mmid('bob')},bob@example.com,bob,,,,"
            "User bob (bob@example.com) was already in the channel,previously-joined,user,",
            f"{T0},0,,{head},{alice},alice@example.com,alice,,,,"
            "User alice (alice@example.com) was already in the channel,previously-joined,user,",
        ]

    def test_channel_with_only_joins_is_exported(self, ws, run_export):
        """Its rows carry the team's id, name and display name. Mattermost leaves the name and display
        name empty there (server/enterprise/message_export/testdata/csvE2E1Batch1.tmpl, the rows of
        channel_three_name; shared/export_data.go: "if we don't have posts for this channel (only
        joins and leaves), then we don't have it at all"); mmgov fills them, on purpose
        (docs/compliance-export.md, compatibility)."""
        team, chan, alice = _team_channel(ws)
        ws.history(chan, alice, T0 - 1)  # history reaches back: no fallback
        quiet = ws.channel("quiet", team=team)
        ws.history(quiet, alice, T0 + 30, T0 + 60)
        out = run_export(START, END)
        rows = [line.split(",") for line in out.csv_lines()]
        assert [r[17] for r in rows] == ["enter", "leave"]
        assert {tuple(r[3:7]) for r in rows} == {(team, "acme", "Acme Corp", quiet)}

    def test_fallback_to_current_members_for_old_databases(self, ws, run_export):
        _team, chan, alice = _team_channel(ws)
        bob = ws.user("bob")
        ws.member(chan, alice)
        ws.member(chan, bob)
        ws.history(chan, bob, T0 + 50)  # history starts after the window start: not usable
        ws.post("p", channel=chan, user=alice, create=T0 + 5)
        out = run_export(START, END)
        members = [line for line in out.csv_lines() if not line.split(",")[13]]
        assert sorted(m.split(",")[12] for m in members) == ["alice", "bob"]
        assert all(m.startswith(f"{T0},0,") and "previously-joined" in m for m in members)


class TestFiles:
    def test_missing_file_is_a_warning_not_a_failure(self, ws, run_export):
        chan, alice, _head, _prev = TestClassification()._setup(ws)
        pid = ws.post("mf", channel=chan, user=alice, create=T0 + 1)
        ok = ws.file("ok", post=pid, user=alice, channel=chan, name="ok.txt", content=b"fine", create=T0 + 1)
        missing = ws.file(
            "miss", post=pid, user=alice, channel=chan, name="lost.txt", content=None, create=T0 + 1
        )
        out = run_export(START, END)
        (z,) = out.zips
        path = f"20260105/teams/noteam/channels/{chan}/users/{alice}/{missing}/lost.txt"
        assert out.names(z) == ["posts.csv", f"files/{pid}/{ok}-ok.txt", "warning.txt", "metadata.json"]
        assert out.read(z, "warning.txt") == (
            "Warning:File backend read: File missing for post; cannot copy file to archive"
            f" - Post: {pid} - {path}\n"
        )
        s = out.summary
        assert (s["status"], s["files"], s["files_missing"], s["warnings"]) == ("warning", 1, 1, 1)
        assert "lost.txt" in s["warning_lines"][0]
        att_rows = [line for line in out.csv_lines() if line.split(",")[17] == "attachment"]
        assert len(att_rows) == 2  # the missing file is still recorded as uploaded

    def test_unsafe_paths_are_refused(self, ws, run_export, file_store, tmp_path):
        chan, alice, _head, _prev = TestClassification()._setup(ws)
        secret = tmp_path / "secret.txt"
        secret.write_text("top secret")
        (file_store / "link").symlink_to(tmp_path)
        pid = ws.post("evil", channel=chan, user=alice, create=T0 + 1)
        for i, path in enumerate(["../secret.txt", str(secret), "link/secret.txt", "a/../../secret.txt"]):
            ws.file(
                f"evil{i}", post=pid, user=alice, channel=chan, name="secret.txt", content=None, path=path
            )
        out = run_export(START, END)
        (z,) = out.zips
        assert not [n for n in out.names(z) if n.startswith("files/")]
        assert out.summary["files_missing"] == 4
        assert "top secret" not in out.read(z, "posts.csv")


class TestMembershipAcrossBatches:
    def _setup(self, ws):
        _team, chan, alice = _team_channel(ws)
        bob, carol = ws.user("bob"), ws.user("carol")
        ws.history(chan, alice, T0 - 1000)
        ws.history(chan, bob, T0 - 900)
        ws.history(
            chan, carol, T0 + 25, T0 + 45
        )  # enters in the 2nd batch range [T0+20, T0+40), leaves in the 3rd
        for i in range(6):
            ws.post(f"m{i}", channel=chan, user=alice, create=T0 + 10 * (i + 1))
        return chan

    def _kinds(self, out):
        return [
            [
                line.split(",")[17]
                for line in out.read(z, "posts.csv").split("\n")[1:-1]
                if line.split(",")[17] != "message"
            ]
            for z in out.zips
        ]

    def test_window_mode_writes_each_membership_row_once(self, ws, run_export):
        self._setup(ws)
        out = run_export(START, END, batch_size=2)
        assert self._kinds(out) == [
            ["previously-joined", "previously-joined"],
            ["enter"],
            ["leave"],
        ]

    def test_batch_mode_repeats_members_in_every_batch_like_mattermost(
        self, ws, mm_conn, file_store, tmp_path
    ):
        from mmgov.compliance.delivery import LocalDestination
        from mmgov.compliance.export_window import ExportWindow
        from mmgov.compliance.tasks import export_window_to_destination
        from mmgov.settings import Settings
        from tests.compliance.conftest import ExportOutput

        self._setup(ws)
        settings = Settings.parse(
            {
                "FileSettings": {"Directory": str(file_store)},
                "Mmgov": {"CsvMembershipRows": "batch"},
                "MessageExportSettings": {"BatchSize": 2},
            }
        )
        window = ExportWindow(START, END)
        summary = export_window_to_destination(
            mm_conn, window, settings, export_format="csv", destination=LocalDestination(tmp_path / "b")
        )
        out = ExportOutput(summary, tmp_path / "b" / window.folder_name)
        assert self._kinds(out) == [
            ["previously-joined", "previously-joined"],
            ["previously-joined", "previously-joined", "enter"],
            ["previously-joined", "previously-joined", "previously-joined", "leave"],
        ]


def test_carriage_returns_are_quoted(ws, run_export):
    import csv
    import io

    _team, chan, alice = _team_channel(ws)
    ws.history(chan, alice, T0 - 1)
    pid = ws.post("cr", channel=chan, user=alice, create=T0 + 1, message='line one\r\nline "two"')
    out = run_export(START, END)
    text = out.read(out.zips[0], "posts.csv")
    assert '"line one\r\nline ""two"""' in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [r[16] for r in rows if r[13] == pid] == ['line one\r\nline "two"']
    assert text.count("\n") == 4  # header, membership row, post row, plus the quoted one inside the message
    assert text.count("\r") == 1  # row endings are \n only


def test_fields_are_quoted_as_go_quotes_them(ws, run_export, tmp_path):
    """Go's encoding/csv (Writer.fieldNeedsQuotes) quoting, through the whole pipeline (the database
    rendering; test_accelerator checks the Python one writes the same bytes)."""
    posts = rendering_workspace(ws, at=T0, before=START - 50)
    out = run_export(START, END, batch_size=7, dest=tmp_path / "db")
    lines = out.csv_lines()
    assert any(',"\\.",private,' in line for line in lines)  # `\.` alone is quoted, as Go does
    assert any(",\\.x,message," in line for line in lines)
    assert any('," leading space",message,' in line for line in lines)
    assert any(",\u200bzero width first,message," in line for line in lines)
    assert any(',"a,cme"," Acme",' in line for line in lines)
    assert out.summary["messages"] == posts
    assert any(',,"delete said, then took back & <gone>",message,' in line for line in lines)
    assert any(",EditedOriginalMsg," in line and ',"a,b&<c>",' in line for line in lines)
