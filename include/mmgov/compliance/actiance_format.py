"""The Actiance XML format (``ExportFormat = actiance``): ``actiance_export.xml``, attachments, ``warning.txt``.

Zip entries, in this order: ``actiance_export.xml``; every attachment at its raw ``fileinfo.path``
(Actiance's ``FileName`` points there); ``warning.txt`` when some attachment could not be read.

The document, indented by two spaces like Mattermost's Go encoder::

    <?xml version="1.0" encoding="UTF-8"?>
    <FileDump xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <Conversation Perspective="<channel display name>">
        <RoomID><type> - <channel name> - <channel id></RoomID>
        <StartTimeUTC>batch start</StartTimeUTC>
        <ParticipantEntered>...</ParticipantEntered>   one per membership, by (time, email)
        <Message> / <FileTransferStarted> / <FileTransferEnded>   in Mattermost 10.5+'s order (_elements)
        <ParticipantLeft>...</ParticipantLeft>         one per ParticipantEntered, by (time, email)
        <EndTimeUTC>batch end</EndTimeUTC>
      </Conversation>
    </FileDump>

Channels are written in id order. Every ``ParticipantEntered`` has its ``ParticipantLeft``: a
membership that ended inside the batch leaves at its real time, one still open at the batch end
leaves at ``batch.end_ms`` (the closing leave). Times are epoch milliseconds.

The XML is written incrementally into the zip entry's stream by a small streaming writer (text
escaped as lxml escapes it: ``&``, ``<``, ``>`` and ``\\r`` in text, also ``"``, ``\\n`` and
``\\t`` in attributes), chunk by chunk: memory holds one channel's sorted element keys, never a
tree of the batch. Characters XML 1.0 forbids (C0 controls other than tab/LF/CR, lone surrogates,
U+FFFE/U+FFFF) become U+FFFD, so the document parses whatever the messages contain. The
``Message`` element of a plain post (not deleted, no files) comes from PostgreSQL
(:data:`ACTIANCE_POST_LINES`, the same bytes as :func:`_message_element`). Big batches
are dominated by membership: every member of every active channel is entered and left in every
batch (each batch's document stands alone, as in Mattermost). Those blocks are rendered from
per-user templates, and closing leaves are ordered by a per-user rank. With the membership
source's ``MembersDelta`` (the usual case), a channel keeps the blocks of the members present at
its batch start from one batch to the next and cuts and splices them as bytes where members came
or went: per batch, only the members that entered, left or changed are Python work. Without a
delta, a channel keeps each member's ``ParticipantEntered`` (only new memberships are rendered) and
a channel whose member list did not change reuses its blocks (the closing leaves only differ by
their time, spliced in).
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Iterable, Iterator
from itertools import compress
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from mmgov.compliance.formats import BatchResult, ComplianceFormat, FileSource, ZipSink, copy_attachment
from mmgov.compliance.model import (
    ChannelActivity,
    ClassifiedPost,
    ExportBatch,
    ExportedFile,
    MemberEvent,
    MembersDelta,
    MessageEntry,
    PostRecord,
    RenderedPost,
    UpdateType,
    UserInfo,
)
from mmgov.compliance.post_classifier import Rule, case_sql, entries_sql
from mmgov.compliance.post_reader import SqlRendering

ACTIANCE_XML = "actiance_export.xml"
WARNING_TXT = "warning.txt"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
TRANSFER_COMPLETED = "Completed"
_RESERVED_ENTRIES = frozenset({ACTIANCE_XML, WARNING_TXT})

# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. Everything else
# (C0 controls, lone surrogates, U+FFFE, U+FFFF) is replaced by U+FFFD.
# The complement, as one positive character class (a class searches several times faster than an
# alternation with a negated class): C0 controls but tab/LF/CR, surrogates, U+FFFE and U+FFFF.
_FORBIDDEN_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NOT_XML_CHAR = re.compile(f"[{_FORBIDDEN_XML}]")
REPLACEMENT_CHARACTER = "\ufffd"

# Indentation (Go's xml.Encoder.Indent("", "  ")): depth 1 = Conversation, 2 = its children, 3 = fields.
_NL1, _NL2, _NL3 = "\n  ", "\n    ", "\n      "


def xml_text(value: object) -> str:
    """``value`` as text XML 1.0 can carry: forbidden characters become U+FFFD."""
    text = value if isinstance(value, str) else str(value)
    return _NOT_XML_CHAR.sub(REPLACEMENT_CHARACTER, text)


def room_id(activity: ChannelActivity) -> str:
    """``<type> - <channel name> - <channel id>`` (type as in the CSV: public/private/direct/group)."""
    ch = activity.channel
    return f"{ch.type_name} - {ch.name} - {ch.id}"


# Mattermost's EnsureLastMessageInASort: a file transfer sorts as (post createat, this), after every
# message of its millisecond (message ids are 26 characters of [a-z0-9]).
AFTER_MESSAGES = "z" * 26
_TRANSFER_RANK = 1 << 32  # transfer ranks start past any rank of a post's messages or file deletions


def entry_time(m: MessageEntry) -> int:
    """The time Mattermost orders a ``Message`` element by (``PostExport.SortVal``): the entry's update
    time (edit, update, deletion: ``UpdatedDateTimeUTC``), or the post's creation time for a new post."""
    return m.post.create_at if m.update_type is UpdateType.CREATED else m.update_at


