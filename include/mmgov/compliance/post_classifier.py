"""Classify a post row into the entries Mattermost's compliance export records (first match wins).

1. ``deleteat > 0`` and ``originalid != ''`` -> ``EditedOriginalMsg`` (the old text of an edit);
2. ``deleteat > 0`` and ``props`` has ``deleteBy`` -> ``Deleted`` (message ``delete <text>``);
3. ``updateat > createat`` and ``editat > 0`` -> ``EditedNewMsg``;
4. ``updateat > createat`` -> ``UpdatedNoMsgChange``;
5. otherwise a plain new post.

A deleted post whose ``createat`` is inside the window also yields its "created" entry first (it
was created and deleted in the same window, so no earlier export saw it). Files follow
Mattermost's rules: the "created" entry records every file as uploaded; the post's own entry
records deleted files as ``FileDeleted`` and the others as uploads (a deleted post's remaining
files are uploads only when no "created" entry recorded them already).
"""

from __future__ import annotations

from mmgov.compliance.model import ClassifiedPost, ExportedFile, MessageEntry, PostRecord, UpdateType


def is_edited_original(post: PostRecord) -> bool:
    return post.delete_at > 0 and post.original_id != ""


def is_deleted_message(post: PostRecord) -> bool:
    return post.delete_at > 0 and post.deleted_by is not None


def classify_entry(post: PostRecord) -> MessageEntry:
    """The post's own entry (rules 1-5)."""
    if is_edited_original(post):
        return MessageEntry(post, UpdateType.EDITED_ORIGINAL, post.message, post.update_at)
    if is_deleted_message(post):
        return MessageEntry(post, UpdateType.DELETED, "delete " + post.message, post.delete_at)
    if post.update_at > post.create_at:
        kind = UpdateType.EDITED_NEW if post.edit_at > 0 else UpdateType.UPDATED_NO_MSG_CHANGE
        return MessageEntry(post, kind, post.message, post.update_at)
    return MessageEntry(post, UpdateType.CREATED, post.message, post.update_at)


def classify(post: PostRecord, window_start_ms: int) -> ClassifiedPost:
    """All entries of one post row for a window starting at ``window_start_ms``."""
    if not post.files and not (post.delete_at > 0 and post.deleted_by is not None):
        return ClassifiedPost(post, (classify_entry(post),))  # the common case, kept cheap
    messages: list[MessageEntry] = []
    uploads: list[ExportedFile] = []
    deletions: list[ExportedFile] = []
    deleted = is_deleted_message(post) and not is_edited_original(post)
    if deleted and post.create_at >= window_start_ms:
        messages.append(MessageEntry(post, UpdateType.CREATED, post.message, post.update_at))
        uploads.extend(post.files)
    messages.append(classify_entry(post))
    recorded = {f.id for f in uploads}
    for f in post.files:
        if f.delete_at > 0:
            deletions.append(f)
            if deleted:
                continue
        if f.id not in recorded:
            uploads.append(f)
            recorded.add(f.id)
    return ClassifiedPost(post, tuple(messages), tuple(uploads), tuple(deletions))
