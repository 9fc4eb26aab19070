"""Rows that hang off a post: removed with it by physical removal, as Mattermost's own deletion does.

A declarative registry, checked against Mattermost 11.7's schema facts by a test
(``tests/retention/test_post_rows.py``): every table of the schema with a post key is either here
or in :data:`NOT_REMOVED_WITH_THE_POST` with the reason. Mattermost removes these rows when a post
goes for good (``server/channels/store/sqlstore/post_store.go`` ``permanentDelete*`` and
``DeleteOrphanedRows*``, ``reaction_store.go`` ``DeleteOrphanedRowsByIds``, ``thread_store.go``,
``post_priority_store.go`` ``Delete``, ``draft_store.go`` ``DeleteDraftsAssociatedWithPost``).
A table an older Mattermost lacks is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class PostKeyedTable:
    """``table.column`` holds a post id; ``where`` narrows to the rows that mean a post."""

    table: str
    column: str
    where: tuple[tuple[str, str], ...] = ()

    def delete(self) -> sql.Composed:
        """``DELETE`` of this table's rows for the post ids in ``%(ids)s``."""
        conditions = [sql.SQL("{} = ANY(%(ids)s)").format(sql.Identifier(self.column))]
        conditions += [sql.SQL("{} = {}").format(sql.Identifier(c), sql.Literal(v)) for c, v in self.where]
        return sql.SQL("DELETE FROM {} WHERE {}").format(
            sql.Identifier(self.table), sql.SQL(" AND ").join(conditions)
        )


# Children first; ``posts`` itself goes last (the caller deletes it).
POST_KEYED_TABLES: tuple[PostKeyedTable, ...] = (
    PostKeyedTable("reactions", "postid"),
    PostKeyedTable("preferences", "name", (("category", "flagged_post"),)),
    PostKeyedTable("threadmemberships", "postid"),
    PostKeyedTable("threads", "postid"),
    PostKeyedTable("postspriority", "postid"),
    PostKeyedTable("postacknowledgements", "postid"),
    PostKeyedTable("postreminders", "postid"),
    PostKeyedTable("persistentnotifications", "postid"),
    PostKeyedTable("readreceipts", "postid"),
    PostKeyedTable("temporaryposts", "postid"),
    PostKeyedTable("translations", "objectid", (("objecttype", "post"),)),
    # Unsent replies to a removed thread. No index leads with rootid (the key is userid, channelid,
    # rootid), so this is a scan of drafts per batch, as Mattermost's own DeleteDraftsAssociatedWithPost
    # is: drafts holds one row per user and channel or thread with unsent text, not one per post.
    PostKeyedTable("drafts", "rootid"),
)

# Tables with a post key that physical removal leaves, and why.
NOT_REMOVED_WITH_THE_POST: dict[str, str] = {
    "fileinfo": "files go in the file pass: their rows and their objects in the store (retention logs them apart)",
    "posts": "replies (rootid) are posts of their own; an edit-history row is logged and removed on its own",
    "scheduledposts": "a user's own unsent message (rootid names a thread); Mattermost fails it when it is due",
    "commandwebhooks": "a slash command's reply hook (rootid), expiring on its own after 30 minutes",
    "sharedchannelremotes": "a shared-channel sync cursor (lastpostid), not content",
    "recapchannels": "an AI recap's list of source posts (sourcepostids), kept with the recap",
}


def existing_post_keyed_tables(conn: psycopg.Connection) -> tuple[PostKeyedTable, ...]:
    """The registry's tables that this Mattermost database has (older releases lack some)."""
    present = {
        row[0]
        for row in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')"
            " AND relname = ANY(%s)",
            ([t.table for t in POST_KEYED_TABLES],),
        )
    }
    return tuple(t for t in POST_KEYED_TABLES if t.table in present)


def delete_post_rows(
    conn: psycopg.Connection, tables: tuple[PostKeyedTable, ...], post_ids: list[str]
) -> None:
    """Delete every row hanging off ``post_ids`` in ``tables`` (in the caller's transaction)."""
    for table in tables:
        conn.execute(table.delete(), {"ids": post_ids})
