"""Test databases are Mattermost 11.7's real schema, built from the catalog facts mmgov carries."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from mmgov.mattermost_schema import (
    SCHEMA_FILE,
    create_mattermost_schema,
    read_catalog,
    schema_differences,
    schema_facts,
)
from tests.support.schema import comparable, rendered_here

SHARED_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mattermost-schema.json"


def test_the_copy_equals_the_shared_schema_facts():
    if not SHARED_SCHEMA.is_file():
        pytest.skip(f"{SHARED_SCHEMA} is absent (a clone outside the workspace): nothing to compare with")
    copy_bytes = resources.files("mmgov").joinpath("sql", SCHEMA_FILE).read_bytes()
    assert copy_bytes == SHARED_SCHEMA.read_bytes()


def test_the_facts_are_mattermost_11_7():
    facts = schema_facts()
    assert facts["mattermost"]["release"] == "11.7"
    assert len(facts["tables"]) == 80
    gin = [
        i["name"] for t in facts["tables"].values() for i in t["indexes"] if " USING gin " in i["definition"]
    ]
    assert {"idx_posts_message_txt", "idx_posts_hashtags_txt", "idx_fileinfo_content_txt"} <= set(gin)


def test_a_created_database_has_exactly_the_catalog_of_the_facts(mm_conn):
    """Tables, columns (type, nullability, default, order), constraints, indexes (GIN and partial
    ones included), storage options, enum types and materialized views: all equal, nothing more."""
    assert comparable(read_catalog(mm_conn)) == comparable(rendered_here(mm_conn, schema_facts()))


def test_mmgov_adds_no_index_mattermost_lacks(mm_conn):
    names = {r[0] for r in mm_conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    assert "idx_channelmemberhistory_channelid_leavetime" not in names
    facts = schema_facts()
    expected = {i["name"] for t in facts["tables"].values() for i in t["indexes"]}
    expected |= {i["name"] for v in facts["materialized_views"].values() for i in v["indexes"]}
    assert names == expected


def test_creating_again_changes_nothing(mm_conn):
    before = read_catalog(mm_conn)
    create_mattermost_schema(mm_conn)
    assert read_catalog(mm_conn) == before


def test_a_missing_table_is_created_with_its_constraints(mm_conn):
    mm_conn.execute("DROP TABLE retentionpoliciesteams")
    create_mattermost_schema(mm_conn)
    assert comparable(read_catalog(mm_conn)) == comparable(rendered_here(mm_conn, schema_facts()))


def test_schema_differences_names_what_is_missing_or_extra(mm_conn):
    assert schema_differences(mm_conn) == []
    mm_conn.execute("DROP INDEX idx_posts_message_txt")
    mm_conn.execute(
        "CREATE INDEX idx_channelmemberhistory_channelid_leavetime ON channelmemberhistory (channelid, leavetime)"
    )
    mm_conn.execute("DROP TABLE translations")
    assert schema_differences(mm_conn) == [
        "missing table translations",
        "missing index idx_posts_message_txt",
        "missing index idx_translations_channel_updateat",
        "missing index idx_translations_state",
        "missing index translations_pkey",
        "extra index idx_channelmemberhistory_channelid_leavetime",
    ]
