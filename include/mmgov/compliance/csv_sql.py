"""The CSV format's accelerator: PostgreSQL renders the lines of a post without files.

The same columns and the same quoting rule (Go's ``encoding/csv``) as
:meth:`mmgov.compliance.csv_format._Lines.post`; the entries come from the rule table
(:func:`mmgov.compliance.post_classifier.entries_sql`). ``tests/compliance/test_accelerator.py``
checks every zip byte for byte against the Python rendering.
"""

from __future__ import annotations

from mmgov.compliance.model import UpdateType
from mmgov.compliance.post_classifier import Rule, entries_sql
from mmgov.compliance.post_reader import SqlRendering

# One pattern for Python and PostgreSQL: the characters are literal, and both engines read `[...]`,
# `^`, `|` and `\\`, `\.` alike (csv_format._NEEDS_QUOTES is this pattern in Python).
_GO_SPACES = "\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
QUOTE_PATTERN_SQL = '[,"\r\n]|^[' + _GO_SPACES + "]|^\\\\\\.$"


def _sql_field(expr: str) -> str:
    """:func:`csv_field` of a text expression, in PostgreSQL (``%(csv_quote)s`` = QUOTE_PATTERN_SQL)."""
    return (
        f"""CASE WHEN {expr} ~ %(csv_quote)s THEN '"' || replace({expr}, '"', '""') || '"' ELSE {expr} END"""
    )


def _sql_fields(*exprs: str) -> str:
    return " || ',' || ".join(_sql_field(e) for e in exprs)


# The CSV lines of a post without files (ComplianceFormat.accelerator), rendered
# by PostgreSQL exactly as _Lines.post renders it: the same columns, escaped by the same rule.
# The channel's and the author's columns come from lateral subqueries that PostgreSQL memoizes
# (computed once per channel and per author); a missing channel or author row gives the columns
# Python gives it (empty names; the id kept).
_CHANNEL_COLS = f"""CASE WHEN c.type IN ('D', 'G') THEN ',,,' ELSE {
    _sql_fields("COALESCE(c.teamid, '')", "COALESCE(t.name, '')", "COALESCE(t.displayname, '')")
} || ',' END || {_sql_fields("c.id", "COALESCE(c.name, '')")} || ',' || CASE c.type
WHEN 'D' THEN 'Direct Message' WHEN 'G' THEN 'Group Message' ELSE {
    _sql_field("COALESCE(c.displayname, '')")
} END
|| ',' || CASE c.type WHEN 'O' THEN 'public' WHEN 'P' THEN 'private' WHEN 'D' THEN 'direct'
WHEN 'G' THEN 'group' ELSE {_sql_field("COALESCE(c.type::text, '')")} END"""
CSV_POST_JOINS = f"""
LEFT JOIN LATERAL (SELECT {_CHANNEL_COLS} AS cols FROM channels c LEFT JOIN teams t ON t.id = c.teamid
                   WHERE c.id = p.channelid OFFSET 0) ch ON true
LEFT JOIN LATERAL (SELECT {_sql_fields("u.id", "COALESCE(u.email, '')", "COALESCE(u.username, '')")} AS cols,
                          EXISTS (SELECT 1 FROM bots b WHERE b.userid = u.id) AS is_bot
                   FROM users u WHERE u.id = p.userid OFFSET 0) us ON true"""


def _sql_post_line(kind: str, edited: str, text: str) -> str:
    """One message line of a post (``_Lines.post``): ``kind``, the edited-post id and the text as SQL."""
    return f"""COALESCE(p.createat, 0) || ',' || p.updateat || ',' || {kind}
|| ',' || COALESCE(ch.cols, ',,,' || {_sql_field("COALESCE(p.channelid, '')")} || ',,,')
|| ',' || COALESCE(us.cols, {_sql_field("COALESCE(p.userid, '')")} || ',,')
|| ',' || {_sql_field("p.id")} || ',' || {edited} || ',' || {_sql_field("COALESCE(p.rootid, '')")} || ',' || {text}
|| ',message,' || CASE WHEN us.is_bot OR p.props->>'from_bot' = 'true' THEN 'bot' ELSE 'user' END
|| ',' || {_sql_field("COALESCE(p.props->>'previewed_post', '')")} || chr(10)"""


def _sql_entry(rule: Rule) -> str:
    """The line of one message entry of ``rule``'s kind (``_Lines.post``), in SQL."""
    edited = _sql_field("p.originalid") if rule.kind is UpdateType.EDITED_ORIGINAL else "''"
    return _sql_post_line(f"'{rule.kind.value}'", edited, _sql_field(rule.message_sql))


# A post without files: the lines of its message entries (post_classifier.RULES).
CSV_POST_LINES = entries_sql(_sql_entry)


ACCELERATOR = SqlRendering(CSV_POST_LINES, CSV_POST_JOINS, params={"csv_quote": QUOTE_PATTERN_SQL})
