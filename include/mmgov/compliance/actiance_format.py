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
        <Message> / <FileTransferStarted> / <FileTransferEnded>   in Mattermost 10.5+'s order (actiance_messages)
        <ParticipantLeft>...</ParticipantLeft>         one per ParticipantEntered, by (time, email)
        <EndTimeUTC>batch end</EndTimeUTC>
      </Conversation>
    </FileDump>

Channels are written in id order. Every ``ParticipantEntered`` has its ``ParticipantLeft``: a
membership that ended inside the batch leaves at its real time, one still open at the batch end
leaves at ``batch.end_ms`` (the closing leave). Times are epoch milliseconds.

The XML is written incrementally into the zip entry's stream, chunk by chunk: memory holds one
channel's sorted element keys, never a tree of the batch. Text is escaped as lxml escapes it
(:mod:`~mmgov.compliance.actiance_xml`). The ``Message`` element of a plain post (not deleted, no
files) comes from PostgreSQL (:data:`ACTIANCE_POST_LINES`, the same bytes as
:func:`~mmgov.compliance.actiance_messages.message_element`). Who enters and leaves each
conversation, and when, is :mod:`~mmgov.compliance.actiance_participants`.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import compress
from operator import itemgetter
from typing import Any

from mmgov.compliance.actiance_messages import entry_time, general_element, message_element, sorted_elements
from mmgov.compliance.actiance_participants import ParticipantBlocks
from mmgov.compliance.actiance_xml import NL1, NL2, NL3, escape_attribute, escape_text
from mmgov.compliance.formats import BatchResult, ComplianceFormat, FileSource, ZipSink, copy_attachment
from mmgov.compliance.model import (
    ChannelActivity,
    ClassifiedPost,
    ExportBatch,
    ExportedFile,
    RenderedPost,
    UpdateType,
)
from mmgov.compliance.post_classifier import Rule, case_sql, entries_sql
from mmgov.compliance.post_reader import SqlRendering

ACTIANCE_XML = "actiance_export.xml"
WARNING_TXT = "warning.txt"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_RESERVED_ENTRIES = frozenset({ACTIANCE_XML, WARNING_TXT})


def room_id(activity: ChannelActivity) -> str:
    """``<type> - <channel name> - <channel id>`` (type as in the CSV: public/private/direct/group)."""
    ch = activity.channel
    return f"{ch.type_name} - {ch.name} - {ch.id}"


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

# A Message element of a post without files (ComplianceFormat.accelerator), rendered by
# PostgreSQL exactly as actiance_messages.message_element renders it. The author's escaped e-mail and bot
# flag come from a lateral subquery that PostgreSQL memoizes (once per author); a missing author row
# gives an empty LoginName, as in Python.
ACTIANCE_POST_JOINS = f"""
LEFT JOIN LATERAL (SELECT {_sql_text("COALESCE(u.email, '')")} AS email,
                          EXISTS (SELECT 1 FROM bots b WHERE b.userid = u.id) AS is_bot
                   FROM users u WHERE u.id = p.userid OFFSET 0) us ON true"""


def _sql_message(updated: str, text: str) -> str:
    """One ``Message`` element (``actiance_messages.message_element``): the ``UpdatedType``... fields and the content as SQL."""
    return f"""'{NL2}<Message>{NL3}<MessageId>' || {_sql_text("p.id")} || '</MessageId>{NL3}<LoginName>'
|| COALESCE(us.email, '') || '</LoginName>{NL3}<UserType>'
|| CASE WHEN us.is_bot OR p.props->>'from_bot' = 'true' THEN 'bot' ELSE 'user' END
|| '</UserType>{NL3}<DateTimeUTC>' || COALESCE(p.createat, 0) || '</DateTimeUTC>' || {updated}
|| '{NL3}<Content>' || {text} || '</Content>'
|| CASE WHEN COALESCE(p.props->>'previewed_post', '') = '' THEN ''
   ELSE '{NL3}<PreviewsPost>' || {_sql_text("(p.props->>'previewed_post')")} || '</PreviewsPost>' END
|| '{NL2}</Message>'"""


def _sql_updated(kind: str, at: str) -> str:
    return f"'{NL3}<UpdatedType>' || {kind} || '</UpdatedType>{NL3}<UpdatedDateTimeUTC>' || {at} || '</UpdatedDateTimeUTC>'"


def _sql_entry(rule: Rule) -> str:
    """The ``Message`` element of one message entry of ``rule``'s kind, in SQL."""
    updated = "''" if rule.kind is UpdateType.CREATED else _sql_updated(f"'{rule.kind.value}'", rule.time_sql)
    if rule.kind is UpdateType.EDITED_ORIGINAL:
        updated += f" || '{NL3}<EditedNewMsgId>' || {_sql_text('p.originalid')} || '</EditedNewMsgId>'"
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
        self._participants = ParticipantBlocks()

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
                entered, left = participants.channel_blocks(cid, activity, batch.end_ms)
                ch = activity.channel
                raw.write(
                    f'{NL1}<Conversation Perspective="{escape_attribute(ch.export_display_name)}">'
                    f"{NL2}<RoomID>{escape_text(room_id(activity))}</RoomID>"
                    f"{NL2}<StartTimeUTC>{batch.start_ms}</StartTimeUTC>".encode()
                )
                for piece in entered:
                    raw.write(piece)
                raw.write(_render_elements(by_channel.get(cid, []), by_id.get(cid)))
                for piece in left:
                    raw.write(piece)
                raw.write(f"{NL2}<EndTimeUTC>{batch.end_ms}</EndTimeUTC>{NL1}</Conversation>".encode())
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


_Keyed = tuple[int, str, int, bytes]  # (time, sort id, rank, element in UTF-8): see sorted_elements


def _render_elements(posts: list[ClassifiedPost], rendered: list[_Keyed] | None = None) -> bytes:
    """A conversation's ``Message`` / ``FileTransferStarted`` / ``FileTransferEnded`` elements, in order.

    The order is :func:`~mmgov.compliance.actiance_messages.sorted_elements`'. A post with one
    message entry and no files (nearly all) is one element, rendered by ``message_element`` or
    already by PostgreSQL (``rendered``, from :func:`_keyed_rows`); the others go through
    ``sorted_elements``. (time, sort id, rank) is unique: the tuples sort as they are, never
    comparing the elements. Returned in UTF-8.
    """
    if not posts and not rendered:
        return b""
    keyed: list[_Keyed] = rendered or []
    rest: list[ClassifiedPost] = []
    for cp in posts:
        if len(cp.messages) == 1 and not cp.uploads and not cp.file_deletions:
            p, m = cp.post, cp.messages[0]
            keyed.append((entry_time(m), p.id, 0, message_element(p, m).encode()))
        else:
            rest.append(cp)
    if rest:
        keyed.extend((e.time, e.sort_id, e.rank, general_element(e).encode()) for e in sorted_elements(rest))
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
_MESSAGE_OPEN = f"{NL2}<Message>".encode()  # never inside an element: its text is escaped
_UPDATED_OPEN = b"<UpdatedDateTimeUTC>"