class _Element(NamedTuple):
    """One dated child of a Conversation: a message entry, a file transfer or a file deletion.

    ``kind``: 0 message, 1 transfer started, 2 transfer ended, 3 file deleted. Tuples sort by
    (time, id, rank), which is unique, so the comparison never reaches the other fields.
    """

    time: int
    sort_id: str  # the post id, or AFTER_MESSAGES for a file transfer
    rank: int
    kind: int
    cp: ClassifiedPost
    entry: MessageEntry | None
    file: ExportedFile | None


def _elements(posts: list[ClassifiedPost]) -> list[_Element]:
    """The elements of ``posts`` (batch order) in Mattermost's order (actiance_export.go,
    ``slices.SortStableFunc(elements, SortableSort)``): by (time, id), where a message sorts by
    :func:`entry_time`, a file deletion by the file's ``deleteat`` and a transfer by its post's
    ``createat`` and :data:`AFTER_MESSAGES`; ties keep the order Mattermost appends them in: every
    message (a post's "created" entry first), then every file deletion, then every
    ``FileTransferStarted``, then every ``FileTransferEnded``, each in batch order. ``rank`` encodes
    that order where (time, id) ties: a post's messages, then its deletions; transfers after both."""
    out: list[_Element] = []
    uploads: list[tuple[ClassifiedPost, ExportedFile]] = []
    for cp in posts:
        p = cp.post
        for rank, m in enumerate(cp.messages):
            out.append(_Element(entry_time(m), p.id, rank, 0, cp, m, None))
        for rank, f in enumerate(cp.file_deletions, len(cp.messages)):
            out.append(_Element(f.delete_at, p.id, rank, 3, cp, None, f))
        uploads.extend((cp, f) for f in cp.uploads)
    ends = _TRANSFER_RANK + len(uploads)
    for i, (cp, f) in enumerate(uploads):
        created = cp.post.create_at
        out.append(_Element(created, AFTER_MESSAGES, _TRANSFER_RANK + i, 1, cp, None, f))
        out.append(_Element(created, AFTER_MESSAGES, ends + i, 2, cp, None, f))
    out.sort()
    return out


# Text and attribute escaping, as lxml serialises them.
_TEXT_SPECIAL = re.compile(f"[&<>\r{_FORBIDDEN_XML}]")
_ATTR_SPECIAL = re.compile(f'[&<>"\r\n\t{_FORBIDDEN_XML}]')
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


def escape_text(value: object) -> str:
    """``value`` as XML element text: forbidden characters -> U+FFFD, then ``& < > \\r`` escaped."""
    text = value if isinstance(value, str) else str(value)
    if _TEXT_SPECIAL.search(text) is None:
        return text
    return xml_text(text).translate(_TEXT_ESCAPES)


def escape_attribute(value: object) -> str:
    """``value`` as a double-quoted XML attribute value (as lxml writes it)."""
    text = value if isinstance(value, str) else str(value)
    if _ATTR_SPECIAL.search(text) is None:
        return text
    return xml_text(text).translate(_ATTR_ESCAPES)


def _element(tag: str, fields: Iterable[tuple[str, str]]) -> str:
    """A depth-2 element with escaped depth-3 fields, indented like Go's encoder."""
    inner = "".join(f"{_NL3}<{name}>{value}</{name}>" for name, value in fields)
    return f"{_NL2}<{tag}>{inner}{_NL2}</{tag}>"


def _sql_text(expr: str) -> str:
    """:func:`escape_text` of a text expression, in PostgreSQL (``%(xml_special)s``,
    ``%(xml_forbidden)s``: the patterns :data:`XML_SPECIAL_SQL` and :data:`XML_FORBIDDEN_SQL`).

    PostgreSQL's text holds no NUL and no lone surrogate, so the forbidden characters left are the
    other C0 controls, U+FFFE and U+FFFF; ``&`` is escaped first, as one pass of ``translate`` does."""
    return (
        f"CASE WHEN {expr} ~ %(xml_special)s THEN replace(replace(replace(replace(regexp_replace("
        f"{expr}, %(xml_forbidden)s, chr(65533), 'g'), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), chr(13), '&#13;')"
        f" ELSE {expr} END"
    )


XML_FORBIDDEN_SQL = "[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
XML_SPECIAL_SQL = "[&<>\r\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"

# A Message element of a post without files (ComplianceFormat.accelerator),
# rendered by PostgreSQL exactly as _message_element renders it. The author's escaped e-mail and bot
# flag come from a lateral subquery that PostgreSQL memoizes (once per author); a missing author row
# gives an empty LoginName, as in Python.
ACTIANCE_POST_JOINS = f"""
LEFT JOIN LATERAL (SELECT {_sql_text("COALESCE(u.email, '')")} AS email,
                          EXISTS (SELECT 1 FROM bots b WHERE b.userid = u.id) AS is_bot
                   FROM users u WHERE u.id = p.userid OFFSET 0) us ON true"""


