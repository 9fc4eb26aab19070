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
        <Message> / <FileTransferStarted> / <FileTransferEnded>   by (time, post id)
        <ParticipantLeft>...</ParticipantLeft>         one per ParticipantEntered, by (time, email)
        <EndTimeUTC>batch end</EndTimeUTC>
      </Conversation>
    </FileDump>

Channels are written in id order. Every ``ParticipantEntered`` has its ``ParticipantLeft``: a
membership that ended inside the batch leaves at its real time, one still open at the batch end
leaves at ``batch.end_ms`` (the closing leave). Times are epoch milliseconds.

The XML is written incrementally with lxml's ``etree.xmlfile`` into the zip entry's stream, element
by element (a few small reusable elements whose texts change): memory holds one channel's sorted
element keys, never a tree of the batch. Characters XML 1.0 forbids (C0 controls other than
tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) become U+FFFD, so the document parses whatever the
messages contain. Big batches are dominated by membership: every member of every active channel is
entered and left in every batch (each batch's document stands alone, as in Mattermost).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from lxml import etree

from mmgov.compliance.formats import BatchResult, ComplianceFormat, FileSource, ZipSink, copy_attachment
from mmgov.compliance.model import (
    ChannelActivity,
    ClassifiedPost,
    ExportBatch,
    ExportedFile,
    MessageEntry,
    UpdateType,
    UserInfo,
)

ACTIANCE_XML = "actiance_export.xml"
WARNING_TXT = "warning.txt"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
TRANSFER_COMPLETED = "Completed"
_RESERVED_ENTRIES = frozenset({ACTIANCE_XML, WARNING_TXT})

# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. Everything else
# (C0 controls, lone surrogates, U+FFFE, U+FFFF) is replaced by U+FFFD.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
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


class _Element(NamedTuple):
    """One dated child of a Conversation: a message entry, a file transfer or a file deletion.

    ``kind``: 0 message, 1 transfer started, 2 transfer ended, 3 file deleted. Tuples sort by
    (time, post id, seq); ``seq`` is unique and keeps a post's own order (messages, each file's
    start/end, deletions), so the comparison never reaches the other fields.
    """

    time: int
    post_id: str
    seq: int
    kind: int
    cp: ClassifiedPost
    entry: MessageEntry | None
    file: ExportedFile | None


def _elements(posts: list[ClassifiedPost]) -> list[_Element]:
    out: list[_Element] = []
    seq = 0
    for cp in posts:
        p = cp.post
        for m in cp.messages:
            out.append(_Element(p.create_at, p.id, seq, 0, cp, m, None))
            seq += 1
        for f in cp.uploads:
            out.append(_Element(p.create_at, p.id, seq, 1, cp, None, f))
            out.append(_Element(p.create_at, p.id, seq + 1, 2, cp, None, f))
            seq += 2
        for f in cp.file_deletions:
            out.append(_Element(p.create_at, p.id, seq, 3, cp, None, f))
            seq += 1
    out.sort()
    return out


def _leaves(activity: ChannelActivity, end_ms: int) -> list[tuple[int, UserInfo]]:
    """One leave per join: its real leave inside the batch, else the closing leave at ``end_ms``."""
    leaves = []
    for join in activity.joins:
        left = join.left_at if join.left_at is not None and join.left_at < end_ms else end_ms
        leaves.append((left, join.user))
    leaves.sort(key=lambda lv: (lv[0], lv[1].email, lv[1].id))
    return leaves


class _Templates:
    """One reusable element per shape (Message variants, transfers, participants), indented like Go's encoder.

    Writing an element = setting its children's texts and ``xf.write(element)``: about three times
    faster than opening an ``xf.element`` context per field, with the same bytes.
    """

    def __init__(self) -> None:
        self._shapes: dict[tuple[str, ...], tuple[etree._Element, list[etree._Element]]] = {}
        self._emails: dict[str, str] = {}
        self._participants: dict[tuple[str, str, str, bool], tuple[etree._Element, etree._Element]] = {}

    def write(self, xf: etree.xmlfile, tag: str, fields: tuple[str, ...], values: list[str]) -> None:
        shape = self._shapes.get((tag, *fields))
        if shape is None:
            element = etree.Element(tag)
            element.text = _NL3
            children = [etree.SubElement(element, name) for name in fields]
            for child in children:
                child.tail = _NL3
            children[-1].tail = _NL2
            shape = self._shapes[(tag, *fields)] = (element, children)
        element, children = shape
        for child, value in zip(children, values, strict=True):
            child.text = value
        xf.write(_NL2)
        xf.write(element)

    def email(self, user: UserInfo) -> str:
        """The user's email as XML text (cached: a user appears on many elements)."""
        cached = self._emails.get(user.email)
        if cached is None:
            cached = self._emails[user.email] = xml_text(user.email)
        return cached

    def participants(self, xf: etree.xmlfile, tag: str, events: Iterable[tuple[int, UserInfo]]) -> int:
        """Write ``ParticipantEntered`` / ``ParticipantLeft`` elements; returns how many.

        The hot path of big batches (every member of every active channel, twice): one element per
        (tag, user) is kept and only its ``DateTimeUTC`` changes.
        """
        cache = self._participants
        n = 0
        for when, user in events:
            key = (tag, user.id, user.email, user.is_bot)
            entry = cache.get(key)
            if entry is None:
                element = etree.Element(tag)
                element.text = _NL3
                children = [etree.SubElement(element, name) for name in _PARTICIPANT]
                for child in children:
                    child.tail = _NL3
                children[-1].tail = _NL2
                email = self.email(user)
                children[0].text, children[1].text, children[3].text = email, user.user_type, email
                entry = cache[key] = (element, children[2])
            entry[1].text = str(when)
            xf.write(_NL2)
            xf.write(entry[0])
            n += 1
        return n


_PARTICIPANT = ("LoginName", "UserType", "DateTimeUTC", "CorporateEmailID")
_TRANSFER_STARTED = ("LoginName", "DateTimeUTC", "UserFileName", "FileName")
_TRANSFER_ENDED = (*_TRANSFER_STARTED, "Status")


class ActianceFormat(ComplianceFormat):
    """Mattermost's Actiance XML compliance export (Actiance Vantage / Smarsh)."""

    name = "actiance"

    def write_batch(self, batch: ExportBatch, out: ZipSink, files: FileSource) -> BatchResult:
        result = BatchResult(zip_name=batch.zip_name, channels=len(batch.channels))
        by_channel: dict[str, list[ClassifiedPost]] = {}
        for cp in batch.posts:
            by_channel.setdefault(cp.post.channel.id, []).append(cp)
            result.posts += 1
            result.messages += len(cp.messages)
            result.uploads += len(cp.uploads)
            result.file_deletions += len(cp.file_deletions)
        templates = _Templates()
        with out.open(ACTIANCE_XML) as raw:
            raw.write(XML_DECLARATION)
            with (
                etree.xmlfile(raw, encoding="UTF-8") as xf,
                xf.element("FileDump", nsmap={"xsi": XSI_NAMESPACE}),
            ):
                for cid, activity in sorted(batch.channels.items()):
                    result.members += _write_conversation(
                        xf, templates, batch, activity, by_channel.get(cid, [])
                    )
                if batch.channels:
                    xf.write("\n")
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


def _field(xf: etree.xmlfile, indent: str, tag: str, value: object) -> None:
    xf.write(indent)
    with xf.element(tag):
        xf.write(xml_text(value))


def _write_conversation(
    xf: etree.xmlfile,
    t: _Templates,
    batch: ExportBatch,
    activity: ChannelActivity,
    posts: list[ClassifiedPost],
) -> int:
    """Write one ``Conversation``; returns the membership elements written (entered + left)."""
    xf.write(_NL1)
    with xf.element("Conversation", Perspective=xml_text(activity.channel.export_display_name)):
        _field(xf, _NL2, "RoomID", room_id(activity))
        _field(xf, _NL2, "StartTimeUTC", batch.start_ms)
        members = t.participants(xf, "ParticipantEntered", ((j.time, j.user) for j in activity.joins))
        for element in _elements(posts):
            _write_element(xf, t, element)
        members += t.participants(xf, "ParticipantLeft", _leaves(activity, batch.end_ms))
        _field(xf, _NL2, "EndTimeUTC", batch.end_ms)
        xf.write(_NL1)
    return members


def _write_element(xf: etree.xmlfile, t: _Templates, e: _Element) -> None:
    p = e.cp.post
    email = t.email(p.user)
    if e.kind == 0 or e.kind == 3:
        fields = ["MessageId", "LoginName", "UserType", "DateTimeUTC"]
        values = [xml_text(p.id), email, p.user.user_type, str(p.create_at)]
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
        if update is not UpdateType.CREATED:
            fields += ["UpdatedType", "UpdatedDateTimeUTC"]
            values += [update.value, str(updated_at)]
        if edited:
            fields.append("EditedNewMsgId")
            values.append(xml_text(edited))
        fields.append("Content")
        values.append(xml_text(content))
        if p.previewed_post:
            fields.append("PreviewsPost")
            values.append(xml_text(p.previewed_post))
        t.write(xf, "Message", tuple(fields), values)
        return
    f = e.file
    assert f is not None
    values = [email, str(p.create_at), xml_text(f.name), xml_text(f.path)]
    if e.kind == 1:
        t.write(xf, "FileTransferStarted", _TRANSFER_STARTED, values)
    else:
        t.write(xf, "FileTransferEnded", _TRANSFER_ENDED, [*values, TRANSFER_COMPLETED])
