"""Physical removal leaves no row hanging off a removed post in any post-keyed table of Mattermost 11.7.

The registry (``mmgov.retention.post_rows``) is checked against the schema facts; the tables are
those Mattermost's own permanent delete cleans (``server/channels/store/sqlstore/post_store.go``,
``reaction_store.go`` ``DeleteOrphanedRowsByIds``, ``post_priority_store.go`` ``Delete``,
``draft_store.go`` ``DeleteDraftsAssociatedWithPost``).
"""

from __future__ import annotations

import re

import psycopg
import pytest
from psycopg import sql

from mmgov.file_store import LocalFileStore
from mmgov.ids import new_id
from mmgov.mattermost_schema import schema_facts
from mmgov.retention.post_rows import NOT_REMOVED_WITH_THE_POST, POST_KEYED_TABLES, existing_post_keyed_tables
from tests.retention.test_physical_removal import make_settings, purge, remove


def _holds_a_post_id(column: str) -> bool:
    return column in ("rootid", "objectid") or "postid" in column  # channelbookmarks.originalid is a bookmark


def _columns(table: str) -> dict[str, dict]:
    return {c["name"]: c for c in schema_facts()["tables"][table]["columns"]}


class TestRegistry:
    def test_every_post_keyed_table_of_the_schema_is_named(self):
        keyed = {
            name
            for name, table in schema_facts()["tables"].items()
            if any(_holds_a_post_id(c["name"]) for c in table["columns"])
        }
        registered = {t.table for t in POST_KEYED_TABLES}
        assert keyed - registered == set(NOT_REMOVED_WITH_THE_POST)
        assert not registered & set(NOT_REMOVED_WITH_THE_POST)

    @pytest.mark.parametrize("entry", POST_KEYED_TABLES, ids=lambda t: t.table)
    def test_each_entry_names_real_columns(self, entry):
        columns = _columns(entry.table)
        assert entry.column in columns
        assert all(c in columns for c, _ in entry.where)

    def test_the_11_x_tables_named_in_the_issue_are_all_there(self):
        named = {
            "postspriority", "postacknowledgements", "postreminders", "persistentnotifications",
            "readreceipts", "temporaryposts", "translations",
        }  # fmt: skip
        assert named <= {t.table for t in POST_KEYED_TABLES}

    def test_a_table_an_older_mattermost_lacks_is_skipped(self, conn):
        conn.execute("DROP TABLE translations")
        conn.execute("DROP TABLE readreceipts")
        tables = {t.table for t in existing_post_keyed_tables(conn)}
        assert tables == {t.table for t in POST_KEYED_TABLES} - {"translations", "readreceipts"}


def _hang_row(conn: psycopg.Connection, table: str, column: str, where: tuple, post_id: str) -> None:
    """One row of ``table`` hanging off ``post_id``; other required columns get plain values."""
    values: dict[str, object] = {column: post_id, **dict(where)}
    for name, c in _columns(table).items():
        if name in values or c["nullable"] or c["default"] is not None:
            continue
        size = re.search(r"\((\d+)\)", c["type"])
        text = new_id()[: int(size.group(1))] if size else new_id()
        values[name] = 1 if c["type"] in ("bigint", "integer", "smallint") else text
    conn.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, values)),
            sql.SQL(", ").join(sql.Placeholder() * len(values)),
        ),
        list(values.values()),
    )


def _post_ids_in(conn: psycopg.Connection, table: str, column: str, where: tuple) -> set[str]:
    conditions = sql.SQL(" AND ").join(
        [sql.SQL("true")] + [sql.SQL("{} = {}").format(sql.Identifier(c), sql.Literal(v)) for c, v in where]
    )
    query = sql.SQL("SELECT {} FROM {} WHERE {}").format(
        sql.Identifier(column), sql.Identifier(table), conditions
    )
    return {r[0] for r in conn.execute(query)}


def test_removal_leaves_no_orphan_in_any_post_keyed_table(conn, ws, file_store):
    chan = ws.channel(ws.team())
    old_root = ws.post(chan, 200)
    old_reply = ws.post(chan, 150, root_id=old_root)
    young = ws.post(chan, 5)
    for post in (old_root, old_reply, young):
        for t in POST_KEYED_TABLES:
            _hang_row(conn, t.table, t.column, t.where, post)
    s = make_settings()
    purge(conn, s)
    _, result = remove(conn, s, LocalFileStore(file_store))
    assert result["messages_removed"] == 2
    posts = {r[0] for r in conn.execute("SELECT id FROM posts")}
    assert posts == {young}
    for t in POST_KEYED_TABLES:
        assert _post_ids_in(conn, t.table, t.column, t.where) == {young}, t.table


def test_rows_of_another_kind_with_the_same_key_stay(conn, ws, file_store):
    """A translation of a channel or a preference of another category is not the post's."""
    chan = ws.channel(ws.team())
    old = ws.post(chan, 200)
    _hang_row(conn, "translations", "objectid", (("objecttype", "channel"),), old)
    _hang_row(conn, "preferences", "name", (("category", "display_settings"),), old)
    s = make_settings()
    purge(conn, s)
    remove(conn, s, LocalFileStore(file_store))
    assert conn.execute("SELECT count(*) FROM posts WHERE id = %s", (old,)).fetchone()[0] == 0
    assert _post_ids_in(conn, "translations", "objectid", (("objecttype", "channel"),)) == {old}
    assert _post_ids_in(conn, "preferences", "name", (("category", "display_settings"),)) == {old}