def _sql_message(updated: str, text: str) -> str:
    """One ``Message`` element (``_message_element``): the ``UpdatedType``... fields and the content as SQL."""
    return f"""'{_NL2}<Message>{_NL3}<MessageId>' || {_sql_text("p.id")} || '</MessageId>{_NL3}<LoginName>'
|| COALESCE(us.email, '') || '</LoginName>{_NL3}<UserType>'
|| CASE WHEN us.is_bot OR p.props->>'from_bot' = 'true' THEN 'bot' ELSE 'user' END
|| '</UserType>{_NL3}<DateTimeUTC>' || COALESCE(p.createat, 0) || '</DateTimeUTC>' || {updated}
|| '{_NL3}<Content>' || {text} || '</Content>'
|| CASE WHEN COALESCE(p.props->>'previewed_post', '') = '' THEN ''
   ELSE '{_NL3}<PreviewsPost>' || {_sql_text("(p.props->>'previewed_post')")} || '</PreviewsPost>' END
|| '{_NL2}</Message>'"""


def _sql_updated(kind: str, at: str) -> str:
    return f"'{_NL3}<UpdatedType>' || {kind} || '</UpdatedType>{_NL3}<UpdatedDateTimeUTC>' || {at} || '</UpdatedDateTimeUTC>'"


def _sql_entry(rule: Rule) -> str:
    """The ``Message`` element of one message entry of ``rule``'s kind, in SQL."""
    updated = "''" if rule.kind is UpdateType.CREATED else _sql_updated(f"'{rule.kind.value}'", rule.time_sql)
    if rule.kind is UpdateType.EDITED_ORIGINAL:
        updated += f" || '{_NL3}<EditedNewMsgId>' || {_sql_text('p.originalid')} || '</EditedNewMsgId>'"
    return _sql_message(updated, _sql_text(rule.message_sql))


def _sql_first_time(rule: Rule) -> str:
    """The time the post's first entry sorts by (:func:`entry_time`), in SQL."""
    own = "COALESCE(p.createat, 0)" if rule.kind is UpdateType.CREATED else rule.time_sql
    if rule.created_first is None:
        return own
    return f"CASE WHEN {rule.created_first.sql} THEN COALESCE(p.createat, 0) ELSE {own} END"


# A post without files: the Message elements of its entries (post_classifier.RULES).
ACTIANCE_POST_LINES = entries_sql(_sql_entry)
# The time a rendered post's first Message element sorts by (the rendered row's time, RenderedPost[1]).
ACTIANCE_POST_TIME = case_sql(_sql_first_time)


# A member's rendered pieces: (e-mail, user id, the user, entered before / after its time, its
# closing leave with _END where the batch end goes, left before / after its time). Sorting them
# by their first two fields orders closing leaves by (e-mail, id).
_UserParts = tuple[str, str, UserInfo, str, str, str, str, str]
_END = "\x00"  # never in the output: escape_text turns NUL into U+FFFD


class _PrefixBlocks(NamedTuple):
    """The blocks of a channel's members present at a batch start (``MembersDelta.prefix``).

    Kept from one batch to the next and derived from the previous prefix's by cutting and splicing
    (:func:`_splice`): only the members that came or went are rendered or looked up, the rest is
    copied as bytes. ``epoch``: the rank numbering the closing leaves were ordered by."""

    prefix: list[MemberEvent]
    epoch: int
    entered: bytes  # ParticipantEntered elements, in prefix order
    entered_lengths: array  # the length of each
    ranks: list[float]  # the closing leaves' ranks, ascending
    closing: bytes  # the closing leaves (with _END where the batch end goes), in rank order
    closing_lengths: array


def _splice(
    data: bytes,
    lengths: array,
    keys: list[float] | None,
    removed: Iterable[int],
    inserted: list[tuple[int, float, bytes]],
    *,
    keep_lengths: bool = True,
) -> tuple[bytes, array, list[float] | None]:
    """A sequence of elements (``data`` cut by ``lengths``, with sort ``keys``) without the elements
    at the positions ``removed`` (ascending) and with ``inserted`` elements ``(position, key, bytes)``
    (ascending) put before the element at their position. Only the changes cost Python work: the
    kept runs are copied as slices, and the byte offset of the first change is summed from the
    nearer end. ``keep_lengths=False``: the new lengths and keys are not wanted (returned as given)."""
    ops: list[tuple[int, int, float, bytes]] = [(pos, 0, key, piece) for pos, key, piece in inserted]
    ops += [(pos, 1, 0.0, b"") for pos in removed]
    if not ops:
        return data, lengths, keys
    ops.sort(key=_POSITION_KIND)  # stable: insertions at one position keep their order
    last = ops[0][0]
    off = sum(lengths[:last]) if 2 * last <= len(lengths) else len(data) - sum(lengths[last:])
    view = memoryview(data)  # slices without copies: the join is the only one
    out: list[bytes | memoryview] = [view[:off]]
    out_lengths = lengths[:last] if keep_lengths else lengths
    out_keys = keys[:last] if keep_lengths and keys is not None else keys
    for pos, kind, key, piece in ops:
        if pos > last:
            end = off + sum(lengths[last:pos])
            out.append(view[off:end])
            if keep_lengths:
                out_lengths += lengths[last:pos]
                if out_keys is not None:
                    out_keys += keys[last:pos]  # type: ignore[index]
            last, off = pos, end
        if kind == 0:
            out.append(piece)
            if keep_lengths:
                out_lengths.append(len(piece))
                if out_keys is not None:
                    out_keys.append(key)
        else:  # removed: skipped
            off += lengths[pos]
            last = pos + 1
    out.append(view[off:])
    if keep_lengths:
        out_lengths += lengths[last:]
        if out_keys is not None:
            out_keys += keys[last:]  # type: ignore[index]
    return b"".join(out), out_lengths, out_keys


