"""What a post becomes: the classifier's entries for messages, edits, deletes and files, and the rule
table's SQL, which must hold exactly where its Python holds.

Mattermost's rules: server/enterprise/message_export/shared/shared.go (``getPostExport``: an edit's
old text, a deletion with ``deleteBy``, an edit, an update without message change, a new post) and
its tests (shared_test.go ``TestGetPostExport``).
"""

from __future__ import annotations

import itertools

import psycopg
import pytest

from mmgov.compliance.model import ChannelInfo, ExportedFile, PostRecord, UpdateType, UserInfo
from mmgov.compliance.post_classifier import (
    ENTRIES_OF_A_POST,
    RULES,
    TWO_ENTRIES,
    case_sql,
    classify,
    first_match,
    rule_of,
)


def _post(**kw) -> PostRecord:
    base = {
        "id": "p" * 26,
        "create_at": 100,
        "update_at": 100,
        "delete_at": 0,
        "edit_at": 0,
        "user": UserInfo("u" * 26, "alice", "a@x"),
        "channel": ChannelInfo("c" * 26, "town", "Town", "O"),
        "root_id": "",
        "original_id": "",
        "message": "hi",
        "type": "",
    }
    base.update(kw)
    return PostRecord(**base)


class TestClassifier:
    @pytest.mark.parametrize(
        ("kw", "expected"),
        [
            ({}, [UpdateType.CREATED]),
            ({"delete_at": 150, "update_at": 150, "original_id": "o" * 26}, [UpdateType.EDITED_ORIGINAL]),
            (
                {"delete_at": 150, "update_at": 150, "original_id": "o" * 26, "deleted_by": "u"},
                [UpdateType.EDITED_ORIGINAL],
            ),
            (
                {"delete_at": 150, "update_at": 150, "deleted_by": "u"},
                [UpdateType.CREATED, UpdateType.DELETED],
            ),
            ({"delete_at": 150, "update_at": 150, "deleted_by": "u", "create_at": 50}, [UpdateType.DELETED]),
            ({"update_at": 150, "edit_at": 150}, [UpdateType.EDITED_NEW]),
            ({"update_at": 150}, [UpdateType.UPDATED_NO_MSG_CHANGE]),
            ({"delete_at": 150, "update_at": 150}, [UpdateType.UPDATED_NO_MSG_CHANGE]),
        ],
        ids=[
            "created",
            "edit-original",
            "edit-original-first",
            "deleted-in-window",
            "deleted-later",
            "edited-new",
            "updated",
            "deleted-without-deleteBy",
        ],
    )
    def test_rules_first_match_wins(self, kw, expected):
        cp = classify(_post(**kw), window_start_ms=100)
        assert [m.update_type for m in cp.messages] == expected

    def test_deleted_message_text(self):
        cp = classify(_post(delete_at=150, update_at=150, deleted_by="u", create_at=50), 100)
        assert cp.messages[0].message == "delete hi"
        assert cp.messages[0].update_at == 150

    def test_files(self):
        live = ExportedFile("f" * 26, "p" * 26, "a.txt", "x/a.txt")
        gone = ExportedFile("g" * 26, "p" * 26, "b.txt", "x/b.txt", delete_at=160)
        cp = classify(_post(update_at=160, files=(live, gone)), 100)
        assert cp.uploads == (live, gone)
        assert cp.file_deletions == (gone,)
        deleted = classify(_post(delete_at=160, update_at=160, deleted_by="u", files=(gone,)), 100)
        assert deleted.uploads == (gone,)  # recorded by the "created" entry
        assert deleted.file_deletions == (gone,)


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
