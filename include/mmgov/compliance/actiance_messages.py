"""The ``Message``, ``FileTransferStarted`` and ``FileTransferEnded`` elements of an Actiance conversation.

Mattermost 10.5+ writes them in one sorted sequence (actiance_export.go, ``SortableSort``); see
:func:`sorted_elements` for the order. :func:`message_element` renders a plain post's one message
entry (nearly all posts) as one f-string; :func:`general_element` renders any element. PostgreSQL
renders the same bytes for plain posts (``actiance_format.ACTIANCE_POST_LINES``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from mmgov.compliance.actiance_xml import NL2, NL3, TEXT_SPECIAL, escape_text
from mmgov.compliance.model import ClassifiedPost, ExportedFile, MessageEntry, PostRecord, UpdateType

TRANSFER_COMPLETED = "Completed"
# Element kinds
MESSAGE, TRANSFER_STARTED, TRANSFER_ENDED, FILE_DELETED = range(4)
# Mattermost's EnsureLastMessageInASort: a file transfer sorts as (post createat, this), after every
# message of its millisecond (message ids are 26 characters of [a-z0-9]).
AFTER_MESSAGES = "z" * 26
_TRANSFER_RANK = 1 << 32  # transfer ranks start past any rank of a post's messages or file deletions


def entry_time(m: MessageEntry) -> int:
    """The time Mattermost orders a ``Message`` element by (``PostExport.SortVal``): the entry's update
    time (edit, update, deletion: ``UpdatedDateTimeUTC``), or the post's creation time for a new post."""
    return m.post.create_at if m.update_type is UpdateType.CREATED else m.update_at


class Element(NamedTuple):
    """One dated child of a Conversation: a message entry, a file transfer or a file deletion.

    ``kind``: MESSAGE, TRANSFER_STARTED, TRANSFER_ENDED or FILE_DELETED. Tuples sort by
    (time, id, rank), which is unique, so the comparison never reaches the other fields.
    """

    time: int
    sort_id: str  # the post id, or AFTER_MESSAGES for a file transfer
    rank: int
    kind: int
    cp: ClassifiedPost
    entry: MessageEntry | None
    file: ExportedFile | None


def sorted_elements(posts: list[ClassifiedPost]) -> list[Element]:
    """The elements of ``posts`` (batch order) in Mattermost's order (actiance_export.go,
    ``slices.SortStableFunc(elements, SortableSort)``): by (time, id), where a message sorts by
    :func:`entry_time`, a file deletion by the file's ``deleteat`` and a transfer by its post's
    ``createat`` and :data:`AFTER_MESSAGES`; ties keep the order Mattermost appends them in: every
    message (a post's "created" entry first), then every file deletion, then every
    ``FileTransferStarted``, then every ``FileTransferEnded``, each in batch order. ``rank`` encodes
    that order where (time, id) ties: a post's messages, then its deletions; transfers after both."""
    out: list[Element] = []
    uploads: list[tuple[ClassifiedPost, ExportedFile]] = []
    for cp in posts:
        p = cp.post
        for rank, m in enumerate(cp.messages):
            out.append(Element(entry_time(m), p.id, rank, MESSAGE, cp, m, None))
        for rank, f in enumerate(cp.file_deletions, len(cp.messages)):
            out.append(Element(f.delete_at, p.id, rank, FILE_DELETED, cp, None, f))
        uploads.extend((cp, f) for f in cp.uploads)
    ends = _TRANSFER_RANK + len(uploads)
    for i, (cp, f) in enumerate(uploads):
        created = cp.post.create_at
        out.append(Element(created, AFTER_MESSAGES, _TRANSFER_RANK + i, TRANSFER_STARTED, cp, None, f))
        out.append(Element(created, AFTER_MESSAGES, ends + i, TRANSFER_ENDED, cp, None, f))
    out.sort()
    return out


def _element(tag: str, fields: Iterable[tuple[str, str]]) -> str:
    """A depth-2 element with escaped depth-3 fields, indented like Go's encoder."""
    inner = "".join(f"{NL3}<{name}>{value}</{name}>" for name, value in fields)
    return f"{NL2}<{tag}>{inner}{NL2}</{tag}>"


_CREATED = UpdateType.CREATED


def message_element(p: PostRecord, m: MessageEntry) -> str:
    """One ``Message`` element (the fields of :func:`general_element` for a message, as one f-string)."""
    user = p.user
    email = escape_text(user.email)
    update = m.update_type
    edited = m.edited_new_msg_id
    pid, preview = p.id, p.previewed_post
    if TEXT_SPECIAL.search(pid + edited + preview) is not None:  # never for Mattermost ids
        pid, edited, preview = escape_text(pid), escape_text(edited), escape_text(preview)
    updated = (
        ""
        if update is _CREATED
        else f"{NL3}<UpdatedType>{update.value}</UpdatedType>{NL3}<UpdatedDateTimeUTC>{m.update_at}</UpdatedDateTimeUTC>"
    )
    if edited:
        updated = f"{updated}{NL3}<EditedNewMsgId>{edited}</EditedNewMsgId>"
    text = m.message
    if TEXT_SPECIAL.search(text) is not None:
        text = escape_text(text)
    return (
        f"{NL2}<Message>{NL3}<MessageId>{pid}</MessageId>{NL3}<LoginName>{email}</LoginName>"
        f"{NL3}<UserType>{'bot' if user.is_bot else 'user'}</UserType>{NL3}<DateTimeUTC>{p.create_at}"
        f"</DateTimeUTC>{updated}{NL3}<Content>{text}</Content>"
        f"{f'{NL3}<PreviewsPost>{preview}</PreviewsPost>' if preview else ''}{NL2}</Message>"
    )


def general_element(e: Element) -> str:
    """The element of a message, file transfer or file deletion entry (the general path)."""
    p = e.cp.post
    email = escape_text(p.user.email)
    if e.kind == MESSAGE or e.kind == FILE_DELETED:
        if e.kind == MESSAGE:
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
    if e.kind == TRANSFER_STARTED:
        return _element("FileTransferStarted", fields)
    return _element("FileTransferEnded", [*fields, ("Status", TRANSFER_COMPLETED)])