class _Blocks(NamedTuple):
    """A channel's rendered participant blocks and what they were rendered from."""

    joins: list[MemberEvent]
    depends_on_end: bool  # some join has a left_at: the split into real / closing leaves is for one end only
    real_leaves: bytes
    closing_leaves: bytes  # with _END where the batch end goes
    # id(event) -> its ParticipantEntered element, in the order of ``joins``: joined, the entered
    # block (kept once: the block itself is joined again for each batch)
    pieces: dict[int, bytes]


_BY_EMAIL_ID = itemgetter(0, 1)
_POSITION_KIND = itemgetter(0, 1)
_BY_TIME_EMAIL_ID = itemgetter(0, 1, 2)
_USER = attrgetter("user")
_LEFT_AT = attrgetter("left_at")


def _participant_template(tag: str, email: str, user_type: str) -> tuple[str, str]:
    return (
        f"{_NL2}<{tag}>{_NL3}<LoginName>{email}</LoginName>{_NL3}<UserType>{user_type}</UserType>"
        f"{_NL3}<DateTimeUTC>",
        f"</DateTimeUTC>{_NL3}<CorporateEmailID>{email}</CorporateEmailID>{_NL2}</{tag}>",
    )


class _Participants:
    """``ParticipantEntered`` / ``ParticipantLeft`` blocks, the hot path of big batches.

    Every member of every active channel is entered and left in every batch, so the work per member
    is kept to a few C-level passes over the member list:

    - each user's elements are rendered once (split around their ``DateTimeUTC``);
    - a channel keeps, from one batch to the next, each member's rendered ``ParticipantEntered``
      by membership event (the membership source hands the same event objects while a membership
      lasts): a changed member list renders only its new events;
    - closing leaves (all at the batch end) are ordered by a rank of each user in (e-mail, id) order,
      and carry a marker where the end time goes; a channel whose member list did not change reuses
      its blocks as they are, with the new end time put in.

    Only the channels of the current batch are kept; users' pieces past ``MAX_USERS`` are dropped
    between batches.
    """

    MAX_USERS = 50_000

    def __init__(self) -> None:
        self._users: dict[int, _UserParts] = {}  # id(user) -> its pieces (the user kept alive in them)
        self._reset_ranks()
        self._blocks: dict[str, _Blocks] = {}
        self._next_blocks: dict[str, _Blocks] = {}
        self._prefixes: dict[str, _PrefixBlocks] = {}
        self._next_prefixes: dict[str, _PrefixBlocks] = {}

    def _user_parts(self, user: UserInfo) -> _UserParts:
        found = self._users.get(id(user))
        if found is None:
            email, user_type = escape_text(user.email), user.user_type
            entered_pre, entered_post = _participant_template("ParticipantEntered", email, user_type)
            left_pre, left_post = _participant_template("ParticipantLeft", email, user_type)
            found = self._users[id(user)] = (
                user.email,
                user.id,
                user,
                entered_pre,
                entered_post,
                f"{left_pre}{_END}{left_post}",
                left_pre,
                left_post,
            )
        return found

    def _reset_ranks(self) -> None:
        # Closing leaves are ordered by (e-mail, id): each user object gets a rank in that order, kept
        # as floats so a new user fits between two others without renumbering the rest.
        self._rank: dict[int, float] = {}  # id(user) -> rank (the user is kept alive in _users)
        self._keys: list[tuple[str, str]] = []  # the ranked (e-mail, id) pairs, sorted
        self._key_ranks: list[float] = []  # their ranks
        self._closing_of: dict[float, bytes] = {}  # rank -> the closing leave
        self._ambiguous: set[int] = set()  # users sharing (e-mail, id) with another object, unlike leaves
        # bumped whenever existing ranks change: _PrefixBlocks of another epoch are rebuilt
        self._epoch = getattr(self, "_epoch", 0) + 1

    def _add_rank(self, user: UserInfo) -> None:
        """Rank a user object: user objects with the same (e-mail, id) and closing leave share a rank
        (their order cannot show); when their closing leaves differ (a bot flag), they are
        ``_ambiguous``: a member list holding one is ordered by a stable sort, as the members come."""
        parts = self._user_parts(user)
        key, closing = _BY_EMAIL_ID(parts), parts[5].encode()
        keys, ranks = self._keys, self._key_ranks
        pos = bisect.bisect_left(keys, key)
        if pos < len(keys) and keys[pos] == key:
            rank = ranks[pos]
            if self._closing_of[rank] == closing:
                self._rank[id(user)] = rank
                return
            self._ambiguous.add(id(user))
            self._ambiguous.update(k for k, r in self._rank.items() if r == rank)
            pos += 1  # ranked right after the other (any rank there works: the stable sort decides)
        low = ranks[pos - 1] if pos else 0.0
        high = ranks[pos] if pos < len(ranks) else low + 1024.0
        rank = (low + high) / 2
        if not low < rank < high:  # no float left between the neighbours: renumber everyone
            self._renumber()
            return self._add_rank(user)
        keys.insert(pos, key)
        ranks.insert(pos, rank)
        self._closing_of[rank] = closing
        self._rank[id(user)] = rank

    def _renumber(self) -> None:
        self._epoch += 1
        old = self._rank
        mapping = {r: float(i) * 1024.0 for i, r in enumerate(self._key_ranks)}
        self._key_ranks = [mapping[r] for r in self._key_ranks]
        self._closing_of = {mapping[r]: c for r, c in self._closing_of.items()}
        self._rank = {k: mapping[r] for k, r in old.items()}

    def next_batch(self) -> None:
        """Forget the blocks of channels that were not in the batch just written (and the users' pieces
        and ranks past ``MAX_USERS``: between batches, so a render never loses the ranks it took)."""
        self._blocks, self._next_blocks = self._next_blocks, {}
        self._prefixes, self._next_prefixes = self._next_prefixes, {}
        if len(self._users) > self.MAX_USERS:
            self._users.clear()
            self._reset_ranks()

    def _render(self, joins: list[MemberEvent], end_ms: int, previous: _Blocks | None) -> _Blocks:
        user_parts = self._user_parts
        ids = list(map(id, joins))
        # ``previous.joins`` is alive: its events' ids cannot have been reused by ``joins``' new events
        pieces = list(map(previous.pieces.get, ids)) if previous is not None else [None] * len(ids)
        if None in pieces:
            for i, piece in enumerate(pieces):
                if piece is None:
                    e = joins[i]
                    u = user_parts(e.user)
                    pieces[i] = f"{u[3]}{e.time}{u[4]}".encode()
        left_ats = list(map(_LEFT_AT, joins))
        depends_on_end = left_ats.count(None) != len(left_ats)
        real: list[tuple[int, str, str, _UserParts]] = []
        if depends_on_end:
            closing_users = []
            for user, left_at in zip(map(_USER, joins), left_ats, strict=True):
                if left_at is not None and left_at < end_ms:
                    u = user_parts(user)
                    real.append((left_at, u[0], u[1], u))
                else:
                    closing_users.append(user)
            real.sort(key=_BY_TIME_EMAIL_ID)
            closing_ids = list(map(id, closing_users))
        else:
            closing_ids = list(map(id, map(_USER, joins)))
        try:
            ranks = list(map(self._rank.__getitem__, closing_ids))
        except KeyError:  # users not ranked yet
            for user in map(_USER, joins):
                if id(user) not in self._rank:
                    self._add_rank(user)
            ranks = list(map(self._rank.__getitem__, closing_ids))
        if self._ambiguous and not self._ambiguous.isdisjoint(closing_ids):
            # two user objects with one (e-mail, id): their order is the members' order (a stable sort)
            closing_users = [e.user for e in joins if e.left_at is None or e.left_at >= end_ms]
            ordered = sorted(map(user_parts, closing_users), key=_BY_EMAIL_ID)
            closing = "".join([u[5] for u in ordered]).encode()
        else:
            ranks.sort()
            closing = b"".join(map(self._closing_of.__getitem__, ranks))
        return _Blocks(
            joins,
            depends_on_end,
            "".join([f"{u[6]}{left_at}{u[7]}" for left_at, _, _, u in real]).encode(),
            closing,
            dict(zip(ids, pieces, strict=True)),
        )

    def _ensure_ranked(self, users: Iterable[UserInfo]) -> None:
        rank = self._rank
        for user in users:
            if id(user) not in rank:
                self._add_rank(user)

    def _entered(self, events: Iterable[MemberEvent]) -> list[bytes]:
        user_parts = self._user_parts
        out = []
        for e in events:
            u = user_parts(e.user)
            out.append(f"{u[3]}{e.time}{u[4]}".encode())
        return out

    def _build_prefix(self, prefix: list[MemberEvent]) -> _PrefixBlocks:
        """A prefix's blocks from nothing (its users already ranked)."""
        pieces = self._entered(prefix)
        ranks = sorted(map(self._rank.__getitem__, map(id, map(_USER, prefix))))
        closing = list(map(self._closing_of.__getitem__, ranks))
        return _PrefixBlocks(
            prefix,
            self._epoch,
            b"".join(pieces),
            array("q", map(len, pieces)),
            ranks,
            b"".join(closing),
            array("q", map(len, closing)),
        )

    def _closing_changes(
        self, ranks: list[float], gone: Iterable[UserInfo], come: Iterable[UserInfo]
    ) -> tuple[list[int], list[tuple[int, float, bytes]]]:
        """Where the closing leaves of users ``gone`` are in ``ranks``, and where those of ``come`` go."""
        rank = self._rank
        removed: list[int] = []
        previous, again = None, 0
        for r in sorted(rank[id(u)] for u in gone):  # one user twice: its next equal-ranked leave
            again = again + 1 if r == previous else 0
            removed.append(bisect.bisect_left(ranks, r) + again)
            previous = r
        closing_of = self._closing_of
        inserted = [
            (bisect.bisect_right(ranks, r), r, closing_of[r]) for r in sorted(rank[id(u)] for u in come)
        ]
        return removed, inserted

    def _derive_prefix(self, cached: _PrefixBlocks, delta: MembersDelta) -> _PrefixBlocks:
        """``delta.prefix``'s blocks from those of its parent (``cached``): cut and spliced."""
        parent, prefix = cached.prefix, delta.prefix
        appended = prefix[len(prefix) - delta.appended :] if delta.appended else []
        entered, entered_lengths, _ = _splice(
            cached.entered,
            cached.entered_lengths,
            None,
            delta.removed,
            [(len(parent), 0.0, piece) for piece in self._entered(appended)],
        )
        removed, inserted = self._closing_changes(
            cached.ranks, [parent[i].user for i in delta.removed], map(_USER, appended)
        )
        closing, closing_lengths, ranks = _splice(
            cached.closing, cached.closing_lengths, cached.ranks, removed, inserted
        )
        assert ranks is not None
        return _PrefixBlocks(prefix, self._epoch, entered, entered_lengths, ranks, closing, closing_lengths)

    def delta_blocks(
        self, cid: str, activity: ChannelActivity, end_ms: int
    ) -> tuple[list[bytes], list[bytes]] | None:
        """:meth:`blocks` from the channel's :class:`MembersDelta`: the members present at the batch
        start keep their blocks from the previous batch (cut and spliced where members came or went),
        and only this batch's entering and leaving members are rendered. None when the activity has
        no delta, or two user objects share an (e-mail, id) (their order needs :meth:`blocks`)."""
        delta = activity.delta
        if delta is None or self._ambiguous:
            return None
        prefix = delta.prefix
        entering = activity.joins[len(prefix) :]
        cached = self._prefixes.get(cid)
        if cached is not None and (
            cached.epoch != self._epoch or (cached.prefix is not prefix and cached.prefix is not delta.parent)
        ):
            cached = None  # ranked in another numbering, or not this prefix's parent: built again
        # Rank every user looked up below first: ranking may renumber all ranks (a new epoch).
        if cached is None:
            self._ensure_ranked(map(_USER, prefix))
        elif cached.prefix is not prefix:
            self._ensure_ranked(map(_USER, prefix[len(prefix) - delta.appended :]))
        self._ensure_ranked(map(_USER, entering))
        if self._ambiguous:
            return None
        if cached is None or cached.epoch != self._epoch:
            cached = self._build_prefix(prefix)
        elif cached.prefix is not prefix:
            cached = self._derive_prefix(cached, delta)
        self._next_prefixes[cid] = cached
        entered = [cached.entered]  # pieces, written one after the other: no copy of the big ones
        if entering:
            entered += self._entered(entering)
        closing = cached.closing
        staying = [e.user for e in entering if e.left_at is None]
        if delta.leaving or staying:
            removed, inserted = self._closing_changes(
                cached.ranks, [prefix[i].user for i in delta.leaving], staying
            )
            closing = _splice(closing, cached.closing_lengths, None, removed, inserted, keep_lengths=False)[0]
        if closing:
            closing = closing.replace(b"\x00", str(end_ms).encode())
        left = [closing]
        if activity.leaves:
            user_parts = self._user_parts
            real = []
            for e in activity.leaves:  # sorted by (time, e-mail, id)
                u = user_parts(e.user)
                real.append(f"{u[6]}{e.time}{u[7]}")
            left.insert(0, "".join(real).encode())
        return entered, left

    def blocks(self, cid: str, joins: list[MemberEvent], end_ms: int) -> tuple[bytes, bytes]:
        """The entered and left blocks of a channel's members for a batch ending at ``end_ms``."""
        cached = self._blocks.get(cid)
        if cached is None or cached.joins is not joins or cached.depends_on_end:
            cached = self._render(joins, end_ms, cached)
        self._next_blocks[cid] = cached
        closing = cached.closing_leaves
        if closing:
            closing = closing.replace(b"\x00", str(end_ms).encode())
        return b"".join(
            cached.pieces.values()
        ), cached.real_leaves + closing if cached.real_leaves else closing


