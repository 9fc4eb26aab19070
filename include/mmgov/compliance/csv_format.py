"""The CSV format (``ExportFormat = csv``): ``posts.csv``, attachments, ``warning.txt``, ``metadata.json``.

Byte for byte as Mattermost writes it: UTF-8, ``\\n`` line endings, minimal quoting (a field is
quoted when it holds a comma, a quote, ``\\n`` or ``\\r``), the 20-column header below. Rows of a
batch are sorted by (creation time, post id), membership rows (empty post id) first; ties keep the
order messages -> uploads -> file deletions of a post; membership ties go by channel id, joins
before leaves, then e-mail.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import compress
from operator import itemgetter
from typing import Any

from mmgov.compliance.csv_metadata import METADATA_JSON, metadata_document
from mmgov.compliance.csv_sql import ACCELERATOR, QUOTE_PATTERN_SQL
from mmgov.compliance.formats import BatchResult, ComplianceFormat, FileSource, ZipSink, copy_attachment
from mmgov.compliance.membership import MemberListing
from mmgov.compliance.model import (
    ChannelInfo,
    ClassifiedPost,
    ExportBatch,
    ExportedFile,
    MemberEvent,
    MemberEventKind,
    UserInfo,
)

HEADER = (
    "Post Creation Time,Post Update Time,Post Update Type,Team Id,Team Name,Team Display Name,Channel Id,"
    "Channel Name,Channel Display Name,Channel Type,User Id,User Email,Username,Post Id,Edited By Post Id,"
    "Replied to Post Id,Post Message,Post Type,User Type,Previews Post Id"
)
POSTS_CSV = "posts.csv"
WARNING_TXT = "warning.txt"

_MEMBER_TEXT = {
    MemberEventKind.ENTER: "User {u} ({e}) joined the channel",
    MemberEventKind.PREVIOUSLY_JOINED: "User {u} ({e}) was already in the channel",
    MemberEventKind.LEAVE: "User {u} ({e}) left the channel",
}


def attachment_message(file: ExportedFile) -> str:
    """``<file name> (files/<postId>/<fileId>-<basename(path)>)`` (trimmed, as Mattermost does)."""
    return f"{file.name} ({file.zip_name})".strip()


# Go's encoding/csv (Writer.fieldNeedsQuotes) quotes a field holding a comma, a quote, \n or \r, a
# field whose first character is a Unicode space (unicode.IsSpace) and the field `\.`. Python's csv
# module differs (a lone \r, leading spaces), so fields are escaped here, by hand (also faster).
# The same rule as one pattern, QUOTE_PATTERN_SQL, is what PostgreSQL runs (csv_sql).
_NEEDS_QUOTES = re.compile(QUOTE_PATTERN_SQL[:-1] + "\\Z")  # Python's $ also matches before a final \n
# The same test, faster in Python (a one-class search, then the first character): _needs_quotes.
_QUOTE_CHARS = re.compile('[,"\r\n]')
_GO_SPACE_CHARS = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))
)


def _needs_quotes(text: str) -> bool:
    """Whether Go's ``encoding/csv`` quotes ``text`` (equals a search of ``_NEEDS_QUOTES``)."""
    return _QUOTE_CHARS.search(text) is not None or text[:1] in _GO_SPACE_CHARS or text == "\\."


