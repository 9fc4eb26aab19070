"""Custom emoji lines and their images (the seed's rule_08).

Each image is copied to ``exported_emoji/<id>/image`` at the export root, which the emoji line's
``image`` names, and once more under ``data/`` (``data/exported_emoji/<id>/image``) because
Mattermost's importer resolves every file path of a ZIP import under ``data/``. Emoji images are
copied whatever ``include_attachments`` says: they are part of the emoji, and small. Deleted emoji
are left out (their names may be reused by live ones). Per person: the emoji they created.
"""

from __future__ import annotations

from mmgov.bulk_export.context import ExportContext
from mmgov.bulk_export.file_copy import DATA_DIR, emoji_member, emoji_store_path

_EMOJI = (
    "SELECT e.id, e.name FROM emoji e WHERE e.id > %(after)s AND COALESCE(e.deleteat, 0) = 0"
    " AND (%(people)s::text[] IS NULL OR e.creatorid = ANY(%(people)s::text[])) ORDER BY e.id LIMIT %(limit)s"
)


def export_emoji(ctx: ExportContext) -> int:
    """Copy each custom emoji image and write its line, in id order."""
    count, after = 0, ""
    while True:
        rows = ctx.conn.execute(
            _EMOJI, {"after": after, "people": ctx.people, "limit": ctx.batch_size}
        ).fetchall()
        for emoji_id, name in rows:
            member = emoji_member(emoji_id)
            owner = f"emoji {name}"
            if ctx.copier.copy("emoji", emoji_store_path(emoji_id), member, owner):
                ctx.copier.copy(
                    "emoji", emoji_store_path(emoji_id), f"{DATA_DIR}/{member}", owner, count=False
                )
            ctx.writer.obj("emoji", {"name": name, "image": member})
            after = emoji_id
        count += len(rows)
        ctx.set_progress("emojis_exported", count)
        if len(rows) < ctx.batch_size:
            break
    ctx.set_progress("emojis_exported", count, entity_done=True)
    return count