class ActianceFormat(ComplianceFormat):
    """Mattermost's Actiance XML compliance export (Actiance Vantage / Smarsh)."""

    name = "actiance"
    # Plain posts (nearly all) come as Message elements from PostgreSQL: Python only orders them.
    accelerator = SqlRendering(
        ACTIANCE_POST_LINES,
        ACTIANCE_POST_JOINS,
        ACTIANCE_POST_TIME,
        {"xml_special": XML_SPECIAL_SQL, "xml_forbidden": XML_FORBIDDEN_SQL},
    )

    def __init__(self, settings: Any, export_format: str | None = None):
        super().__init__(settings, export_format)
        self._participants = _Participants()

    def write_batch(self, batch: ExportBatch, out: ZipSink, files: FileSource) -> BatchResult:
        result = BatchResult.of(batch)
        by_channel: dict[str, list[ClassifiedPost]] = {}
        for cp in batch.posts:
            by_channel.setdefault(cp.post.channel.id, []).append(cp)
            result.posts += 1
            result.messages += len(cp.messages)
            result.uploads += len(cp.uploads)
            result.file_deletions += len(cp.file_deletions)
        rendered: dict[str | None, list[RenderedPost]] = {}
        for r in batch.rendered:  # by the row's channel id
            rendered.setdefault(r[6], []).append(r)
        by_id: dict[str, list[_Keyed]] = {}
        for cid, rows in rendered.items():  # NULL and '' channel ids are one channel ("")
            by_id.setdefault(batch.channel_of[cid].id, []).extend(_keyed_rows(rows))
        result.posts += len(batch.rendered)
        result.messages += sum(map(_ENTRIES, batch.rendered))  # a deleted post can have two
        participants = self._participants
        with out.open(ACTIANCE_XML) as raw:
            raw.write(XML_DECLARATION + f'<FileDump xmlns:xsi="{XSI_NAMESPACE}">'.encode())
            for cid, activity in sorted(batch.channels.items()):
                pieces = participants.delta_blocks(cid, activity, batch.end_ms)
                if pieces is None:
                    entered, left = participants.blocks(cid, activity.joins, batch.end_ms)
                    pieces = [entered], [left]
                ch = activity.channel
                raw.write(
                    f'{_NL1}<Conversation Perspective="{escape_attribute(ch.export_display_name)}">'
                    f"{_NL2}<RoomID>{escape_text(room_id(activity))}</RoomID>"
                    f"{_NL2}<StartTimeUTC>{batch.start_ms}</StartTimeUTC>".encode()
                )
                for piece in pieces[0]:
                    raw.write(piece)
                raw.write(_render_elements(by_channel.get(cid, []), by_id.get(cid)))
                for piece in pieces[1]:
                    raw.write(piece)
                raw.write(f"{_NL2}<EndTimeUTC>{batch.end_ms}</EndTimeUTC>{_NL1}</Conversation>".encode())
                result.members += 2 * len(activity.joins)
            raw.write(b"\n</FileDump>" if batch.channels else b"</FileDump>")
        participants.next_batch()
        self._copy_attachments(batch, out, files, result)
        if result.warnings:
            out.write_text(WARNING_TXT, "".join(w + "\n" for w in result.warnings))
        return result

    def _copy_attachments(
        self, batch: ExportBatch, out: ZipSink, files: FileSource, result: BatchResult
    ) -> None:
        """Each attachment once, at its raw path (unreadable ones become warnings).

        Two ``fileinfo`` rows sharing one path share the entry (the second counts as copied when the
        first was); a path equal to one of the format's own entries (or ending in ``/``) is stored under
        ``files/<postId>/<fileId>-<basename>``.
        """
        written: dict[str, bool] = {}
        for file in _iter_files(batch):
            entry = file.path
            if entry in _RESERVED_ENTRIES or entry.endswith("/"):
                entry = file.zip_name
            if entry in written:
                if written[entry]:
                    result.files_copied += 1
                else:
                    copy_attachment(out, entry, file, files, result)  # fails again: a warning of its own
                continue
            written[entry] = copy_attachment(out, entry, file, files, result)


