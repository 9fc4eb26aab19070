"""Global Relay SMTP delivery against a real SMTP server on loopback (STARTTLS + AUTH) and a real ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mmgov.compliance.globalrelay_delivery as grd
from mmgov.compliance.delivery import LocalDestination
from mmgov.compliance.export_request import ExportRequest
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.formats import get_format
from mmgov.compliance.globalrelay_delivery import (
    GlobalRelayConfigError,
    GlobalRelayPermanentError,
    GlobalRelayTemporaryError,
    RetryPolicy,
    deliver_zip,
    smtp_server,
)
from mmgov.compliance.globalrelay_ledger import LEDGER_TABLE, DeliveryLedger
from mmgov.compliance.publishing import deliver
from mmgov.compliance.staging import check_staged, stage_export
from mmgov.db import airflow_conn_json
from mmgov.file_store import LocalFileStore
from mmgov.outcome import is_deterministic
from mmgov.settings import GlobalRelaySettings
from tests.compliance.builders import Workspace
from tests.compliance.gr_support import GR_ADDRESS, attachments, gr_settings, parse_eml, run_gr
from tests.support.smtp import SmtpServer, free_port

T0 = 1_767_225_600_000
START, END = T0, T0 + 100_000
CHANNELS = 7


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """In-task retries without waiting: the delays asked for are recorded instead."""
    slept: list[float] = []
    monkeypatch.setattr(grd, "DEFAULT_RETRY", RetryPolicy(delays=(1.0, 2.0, 4.0), sleep=slept.append))
    return slept


@pytest.fixture
def gr_env(monkeypatch, smtp_server: SmtpServer, mm_dsn: str, sleeps):
    """The Airflow connections a deliver task has: globalrelay_smtp (the loopback server) and mattermost_db."""
    monkeypatch.setenv("AIRFLOW_CONN_GLOBALRELAY_SMTP", smtp_server.airflow_conn_json())
    monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_DB", airflow_conn_json(mm_dsn))
    return smtp_server


@pytest.fixture
def workspace(ws: Workspace) -> Workspace:
    """CHANNELS channels with two posts each (one with an attachment): one email per channel."""
    team = ws.team("acme")
    alice, bob = ws.user("alice"), ws.user("bob")
    for i in range(CHANNELS):
        chan = ws.channel(f"chan{i}", team=team, display=f"Channel {i}")
        ws.history(chan, alice, T0 - 10)
        ws.history(chan, bob, T0 - 10)
        ws.post(f"a{i}", channel=chan, user=bob, create=T0 + i, message=f"hello from channel {i}\n.dot line")
        pid = ws.post(f"b{i}", channel=chan, user=alice, create=T0 + 20 + i, message="file")
        ws.file(
            f"f{i}",
            post=pid,
            user=alice,
            channel=chan,
            name=f"doc{i}.pdf",
            content=bytes([i]) * 3000,
            create=T0 + 20 + i,
        )
    return ws


def _mail_run(mm_conn, file_store: Path, tmp_path: Path, smtp: SmtpServer, **kw):
    return run_gr(
        mm_conn,
        file_store,
        tmp_path / "mail",
        START,
        END,
        export_format="globalrelay",
        smtp_port=smtp.port,
        **kw,
    )


def _reference_emls(mm_conn, file_store: Path, tmp_path: Path) -> dict[str, bytes]:
    """The same window as globalrelay-zip: the bytes the server must receive (the format is deterministic)."""
    out = run_gr(mm_conn, file_store, tmp_path / "ref", START, END, export_format="globalrelay-zip")
    return {n: d for n, d in out.entries().items() if n.endswith(".eml")}


def _received(smtp: SmtpServer) -> list[bytes]:
    return [m.data for m in smtp.messages]


class TestDelivery:
    def test_every_email_arrives_once(self, mm_conn, file_store, tmp_path, gr_env, workspace):
        out = _mail_run(mm_conn, file_store, tmp_path, gr_env)
        reference = _reference_emls(mm_conn, file_store, tmp_path)
        assert len(reference) == CHANNELS
        assert sorted(_received(gr_env)) == sorted(reference.values())  # byte for byte, each once
        for received in gr_env.messages:
            msg = parse_eml(received.data)
            assert received.mail_from == msg["From"] == "alice@example.com"
            assert received.rcpt_tos == [GR_ADDRESS]
            ((_name, _ctype, data),) = attachments(msg)
            assert len(data) == 3000
        assert out.summary["delivery"] == {
            "emails": CHANNELS,
            "emails_sent": CHANNELS,
            "emails_already_sent": 0,
            "bytes_sent": sum(len(d) for d in reference.values()),
            "smtp_connections": 1,
            "smtp_retries": 0,
        }
        assert out.summary["location"] is None  # globalrelay mails; it keeps no zip
        assert not list((tmp_path / "mail").rglob("*.zip"))
        rows = mm_conn.execute(
            f"SELECT email_index, email_name, rcpt_to, smtp_reply FROM {LEDGER_TABLE} ORDER BY email_index"
        ).fetchall()
        assert [r[0] for r in rows] == list(range(CHANNELS))
        assert {r[2] for r in rows} == {GR_ADDRESS}
        assert all(r[3].startswith("250 ") for r in rows)

    def test_join_only_channel_is_mailed_too(self, mm_conn, file_store, tmp_path, gr_env, workspace):
        """``globalrelay`` mails the emails of ``globalrelay-zip``, by the same names: a channel with
        joins and leaves only is mailed too (test_globalrelay_format.py::TestAsMattermost)."""
        quiet = workspace.channel("quiet", team=workspace.team("other"), display="Quiet")
        workspace.history(quiet, workspace.user("carol"), T0 + 30, T0 + 60)
        out = _mail_run(mm_conn, file_store, tmp_path, gr_env)
        reference = _reference_emls(mm_conn, file_store, tmp_path)
        assert f"quiet - ({quiet}) - 0.eml" in reference
        assert sorted(_received(gr_env)) == sorted(reference.values())
        assert out.summary["delivery"]["emails_sent"] == CHANNELS + 1
        names = {r[0] for r in mm_conn.execute(f"SELECT email_name FROM {LEDGER_TABLE}").fetchall()}
        assert names == set(reference)
        (carol,) = [parse_eml(m.data) for m in gr_env.messages if m.mail_from == "carol@example.com"]
        assert carol["Subject"] == "Mattermost Compliance Export: Quiet"

    def test_rerun_of_the_window_mails_nothing_again(self, mm_conn, file_store, tmp_path, gr_env, workspace):
        _mail_run(mm_conn, file_store, tmp_path, gr_env)
        again = _mail_run(mm_conn, file_store, tmp_path, gr_env, run_id="second")
        assert len(gr_env.messages) == CHANNELS
        assert again.summary["delivery"]["emails_already_sent"] == CHANNELS
        assert again.summary["delivery"]["smtp_connections"] == 0

    def test_temporary_failure_is_retried_in_task(
        self, mm_conn, file_store, tmp_path, gr_env, workspace, sleeps
    ):
        gr_env.recorder.fail_plan = {3: (451, "4.3.0 try later")}
        out = _mail_run(mm_conn, file_store, tmp_path, gr_env)
        assert sorted(_received(gr_env)) == sorted(_reference_emls(mm_conn, file_store, tmp_path).values())
        assert gr_env.recorder.data_attempts == CHANNELS + 1
        assert sleeps == [1.0]
        assert out.summary["delivery"]["smtp_retries"] == 1
        assert gr_env.recorder.connections == 2  # the failed conversation is dropped and reopened

    def test_dropped_connection_is_retried(self, mm_conn, file_store, tmp_path, gr_env, workspace, sleeps):
        gr_env.recorder.fail_plan = {2: (0, "")}
        _mail_run(mm_conn, file_store, tmp_path, gr_env)
        assert sorted(_received(gr_env)) == sorted(_reference_emls(mm_conn, file_store, tmp_path).values())
        assert sleeps == [1.0]
        assert gr_env.recorder.connections == 2

    def test_task_retry_resumes_without_duplicates(
        self, mm_conn, file_store, tmp_path, gr_env, workspace, sleeps
    ):
        """In-task retries run out (the deliver task fails), then the task is retried: no email twice."""
        gr_env.recorder.fail_plan = {n: (421, "4.7.0 too busy") for n in range(3, 7)}
        settings = gr_settings(file_store, export_format="globalrelay", smtp_port=gr_env.port)
        window = ExportWindow(START, END)
        dest = LocalDestination(tmp_path / "mail")
        request = ExportRequest(
            window, "params", "globalrelay", 10000, dest.describe(), window.folder_name, "r1"
        )
        fmt = get_format("globalrelay", settings)
        records = stage_export(mm_conn, request, fmt, LocalFileStore(file_store), dest)
        check_staged(request, records, dest)
        with pytest.raises(GlobalRelayTemporaryError, match=r"after 4 tries: 421 4\.7\.0 too busy") as err:
            deliver(request, records, fmt, dest)
        assert not is_deterministic(err.value)  # the task edge lets Airflow retry the task
        assert sleeps == [1.0, 2.0, 4.0]
        assert len(gr_env.messages) == 2
        # the task retry: a new process, a new format object, the same staged batch and key
        summary = deliver(request, records, get_format("globalrelay", settings), dest)
        assert summary["delivery"]["emails_already_sent"] == 2
        assert summary["delivery"]["emails_sent"] == CHANNELS - 2
        assert sorted(_received(gr_env)) == sorted(_reference_emls(mm_conn, file_store, tmp_path).values())

    def test_permanent_failure_fails_the_run_with_the_reply(
        self, mm_conn, file_store, tmp_path, gr_env, workspace, sleeps
    ):
        gr_env.recorder.fail_plan = {3: (554, "5.7.1 message refused by policy")}
        with pytest.raises(GlobalRelayPermanentError, match=r"554 5\.7\.1 message refused by policy") as err:
            _mail_run(mm_conn, file_store, tmp_path, gr_env)
        assert is_deterministic(err.value)  # the task edge fails the task: no retry can help
        assert (err.value.smtp_code, err.value.smtp_text) == (554, "5.7.1 message refused by policy")
        assert err.value.code == "GLOBAL_RELAY_SMTP_REJECTED"
        assert sleeps == []
        assert len(gr_env.messages) == 2
        (count,) = mm_conn.execute(f"SELECT count(*) FROM {LEDGER_TABLE}").fetchone()
        assert count == 2

    @pytest.mark.parametrize("smtputf8", [True, False], ids=["server-offers-smtputf8", "ascii-only-server"])
    def test_internationalised_sender_goes_over_smtputf8(
        self, monkeypatch, mm_conn, mm_dsn, file_store, tmp_path, ws, sleeps, smtputf8
    ):
        chan = ws.channel("intl", team=ws.team("acme"))
        sender = ws.user("aaron", email="jürgen@bücher.example")  # first by username: the EML's From
        ws.history(chan, sender, T0 - 10)
        ws.post("intl", channel=chan, user=sender, create=T0, message="grüße")
        server = SmtpServer(smtputf8=smtputf8).start()
        try:
            monkeypatch.setenv("AIRFLOW_CONN_GLOBALRELAY_SMTP", server.airflow_conn_json())
            monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_DB", airflow_conn_json(mm_dsn))
            if not smtputf8:
                with pytest.raises(GlobalRelayPermanentError, match=r"not ASCII.*does not offer SMTPUTF8"):
                    _mail_run(mm_conn, file_store, tmp_path, server)
                assert server.messages == []
                assert sleeps == []
                return
            _mail_run(mm_conn, file_store, tmp_path, server)
            (received,) = server.messages
            assert received.mail_from == "jürgen@bücher.example" == parse_eml(received.data)["From"]
            assert "SMTPUTF8" in received.mail_options
        finally:
            server.stop()

    def test_ascii_senders_do_not_ask_for_smtputf8(self, mm_conn, file_store, tmp_path, gr_env, workspace):
        _mail_run(mm_conn, file_store, tmp_path, gr_env)
        assert all("SMTPUTF8" not in m.mail_options for m in gr_env.messages)

    def test_reconnects_every_n_emails(self, mm_conn, file_store, tmp_path, gr_env, workspace):
        out = run_gr(mm_conn, file_store, tmp_path / "zip", START, END)
        (zip_path,) = out.zips
        settings = gr_settings(file_store, smtp_port=gr_env.port)
        report = deliver_zip(
            zip_path,
            key="k/batch001.zip",
            settings=settings,
            ledger=DeliveryLedger(mm_conn),
            emails_per_connection=3,
        )
        assert (report.sent, report.connections) == (CHANNELS, 3)  # 3 + 3 + 1
        assert gr_env.recorder.connections == 3
        assert len(gr_env.messages) == CHANNELS

    def test_default_is_400_per_connection(self):
        assert grd.MAX_EMAILS_PER_CONNECTION == 400


class TestConfiguration:
    def test_missing_address(self, file_store, tmp_path, mm_conn):
        settings = gr_settings(file_store, email_address="")
        with pytest.raises(GlobalRelayConfigError, match=r"GlobalRelaySettings\.EmailAddress is empty"):
            deliver_zip(tmp_path / "none.zip", key="k", settings=settings, ledger=DeliveryLedger(mm_conn))

    def _one_email_zip(self, mm_conn, file_store, tmp_path) -> Path:
        ws = Workspace(mm_conn, file_store)
        chan = ws.channel("c", team=ws.team("t"))
        alice = ws.user("alice")
        ws.history(chan, alice, T0 - 1)
        ws.post("p", channel=chan, user=alice, create=T0 + 1)
        (z,) = run_gr(mm_conn, file_store, tmp_path / "zip", START, END).zips
        return z

    def test_missing_connection(self, monkeypatch, mm_conn, file_store, tmp_path, smtp_server):
        monkeypatch.delenv("AIRFLOW_CONN_GLOBALRELAY_SMTP", raising=False)
        z = self._one_email_zip(mm_conn, file_store, tmp_path)
        with pytest.raises(GlobalRelayConfigError, match="Airflow connection globalrelay_smtp is missing"):
            deliver_zip(z, key="k", settings=gr_settings(file_store), ledger=DeliveryLedger(mm_conn))

    @pytest.mark.parametrize(
        ("change", "match"),
        [
            ({"extra": {"disable_tls": True, "disable_ssl": True}}, "Global Relay needs TLS"),
            ({"password": ""}, "needs a login and a password"),
            ({"extra": {"disable_ssl": True, "ssl_context": "bogus"}}, "ssl_context must be"),
        ],
        ids=["no-tls", "no-password", "bad-ssl-context"],
    )
    def test_bad_connection(self, monkeypatch, mm_conn, file_store, tmp_path, smtp_server, change, match):
        conn = json.loads(smtp_server.airflow_conn_json()) | change
        monkeypatch.setenv("AIRFLOW_CONN_GLOBALRELAY_SMTP", json.dumps(conn))
        z = self._one_email_zip(mm_conn, file_store, tmp_path)
        with pytest.raises(GlobalRelayConfigError, match=match):
            deliver_zip(
                z,
                key="k",
                settings=gr_settings(file_store, smtp_port=smtp_server.port),
                ledger=DeliveryLedger(mm_conn),
            )
        assert smtp_server.messages == []

    def test_wrong_password_is_permanent(
        self, monkeypatch, mm_conn, file_store, tmp_path, smtp_server, sleeps
    ):
        conn = json.loads(smtp_server.airflow_conn_json()) | {"password": "wrong"}
        monkeypatch.setenv("AIRFLOW_CONN_GLOBALRELAY_SMTP", json.dumps(conn))
        z = self._one_email_zip(mm_conn, file_store, tmp_path)
        with pytest.raises(GlobalRelayPermanentError, match=r": 535 "):
            deliver_zip(
                z,
                key="k",
                settings=gr_settings(file_store, smtp_port=smtp_server.port),
                ledger=DeliveryLedger(mm_conn),
            )
        assert sleeps == []

    def test_unreachable_server_is_temporary(self, monkeypatch, mm_conn, file_store, tmp_path, smtp_server):
        monkeypatch.setenv("AIRFLOW_CONN_GLOBALRELAY_SMTP", smtp_server.airflow_conn_json())
        z = self._one_email_zip(mm_conn, file_store, tmp_path)
        slept: list[float] = []
        with pytest.raises(GlobalRelayTemporaryError, match="after 3 tries"):
            deliver_zip(
                z,
                key="k",
                settings=gr_settings(file_store, smtp_port=free_port()),
                ledger=DeliveryLedger(mm_conn),
                retry=RetryPolicy(delays=(0.5, 1.5), sleep=slept.append),
            )
        assert slept == [0.5, 1.5]

    def test_connection_host_and_port_for_custom(
        self, monkeypatch, mm_conn, file_store, tmp_path, smtp_server
    ):
        """CUSTOM without a server name: the connection's own host and port."""
        monkeypatch.setenv("AIRFLOW_CONN_GLOBALRELAY_SMTP", smtp_server.airflow_conn_json())
        z = self._one_email_zip(mm_conn, file_store, tmp_path)
        report = deliver_zip(z, key="k", settings=gr_settings(file_store), ledger=DeliveryLedger(mm_conn))
        assert report.sent == 1
        assert len(smtp_server.messages) == 1

    @pytest.mark.parametrize(
        ("settings", "conn", "server"),
        [
            ({"CustomerType": "A9"}, ("ignored", 2525), ("mailarchivespool1.globalrelay.com", 25)),
            ({"CustomerType": "A10"}, ("", None), ("feeds.globalrelay.com", 25)),
            (
                {"CustomerType": "CUSTOM", "CustomSMTPServerName": "smtp.corp", "CustomSMTPPort": "587"},
                ("conn.host", 2525),
                ("smtp.corp", 587),
            ),
            ({"CustomerType": "CUSTOM"}, ("conn.host", 2525), ("conn.host", 2525)),
            ({"CustomerType": "CUSTOM"}, ("conn.host", None), ("conn.host", 25)),
        ],
        ids=["A9", "A10", "custom-settings", "custom-connection", "custom-default-port"],
    )
    def test_smtp_server(self, settings, conn, server):
        assert smtp_server(GlobalRelaySettings.parse(settings), *conn) == server

    def test_custom_without_any_host(self):
        with pytest.raises(GlobalRelayConfigError, match="CustomSMTPServerName"):
            smtp_server(GlobalRelaySettings.parse({"CustomerType": "CUSTOM"}), "", None)


