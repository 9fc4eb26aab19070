"""What a post row becomes in Mattermost's compliance export: one rule table, read by Python and SQL.

:data:`RULES` declares each entry kind once, with its condition over the post's columns; the
first rule that holds gives the post's own entry:

1. ``deleteat > 0`` and ``originalid != ''`` -> ``EditedOriginalMsg`` (the old text of an edit);
2. ``deleteat > 0`` and ``props`` has ``deleteBy`` -> ``Deleted`` (message ``delete <text>``, time
   ``deleteat``); when ``createat`` is inside the window the post also yields its "created" entry
   first (it was created and deleted in the same window, so no earlier export saw it);
3. ``updateat > createat`` and ``editat > 0`` -> ``EditedNewMsg``;
4. ``updateat > createat`` -> ``UpdatedNoMsgChange``;
5. otherwise a plain new post.

A :class:`Condition` is compiled both to a Python predicate (:func:`classify`) and to the SQL
expression PostgreSQL evaluates when it renders posts for a format (:func:`case_sql`,
:func:`entries_sql`, :data:`TWO_ENTRIES`); a test checks the two agree over a grid of rows.

Files follow Mattermost's rules: the "created" entry records every file as uploaded; the post's
own entry records deleted files as ``FileDeleted`` and the others as uploads (a deleted post's
remaining files are uploads only when no "created" entry recorded them already).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mmgov.compliance.model import ClassifiedPost, ExportedFile, MessageEntry, PostRecord, UpdateType


@dataclass(frozen=True)
class Condition:
    """A test over a post's columns, as SQL over ``posts p`` and as Python over a
    :class:`~mmgov.compliance.model.PostRecord` ``p`` and the window start ``start``.

    Both forms coalesce alike (a NULL ``deleteat`` is 0, a NULL ``originalid`` is ''), as the
    extractor's rows do. ``&`` and ``~`` combine conditions; :attr:`holds` is the Python form
    compiled once into one function (as cheap per post as a hand-written test).
    """

    sql: str
    python: str
    holds: Callable[[PostRecord, int], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "holds", _compiled(self.python))

    def __and__(self, other: Condition) -> Condition:
        return Condition(f"{self.sql} AND {other.sql}", f"{self.python} and {other.python}")

    def __invert__(self) -> Condition:
        return Condition(f"NOT ({self.sql})", f"not ({self.python})")


def _compiled(expression: str, **names: object) -> Callable[[PostRecord, int], object]:
    """``lambda p, start: <expression>`` (the expressions are this module's own, never input)."""
    code = compile(f"lambda p, start: {expression}", "<post_classifier>", "eval")
    return eval(code, {"__builtins__": {}, **names})  # noqa: S307


ALWAYS = Condition("true", "True")
IS_DELETED = Condition("COALESCE(p.deleteat, 0) > 0", "p.delete_at > 0")
HAS_ORIGINAL = Condition("COALESCE(p.originalid, '') <> ''", "p.original_id != ''")
DELETED_BY_USER = Condition("p.props->>'deleteBy' IS NOT NULL", "p.deleted_by is not None")
IS_UPDATED = Condition("p.updateat > COALESCE(p.createat, 0)", "p.update_at > p.create_at")
IS_EDITED = Condition("COALESCE(p.editat, 0) > 0", "p.edit_at > 0")
CREATED_IN_WINDOW = Condition("COALESCE(p.createat, 0) >= %(start)s", "p.create_at >= start")


@dataclass(frozen=True)
class Rule:
    """One entry kind: when it is the post's own entry, and what that entry holds."""

    kind: UpdateType
    when: Condition
    deleted: bool = False  # message ``delete <text>``, time ``deleteat`` (else the text, ``updateat``)
    created_first: Condition | None = None  # when the "created" entry comes first too

    @property
    def message_sql(self) -> str:
        return "'delete ' || COALESCE(p.message, '')" if self.deleted else "COALESCE(p.message, '')"

    @property
    def time_sql(self) -> str:
        """The entry's time (``MessageEntry.update_at``)."""
        return "p.deleteat" if self.deleted else "p.updateat"

    def entry(self, post: PostRecord) -> MessageEntry:
        if self.deleted:
            return MessageEntry(post, self.kind, "delete " + post.message, post.delete_at)
        return MessageEntry(post, self.kind, post.message, post.update_at)


CREATED = Rule(UpdateType.CREATED, ALWAYS)
RULES: tuple[Rule, ...] = (
    Rule(UpdateType.EDITED_ORIGINAL, IS_DELETED & HAS_ORIGINAL),
    Rule(UpdateType.DELETED, IS_DELETED & DELETED_BY_USER, deleted=True, created_first=CREATED_IN_WINDOW),
    Rule(UpdateType.EDITED_NEW, IS_UPDATED & IS_EDITED),
    Rule(UpdateType.UPDATED_NO_MSG_CHANGE, IS_UPDATED),
    CREATED,
)
assert RULES[-1].when is ALWAYS, "the last rule catches every post"


def first_match(rule: Rule) -> Condition:
    """The condition that ``rule`` is the one a post gets (it holds and no earlier rule does)."""
    condition = rule.when
    for earlier in RULES[: RULES.index(rule)]:
        condition = condition & ~earlier.when
    return condition


# A post whose entries are two: the "created" entry, then its own (rule 2 inside the window).
_TWO = next(r for r in RULES if r.created_first is not None)
TWO_ENTRIES = first_match(_TWO) & _TWO.created_first  # type: ignore[operator]
# How many message entries a post without files has, in SQL.
ENTRIES_OF_A_POST = f"CASE WHEN {TWO_ENTRIES.sql} THEN 2 ELSE 1 END"


# RULES[0] if <its condition> else RULES[1] if ... else RULES[-1], as one function: a post is
# classified by one call (the window start is not read by any rule's condition).
_RULE_OF = _compiled(
    " else ".join(f"R[{i}] if {r.when.python}" for i, r in enumerate(RULES[:-1]))
    + f" else R[{len(RULES) - 1}]",
    R=RULES,
)


def rule_of(post: PostRecord) -> Rule:
    """The rule giving ``post``'s own entry (the first that holds)."""
    return _RULE_OF(post, 0)  # type: ignore[return-value]


def classify(post: PostRecord, window_start_ms: int) -> ClassifiedPost:
    """All entries of one post row for a window starting at ``window_start_ms``."""
    rule = rule_of(post)
    created_too = rule.created_first is not None and rule.created_first.holds(post, window_start_ms)
    if not post.files and not created_too:
        return ClassifiedPost(post, (rule.entry(post),))  # the common case, kept cheap
    messages: list[MessageEntry] = []
    uploads: list[ExportedFile] = []
    deletions: list[ExportedFile] = []
    if created_too:
        messages.append(CREATED.entry(post))
        uploads.extend(post.files)
    messages.append(rule.entry(post))
    recorded = {f.id for f in uploads}
    for f in post.files:
        if f.delete_at > 0:
            deletions.append(f)
            if rule.deleted:
                continue
        if f.id not in recorded:
            uploads.append(f)
            recorded.add(f.id)
    return ClassifiedPost(post, tuple(messages), tuple(uploads), tuple(deletions))


def case_sql(value: Callable[[Rule], str]) -> str:
    """``CASE`` over :data:`RULES` in order: ``value(rule)`` of the first rule that holds, in SQL."""
    *firsts, last = RULES
    whens = "\n".join(f"WHEN {r.when.sql} THEN {value(r)}" for r in firsts)
    return f"CASE\n{whens}\nELSE {value(last)} END"


def entries_sql(render: Callable[[Rule], str]) -> str:
    """All message entries of a post without files, each rendered by ``render``, concatenated (SQL).

    The SQL twin of :func:`classify`'s messages: a format's database rendering of such posts.
    """

    def entries(rule: Rule) -> str:
        if rule.created_first is None:
            return render(rule)
        return f"CASE WHEN {rule.created_first.sql} THEN {render(CREATED)} ELSE '' END || {render(rule)}"

    return case_sql(entries)
