"""The harness gives real services: PostgreSQL with Mattermost's schema, S3 and SMTP on loopback."""

from __future__ import annotations

import smtplib
import ssl

import psycopg
import pytest

from mmgov.mattermost_schema import schema_facts
from tests.support.smtp import PASSWORD, USERNAME

POST_INDEXES = {
    "idx_posts_update_at",
    "idx_posts_create_at",
    "idx_posts_channel_id_update_at",
    "idx_posts_root_id_delete_at",
}


def test_fresh_database_has_mattermost_schema(mm_conn):
    tables = {
        r[0]
        for r in mm_conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    }
    assert tables == set(schema_facts()["tables"])
    indexes = {r[0] for r in mm_conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'posts'")}
    assert indexes >= POST_INDEXES
    assert mm_conn.execute("SELECT to_regclass('mmgov.audit_log')").fetchone()[0] is not None


def test_each_test_gets_its_own_database(mm_conn):
    mm_conn.execute("INSERT INTO systems (name, value) VALUES ('x', 'y')")
    assert mm_conn.execute("SELECT count(*) FROM systems").fetchone()[0] == 1


def test_and_it_starts_empty(mm_conn):
    assert mm_conn.execute("SELECT count(*) FROM systems").fetchone()[0] == 0


def test_channel_type_enum(mm_conn):
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        mm_conn.execute("INSERT INTO channels (id, type) VALUES ('c', 'X')")


def test_s3_endpoint_is_real_http(s3_endpoint, s3_bucket):
    client = s3_endpoint.client()
    client.put_object(Bucket=s3_bucket, Key="a/b.txt", Body=b"hello")
    assert client.get_object(Bucket=s3_bucket, Key="a/b.txt")["Body"].read() == b"hello"
    assert s3_endpoint.url.startswith("http://127.0.0.1:")


def test_smtp_requires_starttls_and_auth(smtp_server):
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPException):
            client.login(USERNAME, PASSWORD)  # AUTH before STARTTLS is refused
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.starttls(context=ssl._create_unverified_context())  # noqa: S323 - self-signed test cert
        client.login(USERNAME, PASSWORD)
        client.sendmail("a@example.com", ["b@example.com"], b"Subject: hi\r\n\r\nbody\r\n")
    assert [m.message["Subject"] for m in smtp_server.messages] == ["hi"]


def test_smtp_fail_plan_answers_with_the_planned_reply(smtp_server):
    smtp_server.recorder.fail_plan = {1: (451, "4.3.0 try later")}
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.starttls(context=ssl._create_unverified_context())  # noqa: S323
        client.login(USERNAME, PASSWORD)
        with pytest.raises(smtplib.SMTPDataError) as info:
            client.sendmail("a@example.com", ["b@example.com"], b"Subject: 1\r\n\r\nx\r\n")
        assert info.value.smtp_code == 451
        client.sendmail("a@example.com", ["b@example.com"], b"Subject: 2\r\n\r\nx\r\n")
    assert [m.message["Subject"] for m in smtp_server.messages] == ["2"]