def _iter_files(batch: ExportBatch) -> Iterator[ExportedFile]:
    for cp in batch.posts:
        yield from cp.post.files


_Keyed = tuple[int, str, int, bytes]  # (time, sort id, rank, element in UTF-8): see _elements


def _render_elements(posts: list[ClassifiedPost], rendered: list[_Keyed] | None = None) -> bytes:
    """A conversation's ``Message`` / ``FileTransferStarted`` / ``FileTransferEnded`` elements, in order.

    The order is :func:`_elements`'. A post with one message entry and no files (nearly all) is one
    element, rendered by :func:`_message_element` or already by PostgreSQL (``rendered``, from
    :func:`_keyed_rows`); the others go through :func:`_elements`. (time, sort id, rank) is unique:
    the tuples sort as they are, never comparing the elements. Returned in UTF-8.
    """
    if not posts and not rendered:
        return b""
    keyed: list[_Keyed] = rendered or []
    rest: list[ClassifiedPost] = []
    emails: dict[int, str] = {}
    for cp in posts:
        if len(cp.messages) == 1 and not cp.uploads and not cp.file_deletions:
            p, m = cp.post, cp.messages[0]
            keyed.append((entry_time(m), p.id, 0, _message_element(p, m, emails).encode()))
        else:
            rest.append(cp)
    if rest:
        keyed.extend((e.time, e.sort_id, e.rank, _other_element(e).encode()) for e in _elements(rest))
    keyed.sort()
    return b"".join(map(_LAST, keyed))


