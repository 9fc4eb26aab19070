"""A ``channels.type`` mmgov does not know (Mattermost 11.8 adds channel types) never breaks an export.

Simulated as Mattermost's migrations would add it: ``ALTER TYPE channel_type ADD VALUE``, committed
before any row uses it. Every format exports the channel's posts with the raw type where the format
names a type, every batch names the type in a warning (``warning.txt``, the run summary), and the
reconciliation of counts still holds. The PostgreSQL-rendered rows (CSV) equal the Python path.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import psycopg
import pytest
from lxml import etree

from mmgov.compliance.actiance_format import ACTIANCE_XML
from mmgov.compliance.csv_format import CsvFormat
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.formats import UNKNOWN_CHANNEL_TYPE
from tests.compliance.builders import Workspace
from tests.compliance.gr_support import html_body, run_gr, text_body

T0 = 1_767_225_600_000
START, END = T0, T0 + 100_000
NEW_TYPE = "R"  # not one of O, P, D, G


@pytest.fixture
def odd(mm_conn: psycopg.Connection, ws: Workspace) -> dict[str, str]:
    """A team channel of the new type with every kind of post, one with joins and leaves only, and an
    ordinary public channel."""
    mm_conn.execute(f"ALTER TYPE channel_type ADD VALUE '{NEW_TYPE}'")  # autocommit: committed before use
    team = ws.team("acme", display="Acme")
    alice, bob = ws.user("alice"), ws.user("bob")
    new = ws.channel("rooms", team=team, ctype=NEW_TYPE, name="room-one", display="Room One")
    quiet = ws.channel("quiet", team=team, ctype=NEW_TYPE, name="room-two", display="Room Two")
    town = ws.channel("town", team=team, display="Town")
    for chan in (new, town):
        ws.history(chan, alice, T0 - 10)
    ws.history(quiet, bob, T0 + 30, T0 + 60)
    ws.post("plain", channel=new, user=alice, create=T0 + 1, message="hello, new room")
    ws.post("edited", channel=new, user=alice, create=T0 + 2, update=T0 + 9, edit=T0 + 9, message="edited")
    gone = {"deleteBy": alice}
    ws.post("gone", channel=new, user=bob, create=T0 + 3, update=T0 + 8, delete=T0 + 8, props=gone)
    pf = ws.post("withfile", channel=new, user=alice, create=T0 + 4, message="see file")
    ws.file("f", post=pf, user=alice, channel=new, name="a.txt", content=b"alpha", create=T0 + 4)
    ws.post("town", channel=town, user=alice, create=T0 + 5, message="in town")
    return {"new": new, "quiet": quiet, "town": town}


def _warning(cid: str) -> str:
    return f"Warning:{UNKNOWN_CHANNEL_TYPE} - Channel: {cid} - Type: {NEW_TYPE}"


def _assert_warned(summary: dict, zips: list, odd: dict[str, str]) -> None:
    expected = sorted([_warning(odd["new"]), _warning(odd["quiet"])])
    assert summary["status"] == "warning"
    assert sorted(w for w in summary["warning_lines"] if UNKNOWN_CHANNEL_TYPE in w) == expected
    (z,) = zips
    with zipfile.ZipFile(z) as zf:
        assert sorted(zf.read("warning.txt").decode().splitlines()) == expected


@pytest.mark.parametrize("rendered", [True, False], ids=["database", "python"])
def test_csv_names_the_raw_type(odd, run_export, tmp_path, monkeypatch, rendered):
    if not rendered:
        monkeypatch.setattr(CsvFormat, "accelerator", None)
    out = run_export(START, END, dest=tmp_path / "out")
    rows = list(csv.reader(io.StringIO("\n".join(out.csv_lines()))))
    types = {(r[6], r[9]) for r in rows}  # (Channel Id, Channel Type)
    assert types == {(odd["new"], NEW_TYPE), (odd["quiet"], NEW_TYPE), (odd["town"], "public")}
    new_rows = [r for r in rows if r[6] == odd["new"]]
    assert {r[17] for r in new_rows} == {"message", "attachment", "previously-joined"}
    assert {(r[4], r[5], r[8]) for r in new_rows} == {("acme", "Acme", "Room One")}  # a team channel
    (z,) = out.zips
    meta = json.loads(out.read(z, "metadata.json"))["Channels"][odd["new"]]
    assert (meta["ChannelType"], meta["RoomId"]) == (NEW_TYPE, f"{NEW_TYPE} - {odd['new']}")
    assert out.summary["messages"] == 5  # every post row reconciled
    _assert_warned(out.summary, out.zips, odd)


def test_database_rendered_csv_equals_the_python_path(odd, run_export, tmp_path, monkeypatch):
    """The type as PostgreSQL renders it (CSV_POST_JOINS) is the type as Python renders it."""
    in_database = run_export(START, END, dest=tmp_path / "db")
    monkeypatch.setattr(CsvFormat, "accelerator", None)
    in_python = run_export(START, END, dest=tmp_path / "py")
    assert in_database.read(in_database.zips[0], "posts.csv") == in_python.read(
        in_python.zips[0], "posts.csv"
    )


def test_actiance_room_id_names_the_raw_type(odd, run_export, tmp_path):
    out = run_export(START, END, dest=tmp_path / "out", export_format="actiance")
    (z,) = out.zips
    root = etree.fromstring(out.read(z, ACTIANCE_XML).encode())
    rooms = {c.findtext("RoomID") for c in root}
    assert rooms == {
        f"{NEW_TYPE} - room-one - {odd['new']}",
        f"{NEW_TYPE} - room-two - {odd['quiet']}",
        f"public - town - {odd['town']}",
    }
    (new,) = (c for c in root if c.findtext("RoomID").endswith(odd["new"]))
    assert new.get("Perspective") == "Room One"
    assert len(new.findall("Message")) == 5  # plain, edited, the deleted one's two entries, with file
    assert out.summary["messages"] == 5
    _assert_warned(out.summary, out.zips, odd)


def test_globalrelay_names_the_raw_type(odd, mm_conn, file_store, tmp_path):
    out = run_gr(mm_conn, file_store, tmp_path / "gr", START, END)
    emls = out.emls()
    msg = emls[f"room-one - ({odd['new']}) - 0.eml"]
    assert msg["X-Mattermost-ChannelType"] == NEW_TYPE
    assert f"  Channel Type: {NEW_TYPE}\n" in text_body(msg)
    assert f"<tr><th>Channel Type</th><td>{NEW_TYPE}</td></tr>" in html_body(msg)
    assert emls[f"room-two - ({odd['quiet']}) - 0.eml"]["X-Mattermost-ChannelType"] == NEW_TYPE
    assert emls[f"town - ({odd['town']}) - 0.eml"]["X-Mattermost-ChannelType"] == "public"
    assert out.summary["messages"] == 5
    _assert_warned(out.summary, out.zips, odd)


@pytest.mark.airflow
def test_dag_run_with_a_new_channel_type(odd, mm_dsn, file_store, tmp_path, airflow_env):
    """``airflow dags test compliance_export`` ends well on such a database and names the type."""
    dest = tmp_path / "exports"
    settings = {
        "FileSettings": {"DriverName": "local", "Directory": str(file_store)},
        "MessageExportSettings": {"ExportFormat": "csv"},
        "Mmgov": {"ExportDestination": str(dest)},
    }
    env = airflow_env(mm_dsn, settings)
    env.dags_test("compliance_export", {"export_format": "csv", "export_from": START, "export_to": END})
    (z,) = (dest / ExportWindow(START, END).folder_name).glob("batch*.zip")
    with zipfile.ZipFile(z) as zf:
        warnings = zf.read("warning.txt").decode()
        rows = list(csv.reader(io.StringIO(zf.read("posts.csv").decode())))
    assert _warning(odd["new"]) in warnings
    assert {r[9] for r in rows[1:] if r[6] == odd["new"]} == {NEW_TYPE}
