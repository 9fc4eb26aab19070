"""The post SQL both paths share: PostgreSQL renders strings, numbers and booleans byte for byte as
Python's ``dumps`` (a JSON value as its own text), and the priority and acknowledgement tables are
used only where they exist."""

from __future__ import annotations

import pytest
from psycopg import sql

from mmgov.bulk_export.jsonl_writer import dumps
from mmgov.bulk_export.post_sql import POST_EXTRA_TABLES, has_post_extras, json_object

FIELDS = (
    ("message", "v.s", "str"),
    ("props", "v.j", "json"),
    ("create_at", "v.n", "num"),
    ("flag", "v.b", "bool"),
)
ROW = "(SELECT %s::text AS s, %s::json AS j, %s::bigint AS n, %s::boolean AS b) v"


@pytest.mark.parametrize(
    "message",
    ["plain", 'quote " and \\ backslash', "line\nbreak\ttab", "été 🎉", "\x01 control"],
    ids=["plain", "escapes", "whitespace", "unicode", "control"],
)
def test_json_object_renders_what_python_dumps(mm_conn, message):
    props = '{"a":[1,"x"]}'
    query = sql.SQL("SELECT {}, {} FROM " + ROW).format(
        json_object(FIELDS), json_object(FIELDS, braces=False)
    )
    whole, members = mm_conn.execute(query, (message, props, -5, True)).fetchone()
    expected = dumps({"message": message, "props": {"a": [1, "x"]}, "create_at": -5, "flag": True})
    assert whole == expected
    assert members == expected[1:-1] + ","  # spliced in front of another object's members


def test_post_extras_only_where_the_tables_exist(mm_conn):
    """Mattermost 7.7 added ``postspriority`` and ``postacknowledgements``; older databases lack them."""
    assert has_post_extras(mm_conn)
    mm_conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(POST_EXTRA_TABLES[1])))
    assert not has_post_extras(mm_conn)