def _keyed_rows(rows: list[RenderedPost]) -> list[_Keyed]:
    """Rendered posts as sort keys and elements. A row's time is :data:`ACTIANCE_POST_TIME` (its first
    element's); a deleted post created in the window has two elements (its "created" entry, then
    ``Deleted``), which sort apart: the second by its ``UpdatedDateTimeUTC``. The rank of a
    one-element row (alone with its id) is its entry count, 1."""
    keyed = list(map(_TIME_ID_ENTRIES_ELEMENT, rows))
    if sum(map(_ENTRIES, rows)) == len(rows):  # no two-entry row (the usual case): C-level checks only
        return keyed
    out = [k for k in keyed if k[2] == 1]
    for time, pid, _entries, elements in compress(keyed, map((1).__ne__, map(_RANK, keyed))):
        cut = elements.index(_MESSAGE_OPEN, 1)
        deleted = elements[cut:]
        at = deleted.index(_UPDATED_OPEN) + len(_UPDATED_OPEN)
        out.append((time, pid, 0, elements[:cut]))
        out.append((int(deleted[at : deleted.index(b"<", at)]), pid, 1, deleted))
    return out


_LAST = itemgetter(-1)
_RANK = itemgetter(2)
_TIME_ID_ENTRIES_ELEMENT = itemgetter(1, 0, 3, 7)  # a RenderedPost's (time, id, entries, rendering)
_ENTRIES = itemgetter(3)  # a RenderedPost's message entries
_MESSAGE_OPEN = f"{_NL2}<Message>".encode()  # never inside an element: its text is escaped
_UPDATED_OPEN = b"<UpdatedDateTimeUTC>"
_CREATED = UpdateType.CREATED


