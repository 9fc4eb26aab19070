"""The CSV format (``ExportFormat = csv``): ``posts.csv``, attachments, ``warning.txt``, ``metadata.json``.

Byte for byte as Mattermost writes it: UTF-8, ``\\n`` line endings, minimal quoting (a field is
quoted when it holds a comma, a quote, ``\\n`` or ``\\r``), the 20-column header below. Rows of a
batch are sorted by (creation time, post id), membership rows (empty post id) first; ties keep the
order messages -> uploads -> file deletions of a post; membership ties go by channel id, joins
before leaves, then e-mail.
"""

from __future__ import annotations

import bisect
import csv
import io
from json.encoder import encode_basestring  # the C string encoder
from typing import Any

from mmgov.compliance.formats import BatchResult, ComplianceFormat, FileSource, ZipSink, copy_attachment
from mmgov.compliance.model import (
    ChannelInfo,
    ClassifiedPost,
    ExportBatch,
    ExportedFile,
    MemberEvent,
    MemberEventKind,
    UpdateType,
)

HEADER = (
    "Post Creation Time,Post Update Time,Post Update Type,Team Id,Team Name,Team Display Name,Channel Id,"
    "Channel Name,Channel Display Name,Channel Type,User Id,User Email,Username,Post Id,Edited By Post Id,"
    "Replied to Post Id,Post Message,Post Type,User Type,Previews Post Id"
)
POSTS_CSV = "posts.csv"
WARNING_TXT = "warning.txt"
METADATA_JSON = "metadata.json"

_MEMBER_TEXT = {
    MemberEventKind.ENTER: "User {u} ({e}) joined the channel",
    MemberEventKind.PREVIOUSLY_JOINED: "User {u} ({e}) was already in the channel",
    MemberEventKind.LEAVE: "User {u} ({e}) left the channel",
}
# Go's encoding/json escapes these inside strings; so does metadata.json, to match byte for byte.
_GO_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def attachment_message(file: ExportedFile) -> str:
    """``<file name> (files/<postId>/<fileId>-<basename(path)>)`` (trimmed, as Mattermost does)."""
    return f"{file.name} ({file.zip_name})".strip()


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


def post_rows(cp: ClassifiedPost, head: list[Any] | None = None) -> list[list[Any]]:
    """The CSV rows of one classified post: messages, then uploads, then file deletions.

    ``head``: the post's channel columns (:func:`_channel_cols`), when the caller caches them.
    """
    p = cp.post
    u = p.user
    if head is None:
        head = _channel_cols(p.channel)
    user_cols = [u.id, u.email, u.username, p.id]
    rows = []
    for m in cp.messages:
        rows.append(
            [
                p.create_at,
                p.update_at,
                m.update_type.value,
                *head,
                *user_cols,
                m.edited_new_msg_id,
                p.root_id,
                m.message,
                "message",
                u.user_type,
                p.previewed_post,
            ]
        )
    for f in cp.uploads:
        rows.append(
            [
                p.create_at,
                p.update_at,
                "",
                *head,
                *user_cols,
                "",
                p.root_id,
                attachment_message(f),
                "attachment",
                u.user_type,
                p.previewed_post,
            ]
        )
    for f in cp.file_deletions:
        rows.append(
            [
                p.create_at,
                f.delete_at,
                UpdateType.FILE_DELETED.value,
                *head,
                *user_cols,
                "",
                p.root_id,
                attachment_message(f),
                "deleted attachment",
                u.user_type,
                p.previewed_post,
            ]
        )
    return rows


def member_row(ch: ChannelInfo, e: MemberEvent) -> list[Any]:
    u = e.user
    text = _MEMBER_TEXT[e.kind].format(u=u.username, e=u.email)
    return [
        e.time,
        0,
        "",
        *_channel_cols(ch),
        u.id,
        u.email,
        u.username,
        "",
        "",
        "",
        text,
        e.kind.value,
        u.user_type,
        "",
    ]


_CHANNEL_KEYS = (
    "TeamId",
    "TeamName",
    "TeamDisplayName",
    "ChannelId",
    "ChannelName",
    "ChannelDisplayName",
    "ChannelType",
    "RoomId",
    "StartTime",
    "EndTime",
    "MessagesCount",
    "AttachmentsCount",
)


def metadata_fields(batch: ExportBatch, counts: dict[str, list[int]]) -> dict[str, Any]:
    """``metadata.json`` as a dict: keys as Mattermost (Go) writes them, channels sorted by id."""
    channels: dict[str, Any] | None = None
    if batch.channels:
        channels = {}
        for cid, act in sorted(batch.channels.items()):
            ch = act.channel
            messages, attachments = counts.get(cid, (0, 0))
            values = (
                ch.team_id,
                ch.team_name,
                ch.team_display_name,
                ch.id,
                ch.name,
                ch.display_name,
                ch.type,
                ch.room_id,
                batch.window.start_ms,
                batch.window.end_ms,
                messages,
                attachments,
            )
            channels[cid] = dict(zip(_CHANNEL_KEYS, values, strict=True))
    return {
        "Channels": channels,
        "MessagesCount": sum(c[0] for c in counts.values()),
        "AttachmentsCount": sum(c[1] for c in counts.values()),
        "StartTime": batch.start_ms,
        "EndTime": batch.end_ms,
    }


