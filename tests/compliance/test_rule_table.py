"""The rule table of what a post becomes (post_classifier.RULES): its SQL and its Python agree.

Mattermost's rules: server/enterprise/message_export/shared/shared.go (``getPostExport``: an edit's
old text, a deletion with ``deleteBy``, an edit, an update without message change, a new post) and
its tests (shared_test.go ``TestGetPostExport``).
"""

from __future__ import annotations

import itertools

import psycopg
import pytest

from mmgov.compliance.model import ChannelInfo, PostRecord, UpdateType, UserInfo
from mmgov.compliance.post_classifier import (
    ENTRIES_OF_A_POST,
    RULES,
    TWO_ENTRIES,
    case_sql,
    classify,
    first_match,
    rule_of,
)

START = 1_000
# (createat, updateat, deleteat, editat, originalid, deleteBy) as PostgreSQL holds them (NULLs too)
GRID = [
    (create, (create or 0) + moved, delete, edit, original, delete_by)
    for create, moved, delete, edit, original, delete_by in itertools.product(
        (None, START - 10, START, START + 10),  # createat before, at, after the window start
        (-1, 0, 1),  # updateat before, at, after createat
        (None, 0, START + 50),  # deleteat
        (None, 0, START + 5),  # editat
        (None, "", "o" * 26),  # originalid
        (None, "u" * 26),  # props.deleteBy
    )
]


def _record(row: tuple) -> PostRecord:
    """The record the extractor builds of the row (its COALESCEs, mmgov.compliance.post_reader.POST_QUERY)."""
    create, update, delete, edit, original, delete_by = row
    return PostRecord(
        "p" * 26,
        create or 0,
        update,
        delete or 0,
        edit or 0,
        UserInfo("u" * 26, "alice", "a@x"),
        ChannelInfo("c" * 26, "town", "Town", "O"),
        "",
        original or "",
        "hi",
        "",
        delete_by,
    )


def _evaluate(conn: psycopg.Connection, expressions: list[str]) -> list[tuple]:
    """Each expression over ``posts p`` evaluated by PostgreSQL for every row of the grid."""
    columns = ", ".join(expressions)
    return conn.execute(
        f"""SELECT {columns} FROM unnest(%(create)s::bigint[], %(update)s::bigint[], %(delete)s::bigint[],
        %(edit)s::bigint[], %(original)s::text[], %(props)s::jsonb[]) WITH ORDINALITY
        AS p(createat, updateat, deleteat, editat, originalid, props, n) ORDER BY n""",
        {
            "start": START,
            "create": [r[0] for r in GRID],
            "update": [r[1] for r in GRID],
            "delete": [r[2] for r in GRID],
            "edit": [r[3] for r in GRID],
            "original": [r[4] for r in GRID],
            "props": [psycopg.types.json.Jsonb({} if r[5] is None else {"deleteBy": r[5]}) for r in GRID],
        },
    ).fetchall()


def test_every_rule_holds_in_postgresql_exactly_where_it_holds_in_python(mm_conn):
    conditions = [c for r in RULES for c in (r.when, first_match(r))] + [TWO_ENTRIES]
    conditions += [r.created_first for r in RULES if r.created_first is not None]
    in_sql = _evaluate(mm_conn, [c.sql for c in conditions])
    assert len(in_sql) == len(GRID)
    for row, values in zip(GRID, in_sql, strict=True):
        post = _record(row)
        assert list(values) == [c.holds(post, START) for c in conditions], row


def test_the_kind_and_entry_count_postgresql_renders_are_those_python_classifies(mm_conn):
    kind = case_sql(lambda r: f"'{r.kind.value}'")
    seen: set[tuple[UpdateType, ...]] = set()
    for row, (sql_kind, entries) in zip(GRID, _evaluate(mm_conn, [kind, ENTRIES_OF_A_POST]), strict=True):
        post = _record(row)
        classified = classify(post, START)
        assert sql_kind == rule_of(post).kind.value == classified.messages[-1].update_type.value, row
        assert entries == len(classified.messages), row
        seen.add(tuple(m.update_type for m in classified.messages))
    # the grid reaches every kind and the two-entry case
    assert seen == {
        (UpdateType.CREATED,),
        (UpdateType.EDITED_ORIGINAL,),
        (UpdateType.DELETED,),
        (UpdateType.CREATED, UpdateType.DELETED),
        (UpdateType.EDITED_NEW,),
        (UpdateType.UPDATED_NO_MSG_CHANGE,),
    }


@pytest.mark.parametrize(
    ("rule_kind", "message", "time"),
    [
        (UpdateType.EDITED_ORIGINAL, "hi", "update"),
        (UpdateType.DELETED, "delete hi", "delete"),
        (UpdateType.EDITED_NEW, "hi", "update"),
        (UpdateType.UPDATED_NO_MSG_CHANGE, "hi", "update"),
        (UpdateType.CREATED, "hi", "update"),
    ],
    ids=["edited-original", "deleted", "edited-new", "updated", "created"],
)
def test_each_entry_holds_the_text_and_time_its_sql_names(mm_conn, rule_kind, message, time):
    (rule,) = [r for r in RULES if r.kind is rule_kind]
    row = (START, START + 20, START + 30, 0, "", None)
    (values,) = _evaluate_one(mm_conn, row, [rule.message_sql, rule.time_sql])
    entry = rule.entry(_record(row))
    expected_time = START + 30 if time == "delete" else START + 20
    assert (entry.message, entry.update_at) == (message, expected_time) == tuple(values)


def _evaluate_one(conn: psycopg.Connection, row: tuple, expressions: list[str]) -> list[tuple]:
    create, update, delete, edit, _, _ = row
    return conn.execute(
        f"SELECT {', '.join(expressions)} FROM (SELECT %s::bigint AS createat, %s::bigint AS updateat,"
        " %s::bigint AS deleteat, %s::bigint AS editat, 'hi'::text AS message) p",
        (create, update, delete, edit),
    ).fetchall()
