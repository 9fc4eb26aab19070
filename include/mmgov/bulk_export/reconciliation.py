"""A whole-workspace GDPR export's reconciliation: the posts of the exported channels in the snapshot
against the posts exported plus the skips ``warnings.txt`` names; any other difference is a warning.
"""

from __future__ import annotations

from mmgov.bulk_export.context import ExportContext


def reconcile_posts(ctx: ExportContext) -> dict[str, int]:
    """Whole workspace: posts of the exported channels in the database == exported + named skips.

    Skips (an author that no longer exists, a DM that cannot be imported) are already lines of
    ``warnings.txt``; any other difference is a warning too, never silence.
    """
    if ctx.person is not None:
        return {}
    totals = ctx.post_totals
    out = {
        "posts_in_database": totals["posts_in_database"],
        "posts_exported": totals.get("posts_exported", 0),
        "posts_skipped": totals.get("posts_skipped", 0),
        "direct_posts_in_database": totals["direct_posts_in_database"],
        "direct_posts_exported": totals.get("direct_posts_exported", 0),
        "direct_posts_skipped": totals.get("direct_posts_skipped", 0),
    }
    for kind in ("posts", "direct_posts"):
        missing = out[f"{kind}_in_database"] - out[f"{kind}_exported"] - out[f"{kind}_skipped"]
        if missing:
            ctx.copier.warn(
                "reconciliation",
                kind,
                "database",
                f"{missing} {kind.replace('_', ' ')} of the exported channels are neither exported nor "
                "named above",
            )
    return out


def count_posts_in_database(ctx: ExportContext) -> None:
    """Whole workspace: the posts of the exported channels in the snapshot, for :func:`reconcile_posts`
    (counted while the posts stream on the other connection, if there is one)."""
    if ctx.person is not None:
        return
    row = ctx.conn.execute(
        "SELECT count(*) FILTER (WHERE c.type NOT IN ('D', 'G')), count(*) FILTER (WHERE c.type IN ('D', 'G'))"
        " FROM posts p JOIN channels c ON c.id = p.channelid LEFT JOIN teams t ON t.id = c.teamid"
        " WHERE c.type IN ('D', 'G') OR (t.id IS NOT NULL AND c.type NOT IN ('D', 'G') AND (%(archived)s"
        " OR (COALESCE(c.deleteat, 0) = 0 AND COALESCE(t.deleteat, 0) = 0)))",
        {"archived": ctx.options.include_archived_channels},
    ).fetchone()
    assert row is not None
    ctx.post_totals["posts_in_database"] = int(row[0])
    ctx.post_totals["direct_posts_in_database"] = int(row[1])