def _go_escape(text: str) -> str:
    for char, escaped in _GO_JSON_ESCAPES.items():
        if char in text:
            text = text.replace(char, escaped)
    return text


def metadata_document(batch: ExportBatch, counts: dict[str, list[int]]) -> str:
    """``metadata.json``: exactly ``json.dumps(metadata_fields(...), indent=2)`` with Go's escapes.

    Written by hand because ``indent`` makes Python fall back to its pure-Python encoder, which
    costs ~50 ms per batch on a workspace with hundreds of active channels.
    """
    doc = metadata_fields(batch, counts)
    enc = encode_basestring
    if doc["Channels"] is None:
        channels = "null"
    else:
        blocks = []
        for cid, fields in doc["Channels"].items():
            inner = ",\n".join(
                f"      {enc(k)}: {enc(v) if isinstance(v, str) else v}" for k, v in fields.items()
            )
            blocks.append(f"    {enc(cid)}: {{\n{inner}\n    }}")
        channels = "{\n" + ",\n".join(blocks) + "\n  }"
    text = (
        f'{{\n  "Channels": {channels},\n  "MessagesCount": {doc["MessagesCount"]},\n'
        f'  "AttachmentsCount": {doc["AttachmentsCount"]},\n  "StartTime": {doc["StartTime"]},\n'
        f'  "EndTime": {doc["EndTime"]}\n}}'
    )
    return _go_escape(text)


class _LineRenderer:
    """Renders rows to CSV lines (``\n`` endings) through one buffer; returns each row's line."""

    def __init__(self) -> None:
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\n")
        self._spare = io.StringIO()
        self._cr_writer = csv.writer(self._spare, lineterminator="\r\n")  # quotes fields containing \r
        self._ends: list[int] = []

    def add(self, row: list[Any]) -> int:
        """Queue a row; returns its index for :meth:`lines`."""
        if "\r" in row[16] or "\r" in row[8] or "\r" in row[5] or "\r" in row[12]:
            # Python's csv quotes \r only when it is part of the line terminator; Go always does.
            self._spare.seek(0)
            self._spare.truncate()
            self._cr_writer.writerow(row)
            self._buf.write(self._spare.getvalue()[:-2] + "\n")
        else:
            self._writer.writerow(row)
        self._ends.append(self._buf.tell())
        return len(self._ends) - 1

    def lines(self) -> list[str]:
        text = self._buf.getvalue()
        out = []
        start = 0
        for end in self._ends:
            out.append(text[start:end])
            start = end
        return out


Entry = tuple[tuple[Any, ...], str]  # (sort key, CSV line)