def _message_element(p: PostRecord, m: MessageEntry, emails: dict[int, str]) -> str:
    """One ``Message`` element (the fields of :func:`_other_element` for a message, as one f-string)."""
    user = p.user
    email = emails.get(id(user))
    if email is None:
        email = emails[id(user)] = escape_text(user.email)
    update = m.update_type
    edited = m.edited_new_msg_id
    pid, preview = p.id, p.previewed_post
    if _TEXT_SPECIAL.search(pid + edited + preview) is not None:  # never for Mattermost ids
        pid, edited, preview = escape_text(pid), escape_text(edited), escape_text(preview)
    updated = (
        ""
        if update is _CREATED
        else f"{_NL3}<UpdatedType>{update.value}</UpdatedType>{_NL3}<UpdatedDateTimeUTC>{m.update_at}</UpdatedDateTimeUTC>"
    )
    if edited:
        updated = f"{updated}{_NL3}<EditedNewMsgId>{edited}</EditedNewMsgId>"
    text = m.message
    if _TEXT_SPECIAL.search(text) is not None:
        text = escape_text(text)
    return (
        f"{_NL2}<Message>{_NL3}<MessageId>{pid}</MessageId>{_NL3}<LoginName>{email}</LoginName>"
        f"{_NL3}<UserType>{'bot' if user.is_bot else 'user'}</UserType>{_NL3}<DateTimeUTC>{p.create_at}"
        f"</DateTimeUTC>{updated}{_NL3}<Content>{text}</Content>"
        f"{f'{_NL3}<PreviewsPost>{preview}</PreviewsPost>' if preview else ''}{_NL2}</Message>"
    )


def _other_element(e: _Element) -> str:
    """The element of a message, file transfer or file deletion entry (the general path)."""
    p = e.cp.post
    email = escape_text(p.user.email)
    if e.kind == 0 or e.kind == 3:
        if e.kind == 0:
            m = e.entry
            assert m is not None
            update, updated_at, content = m.update_type, m.update_at, m.message
            edited = m.edited_new_msg_id
        else:
            f = e.file
            assert f is not None
            update, updated_at, content = UpdateType.FILE_DELETED, f.delete_at, "delete " + f.path
            edited = ""
        fields = [
            ("MessageId", escape_text(p.id)),
            ("LoginName", email),
            ("UserType", p.user.user_type),
            ("DateTimeUTC", str(p.create_at)),
        ]
        if update is not UpdateType.CREATED:
            fields += [("UpdatedType", update.value), ("UpdatedDateTimeUTC", str(updated_at))]
        if edited:
            fields.append(("EditedNewMsgId", escape_text(edited)))
        fields.append(("Content", escape_text(content)))
        if p.previewed_post:
            fields.append(("PreviewsPost", escape_text(p.previewed_post)))
        return _element("Message", fields)
    f = e.file
    assert f is not None
    fields = [
        ("LoginName", email),
        ("DateTimeUTC", str(p.create_at)),
        ("UserFileName", escape_text(f.name)),
        ("FileName", escape_text(f.path)),
    ]
    if e.kind == 1:
        return _element("FileTransferStarted", fields)
    return _element("FileTransferEnded", [*fields, ("Status", TRANSFER_COMPLETED)])
