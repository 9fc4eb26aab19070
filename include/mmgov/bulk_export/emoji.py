"""Custom emoji lines and their images (the seed's rule_08).

Each image is copied to ``exported_emoji/<id>/image`` at the export root, which the emoji line's
``image`` names, and once more under ``data/`` (``data/exported_emoji/<id>/image``) because
Mattermost's importer resolves every file path of a ZIP import under ``data/``. Emoji images are
copied whatever ``include_attachments`` says: they are part of the emoji, and small. Deleted emoji
are left out (their names may be reused by live ones). Per person: the emoji they created.

An emoji whose image could not be copied gets no line, only its line in ``warnings.txt``:
Mattermost's importer stops at an emoji line whose image is missing
(``app.import.emoji.bad_file.error`` in ``server/channels/app/import_functions.go``, and
``stopOnError`` in ``import.go`` does not spare it), and emoji come right before the direct
channels and direct posts, so one such line would lose every direct message after it.
"""

from __future__ import annotations

from mmgov.bulk_export.context import ExportContext
from mmgov.bulk_export.file_copy import DATA_DIR, emoji_member, emoji_store_path

_EMOJI = (
    "SELECT e.id, e.name FROM emoji e WHERE e.id > %(after)s AND COALESCE(e.deleteat, 0) = 0"
    " AND (%(people)s::text[] IS NULL OR e.creatorid = ANY(%(people)s::text[])) ORDER BY e.id LIMIT %(limit)s"
)
LEFT_OUT = "; emoji line left out (Mattermost's importer stops at an emoji whose image is missing)"


def export_emoji(ctx: ExportContext) -> int:
    """Copy each custom emoji image and write its line, in id order; returns the lines written."""
    count = 0
    for rows in ctx.batches(_EMOJI, {"people": ctx.people}):
        for emoji_id, name in rows:
            member = emoji_member(emoji_id)
            owner = f"emoji {name}"
            source = emoji_store_path(emoji_id)
            if ctx.copier.copy("emoji", source, member, owner, consequence=LEFT_OUT) and ctx.copier.copy(
                "emoji", source, f"{DATA_DIR}/{member}", owner, count=False, consequence=LEFT_OUT
            ):
                ctx.writer.obj("emoji", {"name": name, "image": member})
                count += 1
        ctx.set_progress("emojis_exported", count)
    ctx.set_progress("emojis_exported", count, entity_done=True)
    return count