class CsvFormat(ComplianceFormat):
    """Mattermost's CSV compliance export.

    Membership rows (``Mmgov.CsvMembershipRows``): ``window`` (default, the spec's definition)
    writes each membership row once per window: a channel's previously-joined members in the first
    batch where the channel is active, each enter/leave in the batch of its time, each synthetic
    join of an author once. ``batch`` repeats every member of every active channel in every batch,
    as Mattermost does (each zip self-contained, but ~N x more rows on busy workspaces).
    """

    name = "csv"
    CACHE_LIMIT = 200_000

    def __init__(self, settings: Any, export_format: str | None = None):
        super().__init__(settings, export_format)
        self.per_window = getattr(getattr(settings, "Mmgov", None), "CsvMembershipRows", "window") != "batch"
        # window mode: membership rows already written in this run; channel -> last joins list seen
        self._emitted: set[tuple[Any, ...]] = set()
        self._done_lists: dict[str, list[MemberEvent]] = {}
        self._written_until: dict[str, int] = {}
        # batch mode: (channel, user, time, kind) -> entry, and channel -> (joins list, its entries)
        self._entries: dict[tuple[str, str, int, str], Entry] = {}
        self._channel_entries: dict[str, tuple[list[MemberEvent], list[Entry]]] = {}

    def _member_entries(self, batch: ExportBatch, result: BatchResult) -> list[Entry]:
        if self.per_window:
            return self._member_entries_once(batch, result)
        return self._member_entries_every_batch(batch, result)

    def _member_entries_once(self, batch: ExportBatch, result: BatchResult) -> list[Entry]:
        entries: list[Entry] = []
        emitted = self._emitted
        for cid, act in sorted(batch.channels.items()):
            if self._done_lists.get(cid) is act.joins and not act.leaves:
                continue  # the same members as a batch already written: nothing new
            ch = act.channel
            new: list[tuple[tuple[Any, ...], MemberEvent]] = []
            # Every event before the end of the last batch written for this channel was written then
            # (a join or leave makes its channel active in its batch): only the tail can be new.
            # ``joins`` is sorted by time; the emitted set below still guards against repeats.
            written_until = self._written_until.get(cid)
            joins = act.joins
            if written_until is not None:
                joins = joins[bisect.bisect_left(joins, written_until, key=_event_time) :]
            for order, events in ((0, joins), (1, act.leaves)):
                for e in events:
                    key = (cid, e.user.id, "synthetic") if e.synthetic else (cid, e.user.id, e.time, order)
                    if key not in emitted:
                        emitted.add(key)
                        new.append(((e.time, "", cid, order, e.user.email, e.user.id), e))
            if new:
                renderer = _LineRenderer()
                for _, e in new:
                    renderer.add(member_row(ch, e))
                entries.extend(zip((k for k, _ in new), renderer.lines(), strict=True))
            self._done_lists[cid] = act.joins
            self._written_until[cid] = batch.end_ms
        result.members += len(entries)
        return entries

    def _member_entries_every_batch(self, batch: ExportBatch, result: BatchResult) -> list[Entry]:
        entries: list[Entry] = []
        cache = self._entries
        if len(cache) > self.CACHE_LIMIT:  # bound memory on huge workspaces
            cache.clear()
            self._channel_entries.clear()
        for cid, act in sorted(batch.channels.items()):
            cached = self._channel_entries.get(cid)
            if cached is not None and cached[0] is act.joins and not act.leaves:
                entries.extend(cached[1])
                result.members += len(cached[1])
                continue
            ch = act.channel
            channel_entries: list[Entry | None] = []
            missing: list[tuple[int, tuple[str, str, int, str], tuple[Any, ...], MemberEvent]] = []
            for order, events in ((0, act.joins), (1, act.leaves)):
                for e in events:
                    key = (cid, e.user.id, e.time, e.kind)
                    hit = cache.get(key)
                    if hit is None:
                        sort_key = (e.time, "", cid, order, e.user.email, e.user.id)
                        missing.append((len(channel_entries), key, sort_key, e))
                    channel_entries.append(hit)
            if missing:
                renderer = _LineRenderer()
                for *_, e in missing:
                    renderer.add(member_row(ch, e))
                for (index, key, sort_key, _), line in zip(missing, renderer.lines(), strict=True):
                    channel_entries[index] = cache[key] = (sort_key, line)
            done: list[Entry] = channel_entries  # type: ignore[assignment] - every slot filled above
            result.members += len(done)
            entries.extend(done)
            if not act.leaves:
                self._channel_entries[cid] = (act.joins, done)
            else:
                self._channel_entries.pop(cid, None)
        return entries

    def write_batch(self, batch: ExportBatch, out: ZipSink, files: FileSource) -> BatchResult:
        result = BatchResult(zip_name=batch.zip_name, channels=len(batch.channels))
        entries = self._member_entries(batch, result)
        renderer = _LineRenderer()
        post_keys: list[tuple[Any, ...]] = []
        counts: dict[str, list[int]] = {}
        heads: dict[str, list[Any]] = {}
        for cp in batch.posts:
            p = cp.post
            pid, cid = p.id, p.channel.id
            head = heads.get(cid)
            if head is None:
                head = heads[cid] = _channel_cols(p.channel)
            for i, row in enumerate(post_rows(cp, head)):
                renderer.add(row)
                post_keys.append((row[0], pid, cid, i, "", ""))
            c = counts.setdefault(cid, [0, 0])
            c[0] += len(cp.messages)
            c[1] += len(cp.uploads)
            result.posts += 1
            result.messages += len(cp.messages)
            result.uploads += len(cp.uploads)
            result.file_deletions += len(cp.file_deletions)
        entries.extend(zip(post_keys, renderer.lines(), strict=True))
        entries.sort(key=_first)
        with out.open(POSTS_CSV) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=False)
            text.write(HEADER + "\n")
            for i in range(0, len(entries), 4096):
                text.write("".join(e[1] for e in entries[i : i + 4096]))
            text.flush()
            text.detach()
        for file in (f for cp in batch.posts for f in cp.post.files):
            copy_attachment(out, file.zip_name, file, files, result)
        if result.warnings:
            out.write_text(WARNING_TXT, "".join(w + "\n" for w in result.warnings))
        for cid in batch.channels:
            counts.setdefault(cid, [0, 0])
        out.write_text(METADATA_JSON, metadata_document(batch, counts))
        return result


def _event_time(e: MemberEvent) -> int:
    return e.time


def _first(entry: tuple[tuple[Any, ...], str]) -> tuple[Any, ...]:
    return entry[0]