def csv_field(value: object) -> str:
    """One CSV field, quoted (quotes doubled) exactly when Go's ``encoding/csv`` quotes it.

    That is when it holds ``,``, ``"``, ``\\n`` or ``\\r``, starts with a Unicode space, or is ``\\.``.
    """
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if not _needs_quotes(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _channel_cols(ch: ChannelInfo) -> list[Any]:
    return [
        ch.team_id,
        ch.team_name,
        ch.team_display_name,
        ch.id,
        ch.name,
        ch.export_display_name,
        ch.type_name,
    ]


class _Lines:
    """Renders rows to CSV lines, with each channel's and user's columns escaped once.

    Each line is one f-string of escaped fields (:func:`csv_field`). One instance serves a whole window: the caches are keyed by object identity and keep the keyed
    objects alive (an id is never reused while cached), and each is emptied when it passes ``LIMIT``
    entries, so memory stays bounded whatever the window's size.
    """

    LIMIT = 20_000

    def __init__(self, *, member_cache: bool = True) -> None:
        """``member_cache``: keep each user's membership lines (for membership rows repeated in
        every batch; without repeats it would only grow with the workspace's users)."""
        self._channels: dict[int, tuple[ChannelInfo, str]] = {}
        # id(UserInfo) -> (it, "id,email,username", user type)
        self._users: dict[int, tuple[UserInfo, str, str]] = {}
        # (id(UserInfo), kind) -> (it, a membership line after the channel columns)
        self._members: dict[tuple[int, MemberEventKind], tuple[UserInfo, str]] | None = (
            {} if member_cache else None
        )

    def channel(self, ch: ChannelInfo) -> str:
        cached = self._channels.get(id(ch))
        if cached is None:
            if len(self._channels) >= self.LIMIT:
                self._channels.clear()
            cached = self._channels[id(ch)] = (ch, ",".join([csv_field(v) for v in _channel_cols(ch)]))
        return cached[1]

    def user(self, u: UserInfo) -> str:
        cached = self._users.get(id(u))
        if cached is None:
            if len(self._users) >= self.LIMIT:
                self._users.clear()
            cols = f"{csv_field(u.id)},{csv_field(u.email)},{csv_field(u.username)}"
            cached = self._users[id(u)] = (u, cols, u.user_type)
        return cached[1]

    def post(self, cp: ClassifiedPost) -> list[str]:
        """The lines of one post: its messages, then its uploads, then its file deletions (the
        columns of :data:`HEADER`; :data:`CSV_POST_LINES` renders a post without files alike)."""
        p = cp.post
        u = p.user
        root, preview = csv_field(p.root_id), csv_field(p.previewed_post)
        who = f"{self.channel(p.channel)},{self.user(u)},{csv_field(p.id)}"
        tail = f"{u.user_type},{preview}\n"
        created = p.create_at
        lines = []
        for m in cp.messages:
            text, edited = csv_field(m.message), csv_field(m.edited_new_msg_id)
            lines.append(
                f"{created},{p.update_at},{m.update_type.value},{who},{edited},{root},{text},message,{tail}"
            )
        for f in cp.uploads:
            text = csv_field(attachment_message(f))
            lines.append(f"{created},{p.update_at},,{who},,{root},{text},attachment,{tail}")
        for f in cp.file_deletions:
            text = csv_field(attachment_message(f))
            lines.append(
                f"{created},{f.delete_at},FileDeleted,{who},,{root},{text},deleted attachment,{tail}"
            )
        return lines

    def member(self, ch: ChannelInfo, e: MemberEvent) -> str:
        u = e.user
        members = self._members
        key = (id(u), e.kind)
        cached = members.get(key) if members is not None else None
        if cached is None or cached[0] is not u:
            text = csv_field(_MEMBER_TEXT[e.kind].format(u=u.username, e=u.email))
            cached = (u, f"{self.user(u)},,,,{text},{e.kind.value},{u.user_type},\n")
            if members is not None:
                if len(members) >= self.LIMIT:
                    members.clear()
                members[key] = cached
        return f"{e.time},0,,{self.channel(ch)},{cached[1]}"


Entry = tuple[tuple[Any, ...], bytes]  # (sort key, CSV line in UTF-8)


class CsvFormat(ComplianceFormat):
    """Mattermost's CSV compliance export.

    Membership rows (``Mmgov.CsvMembershipRows``): ``window`` (default, the spec's definition)
    writes each membership row once per window: a channel's previously-joined members in the first
    batch where the channel is active, each enter/leave in the batch of its time, each synthetic
    join of an author once. ``batch`` repeats every member of every active channel in every batch,
    as Mattermost does (each zip self-contained, but ~N x more rows on busy workspaces).

    State kept between batches is per channel (a number) plus the (channel, author) pairs given a
    synthetic join, never per membership row: it does not grow with the window's posts or history.
    In window mode the format asks for no member lists (:attr:`member_listing`), so the membership
    source (:class:`~mmgov.compliance.window_membership.WindowMembership`) keeps only who is present.
    """

    name = "csv"
    # Plain posts (nearly all) come escaped from PostgreSQL: Python only joins the parts.
    accelerator = ACCELERATOR

    def __init__(self, settings: Any, export_format: str | None = None):
        super().__init__(settings, export_format)
        self.per_window = getattr(getattr(settings, "Mmgov", None), "CsvMembershipRows", "window") != "batch"
        self.member_listing = MemberListing.ONCE_PER_WINDOW if self.per_window else MemberListing.EVERY_BATCH
        # window mode: channel -> end of the last batch written; synthetic joins written
        self._written_until: dict[str, int] = {}
        self._synthetic: set[tuple[str, str]] = set()
        self._lines = _Lines(member_cache=not self.per_window)  # rendering caches, bounded
        self._metadata_heads: dict[tuple[str, int, int], str] = {}  # metadata.json channel blocks

    def _member_entries(self, batch: ExportBatch, result: BatchResult, lines: _Lines) -> Iterator[Entry]:
        """The batch's membership rows, sorted by their keys, rendered as they go.

        Batch mode: every join and leave of every active channel. Window mode: only the rows no
        earlier batch of the window wrote. Every event before the end of the last batch written for
        a channel was written then (a join or leave makes its channel active in the batch of its
        time, and batches tile the window), so only the tail of ``joins`` (by time) and this
        batch's leaves can be new; a synthetic join is written once per (channel, author). Within
        the batch, a repeated (user, time, kind) is written once. Correct for whole member lists
        and for the new joins only (``member_listing`` once per window).

        A channel's joins and leaves are each sorted by (time, e-mail, user id) (see
        :class:`~mmgov.compliance.model.ChannelActivity`), so the rows are a lazy merge of those
        runs (stable: the order of one sort of all rows): the first batch of a big workspace names
        every member of every channel (1M posts: ~80k rows), and none of them is held in memory
        before it is written.
        """
        runs: list[Iterator[Entry]] = []
        for cid, act in sorted(batch.channels.items()):
            joins = act.joins
            if self.per_window:
                written_until = self._written_until.get(cid)
                if written_until is not None:
                    joins = joins[bisect.bisect_left(joins, written_until, key=_event_time) :]
                self._written_until[cid] = batch.end_ms
            if joins:
                runs.append(self._member_run(cid, act.channel, joins, 0, result, lines))
            if act.leaves:
                runs.append(self._member_run(cid, act.channel, act.leaves, 1, result, lines))
        return heapq.merge(*runs, key=_first)

    def _member_run(
        self,
        cid: str,
        ch: ChannelInfo,
        events: list[MemberEvent],
        order: int,
        result: BatchResult,
        lines: _Lines,
    ) -> Iterator[Entry]:
        """One channel's joins (``order`` 0) or leaves (1) as entries, in their (sorted) order.

        Window mode writes a repeated (user, time) once (equal events are adjacent in a sorted run).
        """
        once = self.per_window
        synthetic_done = self._synthetic
        last: tuple[str, int] | None = None
        for e in events:
            uid = e.user.id
            if once:
                if e.synthetic:
                    if (cid, uid) in synthetic_done:
                        continue
                    synthetic_done.add((cid, uid))
                else:
                    key = (uid, e.time)
                    if key == last:
                        continue
                    last = key
            result.members += 1
            yield (e.time, "", cid, order, e.user.email, uid), lines.member(ch, e).encode()

    def write_batch(self, batch: ExportBatch, out: ZipSink, files: FileSource) -> BatchResult:
        result = BatchResult.of(batch)
        lines = self._lines
        members = self._member_entries(batch, result, lines)
        counts: dict[str, list[int]] = {}
        blocks: list[tuple[int, str, bytes]] = []  # (creation time, post id, the post's lines)
        post_lines = lines.post
        messages = uploads = deletions = 0
        with_files: list[ClassifiedPost] = []
        for cp in batch.posts:
            p = cp.post
            cid = p.channel.id
            blocks.append((p.create_at, p.id, "".join(post_lines(cp)).encode()))
            if p.files:
                with_files.append(cp)
            c = counts.get(cid)
            if c is None:
                c = counts[cid] = [0, 0]
            n, k = len(cp.messages), len(cp.uploads)
            c[0] += n
            c[1] += k
            messages += n
            uploads += k
            if cp.file_deletions:
                deletions += len(cp.file_deletions)
        if batch.rendered:
            messages += self._rendered_blocks(batch, blocks, counts)
        result.messages += messages
        result.uploads += uploads
        result.file_deletions += deletions
        result.posts += len(batch.posts) + len(batch.rendered)
        with out.open(POSTS_CSV) as raw:
            raw.write((HEADER + "\n").encode())
            for chunk in _merged(members, blocks, batch, lines):
                raw.write(chunk)
        for file in (f for cp in with_files for f in cp.post.files):
            copy_attachment(out, file.zip_name, file, files, result)
        if result.warnings:
            out.write_text(WARNING_TXT, "".join(w + "\n" for w in result.warnings))
        for cid in batch.channels:
            counts.setdefault(cid, [0, 0])
        out.write_text(METADATA_JSON, metadata_document(batch, counts, self._metadata_heads))
        return result

    @staticmethod
    def _rendered_blocks(
        batch: ExportBatch, blocks: list[tuple[int, str, bytes]], counts: dict[str, list[int]]
    ) -> int:
        """The batch's rendered posts (CSV_POST_LINES) as blocks; their
        channels' message counts; the number of message entries."""
        rendered = batch.rendered
        blocks.extend(map(_CREATED_ID_LINE, rendered))
        per_channel = Counter(map(_CHANNEL_ID, rendered))
        entries = sum(map(_ENTRIES, rendered))
        if entries != len(rendered):  # deleted posts with their "created" entry: two lines
            for r in compress(rendered, map((1).__ne__, map(_ENTRIES, rendered))):  # C-level scan
                per_channel[r[6]] += r[3] - 1
        channel_of = batch.channel_of
        for cid, n in per_channel.items():
            key = channel_of[cid].id
            c = counts.get(key)
            if c is None:
                counts[key] = [n, 0]
            else:
                c[0] += n
        return entries


def _merged(
    members: Iterable[Entry], blocks: list[tuple[int, str, bytes]], batch: ExportBatch, lines: _Lines
) -> Iterator[bytes]:
    """The batch's lines in (time, post id) order, membership rows first on ties, in chunks of ~4096 lines.

    ``members`` is sorted by its keys ``(time, "", channel id, ...)``; ``blocks`` (one per post) are
    sorted by (creation time, post id), which no two posts share. A membership row goes before every
    post whose ``(creation time, post id)`` is not below its ``(time, "")``: the order of one sort of
    all rows by ``(time, post id, channel id, ...)``. A batch holding a post with an empty id (never
    in Mattermost) is sorted row by row instead, to keep that exact order.
    """
    if not all(map(_second, blocks)):
        yield from _sorted_row_by_row(members, batch, lines)
        return
    blocks.sort()
    out: list[bytes] = []
    j = 0
    for key, line in members:
        k = bisect.bisect_left(blocks, (key[0], key[1]), lo=j)
        if k > j:
            out.extend([b[2] for b in blocks[j:k]])
            j = k
        out.append(line)
        if len(out) >= 4096:
            yield b"".join(out)
            out = []
    for i in range(j, len(blocks), 4096):
        out.extend([b[2] for b in blocks[i : i + 4096]])
        yield b"".join(out)
        out = []
    if out:
        yield b"".join(out)


def _sorted_row_by_row(members: Iterable[Entry], batch: ExportBatch, lines: _Lines) -> Iterator[bytes]:
    entries = list(members)
    for cp in batch.posts:
        p = cp.post
        entries.extend(
            ((p.create_at, p.id, p.channel.id, i, "", ""), line.encode())
            for i, line in enumerate(lines.post(cp))
        )
    for r in batch.rendered:  # one line each, rendered by PostgreSQL
        entries.append(((r[1], r[0], batch.channel_of[r[6]].id, 0, "", ""), r[7]))
    entries.sort(key=_first)
    for i in range(0, len(entries), 4096):
        yield b"".join([e[1] for e in entries[i : i + 4096]])


_second = itemgetter(1)
_CREATED_ID_LINE = itemgetter(1, 0, 7)  # a RenderedPost's (createat, id, line): its block
_CHANNEL_ID = itemgetter(6)  # a RenderedPost's channel id
_ENTRIES = itemgetter(3)  # a RenderedPost's message entries


def _event_time(e: MemberEvent) -> int:
    return e.time


def _first(entry: tuple[tuple[Any, ...], str]) -> tuple[Any, ...]:
    return entry[0]
