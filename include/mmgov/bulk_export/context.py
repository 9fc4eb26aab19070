"""What every entity writer gets: the snapshot connection, the JSONL writer, the file copier, the scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from mmgov.bulk_export.export_options import ExportOptions
from mmgov.bulk_export.file_copy import FileCopier
from mmgov.bulk_export.jsonl_writer import JsonlWriter
from mmgov.bulk_export.person_scope import PersonScope

BATCH_SIZE = 2000
# Mattermost's job counters (spec "Job progress"), in the order they are filled.
PROGRESS_KEYS = (
    "roles_exported",
    "team_schemes_exported",
    "channel_schemes_exported",
    "teams_exported",
    "channels_exported",
    "users_exported",
    "bots_exported",
    "posts_exported",
    "emojis_exported",
    "direct_channels_exported",
    "direct_posts_exported",
    "attachments_exported",
    "profile_pictures_exported",
    "num_warnings",
)


@dataclass
class ExportContext:
    """Shared state of one export run."""

    conn: psycopg.Connection
    writer: JsonlWriter
    copier: FileCopier
    options: ExportOptions
    person: PersonScope | None = None
    batch_size: int = BATCH_SIZE
    progress: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROGRESS_KEYS, 0))
    report: Callable[[str, int], None] | None = None
    invalid_direct_channels: set[str] = field(default_factory=set)
    # Whether the database has Mattermost's priority and acknowledgement tables (post_sql.has_post_extras).
    post_extras: bool = False
    post_totals: dict[str, int] = field(default_factory=dict)

    @property
    def people(self) -> list[str] | None:
        """User ids of a per-person export, ``None`` for the whole workspace."""
        return self.person.user_ids if self.person is not None else None

    def set_progress(self, key: str, value: int, *, entity_done: bool = False) -> None:
        """Update a counter (and the warnings count); ``entity_done`` reports a finished entity type."""
        self.progress[key] = value
        self.progress["num_warnings"] = self.copier.warnings
        if self.report is not None:
            self.report(key if entity_done else "", value)

    def batches(self, query: str, params: dict[str, Any], size: int | None = None) -> Iterator[list[tuple]]:
        """The rows of ``query`` batch by batch (keyset: ``%(after)s``, the first column of the last row,
        and ``%(limit)s`` = ``size``, default ``batch_size``); the last batch is short, possibly empty."""
        size = size or self.batch_size
        after = ""
        while True:
            rows = self.conn.execute(query, {**params, "after": after, "limit": size}).fetchall()
            yield rows
            if len(rows) < size:
                return
            after = rows[-1][0]