@pytest.mark.airflow
def test_dag_run_globalrelay(mm_dsn, workspace, file_store, tmp_path, smtp_server, airflow_env):
    """``airflow dags test compliance_export`` with export_format globalrelay mails through the SMTP server."""
    dest = tmp_path / "exports"
    settings = {
        "FileSettings": {"DriverName": "local", "Directory": str(file_store)},
        "MessageExportSettings": {
            "ExportFormat": "csv",
            "GlobalRelaySettings": {
                "CustomerType": "CUSTOM",
                "EmailAddress": GR_ADDRESS,
                "CustomSMTPServerName": "127.0.0.1",
                "CustomSMTPPort": str(smtp_server.port),
            },
        },
        "Mmgov": {"ExportDestination": str(dest)},
    }
    env = airflow_env(mm_dsn, settings, connections={"globalrelay_smtp": smtp_server.airflow_conn_json()})
    conf = {"export_format": "globalrelay", "export_from": START, "export_to": END}
    env.dags_test("compliance_export", conf)
    assert len(smtp_server.messages) == CHANNELS
    assert len({m.data for m in smtp_server.messages}) == CHANNELS
    assert all(m.rcpt_tos == [GR_ADDRESS] for m in smtp_server.messages)
    assert not list(dest.rglob("*.zip"))  # mailed, not kept
    # a second manual run of the same window mails nothing again (the ledger)
    env.dags_test("compliance_export", conf, logical_date="2026-01-02T00:00:00+00:00")
    assert len(smtp_server.messages) == CHANNELS
